import assert from "node:assert/strict";
import type { DigitsStudyResult } from "../../core/results/study.ts";
import {
  digitsStudyLines,
  renderDigitsStudyHtml,
  targetLine,
  writeDigitsStudy,
} from "../../core/report/study_digits.ts";

const label = (k: number, correct: number, total: number) => ({
  label: k,
  correct,
  total,
  accuracy: correct / total,
});

function result(png: Uint8Array = new Uint8Array([137, 80, 78, 71])): DigitsStudyResult {
  return {
    format: "diffparity-study-digits/1",
    versions: {},
    classifier: "fixtures/models/digit-classifier.json",
    inputs: { "fixtures/models/digit-classifier.json": "ab".repeat(32) },
    ceilings: [{
      model: "sd",
      size: 32,
      images: 180,
      accuracy: 175 / 180,
      meanTop: 0.968,
      perLabel: [label(0, 100, 100), label(1, 75, 80)],
    }],
    floors: [{
      model: "sd",
      size: 32,
      channels: 3,
      images: 4,
      seed: 0,
      meanTop: 0.9,
      histogram: [0, 4],
    }],
    prompted: {
      model: "sd",
      sampler: "DDIMScheduler",
      steps: 50,
      eta: 0,
      size: 32,
      prompt: "a handwritten digit {k}",
      digits: [0, 1],
      seeds: [0, 1],
      runs: [
        {
          guidanceScale: 5,
          images: 4,
          accuracy: 0.75,
          meanTop: 0.9,
          perLabel: [label(0, 2, 2), label(1, 1, 2)],
          predicted: [0, 0, 1, 0],
          grid: { label: "guidance 5", png },
          ms: 1200,
        },
        {
          guidanceScale: 1,
          images: 4,
          accuracy: 0.25,
          meanTop: 0.6,
          perLabel: [label(0, 1, 2), label(1, 0, 2)],
          predicted: [0, 1, 0, 0],
          grid: { label: "guidance 1", png },
          ms: 900,
        },
      ],
    },
    unconditional: {
      model: "ddpm",
      size: 16,
      seed: 0,
      runs: [{
        sampler: "DDPMScheduler",
        steps: 1000,
        images: 20,
        histogram: [1, 2, 2, 2, 2, 2, 2, 2, 2, 3],
        meanTop: 0.85,
        predicted: [],
        grid: { label: "DDPM", png },
        ms: 5000,
      }],
    },
    targets: [
      { label: "digits prompted, guidance 5: accuracy", value: 0.75, min: 0.8, pass: false },
      { label: "ddpm <smallest> share", value: 0.05, min: 0.04, pass: true },
    ],
    warnings: ['s.json: "x" is not an option'],
    pass: false,
    ms: 7100,
  };
}

Deno.test("digitsStudyLines prints the ceiling, the floor, both guidance scales, the class shares and each target", () => {
  const text = digitsStudyLines(result()).join("\n");
  for (
    const expected of [
      "  sd (32x32): accuracy 97.2% (175/180), mean top probability 0.968",
      "  sd (4 x 3x32x32, seed 0): mean top probability 0.900; classes 0: 0.0%  1: 100.0%",
      "  guidance 5: accuracy 75.0% (3/4), mean top probability 0.900, 1.2 s",
      "    per digit (correct/images): 0: 2/2  1: 1/2",
      "  guidance 1: accuracy 25.0% (1/4), mean top probability 0.600, 0.9 s",
      "  DDPMScheduler 1000 steps: smallest class 0 5.0%, mean top probability 0.850, 5.0 s",
      "    classes: 0: 5.0%  1: 10.0%  2: 10.0%",
      '"a handwritten digit {k}" for digits 0,1 x seeds 0,1, DDIMScheduler 50 steps, eta 0, 32x32',
      "warning: s.json",
      "  FAIL  digits prompted, guidance 5: accuracy 0.75 (>= 0.8)",
      "  PASS  ddpm <smallest> share 0.05 (>= 0.04)",
      "FAIL: 1 of 2 targets met (7.1 s)",
    ]
  ) assert.ok(text.includes(expected), `missing: ${expected}\n${text}`);
  assert.equal(
    targetLine({ label: "x", value: 0.1, max: 0.2, pass: true }),
    "PASS  x 0.1 (<= 0.2)",
  );
});

Deno.test("the HTML page escapes text, shows grids that have files and the targets' verdicts", () => {
  const r = result();
  r.prompted!.runs[0].grid = { label: "g5", file: "images/r/prompted-guidance-5.png" };
  const html = renderDigitsStudyHtml(r);
  assert.match(html, /<title>diffparity digits study: FAIL<\/title>/);
  assert.match(html, /<img src="images\/r\/prompted-guidance-5.png"/);
  assert.equal(html.match(/<img /g)?.length, 1); // grids held only in memory are not shown
  assert.match(html, /ddpm &lt;smallest&gt; share/);
  assert.match(html, /<tr class="fail"><td>FAIL<\/td>/);
});

Deno.test("writeDigitsStudy writes grids, study.json and index.html; a rewrite drops the old grids", async () => {
  const dir = await Deno.makeTempDir();
  const out = `${dir}/study`;
  const first = await writeDigitsStudy(result(), out);
  const files = [
    first.prompted!.runs[0].grid!.file!,
    first.prompted!.runs[1].grid!.file!,
    first.unconditional!.runs[0].grid!.file!,
  ];
  assert.deepEqual(files.map((f) => f.split("/").pop()), [
    "prompted-guidance-5.png",
    "prompted-guidance-1.png",
    "unconditional-DDPMScheduler-1000.png",
  ]);
  for (const f of files) {
    assert.deepEqual(await Deno.readFile(`${out}/${f}`), new Uint8Array([137, 80, 78, 71]));
  }
  const json = JSON.parse(await Deno.readTextFile(`${out}/study.json`));
  assert.equal(json.format, "diffparity-study-digits/1");
  assert.equal(json.prompted.runs[0].grid.file, files[0]);
  assert.equal(json.prompted.runs[0].grid.png, undefined);
  await Deno.writeTextFile(`${out}/notes.txt`, "mine");
  const second = await writeDigitsStudy(result(), out);
  const oldRun = files[0].split("/")[1];
  assert.notEqual(second.prompted!.runs[0].grid!.file!.split("/")[1], oldRun);
  assert.equal(await Deno.stat(`${out}/images/${oldRun}`).catch(() => null), null);
  assert.equal(await Deno.readTextFile(`${out}/notes.txt`), "mine");
  await Deno.remove(dir, { recursive: true });
});

Deno.test("writeDigitsStudy leaves the previous study as it was when a write fails", async () => {
  const dir = await Deno.makeTempDir();
  const out = `${dir}/study`;
  await writeDigitsStudy(result(), out);
  const before = await Deno.readTextFile(`${out}/index.html`);
  const beforeImages = [...Deno.readDirSync(`${out}/images`)].map((e) => e.name);
  await assert.rejects(
    writeDigitsStudy(result("not bytes" as unknown as Uint8Array), out),
    (e: Error) => e.name === "ReportError" && /study: cannot write the study/.test(e.message),
  );
  assert.equal(await Deno.readTextFile(`${out}/index.html`), before);
  assert.deepEqual([...Deno.readDirSync(`${out}/images`)].map((e) => e.name), beforeImages);
  assert.deepEqual(
    [...Deno.readDirSync(dir)].map((e) => e.name),
    ["study"],
    "no temporary folder left",
  );
  await Deno.remove(dir, { recursive: true });
});
