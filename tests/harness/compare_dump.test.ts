import assert from "node:assert/strict";
import { compareDump, dumpAttribution, firstFailureLine } from "../../core/harness/compare_dump.ts";
import { CaseReferenceError } from "../../core/harness/references.ts";
import { FileError } from "../../core/tensor/errors.ts";
import { writeNpy } from "../../core/tensor/npy.ts";
import { readSafetensors, writeSafetensors } from "../../core/tensor/safetensors.ts";
import type { Tensor } from "../../core/tensor/tensor.ts";

const REF = "fixtures/refs/cases/ddim-eta0.onnx.safetensors";
const LAYOUT =
  /^(prev_sample|model_output)\.\d+$|^(init_latents|latents|prompt_embeds|timesteps|image_u8)$/;

/**
 * Imitates another implementation (a C++ or Swift port) dumping its tensors: the reference's own
 * per-step tensors, with `perturb` applied to chosen ones, as a folder of .npy files or one
 * .safetensors file.
 */
async function dumpLikeAPort(
  format: "npy" | "safetensors",
  perturb: Record<string, (t: Tensor) => void> = {},
  keep: (name: string) => boolean = () => true,
): Promise<string> {
  const ref = await readSafetensors(REF);
  const dir = await Deno.makeTempDir({ prefix: "port-dump-" });
  const tensors: Record<string, Tensor> = {};
  for (const name of ref.names()) {
    if (!LAYOUT.test(name) || !keep(name)) continue;
    const t = ref.tensor(name);
    perturb[name]?.(t);
    tensors[name] = t;
  }
  if (format === "safetensors") {
    await writeSafetensors(`${dir}/ours.safetensors`, tensors, { provider: "my-port" });
    return `${dir}/ours.safetensors`;
  }
  for (const [name, t] of Object.entries(tensors)) await writeNpy(`${dir}/${name}.npy`, t);
  return dir;
}

function nextUp(x: number, ulps: number): number {
  const b = new Float32Array([x]);
  const i = new Int32Array(b.buffer);
  i[0] += x >= 0 ? ulps : -ulps;
  return b[0];
}

Deno.test("compareDump: an unperturbed .npy dump passes with 0 at every step", async () => {
  const ours = await dumpLikeAPort("npy");
  const r = await compareDump(ours, REF);
  assert.equal(r.status, "pass");
  assert.deepEqual(
    r.comparisons.map((c) => [c.kind, c.perStep.length, c.worst.maxAbs, c.worst.maxUlp]),
    [
      ["freeRunOnnx", 20, 0, 0],
      ["replayModel", 20, 0, 0],
      ["image", 0, 0, 0],
    ],
  );
  assert.equal(r.warnings, undefined);
  assert.match(r.description, /every compared tensor within tolerance$/);
  assert.equal(r.provider, "external");
  assert.equal(r.sampler, "DDIMScheduler");
  await Deno.remove(ours, { recursive: true });
});

Deno.test("compareDump: prev_sample.7 moved 1e-4 fails at step 7 and only there, as the sampler", async () => {
  const ours = await dumpLikeAPort("npy", { "prev_sample.7": (t) => void (t.data[11] += 1e-4) });
  const r = await compareDump(ours, REF);
  assert.equal(r.status, "fail");
  const [lat, mod] = r.comparisons;
  assert.equal(mod.pass, true);
  assert.equal(lat.pass, false);
  const failing = lat.perStep.filter((s) => s.maxAbs > 1e-5).map((s) => [s.step, s.t]);
  assert.deepEqual(failing, [[7, 601]]);
  assert.deepEqual(lat.perStep.filter((s) => s.maxAbs !== 0).map((s) => s.step), [7]);
  assert.equal(lat.worst.step, 7);
  assert.equal(lat.failures.length, 1);
  assert.match(
    lat.failures[0],
    /^maxAbs 1e-4 > 1e-5 \(10x\) at step 7 \(t=601\)$|^maxAbs 9\.\d+e-5 > 1e-5 \(9\.\d+x\) at step 7 \(t=601\)$/,
  );
  assert.match(
    r.description,
    /first divergence at step 7 \(t=601\): prev_sample\.7 differs while model_output\.7 matches: the sampler step/,
  );
  assert.match(firstFailureLine(r), /^ {6}first failing step: prev_sample 7 \(t=601\): maxAbs /);
  await Deno.remove(ours, { recursive: true });
});

