import assert from "node:assert/strict";
import { escapeHtml, renderHtmlReport } from "../../core/report/html.ts";
import { sampleResult } from "./fixtures_results.ts";

Deno.test("escapeHtml escapes markup characters", () => {
  assert.equal(escapeHtml(`<a href="x">&</a>`), "&lt;a href=&quot;x&quot;&gt;&amp;&lt;/a&gt;");
});

Deno.test("the HTML report shows the verdicts, the failure text, the error and a chart", () => {
  const html = renderHtmlReport(sampleResult());
  assert.match(html, /<title>diffparity report: 1 passed, 2 failed<\/title>/);
  assert.match(html, /maxUlp 7 &gt; 1 \(7x\) at step 3 \(t=921\)/);
  assert.match(
    html,
    /input &#39;encoder_hidden_states&#39; missing|input 'encoder_hidden_states' missing/,
  );
  assert.match(html, /DDIM &lt;eta 0&gt;/, "descriptions are escaped");
  assert.match(html, /<svg/, "the passing case with per-step figures gets a chart");
  assert.match(html, /20 UNet calls, mean 3 ms/);
});

Deno.test("comparisons exact at every step are named instead of drawn at the floor", () => {
  const result = sampleResult();
  const c = result.cases[0].comparisons[0];
  c.perStep = c.perStep.map((s) => ({ ...s, maxAbs: 0 }));
  const html = renderHtmlReport(result);
  assert.match(html, /0 difference at every step: free run vs diffusers \+ onnxruntime/);
  assert.doesNotMatch(html.split('id="ddim-eta0"')[1].split("<section>")[0], /<svg/);
});

Deno.test("the HTML report links each image file (escaped) and shows no image without a file", () => {
  const result = sampleResult();
  result.cases[0].images = [{ label: "ours", file: 'images/a"b.png' }, { label: "mask" }];
  const html = renderHtmlReport(result);
  assert.match(html, /<img src="images\/a&quot;b\.png" alt="decoded image of ddim-eta0">/);
  assert.match(html, /<figcaption>decoded \(free run\)<\/figcaption>/);
  assert.equal((html.match(/<img /g) ?? []).length, 1, "the image with no file is not shown");
  assert.doesNotMatch(html, /data:image/);
});

Deno.test("the HTML report labels comparisons from the comparison-kind table", () => {
  const html = renderHtmlReport(sampleResult());
  assert.match(html, /<td>free run vs diffusers \+ onnxruntime<\/td>/);
  assert.match(html, /<td>replay: scheduler only<\/td>/);
});

Deno.test("the HTML report shows the precision each case's sampler ran in", () => {
  const result = sampleResult();
  result.cases[0] = { ...result.cases[0], precision: "float16" };
  const html = renderHtmlReport(result);
  assert.match(html, /\(sampler in <b class="precision">float16<\/b>\)/);
  assert.match(html, /<td>[^<]* · float16<\/td>/); // the summary table's sampler cell
  assert.match(html, /\(sampler in <b class="precision">float32<\/b>\)/); // the others
});
