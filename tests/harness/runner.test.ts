import assert from "node:assert/strict";
import { type Case, defineCase } from "../../core/harness/case.ts";
import { loadCases } from "../../core/harness/cases_loader.ts";
import { runCase } from "../../core/harness/runner.ts";
import {
  readSafetensors,
  type SafetensorsInput,
  writeSafetensors,
} from "../../core/tensor/safetensors.ts";
import { Tensor } from "../../core/tensor/tensor.ts";
import { sha256File } from "../../core/harness/fixture_hashes.ts";

const [guidance1] = await loadCases("cases", "guidance-1");

/** Copies a reference file with `edit` applied to a few tensors. */
async function editedReference(
  path: string,
  edit: (name: string, t: Tensor) => Tensor,
): Promise<string> {
  const file = await readSafetensors(path);
  const tensors: Record<string, SafetensorsInput> = {};
  for (const name of file.names()) {
    const info = file.info(name);
    tensors[name] = info.dtype === "F32"
      ? edit(name, file.tensor(name))
      : { dtype: info.dtype, shape: info.shape, data: file.raw(name) };
  }
  const out = await Deno.makeTempFile({ suffix: ".safetensors" });
  await writeSafetensors(out, tensors, file.metadata);
  return out;
}

function withChanges(c: Case, patch: Record<string, unknown>): Case {
  return defineCase({ ...structuredClone(c), ...patch } as Case);
}

Deno.test("a shipped case passes every comparison, on the CPU provider", async () => {
  const r = await runCase(guidance1);
  assert.equal(r.status, "pass", r.error ?? JSON.stringify(r.comparisons.map((c) => c.failures)));
  assert.equal(r.provider, "cpu");
  assert.deepEqual(r.comparisons.map((c) => c.kind).sort(), [
    "freeRunOnnx",
    "freeRunTorch",
    "image",
    "replayModel",
    "replayScheduler",
  ]);
  const sched = r.comparisons.find((c) => c.kind === "replayScheduler")!;
  assert.equal(sched.perStep.length, 20);
  assert.match(r.latentsSha256 ?? "", /^[0-9a-f]{64}$/);
});

Deno.test("two runs give bit-identical final latents (hash)", async () => {
  const [eta05] = await loadCases("cases", "ddim-eta05");
  for (const c of [guidance1, eta05]) {
    const a = await runCase(c, { keepImage: false });
    const b = await runCase(c, { keepImage: false });
    assert.equal(a.status, "pass");
    assert.equal(a.latentsSha256, b.latentsSha256, `${c.name}: latents differ between runs`);
  }
});

Deno.test("an edited reference fails, naming the comparison, the bound and the step", async () => {
  // Nudge prev_sample.5 of the onnx reference by 1e-3 at one element.
  const edited = await editedReference(guidance1.references.onnx, (name, t) => {
    if (name !== "prev_sample.5") return t;
    const data = t.data.slice();
    data[17] += 1e-3;
    return new Tensor(data, t.shape);
  });
  const c = withChanges(guidance1, {
    references: { onnx: edited, torch: guidance1.references.torch },
  });
  const r = await runCase(c, { manifest: null });
  assert.equal(r.status, "fail");
  const free = r.comparisons.find((x) => x.kind === "freeRunOnnx")!;
  const sched = r.comparisons.find((x) => x.kind === "replayScheduler")!;
  assert.equal(free.pass, false);
  assert.match(free.failures[0], /^maxAbs 1(\.\d+)?e-3 > 1e-5 .* at step 5 \(t=\d+\)$/);
  // Step 5's reference output is wrong, and step 6 starts from it: replay flags both.
  assert.match(sched.failures[0], /^maxUlp \d+ > 0 at step 5 /);
  await Deno.remove(edited);
});

Deno.test("a tolerance tighter than the measured figure fails with both numbers", async () => {
  const c = withChanges(guidance1, { tolerances: { freeRunTorch: { maxAbs: 1e-9 } } });
  const r = await runCase(c);
  const torch = r.comparisons.find((x) => x.kind === "freeRunTorch")!;
  assert.equal(r.status, "fail");
  assert.match(torch.failures[0], /^maxAbs [0-9.]+e-5 > 1e-9 \(\d+x\) in final latents$/);
});

