import assert from "node:assert/strict";
import { needs, promptInputs } from "../../core/harness/kind_inputs.ts";
import type { PipelineRunInputs } from "../../core/harness/pipeline_kinds.ts";

Deno.test("needs / promptInputs: a missing input names the pipeline and what it needs", () => {
  assert.equal(needs(0, "a strength", "img2img"), 0); // 0 is given, only undefined is missing
  assert.throws(
    () => needs(undefined, "a mask", "inpaint"),
    /^Error: pipeline 'inpaint' needs a mask$/,
  );
  const inputs = {
    prompt: { embeds: undefined },
    guidanceScale: 1,
  } as unknown as PipelineRunInputs;
  assert.equal(promptInputs(inputs, "text2img").guidanceScale, 1);
  assert.throws(
    () => promptInputs({ ...inputs, guidanceScale: undefined }, "img2img"),
    /pipeline 'img2img' needs a guidance scale/,
  );
});
