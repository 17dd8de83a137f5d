/**
 * What the sampler study samples, per model (core/harness/sampler_study.ts): a model folder's
 * denoiser over a batch of seeds with its decoder, or Gaussian data's ideal denoiser with its
 * closed-form solution.
 *
 * @module
 */
import type { LoadedModel } from "../models/load_model_folder.ts";
import { readModelGeometry } from "../models/geometry.ts";
import { guidedDenoiser, unconditionalDenoiser } from "../pipelines/denoiser.ts";
import { latentShape } from "../pipelines/latents.ts";
import { encodePrompt } from "../pipelines/prompt.ts";
import { decodeLatents } from "../pipelines/vae.ts";
import { DDIMScheduler } from "../schedulers/ddim.ts";
import type { Denoiser } from "../schedulers/types.ts";
import { FileError } from "../tensor/errors.ts";
import { concat, sliceBatch } from "../tensor/ops.ts";
import type { Tensor } from "../tensor/tensor.ts";
import { gaussianDenoiser, gaussianSolution, sigmaOfTimestep } from "./gaussian_denoiser.ts";
import type { SamplerStudyModel as ModelSpec } from "./sampler_study_spec.ts";

/**
 * What sampling one model of the study needs: its denoiser over a batch of the study's seeds, one
 * image's shape, the prompted digits, how to decode for the classifier, its scheduler config,
 * and, for Gaussian data, the closed-form solution.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { Subject } from "./sampler_study_subjects.ts";
 * const shape = (s: Subject) => s.shape;
 * assert.equal(typeof shape, "function");
 * ```
 */
export interface Subject {
  denoiser: Denoiser;
  shape: number[];
  labels: number[] | null;
  /** Decodes samples for the classifier (null: nothing to score). */
  toImages: ((z: Tensor) => Promise<Tensor>) | null;
  config: Record<string, unknown>;
  source: string;
  /** The closed-form latents at sigma(0) from a batch's initial ones (Gaussian data), else null. */
  exact: ((xT: Tensor) => Tensor) | null;
}

/**
 * Gaussian data's subject: the ideal denoiser over the config's training schedule, and the
 * closed-form latents at sigma(0).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { gaussianSubject } from "./sampler_study_subjects.ts";
 * import { Tensor } from "../tensor/tensor.ts";
 * const scheduler = { beta_schedule: "scaled_linear", beta_start: 0.00085, beta_end: 0.012 };
 * const s = gaussianSubject({ model: "g", gaussian: { mean: 0, std: 1, shape: [1, 1, 1], scheduler } }, {});
 * // N(0, 1) data: the ODE keeps the variance-preserving latents where they are
 * const x = new Tensor(new Float32Array([0.7]), [1, 1, 1, 1]);
 * assert.ok(Math.abs(s.exact!(x).data[0] - 0.7) < 1e-6);
 * assert.equal(s.toImages, null);
 * ```
 */
export function gaussianSubject(
  m: ModelSpec & { gaussian: NonNullable<ModelSpec["gaussian"]> },
  config: Readonly<Record<string, unknown>>,
): Subject {
  const g = m.gaussian;
  const merged = { ...g.scheduler, ...config };
  const source = `${m.model} (gaussian.scheduler)`;
  // the schedule as every scheduler builds it from the config
  const { alphasCumprod } = DDIMScheduler.fromConfig(merged, source);
  const sigma = (t: number) => sigmaOfTimestep(alphasCumprod, t);
  return {
    denoiser: gaussianDenoiser(g, alphasCumprod),
    shape: [...g.shape],
    labels: null,
    toImages: null,
    config: merged,
    source,
    exact: (xT) => gaussianSolution(g, xT, sigma(alphasCumprod.length - 1), sigma(0)),
  };
}

/**
 * A model folder's subject: an unconditional pixel model's UNet, or a Stable Diffusion folder's
 * guided UNet over `seeds` images prompted with digit i mod 10 (B negative embedding rows first),
 * decoded by its VAE for the classifier.
 *
 * @throws {FileError} naming the folder when it is neither.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { loadModelFolder } from "../models/load_model_folder.ts";
 * import { subjectOf } from "./sampler_study_subjects.ts";
 * const model = await loadModelFolder("fixtures/models/digits-ddpm");
 * const s = await subjectOf(model, { model: "fixtures/models/digits-ddpm" }, 2, { clip_sample: false });
 * assert.deepEqual([s.shape, s.labels, s.config.clip_sample], [[1, 16, 16], null, false]);
 * await model.release();
 * ```
 */
export async function subjectOf(
  model: LoadedModel,
  spec: ModelSpec,
  seeds: number,
  config: Readonly<Record<string, unknown>>,
): Promise<Subject> {
  const g = await readModelGeometry(model.folder);
  const base = {
    config: { ...model.schedulerConfig, ...config },
    source: model.folder.schedulerConfigPath,
    exact: null,
  };
  const { tokenizer, textEncoder, vaeDecoder } = model;
  if (!textEncoder) {
    return {
      ...base,
      denoiser: unconditionalDenoiser(model.unet),
      shape: [g.latentChannels, g.sampleSize, g.sampleSize],
      labels: null,
      toImages: (z) => Promise.resolve(z),
    };
  }
  if (!tokenizer || !vaeDecoder) {
    throw new FileError(
      model.folder.root,
      undefined,
      "expected a Stable Diffusion folder (tokenizer, text_encoder and vae_decoder) or an " +
        "unconditional pixel-space one",
    );
  }
  const guidance = spec.guidance ?? 1;
  const cfg = guidance > 1;
  const labels = Array.from({ length: seeds }, (_, i) => i % 10);
  const template = spec.prompt ?? "a handwritten digit {k}";
  // encode_prompt for a batch: B negative rows, then B positive rows (each digit encoded once)
  const encoded = new Map<number, Awaited<ReturnType<typeof encodePrompt>>>();
  for (const k of new Set(labels)) {
    const prompt = template.replaceAll("{k}", String(k));
    encoded.set(k, await encodePrompt(tokenizer, textEncoder, prompt, "", cfg));
  }
  const rows = labels.map((k) => encoded.get(k)!);
  const half = (r: { embeds: Tensor }, i: number) => sliceBatch(r.embeds, i, i + 1);
  const embeds = cfg
    ? concat([...rows.map((r) => half(r, 0)), ...rows.map((r) => half(r, 1))])
    : concat(rows.map((r) => r.embeds));
  const pixels = g.sampleSize * g.vaeScaleFactor;
  return {
    ...base,
    denoiser: guidedDenoiser(model.unet, embeds, guidance),
    shape: latentShape(pixels, pixels, g.vaeScaleFactor, g.latentChannels).slice(1),
    labels,
    toImages: (z) => decodeLatents(vaeDecoder, z, g.scalingFactor),
  };
}