Deno.test("a UNet with a renamed input is refused before the first step, naming file and input", async () => {
  const c = withChanges(guidance1, { unet: "fixtures/models-test/unet_renamed_input.onnx" });
  const r = await runCase(c, { manifest: null });
  assert.equal(r.status, "error");
  assert.match(r.error ?? "", /fixtures\/models-test\/unet_renamed_input\.onnx/);
  assert.match(r.error ?? "", /encoder_hidden_states/);
});

Deno.test("a model whose hash changed is refused with the way to regenerate", async () => {
  const manifest = JSON.parse(await Deno.readTextFile("fixtures/manifest.json"));
  manifest.files["models/tiny-sd/unet/model.onnx"].sha256 = "0".repeat(64);
  const dir = await Deno.makeTempDir();
  // The manifest's entries are relative to its folder: place the copy beside fixtures/.
  const path = "fixtures/.manifest-test.json";
  await Deno.writeTextFile(path, JSON.stringify(manifest));
  try {
    const r = await runCase(guidance1, { manifest: path });
    assert.equal(r.status, "error");
    assert.match(
      r.error ?? "",
      /fixtures\/models\/tiny-sd\/unet\/model\.onnx: sha256 [0-9a-f]{12}… differs from/,
    );
    assert.match(r.error ?? "", /deno task refs/);
  } finally {
    await Deno.remove(path);
    await Deno.remove(dir);
  }
});

Deno.test("a NaN in the reference model output at step 7 stops the replay naming step and tensor", async () => {
  const edited = await editedReference(guidance1.references.onnx, (name, t) => {
    if (name !== "model_output.7") return t;
    const data = t.data.slice();
    data[3] = NaN;
    return new Tensor(data, t.shape);
  });
  const c = withChanges(guidance1, {
    references: { onnx: edited, torch: guidance1.references.torch },
  });
  const r = await runCase(c, { manifest: null });
  assert.equal(r.status, "error");
  assert.match(r.error ?? "", /step 7/);
  assert.match(r.error ?? "", /NaN/);
  assert.match(r.error ?? "", /modelOutput|model output/i);
  await Deno.remove(edited);
});

Deno.test("a missing onnx reference is no reference (noref), saying how to make one", async () => {
  const c = withChanges(guidance1, {
    references: {
      onnx: "fixtures/refs/cases/nope.onnx.safetensors",
      torch: guidance1.references.torch,
    },
  });
  const r = await runCase(c); // the hash check skips the missing file: not an error
  assert.equal(r.status, "noref", r.error ?? "");
  assert.match(
    r.noReference ?? "",
    /^fixtures\/refs\/cases\/nope\.onnx\.safetensors does not exist; make references with `deno task refs`/,
  );
});

Deno.test("a missing torch reference beside a dumper's onnx one is still an error", async () => {
  const c = withChanges(guidance1, {
    references: {
      onnx: guidance1.references.onnx,
      torch: "fixtures/refs/cases/nope.torch.safetensors",
    },
  });
  const r = await runCase(c, { manifest: null });
  assert.equal(r.status, "error");
  assert.equal(
    r.error,
    "fixtures/refs/cases/nope.torch.safetensors: reference file missing; make it with `deno task refs`",
  );
});

Deno.test("a capture of the ONNX run alone: vs torch skipped, unless a manifest promised the torch side", async () => {
  const [captured] = await loadCases("examples/your-model/cases", "sd2-ort-pndm");
  const dir = await Deno.makeTempDir({ prefix: "diffparity-onnx-only-" });
  const onnx = `${dir}/refs/mine.onnx.safetensors`;
  await Deno.mkdir(`${dir}/refs`);
  await Deno.copyFile(captured.references.onnx, onnx);
  const c = withChanges(captured, {
    references: { onnx, torch: `${dir}/refs/mine.torch.safetensors` },
  });
  const entry = { sha256: await sha256File(onnx) };
  const manifest = (files: Record<string, unknown>) =>
    Deno.writeTextFile(`${dir}/refs/manifest.json`, JSON.stringify({ files }));
  await manifest({ "mine.onnx.safetensors": entry });
  const r = await runCase(c, {});
  assert.equal(r.status, "pass", r.error ?? "");
  assert.deepEqual(r.comparisons.map((x) => x.kind).includes("freeRunTorch"), false);
  assert.equal(
    r.referenceNote,
    `vs torch skipped (${dir}/refs/mine.torch.safetensors does not exist: only the ONNX run was captured)`,
  );
  // the manifest promises a torch reference that is gone: an error, not a silent skip
  await manifest({ "mine.onnx.safetensors": entry, "mine.torch.safetensors": entry });
  const gone = await runCase(c, {});
  assert.equal(gone.status, "error");
  assert.match(
    gone.error!,
    /mine\.torch\.safetensors: missing \(listed in .*refs\/manifest\.json\)/,
  );
  await Deno.remove(dir, { recursive: true });
});

