/**
 * Timestep spacing of `set_timesteps` (`timestep_spacing`: `"linspace"`, `"leading"`,
 * `"trailing"`): the integer timesteps of DDIM/DDPM and the float32 timesteps of the sigma
 * schedulers (LMSDiscrete, EulerDiscrete), as diffusers 0.42.1 computes them with numpy.
 *
 * @module
 */
import { f32, roundHalfEven } from "../numerics/f32.ts";
import { npArange, npLinspace } from "../numerics/numpy.ts";
import type { TimestepSpacing } from "./config.ts";

/** The step-ratio part of a timestep-spacing problem, checked. */
function checkSteps(numTrainTimesteps: number, numInferenceSteps: number, who: string): void {
  if (!Number.isSafeInteger(numInferenceSteps) || numInferenceSteps < 1) {
    throw new RangeError(
      `${who}: num_inference_steps must be a positive integer, got ${numInferenceSteps}`,
    );
  }
  if (numInferenceSteps > numTrainTimesteps) {
    throw new RangeError(
      `${who}: num_inference_steps (${numInferenceSteps}) cannot be larger than ` +
        `num_train_timesteps (${numTrainTimesteps})`,
    );
  }
}

/**
 * The `"leading"` timesteps of DDIM/DDPM `set_timesteps`, descending:
 * `arange(n) * (N // n)` reversed, plus `steps_offset`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { leadingTimesteps } from "./timesteps.ts";
 * assert.deepEqual(Array.from(leadingTimesteps(1000, 4, 1)), [751, 501, 251, 1]);
 * ```
 */
export function leadingTimesteps(
  numTrainTimesteps: number,
  numInferenceSteps: number,
  stepsOffset = 0,
): number[] {
  checkSteps(numTrainTimesteps, numInferenceSteps, "leading timesteps");
  const ratio = Math.floor(numTrainTimesteps / numInferenceSteps);
  const out: number[] = [];
  for (let i = numInferenceSteps - 1; i >= 0; i--) out.push(i * ratio + stepsOffset);
  return out;
}

/**
 * The `"trailing"` timesteps of DDIM/DDPM `set_timesteps`, descending:
 * `round(np.arange(N, 0, -N / n)) - 1`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { trailingTimesteps } from "./timesteps.ts";
 * assert.deepEqual(Array.from(trailingTimesteps(1000, 3)), [999, 666, 332]);
 * ```
 */
export function trailingTimesteps(numTrainTimesteps: number, numInferenceSteps: number): number[] {
  checkSteps(numTrainTimesteps, numInferenceSteps, "trailing timesteps");
  const ratio = numTrainTimesteps / numInferenceSteps;
  return Array.from(npArange(numTrainTimesteps, 0, -ratio), (v) => roundHalfEven(v) - 1);
}

/**
 * The `"linspace"` timesteps of DDIM/DDPM `set_timesteps`, descending:
 * `np.linspace(0, N - 1, n).round()` reversed.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { linspaceTimesteps } from "./timesteps.ts";
 * assert.deepEqual(Array.from(linspaceTimesteps(1000, 3)), [999, 500, 0]);
 * ```
 */
export function linspaceTimesteps(numTrainTimesteps: number, numInferenceSteps: number): number[] {
  checkSteps(numTrainTimesteps, numInferenceSteps, "linspace timesteps");
  return Array.from(npLinspace(0, numTrainTimesteps - 1, numInferenceSteps), roundHalfEven)
    .reverse();
}

/**
 * The timesteps of DDIM's and DDPM's `set_timesteps` (descending) for a `timestep_spacing`:
 * {@link linspaceTimesteps}, {@link leadingTimesteps} (with `steps_offset`) or
 * {@link trailingTimesteps}.
 *
 * @throws {RangeError} when `numInferenceSteps` is not a positive integer or exceeds
 * `numTrainTimesteps`.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { spacedTimesteps } from "./timesteps.ts";
 * assert.deepEqual(Array.from(spacedTimesteps(1000, 4, "leading", 1)), [751, 501, 251, 1]);
 * ```
 */
export function spacedTimesteps(
  numTrainTimesteps: number,
  numInferenceSteps: number,
  spacing: TimestepSpacing,
  stepsOffset: number,
): number[] {
  if (spacing === "linspace") return linspaceTimesteps(numTrainTimesteps, numInferenceSteps);
  if (spacing === "leading") {
    return leadingTimesteps(numTrainTimesteps, numInferenceSteps, stepsOffset);
  }
  return trailingTimesteps(numTrainTimesteps, numInferenceSteps);
}

/**
 * The float32 timesteps of `LMSDiscreteScheduler.set_timesteps` and
 * `EulerDiscreteScheduler.set_timesteps` (descending): `"linspace"`:
 * `np.linspace(0, N - 1, n, dtype=float32)[::-1]`; `"leading"`:
 * `(arange(n) * (N // n)).round()[::-1]` as float32, plus `steps_offset`; `"trailing"`:
 * `np.arange(N, 0, -N / n).round()` as float32, minus 1.
 *
 * @throws {RangeError} when `numInferenceSteps` is not a positive integer.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { sigmaSchedulerTimesteps } from "./timesteps.ts";
 * assert.deepEqual(Array.from(sigmaSchedulerTimesteps(1000, 4, "linspace", 0)), [999, 666, 333, 0]);
 * assert.deepEqual(Array.from(sigmaSchedulerTimesteps(1000, 4, "leading", 1)), [751, 501, 251, 1]);
 * assert.deepEqual(Array.from(sigmaSchedulerTimesteps(1000, 3, "trailing", 0)), [999, 666, 332]);
 * ```
 */
export function sigmaSchedulerTimesteps(
  numTrainTimesteps: number,
  numInferenceSteps: number,
  spacing: "linspace" | "leading" | "trailing",
  stepsOffset: number,
): number[] {
  if (!Number.isSafeInteger(numInferenceSteps) || numInferenceSteps < 1) {
    throw new RangeError(
      `set_timesteps: num_inference_steps must be a positive integer, got ${numInferenceSteps}`,
    );
  }
  const n = numInferenceSteps;
  if (spacing === "linspace") {
    return Array.from(npLinspace(0, numTrainTimesteps - 1, n), f32).reverse();
  }
  if (spacing === "leading") {
    const ratio = Math.floor(numTrainTimesteps / n);
    const out: number[] = [];
    for (let i = n - 1; i >= 0; i--) out.push(f32(f32(i * ratio) + stepsOffset));
    return out;
  }
  const ratio = numTrainTimesteps / n;
  return Array.from(npArange(numTrainTimesteps, 0, -ratio), (v) => f32(f32(roundHalfEven(v)) - 1));
}
