import assert from "node:assert/strict";
import { decodePngRgb, encodePng } from "../../core/pipelines/png.ts";
import { resultsFromJson } from "../../core/results/json.ts";
import type { RoundTripFigures } from "../../core/results/schema.ts";
import type { InversionStudyResult, StudyCell } from "../../core/results/study_inversion.ts";
import {
  inversionStudyLines,
  renderInversionStudyHtml,
  writeInversionStudy,
} from "../../core/report/study_inversion.ts";

const PNG = encodePng({ width: 2, height: 2, channels: 3, data: new Uint8Array(12).fill(200) });

function figures(psnr: number, nfe: number, ceilingPsnr = 43.1): RoundTripFigures {
  const exact = psnr === Infinity;
  return {
    latentMse: exact ? 0 : 10 ** (-psnr / 10),
    latentMaxAbs: exact ? 0 : 0.5,
    pixelMse: exact ? 0 : 4 * 10 ** (-psnr / 10),
    psnr,
    ssim: exact ? 1 : 0.9,
    ceilingPsnr,
    psnrVsCeiling: exact ? Infinity : psnr + 1,
    nfe,
    ms: nfe * 2.5,
  };
}

/** A cell of two images with these PSNRs (Infinity: exact, counted as 150 in means as the study does). */
function cell(
  model: string,
  method: string,
  steps: number,
  guidance: number | null,
  psnrs: [number, number],
  ceiling = 43.1,
): StudyCell {
  const nfe = (method === "edict" ? 4 : 2) * steps;
  const images = psnrs.map((p) => figures(p, nfe, ceiling));
  const capped = psnrs.map((p) => (p === Infinity ? 150 : p));
  return {
    model,
    method,
    steps,
    guidance,
    mean: {
      ...images[0],
      psnr: (capped[0] + capped[1]) / 2,
      psnrVsCeiling: images[0].psnrVsCeiling === Infinity ? 150 : images[0].psnrVsCeiling,
      ceilingPsnr: ceiling === Infinity ? 150 : ceiling,
    },
    minPsnr: Math.min(...psnrs),
    images,
  };
}

function result(png: Uint8Array = PNG): InversionStudyResult {
  const cells: StudyCell[] = [];
  for (const g of [1, 7.5]) {
    for (const s of [10, 50]) {
      cells.push(cell("digits-sd", "ddim", s, g, [s === 10 ? 28.1 : 31, 29]));
      cells.push(cell("digits-sd", "edict", s, g, [g === 1 ? 40 + s / 10 : 35, 38]));
      cells.push(cell("digits-sd", "npi", s, g, [30 - g, 29 - g]));
    }
  }
  for (const s of [10, 50]) {
    cells.push(cell("digits-ddpm", "ddim", s, null, [25 + s / 10, 24], Infinity));
    cells.push(cell("digits-ddpm", "edict", s, null, [Infinity, Infinity], Infinity));
  }
  const tiles = (methods: string[]) =>
    ["original", "VAE ceiling", ...methods].map((label) => ({ label, png }));
  return {
    format: "diffparity-study-inversion/1",
    study: "inversion",
    file: "cases/inversion.study.ts",
    versions: { deno: "2.9.0", "onnxruntime-node": "1.30.0" },
    inputs: { "fixtures/models/digits-sd/unet.onnx": "ab".repeat(32) },
    steps: [10, 50],
    guidance: [1, 7.5],
    methods: [
      { id: "ddim", label: "DDIM inversion", spec: { method: "ddim" } },
      { id: "edict", label: "EDICT <f64>", spec: { method: "edict", arithmetic: "float64" } },
      { id: "npi", label: "Negative-prompt inversion", spec: { method: "npi" } },
    ],
    models: [
      {
        name: "digits-sd",
        folder: "fixtures/models/digits-sd",
        text: true,
        size: 32,
        images: [{ index: 1700, label: 3 }, { index: 1701, label: 8 }],
        meanCeilingPsnr: 43.1,
      },
      {
        name: "digits-ddpm",
        folder: "fixtures/models/digits-ddpm",
        text: false,
        size: 16,
        images: [{ index: 1700, label: 3 }, { index: 1701, label: 8 }],
        meanCeilingPsnr: Infinity,
      },
    ],
    cells,
    strips: [
      {
        model: "digits-sd",
        image: 0,
        label: 3,
        steps: 50,
        guidance: 1,
        tiles: tiles(["ddim", "edict", "npi"]),
      },
      {
        model: "digits-ddpm",
        image: 1,
        label: 8,
        steps: 10,
        guidance: null,
        tiles: tiles(["ddim", "edict"]),
      },
    ],
    psnrCap: 150,
    warnings: ['scheduler_config.json: "clip_sample" is kept but not used'],
    ms: 12_345,
  };
}