/** The timesteps a reference file records, read from the file itself. */
async function referenceTimesteps(path: string): Promise<number[]> {
  return Array.from((await readSafetensors(path)).tensor("timesteps").data);
}

/** A copy of `tensor` with 0.5 added at element `at`. */
function bumped(t: Tensor, at: number): Tensor {
  const data = t.data.slice();
  data[at] += 0.5;
  return new Tensor(data, t.shape);
}

Deno.test("a free run is compared with the same step of the reference: an edit at step 7 is flagged at 7 only", async () => {
  // img2img (strength 0.6): 12 model calls; edit the reference's latents after call 7.
  const [c0] = await loadCases("cases", "img2img-ddim");
  const times = await referenceTimesteps(c0.references.onnx);
  assert.equal(times.length, 12);
  const edited = await editedReference(
    c0.references.onnx,
    (name, t) => name === "prev_sample.7" ? bumped(t, 100) : t,
  );
  try {
    const c = withChanges(c0, { references: { onnx: edited, torch: c0.references.torch } });
    const r = await runCase(c, { manifest: null });
    assert.equal(r.status, "fail", r.error ?? "");
    const free = r.comparisons.find((x) => x.kind === "freeRunOnnx")!;
    assert.equal(free.pass, false);
    // One figure per reference step, in order, each labelled with the reference's timestep.
    assert.deepEqual(free.perStep.map((s) => [s.step, s.t]), times.map((t, i) => [i, t]));
    // Only step 7 differs (by the 0.5 edit): our run never reads the reference.
    const over = free.perStep.filter((s) => !(s.maxAbs <= 1e-5)).map((s) => s.step);
    assert.deepEqual(over, [7]);
    assert.ok(Math.abs(free.perStep[7].maxAbs - 0.5) < 1e-6, `${free.perStep[7].maxAbs}`);
    assert.match(
      free.failures[0],
      new RegExp(`^maxAbs 0\\.5 > 1e-5 \\(\\S+x\\) at step 7 \\(t=${times[7]}\\)$`),
    );
    assert.equal(free.worst.step, 7);
    // The final latents (a separate tensor of the reference) still match.
    assert.ok(!free.failures.some((f) => f.includes("final latents")), free.failures.join("; "));
  } finally {
    await Deno.remove(edited);
  }
});

/** A shipped case per pipeline kind, with the model call whose reference tensor gets edited. */
const PIPELINE_CASES = [
  ["text2img", "guidance-1", 13],
  ["img2img", "img2img-ddim", 4],
  ["inpaint", "inpaint-ddim", 9],
] as const;

