import assert from "node:assert/strict";
import { caseLine, summaryLine } from "../../core/report/console.ts";
import { sampleResult } from "./fixtures_results.ts";

Deno.test("caseLine prints each comparison with the table's short name, the time and the failures", () => {
  const [pass, fail, error] = sampleResult().cases;
  assert.equal(caseLine(pass), "PASS  ddim-eta0          vs onnx 0 (<= 1e-5) · 100 ms");
  assert.equal(
    caseLine(fail),
    "FAIL  ddpm-50            sched 7 ulp (<= 1 ulp) FAIL\n" +
      "      replayScheduler: maxUlp 7 > 1 (7x) at step 3 (t=921)",
  );
  assert.equal(
    caseLine(error),
    "ERROR broken             m/unet/model.onnx: input 'encoder_hidden_states' missing",
  );
});

Deno.test("caseLine shows the IEEE figure and the math line when the reference's math differs", () => {
  const r = sampleResult().cases[0];
  r.comparisons[0].worst.maxAbs = 0;
  r.comparisons[0].ieee = {
    worst: { maxAbs: 2.1e-5, rmse: 0, relL2: 0, cosine: 1, maxUlp: 0, step: 3 },
    pass: false,
  };
  r.math = {
    source: "recorded",
    pairs: 32,
    nonIeee: 11,
    misses: 0,
    missedInputs: 0,
    unexplainedSteps: [],
    lines: ["sqrt: 11 inputs 1 ulp above IEEE"],
  };
  assert.equal(
    caseLine(r),
    "PASS  ddim-eta0          vs onnx 0 (<= 1e-5) [IEEE math 2.1e-5] · 100 ms\n" +
      "      math: recorded 32 pairs, 11 not IEEE, 0 misses · sqrt: 11 inputs 1 ulp above IEEE · " +
      "the reference machine's math explains all of the IEEE run's 2.1e-5 (now 0)",
  );
});

Deno.test("summaryLine counts and names the report", () => {
  assert.equal(
    summaryLine({ passed: 1, failed: 2 }, "r/index.html"),
    "1 passed, 2 failed · report: r/index.html",
  );
});

Deno.test("a float16 sampler is said on its own line; float32 adds nothing", () => {
  const r = sampleResult().cases[0];
  assert.ok(!caseLine({ ...r, precision: "float32" }).includes("sampler: float16"));
  const line = caseLine({ ...r, precision: "float16" });
  const said =
    "\n      sampler: float16 (latents, guidance and steps in torch's CPU half arithmetic)";
  assert.ok(line.includes(said), line);
});
