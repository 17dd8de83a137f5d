import assert from "node:assert/strict";
import { type Case, defineCase } from "../../core/harness/case.ts";
import {
  gitCommit,
  GOLDEN_LABEL,
  referenceExists,
  referenceKindOf,
} from "../../core/harness/goldens.ts";
import { readCaseReference } from "../../core/harness/references.ts";
import { writeGolden } from "../../core/harness/free_run.ts";
import { runCase } from "../../core/harness/runner.ts";
import { verify } from "../../core/harness/verify.ts";
import {
  readSafetensors,
  type SafetensorsInput,
  writeSafetensors,
} from "../../core/tensor/safetensors.ts";
import { Tensor } from "../../core/tensor/tensor.ts";

/** A user-style case on the shipped tiny model, its references in a temp folder. */
function tempCase(dir: string, patch: Record<string, unknown> = {}): Case {
  return defineCase({
    name: "my-golden",
    model: "fixtures/models/tiny-sd",
    pipeline: "text2img",
    sampler: { type: "DDIMScheduler" },
    steps: 6,
    prompt: "a photograph of an astronaut riding a horse",
    guidanceScale: 7.5,
    seed: 5,
    references: {
      onnx: `${dir}/refs/my-golden.onnx.safetensors`,
      torch: `${dir}/refs/my-golden.torch.safetensors`,
    },
    ...patch,
  });
}

/** Rewrites a safetensors file with `edit` applied to its F32 tensors. */
async function edit(path: string, f: (name: string, t: Tensor) => Tensor): Promise<void> {
  const file = await readSafetensors(path);
  const tensors: Record<string, SafetensorsInput> = {};
  for (const name of file.names()) {
    const info = file.info(name);
    tensors[name] = info.dtype === "F32"
      ? f(name, file.tensor(name))
      : { dtype: info.dtype, shape: info.shape, data: file.raw(name) };
  }
  await writeSafetensors(path, tensors, file.metadata);
}

