/**
 * The labml.ai DDIM sampler (`labml_nn/diffusion/stable_diffusion/sampler/ddim.py`,
 * `DDIMSampler`): `uniform` or `quad` timestep discretisation, `ddim_eta`, noise `temperature`,
 * `repeat_noise` (one noise image for the whole batch), `skip_steps`, and its
 * `get_x_prev_and_pred_x0` update, float32 in the original's operation order over labml's
 * float32 `alpha_bar`. The original draws its noise from torch's global generator; here a
 * {@link TorchGenerator} plays that part.
 *
 * @module
 */
import { type Float32Math, ieeeMath } from "../numerics/f32_math.ts";
import { assertSameShape, Tensor } from "../tensor/tensor.ts";
import type { TorchGenerator } from "../tensor/torch_generator.ts";
import { f32 } from "../numerics/f32.ts";
import { addNoiseF32 } from "./add_noise.ts";
import { ddimPrevSample } from "./prediction.ts";
import { type DdimDiscretize, ddimSchedule, stepOf } from "./ldm_schedule.ts";
import type { Denoiser, Sampler, StepOutput } from "./types.ts";

/**
 * What a {@link LabmlDDIMSampler} step returns besides x_{t-1} and pred_x0.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { LabmlDDIMStepOutput } from "./labml_ddim.ts";
 * import { Tensor } from "../tensor/tensor.ts";
 * const out: LabmlDDIMStepOutput = { prevSample: Tensor.zeros([1]) };
 * assert.deepEqual(out.noise, undefined);
 * ```
 */
export interface LabmlDDIMStepOutput extends StepOutput {
  /** The noise the step added (eta > 0), already times the temperature. */
  noise?: Tensor;
}

/**
 * Options of {@link LabmlDDIMSampler}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { type LabmlDDIMOptions, LabmlDDIMSampler } from "./labml_ddim.ts";
 * import { ldmAlphasCumprod } from "./ldm_schedule.ts";
 * import { TorchGenerator } from "../tensor/torch_generator.ts";
 * const o: LabmlDDIMOptions = { discretize: "quad", eta: 0.5, temperature: 0.7, generator: new TorchGenerator(0) };
 * const s = new LabmlDDIMSampler(ldmAlphasCumprod("linear", 0.00085, 0.012, 1000), 4, o);
 * assert.deepEqual(s.options, { discretize: "quad", eta: 0.5, temperature: 0.7, repeatNoise: false, skipSteps: 0 });
 * assert.deepEqual(s.timesteps, [801, 356, 89, 1]);
 * ```
 */
export interface LabmlDDIMOptions {
  /** `ddim_discretize`: `"uniform"` (default) or `"quad"`. */
  discretize?: DdimDiscretize;
  /** `ddim_eta` (default 0: deterministic). */
  eta?: number;
  /** Noise multiplier (`temperature`, default 1). */
  temperature?: number;
  /** Draw one noise image of shape [1, ...] for the whole batch (`repeat_noise`). */
  repeatNoise?: boolean;
  /** Start at the `skipSteps`-th timestep from the end (`skip_steps`, default 0). */
  skipSteps?: number;
  /** Source of the step noise when `eta > 0` (torch's global generator in the original). */
  generator?: TorchGenerator;
  /** float32 sqrt for the steps and tables (default `ieeeMath`). */
  math?: Float32Math;
}

/**
 * labml's DDIMSampler as a {@link Sampler}, one `p_sample` per {@link LabmlDDIMSampler.step}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { LabmlDDIMSampler } from "./labml_ddim.ts";
 * import { ldmAlphasCumprod } from "./ldm_schedule.ts";
 * import { Tensor } from "../tensor/tensor.ts";
 * import { TorchGenerator } from "../tensor/torch_generator.ts";
 * const alphaBar = ldmAlphasCumprod("linear", 0.00085, 0.012, 1000);
 * const sampler = new LabmlDDIMSampler(alphaBar, 20, {
 *   discretize: "quad", eta: 0.5, generator: new TorchGenerator(1),
 * });
 * const model = (x: Tensor, t: number) =>
 *   Promise.resolve(new Tensor(x.data.map((v) => 0.1 * v * Math.cos(t / 300)), x.shape));
 * let x = new Tensor(new Float32Array(4).fill(1), [1, 1, 2, 2]);
 * for (let i = 0; i < sampler.timesteps.length; i++) x = (await sampler.step(model, x, i)).prevSample;
 * assert.deepEqual(x.shape, [1, 1, 2, 2]);
 * ```
 */
