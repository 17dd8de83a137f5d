/**
 * Image metrics for decoded images and latents: PSNR and SSIM (Wang et al. 2004, as
 * scikit-image's `structural_similarity` with `gaussian_weights=True`, sigma 1.5), checked
 * against numpy / scikit-image figures.
 *
 * @module
 */
import { Tensor } from "../tensor/tensor.ts";
import { type MetricInput, metricPair as pair, shapeText } from "./metric_input.ts";

/**
 * Checks the `dataRange` of {@link psnr} / {@link ssim}: a finite number > 0.
 *
 * @throws {RangeError} naming `fn` and the value.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { checkDataRange } from "./image_metrics.ts";
 * checkDataRange("psnr", 1);
 * assert.throws(() => checkDataRange("psnr", 0), /psnr: dataRange: got 0/);
 * ```
 */
export function checkDataRange(fn: string, dataRange: number): void {
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
 * import assert from "node:assert/strict";
 * import { psnr } from "./image_metrics.ts";
 * const db = psnr(new Float32Array([0.5, 0.5]), new Float32Array([0.5, 0.6]), 1);
 * assert.ok(Math.abs(db - 23.0103) < 1e-3); // 10 log10(1 / 0.005)
 * ```
 */
export function psnr(actual: MetricInput, reference: MetricInput, dataRange: number): number {
  checkDataRange("psnr", dataRange);
  const [a, b] = pair("rmse", actual, reference);
  let s = 0;
  for (let i = 0; i < a.length; i++) {
    const d = a[i] - b[i];
    s += d * d;
  }
  const e = a.length === 0 ? 0 : Math.sqrt(s / a.length); // the RMSE, as metrics.ts' rmse
  return psnrFromMse(e * e, dataRange);
}

/**
 * PSNR in dB from a mean squared error: `10 log10(dataRange^2 / mse)`, Infinity when `mse` is 0.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { psnrFromMse } from "./image_metrics.ts";
 * assert.equal(psnrFromMse(0.01, 1), 20);
 * assert.equal(psnrFromMse(0, 1), Infinity);
 * ```
 */
export function psnrFromMse(mse: number, dataRange: number): number {
  return mse === 0 ? Infinity : 10 * Math.log10((dataRange * dataRange) / mse);
}

/**
 * Options of {@link ssim}. The defaults are Wang et al. (2004)'s.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { SsimOptions } from "./image_metrics.ts";
 * const o: SsimOptions = { dataRange: 2 }; // images in [-1, 1]
 * assert.equal(o.dataRange, 2);
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
 * import assert from "node:assert/strict";
 * import { ssim } from "./image_metrics.ts";
 * import { Tensor } from "../tensor/tensor.ts";
 * const img = new Tensor(new Float32Array(3 * 16 * 16).map((_, i) => (i % 7) / 7), [3, 16, 16]);
 * assert.equal(ssim(img, img, { dataRange: 1 }), 1);
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
