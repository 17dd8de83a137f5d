import assert from "node:assert/strict";
import { join } from "node:path";
import { type Case, defineCase, type UnconditionalCaseSpec } from "../../core/harness/case.ts";
import { loadCaseInputs } from "../../core/harness/case_inputs.ts";
import { writeGolden } from "../../core/harness/free_run.ts";
import { runPipeline } from "../../core/harness/phases.ts";
import { readCaseReference } from "../../core/harness/references.ts";
import { runCase } from "../../core/harness/runner.ts";
import { ieeeMath } from "../../core/numerics/f32_math.ts";
import {
  readSafetensors,
  type SafetensorsInput,
  writeSafetensors,
} from "../../core/tensor/safetensors.ts";
import { Tensor } from "../../core/tensor/tensor.ts";
import { makeUnconditionalFolder } from "../models/testing_folders.ts";

/**
 * An unconditional case on the DDPMPipeline test folder (its UNet computes `sample + t`, 3
 * channels, sample_size 2), references beside it in `dir`.
 */
function uncondCase(root: string, dir: string, patch: Partial<UnconditionalCaseSpec> = {}): Case {
  return defineCase({
    name: "uncond",
    model: root,
    pipeline: "unconditional",
    sampler: { type: "DDPMScheduler" },
    steps: 5,
    seed: 3,
    references: { onnx: join(dir, "u.onnx.safetensors"), torch: join(dir, "u.torch.safetensors") },
    ...patch,
  });
}

Deno.test("an unconditional case runs on a DDPMPipeline folder: noref, a golden, a pass, an edit caught", async () => {
  const root = await makeUnconditionalFolder();
  const dir = await Deno.makeTempDir();
  try {
    const c = uncondCase(root, dir);
    const options = { manifest: null };
    // the image shape is [1, unet in_channels, sample_size, sample_size], as DDPMPipeline's
    const { inputs } = await loadCaseInputs(c, options);
    assert.deepEqual(inputs.latentShape, [1, 3, 2, 2]);
    await inputs.release();

    const none = await runCase(c, options);
    assert.equal(none.status, "noref", none.error ?? "");
    assert.equal(none.timing?.modelCalls, 5);
    assert.ok(none.images?.[0].png, "the picture of the final sample");

    // the golden holds no prompt tensors, and the picture with the image's channels
    await writeGolden(c, options);
    const names = (await readSafetensors(c.references.onnx)).names();
    assert.ok(!names.includes("prompt_embeds") && !names.includes("input_ids"), names.join(", "));
    const ref = await readCaseReference(c.references.onnx, { prompt: false });
    assert.deepEqual(ref.imageU8?.shape, [1, 3, 2, 2]);
    await assert.rejects(readCaseReference(c.references.onnx), /tensor 'prompt_embeds' missing/);

    const again = await runCase(c, options);
    assert.equal(again.status, "pass", again.error ?? "");
    assert.deepEqual(again.comparisons.map((x) => x.kind), [
      "freeRunOnnx",
      "image",
      "replayScheduler",
      "replayModel",
    ]);
    assert.equal(again.comparisons.find((x) => x.kind === "replayModel")?.perStep.length, 5);

    // an edited model output at step 2: the model replay fails there, the scheduler replay not
    const file = await readSafetensors(c.references.onnx);
    const tensors: Record<string, SafetensorsInput> = {};
    for (const name of file.names()) {
      const info = file.info(name);
      tensors[name] = info.dtype !== "F32"
        ? { dtype: info.dtype, shape: info.shape, data: file.raw(name) }
        : name === "model_output.2"
        ? new Tensor(file.tensor(name).data.map((v, i) => i === 0 ? v + 0.5 : v), info.shape)
        : file.tensor(name);
    }
    await writeSafetensors(c.references.onnx, tensors, file.metadata);
    const edited = await runCase(c, options);
    const model = edited.comparisons.find((x) => x.kind === "replayModel")!;
    assert.equal(model.pass, false);
    assert.match(model.failures[0], /at step 2 \(t=\d+\)$/);
  } finally {
    await Deno.remove(root, { recursive: true });
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("useClippedModelOutput reaches DDIM's step; a text-conditioned UNet is refused naming it", async () => {
  const root = await makeUnconditionalFolder();
  const dir = await Deno.makeTempDir();
  try {
    const ddim = { sampler: { type: "DDIMScheduler" as const }, steps: 4 };
    const latents = async (c: Case) => {
      const { inputs } = await loadCaseInputs(c, { manifest: null });
      try {
        return (await runPipeline(inputs, {}, null, true, ieeeMath)).result.latents.data;
      } finally {
        await inputs.release();
      }
    };
    // sample + t gives x0 far outside [-1, 1]: clip_sample clips it, and the clipped model
    // output (re-derived from the clipped x0) moves the samples
    const plain = await latents(uncondCase(root, dir, ddim));
    const clipped = await latents(uncondCase(root, dir, { ...ddim, useClippedModelOutput: true }));
    assert.notDeepEqual([...clipped], [...plain]);
    assert.deepEqual(
      [...await latents(uncondCase(root, dir, { ...ddim, useClippedModelOutput: false }))],
      [...plain],
      "false is diffusers' default (None passes nothing)",
    );

    const onTextModel = { ...uncondCase(root, dir), model: "fixtures/models/tiny-sd" };
    const r = await runCase(onTextModel, { manifest: null });
    assert.equal(r.status, "error");
    assert.match(r.error ?? "", /tiny-sd\/unet\/model\.onnx: input 'encoder_hidden_states'/);
  } finally {
    await Deno.remove(root, { recursive: true });
    await Deno.remove(dir, { recursive: true });
  }
});
