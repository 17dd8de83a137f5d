/**
 * diffusers' `add_noise` methods, float32: the alpha form of DDPM/DDIM/PNDM
 * (`sqrt(a) * x0 + sqrt(1 - a) * noise`), the sigma form of LMSDiscrete/EulerDiscrete
 * (`x0 + noise * sigma`), the per-batch-item frame they share, and the shape check of `step`.
 *
 * @module
 */
import type { Float32Math } from "../numerics/f32_math.ts";
import { f32 } from "../numerics/f32.ts";
import { assertSameShape, Tensor } from "../tensor/tensor.ts";
import { alphaAt } from "./betas.ts";
import { indexForTimestep } from "./step_index.ts";

/**
 * The frame of diffusers' `add_noise` methods: checks that `original` and `noise` have one
 * shape and that `timesteps` is one timestep for the whole batch or one per batch item
 * (diffusers broadcasts the per-timestep coefficient over dimension 0), then writes each batch
 * item's elements as `mixFor(its timestep)(x0, noise)`, rounded to float32.
 *
 * @throws {RangeError} on mismatched shapes or a timestep count that is neither 1 nor the
 * batch size (and whatever `mixFor` throws).
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { noisePerBatchItem } from "./add_noise.ts";
 * import { assertSameShape, Tensor } from "../tensor/tensor.ts";
 * const x0 = new Tensor(new Float32Array([1, 1]), [2, 1]);
 * const noise = new Tensor(new Float32Array([1, 1]), [2, 1]);
 * assert.deepEqual(Array.from(noisePerBatchItem(x0, noise, [1, 2], (t) => (x, n) => x + t * n).data), [2, 3]);
 * ```
 */
export function noisePerBatchItem(
  original: Tensor,
  noise: Tensor,
  timesteps: number | readonly number[],
  mixFor: (t: number) => (x0: number, noise: number) => number,
): Tensor {
  const who = "add_noise";
  assertSameShape(original, noise, "original_samples", "noise", who);
  const ts = typeof timesteps === "number" ? [timesteps] : timesteps;
  const batch = original.shape.length === 0 ? 1 : original.shape[0];
  if (ts.length !== 1 && ts.length !== batch) {
    throw new RangeError(
      `${who}: got ${ts.length} timesteps for a batch of ${batch} (expected 1 or ${batch})`,
    );
  }
  const per = batch === 0 ? 0 : original.size / batch;
  const out = new Float32Array(original.size);
  for (let b = 0; b < batch; b++) {
    const mix = mixFor(ts[ts.length === 1 ? 0 : b]);
    for (let i = b * per; i < (b + 1) * per; i++) out[i] = mix(original.data[i], noise.data[i]);
  }
  return new Tensor(out, original.shape);
}

/**
 * diffusers' `DDPMScheduler.add_noise` (shared by DDIM, PNDM, ...), float32:
 * `sqrt(a[t]) * x0 + sqrt(1 - a[t]) * noise`. `timesteps` is one timestep for the whole
 * batch, or one per batch item (as diffusers broadcasts `alphas_cumprod[timesteps]` over
 * dimension 0).
 *
 * @throws {RangeError} on mismatched shapes, a timestep count that is neither 1 nor the batch
 * size, or a timestep outside the training range.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { addNoiseF32 } from "./add_noise.ts";
 * import { ieeeMath } from "../numerics/f32_math.ts";
 * import { assertSameShape, Tensor } from "../tensor/tensor.ts";
 * const x0 = new Tensor(new Float32Array([1, 1]), [2, 1]);
 * const noise = new Tensor(new Float32Array([0, 0]), [2, 1]);
 * assert.deepEqual(Array.from(addNoiseF32(new Float32Array([0.25, 0.5]), x0, noise, [0, 1], ieeeMath).data), [0.5, 0.7071067690849304]);
 * ```
 */
export function addNoiseF32(
  alphasCumprod: Float32Array,
  original: Tensor,
  noise: Tensor,
  timesteps: number | readonly number[],
  math: Float32Math,
): Tensor {
  return noisePerBatchItem(original, noise, timesteps, (t) => {
    const a = alphaAt(alphasCumprod, t, "add_noise");
    const sqrtA = math.sqrt(a);
    const sqrtB = math.sqrt(f32(1 - a));
    return (x0, n) => f32(sqrtA * x0) + f32(sqrtB * n);
  });
}

/**
 * What {@link addNoiseBySigma} reads of a sigma scheduler (EulerDiscrete and LMSDiscrete have it).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { SigmaSchedulerState } from "./add_noise.ts";
 * const s: SigmaSchedulerState = { sigmas: new Float32Array([1, 0]), timesteps: [999], stepIndex: null, beginIndex: null };
 * assert.equal(s.sigmas.length, s.timesteps.length + 1); // the final sigma follows
 * ```
 */
export interface SigmaSchedulerState {
  /** float32 sigmas of the schedule. */
  readonly sigmas: Float32Array;
  /** The schedule's timesteps (float32 values). */
  readonly timesteps: readonly number[];
  /** Index of the next step, `null` before the first one. */
  readonly stepIndex: number | null;
  /** Set by `setBeginIndex`, else `null`. */
  readonly beginIndex: number | null;
}

/**
 * diffusers' `add_noise` of EulerDiscrete / LMSDiscrete: `original + noise * sigma` in float32,
 * the sigma of each batch item found by timestep (no begin index), else at the current step
 * index, else at the begin index.
 *
 * @throws {RangeError} on shape mismatches, a timestep count that is neither 1 nor the batch
 * size, or a timestep not in the schedule.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { addNoiseBySigma } from "./add_noise.ts";
 * import { assertSameShape, Tensor } from "../tensor/tensor.ts";
 * const state = { sigmas: new Float32Array([2, 0]), timesteps: [999], stepIndex: null, beginIndex: null };
 * const noisy = addNoiseBySigma(state, Tensor.zeros([1, 2]), new Tensor(new Float32Array([1, -1]), [1, 2]), 999);
 * assert.deepEqual(Array.from(noisy.data), [2, -2]);
 * ```
 */
export function addNoiseBySigma(
  scheduler: SigmaSchedulerState,
  original: Tensor,
  noise: Tensor,
  t: number | readonly number[],
): Tensor {
  const { sigmas, timesteps } = scheduler;
  const indexOf = (time: number): number => {
    if (scheduler.beginIndex === null) return indexForTimestep(timesteps, time, "add_noise");
    return scheduler.stepIndex ?? scheduler.beginIndex;
  };
  return noisePerBatchItem(original, noise, t, (time) => {
    const sigma = sigmas[indexOf(time)];
    return (x0, n) => x0 + f32(n * sigma);
  });
}
