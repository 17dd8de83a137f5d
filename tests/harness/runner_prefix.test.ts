/**
 * A prefix reference: diffusers' DDPMPipeline over 1000 steps (digits-ddpm-ddpm1000), whose
 * onnx reference holds `model_output.<i>` / `prev_sample.<i>` for the first 100 calls only
 * (fixtures/gen/dump_cases.py's MAX_RECORDED_STEPS), with `timesteps`, `init_latents`, the final
 * `latents` and the image of the whole run. Every reference here is diffusers' own, edited where
 * a test needs a failure.
 */
import assert from "node:assert/strict";
import { type Case, defineCase } from "../../core/harness/case.ts";
import { loadCases } from "../../core/harness/cases_loader.ts";
import { runCase } from "../../core/harness/runner.ts";
import { caseLine } from "../../core/report/console.ts";
import {
  readSafetensors,
  type SafetensorsInput,
  writeSafetensors,
} from "../../core/tensor/safetensors.ts";
import { Tensor } from "../../core/tensor/tensor.ts";

const [ddpm1000] = await loadCases("cases", "digits-ddpm-ddpm1000");
const NOTE = "per-step tensors for the first 100 of 1000 model calls (replays stop there; " +
  "final latents and image after all 1000)";

/** A copy of the case's onnx reference with `edit` applied to its float32 tensors. */
async function edited(
  edit: (name: string, t: Tensor) => Tensor,
  metadata: (m: Record<string, string>) => Record<string, string> = (m) => m,
): Promise<Case> {
  const file = await readSafetensors(ddpm1000.references.onnx);
  const tensors: Record<string, SafetensorsInput> = {};
  for (const name of file.names()) {
    const info = file.info(name);
    tensors[name] = info.dtype === "F32"
      ? edit(name, file.tensor(name))
      : { dtype: info.dtype, shape: info.shape, data: file.raw(name) };
  }
  const out = await Deno.makeTempFile({ suffix: ".onnx.safetensors" });
  await writeSafetensors(out, tensors, metadata({ ...file.metadata }));
  return defineCase({
    ...structuredClone(ddpm1000),
    references: { onnx: out, torch: ddpm1000.references.torch },
  } as Case);
}

/** A copy of `t` with 0.5 added at element `at`. */
function bumped(t: Tensor, at: number): Tensor {
  const data = t.data.slice();
  data[at] += 0.5;
  return new Tensor(data, t.shape);
}

const find = (r: Awaited<ReturnType<typeof runCase>>, kind: string) =>
  r.comparisons.find((x) => x.kind === kind)!;

Deno.test("1000 DDPM calls against diffusers' prefix reference: the free run makes all 1000, per-step figures and replays cover the first 100, the verdict says so", async () => {
  const r = await runCase(ddpm1000, { manifest: null });
  assert.equal(r.status, "pass", r.error ?? r.comparisons.flatMap((c) => c.failures).join("; "));
  assert.equal(r.timing?.modelCalls, 1000);
  const timesteps = Array.from(
    (await readSafetensors(ddpm1000.references.onnx)).tensor("timesteps").data,
  );
  for (const kind of ["freeRunOnnx", "replayScheduler", "replayModel"]) {
    const c = find(r, kind);
    assert.deepEqual(
      c.perStep.map((s) => [s.step, s.t]),
      timesteps.slice(0, 100).map((t, i) => [i, t]),
      kind,
    );
    assert.match(c.subject, /; per step: first 100 of 1000 calls$/, kind);
  }
  assert.equal(find(r, "freeRunTorch").perStep.length, 0);
  assert.equal(r.referenceNote, NOTE);
  assert.ok(caseLine(r).includes(`\n      reference: ${NOTE}`), caseLine(r));
});

Deno.test("prefix reference: the final latents after call 1000 are still compared (an edit fails the free run there only)", async () => {
  const c = await edited((name, t) => name === "latents" ? bumped(t, 37) : t);
  try {
    const r = await runCase(c, { manifest: null });
    assert.equal(r.status, "fail", r.error ?? "");
    const free = find(r, "freeRunOnnx");
    assert.deepEqual(free.failures, [free.failures[0]]);
    assert.match(free.failures[0], /^maxAbs 0\.5 > 1e-5 \(\S+x\) in final latents$/);
    assert.ok(free.perStep.every((s) => s.maxAbs <= 1e-5), "the 100 recorded steps still match");
    for (const x of r.comparisons.filter((y) => y.kind !== "freeRunOnnx")) {
      assert.equal(x.pass, true, `${x.kind}: ${x.failures.join("; ")}`);
    }
  } finally {
    await Deno.remove(c.references.onnx);
  }
});

Deno.test("prefix reference: edits at the last recorded call (99) fail each comparison that reads them, at step 99", async () => {
  const c = await edited((name, t) =>
    name === "model_output.99" || name === "prev_sample.99" ? bumped(t, 3) : t
  );
  try {
    const r = await runCase(c, { manifest: null });
    assert.equal(r.status, "fail", r.error ?? "");
    // model_output.99: the model replay; prev_sample.99: the scheduler replay and the free run
    for (const kind of ["replayModel", "replayScheduler", "freeRunOnnx"]) {
      const x = find(r, kind);
      assert.deepEqual(x.perStep.filter((s) => s.maxAbs > 0.4).map((s) => s.step), [99], kind);
      assert.match(x.failures[0], /^max\w+ \S+ > \S+ (\(\S+x\) )?at step 99 \(t=900\)$/, kind);
    }
    for (const kind of ["freeRunTorch", "image"]) assert.equal(find(r, kind).pass, true, kind);
  } finally {
    await Deno.remove(c.references.onnx);
  }
});

Deno.test("prefix reference: without its recorded_steps metadata it is a truncated file, an error naming it", async () => {
  const c = await edited((_, t) => t, ({ recorded_steps: _, ...rest }) => rest);
  try {
    const r = await runCase(c, { manifest: null });
    assert.equal(r.status, "error");
    assert.equal(
      r.error,
      `${c.references.onnx}: holds 100 steps of prev_sample but 1000 timesteps`,
    );
  } finally {
    await Deno.remove(c.references.onnx);
  }
});