Deno.test("inversionStudyLines: a table per model, step columns, exact for Infinity, best method", () => {
  const lines = inversionStudyLines(result());
  const text = lines.join("\n");
  for (
    const expected of [
      "study inversion (cases/inversion.study.ts): 2 models, 3 methods, 12.3 s",
      "  grid: steps 10,50 x guidance 1,7.5 (text models)",
      "digits-sd (VAE ceiling 43.1 dB; 2 images, 32x32)",
      "  DDIM inversion             g 1    10: 28.6 dB/20   50: 30.0/100",
      "  DDIM inversion             g 7.5  10: 28.6 dB/20   50: 30.0/100",
      "  EDICT <f64>                g 1    10: 39.5 dB/40   50: 41.5/200",
      "  Negative-prompt inversion  g 7.5  10: 22.0 dB/20   50: 22.0/100",
      "  best  10: EDICT <f64> g 1 39.5 dB · 50: EDICT <f64> g 1 41.5 dB",
      "digits-ddpm (no VAE, ceiling exact; 2 images, 16x16)",
      "  DDIM inversion  10: 25.0 dB/20   50: 27.0/100",
      "  EDICT <f64>     10: exact/40     50: exact/200",
      "  best  10: EDICT <f64> exact · 50: EDICT <f64> exact",
      'warning: scheduler_config.json: "clip_sample" is kept but not used',
    ]
  ) assert.ok(lines.includes(expected), `missing: ${expected}\n${text}`);
  assert.ok(!/Infinity|NaN|Inf\b/.test(text), text);
  for (const line of lines) assert.ok(line.length <= 100, `too wide: ${line}`);
  // a pixel-space model has no guidance column
  assert.ok(!lines.some((l) => l.startsWith("  DDIM inversion  g")));
});

Deno.test("inversionStudyLines wraps step columns to 100 characters and names failed images", () => {
  const r = result();
  r.steps = [10, 20, 50, 100, 200, 500, 1000];
  r.cells = r.steps.map((s) => cell("digits-sd", "ddim", s, 1, [30, 29]));
  r.cells[0].failed = [{ image: 1, error: "unet: NaN at step 3" }];
  const lines = inversionStudyLines(r);
  for (const line of lines) assert.ok(line.length <= 100, `too wide: ${line}`);
  const rows = lines.filter((l) => l.startsWith("  DDIM inversion  g 1"));
  assert.equal(rows.length, 2);
  assert.match(rows[1], /^ {2}DDIM inversion {2}g 1 {2}\d+: /);
  assert.ok(
    lines.includes("  DDIM inversion g 1 10 steps: 1 of 2 images failed (unet: NaN at step 3)"),
  );
  assert.ok(lines.includes("digits-ddpm (no VAE, ceiling exact; 2 images, 16x16)"));
  assert.ok(lines.includes("  no grid point ran"));
});

