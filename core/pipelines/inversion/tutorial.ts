/**
 * The hand-written DDIM inversion loop people copy from the DDIM inversion walkthrough that
 * accompanies diffusers' DDIM docs (huggingface/diffusion-models-class, unit4/01_ddim_inversion):
 * its `invert` and `sample` functions as steppers, in the notebook's float32 operation order.
 * Kept apart from diffusers' `DDIMInverseScheduler` because it differs from it: the inversion
 * starts at index 1 of the reversed timesteps and skips the last one (n - 2 model calls), its
 * step reads `alphas_cumprod[max(0, t - 1000 // n)]` (a hard-coded 1000), and its sampler's last
 * step lands on `alphas_cumprod[1]` instead of the final alpha.
 *
 * @module
 */
import { f32 } from "../../numerics/f32.ts";
import type { DDIMScheduler } from "../../schedulers/ddim.ts";
import type { Stepper } from "../../schedulers/types.ts";
import { Tensor } from "../../tensor/tensor.ts";

/**
 * What both loops read of the notebook's `pipe.scheduler` (a `DDIMScheduler`, timesteps set).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { TutorialScheduler } from "./tutorial.ts";
 * import { DDIMScheduler } from "../../schedulers/ddim.ts";
 * const s: TutorialScheduler = new DDIMScheduler();
 * assert.equal(s.alphasCumprod.length, 1000);
 * ```
 */
export type TutorialScheduler = Pick<DDIMScheduler, "alphasCumprod" | "timesteps" | "math">;

function stepCount(scheduler: TutorialScheduler, who: string): number {
  const n = scheduler.timesteps.length;
  if (n < 3) {
    throw new RangeError(`${who}: the tutorial's loop needs at least 3 timesteps, got ${n}`);
  }
  return n;
}

/**
 * The notebook's `invert`: `timesteps = reversed(pipe.scheduler.timesteps)`, `for i in
 * range(1, n)`, skipping `i >= n - 1`; at `t = timesteps[i]`, with `current_t = max(0, t - 1000
 * // n)` and `next_t = t`:
 * `latents = (latents - (1 - a_t).sqrt() * eps) * (a_next.sqrt() / a_t.sqrt()) + (1 - a_next).sqrt() * eps`.
 * Its steps are the notebook's `intermediate_latents`, one per step.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { DDIMScheduler } from "../../schedulers/ddim.ts";
 * import { tutorialInverter } from "./tutorial.ts";
 * const ddim = new DDIMScheduler({ stepsOffset: 1 });
 * ddim.setTimesteps(10);
 * assert.deepEqual(tutorialInverter(ddim).timesteps, [101, 201, 301, 401, 501, 601, 701, 801]);
 * ```
 */
export function tutorialInverter(scheduler: TutorialScheduler): Stepper {
  const n = stepCount(scheduler, "tutorialInverter");
  const reversed = [...scheduler.timesteps].reverse();
  const timesteps = reversed.slice(1, n - 1);
  const ac = scheduler.alphasCumprod;
  const sqrt = (x: number) => scheduler.math.sqrt(x); // a MathTable needs its this
  return {
    timesteps,
    async step(denoise, latents, index) {
      const t = timesteps[index];
      const eps = await denoise(latents, t);
      const alphaT = ac[Math.max(0, t - Math.floor(1000 / n))]; // current_t
      const alphaNext = ac[t]; // next_t = t
      const s1 = sqrt(f32(1 - alphaT));
      const ratio = f32(sqrt(alphaNext) / sqrt(alphaT));
      const s2 = sqrt(f32(1 - alphaNext));
      const x = latents.data, e = eps.data;
      const out = new Float32Array(x.length);
      for (let k = 0; k < x.length; k++) {
        out[k] = f32(f32(f32(x[k] - f32(s1 * e[k])) * ratio) + f32(s2 * e[k]));
      }
      return { prevSample: new Tensor(out, latents.shape) };
    },
  };
}

/**
 * The notebook's `sample`: over `pipe.scheduler.timesteps` (a loop may `begin` at the
 * notebook's `start_step`), at `t` with `prev_t = max(1, t - 1000 // n)`:
 * `x0 = (latents - (1 - a_t).sqrt() * eps) / a_t.sqrt()`, then
 * `latents = a_prev.sqrt() * x0 + (1 - a_prev).sqrt() * eps`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { DDIMScheduler } from "../../schedulers/ddim.ts";
 * import { Tensor } from "../../tensor/tensor.ts";
 * import { tutorialSampler } from "./tutorial.ts";
 * const ddim = new DDIMScheduler({ stepsOffset: 1 });
 * ddim.setTimesteps(10);
 * const sampler = tutorialSampler(ddim);
 * // the last step (t = 1) goes to alphas_cumprod[max(1, 1 - 100)] = alphas_cumprod[1]
 * const x = new Tensor(new Float32Array([0.5]), [1, 1]);
 * const eps = () => Promise.resolve(new Tensor(new Float32Array([0]), [1, 1]));
 * const out = await sampler.step(eps, x, 9);
 * assert.ok(Math.abs(out.prevSample.data[0] - 0.5 * Math.sqrt(ddim.alphasCumprod[1] / ddim.alphasCumprod[1])) < 1e-6);
 * ```
 */
export function tutorialSampler(scheduler: TutorialScheduler): Stepper {
  const n = stepCount(scheduler, "tutorialSampler");
  const timesteps = [...scheduler.timesteps];
  const ac = scheduler.alphasCumprod;
  const sqrt = (x: number) => scheduler.math.sqrt(x); // a MathTable needs its this
  return {
    timesteps,
    async step(denoise, latents, index) {
      const t = timesteps[index];
      const eps = await denoise(latents, t);
      const alphaT = ac[t];
      const alphaPrev = ac[Math.max(1, t - Math.floor(1000 / n))]; // prev_t
      const s1 = sqrt(f32(1 - alphaT));
      const rootT = sqrt(alphaT);
      const rootPrev = sqrt(alphaPrev);
      const s2 = sqrt(f32(1 - alphaPrev));
      const x = latents.data, e = eps.data;
      const x0 = new Float32Array(x.length);
      const out = new Float32Array(x.length);
      for (let k = 0; k < x.length; k++) {
        x0[k] = f32(f32(x[k] - f32(s1 * e[k])) / rootT); // predicted_x0
        out[k] = f32(f32(rootPrev * x0[k]) + f32(s2 * e[k])); // + direction_pointing_to_xt
      }
      return {
        prevSample: new Tensor(out, latents.shape),
        predOriginalSample: new Tensor(x0, latents.shape),
      };
    },
  };
}
