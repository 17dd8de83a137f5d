/**
 * What "learned" means for a model trained on scikit-learn's digits, measured: the digit
 * classifier's probabilities for a batch of images ({@link scoreDigits}), and the figures over
 * them that cases and studies report: accuracy against the intended labels, accuracy per
 * label, the histogram of predicted classes and the mean top probability.
 *
 * @module
 */
import type { Tensor } from "../tensor/tensor.ts";
import { type DigitClassifier, predictProba } from "./digit_classifier.ts";
import { digitFeatures, type DigitImageRange } from "./digit_images.ts";

/**
 * The classifier's verdict on N images.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { DigitScores } from "./digit_metrics.ts";
 * const s: DigitScores = {
 *   count: 1, classes: [0, 1], probabilities: new Float64Array([0.2, 0.8]), predicted: [1], top: [0.8],
 * };
 * assert.equal(s.probabilities.length, s.count * s.classes.length);
 * ```
 */
export interface DigitScores {
  /** Number of images. */
  count: number;
  /** The classifier's classes (the columns of `probabilities`). */
  classes: readonly number[];
  /** [count, classes] row-major: each image's class probabilities. */
  probabilities: Float64Array;
  /** Each image's most probable class (the first on a tie, as numpy's argmax). */
  predicted: number[];
  /** Each image's largest probability. */
  top: number[];
}

/**
 * Scores images [N, C, H, W] (grey or RGB, H and W multiples of 8) with the classifier:
 * features as {@link digitFeatures} with the given `range`, then {@link predictProba}.
 *
 * @throws {RangeError} for images {@link digitFeatures} refuses.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Tensor } from "../tensor/tensor.ts";
 * import { parseDigitClassifier } from "./digit_classifier.ts";
 * import { scoreDigits } from "./digit_metrics.ts";
 * const classifier = parseDigitClassifier({ // class 1 when the image is bright
 *   format: "diffparity-digit-classifier/1", classes: [0, 1], features: { size: 1, scale: 16 },
 *   coef: [[-1], [1]], intercept: [8, -8],
 * });
 * const images = new Tensor(new Float32Array([-1, 1]), [2, 1, 1, 1]); // black, white
 * const s = scoreDigits(classifier, images, { range: "[-1,1]" });
 * assert.deepEqual(s.predicted, [0, 1]);
 * assert.ok(s.top[0] > 0.99);
 * ```
 */
export function scoreDigits(
  classifier: DigitClassifier,
  images: Tensor,
  options: { range: DigitImageRange },
): DigitScores {
  const features = digitFeatures(
    images,
    options.range,
    classifier.featureSize,
    classifier.featureScale,
  );
  const probabilities = predictProba(classifier, features);
  const k = classifier.classes.length;
  const count = probabilities.length / k;
  const predicted: number[] = [];
  const top: number[] = [];
  for (let r = 0; r < count; r++) {
    let best = 0;
    for (let c = 1; c < k; c++) {
      if (probabilities[r * k + c] > probabilities[r * k + best]) best = c;
    }
    predicted.push(classifier.classes[best]);
    top.push(probabilities[r * k + best]);
  }
  return { count, classes: classifier.classes, probabilities, predicted, top };
}

function checkLabels(scores: DigitScores, labels: readonly number[], fn: string): void {
  if (labels.length !== scores.count) {
    throw new RangeError(
      `${fn}: labels: expected ${scores.count} labels (one per image), got ${labels.length}`,
    );
  }
}

/**
 * The fraction of images whose predicted class is their label (0 for no image).
 *
 * @throws {RangeError} when there is not one label per image.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { digitAccuracy } from "./digit_metrics.ts";
 * const scores = { count: 4, classes: [0, 1], probabilities: new Float64Array(8), predicted: [0, 1, 1, 1], top: [1, 1, 1, 1] };
 * assert.equal(digitAccuracy(scores, [0, 1, 0, 1]), 0.75);
 * ```
 */
export function digitAccuracy(scores: DigitScores, labels: readonly number[]): number {
  checkLabels(scores, labels, "digitAccuracy");
  if (scores.count === 0) return 0;
  return scores.predicted.filter((p, i) => p === labels[i]).length / scores.count;
}

/**
 * Accuracy per label, in the order of `scores.classes`: for each class, how many images meant
 * as it were predicted as it, of how many (`accuracy` NaN for a label no image has).
 *
 * @throws {RangeError} when there is not one label per image.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { digitAccuracyByLabel } from "./digit_metrics.ts";
 * const scores = { count: 3, classes: [0, 1], probabilities: new Float64Array(6), predicted: [0, 0, 1], top: [1, 1, 1] };
 * assert.deepEqual(digitAccuracyByLabel(scores, [0, 1, 1]).map((r) => r.accuracy), [1, 0.5]);
 * ```
 */
export function digitAccuracyByLabel(
  scores: DigitScores,
  labels: readonly number[],
): { label: number; correct: number; total: number; accuracy: number }[] {
  checkLabels(scores, labels, "digitAccuracyByLabel");
  return scores.classes.map((label) => {
    let correct = 0;
    let total = 0;
    labels.forEach((l, i) => {
      if (l !== label) return;
      total++;
      if (scores.predicted[i] === label) correct++;
    });
    return { label, correct, total, accuracy: total === 0 ? NaN : correct / total };
  });
}

/**
 * How many images were predicted as each class, in the order of `scores.classes`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { classHistogram } from "./digit_metrics.ts";
 * const scores = { count: 3, classes: [0, 1, 2], probabilities: new Float64Array(9), predicted: [2, 0, 2], top: [1, 1, 1] };
 * assert.deepEqual(classHistogram(scores), [1, 0, 2]);
 * ```
 */
export function classHistogram(scores: DigitScores): number[] {
  return scores.classes.map((c) => scores.predicted.filter((p) => p === c).length);
}

/**
 * The mean over images of the largest class probability: how sure the classifier is that an
 * image is some digit (0 for no image).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { meanTopProbability } from "./digit_metrics.ts";
 * const scores = { count: 2, classes: [0, 1], probabilities: new Float64Array(4), predicted: [0, 1], top: [0.5, 1] };
 * assert.equal(meanTopProbability(scores), 0.75);
 * ```
 */
export function meanTopProbability(scores: DigitScores): number {
  return scores.count === 0 ? 0 : scores.top.reduce((s, p) => s + p, 0) / scores.count;
}