Deno.test("no reference, a golden, a pass against it, and a regression caught at its step", async () => {
  const dir = await Deno.makeTempDir();
  const c = tempCase(dir);

  // 1. No reference: the free run alone, status noref (not pass), with per-step figures.
  const none = await runCase(c);
  assert.equal(none.status, "noref", none.error ?? "");
  assert.deepEqual(none.comparisons, []);
  assert.equal(none.freeRunSteps?.length, 6);
  assert.ok(none.freeRunSteps!.every((s) => Number.isFinite(s.absMax) && s.modelMs >= 0));
  assert.equal(none.timing?.modelCalls, 6);
  assert.match(none.latentsSha256 ?? "", /^[0-9a-f]{64}$/);
  assert.equal(none.images?.[0].label, "ours");
  assert.match(none.noReference ?? "", /my-golden\.onnx\.safetensors does not exist/);
  assert.match(none.noReference ?? "", /--update-goldens --yes/);
  const summary = await verify({ cases: [c] });
  assert.deepEqual([summary.passed, summary.failed, summary.noReference], [0, 0, 1]);

  // 2. A dry run writes nothing.
  assert.deepEqual(await writeGolden(c, { dryRun: true }), {
    case: "my-golden",
    path: c.references.onnx,
    steps: 0,
    tensors: 0,
    written: false,
  });
  assert.equal(await referenceExists(c.references.onnx), false);

  // 3. The golden: the reference layout, marked golden, no torch side.
  const w = await writeGolden(c);
  assert.deepEqual([w.steps, w.written], [6, true]);
  assert.equal(await referenceKindOf(c.references.onnx), "golden");
  assert.equal(await referenceExists(c.references.torch), false);
  const ref = await readCaseReference(c.references.onnx);
  assert.deepEqual([ref.steps, ref.backend], [6, "onnx"]);
  assert.equal(ref.metadata["golden"], "true");
  assert.equal(ref.metadata["provider"], "cpu");
  assert.match(ref.metadata["date"], /^\d{4}-\d\d-\d\dT/);
  const commit = await gitCommit(".");
  if (commit) assert.equal(ref.metadata["diffparity_commit"], commit);
  assert.ok(ref.imageU8 && ref.modelOutput(5) && ref.prevSample(5));
  assert.deepEqual(ref.latents.shape, ref.initLatents.shape);
  const names = (await readSafetensors(c.references.onnx)).names();
  assert.ok(names.includes("input_ids") && names.includes("prompt_embeds"));
  // no temporary file left beside it
  assert.deepEqual(
    [...Deno.readDirSync(`${dir}/refs`)].map((e) => e.name),
    ["my-golden.onnx.safetensors"],
  );

  // 4. A later run compares against the golden: a pass, marked golden, torch skipped.
  const again = await runCase(c);
  assert.equal(again.status, "pass", again.error ?? "");
  assert.equal(again.reference, "golden");
  assert.ok(again.referenceNote?.startsWith(GOLDEN_LABEL));
  assert.match(again.referenceNote ?? "", /vs torch skipped \(a golden has no torch side\)/);
  assert.deepEqual(again.comparisons.map((x) => x.kind), [
    "freeRunOnnx",
    "image",
    "replayScheduler",
    "replayModel",
  ]);
  assert.equal(again.latentsSha256, none.latentsSha256);

  // 5. A regression: another seed differs from step 0 on.
  const reseeded = await runCase(tempCase(dir, { seed: 6 }));
  assert.equal(reseeded.status, "fail");
  const free = reseeded.comparisons.find((x) => x.kind === "freeRunOnnx")!;
  assert.match(free.failures[0], /at step 0 \(t=\d+\)/);

  // 6. A golden tampered at step 3: the free run fails at that step, and no earlier.
  await edit(c.references.onnx, (name, t) => {
    if (name !== "prev_sample.3") return t;
    const data = t.data.slice();
    data[0] += 0.01;
    return new Tensor(data, t.shape);
  });
  const tampered = await runCase(c);
  assert.equal(tampered.status, "fail");
  const f = tampered.comparisons.find((x) => x.kind === "freeRunOnnx")!;
  assert.equal(f.pass, false);
  assert.match(f.failures[0], /^maxAbs 0\.01\d* > 1e-5 .* at step 3 \(t=\d+\)$/);
  assert.ok(f.perStep.slice(0, 3).every((s) => s.maxAbs === 0));

  // 7. `writeGolden` replaces a golden, never a diffusers reference.
  await writeGolden(c);
  assert.equal((await runCase(c)).status, "pass");
  const shipped = defineCase({ ...structuredClone(c), references: undefined, name: "ddim-eta0" });
  await assert.rejects(writeGolden(shipped), /is a diffusers reference; a golden never replaces/);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("an unreadable or corrupt reference is still an error naming the file", async () => {
  const dir = await Deno.makeTempDir();
  const c = tempCase(dir);
  await Deno.mkdir(`${dir}/refs`);
  await Deno.writeFile(c.references.onnx, new Uint8Array([1, 2, 3]));
  const corrupt = await runCase(c);
  assert.equal(corrupt.status, "error");
  assert.ok(corrupt.error?.includes("my-golden.onnx.safetensors"), corrupt.error ?? "");
  await Deno.remove(c.references.onnx);
  await Deno.mkdir(c.references.onnx); // a folder where the file should be
  const folder = await runCase(c);
  assert.equal(folder.status, "error");
  assert.match(folder.error ?? "", /my-golden\.onnx\.safetensors.*not a file/);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("gitCommit reads the checkout's commit without running git", async () => {
  const commit = await gitCommit(".");
  const head = await new Deno.Command("git", { args: ["rev-parse", "HEAD"], stdout: "piped" })
    .output().then((o) => new TextDecoder().decode(o.stdout).trim(), () => null);
  if (head) assert.equal(commit, head);
  assert.equal(await gitCommit("/"), null);
});

Deno.test("a golden inside the manifest's folder is not refused for being unlisted; another file is", async () => {
  const dir = await Deno.makeTempDir();
  const manifest = `${dir}/manifest.json`;
  await Deno.writeTextFile(manifest, JSON.stringify({ files: {} }));
  const c = tempCase(dir, { steps: 3 });
  assert.equal((await runCase(c, { manifest })).status, "noref"); // missing: not checked
  await writeGolden(c, { manifest });
  const r = await runCase(c, { manifest });
  assert.deepEqual([r.status, r.reference], ["pass", "golden"], r.error ?? "");
  // an unlisted reference that is not a golden is refused, as before
  await Deno.copyFile("fixtures/refs/cases/guidance-1.torch.safetensors", c.references.torch);
  await Deno.copyFile("fixtures/refs/cases/guidance-1.onnx.safetensors", c.references.onnx);
  const refused = await runCase(c, { manifest });
  assert.equal(refused.status, "error");
  assert.match(refused.error ?? "", /my-golden\.onnx\.safetensors: not listed in .*manifest\.json/);
  await Deno.remove(dir, { recursive: true });
});
