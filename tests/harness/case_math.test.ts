import assert from "node:assert/strict";
import { resolveReferenceMath, summarizeMath } from "../../core/harness/case_math.ts";
import { readCaseReference } from "../../core/harness/references.ts";
import { f32Step } from "../../core/numerics/f32.ts";
import { type Float32Math, ieeeMath } from "../../core/numerics/f32_math.ts";
import { UsageMath } from "../../core/numerics/probe_math.ts";

const SKEW = "fixtures/refs/cases/skew-ddim.onnx.safetensors";

Deno.test("resolveReferenceMath: auto takes the recorded table, inferred ignores it, ieee is IEEE", async () => {
  const ref = await readCaseReference(SKEW);
  assert.ok(ref.math && ref.math.size > 0);
  const never = () => Promise.reject(new Error("no replay expected"));
  const auto = await resolveReferenceMath("auto", ref, never);
  assert.equal(auto.source, "recorded");
  assert.equal(auto.math, ref.math);
  assert.equal((await resolveReferenceMath("ieee", ref, never)).math, ieeeMath);
  // "inferred" replays every step (-1 for the initial latents, then each call)
  const seen: number[] = [];
  const replay = (_m: Float32Math, step: number) => {
    seen.push(step);
    return Promise.resolve(step === -1 ? ref.initLatents.data : ref.prevSample(step)!.data);
  };
  const inferred = await resolveReferenceMath("inferred", ref, replay);
  assert.equal(inferred.source, "inferred");
  const all = [-1, ...Array.from({ length: ref.steps }, (_, i) => i)];
  assert.deepEqual(seen, all);
  assert.deepEqual(inferred.steps!.held, all);
  assert.equal(inferred.table!.size, 0); // every step matched as it stood: nothing inferred
  assert.equal(inferred.steps!.exact, ref.steps + 1);
});

Deno.test("summarizeMath counts pairs, non-IEEE entries, misses and names where they matter", async () => {
  const ref = await readCaseReference(SKEW);
  const resolved = await resolveReferenceMath("recorded", ref, () => Promise.resolve(undefined));
  const usage = new UsageMath(resolved.math);
  const [key] = [...resolved.table!.deviations()];
  usage.phase = 2;
  usage.sqrt(key.x);
  resolved.table!.resetCounts();
  resolved.math.sqrt(0.123); // not in the table: a miss
  const s = summarizeMath(resolved, usage, 10, "torch 2.13");
  assert.equal(s.source, "recorded");
  assert.equal(s.pairs, ref.math!.size);
  assert.equal(s.nonIeee, ref.math!.deviations().length);
  assert.deepEqual([s.misses, s.missedInputs], [1, 1]);
  assert.match(
    s.lines[0],
    /^sqrt: \d+ inputs 1 ulp above IEEE \(sqrt\([0-9.e-]+\) at 1 of 10 steps\)$/,
  );
  assert.equal(s.machine, "torch 2.13");
  assert.equal(f32Step(key.ieee, key.ulp), key.value);
});
