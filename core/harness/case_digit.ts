/**
 * A case's `digit` field: the digit classifier's view of the case's decoded image, as
 * `deno task study digits` scores its samples (grey level by channel mean, 8x8 block means,
 * scikit-learn's logistic regression).
 *
 * @module
 */
import type { DigitCheck } from "./case_spec.ts";
import { loadDigitClassifier } from "./digit_classifier.ts";
import { scoreDigits } from "./digit_metrics.ts";
import type { CaseDigit } from "../results/schema.ts";
import type { Tensor } from "../tensor/tensor.ts";

/** The classifier a `digit` field uses when it names none (fixtures/gen/dump_digit_classifier.py). */
export const DEFAULT_DIGIT_CLASSIFIER = "fixtures/models/digit-classifier.json";

/**
 * Scores a pipeline's image [1, C, H, W] in [-1, 1] (the VAE decoder's output, or an
 * unconditional pipeline's final sample) with the classifier the case's `digit` field names.
 *
 * @throws {FileError} when the classifier cannot be read; {@link RangeError} for an image the
 *   classifier cannot take (H or W not a multiple of 8, more than one image).
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Tensor } from "../tensor/tensor.ts";
 * import { scoreCaseDigit } from "./case_digit.ts";
 * const black = new Tensor(new Float32Array(16 * 16).fill(-1), [1, 1, 16, 16]);
 * const d = await scoreCaseDigit({ label: 3 }, black);
 * assert.equal(d.label, 3);
 * assert.ok(d.labelProbability! < d.probability || d.predicted === 3);
 * ```
 */
export async function scoreCaseDigit(check: DigitCheck, image: Tensor): Promise<CaseDigit> {
  if (image.shape[0] !== 1) {
    throw new RangeError(`digit: expected one image, got a batch of ${image.shape[0]}`);
  }
  const classifier = check.classifier ?? DEFAULT_DIGIT_CLASSIFIER;
  const scores = scoreDigits(await loadDigitClassifier(classifier), image, { range: "[-1,1]" });
  const out: CaseDigit = {
    classifier,
    predicted: scores.predicted[0],
    probability: scores.top[0],
  };
  if (check.label !== undefined) {
    const column = scores.classes.indexOf(check.label);
    if (column < 0) {
      throw new RangeError(`digit.label: ${classifier} has no class ${check.label}`);
    }
    out.label = check.label;
    out.labelProbability = scores.probabilities[column];
  }
  return out;
}
