/**
 * The digit classifier that says whether a model trained on scikit-learn's digits learned
 * them: a multinomial logistic regression fitted by fixtures/gen/dump_digit_classifier.py,
 * its weights read from JSON (`fixtures/models/digit-classifier.json`) and applied here in
 * float64, giving scikit-learn's `predict_proba` (softmax of `coef @ x + intercept`) to 1e-6.
 * The features of an image are made by core/harness/digit_images.ts; the figures by
 * core/harness/digit_metrics.ts.
 *
 * @module
 */
import { FileError } from "../tensor/errors.ts";

/** The `format` of the classifier file this version reads. */
export const DIGIT_CLASSIFIER_FORMAT = "diffparity-digit-classifier/1";

/**
 * Real digits the classifier was not fitted on (the split's held-out images), raw 8x8 grey
 * levels 0..16: what the ceiling (accuracy on real digits) is measured on.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { HeldoutDigits } from "./digit_classifier.ts";
 * const h: HeldoutDigits = { count: 1, indices: [0], labels: [0], images: new Float64Array(64) };
 * assert.equal(h.images.length, 64 * h.count);
 * ```
 */
export interface HeldoutDigits {
  /** Number of images. */
  count: number;
  /** Their indices in scikit-learn's `load_digits()`. */
  indices: number[];
  /** Their labels. */
  labels: number[];
  /** [count, 8, 8] row-major, grey levels 0..16 as in `load_digits().images`. */
  images: Float64Array;
}

/**
 * A fitted classifier: `p = softmax(coef @ features + intercept)` over `classes`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { DigitClassifier } from "./digit_classifier.ts";
 * const c: DigitClassifier = {
 *   file: "c.json", classes: [0, 1], featureSize: 1, featureScale: 16,
 *   coef: [new Float64Array([1]), new Float64Array([-1])], intercept: new Float64Array(2),
 * };
 * assert.equal(c.coef[0].length, c.featureSize ** 2);
 * ```
 */
export interface DigitClassifier {
  /** The file it was read from (or a label), for messages. */
  readonly file: string;
  /** The class labels, in the order of `coef` rows and of the probabilities. */
  readonly classes: readonly number[];
  /** One row of `featureSize ** 2` weights per class. */
  readonly coef: readonly Float64Array[];
  /** One bias per class. */
  readonly intercept: Float64Array;
  /** Images are block-averaged to `featureSize x featureSize` (8). */
  readonly featureSize: number;
  /** Features are those means (grey levels in [0, 1]) times `featureScale` (16). */
  readonly featureScale: number;
  /** The held-out real digits, when the file has them. */
  readonly heldout?: HeldoutDigits;
}

function numberArray(v: unknown, file: string, field: string, length?: number): number[] {
  if (!Array.isArray(v) || (length !== undefined && v.length !== length)) {
    throw new FileError(
      file,
      field,
      `expected an array of ${length ?? "some"} numbers, got ${
        Array.isArray(v) ? `${v.length} elements` : JSON.stringify(v)?.slice(0, 40)
      }`,
    );
  }
  v.forEach((x, i) => {
    if (typeof x !== "number" || !Number.isFinite(x)) {
      throw new FileError(file, `${field}[${i}]`, `expected a finite number, got ${x}`);
    }
  });
  return v as number[];
}

function positiveInteger(v: unknown, file: string, field: string): number {
  if (!Number.isInteger(v) || (v as number) < 1) {
    throw new FileError(file, field, `expected a positive integer, got ${JSON.stringify(v)}`);
  }
  return v as number;
}

function parseHeldout(v: unknown, file: string, features: number): HeldoutDigits {
  if (typeof v !== "object" || v === null || Array.isArray(v)) {
    throw new FileError(file, "heldout", "expected an object {indices, labels, images}");
  }
  const h = v as Record<string, unknown>;
  const indices = numberArray(h.indices, file, "heldout.indices");
  const labels = numberArray(h.labels, file, "heldout.labels", indices.length);
  if (!Array.isArray(h.images) || h.images.length !== indices.length) {
    throw new FileError(
      file,
      "heldout.images",
      `expected ${indices.length} images (one per index) of ${features} grey levels`,
    );
  }
  const images = new Float64Array(indices.length * features);
  h.images.forEach((row, i) => {
    images.set(numberArray(row, file, `heldout.images[${i}]`, features), i * features);
  });
  return { count: indices.length, indices, labels, images };
}

/**
 * Checks and converts a parsed classifier file (`format` {@link DIGIT_CLASSIFIER_FORMAT};
 * `classes` [K], `coef` [K][size * size], `intercept` [K], `features.size` and
 * `features.scale`, optionally `heldout`). Errors name `file` and the field.
 *
 * @throws {FileError} naming the field and what was expected.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseDigitClassifier } from "./digit_classifier.ts";
 * const json = {
 *   format: "diffparity-digit-classifier/1", classes: [0, 1], features: { size: 1, scale: 16 },
 *   coef: [[0.5], [-0.5]], intercept: [0, 0],
 * };
 * assert.deepEqual(parseDigitClassifier(json, "c.json").classes, [0, 1]);
 * assert.throws(
 *   () => parseDigitClassifier({ ...json, coef: [[0.5], [0, 1]] }, "c.json"),
 *   /c\.json: coef\[1\]: expected an array of 1 numbers, got 2 elements/,
 * );
 * ```
 */
