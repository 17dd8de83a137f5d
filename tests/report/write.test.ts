import assert from "node:assert/strict";
import { readResults, rerenderHtml, writeReport } from "../../core/report/write.ts";
import type { VerifyResult } from "../../core/results/schema.ts";
import { sampleResult } from "./fixtures_results.ts";

const PNG = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 1, 2, 3]);

function withImage(png: Uint8Array = PNG): VerifyResult {
  const result = sampleResult();
  result.cases[0].images = [{ label: "ours", png }];
  return result;
}

async function snapshot(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const walk = async (sub: string) => {
    for await (const e of Deno.readDir(`${dir}/${sub}`)) {
      const rel = sub ? `${sub}/${e.name}` : e.name;
      if (e.isDirectory) await walk(rel);
      else out[rel] = new TextDecoder().decode(await Deno.readFile(`${dir}/${rel}`));
    }
  };
  await walk("");
  return out;
}

Deno.test("writeReport writes each image as a PNG file and results.json refers to it, with no data URL", async () => {
  const root = await Deno.makeTempDir();
  const out = `${root}/reports`;
  const written = await writeReport(withImage(), out);
  const text = await Deno.readTextFile(`${out}/results.json`);
  assert.doesNotMatch(text, /data:/);
  assert.doesNotMatch(text, /"png"/, "the bytes are not serialised");
  const json: VerifyResult = JSON.parse(text);
  assert.deepEqual(json, written);
  assert.equal(json.format, "diffparity-results/2");
  const file = json.cases[0].images![0].file!;
  assert.deepEqual(json.cases[0].images, [{ label: "ours", file }]);
  // one folder per run: a page never sees another run's images under its own names
  assert.match(file, /^images\/\d{8}T\d{6}-[0-9a-f]{6}\/ddim-eta0\.png$/);
  const png = await Deno.readFile(`${out}/${file}`);
  assert.deepEqual([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  assert.deepEqual(png, PNG);
  assert.ok((await Deno.readTextFile(`${out}/index.html`)).includes(`<img src="${file}"`));
  assert.match(await Deno.readTextFile(`${out}/junit.xml`), /<testsuite /);
  assert.deepEqual([...Deno.readDirSync(root)].map((e) => e.name), ["reports"], "no temp folder");
  await Deno.remove(root, { recursive: true });
});

Deno.test("writeReport with images: false writes and shows no image", async () => {
  const out = await Deno.makeTempDir();
  const written = await writeReport(withImage(), out, { images: false });
  assert.equal(written.cases[0].images, undefined);
  assert.deepEqual([...Deno.readDirSync(out)].map((e) => e.name).sort(), [
    "index.html",
    "junit.xml",
    "results.json",
  ]);
  assert.doesNotMatch(await Deno.readTextFile(`${out}/index.html`), /<img /);
  await Deno.remove(out, { recursive: true });
});

Deno.test("writeReport leaves the previous report intact when rendering throws", async () => {
  const root = await Deno.makeTempDir();
  const out = `${root}/reports`;
  await writeReport(withImage(), out);
  await Deno.writeTextFile(`${out}/README.md`, "kept\n");
  const before = await snapshot(out);
  const bad = withImage(new Uint8Array([0x89, 9, 9, 9]));
  Object.defineProperty(bad.cases[1], "comparisons", {
    get() {
      throw new Error("rendering failed");
    },
    enumerable: true,
  });
  await assert.rejects(writeReport(bad, out), /rendering failed/);
  assert.deepEqual(await snapshot(out), before, "nothing in the report folder changed");
  assert.deepEqual([...Deno.readDirSync(root)].map((e) => e.name), ["reports"], "no temp folder");
  await Deno.remove(root, { recursive: true });
});

Deno.test("writeReport leaves the previous report intact when writing a file fails", async () => {
  const root = await Deno.makeTempDir();
  const out = `${root}/reports`;
  await writeReport(withImage(), out);
  const before = await snapshot(out);
  // Not bytes: the image write fails after the temporary folder was made.
  const bad = withImage("not bytes" as unknown as Uint8Array);
  bad.cases[1].images = [{ label: "ours", png: new Uint8Array([1]) }];
  await assert.rejects(writeReport(bad, out), (err: Error) => {
    assert.equal(err.name, "ReportError");
    assert.match(err.message, /reports: cannot write the report/);
    return true;
  });
  assert.deepEqual(await snapshot(out), before, "nothing in the report folder changed");
  assert.deepEqual([...Deno.readDirSync(root)].map((e) => e.name), ["reports"], "no temp folder");
  await Deno.remove(root, { recursive: true });
});

Deno.test("writeReport replaces a previous report, keeps unrelated files and drops stale images", async () => {
  const out = await Deno.makeTempDir();
  await Deno.writeTextFile(`${out}/README.md`, "kept\n");
  const first = withImage();
  first.cases[1].images = [{ label: "ours", png: PNG }];
  const before = await writeReport(first, out);
  const oldImage = `${out}/${before.cases[1].images![0].file}`;
  assert.ok((await Deno.stat(oldImage)).isFile);
  await Deno.writeFile(`${out}/images/loose-from-an-old-report.png`, PNG);
  const second = withImage(new Uint8Array([0x89, 0x50, 0x4e, 0x47, 42]));
  second.passed = 7;
  const after = await writeReport(second, out);
  assert.equal(await Deno.readTextFile(`${out}/README.md`), "kept\n");
  assert.deepEqual(
    await Deno.readFile(`${out}/${after.cases[0].images![0].file}`),
    second.cases[0].images![0].png,
  );
  assert.equal(await Deno.stat(oldImage).catch(() => null), null, "the old run's images are gone");
  assert.deepEqual([...Deno.readDirSync(`${out}/images`)].length, 1, "only the new run's folder");
  assert.equal((await readResults(`${out}/results.json`)).passed, 7);
  await Deno.remove(out, { recursive: true });
});

Deno.test("readResults refuses the older format and anything else with the file named", async () => {
  const dir = await Deno.makeTempDir();
  await Deno.writeTextFile(`${dir}/old.json`, JSON.stringify({ format: "diffparity-results/1" }));
  await assert.rejects(
    readResults(`${dir}/old.json`),
    /old\.json: written in the older format "diffparity-results\/1".*deno task verify/,
  );
  await Deno.writeTextFile(`${dir}/other.json`, JSON.stringify({ format: "other" }));
  await assert.rejects(
    readResults(`${dir}/other.json`),
    /other\.json: format: expected "diffparity-results\/2", got "other"/,
  );
  await assert.rejects(readResults(`${dir}/missing.json`), /missing\.json: cannot read results/);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("rerenderHtml links the images relative to the new page", async () => {
  const root = await Deno.makeTempDir();
  const written = await writeReport(withImage(), `${root}/reports`);
  const file = written.cases[0].images![0].file!;
  await rerenderHtml(`${root}/reports/results.json`, `${root}/reports/again.html`);
  assert.ok((await Deno.readTextFile(`${root}/reports/again.html`)).includes(`<img src="${file}"`));
  await rerenderHtml(`${root}/reports/results.json`, `${root}/elsewhere/index.html`);
  assert.ok(
    (await Deno.readTextFile(`${root}/elsewhere/index.html`)).includes(
      `<img src="../reports/${file}"`,
    ),
  );
  await Deno.remove(root, { recursive: true });
});

Deno.test("a PSNR of Inf dB reads back as Inf, and the re-rendered page and verdict say Inf", async () => {
  const root = await Deno.makeTempDir();
  const result = sampleResult();
  const c = result.cases[0].comparisons[0];
  c.worst.psnr = Infinity;
  c.tolerance = { psnrMin: 60 };
  await writeReport(result, `${root}/reports`);
  const back = await readResults(`${root}/reports/results.json`);
  assert.equal(back.cases[0].comparisons[0].worst.psnr, Infinity);
  await rerenderHtml(`${root}/reports/results.json`, `${root}/again.html`);
  const html = await Deno.readTextFile(`${root}/again.html`);
  assert.doesNotMatch(html, /-Inf dB/);
  assert.match(html, /Inf dB/);
});

Deno.test("writeReport puts back the pages it already replaced when a later one fails", async () => {
  const root = await Deno.makeTempDir();
  const out = `${root}/reports`;
  const first = await writeReport(withImage(), out);
  // index.html cannot be replaced (a folder stands in its place): results.json and junit.xml,
  // replaced before it, must come back, and the new run's images must go
  await Deno.remove(`${out}/index.html`);
  await Deno.mkdir(`${out}/index.html/blocker`, { recursive: true });
  const before = await snapshot(out);
  const second = withImage(new Uint8Array([0x89, 0x50, 0x4e, 0x47, 7]));
  second.passed = 99;
  await assert.rejects(writeReport(second, out), /reports: cannot write the report/);
  assert.deepEqual(await snapshot(out), before, "the previous results.json and junit.xml are back");
  assert.equal((await readResults(`${out}/results.json`)).passed, first.passed);
  assert.deepEqual([...Deno.readDirSync(`${out}/images`)].length, 1, "only the first run's images");
  assert.deepEqual([...Deno.readDirSync(root)].map((e) => e.name), ["reports"], "no temp folder");
  await Deno.remove(root, { recursive: true });
});

Deno.test("while a report is written, the previous page's images stay as they were", async () => {
  const root = await Deno.makeTempDir();
  const out = `${root}/reports`;
  const first = await writeReport(withImage(), out);
  const second = await writeReport(withImage(new Uint8Array([0x89, 0x50, 0x4e, 0x47, 7])), out);
  // the two runs' images have different paths: the old page never showed the new run's bytes
  assert.notEqual(first.cases[0].images![0].file, second.cases[0].images![0].file);
  await Deno.remove(root, { recursive: true });
});
