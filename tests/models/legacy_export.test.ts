/**
 * A folder exported by diffusers' own scripts/convert_stable_diffusion_checkpoint_to_onnx.py
 * (no config.json, a VAE encoder with output `latent_sample`) runs text2img; img2img and
 * inpaint are refused naming the encoder file and why.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { loadCaseInputs } from "../../core/harness/case_inputs.ts";
import { loadCases } from "../../core/harness/cases_loader.ts";
import { runPipeline } from "../../core/harness/phases.ts";
import { PIPELINE_KINDS, type PipelineRunInputs } from "../../core/harness/pipeline_kinds.ts";
import { readModelGeometry } from "../../core/models/geometry.ts";
import { loadModelFolder } from "../../core/models/load_model_folder.ts";
import { LEGACY_VAE_ENCODER } from "../../core/models/model_io.ts";
import { ieeeMath } from "../../core/numerics/f32_math.ts";
import { makeLegacyFolder } from "./testing_folders.ts";

async function withLegacyFolder(run: (root: string) => Promise<void>): Promise<void> {
  const root = await makeLegacyFolder();
  try {
    await run(root);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
}

Deno.test("a legacy folder loads; its latent_sample VAE encoder is recorded as unusable", async () => {
  await withLegacyFolder(async (root) => {
    const m = await loadModelFolder(root);
    try {
      assert.equal(m.vaeEncoder, undefined);
      assert.deepEqual(Object.keys(m.records()).sort(), ["text_encoder", "unet", "vae_decoder"]);
      assert.equal(
        m.unusable.vae_encoder,
        `${join(root, "vae_encoder", "model.onnx")}: output 'latent_sample': ${LEGACY_VAE_ENCODER}`,
      );
      assert.ok(m.vaeDecoder !== undefined && m.textEncoder !== undefined);
    } finally {
      await m.release();
    }
    // Not asked for: neither loaded nor judged.
    const noEnc = await loadModelFolder(root, { vaeEncoder: false });
    assert.deepEqual(noEnc.unusable, {});
    await noEnc.release();
  });
});

Deno.test("legacy geometry: derived from the graphs, the rest assumed, each in a warning", async () => {
  await withLegacyFolder(async (root) => {
    const m = await loadModelFolder(root);
    try {
      const g = await readModelGeometry(m.folder, {
        unet: m.unet.session,
        vae_decoder: m.vaeDecoder?.session,
      });
      const unetCfg = join(root, "unet", "config.json");
      const vaeCfg = join(root, "vae_decoder", "config.json");
      const dec = join(root, "vae_decoder", "model.onnx");
      assert.deepEqual(g.warnings, [
        // unet_legacy's channels are dynamic; the decoder's latent_sample has 4
        `latent channels 4 from ${dec} input 'latent_sample' axis 1 (${unetCfg} missing)`,
        `VAE scale factor 8 assumed (${vaeCfg} missing and ${dec} has no fixed latent_sample -> ` +
        `sample heights; OnnxStableDiffusionPipeline folder: diffusers' ` +
        `OnnxStableDiffusionPipeline hard-codes it, SD 1.x/2.x)`,
        `VAE scaling_factor 0.18215 assumed (${vaeCfg} missing; OnnxStableDiffusionPipeline ` +
        `folder: diffusers' OnnxStableDiffusionPipeline hard-codes it, SD 1.x/2.x; SDXL's VAE ` +
        `uses 0.13025: add vae_decoder/config.json with its scaling_factor if yours differs)`,
        `sample size 64 (512 px) assumed, used only when the case sets no height/width ` +
        `(${unetCfg} missing and ${m.unet.path} input 'sample' has a dynamic height; ` +
        `OnnxStableDiffusionPipeline folder: diffusers' OnnxStableDiffusionPipeline hard-codes ` +
        `it, SD 1.x/2.x, default height/width 512)`,
      ]);
      assert.deepEqual(
        [g.latentChannels, g.vaeScaleFactor, g.sampleSize, g.scalingFactor],
        [4, 8, 64, 0.18215],
      );
    } finally {
      await m.release();
    }
  });
});

Deno.test("legacy geometry: fixed shapes give the exact size and factor", async () => {
  await withLegacyFolder(async (root) => {
    const folder = await loadModelFolder(root, { vaeEncoder: false });
    await folder.release();
    const f32 = (name: string, shape: (number | string)[]) => ({ name, type: "float32", shape });
    const g = await readModelGeometry(folder.folder, {
      unet: { inputs: [f32("sample", [2, 4, 96, 96])], outputs: [] },
      vae_decoder: {
        inputs: [f32("latent_sample", [1, 4, 96, 96])],
        outputs: [f32("sample", [1, 3, 768, 768])],
      },
    });
    assert.deepEqual(
      [g.latentChannels, g.vaeScaleFactor, g.sampleSize, g.scalingFactor],
      [4, 8, 96, 0.18215],
    );
    assert.equal(g.warnings?.length, 4);
    assert.match(
      g.warnings![0],
      /^latent channels 4 from .*unet\/model\.onnx input 'sample' axis 1/,
    );
    assert.match(
      g.warnings![1],
      /^VAE scale factor 8 from .* height 768 \/ input 'latent_sample' height 96/,
    );
    assert.match(
      g.warnings![3],
      /^sample size 96 \(768 px\) from .*unet\/model\.onnx input 'sample'/,
    );
    // A config present is used as before, and stops its warnings.
    await Deno.writeTextFile(
      join(root, "unet", "config.json"),
      JSON.stringify({ in_channels: 4, sample_size: 32 }),
    );
    const withConfig = await readModelGeometry(folder.folder);
    assert.equal(withConfig.sampleSize, 32);
    assert.deepEqual(withConfig.warnings?.map((w) => w.split(" ")[1]), ["scale", "scaling_factor"]);
  });
});

Deno.test("text2img runs on a legacy folder; img2img and inpaint are refused with the reason", async () => {
  await withLegacyFolder(async (root) => {
    const [g1] = await loadCases("cases", "guidance-1");
    assert.ok(g1.pipeline === "text2img"); // a case with a prompt and a size
    const c = { ...g1, model: root, prompt: "a cat", steps: 3, height: 16, width: 16 };
    const { inputs } = await loadCaseInputs(c, { manifest: null });
    try {
      assert.deepEqual(inputs.latentShape, [1, 4, 2, 2]); // 16 px / the assumed factor 8
      assert.equal(inputs.geometryWarnings?.length, 4);
      const run = await runPipeline(inputs, {}, null, true, ieeeMath);
      assert.equal(run.records.length, 3);
      assert.ok(run.result.latents.data.every(Number.isFinite));
      // The tiny decoder doubles (its true factor is 2, not the assumed 8).
      assert.deepEqual(run.result.image?.shape, [1, 3, 4, 4]);
      // The pipeline kinds name the file and the reason.
      const encFile = join(root, "vae_encoder", "model.onnx");
      for (const kind of ["img2img", "inpaint"] as const) {
        await assert.rejects(
          PIPELINE_KINDS[kind].run({
            ...inputs,
            ...inputs.model,
            vaeEncoderUnusable: inputs.model.unusable.vae_encoder,
          } as unknown as PipelineRunInputs),
          new Error(
            `pipeline '${kind}' needs a usable VAE encoder; ${encFile}: output 'latent_sample': ` +
              LEGACY_VAE_ENCODER,
          ),
        );
      }
    } finally {
      await inputs.release();
    }
    // A case: refused when its inputs are loaded, before anything runs.
    const [i2i] = await loadCases("cases", "img2img-ddim");
    assert.ok(i2i.pipeline === "img2img");
    await assert.rejects(
      loadCaseInputs({ ...i2i, model: root, prompt: "a cat" }, { manifest: null }),
      (e: unknown) =>
        e instanceof Error &&
        e.message.startsWith(
          `pipeline 'img2img' needs a usable VAE encoder; ${
            join(root, "vae_encoder", "model.onnx")
          }: output 'latent_sample': diffusers' legacy ONNX export`,
        ),
    );
  });
});
