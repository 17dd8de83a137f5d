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
import { Tensor } from "../tensor/tensor.ts";
import { assertSameShape, f32, sqrtF32 } from "./common.ts";
import {
  type DdimDiscretize,
  ddimTimesteps,
  type NoiseModel,
  runSampler,
  type SamplerStep,
  type StepSampler,
} from "./sampler.ts";

/**
 * Options of {@link CompVisPLMSSampler}.
 *
 * @example
 * ```ts
 * import type { CompVisPLMSOptions } from "./compvis_plms.ts";
 * const o: CompVisPLMSOptions = { discretize: "uniform" };
 * ```
 */
export interface CompVisPLMSOptions {
  /** `ddim_discretize` of `make_schedule` (PLMSSampler.sample uses `"uniform"`). */
  discretize?: DdimDiscretize;
}

/**
 * PLMSSampler's step-by-step sampler. Each {@link CompVisPLMSSampler.step} is one iteration of
 * `plms_sampling`'s loop: `p_sample_plms` at the next timestep, then the `old_eps` update.
 *
 * @example
 * ```ts
 * import { CompVisPLMSSampler } from "./compvis_plms.ts";
 * import { ldmAlphasCumprod, runSampler } from "./sampler.ts";
 * import { Tensor } from "../tensor/tensor.ts";
 * const sampler = new CompVisPLMSSampler(ldmAlphasCumprod("linear", 0.00085, 0.012, 1000), 10);
 * sampler.timesteps; // [901, 801, ..., 1]
 * const model = (x: Tensor, t: number) =>
 *   Promise.resolve(new Tensor(x.data.map((v) => 0.1 * v * Math.cos(t / 300)), x.shape));
 * const out = await runSampler(sampler, model, new Tensor(new Float32Array(4).fill(1), [1, 1, 2, 2]));
 * ```
 */
export class CompVisPLMSSampler implements StepSampler {
  /** The DDIM timesteps, ascending, as `self.ddim_timesteps`. */
  readonly ddimTimesteps: readonly number[];
  /** `alphas_cumprod` at the DDIM timesteps (`ddim_alphas`, float32). */
  readonly ddimAlphas: Float32Array;
  /** `alphas_cumprod` of the previous DDIM timestep (`ddim_alphas_prev`; the first is `alphas_cumprod[0]`). */
  readonly ddimAlphasPrev: Float32Array;
  /** `np.sqrt(1. - ddim_alphas)` (float32). */
  readonly ddimSqrtOneMinusAlphas: Float32Array;
  #oldEps: Float32Array[] = [];
  #done = 0;

  /**
   * @param alphasCumprod the model's float32 `alphas_cumprod` (see `ldmAlphasCumprod`)
   * @param steps `S`, the number of DDIM steps asked for
   * @param options `discretize` (default `"uniform"`)
   * @throws {RangeError} when a DDIM timestep falls outside the training range (the original
   * fails there with an IndexError, e.g. S = 3 for 1000 training steps gives timestep 1000).
   */
  constructor(alphasCumprod: Float32Array, steps: number, options: CompVisPLMSOptions = {}) {
    const n = alphasCumprod.length;
    const ts = ddimTimesteps(options.discretize ?? "uniform", steps, n);
    const bad = ts.find((t) => t >= n);
    if (bad !== undefined) {
      throw new RangeError(
        `CompVisPLMSSampler: ${steps} steps give DDIM timestep ${bad}, outside the ${n} ` +
          `training timesteps (make_ddim_timesteps adds 1 to range(0, ${n}, ${
            Math.floor(n / steps)
          }))`,
      );
    }
    this.ddimTimesteps = Object.freeze(ts);
    // make_ddim_sampling_parameters with eta = 0 (sigmas are all 0)
    this.ddimAlphas = Float32Array.from(ts, (t) => alphasCumprod[t]);
    this.ddimAlphasPrev = Float32Array.from(ts, (_, i) => alphasCumprod[i === 0 ? 0 : ts[i - 1]]);
    this.ddimSqrtOneMinusAlphas = this.ddimAlphas.map((a) => sqrtF32(f32(1 - a)));
  }

  /** The timesteps in the order they are visited (`np.flip(ddim_timesteps)`). */
  get timesteps(): readonly number[] {
    return [...this.ddimTimesteps].reverse();
  }

  /** Number of steps taken. */
  get stepsDone(): number {
    return this.#done;
  }

  /**
   * Starts over (empties `old_eps`).
   *
   * @example
   * ```ts
   * import { CompVisPLMSSampler } from "./compvis_plms.ts";
   * import { ldmAlphasCumprod } from "./sampler.ts";
   * const s = new CompVisPLMSSampler(ldmAlphasCumprod("linear", 0.00085, 0.012, 1000), 10);
   * s.reset();
   * ```
   */
  reset(): void {
    this.#oldEps = [];
    this.#done = 0;
  }

