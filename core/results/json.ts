/**
 * results.json text: JSON has no Infinity or NaN (`JSON.stringify` writes `null`, so a PSNR of
 * Inf dB would read back as missing), so the error figures and tolerance bounds that can be
 * non-finite are written as the strings "Infinity", "-Infinity" and "NaN" and read back as
 * numbers. Other strings are left alone.
 *
 * @module
 */

/** The number fields of the results schema that may hold a non-finite value. */
const FIGURE_KEYS: ReadonlySet<string> = new Set([
  "maxAbs",
  "rmse",
  "relL2",
  "cosine",
  "maxUlp",
  "psnr",
  "ssim",
  "cosineMin",
  "psnrMin",
  "ssimMin",
]);

const NON_FINITE: Readonly<Record<string, number>> = {
  "Infinity": Infinity,
  "-Infinity": -Infinity,
  "NaN": NaN,
};

/**
 * `value` as results.json text (indent 1, trailing newline), non-finite figures as strings.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { resultsFromJson, resultsToJson } from "./json.ts";
 * const text = resultsToJson({ worst: { psnr: Infinity, maxAbs: 0 } });
 * assert.match(text, /"psnr": "Infinity"/);
 * assert.deepEqual(resultsFromJson(text), { worst: { psnr: Infinity, maxAbs: 0 } });
 * ```
 */
export function resultsToJson(value: unknown): string {
  return JSON.stringify(
    value,
    (key, v) =>
      typeof v === "number" && !Number.isFinite(v) && FIGURE_KEYS.has(key) ? String(v) : v,
    1,
  ) + "\n";
}

/**
 * Parses results.json text, turning the non-finite figures written by {@link resultsToJson}
 * back into numbers.
 *
 * @throws {SyntaxError} when `text` is not JSON.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { resultsFromJson } from "./json.ts";
 * const r = resultsFromJson('{"worst":{"psnr":"Infinity"},"prompt":"NaN"}') as Record<string, unknown>;
 * assert.deepEqual(r, { worst: { psnr: Infinity }, prompt: "NaN" });
 * ```
 */
export function resultsFromJson(text: string): unknown {
  return JSON.parse(
    text,
    (key, v) =>
      typeof v === "string" && FIGURE_KEYS.has(key) && v in NON_FINITE ? NON_FINITE[v] : v,
  );
}
