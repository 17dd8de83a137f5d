import assert from "node:assert/strict";
import { loadCases } from "../../core/harness/cases_loader.ts";
import type { Case, ReferenceMathMode } from "../../core/harness/case.ts";
import {
  describeDeviations,
  inferElementwise,
  inferStepMath,
} from "../../core/harness/reference_math.ts";
import type { CaseResult } from "../../core/results/schema.ts";
import { runCase } from "../../core/harness/runner.ts";
import { caseLine } from "../../core/report/console.ts";
import { f32Step } from "../../core/numerics/f32.ts";
import { type Float32Math, ieeeMath, MathTable } from "../../core/numerics/f32_math.ts";

import {
  readSafetensors,
  type SafetensorsInput,
  writeSafetensors,
} from "../../core/tensor/safetensors.ts";

const f = Math.fround;

Deno.test("inferStepMath finds a chained log -> exp change, and says when it cannot", async () => {
  // a DDPM-like step: out = x * exp(0.5 * log(v)) + sqrt(a) ; the reference machine's log(v)
  // and sqrt(a) were one ulp high
  const v = f(0.3), a = f(0.7);
  const x = Float32Array.from({ length: 64 }, (_, i) => f(Math.sin(i) * 3));
  const step = (m: Float32Math, logUp = 0, sqrtUp = 0) => {
    const lg = f32Step(m.log(v), logUp);
    const s = f32Step(m.sqrt(a), sqrtUp);
    const e = m.exp(f(0.5 * lg));
    return x.map((xi) => f(xi * e) + s);
  };
  const want = step(ieeeMath, 1, 1);
  const r = await inferStepMath({
    steps: [0],
    run: (m) => Promise.resolve(step(m)),
    expected: () => want,
  });
  assert.deepEqual(r.unexplained, []);
  assert.equal(r.explained.length, 1);
  const probe = step(r.table);
  assert.deepEqual([...probe], [...want]);
  // an output no 1..2-ulp change can make: reported, within the trial budget
  const far = want.map((w) => w + 1);
  const bad = await inferStepMath({
    steps: [0],
    run: (m) => Promise.resolve(step(m)),
    expected: () => far,
    maxTrials: 40,
  });
  assert.deepEqual(bad.unexplained, [0]);
  assert.ok(bad.runs <= 1 + 40 + 2 * 2 * 2 * 4, `${bad.runs} runs`);
});

Deno.test("inferElementwise settles each element's exp, and leaves unreachable ones", () => {
  const inputs = Float32Array.from({ length: 32 }, (_, i) => f(-1 + i / 16));
  const noise = Float32Array.from({ length: 32 }, (_, i) => f(Math.cos(i)));
  const outputs = (e: Float32Array) => e.map((v, i) => f(f(v * noise[i]) + 0.25));
  const truth = inputs.map((x, i) => f32Step(ieeeMath.exp(x), i % 3 === 0 ? 1 : 0));
  const want = outputs(truth);
  want[31] = 1e6; // no exp gives this
  const table = new MathTable("inferred");
  const r = inferElementwise("exp", inputs, outputs, want, table);
  assert.equal(r.unexplained, 1);
  assert.equal(r.elements, 32);
  const got = outputs(inputs.map((x) => table.exp(x)));
  for (let i = 0; i < 31; i++) assert.ok(Object.is(got[i], want[i]), `element ${i}`);
  assert.ok(r.changed >= 5 && r.changed <= 11, `${r.changed} changed`);
});

Deno.test("describeDeviations names op, direction, size and the step count", () => {
  const t = new MathTable("recorded");
  t.set("sqrt", 0.25, f32Step(0.5, 1));
  t.set("sqrt", 2, f32Step(f(Math.SQRT2), 2));
  t.set("exp", 1, f32Step(ieeeMath.exp(1), -1));
  const usage = new Map([["sqrt:40000000", new Set([1, 2, 3])]]);
  assert.deepEqual(describeDeviations(t, usage, 10), [
    "sqrt: 2 inputs up to 2 ulp above IEEE (sqrt(2) at 3 of 10 steps)",
    "exp: 1 input 1 ulp below IEEE (exp(1))",
  ]);
});

const cases = await loadCases("cases", "skew-");
assert.equal(cases.length, 4);

async function run(c: Case, mode: ReferenceMathMode): Promise<CaseResult> {
  const r = await runCase({ ...c, referenceMath: mode } as Case, { manifest: null });
  assert.notEqual(r.status, "error", r.error ?? "");
  return r;
}