  /**
   * `get_x_prev_and_pred_x0` with eta 0: `pred_x0 = (x - sqrt(1 - a_t) * e) / sqrt(a_t)` and
   * `x_prev = sqrt(a_prev) * pred_x0 + sqrt(1 - a_prev) * e`, float32, at DDIM index `index`.
   *
   * @example
   * ```ts
   * import { CompVisPLMSSampler } from "./compvis_plms.ts";
   * import { ldmAlphasCumprod } from "./sampler.ts";
   * import { Tensor } from "../tensor/tensor.ts";
   * const s = new CompVisPLMSSampler(ldmAlphasCumprod("linear", 0.00085, 0.012, 1000), 10);
   * const x = new Tensor(new Float32Array([1, -1]), [1, 2]);
   * s.xPrevAndPredX0(x, x, 9).xPrev;
   * ```
   */
  xPrevAndPredX0(x: Tensor, eps: Tensor, index: number): { xPrev: Tensor; predX0: Tensor } {
    assertSameShape(eps, x, "e_t", "x", "CompVisPLMSSampler");
    const sqrtAt = sqrtF32(this.ddimAlphas[index]);
    const aPrev = this.ddimAlphasPrev[index];
    const sq1m = this.ddimSqrtOneMinusAlphas[index];
    const dirCoeff = sqrtF32(f32(1 - aPrev)); // (1. - a_prev - sigma_t**2).sqrt(), sigma_t = 0
    const sqrtAPrev = sqrtF32(aPrev);
    const e = eps.data;
    const predX0 = x.data.map((v, i) => f32(v - f32(sq1m * e[i])) / sqrtAt);
    // x_prev = a_prev.sqrt() * pred_x0 + dir_xt + noise, with noise = 0 * randn
    const xPrev = predX0.map((p, i) => f32(sqrtAPrev * p) + f32(dirCoeff * e[i]));
    return { xPrev: new Tensor(xPrev, x.shape), predX0: new Tensor(predX0, x.shape) };
  }

  /**
   * One iteration of `plms_sampling`: `p_sample_plms(x, t, index)` — the model at (x, t); on
   * the first step a pseudo improved Euler predictor and a second model call at the next
   * timestep, averaged; later the Adams–Bashforth combination of this and the last 1 to 3
   * predictions — then `old_eps` keeps the last three model outputs.
   *
   * @throws {RangeError} when every step has been taken, or the model returns a wrong shape.
   * @example
   * ```ts
   * import { CompVisPLMSSampler } from "./compvis_plms.ts";
   * import { ldmAlphasCumprod } from "./sampler.ts";
   * import { Tensor } from "../tensor/tensor.ts";
   * const s = new CompVisPLMSSampler(ldmAlphasCumprod("linear", 0.00085, 0.012, 1000), 5);
   * const rec = await s.step((x) => Promise.resolve(x), new Tensor(new Float32Array([1]), [1, 1]));
   * rec.extraCalls.length; // 1: the improved Euler start calls the model twice
   * ```
   */
  async step(model: NoiseModel, x: Tensor): Promise<SamplerStep> {
    const timeRange = this.timesteps;
    const i = this.#done;
    if (i >= timeRange.length) {
      throw new RangeError(
        `CompVisPLMSSampler.step: all ${timeRange.length} steps are done; call reset() to start over`,
      );
    }
    const index = timeRange.length - i - 1;
    const t = timeRange[i];
    const tNext = timeRange[Math.min(i + 1, timeRange.length - 1)];
    const eps = await model(x, t);
    assertSameShape(eps, x, "model output", "x", "CompVisPLMSSampler.step");
    const e = eps.data;
    const old = this.#oldEps;
    const extraCalls: SamplerStep["extraCalls"] = [];
    let epsPrime: Float32Array;
    if (old.length === 0) {
      // Pseudo Improved Euler (2nd order)
      const predictor = this.xPrevAndPredX0(x, eps, index).xPrev;
      const epsNext = await model(predictor, tNext);
      assertSameShape(epsNext, x, "model output", "x", "CompVisPLMSSampler.step");
      extraCalls.push({ x: predictor, t: tNext, eps: epsNext });
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
    this.#done = i + 1;
    return { index: i, t, x, eps, epsUsed, predX0, xPrev, extraCalls };
  }

  /**
   * The whole loop (the original's `sample`): from the current step to the end, starting from
   * `x` (x_T, or the sample of the first non-skipped step); `onStep` sees every step's record.
   *
   * @example
   * ```ts
   * import { CompVisPLMSSampler } from "./compvis_plms.ts";
   * import { ldmAlphasCumprod } from "./sampler.ts";
   * import { Tensor } from "../tensor/tensor.ts";
   * const sampler = new CompVisPLMSSampler(ldmAlphasCumprod("linear", 0.00085, 0.012, 1000), 10);
   * const x0 = await sampler.sample((x) => Promise.resolve(x), Tensor.zeros([1, 4, 8, 8]));
   * ```
   */
  sample(
    model: NoiseModel,
    x: Tensor,
    onStep?: (step: SamplerStep) => void | Promise<void>,
  ): Promise<Tensor> {
    return runSampler(this, model, x, onStep);
  }
}