Deno.test("renderInversionStudyHtml: header, full table, three charts per model, strips, escaped", () => {
  const r = result();
  const html = renderInversionStudyHtml(r);
  assert.match(html, /<title>diffparity inversion study: inversion<\/title>/);
  assert.match(html, /<code>cases\/inversion\.study\.ts<\/code>/);
  assert.match(html, /deno 2\.9\.0 · onnxruntime-node 1\.30\.0/);
  assert.match(html, /<details><summary>inputs: 1 file \(sha256\)<\/summary>/);
  assert.match(html, /12\.3 s/);
  assert.match(
    html,
    /<li>scheduler_config\.json: &quot;clip_sample&quot; is kept but not used<\/li>/,
  );
  // one row per cell
  const tbody = html.split("<tbody>")[1].split("</tbody>")[0];
  assert.equal(tbody.match(/<tr/g)?.length, r.cells.length);
  assert.match(
    tbody,
    /<tr><td>digits-sd<\/td><td>DDIM inversion<\/td><td>1<\/td><td>10<\/td><td>20<\/td>/,
  );
  assert.match(tbody, /<td>digits-ddpm<\/td><td>EDICT &lt;f64&gt;<\/td><td>-<\/td><td>10<\/td>/);
  assert.match(tbody, />exact<\/span><\/td><td>exact<\/td><td>exact<\/td>/);
  // labels escaped everywhere, the charts' legends included
  assert.ok(!html.includes("EDICT <f64>"));
  assert.ok(html.includes("EDICT &lt;f64&gt;"));
  assert.ok(!html.includes("NaN"));
  assert.ok(!html.includes("Infinity"));
  // three charts per model, each one plot SVG (the legend swatches are small SVGs of their own)
  assert.equal(html.match(/<div class="chart"/g)?.length, 6);
  assert.equal(html.match(/<svg viewBox/g)?.length, 6);
  for (const id of ["psnr-digits-sd", "latent-digits-sd", "nfe-digits-sd", "psnr-digits-ddpm"]) {
    const chart = html.split(`<div class="chart" id="${id}">`)[1].split('<div class="chart"')[0];
    assert.equal(chart.match(/<svg viewBox/g)?.length, 1, id);
  }
  // the text model's PSNR chart: a panel per guidance and the ceiling rule; the pixel model's not
  const sd = html.split('id="psnr-digits-sd"')[1].split('<div class="chart"')[0];
  assert.match(sd, />g 1<\/text>/);
  assert.match(sd, />g 7\.5<\/text>/);
  assert.match(sd, /VAE ceiling 43\.1 dB/);
  const ddpm = html.split('id="psnr-digits-ddpm"')[1].split('<div class="chart"')[0];
  assert.ok(!ddpm.includes("VAE ceiling"));
  assert.match(ddpm, /exact shown at 150/);
  assert.match(html.split('id="latent-digits-ddpm"')[1], /exact shown at 1e-4/);
  // strips: a row each, tiles inline while the PNGs are only in memory, pixelated at 96 px
  assert.equal(html.match(/<div class="strip">/g)?.length, 2);
  assert.equal(html.match(/<img src="data:image\/png;base64,/g)?.length, 9);
  assert.match(html, /\.tiles img\{width:96px;image-rendering:pixelated/);
  assert.match(html, /<p>digit 3 \(image 0\), 50 steps, guidance 1<\/p>/);
  assert.match(
    html,
    /<figure title="EDICT &lt;f64&gt;">.*?<figcaption>edict<br>exact<\/figcaption>/,
  );
  assert.match(html, /<figcaption>ddim<br>31\.0 dB<\/figcaption>/);
  assert.match(html, /<figcaption>VAE ceiling<br>43\.1 dB<\/figcaption>/);
  assert.ok(!/<script/i.test(html));
});

Deno.test("writeInversionStudy writes the PNGs, study.json and index.html", async () => {
  const dir = await Deno.makeTempDir();
  const out = `${dir}/study`;
  const paths = await writeInversionStudy(result(), out);
  assert.deepEqual(paths, { html: `${out}/index.html`, json: `${out}/study.json` });
  const text = await Deno.readTextFile(paths.json);
  const json = JSON.parse(text);
  assert.equal(json.format, "diffparity-study-inversion/1");
  assert.equal(json.cells.length, result().cells.length);
  const files: string[] = [];
  for (const strip of json.strips) {
    for (const tile of strip.tiles) {
      assert.equal(typeof tile.file, "string");
      assert.equal(tile.png, undefined);
      files.push(tile.file);
    }
  }
  assert.equal(new Set(files).size, 9);
  assert.deepEqual(files.slice(0, 3).map((f) => f.split("/").pop()), [
    "digits-sd-0-50-g1-original.png",
    "digits-sd-0-50-g1-VAE-ceiling.png",
    "digits-sd-0-50-g1-ddim.png",
  ]);
  assert.equal(files[5].split("/").pop(), "digits-ddpm-1-10-original.png");
  for (const f of files) assert.equal(decodePngRgb(await Deno.readFile(`${out}/${f}`)).width, 2);
  // non-finite numbers as strings, as results.json writes them
  assert.match(text, /"meanCeilingPsnr": "Infinity"/);
  assert.match(text, /"minPsnr": "Infinity"/);
  const back = resultsFromJson(text) as InversionStudyResult;
  const exact = back.cells.find((c) => c.model === "digits-ddpm" && c.method === "edict")!;
  assert.equal(exact.images[0].psnr, Infinity);
  const html = await Deno.readTextFile(paths.html);
  assert.ok(html.includes(`<img src="${files[0]}"`));
  assert.ok(!html.includes("data:image/png"));
  await Deno.remove(dir, { recursive: true });
});

Deno.test("writeInversionStudy into an unwritable path rejects and writes no page", async () => {
  const dir = await Deno.makeTempDir();
  await Deno.writeTextFile(`${dir}/file`, "not a folder");
  const out = `${dir}/file/study`;
  await assert.rejects(
    writeInversionStudy(result(), out),
    (e: Error) =>
      e.name === "ReportError" && e.message.startsWith(`${out}: cannot write the study`),
  );
  assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["file"]);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("writeInversionStudy leaves the previous study as it was when a write fails", async () => {
  const dir = await Deno.makeTempDir();
  const out = `${dir}/study`;
  await writeInversionStudy(result(), out);
  const before = await Deno.readTextFile(`${out}/index.html`);
  const beforeJson = await Deno.readTextFile(`${out}/study.json`);
  const beforeImages = [...Deno.readDirSync(`${out}/images`)].map((e) => e.name);
  await assert.rejects(
    writeInversionStudy(result("not bytes" as unknown as Uint8Array), out),
    (e: Error) => e.name === "ReportError",
  );
  assert.equal(await Deno.readTextFile(`${out}/index.html`), before);
  assert.equal(await Deno.readTextFile(`${out}/study.json`), beforeJson);
  assert.deepEqual([...Deno.readDirSync(`${out}/images`)].map((e) => e.name), beforeImages);
  assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["study"]);
  await Deno.remove(dir, { recursive: true });
});
