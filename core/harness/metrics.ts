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
import { Tensor } from "../tensor/tensor.ts";
import type { ErrorFigures } from "./results.ts";

/**
 * What the metrics accept: a {@link Tensor}, or a flat `Float32Array`.
 *
 * @example
 * ```ts
 * import type { MetricInput } from "./metrics.ts";
 * const x: MetricInput = new Float32Array([1, 2, 3]);
 * ```
 */
export type MetricInput = Tensor | Float32Array;

function dataOf(x: MetricInput, fn: string, arg: string): Float32Array {
  if (x instanceof Tensor) return x.data;
  if (x instanceof Float32Array) return x;
  throw new TypeError(`${fn}: ${arg}: expected a Tensor or a Float32Array`);
}

function shapeText(x: MetricInput): string {
  return x instanceof Tensor ? `[${x.shape.join(", ")}]` : `Float32Array(${x.length})`;
}

/** The two buffers, after checking that the shapes (or lengths) agree. */
function pair(
  fn: string,
  actual: MetricInput,
  reference: MetricInput,
): [Float32Array, Float32Array] {
  const a = dataOf(actual, fn, "actual");
  const b = dataOf(reference, fn, "reference");
  const same = actual instanceof Tensor && reference instanceof Tensor
    ? actual.sameShape(reference)
    : a.length === b.length;
  if (!same) {
    throw new RangeError(
      `${fn}: actual ${shapeText(actual)} vs reference ${shapeText(reference)} ` +
        `(expected equal shapes)`,
    );
  }
  return [a, b];
}

/**
 * max |actual - reference| (numpy's `np.max(np.abs(a - b))` in float64): NaN when any
 * difference is NaN, 0 for empty inputs.
 *
 * @throws {RangeError} when the shapes differ
 * @example
 * ```ts
 * import { maxAbsDiff } from "./metrics.ts";
 * maxAbsDiff(new Float32Array([1, 2, 3]), new Float32Array([1, 2.5, 2])); // 1
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
 * import { rmse } from "./metrics.ts";
 * rmse(new Float32Array([1, 1]), new Float32Array([0, 2])); // 1
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
 * import { relativeL2 } from "./metrics.ts";
 * relativeL2(new Float32Array([3, 4]), new Float32Array([0, 4])); // 0.75
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
 * import { cosineSimilarity } from "./metrics.ts";
 * cosineSimilarity(new Float32Array([1, 0]), new Float32Array([1, 1])); // 0.7071067811865475
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
 * import { maxUlpDistance } from "./metrics.ts";
 * maxUlpDistance(new Float32Array([1, 2]), new Float32Array([1, 2 + 2 ** -22])); // { maxUlp: 1, index: 1 }
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
 * import { firstNonFinite } from "./metrics.ts";
 * firstNonFinite(new Float32Array([0, Infinity, NaN])); // 1
 * ```
 */
export function firstNonFinite(t: MetricInput): number {
  const a = dataOf(t, "firstNonFinite", "t");
  for (let i = 0; i < a.length; i++) {
    if (!Number.isFinite(a[i])) return i;
  }
  return -1;
}

function checkDataRange(fn: string, dataRange: number): void {
  if (typeof dataRange !== "number" || !(dataRange > 0) || !Number.isFinite(dataRange)) {
    throw new RangeError(
      `${fn}: dataRange: got ${String(dataRange)} (expected a finite number > 0, e.g. 1 for ` +
        `images in [0, 1], 2 for [-1, 1], 255 for 8-bit)`,
    );
  }
}

/**
 * Peak signal-to-noise ratio in dB, 10 log10(dataRange^2 / MSE); Infinity for identical inputs.
 *
 * @throws {RangeError} when the shapes differ or `dataRange` is not a finite positive number
 * @example
 * ```ts
 * import { psnr } from "./metrics.ts";
 * psnr(new Float32Array([0.5, 0.5]), new Float32Array([0.5, 0.6]), 1); // about 23.01
 * ```
 */
export function psnr(actual: MetricInput, reference: MetricInput, dataRange: number): number {
  checkDataRange("psnr", dataRange);
  const e = rmse(actual, reference);
  return psnrOf(e * e, dataRange);
}

function psnrOf(mse: number, dataRange: number): number {
  return mse === 0 ? Infinity : 10 * Math.log10((dataRange * dataRange) / mse);
}

