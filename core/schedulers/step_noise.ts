/**
 * The noise a stochastic scheduler step adds (DDIM with eta > 0, DDPM, Euler's churn): the
 * caller's `varianceNoise`, or a draw from the caller's generator shaped like the model output,
 * as diffusers' `step(..., generator, variance_noise)` takes it (`randn_tensor(shape,
 * generator=generator)`). There is no global generator here, so one of the two is required.
 *
 * @module
 */
import { assertSameShape, type Tensor } from "../tensor/tensor.ts";
import type { StepOptions } from "./types.ts";

/**
 * `opts.varianceNoise` (checked against the model output's shape), else
 * `opts.generator.randn(modelOutput.shape)`.
 *
 * @param modelOutput the model output whose shape the noise takes
 * @param opts the step options carrying `generator` or `varianceNoise`
 * @param who the step, for messages (e.g. `"DDIMScheduler.step"`)
 * @param reason why noise is needed, for the message when neither source is given
 * @throws {Error} when both sources or neither are given, or on a shape mismatch.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { stepNoise } from "./step_noise.ts";
 * import { assertSameShape, Tensor } from "../tensor/tensor.ts";
 * import { TorchGenerator } from "../tensor/torch_generator.ts";
 * const out = Tensor.zeros([1, 4]);
 * assert.deepEqual(Array.from(stepNoise(out, { generator: new TorchGenerator(0) }, "demo.step", "eta > 0").shape), [1, 4]);
 * ```
 */
export function stepNoise(
  modelOutput: Tensor,
  opts: StepOptions,
  who: string,
  reason: string,
): Tensor {
  if (opts.varianceNoise !== undefined && opts.generator !== undefined) {
    throw new Error(
      `${who}: cannot pass both generator and varianceNoise; leave one of them undefined`,
    );
  }
  if (opts.varianceNoise !== undefined) {
    assertSameShape(opts.varianceNoise, modelOutput, "variance_noise", "model_output", who);
    return opts.varianceNoise;
  }
  if (opts.generator === undefined) {
    throw new Error(`${who}: ${reason} needs a generator or varianceNoise (no global RNG here)`);
  }
  return opts.generator.randn(modelOutput.shape);
}
