import assert from "node:assert/strict";
import { loadDigitClassifier } from "../../core/harness/digit_classifier.ts";
import { upsampleDigits } from "../../core/harness/digit_images.ts";
import {
  classHistogram,
  digitAccuracy,
  digitAccuracyByLabel,
  type DigitScores,
  meanTopProbability,
  scoreDigits,
} from "../../core/harness/digit_metrics.ts";
import { readSafetensors } from "../../core/tensor/safetensors.ts";

const scores = (predicted: number[], top: number[]): DigitScores => ({
  count: predicted.length,
  classes: [0, 1, 2],
  probabilities: new Float64Array(predicted.length * 3),
  predicted,
  top,
});

Deno.test("the held-out accuracy is scikit-learn's: its predict against the labels", async () => {
  const c = await loadDigitClassifier("fixtures/models/digit-classifier.json");
  const sklearnPredict = (await readSafetensors("fixtures/refs/digits/classifier.safetensors"))
    .ints("heldout.predict");
  const h = c.heldout!;
  const s = scoreDigits(c, upsampleDigits(h.images, h.count, 32), { range: "[-1,1]" });
  const expected = sklearnPredict.filter((p, i) => p === h.labels[i]).length / h.count;
  assert.equal(digitAccuracy(s, h.labels), expected);
  const byLabel = digitAccuracyByLabel(s, h.labels);
  assert.equal(byLabel.reduce((a, r) => a + r.total, 0), 180);
  assert.equal(byLabel.reduce((a, r) => a + r.correct, 0) / 180, expected);
  // the top probability is the predicted class's
  s.predicted.forEach((p, i) => assert.equal(s.top[i], s.probabilities[i * 10 + p]));
});

Deno.test("scoreDigits breaks a tie at the first class (numpy's argmax)", async () => {
  const { parseDigitClassifier } = await import("../../core/harness/digit_classifier.ts");
  const c = parseDigitClassifier({
    format: "diffparity-digit-classifier/1",
    classes: [3, 5, 7],
    features: { size: 1, scale: 16 },
    coef: [[0], [1], [1]],
    intercept: [0, 0, 0],
  });
  const { Tensor } = await import("../../core/tensor/tensor.ts");
  const s = scoreDigits(c, new Tensor(new Float32Array([1, 0]), [2, 1, 1, 1]), { range: "[0,1]" });
  assert.deepEqual(s.predicted, [5, 3]); // 5 and 7 tie on the bright image; all tie on black
});

Deno.test("accuracy, per-label accuracy, histogram and mean top probability", () => {
  const s = scores([0, 2, 2, 1], [0.5, 1, 0.75, 0.75]);
  assert.equal(digitAccuracy(s, [0, 2, 1, 1]), 0.75);
  assert.deepEqual(digitAccuracyByLabel(s, [0, 2, 1, 1]), [
    { label: 0, correct: 1, total: 1, accuracy: 1 },
    { label: 1, correct: 1, total: 2, accuracy: 0.5 },
    { label: 2, correct: 1, total: 1, accuracy: 1 },
  ]);
  assert.deepEqual(classHistogram(s), [1, 1, 2]);
  assert.equal(meanTopProbability(s), 0.75);
  assert.ok(Number.isNaN(digitAccuracyByLabel(scores([0], [1]), [0])[2].accuracy));
  assert.deepEqual([digitAccuracy(scores([], []), []), meanTopProbability(scores([], []))], [0, 0]);
  assert.throws(() => digitAccuracy(s, [0]), /digitAccuracy: labels: expected 4 labels/);
});