for (const [kind, name, step] of PIPELINE_CASES) {
  Deno.test(`${kind}: an edited model_output.${step} fails the model replay at step ${step} only`, async () => {
    const [c0] = await loadCases("cases", name);
    assert.equal(c0.pipeline, kind);
    const times = await referenceTimesteps(c0.references.onnx);
    const edited = await editedReference(
      c0.references.onnx,
      (n, t) => n === `model_output.${step}` ? bumped(t, 5) : t,
    );
    try {
      const c = withChanges(c0, { references: { onnx: edited, torch: c0.references.torch } });
      const r = await runCase(c, { manifest: null });
      assert.equal(r.status, "fail", r.error ?? "");
      const model = r.comparisons.find((x) => x.kind === "replayModel")!;
      assert.equal(model.pass, false);
      assert.equal(model.failures.length, 1, model.failures.join("; "));
      assert.match(
        model.failures[0],
        new RegExp(`^maxAbs 0\\.5 > 1e-5 \\(\\S+x\\) at step ${step} \\(t=${times[step]}\\)$`),
      );
      assert.equal(model.worst.step, step);
      const over = model.perStep.filter((s) => !(s.maxAbs <= 1e-5)).map((s) => s.step);
      assert.deepEqual(over, [step]);
      // Our own runs do not read the reference's model output: the free runs still pass.
      for (const k of ["freeRunOnnx", "freeRunTorch"]) {
        const x = r.comparisons.find((y) => y.kind === k)!;
        assert.equal(x.pass, true, `${k}: ${x.failures.join("; ")}`);
      }
    } finally {
      await Deno.remove(edited);
    }
  });

  Deno.test(`${kind}: edited torch final latents fail the torch comparison, and only it`, async () => {
    const [c0] = await loadCases("cases", name);
    const edited = await editedReference(
      c0.references.torch,
      (n, t) => n === "latents" ? bumped(t, 17) : t,
    );
    try {
      const c = withChanges(c0, { references: { onnx: c0.references.onnx, torch: edited } });
      const r = await runCase(c, { manifest: null });
      assert.equal(r.status, "fail", r.error ?? "");
      const torch = r.comparisons.find((x) => x.kind === "freeRunTorch")!;
      assert.equal(torch.pass, false);
      assert.match(torch.failures[0], /^maxAbs 0\.5 > 0\.001 \(\S+x\) in final latents$/);
      assert.ok(torch.failures.every((f) => f.endsWith(" in final latents")), torch.failures[1]);
      assert.equal(torch.worst.step, null);
      assert.ok(Math.abs(torch.worst.maxAbs - 0.5) < 1e-3, `${torch.worst.maxAbs}`);
      // The onnx reference is untouched: every other comparison passes.
      for (const x of r.comparisons.filter((y) => y.kind !== "freeRunTorch")) {
        assert.equal(x.pass, true, `${x.kind}: ${x.failures.join("; ")}`);
      }
    } finally {
      await Deno.remove(edited);
    }
  });
}

Deno.test("float16 sampler mode: fp16-sampler matches diffusers' float16 pipeline to 0, and says so", async () => {
  const [fp16] = await loadCases("cases", "fp16-sampler");
  assert.equal(fp16.precision, "float16");
  const r = await runCase(fp16);
  assert.equal(r.status, "pass", r.error ?? "");
  assert.equal(r.precision, "float16");
  assert.equal(r.warnings, undefined);
  for (const kind of ["freeRunOnnx", "replayScheduler", "replayModel"]) {
    const c = r.comparisons.find((x) => x.kind === kind)!;
    assert.equal(c.worst.maxAbs, 0, `${kind}: max |d| ${c.worst.maxAbs}`);
    assert.ok(c.perStep.length === 21 && c.perStep.every((s) => s.maxAbs === 0), kind);
  }
  const image = r.comparisons.find((x) => x.kind === "image")!;
  assert.equal(image.worst.maxAbs, 0);
});

Deno.test("float16 sampler mode matters: the same case in float32 does not match, with a warning", async () => {
  const [fp16] = await loadCases("cases", "fp16-sampler");
  const { precision: _, ...rest } = fp16;
  const float32 = defineCase(rest);
  const r = await runCase(float32);
  assert.equal(r.precision, "float32");
  const free = r.comparisons.find((x) => x.kind === "freeRunOnnx")!;
  const sched = r.comparisons.find((x) => x.kind === "replayScheduler")!;
  console.log(
    `fp16-sampler run in float32 mode: free run max |d| ${free.worst.maxAbs} (step ${free.worst.step}), ` +
      `scheduler replay ${sched.worst.maxUlp} ulp; verdict ${r.status}`,
  );
  assert.equal(r.status, "fail");
  assert.ok(!free.pass && free.worst.maxAbs > 0.01);
  assert.ok(!sched.pass);
  assert.deepEqual(r.warnings, [
    "fixtures/refs/cases/fp16-sampler.onnx.safetensors: the reference's sampler ran in float16 " +
    "(metadata sampler_dtype); case 'fp16-sampler' runs float32: set precision: \"float16\" in " +
    "the case to reproduce it",
  ]);
  // and the other way round: a float32 reference run in float16 mode warns too
  const [pndm] = await loadCases("cases", "pndm-plms");
  const half = await runCase(defineCase({ ...pndm, precision: "float16" }));
  assert.equal(half.status, "fail");
  assert.match(half.warnings?.[0] ?? "", /sampler ran in float32 .* runs float16/);
});
