/**
 * The base of the schedulers that work on x_t itself with `alphas_cumprod` (DDIM, DDIMInverse,
 * DDPM, PNDM): unit initial noise, no input scaling, and diffusers' `DDPMScheduler.add_noise`
 * (which DDIM and PNDM copy), on top of {@link SchedulerBase}.
 *
 * @module
 */
import type { Tensor } from "../tensor/tensor.ts";
import { addNoiseF32 } from "./add_noise.ts";
import { alphaAt, type BetaConfig } from "./betas.ts";
import { SchedulerBase } from "./scheduler_base.ts";

/**
 * A scheduler in x_t space: `initNoiseSigma` 1, identity `scaleModelInput`, and
 * `addNoise = sqrt(a_t) * x0 + sqrt(1 - a_t) * noise`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { AlphaScheduler } from "./alpha_scheduler.ts";
 * import { DDIMScheduler } from "./ddim.ts";
 * import { Tensor } from "../tensor/tensor.ts";
 * const s: AlphaScheduler<DDIMScheduler["config"]> = new DDIMScheduler();
 * const x0 = new Tensor(new Float32Array([1, 2]), [1, 2]);
 * const noisy = s.addNoise(x0, Tensor.zeros([1, 2]), 0); // sqrt(alphas_cumprod[0]) * x0
 * const sqrtA = Math.fround(Math.sqrt(s.alphasCumprod[0]));
 * assert.deepEqual(Array.from(noisy.data), [Math.fround(sqrtA * 1), Math.fround(sqrtA * 2)]);
 * ```
 */
export abstract class AlphaScheduler<C extends BetaConfig> extends SchedulerBase<C> {
  /** Standard deviation of the initial noise. */
  readonly initNoiseSigma = 1.0;

  /**
   * Identity (these schedulers do not scale the model input).
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { DDIMScheduler } from "./ddim.ts";
   * import { Tensor } from "../tensor/tensor.ts";
   * const x = Tensor.zeros([1, 4, 8, 8]);
   * assert.equal(new DDIMScheduler().scaleModelInput(x, 999) === x, true);
   * ```
   */
  scaleModelInput(sample: Tensor, _t?: number): Tensor {
    return sample;
  }

  /**
   * Forward diffusion `sqrt(a_t) * x0 + sqrt(1 - a_t) * noise` (diffusers' `add_noise` of
   * DDPM, copied by DDIM and PNDM; DDIMInverse has none, this one serves the `Scheduler`
   * interface); `t` is one timestep or one per batch item.
   *
   * @throws {RangeError} on mismatched shapes, a timestep count that is neither 1 nor the batch
   * size, or a timestep outside the training range.
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { DDPMScheduler } from "./ddpm.ts";
   * import { Tensor } from "../tensor/tensor.ts";
   * const noisy = new DDPMScheduler().addNoise(Tensor.zeros([2, 3]), Tensor.zeros([2, 3]), [10, 500]);
   * assert.deepEqual(noisy.shape, [2, 3]); // one timestep per batch item
   * ```
   */
  addNoise(original: Tensor, noise: Tensor, t: number | readonly number[]): Tensor {
    return addNoiseF32(this.alphasCumprod, original, noise, t, this.math);
  }

  /**
   * `alphas_cumprod[t]`, or `below` for `t < 0` (the value diffusers uses past the end of the
   * training range: `final_alpha_cumprod`, `initial_alpha_cumprod` or `one`).
   *
   * @throws {RangeError} naming `who` when `t >= 0` is not a training timestep.
   */
  protected alphaProd(t: number, below: number, who: string): number {
    return t >= 0 ? this.alphaProdAt(t, who) : below;
  }

  /**
   * `alphas_cumprod[t]` for a training timestep `t`.
   *
   * @throws {RangeError} naming `who` when `t` is not a training timestep.
   */
  protected alphaProdAt(t: number, who: string): number {
    return alphaAt(this.alphasCumprod, t, who);
  }

  /**
   * `numInferenceSteps`, or an error naming `who` when `setTimesteps` has not been called.
   *
   * @throws {Error} before `setTimesteps`.
   */
  protected requireInferenceSteps(who: string): number {
    if (this.numInferenceSteps === null) {
      throw new Error(`${who}: number of inference steps is not set; call setTimesteps first`);
    }
    return this.numInferenceSteps;
  }
}