export class LabmlDDIMSampler implements Sampler {
  /** The model's float32 `alpha_bar`. */
  readonly alphaBar: Float32Array;
  /** The original samplers scale nothing: x_T is `torch.randn`. */
  readonly initNoiseSigma = 1;
  /** The DDIM timesteps, ascending (`self.time_steps`). */
  ddimTimesteps: readonly number[] = [];
  /** `alpha_bar` at the timesteps (`ddim_alpha`). */
  ddimAlpha: Float32Array = new Float32Array();
  /** `alpha_bar` at the previous timestep (`ddim_alpha_prev`; the first is `alpha_bar[0]`). */
  ddimAlphaPrev: Float32Array = new Float32Array();
  /** `ddim_sigma = eta * sqrt((1 - a_prev) / (1 - a) * (1 - a / a_prev))`, float32. */
  ddimSigma: Float32Array = new Float32Array();
  /** `(1 - ddim_alpha) ** 0.5`. */
  ddimSqrtOneMinusAlpha: Float32Array = new Float32Array();
  /** The options in force (defaults filled in). */
  readonly options: Readonly<Required<Omit<LabmlDDIMOptions, "generator" | "math">>>;
  /** Where float32 sqrt comes from (the reference machine's, or IEEE). */
  readonly math: Float32Math;
  /** Where the step noise comes from when eta > 0. */
  readonly generator?: TorchGenerator;
  #steps = NaN;
  #timesteps: readonly number[] = [];

  /**
   * Builds the sampler over `alphaBar` and makes its tables for `steps` steps.
   *
   * @param alphaBar the model's float32 `alpha_bar` (see `ldmAlphasCumprod`)
   * @param steps `n_steps`, the number of DDIM steps asked for
   * @param options discretisation, eta, temperature, repeat_noise, skip_steps, generator, math
   * @throws {RangeError} when a timestep falls outside the training range (an IndexError in the
   * original), `skipSteps` is out of range, or `eta` / `temperature` are not finite numbers.
   */
  constructor(alphaBar: Float32Array, steps: number, options: LabmlDDIMOptions = {}) {
    const who = "LabmlDDIMSampler";
    this.math = options.math ?? ieeeMath;
    this.options = Object.freeze({
      discretize: options.discretize ?? "uniform",
      eta: options.eta ?? 0,
      temperature: options.temperature ?? 1,
      repeatNoise: options.repeatNoise ?? false,
      skipSteps: options.skipSteps ?? 0,
    });
    for (
      const [name, v] of [["eta", this.options.eta], ["temperature", this.options.temperature]]
    ) {
      if (!Number.isFinite(v)) {
        throw new RangeError(`${who}: ${name} must be a finite number, got ${v}`);
      }
    }
    this.alphaBar = alphaBar;
    this.generator = options.generator;
    this.setTimesteps(steps);
  }

