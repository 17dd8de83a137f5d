/**
 * Comparison metrics of a tensor against its reference: max |d|, RMSE, relative L2, cosine
 * similarity, float32 ulp distance, PSNR and SSIM, and `compareTensors` for all of them at once.
 *
 * These are reported figures, not parity math: every sum is accumulated in float64 from the
 * float32 values (exactly widened). Arguments are `Tensor`s (whose shapes must be equal) or
 * `Float32Array`s (whose lengths must be equal); the reference is always the second argument.
 *
 * @module
 */
import { ulpDistance } from "../numerics/f32.ts";
import { checkDataRange, psnrFromMse, ssim } from "./image_metrics.ts";
import type { ErrorFigures } from "../results/schema.ts";
import { metricData, type MetricInput, metricPair as pair } from "./metric_input.ts";

/**
 * max |actual - reference| (numpy's `np.max(np.abs(a - b))` in float64): NaN when any
 * difference is NaN, 0 for empty inputs.
 *
 * @throws {RangeError} when the shapes differ
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { maxAbsDiff } from "./metrics.ts";
 * assert.equal(maxAbsDiff(new Float32Array([1, 2, 3]), new Float32Array([1, 2.5, 2])), 1);
 * ```
 */
export function maxAbsDiff(actual: MetricInput, reference: MetricInput): number {
  return maxAbsWithIndex("maxAbsDiff", actual, reference)[0];
}

function maxAbsWithIndex(
  fn: string,
  actual: MetricInput,
  reference: MetricInput,
): [number, number] {
  const [a, b] = pair(fn, actual, reference);
  let max = 0;
  let index = a.length === 0 ? -1 : 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    if (Number.isNaN(d)) return [NaN, i];
    if (d > max) {
      max = d;
      index = i;
    }
  }
  return [max, index];
}

/**
 * Root-mean-square error sqrt(mean((actual - reference)^2)); 0 for empty inputs.
 *
 * @throws {RangeError} when the shapes differ
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { rmse } from "./metrics.ts";
 * assert.equal(rmse(new Float32Array([1, 1]), new Float32Array([0, 2])), 1);
 * ```
 */
export function rmse(actual: MetricInput, reference: MetricInput): number {
  const [a, b] = pair("rmse", actual, reference);
  if (a.length === 0) return 0;
  let s = 0;
  for (let i = 0; i < a.length; i++) {
    const d = a[i] - b[i];
    s += d * d;
  }
  return Math.sqrt(s / a.length);
}

/**
 * ||actual - reference||_2 / ||reference||_2. When the reference is all zeros: 0 if the actual
 * is too (0/0 is taken as "no error"), Infinity otherwise.
 *
 * @throws {RangeError} when the shapes differ
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { relativeL2 } from "./metrics.ts";
 * assert.equal(relativeL2(new Float32Array([3, 4]), new Float32Array([0, 4])), 0.75);
 * ```
 */
export function relativeL2(actual: MetricInput, reference: MetricInput): number {
  const [a, b] = pair("relativeL2", actual, reference);
  let num = 0;
  let den = 0;
  for (let i = 0; i < a.length; i++) {
    const d = a[i] - b[i];
    num += d * d;
    den += b[i] * b[i];
  }
  return ratioOfNorms(num, den);
}

function ratioOfNorms(num: number, den: number): number {
  if (den === 0) return num === 0 ? 0 : num > 0 ? Infinity : NaN;
  return Math.sqrt(num) / Math.sqrt(den);
}

/**
 * <actual, reference> / (||actual|| ||reference||), clamped to [-1, 1]. Two all-zero inputs
 * give 1 (identical); exactly one all-zero input gives 0; a NaN element gives NaN.
 *
 * @throws {RangeError} when the shapes differ
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { cosineSimilarity } from "./metrics.ts";
 * assert.equal(cosineSimilarity(new Float32Array([1, 0]), new Float32Array([1, 1])), 0.7071067811865475);
 * ```
 */
export function cosineSimilarity(actual: MetricInput, reference: MetricInput): number {
  const [a, b] = pair("cosineSimilarity", actual, reference);
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i] * b[i];
    na += a[i] * a[i];
    nb += b[i] * b[i];
  }
  return cosineOf(dot, na, nb);
}

function cosineOf(dot: number, na: number, nb: number): number {
  if (Number.isNaN(dot) || Number.isNaN(na) || Number.isNaN(nb)) return NaN;
  if (na === 0 || nb === 0) return na === 0 && nb === 0 ? 1 : 0;
  const c = dot / (Math.sqrt(na) * Math.sqrt(nb));
  return Number.isNaN(c) ? NaN : Math.min(1, Math.max(-1, c));
}

/**
 * The largest {@link ulpDistance} over the elements and where it first occurs
 * (`{ maxUlp: 0, index: -1 }` for empty inputs).
 *
 * @throws {RangeError} when the shapes differ
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { maxUlpDistance } from "./metrics.ts";
 * assert.deepEqual(maxUlpDistance(new Float32Array([1, 2]), new Float32Array([1, 2 + 2 ** -22])), { maxUlp: 1, index: 1 });
 * ```
 */
