/**
 * What a step does with the model output, float32 as diffusers 0.42.1: the predicted x0 and
 * noise for each `prediction_type`, the DDIM update from them, and the clip / dynamic-threshold
 * step applied to the predicted x0 (`clip_sample`, `thresholding`).
 *
 * @module
 */
import type { Float32Math } from "../numerics/f32_math.ts";
import { f32 } from "../numerics/f32.ts";
import { clampF32, torchQuantileF32 } from "../numerics/torch.ts";
import { Tensor } from "../tensor/tensor.ts";
import type { SchedulerConfig } from "./config.ts";

/**
 * The predicted x0 and noise of DDIM's step 3 (formula (12) of arXiv 2010.02502, as
 * diffusers' `DDIMScheduler.step`), float32, for each `prediction_type`:
 * epsilon: `x0 = (x - sqrt(1-a) * out) / sqrt(a)`, `eps = out`;
 * sample: `x0 = out`, `eps = (x - sqrt(a) * x0) / sqrt(1-a)`;
 * v_prediction: `x0 = sqrt(a) * x - sqrt(1-a) * out`, `eps = sqrt(a) * out + sqrt(1-a) * x`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { predictOriginalAndEpsilon } from "./prediction.ts";
 * import { ieeeMath } from "../numerics/f32_math.ts";
 * import { Tensor } from "../tensor/tensor.ts";
 * const x = new Tensor(new Float32Array([1]), [1]);
 * const out = new Tensor(new Float32Array([0]), [1]);
 * assert.deepEqual(Array.from(predictOriginalAndEpsilon("epsilon", out, x, 0.25, ieeeMath).predOriginalSample.data), [2]);
 * ```
 */
export function predictOriginalAndEpsilon(
  predictionType: string,
  modelOutput: Tensor,
  sample: Tensor,
  alphaProdT: number,
  math: Float32Math,
): { predOriginalSample: Tensor; predEpsilon: Tensor } {
  const sqrtA = math.sqrt(alphaProdT);
  const sqrtB = math.sqrt(f32(1 - alphaProdT));
  const m = modelOutput.data;
  const x = sample.data;
  const n = x.length;
  const x0 = new Float32Array(n);
  let eps: Float32Array;
  if (predictionType === "epsilon") {
    for (let i = 0; i < n; i++) x0[i] = f32(x[i] - f32(sqrtB * m[i])) / sqrtA;
    eps = m;
  } else if (predictionType === "sample") {
    x0.set(m);
    eps = epsilonFromOriginal(x, x0, sqrtA, sqrtB);
  } else if (predictionType === "v_prediction") {
    eps = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      x0[i] = f32(sqrtA * x[i]) - f32(sqrtB * m[i]);
      eps[i] = f32(sqrtA * m[i]) + f32(sqrtB * x[i]);
    }
  } else {
    throw new RangeError(
      `prediction_type ${
        JSON.stringify(predictionType)
      } must be one of "epsilon", "sample", "v_prediction"`,
    );
  }
  return {
    predOriginalSample: new Tensor(x0, sample.shape),
    predEpsilon: new Tensor(eps, sample.shape),
  };
}

/**
 * The noise implied by x0: `(x - sqrt(a) * x0) / sqrt(1-a)` in float32, given `sqrt(a)` and
 * `sqrt(1-a)` (DDIM's `use_clipped_model_output` and `sample` prediction).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { epsilonFromOriginal } from "./prediction.ts";
 * assert.deepEqual(Array.from(epsilonFromOriginal(new Float32Array([1]), new Float32Array([1]), 0.5, 0.5)), [1]);
 * ```
 */
export function epsilonFromOriginal(
  sample: Float32Array,
  predOriginal: Float32Array,
  sqrtAlphaProd: number,
  sqrtBetaProd: number,
): Float32Array {
  const out = new Float32Array(sample.length);
  for (let i = 0; i < out.length; i++) {
    out[i] = f32(sample[i] - f32(sqrtAlphaProd * predOriginal[i])) / sqrtBetaProd;
  }
  return out;
}

/**
 * DDIM's deterministic update, formula (12) of arXiv 2010.02502 (diffusers'
 * `DDIMScheduler.step` steps 6-7, CompVis' and labml's `get_x_prev_and_pred_x0`):
 * `sqrt(a_prev) * x0 + direction * eps` in float32, given `sqrt(a_prev)` and the direction
 * coefficient `sqrt(1 - a_prev - sigma^2)`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ddimPrevSample } from "./prediction.ts";
 * assert.deepEqual(Array.from(ddimPrevSample(new Float32Array([2]), new Float32Array([1]), 0.5, 0.25)), [1.25]);
 * ```
 */