Deno.test("compareDump: a few ulp on prev_sample.7 pass the default maxAbs, fail --max-ulp 0 at step 7 only", async () => {
  const ours = await dumpLikeAPort("npy", {
    "prev_sample.7": (t) => void (t.data[3] = nextUp(t.data[3], 3)),
  });
  assert.equal((await compareDump(ours, REF)).status, "pass");
  const r = await compareDump(ours, REF, { tolerance: { maxUlp: 0 } });
  assert.equal(r.status, "fail");
  const lat = r.comparisons[0];
  assert.deepEqual(lat.tolerance, { maxAbs: 1e-5, maxUlp: 0 });
  assert.deepEqual(lat.perStep.filter((s) => s.maxUlp > 0).map((s) => [s.step, s.maxUlp]), [[
    7,
    3,
  ]]);
  assert.deepEqual(lat.failures, ["maxUlp 3 > 0 at step 7 (t=601)"]);
  assert.equal(r.comparisons[1].pass, true);
  await Deno.remove(ours, { recursive: true });
});

Deno.test("compareDump: a .safetensors dump works too, and a model_output divergence is the model's", async () => {
  const ours = await dumpLikeAPort("safetensors", {
    "model_output.4": (t) => void (t.data[0] += 1e-3),
  });
  const r = await compareDump(ours, REF);
  assert.equal(r.status, "fail");
  assert.equal(r.name, "ours.safetensors");
  assert.equal(r.provider, "my-port");
  const [lat, mod] = r.comparisons;
  assert.equal(lat.pass, true);
  assert.deepEqual(mod.perStep.filter((s) => s.maxAbs > 0).map((s) => s.step), [4]);
  assert.match(mod.failures[0], /at step 4 \(t=751\)$/);
  assert.match(r.description, /model_output\.4 differs given matching latents: the model/);
  await Deno.remove(ours.replace(/\/ours\.safetensors$/, ""), { recursive: true });
});

