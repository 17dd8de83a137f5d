/**
 * The CompVis/LDM PLMS sampler (`ldm/models/diffusion/plms.py`, `PLMSSampler`, as shipped with
 * CompVis/stable-diffusion): DDIM timesteps (`make_ddim_timesteps`, eta 0), a first step by
 * pseudo improved Euler (two model calls), then pseudo linear multistep (Adams–Bashforth of
 * orders 2, 3 and 4 over the past noise predictions), each update the deterministic DDIM
 * formula `get_x_prev_and_pred_x0`. float32 in the original's operation order, with the
 * float32 `alphas_cumprod` the LDM model registers.
 *
 * @module
 */
import { type Float32Math, ieeeMath } from "../numerics/f32_math.ts";
import { assertSameShape, Tensor } from "../tensor/tensor.ts";
import { f32 } from "../numerics/f32.ts";
import { addNoiseF32 } from "./add_noise.ts";
import { ddimPrevSample } from "./prediction.ts";
import { type DdimDiscretize, ddimSchedule, stepOf } from "./ldm_schedule.ts";
import type { Denoiser, Sampler, StepOutput } from "./types.ts";

/**
 * What a {@link CompVisPLMSSampler} step returns besides x_{t-1} and pred_x0.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { PLMSStepOutput } from "./compvis_plms.ts";
 * import { Tensor } from "../tensor/tensor.ts";
 * const out: PLMSStepOutput = { prevSample: Tensor.zeros([1]), epsUsed: Tensor.zeros([1]) };
 * assert.deepEqual(out.epsUsed.shape, [1]);
 * ```
 */
export interface PLMSStepOutput extends StepOutput {
  /** The noise prediction the update used (the improved Euler or Adams–Bashforth combination). */
  epsUsed: Tensor;
}

/**
 * Options of {@link CompVisPLMSSampler}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { type CompVisPLMSOptions, CompVisPLMSSampler } from "./compvis_plms.ts";
 * import { ldmAlphasCumprod } from "./ldm_schedule.ts";
 * const o: CompVisPLMSOptions = { discretize: "quad" };
 * const s = new CompVisPLMSSampler(ldmAlphasCumprod("linear", 0.00085, 0.012, 1000), 4, o);
 * assert.deepEqual(s.timesteps, [801, 356, 89, 1]);
 * ```
 */
export interface CompVisPLMSOptions {
  /** `ddim_discretize` of `make_schedule` (PLMSSampler.sample uses `"uniform"`). */
  discretize?: DdimDiscretize;
  /** float32 sqrt for the steps and tables (default `ieeeMath`). */
  math?: Float32Math;
}

/**
 * PLMSSampler as a {@link Sampler}: each {@link CompVisPLMSSampler.step} is one iteration of
 * `plms_sampling`'s loop, `p_sample_plms` at the step's timestep, then the `old_eps` update.
 * The one loop drives it with the guided model as the denoiser; `reset` empties `old_eps`
 * (`plms_sampling` starts with an empty list), so a partial schedule (img2img) starts with the
 * improved Euler step too.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { CompVisPLMSSampler } from "./compvis_plms.ts";
 * import { ldmAlphasCumprod } from "./ldm_schedule.ts";
 * import { Tensor } from "../tensor/tensor.ts";
 * const sampler = new CompVisPLMSSampler(ldmAlphasCumprod("linear", 0.00085, 0.012, 1000), 10);
 * assert.deepEqual(sampler.timesteps.slice(0, 3), [901, 801, 701]);
 * const calls: number[] = [];
 * const denoise = (x: Tensor, t: number) => {
 *   calls.push(t);
 *   return Promise.resolve(new Tensor(x.data.map((v) => 0.1 * v), x.shape));
 * };
 * await sampler.step(denoise, new Tensor(new Float32Array(4).fill(1), [1, 1, 2, 2]), 0);
 * assert.deepEqual(calls, [901, 801]); // the first step calls the model twice
 * ```
 */
export class CompVisPLMSSampler implements Sampler {
  /** The model's float32 `alphas_cumprod`. */
  readonly alphasCumprod: Float32Array;
  /** `ddim_discretize` of `make_schedule`. */
  readonly discretize: DdimDiscretize;
  /** Where float32 sqrt comes from (the reference machine's, or IEEE). */
  readonly math: Float32Math;
  /** The original samplers scale nothing: x_T is `torch.randn`. */
  readonly initNoiseSigma = 1;
  /** The DDIM timesteps, ascending, as `self.ddim_timesteps`. */
  ddimTimesteps: readonly number[] = [];
  /** `alphas_cumprod` at the DDIM timesteps (`ddim_alphas`, float32). */
  ddimAlphas: Float32Array = new Float32Array();
  /** `alphas_cumprod` of the previous DDIM timestep (`ddim_alphas_prev`; the first is `alphas_cumprod[0]`). */
  ddimAlphasPrev: Float32Array = new Float32Array();
  /** `np.sqrt(1. - ddim_alphas)` (float32). */
  ddimSqrtOneMinusAlphas: Float32Array = new Float32Array();
  #oldEps: Float32Array[] = [];
  #steps = NaN;
  #timesteps: readonly number[] = [];

