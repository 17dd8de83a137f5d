/**
 * Checks error figures against a `Tolerance` and says which bound failed, where, and by how much.
 *
 * @module
 */
import type { Tolerance } from "./case.ts";
import type { ErrorFigures } from "./results.ts";

/**
 * The bounds of `tol` that `figures` violate, as sentences like
 * `maxAbs 3.1e-4 > 1e-5 (31x) at step 7 (t=641)`. Empty when all hold. NaN figures always fail.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { violations } from "./tolerance.ts";
 * const figures = { maxAbs: 2e-5, rmse: 1e-6, relL2: 1e-6, cosine: 1, maxUlp: 40 };
 * assert.deepEqual(violations(figures, { maxAbs: 1e-5 }, "at step 3"), [
 *   "maxAbs 2e-5 > 1e-5 (2x) at step 3",
 * ]);
 * assert.deepEqual(violations(figures, { maxAbs: 1e-4, cosineMin: 0.999 }), []);
 * ```
 */
export function violations(figures: ErrorFigures, tol: Tolerance, where = ""): string[] {
  const out: string[] = [];
  const suffix = where ? ` ${where}` : "";
  const upper = (name: string, value: number | undefined, bound: number | undefined) => {
    if (bound === undefined || value === undefined) return;
    if (!(value <= bound)) {
      out.push(`${name} ${fmt(value)} > ${fmt(bound)}${ratio(value, bound)}${suffix}`);
    }
  };
  const lower = (name: string, value: number | undefined, bound: number | undefined) => {
    if (bound === undefined || value === undefined) return;
    if (!(value >= bound)) out.push(`${name} ${fmt(value)} < ${fmt(bound)}${suffix}`);
  };
  upper("maxAbs", figures.maxAbs, tol.maxAbs);
  upper("maxUlp", figures.maxUlp, tol.maxUlp);
  upper("rmse", figures.rmse, tol.rmse);
  upper("relL2", figures.relL2, tol.relL2);
  lower("cosine", figures.cosine, tol.cosineMin);
  lower("psnr", figures.psnr, tol.psnrMin);
  lower("ssim", figures.ssim, tol.ssimMin);
  return out;
}

function ratio(value: number, bound: number): string {
  if (!Number.isFinite(value) || bound <= 0) return "";
  return ` (${fmt(value / bound)}x)`;
}

/**
 * A compact number for messages: integers as is, others with 3 significant digits.
 *
 * @example
 * ```ts
 * import { fmt } from "./tolerance.ts";
 * fmt(0.000312345); // "3.12e-4"
 * ```
 */
export function fmt(x: number): string {
  if (Number.isNaN(x)) return "NaN";
  if (!Number.isFinite(x)) return x > 0 ? "Inf" : "-Inf";
  if (Number.isInteger(x) && Math.abs(x) < 1e9) return String(x);
  const a = Math.abs(x);
  if (a !== 0 && (a < 1e-3 || a >= 1e5)) {
    return Number(x.toPrecision(3)).toExponential().replace("e+", "e");
  }
  // More digits where 3 would round a non-integer to an integer (0.99999 must not read "1").
  let digits = 3;
  while (a < 1 && digits < 9 && Number.isInteger(Number(x.toPrecision(digits)))) digits++;
  return String(Number(x.toPrecision(digits)));
}
