/**
 * What every pipeline kind's run takes from its inputs, checked: a required input (named in the
 * error), and the prompt and guidance scale of a kind that encodes a prompt.
 *
 * @module
 */
import type { PipelineRunInputs } from "./pipeline_kinds.ts";

/**
 * `value`, or an error saying that pipeline `pipeline` needs `what`.
 *
 * @throws {Error} when `value` is undefined.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { needs } from "./kind_inputs.ts";
 * assert.equal(needs(3, "a strength", "img2img"), 3);
 * assert.throws(() => needs(undefined, "an image", "img2img"), /pipeline 'img2img' needs an image/);
 * ```
 */
export function needs<T>(value: T | undefined, what: string, pipeline: string): T {
  if (value === undefined) throw new Error(`pipeline '${pipeline}' needs ${what}`);
  return value;
}

/**
 * The inputs with their prompt and guidance scale required (a kind that encodes a prompt).
 *
 * @throws {Error} naming the pipeline when either is missing.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { promptInputs } from "./kind_inputs.ts";
 * import type { PipelineRunInputs } from "./pipeline_kinds.ts";
 * const inputs = { guidanceScale: 7.5 } as PipelineRunInputs;
 * assert.throws(() => promptInputs(inputs, "text2img"), /pipeline 'text2img' needs a prompt/);
 * ```
 */
export function promptInputs(inputs: PipelineRunInputs, pipeline: string) {
  return {
    ...inputs,
    prompt: needs(inputs.prompt, "a prompt", pipeline),
    guidanceScale: needs(inputs.guidanceScale, "a guidance scale", pipeline),
  };
}