const figure = (r: CaseResult, kind: string) => r.comparisons.find((c) => c.kind === kind)!;

// One test per scheduler family, on references made with deliberately non-IEEE torch math
// (fixtures/gen/ref_math.py): recorded math and inferred math both replay and free-run exactly,
// IEEE math does not, and the verdict says what the reference machine's math explains.
for (const c of cases) {
  Deno.test(`${c.name}: recorded and inferred math reproduce the reference exactly; IEEE does not`, async () => {
    for (const mode of ["recorded", "inferred"] as const) {
      const r = await run(c, mode);
      const line = caseLine(r);
      assert.equal(r.status, "pass", line);
      assert.equal(figure(r, "freeRunOnnx").worst.maxAbs, 0, `${mode}: ${line}`);
      assert.equal(figure(r, "replayScheduler").worst.maxUlp, 0, `${mode}: ${line}`);
      assert.equal(figure(r, "replayModel").worst.maxAbs, 0, `${mode}: ${line}`);
      assert.equal(r.math?.source, mode);
      assert.ok(r.math!.nonIeee > 0);
      assert.deepEqual(r.math!.unexplainedSteps, []);
      if (mode === "recorded") assert.equal(r.math!.misses, 0, line);
      // the IEEE figures beside them, and the attribution line
      assert.ok(figure(r, "freeRunOnnx").ieee!.worst.maxAbs > 0, line);
      assert.ok(figure(r, "replayScheduler").ieee!.worst.maxUlp > 0, line);
      assert.match(line, /\[IEEE math [0-9.e-]+\]/);
      assert.match(line, /math: .*1 ulp above IEEE.* explains all of the IEEE run's/);
      console.log(line);
    }
    const ieee = await run(c, "ieee");
    assert.equal(ieee.status, "fail");
    assert.ok(figure(ieee, "replayScheduler").worst.maxUlp > 0);
    assert.equal(ieee.math?.source, "ieee");
  });
}

Deno.test("a shipped img2img reference: the VAE sample's MKL exp is inferred, the free run is exact", async () => {
  const [c] = await loadCases("cases", "img2img-ddim");
  const r = await run(c, "inferred");
  assert.equal(figure(r, "freeRunOnnx").worst.maxAbs, 0, caseLine(r));
  assert.ok(r.math!.elementwise!.changed > 0);
  // with IEEE exp the image latents differ (verify measured 5.25e-6 at the end)
  assert.ok(figure(r, "freeRunOnnx").ieee!.worst.maxAbs > 1e-6);
  const rec = await run(c, "recorded");
  assert.equal(figure(rec, "freeRunOnnx").worst.maxAbs, 0, caseLine(rec));
});

Deno.test("referenceMath 'recorded' on a reference without math is an error naming the file", async () => {
  const [c] = await loadCases("cases", "guidance-1");
  const dir = await Deno.makeTempDir();
  const file = await readSafetensors(c.references.onnx);
  const keep: Record<string, SafetensorsInput> = {};
  for (const name of file.names()) {
    if (name.startsWith("math.")) continue;
    const { dtype, shape } = file.info(name);
    keep[name] = { dtype, shape, data: file.raw(name) };
  }
  const path = `${dir}/plain.onnx.safetensors`;
  await writeSafetensors(path, keep, file.metadata);
  const r = await runCase(
    { ...c, referenceMath: "recorded", references: { ...c.references, onnx: path } } as Case,
    { manifest: null },
  );
  assert.equal(r.status, "error");
  assert.match(
    r.error!,
    /plain\.onnx\.safetensors: referenceMath "recorded": the reference holds no math/,
  );
});

Deno.test("describeDeviations writes a pow entry with its base and exponent", () => {
  const t = new MathTable("recorded");
  t.set("pow", 2, f32Step(f(2 ** (1 / 7)), 1), 1 / 7);
  assert.deepEqual(describeDeviations(t), [
    `pow^${f(1 / 7)}: 1 input 1 ulp above IEEE (pow(2^${f(1 / 7)}))`,
  ]);
});

Deno.test("inferStepMath skips a step that gives nothing to compare, and goes on", async () => {
  const a = f(0.3);
  const want = Float32Array.of(f32Step(f(Math.sqrt(a)), 1));
  const r = await inferStepMath({
    steps: [0, 1],
    run: (m, s) => Promise.resolve(s === 0 ? undefined : Float32Array.of(m.sqrt(a))),
    expected: () => want,
  });
  assert.deepEqual([r.exact, r.explained.length, r.unexplained], [0, 1, []]);
});
