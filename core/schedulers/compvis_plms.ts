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
import { Tensor } from "../tensor/tensor.ts";
import { assertSameShape } from "./add_noise.ts";
import { ddimPrevSample } from "./prediction.ts";
import { f32 } from "../numerics/f32.ts";
import {
  type DdimDiscretize,
  ddimSchedule,
  LoopSampler,
  type NoiseModel,
  type SamplerStep,
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
  /** float32 sqrt for the steps and tables (default `ieeeMath`). */
  math?: Float32Math;
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
export class CompVisPLMSSampler extends LoopSampler {
  /** The DDIM timesteps, ascending, as `self.ddim_timesteps`. */
  readonly ddimTimesteps: readonly number[];
  /** `alphas_cumprod` at the DDIM timesteps (`ddim_alphas`, float32). */
  readonly ddimAlphas: Float32Array;
  /** `alphas_cumprod` of the previous DDIM timestep (`ddim_alphas_prev`; the first is `alphas_cumprod[0]`). */
  readonly ddimAlphasPrev: Float32Array;
  /** `np.sqrt(1. - ddim_alphas)` (float32). */
  readonly ddimSqrtOneMinusAlphas: Float32Array;
  /** Where float32 sqrt comes from (the reference machine's, or IEEE). */
  readonly math: Float32Math;
  #oldEps: Float32Array[] = [];

  /**
   * @param alphasCumprod the model's float32 `alphas_cumprod` (see `ldmAlphasCumprod`)
   * @param steps `S`, the number of DDIM steps asked for
   * @param options `discretize` (default `"uniform"`), `math` (default IEEE)
   * @throws {RangeError} when a DDIM timestep falls outside the training range (the original
   * fails there with an IndexError, e.g. S = 3 for 1000 training steps gives timestep 1000).
   */
  constructor(alphasCumprod: Float32Array, steps: number, options: CompVisPLMSOptions = {}) {
    super();
    this.math = options.math ?? ieeeMath;
    // make_schedule: make_ddim_timesteps, then make_ddim_sampling_parameters with eta = 0
    // (sigmas are all 0)
    const schedule = ddimSchedule(
      alphasCumprod,
      steps,
      options.discretize ?? "uniform",
      "CompVisPLMSSampler",
      this.math,
    );
    this.ddimTimesteps = schedule.timesteps;
    this.ddimAlphas = schedule.alphas;
    this.ddimAlphasPrev = schedule.alphasPrev;
    this.ddimSqrtOneMinusAlphas = schedule.sqrtOneMinusAlphas;
  }

  /** The timesteps in the order they are visited (`np.flip(ddim_timesteps)`). */
  get timesteps(): readonly number[] {
    return [...this.ddimTimesteps].reverse();
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
  override reset(): void {
    super.reset();
    this.#oldEps = [];
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
    const { i, index, t } = this.nextStep("CompVisPLMSSampler.step");
    const timeRange = this.timesteps;
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
    this.stepDone(i);
    return { index: i, t, x, eps, epsUsed, predX0, xPrev, extraCalls };
  }
}
