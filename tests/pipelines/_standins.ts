/**
 * Deterministic stand-in models for the pipeline tests: tiny TypeScript implementations of the
 * model interfaces, each a formula written here, which record how they were called.
 *
 * @module
 */
import type {
  PromptTokenizer,
  TextEncoderModel,
  UNetModel,
  VaeDecoderModel,
  VaeEncoderModel,
} from "../../core/models/types.ts";
import { schedulerSampler } from "../../core/schedulers/scheduler_sampler.ts";
import type { Sampler, Scheduler } from "../../core/schedulers/types.ts";
import { Tensor } from "../../core/tensor/tensor.ts";
import { TorchGenerator } from "../../core/tensor/torch_generator.ts";

const f32 = Math.fround;

/** One recorded UNet call. */
export interface UNetCall {
  sample: Tensor;
  t: number;
  embeds?: Tensor;
}

/**
 * `eps[b, i] = 0.1 * x[b, i] + 0.001 * t * embeds[b, 0, 0] + 0.01 * (i % 7)` in float32: each
 * batch row depends on its own embeddings, so the unconditional and text halves differ.
 *
 * @example
 * ```ts
 * import { StandInUNet } from "./_standins.ts";
 * const unet = new StandInUNet();
 * ```
 */
export class StandInUNet implements UNetModel {
  /** Every call, in order. */
  readonly calls: UNetCall[] = [];
  /** Return NaN from the call with this index (for the non-finite tests). */
  nanAtCall = -1;

  /** The formula for one element. */
  static eps(x: number, t: number, e00: number, i: number): number {
    return f32(f32(f32(0.1 * x) + f32(f32(0.001 * t) * e00)) + f32(0.01 * (i % 7)));
  }

  /** Without `encoderHiddenStates` (an unconditional model) the embedding term is 0. */
  predict(sample: Tensor, timestep: number, encoderHiddenStates?: Tensor): Promise<Tensor> {
    this.calls.push({ sample, t: timestep, embeds: encoderHiddenStates });
    const [b] = sample.shape;
    const per = sample.size / b;
    const rowE = encoderHiddenStates ? encoderHiddenStates.size / encoderHiddenStates.shape[0] : 0;
    const out = new Float32Array(sample.size);
    for (let r = 0; r < b; r++) {
      const e00 = encoderHiddenStates ? encoderHiddenStates.data[r * rowE] : 0;
      for (let i = 0; i < per; i++) {
        out[r * per + i] = StandInUNet.eps(sample.data[r * per + i], timestep, e00, i);
      }
    }
    if (this.calls.length - 1 === this.nanAtCall) out[3] = NaN;
    return Promise.resolve(new Tensor(out, sample.shape));
  }
}

/**
 * Ids `[49406, char codes..., 49407 padding]` of length `modelMaxLength`.
 *
 * @example
 * ```ts
 * import { StandInTokenizer } from "./_standins.ts";
 * new StandInTokenizer(6).encode("ab"); // [49406, 97, 98, 49407, 49407, 49407]
 * ```
 */
export class StandInTokenizer implements PromptTokenizer {
  constructor(readonly modelMaxLength = 8) {}
  encode(prompt: string): number[] {
    const ids = [49406, ...[...prompt].map((c) => c.charCodeAt(0))].slice(0, this.modelMaxLength);
    while (ids.length < this.modelMaxLength) ids.push(49407);
    return ids;
  }
}

/**
 * `h[0, j, d] = ids[j] / 1000 + d / 100` in float32, width `dim`; records the id rows of each call.
 *
 * @example
 * ```ts
 * import { StandInTextEncoder } from "./_standins.ts";
 * const te = new StandInTextEncoder(3);
 * ```
 */
export class StandInTextEncoder implements TextEncoderModel {
  /** The id rows of every call. */
  readonly calls: number[][][] = [];
  constructor(readonly dim = 3) {}
  encode(inputIds: number[][]): Promise<Tensor> {
    this.calls.push(inputIds);
    const l = inputIds[0].length;
    const out = new Float32Array(inputIds.length * l * this.dim);
    inputIds.forEach((row, b) =>
      row.forEach((id, j) => {
        for (let d = 0; d < this.dim; d++) {
          out[(b * l + j) * this.dim + d] = f32(id / 1000 + d / 100);
        }
      })
    );
    return Promise.resolve(new Tensor(out, [inputIds.length, l, this.dim]));
  }
}

/**
 * Moments [1, 2C, H/f, W/f]: `mean[c, y, x] = 0.5 * image[c % 3, y*f, x*f] + 0.01 * c`,
 * `logvar[c, y, x] = -2 - 0.5 * c`.
 *
 * @example
 * ```ts
 * import { StandInVaeEncoder } from "./_standins.ts";
 * const vae = new StandInVaeEncoder(4, 2);
 * ```
 */
export class StandInVaeEncoder implements VaeEncoderModel {
  /** Number of calls. */
  calls = 0;
  constructor(readonly channels = 4, readonly factor = 2) {}
  encode(image: Tensor): Promise<Tensor> {
    this.calls++;
    const [, , h, w] = image.shape;
    const f = this.factor, c = this.channels;
    const lh = h / f, lw = w / f;
    const out = new Float32Array(2 * c * lh * lw);
    for (let k = 0; k < c; k++) {
      for (let y = 0; y < lh; y++) {
        for (let x = 0; x < lw; x++) {
          const px = image.data[((k % 3) * h + y * f) * w + x * f];
          out[(k * lh + y) * lw + x] = f32(f32(0.5 * px) + f32(0.01 * k));
          out[((c + k) * lh + y) * lw + x] = f32(-2 - 0.5 * k);
        }
      }
    }
    return Promise.resolve(new Tensor(out, [1, 2 * c, lh, lw]));
  }
}

/**
 * Image [1, 3, h*f, w*f]: `img[c, y, x] = z[c, y/f, x/f] * 0.25` (nearest upsampling of the
 * first three channels); records its inputs.
 *
 * @example
 * ```ts
 * import { StandInVaeDecoder } from "./_standins.ts";
 * const vae = new StandInVaeDecoder(2);
 * ```
 */
export class StandInVaeDecoder implements VaeDecoderModel {
  /** The latents of every call. */
  readonly inputs: Tensor[] = [];
  constructor(readonly factor = 2) {}
  decode(latents: Tensor): Promise<Tensor> {
    this.inputs.push(latents);
    const [, , lh, lw] = latents.shape;
    const f = this.factor, h = lh * f, w = lw * f;
    const out = new Float32Array(3 * h * w);
    for (let c = 0; c < 3; c++) {
      for (let y = 0; y < h; y++) {
        for (let x = 0; x < w; x++) {
          out[(c * h + y) * w + x] = f32(
            latents.data[(c * lh + Math.floor(y / f)) * lw + Math.floor(x / f)] * 0.25,
          );
        }
      }
    }
    return Promise.resolve(new Tensor(out, [1, 3, h, w]));
  }
}

/**
 * A pipeline's `sampler` and `generator` for a diffusers scheduler, as text2img drives it: one
 * generator draws the initial latents and every step's noise.
 */
export function samplerRun(
  scheduler: Scheduler,
  seed: number,
  eta?: number,
): { sampler: Sampler; generator: TorchGenerator } {
  const generator = new TorchGenerator(seed);
  return { sampler: schedulerSampler(scheduler, { eta, generator }), generator };
}