/**
 * Options of {@link ssim}. The defaults are Wang et al. (2004)'s.
 *
 * @example
 * ```ts
 * import type { SsimOptions } from "./metrics.ts";
 * const o: SsimOptions = { dataRange: 2 }; // images in [-1, 1]
 * ```
 */
export interface SsimOptions {
  /** max - min of the value range (required: 1 for [0, 1], 2 for [-1, 1], 255 for 8-bit). */
  dataRange: number;
  /** Standard deviation of the Gaussian window (default 1.5). */
  sigma?: number;
  /** Window size, odd (default 11 = 2 * round(3.5 sigma) + 1 for sigma 1.5). */
  windowSize?: number;
  /** K1 (default 0.01). */
  k1?: number;
  /** K2 (default 0.03). */
  k2?: number;
}

/**
 * Mean structural similarity of images shaped [C, H, W] or [N, C, H, W], with the convention
 * of scikit-image's `structural_similarity(gaussian_weights=True, sigma=1.5,
 * use_sample_covariance=False, data_range=R, channel_axis=0)` (Wang et al. 2004): per channel,
 * Gaussian-weighted means, variances and covariance (population normalisation) over an 11 x 11
 * window, C1 = (0.01 R)^2, C2 = (0.03 R)^2, the SSIM map averaged over the positions whose window
 * lies inside the image (a border of 5 pixels is left out); then the mean over channels and
 * images. Inputs must be at least 11 x 11.
 *
 * @throws {RangeError} when the shapes differ, are not [C, H, W] / [N, C, H, W] Tensors, are
 * smaller than the window, or an option is out of range
 * @example
 * ```ts
 * import { ssim } from "./metrics.ts";
 * import { Tensor } from "../tensor/tensor.ts";
 * const img = new Tensor(new Float32Array(3 * 16 * 16).map((_, i) => (i % 7) / 7), [3, 16, 16]);
 * ssim(img, img, { dataRange: 1 }); // 1
 * ```
 */
export function ssim(actual: MetricInput, reference: MetricInput, opts: SsimOptions): number {
  const fn = "ssim";
  const [a, b] = pair(fn, actual, reference);
  if (!(actual instanceof Tensor) || (actual.shape.length !== 3 && actual.shape.length !== 4)) {
    throw new RangeError(
      `${fn}: actual ${shapeText(actual)} (expected a Tensor shaped [C, H, W] or [N, C, H, W])`,
    );
  }
  if (typeof opts !== "object" || opts === null) {
    throw new RangeError(`${fn}: opts: expected an object with dataRange`);
  }
  checkDataRange(fn, opts.dataRange);
  const sigma = opts.sigma ?? 1.5;
  const k1 = opts.k1 ?? 0.01;
  const k2 = opts.k2 ?? 0.03;
  if (!(sigma > 0) || !Number.isFinite(sigma)) {
    throw new RangeError(`${fn}: opts.sigma: got ${sigma} (expected a finite number > 0)`);
  }
  if (!(k1 >= 0) || !(k2 >= 0)) {
    throw new RangeError(`${fn}: opts.k1/k2: got ${k1}/${k2} (expected numbers >= 0)`);
  }
  const win = opts.windowSize ?? 2 * Math.floor(3.5 * sigma + 0.5) + 1;
  if (!Number.isInteger(win) || win < 1 || win % 2 === 0) {
    throw new RangeError(`${fn}: opts.windowSize: got ${win} (expected an odd positive integer)`);
  }
  const s = actual.shape;
  const [h, w] = [s[s.length - 2], s[s.length - 1]];
  if (h < win || w < win) {
    throw new RangeError(
      `${fn}: actual ${shapeText(actual)}: images are ${h} x ${w} (expected at least ` +
        `${win} x ${win}, the window size)`,
    );
  }
  const planes = a.length / (h * w);
  if (planes === 0) {
    throw new RangeError(`${fn}: actual ${shapeText(actual)} (expected at least one image)`);
  }
  const kernel = gaussianKernel(sigma, (win - 1) / 2);
  const c1 = (k1 * opts.dataRange) ** 2;
  const c2 = (k2 * opts.dataRange) ** 2;
  let total = 0;
  for (let p = 0; p < planes; p++) {
    const off = p * h * w;
    total += ssimPlane(
      a.subarray(off, off + h * w),
      b.subarray(off, off + h * w),
      h,
      w,
      kernel,
      c1,
      c2,
    );
  }
  return total / planes;
}

