import assert from "node:assert/strict";
import { defineCase } from "../../core/harness/case.ts";
import { loadCases } from "../../core/harness/cases_loader.ts";
import { verify } from "../../core/harness/verify.ts";
import { caseLine } from "../../core/report/console.ts";
import { writeReport } from "../../core/report/write.ts";
import type { VerifyResult } from "../../core/results/schema.ts";

const [guidance1] = await loadCases("cases", "guidance-1");

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

Deno.test("verify reports each case as it ends and writes nothing; writeReport writes results.json, index.html, junit.xml and the images", async () => {
  const root = await Deno.makeTempDir();
  const out = `${root}/reports`;
  const broken = defineCase({
    ...structuredClone(guidance1),
    name: "broken-unet",
    unet: "fixtures/models-test/unet_renamed_input.onnx",
  });
  const lines: string[] = [];
  const seen: string[] = [];
  const cwdBefore = [...Deno.readDirSync(".")].map((e) => e.name).sort();
  const result = await verify({
    cases: [guidance1, broken],
    onCase: (r, index, total) => {
      lines.push(caseLine(r));
      seen.push(`${index}/${total} ${r.name}`);
    },
    manifest: null,
  });
  assert.deepEqual(seen, ["0/2 guidance-1", "1/2 broken-unet"]);
  assert.deepEqual(
    [...Deno.readDirSync(".")].map((e) => e.name).sort(),
    cwdBefore,
    "wrote nothing",
  );
  assert.equal(result.passed, 1);
  assert.equal(result.failed, 1);
  assert.equal(lines.length, 2);
  assert.match(
    lines[0],
    /^PASS {2}guidance-1 +vs onnx 0 \(<= 1e-5\) · vs torch [0-9.e-]+ \(<= 0.001\) · image Inf dB \(>= 60 dB\) · sched 0 ulp \(<= 0 ulp\) · model 0 \(<= 1e-5\)/,
  );
  assert.match(lines[1], /^ERROR broken-unet +fixtures\/models-test\/unet_renamed_input\.onnx/);
  const [ours] = result.cases[0].images ?? [];
  assert.equal(ours?.label, "ours");
  assert.deepEqual([...ours.png!.subarray(0, 8)], PNG_SIGNATURE, "the runner keeps the PNG bytes");
  assert.equal(result.cases[1].images, undefined, "an errored case has no image");

  await writeReport(result, out);
  const text = await Deno.readTextFile(`${out}/results.json`);
  assert.doesNotMatch(text, /data:/, "no data URL in results.json");
  const json: VerifyResult = JSON.parse(text);
  assert.equal(json.format, "diffparity-results/2");
  assert.equal(json.cases[0].comparisons.length, 5);
  const file = json.cases[0].images![0].file!;
  assert.deepEqual(json.cases[0].images, [{ label: "ours", file }]);
  assert.match(file, /^images\/[^/]+\/guidance-1\.png$/);
  assert.ok(json.versions["onnxruntime-node"], "records the onnxruntime-node version");
  const png = await Deno.readFile(`${out}/${file}`);
  assert.deepEqual([...png.subarray(0, 8)], PNG_SIGNATURE);
  assert.deepEqual(png, ours.png);
  const html = await Deno.readTextFile(`${out}/index.html`);
  assert.match(html, /diffparity: 1 passed, 1 failed/);
  assert.ok(html.includes(`<img src="${file}"`));
  assert.match(await Deno.readTextFile(`${out}/junit.xml`), /tests="2" failures="0" errors="1"/);
  assert.deepEqual([...Deno.readDirSync(out)].map((e) => e.name).sort(), [
    "images",
    "index.html",
    "junit.xml",
    "results.json",
  ], "no temp files left");
  assert.deepEqual([...Deno.readDirSync(root)].map((e) => e.name), ["reports"], "no temp folder");
  await Deno.remove(root, { recursive: true });
});

Deno.test("caseLine shows each comparison's figure against its bound, and FAIL where it fails", async () => {
  const tight = defineCase({
    ...structuredClone(guidance1),
    tolerances: { freeRunTorch: { maxAbs: 1e-9 } },
  });
  const result = await verify({ cases: [tight] });
  const line = caseLine(result.cases[0]);
  assert.match(line, /^FAIL {2}guidance-1 .*vs torch [0-9.]+e-5 \(<= 1e-9\) FAIL/);
  assert.match(line, /\n {6}freeRunTorch: maxAbs [0-9.]+e-5 > 1e-9/);
});
