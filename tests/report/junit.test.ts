import assert from "node:assert/strict";
import { renderJunit } from "../../core/report/junit.ts";
import { sampleResult } from "./fixtures_results.ts";

Deno.test("JUnit XML has one testcase per case, with failure and error elements", () => {
  const xml = renderJunit(sampleResult());
  assert.match(xml, /<testsuite name="diffparity verify" tests="3" failures="1" errors="1">/);
  assert.match(
    xml,
    /<testcase classname="diffparity.DDIMScheduler" name="ddim-eta0" time="0.100"><\/testcase>/,
  );
  assert.match(
    xml,
    /<failure message="replayScheduler: maxUlp 7 &gt; 1 \(7x\) at step 3 \(t=921\)">/,
  );
  assert.match(xml, /<error message="m\/unet\/model.onnx: input 'encoder_hidden_states' missing">/);
});
