import assert from "node:assert/strict";
import {
  type DigitClassifier,
  loadDigitClassifier,
  parseDigitClassifier,
  predictProba,
} from "../../core/harness/digit_classifier.ts";
import { upsampleDigits } from "../../core/harness/digit_images.ts";
import { scoreDigits } from "../../core/harness/digit_metrics.ts";
import { FileError } from "../../core/tensor/errors.ts";
import { readSafetensors } from "../../core/tensor/safetensors.ts";
import { Tensor } from "../../core/tensor/tensor.ts";

// Written by fixtures/gen/dump_digit_classifier.py: the classifier, and scikit-learn's own
// predict_proba / torch's upsample on inputs it chose.
const CLASSIFIER = "fixtures/models/digit-classifier.json";
const REFS = "fixtures/refs/digits/classifier.safetensors";

async function load() {
  return [await loadDigitClassifier(CLASSIFIER), await readSafetensors(REFS)] as const;
}

/** max |ours - sklearn| over all probabilities, and the element where it is. */
function worst(ours: Float64Array, ref: Float64Array): { d: number; at: number } {
  assert.equal(ours.length, ref.length);
  let d = 0;
  let at = -1;
  for (let i = 0; i < ours.length; i++) {
    const e = Math.abs(ours[i] - ref[i]);
    if (!(e <= d)) [d, at] = [e, i];
  }
  return { d, at };
}

function assertProbsClose(ours: Float64Array, ref: Float64Array, what: string): void {
  const { d, at } = worst(ours, ref);
  assert.ok(d <= 1e-6, `${what}: max |p - sklearn| ${d} > 1e-6 at element ${at}`);
}

/** [N, 1, H, W] -> [N, 3, H, W], the grey in every channel (as digits-sd's images). */
function toRgb(t: Tensor): Tensor {
  const [n, , h, w] = t.shape;
  const out = new Float32Array(n * 3 * h * w);
  for (let b = 0; b < n; b++) {
    const plane = t.data.subarray(b * h * w, (b + 1) * h * w);
    for (let c = 0; c < 3; c++) out.set(plane, (b * 3 + c) * h * w);
  }
  return new Tensor(out, [n, 3, h, w]);
}

Deno.test("the held-out digits, upsampled as the models were trained, get scikit-learn's probabilities to 1e-6", async () => {
  const [c, refs] = await load();
  const heldout = c.heldout!;
  const ref = refs.float64("heldout.probs");
  for (const size of [16, 32]) {
    const up = upsampleDigits(heldout.images, heldout.count, size);
    assertProbsClose(scoreDigits(c, up, { range: "[-1,1]" }).probabilities, ref, `grey ${size}px`);
    const rgb = scoreDigits(c, toRgb(up), { range: "[-1,1]" });
    assertProbsClose(rgb.probabilities, ref, `RGB ${size}px`);
    assert.deepEqual(rgb.predicted, refs.ints("heldout.predict"), `predict ${size}px`);
  }
});

Deno.test("RGB [0,1], signed [-1,1] (values beyond clamped) and extreme images get scikit-learn's probabilities", async () => {
  const [c, refs] = await load();
  for (
    const [name, range] of [["rgb", "[0,1]"], ["signed", "[-1,1]"], ["extreme", "[0,1]"]] as const
  ) {
    const s = scoreDigits(c, refs.tensor(`${name}.images`), { range });
    assertProbsClose(s.probabilities, refs.float64(`${name}.probs`), name);
  }
});

Deno.test("a perturbed weight is caught by the 1e-6 comparison (the test can fail)", async () => {
  const [c, refs] = await load();
  const coef = c.coef.map((row) => row.slice());
  coef[3][27] += 1e-3;
  const bent: DigitClassifier = { ...c, coef };
  const s = scoreDigits(bent, refs.tensor("rgb.images"), { range: "[0,1]" });
  assert.ok(worst(s.probabilities, refs.float64("rgb.probs")).d > 1e-6);
});

Deno.test("the held-out digits are the split's (every 10th index) with labels 0..9", async () => {
  const [c] = await load();
  const h = c.heldout!;
  assert.deepEqual(h.indices, Array.from({ length: 180 }, (_, i) => i * 10));
  assert.deepEqual(new Set(h.labels).size, 10);
  assert.ok(h.images.every((v) => Number.isInteger(v) && v >= 0 && v <= 16));
});

Deno.test("malformed classifier files are refused naming the file and field", async () => {
  const good = JSON.parse(await Deno.readTextFile(CLASSIFIER));
  const bad = (patch: Record<string, unknown>, pattern: RegExp) =>
    assert.throws(
      () => parseDigitClassifier({ ...good, ...patch }, "c.json"),
      (e) => e instanceof FileError && e.file === "c.json" && pattern.test(e.message),
    );
  bad({ format: "other/1" }, /format: expected "diffparity-digit-classifier\/1", got "other\/1"/);
  bad({ intercept: [1, 2] }, /intercept: expected an array of 10 numbers, got 2 elements/);
  bad({ coef: good.coef.slice(1) }, /coef: expected 10 rows/);
  bad(
    { coef: [good.coef[0], [...good.coef[1].slice(1), "x"], ...good.coef.slice(2)] },
    /coef\[1\]\[63\]: expected a finite number, got x/,
  );
  bad({ features: { size: 0, scale: 16 } }, /features\.size: expected a positive integer/);
  bad({ heldout: { ...good.heldout, labels: [1] } }, /heldout\.labels: expected an array of 180/);
  assert.throws(() => parseDigitClassifier([], "c.json"), /c\.json: expected a JSON object/);
  const dir = await Deno.makeTempDir();
  await Deno.writeTextFile(`${dir}/c.json`, "{");
  await assert.rejects(loadDigitClassifier(`${dir}/c.json`), /c\.json: not valid JSON/);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("predictProba refuses a partial feature row and sums to 1 per row", async () => {
  const [c] = await load();
  assert.throws(() => predictProba(c, new Float64Array(65)), /expected rows of 64/);
  const p = predictProba(c, new Float64Array(128).map((_, i) => i % 17));
  for (const row of [p.subarray(0, 10), p.subarray(10, 20)]) {
    assert.ok(Math.abs(row.reduce((a, b) => a + b) - 1) < 1e-12);
  }
});