export function ddimPrevSample(
  predOriginal: Float32Array,
  epsilon: Float32Array,
  sqrtAlphaProdPrev: number,
  directionCoeff: number,
): Float32Array {
  const out = new Float32Array(predOriginal.length);
  for (let i = 0; i < out.length; i++) {
    out[i] = f32(sqrtAlphaProdPrev * predOriginal[i]) + f32(directionCoeff * epsilon[i]);
  }
  return out;
}

/**
 * torch's `clamp(-range, range)` of the predicted x0 (`clip_sample`), in float32.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { clipSample } from "./prediction.ts";
 * import { Tensor } from "../tensor/tensor.ts";
 * assert.deepEqual(Array.from(clipSample(new Tensor(new Float32Array([-3, 0.5, 2]), [3]), 1).data), [-1, 0.5, 1]);
 * ```
 */
export function clipSample(sample: Tensor, range: number): Tensor {
  const hi = f32(range);
  const lo = -hi;
  return new Tensor(sample.data.map((v) => clampF32(v, lo, hi)), sample.shape);
}

/**
 * diffusers' `_threshold_sample` (dynamic thresholding, Imagen arXiv 2205.11487), float32:
 * per batch item, `s = clamp(quantile(|x0|, ratio), 1, sampleMaxValue)`, then
 * `clamp(x0, -s, s) / s`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { thresholdSample } from "./prediction.ts";
 * import { Tensor } from "../tensor/tensor.ts";
 * const x0 = new Tensor(new Float32Array([0.5, -3, 2, 1]), [1, 4]);
 * assert.deepEqual(Array.from(thresholdSample(x0, 0.995, 2).data), [0.25, -1, 1, 0.5]); // s = 2
 * ```
 */
export function thresholdSample(sample: Tensor, ratio: number, sampleMaxValue: number): Tensor {
  if (sample.shape.length < 2) {
    throw new RangeError(
      `thresholdSample: expected a [batch, channels, ...] sample, got shape [${sample.shape}]`,
    );
  }
  const batch = sample.shape[0];
  const row = batch === 0 ? 0 : sample.size / batch;
  const out = new Float32Array(sample.size);
  const maxValue = f32(sampleMaxValue);
  for (let b = 0; b < batch; b++) {
    const x = sample.data.subarray(b * row, (b + 1) * row);
    const s = clampF32(torchQuantileF32(x.map(Math.abs), ratio), 1, maxValue);
    for (let i = 0; i < row; i++) out[b * row + i] = clampF32(x[i], -s, s) / s;
  }
  return new Tensor(out, sample.shape);
}

/**
 * The options of the predicted-x0 clipping of DDIM's and DDPM's `step`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { ClipConfig } from "./prediction.ts";
 * const c: ClipConfig = { thresholding: false, dynamicThresholdingRatio: 0.995,
 *   sampleMaxValue: 1, clipSample: true, clipSampleRange: 1 };
 * assert.equal(c.clipSample, true);
 * ```
 */
export type ClipConfig = Pick<
  SchedulerConfig,
  "thresholding" | "dynamicThresholdingRatio" | "sampleMaxValue" | "clipSample" | "clipSampleRange"
>;

/**
 * "Clip or threshold predicted x_0", a step of diffusers' `DDIMScheduler.step` and
 * `DDPMScheduler.step`: {@link thresholdSample} with `thresholding`, else {@link clipSample}
 * with `clip_sample`, else x0 itself.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { clipOrThreshold } from "./prediction.ts";
 * import { Tensor } from "../tensor/tensor.ts";
 * const x0 = new Tensor(new Float32Array([-3, 0.5, 2]), [3]);
 * const clip = { thresholding: false, dynamicThresholdingRatio: 0.995, sampleMaxValue: 1,
 *   clipSample: true, clipSampleRange: 1 };
 * assert.deepEqual(Array.from(clipOrThreshold(x0, clip).data), [-1, 0.5, 1]);
 * assert.equal(clipOrThreshold(x0, { ...clip, clipSample: false }), x0); // x0 itself
 * ```
 */
export function clipOrThreshold(predOriginal: Tensor, config: ClipConfig): Tensor {
  if (config.thresholding) {
    return thresholdSample(predOriginal, config.dynamicThresholdingRatio, config.sampleMaxValue);
  }
  if (config.clipSample) return clipSample(predOriginal, config.clipSampleRange);
  return predOriginal;
}
