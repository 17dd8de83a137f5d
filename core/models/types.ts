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
 * import type { UNetModel } from "./types.ts";
 * async function eps(unet: UNetModel, x: import("../tensor/tensor.ts").Tensor, t: number, ctx: import("../tensor/tensor.ts").Tensor) {
 *   return await unet.predict(x, t, ctx);
 * }
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
 * import type { TextEncoderModel } from "./types.ts";
 * async function embed(te: TextEncoderModel, ids: number[][]) { return await te.encode(ids); }
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
 * import type { VaeEncoderModel } from "./types.ts";
 * async function moments(vae: VaeEncoderModel, img: import("../tensor/tensor.ts").Tensor) { return await vae.encode(img); }
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
 * import type { VaeDecoderModel } from "./types.ts";
 * async function image(vae: VaeDecoderModel, z: import("../tensor/tensor.ts").Tensor) { return await vae.decode(z); }
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
 * import type { PromptTokenizer } from "./types.ts";
 * function ids(tok: PromptTokenizer) { return tok.encode("a photo of a cat"); }
 * ```
 */
export interface PromptTokenizer {
  /** The fixed row length (77 for CLIP). */
  readonly modelMaxLength: number;
  /** Token ids padded/truncated to `modelMaxLength`. */
  encode(prompt: string): number[];
}
