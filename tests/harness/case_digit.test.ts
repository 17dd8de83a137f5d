import assert from "node:assert/strict";
import { defineCase } from "../../core/harness/case.ts";
import { DEFAULT_DIGIT_CLASSIFIER, scoreCaseDigit } from "../../core/harness/case_digit.ts";
import { loadDigitClassifier } from "../../core/harness/digit_classifier.ts";
import { scoreDigits } from "../../core/harness/digit_metrics.ts";
import { runCase } from "../../core/harness/runner.ts";
import { imageToTensor } from "../../core/pipelines/image.ts";
import { readPngRgb } from "../../core/pipelines/png.ts";
import { caseLine } from "../../core/report/console.ts";
import { Tensor } from "../../core/tensor/tensor.ts";
import digitsSdDdimG5 from "../../cases/digits-sd-ddim-g5.case.ts";

// fixtures/gen/dump_images.py: the first held-out "3" of load_digits, never trained on.
const HELDOUT_THREE = "fixtures/images/digit-heldout.png";

Deno.test("a held-out real 3 is scored a 3, with the probability of the asked label", async () => {
  const image = imageToTensor(await readPngRgb(HELDOUT_THREE));
  const three = await scoreCaseDigit({ label: 3 }, image);
  assert.equal(three.classifier, DEFAULT_DIGIT_CLASSIFIER);
  assert.equal(three.predicted, 3);
  assert.equal(three.labelProbability, three.probability);
  const asked = await scoreCaseDigit({ label: 8 }, image);
  assert.equal(asked.predicted, 3);
  // the asked label's column of the same scores, not the top one
  const scores = scoreDigits(await loadDigitClassifier(DEFAULT_DIGIT_CLASSIFIER), image, {
    range: "[-1,1]",
  });
  assert.equal(asked.labelProbability, scores.probabilities[scores.classes.indexOf(8)]);
  assert.ok(asked.labelProbability! < 0.5);
  // an unconditional case names no label
  assert.deepEqual(Object.keys(await scoreCaseDigit({}, image)).sort(), [
    "classifier",
    "predicted",
    "probability",
  ]);
});

Deno.test("a digit check refuses a batch and names a missing classifier file", async () => {
  await assert.rejects(
    scoreCaseDigit({}, Tensor.zeros([2, 3, 32, 32])),
    /digit: expected one image, got a batch of 2/,
  );
  await assert.rejects(
    scoreCaseDigit(
      { classifier: "fixtures/models/no-such-classifier.json" },
      Tensor.zeros([1, 1, 16, 16]),
    ),
    /fixtures\/models\/no-such-classifier\.json/,
  );
});

Deno.test("defineCase checks the digit field", () => {
  const base = {
    name: "d",
    model: "fixtures/models/digits-ddpm",
    pipeline: "unconditional" as const,
    sampler: { type: "DDPMScheduler" as const },
    steps: 2,
    seed: 0,
  };
  assert.throws(
    () => defineCase({ ...base, digit: { label: 10 } }),
    /digit\.label: expected a digit 0\.\.9; got 10/,
  );
  assert.throws(
    () => defineCase({ ...base, digit: { label: "7" as unknown as number } }),
    /digit\.label: expected a digit 0\.\.9; got "7"/,
  );
  assert.throws(() => defineCase({ ...base, digit: { classifier: "" } }), /digit\.classifier/);
  assert.throws(
    () => defineCase({ ...base, digit: 7 as unknown as { label: number } }),
    /digit: expected an object/,
  );
  assert.deepEqual(defineCase({ ...base, digit: {} }).digit, {});
});

Deno.test("a digits-sd case asked for a 7 at guidance 5 draws a 7, and its verdict says so", async () => {
  const r = await runCase(digitsSdDdimG5);
  assert.equal(r.status, "pass");
  assert.equal(r.digit?.label, 7);
  assert.equal(r.digit?.predicted, 7);
  assert.match(caseLine(r), /\n {6}digit: the classifier sees a 7 \(p [01]\.\d{3}\); asked for 7/);
});

Deno.test("a digit that cannot be scored leaves the verdict alone and says why", async () => {
  const c = { ...digitsSdDdimG5, digit: { label: 7, classifier: "fixtures/models/no-such.json" } };
  const r = await runCase(c);
  assert.equal(r.status, "pass");
  assert.equal(r.digit, undefined);
  assert.ok(
    r.warnings?.some((w) => w.startsWith("digit: not scored (") && w.includes("no-such.json")),
    JSON.stringify(r.warnings),
  );
});
