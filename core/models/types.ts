/**
 * The model interfaces the pipelines call. ONNX-backed classes in core/models implement them;
 * tests may implement them with deterministic stand-ins. Shapes follow diffusers (NCHW).
 *
 * @module
 */
import type { Tensor } from "../tensor/tensor.ts";

/**
 * A denoising UNet: `unet(sample, timestep, encoder_hidden_states).sample` in diffusers.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Tensor } from "../tensor/tensor.ts";
 * import type { UNetModel } from "./types.ts";
 * // A stand-in UNet (predicts zero noise) is enough for a sampler test.
 * const zero: UNetModel = { predict: (x: Tensor) => Promise.resolve(Tensor.zeros(x.shape)) };
 * const eps = await zero.predict(Tensor.zeros([1, 4, 2, 2]), 981, Tensor.zeros([1, 77, 8]));
 * assert.deepEqual(eps.shape, [1, 4, 2, 2]);
 * ```
 */
export interface UNetModel {
  /** Predicts the model output (eps, x0 or v) for a batch `sample` [B,C,H,W] at timestep `t`; `encoderHiddenStates` is absent for unconditional (pixel-space, class-free) models. */
  predict(sample: Tensor, timestep: number, encoderHiddenStates?: Tensor): Promise<Tensor>;
}

/**
 * A CLIP text encoder: token ids [B,L] in, `last_hidden_state` [B,L,D] out.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Tensor } from "../tensor/tensor.ts";
 * import type { TextEncoderModel } from "./types.ts";
 * const te: TextEncoderModel = { encode: (ids) => Promise.resolve(Tensor.zeros([ids.length, 77, 8])) };
 * assert.deepEqual((await te.encode([[49406, 49407]])).shape, [1, 77, 8]);
 * ```
 */
export interface TextEncoderModel {
  /** Encodes a batch of token-id rows (each already padded to the model's length). */
  encode(inputIds: number[][]): Promise<Tensor>;
}

/**
 * A VAE encoder: an image [B,3,H,W] in [-1,1] to the latent distribution's parameters
 * [B,2*C,h,w] (mean, then log-variance, as diffusers' `DiagonalGaussianDistribution`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Tensor } from "../tensor/tensor.ts";
 * import type { VaeEncoderModel } from "./types.ts";
 * const vae: VaeEncoderModel = {
 *   encode: (img) => Promise.resolve(Tensor.zeros([1, 8, img.shape[2] / 8, img.shape[3] / 8])),
 * };
 * assert.deepEqual((await vae.encode(Tensor.zeros([1, 3, 64, 64]))).shape, [1, 8, 8, 8]);
 * ```
 */
export interface VaeEncoderModel {
  /** Returns the latent distribution's parameters (mean and logvar concatenated on channels). */
  encode(image: Tensor): Promise<Tensor>;
}

/**
 * A VAE decoder: latents [B,C,h,w] (already divided by the scaling factor) to an image [B,3,H,W]
 * in about [-1,1].
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Tensor } from "../tensor/tensor.ts";
 * import type { VaeDecoderModel } from "./types.ts";
 * const vae: VaeDecoderModel = {
 *   decode: (z) => Promise.resolve(Tensor.zeros([1, 3, z.shape[2] * 8, z.shape[3] * 8])),
 * };
 * assert.deepEqual((await vae.decode(Tensor.zeros([1, 4, 8, 8]))).shape, [1, 3, 64, 64]);
 * ```
 */
export interface VaeDecoderModel {
  /** Decodes latents to an image. */
  decode(latents: Tensor): Promise<Tensor>;
}

/**
 * A text tokenizer producing fixed-length id rows, as diffusers calls CLIPTokenizer with
 * `padding="max_length", max_length=model_max_length, truncation=True`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ClipTokenizer } from "./clip_tokenizer.ts";
 * import type { PromptTokenizer } from "./types.ts";
 * const tok: PromptTokenizer = await ClipTokenizer.fromFolder("fixtures/models/tiny-sd/tokenizer");
 * assert.equal(tok.encode("a photo of a cat").length, 77);
 * ```
 */
export interface PromptTokenizer {
  /** The fixed row length (77 for CLIP). */
  readonly modelMaxLength: number;
  /** Token ids padded/truncated to `modelMaxLength`. */
  encode(prompt: string): number[];
}