Deno.test("compareDump: only the tensors present are compared; skipped steps and extras are warnings", async () => {
  const ours = await dumpLikeAPort(
    "npy",
    {},
    (n) => n === "latents" || /^prev_sample\.(0|1|2)$/.test(n),
  );
  await Deno.writeTextFile(`${ours}/README.txt`, "not a tensor"); // ignored: not .npy
  await writeNpy(`${ours}/noise_pred_uncond.0.npy`, (await readSafetensors(REF)).tensor("latents"));
  const r = await compareDump(ours, REF);
  assert.equal(r.status, "pass");
  assert.deepEqual(r.comparisons.map((c) => [c.kind, c.perStep.map((s) => s.step)]), [[
    "freeRunOnnx",
    [0, 1, 2],
  ]]);
  assert.match(r.comparisons[0].subject, /^prev_sample at 3 of 20 steps, final latents \(ours: /);
  assert.equal(r.warnings?.length, 2);
  assert.match(
    r.warnings![0],
    /noise_pred_uncond\.0: not a tensor of the dump layout; not compared$/,
  );
  assert.match(
    r.warnings![1],
    /prev_sample at 3 of the reference's 20 steps \(not dumped: 3, 4, 5,/,
  );
  assert.match(r.latentsSha256 ?? "", /^[0-9a-f]{64}$/);
  await Deno.remove(ours, { recursive: true });
});

Deno.test("compareDump on a torch reference: the final latents are compared, image_u8 is a warning", async () => {
  const torchRef = REF.replace(".onnx.", ".torch.");
  const dir = await Deno.makeTempDir({ prefix: "port-dump-" });
  // our final latents as PyTorch ends them, and the picture (which only the onnx reference holds)
  await writeNpy(`${dir}/latents.npy`, (await readSafetensors(torchRef)).tensor("latents"));
  await writeNpy(`${dir}/image_u8.npy`, (await readSafetensors(REF)).tensor("image_u8"));
  const r = await compareDump(dir, torchRef);
  assert.equal(r.status, "pass");
  assert.deepEqual(
    r.comparisons.map((c) => [c.kind, c.perStep.length, c.worst.maxAbs]),
    [["freeRunOnnx", 0, 0]],
  );
  assert.deepEqual(r.warnings, [
    `${dir}: image_u8: not compared (${torchRef} holds no image_u8: a torch reference keeps ` +
    "none, the onnx reference does)",
  ]);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("compareDump: errors name the dump or the reference", async () => {
  const empty = await Deno.makeTempDir();
  await assert.rejects(
    compareDump(empty, REF),
    (e) =>
      e instanceof FileError && e.file === empty &&
      /holds no prev_sample\.<i>, model_output\.<i> or latents tensor \(it is empty\)/.test(
        e.message,
      ),
  );
  await assert.rejects(compareDump(`${empty}/missing`, REF), /missing: cannot be read/);
  const ref = await readSafetensors(REF);
  await writeNpy(`${empty}/prev_sample.20.npy`, ref.tensor("latents"));
  await assert.rejects(
    compareDump(empty, REF),
    /prev_sample\.20: step 20 beyond the reference's 20 model calls/,
  );
  await Deno.remove(`${empty}/prev_sample.20.npy`);
  await writeNpy(`${empty}/latents.npy`, ref.tensor("prompt_embeds"));
  await assert.rejects(
    compareDump(empty, REF),
    /latents: shape \[.*\] differs from the reference's \[1, 4, 16, 16\]/,
  );
  await writeNpy(`${empty}/latents.npy`, ref.tensor("latents").reshape([4, 16, 16]));
  assert.equal((await compareDump(empty, REF)).status, "pass"); // without the batch axis: accepted
  const ts = ref.tensor("timesteps");
  ts.data[0] += 1;
  await writeNpy(`${empty}/timesteps.npy`, ts);
  await assert.rejects(compareDump(empty, REF), /timesteps: \[952, /);
  await Deno.remove(`${empty}/timesteps.npy`);
  await assert.rejects(compareDump(empty, `${empty}/no.safetensors`), CaseReferenceError);
  await Deno.remove(empty, { recursive: true });
});

Deno.test("compareDump against a prefix reference: steps past its first 100 calls are warnings, not compared", async () => {
  // diffusers' 1000-step DDPMPipeline reference: per-step tensors for calls 0..99
  const refPath = "fixtures/refs/cases/digits-ddpm-ddpm1000.onnx.safetensors";
  const ref = await readSafetensors(refPath);
  const dir = await Deno.makeTempDir({ prefix: "port-dump-" });
  try {
    // a port that dumps every call: 0..98 as diffusers' (99 left out), 100..149 anything, latents
    for (let i = 0; i < 150; i++) {
      if (i === 99) continue;
      const t = i < 100 ? ref.tensor(`prev_sample.${i}`) : ref.tensor("latents");
      await writeNpy(`${dir}/prev_sample.${i}.npy`, t);
    }
    const last = ref.tensor("latents");
    await writeNpy(`${dir}/latents.npy`, last);
    const r = await compareDump(dir, refPath);
    assert.equal(r.status, "pass");
    assert.deepEqual(r.comparisons.map((c) => [c.kind, c.perStep.length]), [["freeRunOnnx", 99]]);
    assert.match(r.comparisons[0].subject, /^prev_sample at 99 of 1000 steps, final latents/);
    assert.deepEqual(r.warnings?.map((w) => w.slice(dir.length + 2)), [
      "prev_sample at 50 steps from 100 on not compared: the reference holds per-step tensors " +
      `for the first 100 of 1000 model calls (${refPath})`,
      "prev_sample at 99 of the reference's 100 recorded steps (not dumped: 99)",
    ]);
    // the final latents are compared still: an edit there fails
    last.data[0] += 1e-3;
    await writeNpy(`${dir}/latents.npy`, last);
    const bad = await compareDump(dir, refPath);
    assert.equal(bad.status, "fail");
    assert.match(bad.comparisons[0].failures[0], /in final latents$/);
    // nothing but steps past the prefix: nothing to compare, an error naming the dump
    const only = await Deno.makeTempDir({ prefix: "port-dump-" });
    await writeNpy(`${only}/prev_sample.500.npy`, last);
    await assert.rejects(
      compareDump(only, refPath),
      (e) =>
        e instanceof FileError && e.file === only &&
        e.message.includes(
          "holds no tensor the reference has: its steps lie past the " +
            "reference's per-step tensors for the first 100 of 1000 model calls",
        ),
    );
    await writeNpy(`${only}/prev_sample.1000.npy`, last);
    await assert.rejects(
      compareDump(only, refPath),
      /step 1000 beyond the reference's 1000 model calls/,
    );
    await Deno.remove(only, { recursive: true });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("dumpAttribution: init_latents first, and final latents alone", () => {
  const ok = { maxAbs: 0, rmse: 0, relL2: 0, cosine: 1, maxUlp: 0 };
  const base = {
    kind: "freeRunOnnx" as const,
    reference: "r",
    subject: "",
    tolerance: { maxAbs: 1e-5 },
    worst: { ...ok, step: null },
    perStep: [{ step: 0, t: 951, ...ok }],
  };
  assert.match(
    dumpAttribution([{ ...base, pass: false, failures: ["maxAbs 1 > 1e-5 in init_latents"] }]),
    /^init_latents differ before any step/,
  );
  assert.equal(
    dumpAttribution([{ ...base, pass: false, failures: ["maxAbs 1 > 1e-5 in final latents"] }]),
    "only the final latents differ",
  );
});
