/**
 * Number formatting shared by the verdict lines, the HTML report and the tolerance messages.
 *
 * @module
 */

/**
 * A compact number for messages: integers as is, others with 3 significant digits (more where 3
 * would round a non-integer below 1 to an integer), tiny and huge ones in exponent form.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { fmt } from "./format.ts";
 * assert.deepEqual(fmt(0.000312345), "3.12e-4");
 * assert.deepEqual(fmt(42), "42");
 * assert.deepEqual(fmt(0.99999), "0.99999");
 * assert.deepEqual(fmt(Infinity), "Inf");
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