  /**
   * `DDIMSampler.__init__`'s tables for `steps` DDIM steps: the timesteps, `ddim_alpha`,
   * `ddim_alpha_prev`, `ddim_sigma` and `ddim_sqrt_one_minus_alpha` (kept when already made for `steps`).
   *
   * @throws {RangeError} when a timestep falls outside the training range or `skipSteps` does
   * not leave a step.
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { LabmlDDIMSampler } from "./labml_ddim.ts";
   * import { ldmAlphasCumprod } from "./ldm_schedule.ts";
   * const s = new LabmlDDIMSampler(ldmAlphasCumprod("linear", 0.00085, 0.012, 1000), 10);
   * s.setTimesteps(4);
   * assert.deepEqual(s.timesteps, [751, 501, 251, 1]);
   * ```
   */
  setTimesteps(steps: number): void {
    if (steps === this.#steps) return; // the tables of this count are already made
    const who = "LabmlDDIMSampler";
    const schedule = ddimSchedule(this.alphaBar, steps, this.options.discretize, who, this.math);
    const n = schedule.timesteps.length;
    const { skipSteps } = this.options;
    if (!Number.isSafeInteger(skipSteps) || skipSteps < 0 || skipSteps >= n) {
      throw new RangeError(
        `${who}: skipSteps must be an integer in [0, ${n - 1}], got ${skipSteps}`,
      );
    }
    this.ddimTimesteps = schedule.timesteps;
    this.ddimAlpha = schedule.alphas;
    this.ddimAlphaPrev = schedule.alphasPrev;
    this.ddimSqrtOneMinusAlpha = schedule.sqrtOneMinusAlphas;
    const e = f32(this.options.eta);
    this.ddimSigma = this.ddimAlpha.map((a, i) => {
      const ap = this.ddimAlphaPrev[i];
      const ratio = f32(f32(1 - ap) / f32(1 - a));
      return e * this.math.sqrt(f32(ratio * f32(1 - f32(a / ap))));
    });
    this.#steps = steps;
    this.#timesteps = Object.freeze([...schedule.timesteps].reverse().slice(skipSteps));
  }

  /**
   * Forward diffusion `sqrt(alpha_bar_t) * x0 + sqrt(1 - alpha_bar_t) * noise` in float32 (labml's
   * `q_sample`).
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { LabmlDDIMSampler } from "./labml_ddim.ts";
   * import { ldmAlphasCumprod } from "./ldm_schedule.ts";
   * import { Tensor } from "../tensor/tensor.ts";
   * const s = new LabmlDDIMSampler(ldmAlphasCumprod("linear", 0.00085, 0.012, 1000), 10);
   * const x0 = new Tensor(new Float32Array([1]), [1, 1]);
   * assert.deepEqual(s.addNoise(x0, Tensor.zeros([1, 1]), 0).data[0], Math.fround(Math.sqrt(s.alphaBar[0])));
   * ```
   */
  addNoise(original: Tensor, noise: Tensor, t: number): Tensor {
    return addNoiseF32(this.alphaBar, original, noise, t, this.math);
  }

  /** The timesteps in the order they are visited: `np.flip(time_steps)[skip_steps:]`. */
  get timesteps(): readonly number[] {
    return this.#timesteps;
  }

  /**
   * labml's `get_x_prev_and_pred_x0(e_t, index, x)`: `pred_x0 = (x - sqrt(1 - a) e) / a ** 0.5`,
   * `x_prev = a_prev ** 0.5 * pred_x0 + sqrt(1 - a_prev - sigma ** 2) e + sigma * noise`, where
   * `noise` (already times the temperature) is needed only when `sigma != 0`.
   *
   * @throws {RangeError} when `sigma != 0` and `noise` is missing, or on shape mismatches.
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { LabmlDDIMSampler } from "./labml_ddim.ts";
   * import { ldmAlphasCumprod } from "./ldm_schedule.ts";
   * import { Tensor } from "../tensor/tensor.ts";
   * const s = new LabmlDDIMSampler(ldmAlphasCumprod("linear", 0.00085, 0.012, 1000), 10);
   * const x = new Tensor(new Float32Array([1, -1]), [1, 2]);
   * // eps = 0: pred_x0 = x / sqrt(a), x_prev = sqrt(a_prev) * pred_x0
   * const { xPrev, predX0 } = s.xPrevAndPredX0(x, Tensor.zeros([1, 2]), 9);
   * assert.equal(predX0.data[0], Math.fround(1 / Math.fround(Math.sqrt(s.ddimAlpha[9]))));
   * assert.equal(xPrev.data[1], -xPrev.data[0]);
   * const noisy = new LabmlDDIMSampler(s.alphaBar, 10, { eta: 1 });
   * assert.throws(() => noisy.xPrevAndPredX0(x, x, 9), /the step needs noise/);
   * ```
   */
  xPrevAndPredX0(
    x: Tensor,
    eps: Tensor,
    index: number,
    noise?: Tensor,
  ): { xPrev: Tensor; predX0: Tensor } {
    const who = "LabmlDDIMSampler";
    assertSameShape(eps, x, "e_t", "x", who);
    const alpha = this.ddimAlpha[index];
    const alphaPrev = this.ddimAlphaPrev[index];
    const sigma = this.ddimSigma[index];
    const sq1m = this.ddimSqrtOneMinusAlpha[index];
    const sqrtAlpha = this.math.sqrt(alpha);
    const dirCoeff = this.math.sqrt(f32(f32(1 - alphaPrev) - f32(sigma * sigma)));
    const e = eps.data;
    const predX0 = x.data.map((v, i) => f32(v - f32(sq1m * e[i])) / sqrtAlpha);
    let xPrev = ddimPrevSample(predX0, e, this.math.sqrt(alphaPrev), dirCoeff);
    if (sigma !== 0) {
      if (noise === undefined) {
        throw new RangeError(`${who}: sigma is ${sigma}: the step needs noise`);
      }
      const per = noise.size;
      if (per === 0 || x.size % per !== 0 || (noise.size !== x.size && noise.shape[0] !== 1)) {
        throw new RangeError(
          `${who}: noise of shape [${noise.shape.join(", ")}] does not broadcast to ` +
            `[${x.shape.join(", ")}]`,
        );
      }
      const nz = noise.data;
      xPrev = xPrev.map((v, i) => v + f32(sigma * nz[i % per]));
    }
    return { xPrev: new Tensor(xPrev, x.shape), predX0: new Tensor(predX0, x.shape) };
  }

  /**
   * Step `i`: one `p_sample`, the model at (x, t), then {@link LabmlDDIMSampler.xPrevAndPredX0}
   * with noise drawn from the generator when `sigma != 0` (shape [1, ...] with `repeatNoise`)
   * and multiplied by the temperature.
   *
   * @throws {RangeError} when `i` is not a step of the schedule, the model returns a wrong
   * shape, or noise is needed and no generator was given.
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { LabmlDDIMSampler } from "./labml_ddim.ts";
   * import { ldmAlphasCumprod } from "./ldm_schedule.ts";
   * import { Tensor } from "../tensor/tensor.ts";
   * const s = new LabmlDDIMSampler(ldmAlphasCumprod("linear", 0.00085, 0.012, 1000), 10);
   * const seen: number[] = [];
   * await s.step((x, t) => (seen.push(t), Promise.resolve(x)), new Tensor(new Float32Array([1]), [1, 1]), 0);
   * assert.deepEqual(seen, [901]);
   * ```
   */
  async step(denoise: Denoiser, x: Tensor, i: number): Promise<LabmlDDIMStepOutput> {
    const who = "LabmlDDIMSampler.step";
    const { index, t } = stepOf(this.timesteps, i, who);
    const eps = await denoise(x, t);
    assertSameShape(eps, x, "model output", "x", who);
    let noise: Tensor | undefined;
    if (this.ddimSigma[index] !== 0) {
      if (this.generator === undefined) {
        throw new RangeError(`${who}: eta > 0 draws noise: pass options.generator`);
      }
      const shape = this.options.repeatNoise ? [1, ...x.shape.slice(1)] : x.shape;
      const drawn = this.generator.randn(shape);
      const temp = f32(this.options.temperature);
      noise = new Tensor(drawn.data.map((v) => v * temp), shape);
    }
    const { xPrev, predX0 } = this.xPrevAndPredX0(x, eps, index, noise);
    const out: LabmlDDIMStepOutput = { prevSample: xPrev, predOriginalSample: predX0 };
    if (noise) out.noise = noise;
    return out;
  }
}
