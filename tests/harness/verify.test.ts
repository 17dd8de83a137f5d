import assert from "node:assert/strict";
import { defineCase } from "../../core/harness/case.ts";
import { loadCases } from "../../core/harness/cases_loader.ts";
import { caseLine, verify } from "../../core/harness/verify.ts";
import type { VerifyResult } from "../../core/harness/results.ts";

const [guidance1] = await loadCases("cases", "guidance-1");

Deno.test("verify writes results.json, index.html and junit.xml and logs one line per case", async () => {
  const out = await Deno.makeTempDir();
  const broken = defineCase({
    ...structuredClone(guidance1),
    name: "broken-unet",
    unet: "fixtures/models-test/unet_renamed_input.onnx",
  });
  const lines: string[] = [];
  const result = await verify({
    cases: [guidance1, broken],
    outDir: out,
    log: (l) => lines.push(l),
    manifest: null,
  });
  assert.equal(result.passed, 1);
  assert.equal(result.failed, 1);
  assert.equal(lines.length, 2);
  assert.match(
    lines[0],
    /^PASS {2}guidance-1 +vs onnx 0 \(<= 1e-5\) · vs torch [0-9.e-]+ \(<= 0.001\) · image Inf dB \(>= 60 dB\) · sched 0 ulp \(<= 0 ulp\) · model 0 \(<= 1e-5\)/,
  );
  assert.match(lines[1], /^ERROR broken-unet +fixtures\/models-test\/unet_renamed_input\.onnx/);
  const json: VerifyResult = JSON.parse(await Deno.readTextFile(`${out}/results.json`));
  assert.equal(json.format, "diffparity-results/1");
  assert.equal(json.cases[0].comparisons.length, 5);
  assert.ok(json.versions["onnxruntime-node"], "records the onnxruntime-node version");
  assert.match(await Deno.readTextFile(`${out}/index.html`), /diffparity: 1 passed, 1 failed/);
  assert.match(await Deno.readTextFile(`${out}/junit.xml`), /tests="2" failures="0" errors="1"/);
  assert.deepEqual([...Deno.readDirSync(out)].map((e) => e.name).sort(), [
    "index.html",
    "junit.xml",
    "results.json",
  ], "no temp files left");
  await Deno.remove(out, { recursive: true });
});

Deno.test("caseLine shows each comparison's figure against its bound, and FAIL where it fails", async () => {
  const tight = defineCase({
    ...structuredClone(guidance1),
    tolerances: { freeRunTorch: { maxAbs: 1e-9 } },
  });
  const result = await verify({ cases: [tight], outDir: null, log: () => {} });
  const line = caseLine(result.cases[0]);
  assert.match(line, /^FAIL {2}guidance-1 .*vs torch [0-9.]+e-5 \(<= 1e-9\) FAIL/);
  assert.match(line, /\n {6}freeRunTorch: maxAbs [0-9.]+e-5 > 1e-9/);
});