/** scipy.ndimage's normalised Gaussian taps exp(-x^2 / (2 sigma^2)) for x in [-r, r]. */
function gaussianKernel(sigma: number, radius: number): Float64Array {
  const k = new Float64Array(2 * radius + 1);
  let sum = 0;
  for (let x = -radius; x <= radius; x++) {
    k[x + radius] = Math.exp((-0.5 / (sigma * sigma)) * x * x);
    sum += k[x + radius];
  }
  for (let i = 0; i < k.length; i++) k[i] /= sum;
  return k;
}

/** Mean SSIM of one h x w plane over the positions whose window fits inside it. */
function ssimPlane(
  x: Float32Array,
  y: Float32Array,
  h: number,
  w: number,
  kernel: Float64Array,
  c1: number,
  c2: number,
): number {
  const r = (kernel.length - 1) / 2;
  const oh = h - 2 * r; // rows of the valid region
  const ow = w - 2 * r;
  const n = h * w;
  const xx = new Float64Array(n);
  const yy = new Float64Array(n);
  const xy = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    xx[i] = x[i] * x[i];
    yy[i] = y[i] * y[i];
    xy[i] = x[i] * y[i];
  }
  // separable Gaussian: along H first (output rows r..h-r-1, every column), then along W
  const colPass = new Float64Array(oh * w);
  const filtered = [x, y, xx, yy, xy].map((f) => {
    for (let i = 0; i < oh; i++) {
      for (let j = 0; j < w; j++) {
        let acc = 0;
        for (let k = 0; k < kernel.length; k++) acc += kernel[k] * f[(i + k) * w + j];
        colPass[i * w + j] = acc;
      }
    }
    const out = new Float64Array(oh * ow);
    for (let i = 0; i < oh; i++) {
      for (let j = 0; j < ow; j++) {
        let acc = 0;
        for (let k = 0; k < kernel.length; k++) acc += kernel[k] * colPass[i * w + j + k];
        out[i * ow + j] = acc;
      }
    }
    return out;
  });
  const [ux, uy, uxx, uyy, uxy] = filtered;
  let sum = 0;
  for (let i = 0; i < oh * ow; i++) {
    const vx = uxx[i] - ux[i] * ux[i];
    const vy = uyy[i] - uy[i] * uy[i];
    const vxy = uxy[i] - ux[i] * uy[i];
    const num = (2 * ux[i] * uy[i] + c1) * (2 * vxy + c2);
    const den = (ux[i] * ux[i] + uy[i] * uy[i] + c1) * (vx + vy + c2);
    sum += num / den;
  }
  return sum / (oh * ow);
}

/**
 * Every metric of `actual` against `reference`, compatible with the harness's
 * {@link ErrorFigures}, plus where the worst differences and the first non-finite values are.
 *
 * @example
 * ```ts
 * import type { TensorComparison } from "./metrics.ts";
 * const c: TensorComparison = {
 *   size: 0, maxAbs: 0, maxAbsIndex: -1, rmse: 0, relL2: 0, cosine: 1, maxUlp: 0,
 *   maxUlpIndex: -1, firstNonFiniteActual: -1, firstNonFiniteReference: -1,
 * };
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
 * import type { CompareOptions } from "./metrics.ts";
 * const o: CompareOptions = { dataRange: 2, ssim: true };
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
 * import { compareTensors } from "./metrics.ts";
 * import { Tensor } from "../tensor/tensor.ts";
 * const ref = new Tensor(new Float32Array([1, 2, 3, 4]), [2, 2]);
 * const out = new Tensor(new Float32Array([1, 2, 3, 4.5]), [2, 2]);
 * const c = compareTensors(out, ref);
 * console.log(c.maxAbs, c.maxAbsIndex, c.maxUlp); // 0.5 3 1048576
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
    out.psnr = psnrOf(a.length === 0 ? 0 : sq / a.length, options.dataRange);
  }
  if (options.ssim) {
    if (options.dataRange === undefined) {
      throw new RangeError(`${fn}: options.ssim needs options.dataRange (expected a number > 0)`);
    }
    out.ssim = ssim(actual, reference, { dataRange: options.dataRange });
  }
  return out;
}