export function parseDigitClassifier(json: unknown, file = "<json>"): DigitClassifier {
  if (typeof json !== "object" || json === null || Array.isArray(json)) {
    throw new FileError(file, undefined, "expected a JSON object (a digit classifier)");
  }
  const j = json as Record<string, unknown>;
  if (j.format !== DIGIT_CLASSIFIER_FORMAT) {
    throw new FileError(
      file,
      "format",
      `expected "${DIGIT_CLASSIFIER_FORMAT}", got ${JSON.stringify(j.format)} ` +
        "(written by fixtures/gen/dump_digit_classifier.py)",
    );
  }
  const f = j.features;
  if (typeof f !== "object" || f === null) {
    throw new FileError(file, "features", "expected an object {size, scale}");
  }
  const featureSize = positiveInteger((f as Record<string, unknown>).size, file, "features.size");
  const scale = (f as Record<string, unknown>).scale;
  if (typeof scale !== "number" || !(scale > 0) || !Number.isFinite(scale)) {
    throw new FileError(file, "features.scale", `expected a number > 0, got ${scale}`);
  }
  const classes = numberArray(j.classes, file, "classes");
  if (classes.length < 2) throw new FileError(file, "classes", "expected at least 2 classes");
  const n = featureSize * featureSize;
  if (!Array.isArray(j.coef) || j.coef.length !== classes.length) {
    throw new FileError(file, "coef", `expected ${classes.length} rows (one per class)`);
  }
  const coef = j.coef.map((row, k) => Float64Array.from(numberArray(row, file, `coef[${k}]`, n)));
  const intercept = Float64Array.from(
    numberArray(j.intercept, file, "intercept", classes.length),
  );
  const out: DigitClassifier = {
    file,
    classes,
    coef,
    intercept,
    featureSize,
    featureScale: scale,
  };
  return j.heldout === undefined ? out : { ...out, heldout: parseHeldout(j.heldout, file, n) };
}

/**
 * Reads a classifier file ({@link parseDigitClassifier}); errors name the file.
 *
 * @throws {FileError} when the file is missing, not JSON, or malformed.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { loadDigitClassifier } from "./digit_classifier.ts";
 * const c = await loadDigitClassifier("fixtures/models/digit-classifier.json");
 * assert.deepEqual([c.classes.length, c.coef[0].length, c.heldout?.count], [10, 64, 180]);
 * await assert.rejects(loadDigitClassifier("no/such.json"), /no\/such\.json: cannot read/);
 * ```
 */
export async function loadDigitClassifier(path: string): Promise<DigitClassifier> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (err) {
    throw new FileError(path, undefined, `cannot read the file (${(err as Error).message})`, {
      cause: err,
    });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new FileError(path, undefined, `not valid JSON (${(err as Error).message})`, {
      cause: err,
    });
  }
  return parseDigitClassifier(json, path);
}

/**
 * Class probabilities of feature rows (scikit-learn's `predict_proba`): for each row of
 * `featureSize ** 2` features, `softmax(coef @ x + intercept)` in float64 (the largest logit
 * subtracted first). Returns `rows x classes` probabilities, row-major.
 *
 * @throws {RangeError} when `features` is not a whole number of rows.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseDigitClassifier, predictProba } from "./digit_classifier.ts";
 * const c = parseDigitClassifier({
 *   format: "diffparity-digit-classifier/1", classes: [0, 1], features: { size: 1, scale: 16 },
 *   coef: [[1], [-1]], intercept: [0, 0],
 * });
 * const p = predictProba(c, new Float64Array([0, 0.5]));
 * assert.deepEqual([p[0], p[1]], [0.5, 0.5]); // x = 0: equal logits
 * assert.ok(Math.abs(p[2] - 1 / (1 + Math.exp(-1))) < 1e-15); // logits 0.5 and -0.5
 * ```
 */
export function predictProba(classifier: DigitClassifier, features: Float64Array): Float64Array {
  const n = classifier.featureSize ** 2;
  const k = classifier.classes.length;
  if (features.length % n !== 0) {
    throw new RangeError(
      `predictProba: features: expected rows of ${n} (${classifier.file}), got ${features.length} values`,
    );
  }
  const rows = features.length / n;
  const out = new Float64Array(rows * k);
  const logits = new Float64Array(k);
  for (let r = 0; r < rows; r++) {
    const x = features.subarray(r * n, (r + 1) * n);
    let max = -Infinity;
    for (let c = 0; c < k; c++) {
      const w = classifier.coef[c];
      let z = 0;
      for (let i = 0; i < n; i++) z += w[i] * x[i];
      logits[c] = z + classifier.intercept[c];
      if (logits[c] > max) max = logits[c];
    }
    let sum = 0;
    for (let c = 0; c < k; c++) {
      logits[c] = Math.exp(logits[c] - max);
      sum += logits[c];
    }
    for (let c = 0; c < k; c++) out[r * k + c] = logits[c] / sum;
  }
  return out;
}
