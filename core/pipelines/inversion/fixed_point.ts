/**
 * Fixed-point refined DDIM inversion (the idea of ReNoise, Garibi et al. 2024, and AIDI, Pan et
 * al. 2023). DDIM inversion takes the model's output at the step's start, `eps(x_{t-1}, t)`,
 * for the one at its end, `eps(x_t, t)`; the exact inverse solves the implicit equation
 * `x_t = F(eps(x_t, t), x_{t-1})` (F: diffusers' `DDIMInverseScheduler.step`). This stepper
 * iterates it: `z_0 = F(eps(x_{t-1}, t))`, `z_k = F(eps(z_{k-1}, t))` for k = 1..K, and with
 * `average` m > 1 finishes with F of the mean of the last m model outputs (ReNoise's averaging).
 * K = 0 is plain DDIM inversion; a step costs K + 1 model evaluations.
 *
 * @module
 */
import type { DDIMInverseScheduler } from "../../schedulers/ddim_inverse.ts";
import type { Stepper, StepResult } from "../../schedulers/types.ts";
import { Tensor } from "../../tensor/tensor.ts";

/**
 * The refinement's options.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { FixedPointOptions } from "./fixed_point.ts";
 * const o: FixedPointOptions = { iterations: 2, average: 1 };
 * assert.equal(o.iterations + 1, 3); // model evaluations per step
 * ```
 */
export interface FixedPointOptions {
  /** K: extra model evaluations per step (0 gives plain DDIM inversion). */
  iterations: number;
  /** m: finish with the mean of the last m model outputs (1: the last iterate, K >= m - 1). */
  average: number;
}

/**
 * The first problem with the refinement's options as `[field, problem]`, or null.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { fixedPointProblem } from "./fixed_point.ts";
 * assert.equal(fixedPointProblem({ iterations: 2, average: 3 }), null);
 * assert.deepEqual(fixedPointProblem({ iterations: 1, average: 3 }), [
 *   "average", "expected a whole number in 1..2 (iterations + 1), got 3",
 * ]);
 * ```
 */
export function fixedPointProblem(
  o: { iterations: unknown; average: unknown },
): [string, string] | null {
  const { iterations: K, average: m } = o;
  if (!(Number.isInteger(K) && (K as number) >= 0)) {
    return ["iterations", `expected a whole number >= 0, got ${JSON.stringify(K)}`];
  }
  if (!(Number.isInteger(m) && (m as number) >= 1 && (m as number) <= (K as number) + 1)) {
    return [
      "average",
      `expected a whole number in 1..${(K as number) + 1} (iterations + 1), got ${
        JSON.stringify(m)
      }`,
    ];
  }
  return null;
}

/** The mean of float32 tensors, summed in float64 and rounded once. */
function mean(ts: readonly Tensor[]): Tensor {
  const out = new Float32Array(ts[0].data.length);
  for (let k = 0; k < out.length; k++) {
    let s = 0;
    for (const t of ts) s += t.data[k];
    out[k] = s / ts.length;
  }
  return new Tensor(out, ts[0].shape);
}

/**
 * The fixed-point inversion stepper over `inverse` (its timesteps set).
 *
 * @throws {RangeError} when `iterations` is not a whole number >= 0 or `average` not in
 * 1..iterations + 1.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { DDIMInverseScheduler } from "../../schedulers/ddim_inverse.ts";
 * import { Tensor } from "../../tensor/tensor.ts";
 * import { fixedPointInverter } from "./fixed_point.ts";
 * const inverse = new DDIMInverseScheduler({ clipSample: false, setAlphaToOne: false });
 * inverse.setTimesteps(10);
 * const calls: number[] = [];
 * const model = (x: Tensor, t: number) => (calls.push(t), Promise.resolve(new Tensor(x.data.map((v) => 0.5 * v), x.shape)));
 * const stepper = fixedPointInverter(inverse, { iterations: 2, average: 1 });
 * const x = new Tensor(new Float32Array([0.2]), [1, 1]);
 * const z = (await stepper.step(model, x, 3)).prevSample;
 * assert.deepEqual(calls, [300, 300, 300]);
 * // the iterate solves z = F(eps(z)) better than plain DDIM inversion does
 * const F = (eps: number) => inverse.step(new Tensor(new Float32Array([eps]), [1, 1]), 300, x).prevSample.data[0];
 * const ddim = F(0.5 * 0.2);
 * assert.ok(Math.abs(z.data[0] - F(0.5 * z.data[0])) < Math.abs(ddim - F(0.5 * ddim)));
 * ```
 */
export function fixedPointInverter(
  inverse: Pick<DDIMInverseScheduler, "timesteps" | "step">,
  options: FixedPointOptions,
): Stepper {
  const problem = fixedPointProblem(options);
  if (problem) throw new RangeError(`fixedPointInverter: ${problem[0]}: ${problem[1]}`);
  const { iterations: K, average: m } = options;
  return {
    get timesteps() {
      return inverse.timesteps;
    },
    async step(denoise, sample, index) {
      const t = inverse.timesteps[index];
      const outputs: Tensor[] = [];
      let z = sample;
      let last: StepResult | undefined;
      for (let k = 0; k <= K; k++) {
        outputs.push(await denoise(z, t));
        last = inverse.step(outputs[k], t, sample);
        z = last.prevSample;
      }
      return m > 1 ? inverse.step(mean(outputs.slice(K + 1 - m)), t, sample) : last!;
    },
  };
}