  /**
   * Builds the sampler over `alphasCumprod` and makes its schedule for `steps` steps.
   *
   * @param alphasCumprod the model's float32 `alphas_cumprod` (see `ldmAlphasCumprod`)
   * @param steps `S`, the number of DDIM steps asked for (see {@link CompVisPLMSSampler.setTimesteps})
   * @param options `discretize` (default `"uniform"`), `math` (default IEEE)
   * @throws {RangeError} when a DDIM timestep falls outside the training range (the original
   * fails there with an IndexError, e.g. S = 3 for 1000 training steps gives timestep 1000).
   */
  constructor(alphasCumprod: Float32Array, steps: number, options: CompVisPLMSOptions = {}) {
    this.alphasCumprod = alphasCumprod;
    this.discretize = options.discretize ?? "uniform";
    this.math = options.math ?? ieeeMath;
    this.setTimesteps(steps);
  }

  /**
   * `make_schedule(S)`: `make_ddim_timesteps`, then `make_ddim_sampling_parameters` with eta 0
   * (the sigmas are all 0), unless they are already made for `steps`. Empties `old_eps`.
   *
   * @throws {RangeError} as the constructor.
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { CompVisPLMSSampler } from "./compvis_plms.ts";
   * import { ldmAlphasCumprod } from "./ldm_schedule.ts";
   * const s = new CompVisPLMSSampler(ldmAlphasCumprod("linear", 0.00085, 0.012, 1000), 10);
   * s.setTimesteps(4);
   * assert.deepEqual(s.timesteps, [751, 501, 251, 1]);
   * ```
   */
  setTimesteps(steps: number): void {
    if (steps === this.#steps) return this.reset(); // the tables of this count are already made
    const schedule = ddimSchedule(
      this.alphasCumprod,
      steps,
      this.discretize,
      "CompVisPLMSSampler",
      this.math,
    );
    this.ddimTimesteps = schedule.timesteps;
    this.ddimAlphas = schedule.alphas;
    this.ddimAlphasPrev = schedule.alphasPrev;
    this.ddimSqrtOneMinusAlphas = schedule.sqrtOneMinusAlphas;
    this.#steps = steps;
    this.#timesteps = Object.freeze([...schedule.timesteps].reverse());
    this.reset();
  }

  /** The timesteps in the order they are visited (`np.flip(ddim_timesteps)`). */
  get timesteps(): readonly number[] {
    return this.#timesteps;
  }

  /**
   * Forgets the past noise predictions (`old_eps = []`): the next step is a first step.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { CompVisPLMSSampler } from "./compvis_plms.ts";
   * import { ldmAlphasCumprod } from "./ldm_schedule.ts";
   * import { Tensor } from "../tensor/tensor.ts";
   * const s = new CompVisPLMSSampler(ldmAlphasCumprod("linear", 0.00085, 0.012, 1000), 10);
   * const calls: number[] = [];
   * const denoise = (x: Tensor, t: number) => (calls.push(t), Promise.resolve(x.clone()));
   * const x = new Tensor(new Float32Array([1]), [1, 1]);
   * await s.step(denoise, x, 0); // a first step: two model calls
   * s.reset();
   * await s.step(denoise, x, 1); // a first step again after reset
   * assert.deepEqual(calls, [901, 801, 801, 701]);
   * ```
   */
  reset(): void {
    this.#oldEps = [];
  }

  /**
   * Forward diffusion `sqrt(a_t) * x0 + sqrt(1 - a_t) * noise` in float32 over the float32
   * alphas (diffusers' `add_noise` order). LDM's `q_sample` takes its coefficients from float64
   * square roots instead, which can differ by an ulp; PLMSSampler itself has no img2img path
   * (CompVis' img2img script drives only its DDIM sampler), so there is no original to match.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { CompVisPLMSSampler } from "./compvis_plms.ts";
   * import { ldmAlphasCumprod } from "./ldm_schedule.ts";
   * import { Tensor } from "../tensor/tensor.ts";
   * const s = new CompVisPLMSSampler(ldmAlphasCumprod("linear", 0.00085, 0.012, 1000), 10);
   * const noisy = s.addNoise(Tensor.zeros([1, 2]), new Tensor(new Float32Array([1, 1]), [1, 2]), 999);
   * assert.deepEqual(noisy.data[0], Math.fround(Math.sqrt(Math.fround(1 - s.alphasCumprod[999]))));
   * ```
   */
  addNoise(original: Tensor, noise: Tensor, t: number): Tensor {
    return addNoiseF32(this.alphasCumprod, original, noise, t, this.math);
  }

  /**
   * `get_x_prev_and_pred_x0` with eta 0: `pred_x0 = (x - sqrt(1 - a_t) * e) / sqrt(a_t)` and
   * `x_prev = sqrt(a_prev) * pred_x0 + sqrt(1 - a_prev) * e`, float32, at DDIM index `index`.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { CompVisPLMSSampler } from "./compvis_plms.ts";
   * import { ldmAlphasCumprod } from "./ldm_schedule.ts";
   * import { Tensor } from "../tensor/tensor.ts";
   * const s = new CompVisPLMSSampler(ldmAlphasCumprod("linear", 0.00085, 0.012, 1000), 10);
   * const x = new Tensor(new Float32Array([1, -1]), [1, 2]);
   * assert.deepEqual(s.xPrevAndPredX0(x, Tensor.zeros([1, 2]), 9).predX0.data[0], Math.fround(1 / Math.fround(Math.sqrt(s.ddimAlphas[9]))));
   * ```
   */
  xPrevAndPredX0(x: Tensor, eps: Tensor, index: number): { xPrev: Tensor; predX0: Tensor } {
    assertSameShape(eps, x, "e_t", "x", "CompVisPLMSSampler");
    const sqrtAt = this.math.sqrt(this.ddimAlphas[index]);
    const aPrev = this.ddimAlphasPrev[index];
    const sq1m = this.ddimSqrtOneMinusAlphas[index];
    const dirCoeff = this.math.sqrt(f32(1 - aPrev)); // (1. - a_prev - sigma_t**2).sqrt(), sigma_t = 0
    const e = eps.data;
    const predX0 = x.data.map((v, i) => f32(v - f32(sq1m * e[i])) / sqrtAt);
    // x_prev = a_prev.sqrt() * pred_x0 + dir_xt + noise, with noise = 0 * randn
    const xPrev = ddimPrevSample(predX0, e, this.math.sqrt(aPrev), dirCoeff);
    return { xPrev: new Tensor(xPrev, x.shape), predX0: new Tensor(predX0, x.shape) };
  }

  /**
   * Step `i` of `plms_sampling`: `p_sample_plms(x, t, index)` — the model at (x, t); with no
   * past predictions a pseudo improved Euler predictor and a second model call at the next
   * timestep, averaged; later the Adams–Bashforth combination of this and the last 1 to 3
   * predictions — then `old_eps` keeps the last three model outputs.
   *
   * @throws {RangeError} when `i` is not a step of the schedule, or the model returns a wrong
   * shape.
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { CompVisPLMSSampler } from "./compvis_plms.ts";
   * import { ldmAlphasCumprod } from "./ldm_schedule.ts";
   * import { Tensor } from "../tensor/tensor.ts";
   * const s = new CompVisPLMSSampler(ldmAlphasCumprod("linear", 0.00085, 0.012, 1000), 5);
   * const x = new Tensor(new Float32Array([1]), [1, 1]);
   * const out = await s.step((x) => Promise.resolve(x), x, 0);
   * assert.deepEqual(out.epsUsed.shape, [1, 1]);
   * ```
   */
  async step(denoise: Denoiser, x: Tensor, i: number): Promise<PLMSStepOutput> {
    const timeRange = this.timesteps;
    const { index, t } = stepOf(timeRange, i, "CompVisPLMSSampler.step");
    const tNext = timeRange[Math.min(i + 1, timeRange.length - 1)];
    const eps = await denoise(x, t);
    assertSameShape(eps, x, "model output", "x", "CompVisPLMSSampler.step");
    const e = eps.data;
    const old = this.#oldEps;
    let epsPrime: Float32Array;
    if (old.length === 0) {
      // Pseudo Improved Euler (2nd order)
      const predictor = this.xPrevAndPredX0(x, eps, index).xPrev;
      const epsNext = await denoise(predictor, tNext);
      assertSameShape(epsNext, x, "model output", "x", "CompVisPLMSSampler.step");
      epsPrime = e.map((v, j) => f32(v + epsNext.data[j]) / 2);
    } else if (old.length === 1) {
      // 2nd order Pseudo Linear Multistep (Adams-Bashforth)
      const o1 = old[0];
      epsPrime = e.map((v, j) => f32(f32(3 * v) - o1[j]) / 2);
    } else if (old.length === 2) {
      const [o2, o1] = old;
      epsPrime = e.map((v, j) => f32(f32(f32(23 * v) - f32(16 * o1[j])) + f32(5 * o2[j])) / 12);
    } else {
      const [o3, o2, o1] = old.slice(-3);
      epsPrime = e.map((v, j) =>
        f32(f32(f32(f32(55 * v) - f32(59 * o1[j])) + f32(37 * o2[j])) - f32(9 * o3[j])) / 24
      );
    }
    const epsUsed = new Tensor(epsPrime, x.shape);
    const { xPrev, predX0 } = this.xPrevAndPredX0(x, epsUsed, index);
    old.push(e.slice());
    if (old.length >= 4) old.shift();
    return { prevSample: xPrev, predOriginalSample: predX0, epsUsed };
  }
}