export function maxUlpDistance(
  actual: MetricInput,
  reference: MetricInput,
): { maxUlp: number; index: number } {
  const [a, b] = pair("maxUlpDistance", actual, reference);
  let maxUlp = 0;
  let index = a.length === 0 ? -1 : 0;
  for (let i = 0; i < a.length; i++) {
    const d = ulpDistance(a[i], b[i]);
    if (d > maxUlp) {
      maxUlp = d;
      index = i;
      if (d === Infinity) break;
    }
  }
  return { maxUlp, index };
}

/**
 * The index of the first NaN or infinite element, or -1 when all are finite.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { firstNonFinite } from "./metrics.ts";
 * assert.equal(firstNonFinite(new Float32Array([0, Infinity, NaN])), 1);
 * ```
 */
export function firstNonFinite(t: MetricInput): number {
  const a = metricData(t, "firstNonFinite", "t");
  for (let i = 0; i < a.length; i++) {
    if (!Number.isFinite(a[i])) return i;
  }
  return -1;
}

/**
 * Every metric of `actual` against `reference`, compatible with the harness's
 * {@link ErrorFigures}, plus where the worst differences and the first non-finite values are.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { TensorComparison } from "./metrics.ts";
 * const c: TensorComparison = {
 *   size: 0, maxAbs: 0, maxAbsIndex: -1, rmse: 0, relL2: 0, cosine: 1, maxUlp: 0,
 *   maxUlpIndex: -1, firstNonFiniteActual: -1, firstNonFiniteReference: -1,
 * };
 * assert.equal(c.maxUlpIndex, -1);
 * ```
 */
export interface TensorComparison extends ErrorFigures {
  /** Number of elements compared. */
  size: number;
  /** Where max |d| first occurs (-1 when empty). */
  maxAbsIndex: number;
  /** Where the largest ulp distance first occurs (-1 when empty). */
  maxUlpIndex: number;
  /** First NaN/infinite element of `actual`, or -1. */
  firstNonFiniteActual: number;
  /** First NaN/infinite element of `reference`, or -1. */
  firstNonFiniteReference: number;
}

/**
 * Options of {@link compareTensors}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { CompareOptions } from "./metrics.ts";
 * const o: CompareOptions = { dataRange: 2, ssim: true };
 * assert.equal(o.dataRange, 2);
 * ```
 */
export interface CompareOptions {
  /** Value range of images; when given, `psnr` is computed. */
  dataRange?: number;
  /** Also compute `ssim` (needs `dataRange` and [C, H, W] / [N, C, H, W] tensors). */
  ssim?: boolean;
}

/**
 * All metrics at once: max |d|, RMSE, relative L2, cosine similarity, max ulp distance, the
 * first non-finite elements, and PSNR / SSIM when asked for.
 *
 * @throws {RangeError} when the shapes differ, or for bad PSNR/SSIM options
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { compareTensors } from "./metrics.ts";
 * import { Tensor } from "../tensor/tensor.ts";
 * const ref = new Tensor(new Float32Array([1, 2, 3, 4]), [2, 2]);
 * const out = new Tensor(new Float32Array([1, 2, 3, 4.5]), [2, 2]);
 * const c = compareTensors(out, ref);
 * assert.deepEqual([c.maxAbs, c.maxAbsIndex, c.maxUlp], [0.5, 3, 1048576]);
 * ```
 */
export function compareTensors(
  actual: MetricInput,
  reference: MetricInput,
  options: CompareOptions = {},
): TensorComparison {
  const fn = "compareTensors";
  const [a, b] = pair(fn, actual, reference);
  let sq = 0;
  let refSq = 0;
  let actSq = 0;
  let dot = 0;
  for (let i = 0; i < a.length; i++) {
    const d = a[i] - b[i];
    sq += d * d;
    refSq += b[i] * b[i];
    actSq += a[i] * a[i];
    dot += a[i] * b[i];
  }
  const [maxAbs, maxAbsIndex] = maxAbsWithIndex(fn, actual, reference);
  const { maxUlp, index: maxUlpIndex } = maxUlpDistance(actual, reference);
  const out: TensorComparison = {
    size: a.length,
    maxAbs,
    maxAbsIndex,
    rmse: a.length === 0 ? 0 : Math.sqrt(sq / a.length),
    relL2: ratioOfNorms(sq, refSq),
    cosine: cosineOf(dot, actSq, refSq),
    maxUlp,
    maxUlpIndex,
    firstNonFiniteActual: firstNonFinite(a),
    firstNonFiniteReference: firstNonFinite(b),
  };
  if (options.dataRange !== undefined) {
    checkDataRange(fn, options.dataRange);
    out.psnr = psnrFromMse(a.length === 0 ? 0 : sq / a.length, options.dataRange);
  }
  if (options.ssim) {
    if (options.dataRange === undefined) {
      throw new RangeError(`${fn}: options.ssim needs options.dataRange (expected a number > 0)`);
    }
    out.ssim = ssim(actual, reference, { dataRange: options.dataRange });
  }
  return out;
}
