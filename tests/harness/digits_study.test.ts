import { FixtureHashError, sha256File } from "../../core/harness/fixture_hashes.ts";
import assert from "node:assert/strict";
import { loadDigitClassifier } from "../../core/harness/digit_classifier.ts";
import { heldoutCeiling, noiseFloor, runDigitsStudy } from "../../core/harness/digits_study.ts";
import { FileError } from "../../core/tensor/errors.ts";
import { unconditionalFolder } from "./_digits_folders.ts";

const CLASSIFIER = "fixtures/models/digit-classifier.json";

Deno.test("runDigitsStudy: ceilings, floors, runs, grids and targets that follow from the runs", async () => {
  const root = await unconditionalFolder();
  const lines: string[] = [];
  try {
    const r = await runDigitsStudy({
      classifier: CLASSIFIER,
      prompted: "fixtures/models/tiny-sd",
      unconditional: root,
      digits: [1, 7],
      seeds: [0, 1, 2],
      guidanceScales: [5, 1],
      steps: 2,
      samples: 20,
      unconditionalRuns: [{ sampler: "DDIMScheduler", steps: 3 }],
      onProgress: (line) => lines.push(line),
    });
    assert.deepEqual(r.ceilings.map((c) => [c.size, c.images]), [[128, 180], [16, 180]]);
    assert.deepEqual(r.floors.map((f) => [f.size, f.channels, f.images]), [[128, 3, 200], [
      16,
      3,
      200,
    ]]);
    const p = r.prompted!;
    assert.deepEqual([p.size, p.steps, p.eta, p.sampler], [128, 2, 0, "DDIMScheduler"]);
    assert.deepEqual(p.runs.map((x) => [x.guidanceScale, x.images, x.predicted.length]), [
      [5, 6, 6],
      [1, 6, 6],
    ]);
    for (const run of p.runs) {
      // accuracy against the digit asked for: rows of 3 seeds for 1, then for 7
      const labels = [1, 1, 1, 7, 7, 7];
      assert.equal(run.accuracy, run.predicted.filter((d, i) => d === labels[i]).length / 6);
      assert.deepEqual(run.perLabel.map((l) => [l.label, l.total]), [[1, 3], [7, 3]]);
      assert.deepEqual([...run.grid!.png!.subarray(1, 4)], [80, 78, 71]); // PNG
    }
    const u = r.unconditional!;
    assert.deepEqual([u.size, u.seed, u.runs.length, u.runs[0].images], [16, 0, 1, 20]);
    const hist = u.runs[0].histogram;
    assert.equal(hist.reduce((a, b) => a + b), 20);
    assert.deepEqual(r.targets.map((t) => t.label), [
      "digits prompted, guidance 5: accuracy",
      "digits unconditional, DDIMScheduler 3 steps: smallest class share",
      "digits unconditional, DDIMScheduler 3 steps: mean top probability",
    ]);
    assert.deepEqual(r.targets.map((t) => [t.value, t.min]), [
      [p.runs[0].accuracy, 0.8],
      [Math.min(...hist) / 20, 0.04],
      [u.runs[0].meanTop, 0.8],
    ]);
    assert.equal(r.pass, r.targets.every((t) => t.pass));
    assert.ok(lines.some((l) => /guidance 5: 6\/6 images/.test(l)));
    assert.ok(lines.some((l) => /DDIMScheduler 3 steps: step 3\/3/.test(l)));
    // the UNet adds t: a DDPM config seen by DDIM warns about its options, naming the file
    assert.ok(r.warnings.some((w) => w.startsWith(`${root}/scheduler/scheduler_config.json`)));
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("runDigitsStudy names a missing model folder or classifier file", async () => {
  await assert.rejects(
    runDigitsStudy({ classifier: CLASSIFIER, prompted: "no/such-model", unconditional: null }),
    (e) => e instanceof FileError && e.file === "no/such-model",
  );
  await assert.rejects(
    runDigitsStudy({ classifier: "no/such.json", prompted: null, unconditional: null }),
    (e) => e instanceof FileError && e.file === "no/such.json",
  );
});

Deno.test("the ceiling is the same at 16 and 32 px; the noise floor is confident too (a linear classifier)", async () => {
  const c = await loadDigitClassifier(CLASSIFIER);
  const [a, b] = [heldoutCeiling(c, 16, "m"), heldoutCeiling(c, 32, "m")];
  assert.deepEqual({ ...a, size: 0 }, { ...b, size: 0 });
  assert.ok(a.accuracy > 0.95, `${a.accuracy}`);
  const floor = noiseFloor(c, { model: "m", size: 16, channels: 1, images: 200, seed: 0 });
  assert.equal(floor.histogram.reduce((x, y) => x + y), 200);
  // what the meanTop target alone cannot tell apart from a trained model; the histogram can
  assert.ok(floor.meanTop > 0.5 && Math.min(...floor.histogram) / 200 < 0.04);
  assert.throws(() => heldoutCeiling({ ...c, heldout: undefined }, 16, "m"), /heldout: missing/);
});

Deno.test("runDigitsStudy records what it measured and refuses a classifier its manifest does not vouch for", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.copyFile("fixtures/models/digit-classifier.json", `${dir}/c.json`);
    const sha = await sha256File(`${dir}/c.json`);
    const manifest = (digest: string) =>
      Deno.writeTextFile(
        `${dir}/manifest.json`,
        JSON.stringify({ files: { "c.json": { sha256: digest } } }),
      );
    const options = {
      classifier: `${dir}/c.json`,
      prompted: null,
      unconditional: null,
      manifest: `${dir}/manifest.json`,
    };
    await manifest(sha);
    const r = await runDigitsStudy(options);
    assert.deepEqual(r.inputs, { [`${dir}/c.json`]: sha });
    assert.equal(r.versions.deno, Deno.version.deno);
    await manifest("0".repeat(64));
    await assert.rejects(
      runDigitsStudy(options),
      (e) => e instanceof FixtureHashError && e.message.includes("c.json"),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
