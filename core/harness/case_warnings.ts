/**
 * A case's warnings, one channel: what its scheduler config and its tokenizer folder leave to
 * defaults or do not use, each naming its file, deduplicated and capped in length. The runner
 * puts them in `CaseResult.warnings`; the verdict line, results.json, the HTML report and
 * JUnit show them.
 *
 * @module
 */
import type { Precision } from "../numerics/f16.ts";
import type { SamplerSpec } from "../schedulers/samplers.ts";

/**
 * The longest warning kept whole (characters); a longer one is cut and ends with `…`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { WARNING_MAX_LENGTH } from "./case_warnings.ts";
 * assert.equal(WARNING_MAX_LENGTH, 400);
 * ```
 */
export const WARNING_MAX_LENGTH = 400;

/**
 * The warnings of several sources as one list: trimmed, empty ones dropped, each cut to
 * {@link WARNING_MAX_LENGTH} characters, duplicates dropped (first kept, order kept).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { mergeWarnings, WARNING_MAX_LENGTH } from "./case_warnings.ts";
 * assert.deepEqual(mergeWarnings(["a", "b"], ["a ", ""], ["c"]), ["a", "b", "c"]);
 * const long = mergeWarnings(["x".repeat(1000)])[0];
 * assert.equal(long.length, WARNING_MAX_LENGTH);
 * assert.ok(long.endsWith("…"));
 * ```
 */
export function mergeWarnings(...lists: readonly (readonly string[])[]): string[] {
  const out = new Set<string>();
  for (const list of lists) {
    for (const raw of list) {
      const w = raw.trim();
      if (w === "") continue;
      out.add(w.length > WARNING_MAX_LENGTH ? `${w.slice(0, WARNING_MAX_LENGTH - 1)}…` : w);
    }
  }
  return [...out];
}

/**
 * The scheduler config warnings of a case's sampler (`configWarnings` of the sampler
 * `makeSampler` built from the model's `scheduler_config.json` with the case's
 * `sampler.config` on top), as a case reports them:
 *
 * - a key the case sets in `sampler.config` is named as the case's (`case '<name>'
 *   sampler.config: ...`), not as the config file's;
 * - an option of another scheduler class in the model's own config (`clip_sample` of a DDIM
 *   config when the case runs PNDM) is dropped, as diffusers' `from_config` drops the options
 *   of compatible schedulers silently (`ConfigMixin.extract_init_dict`); it is kept when the
 *   file's `_class_name` is the class that lacks it;
 * - every other warning (unknown keys) is kept as it is, naming the file.
 *
 * @param c the case's name and sampler spec
 * @param schedulerConfig the model's `scheduler_config.json` object
 * @param source the file the sampler was told it came from (the prefix of its warnings)
 * @param warnings the sampler's `configWarnings`
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { samplerConfigWarnings } from "./case_warnings.ts";
 * import { makeSampler } from "../schedulers/samplers.ts";
 * const file = "m/scheduler/scheduler_config.json";
 * const config = { _class_name: "DDIMScheduler", clip_sample: false, some_future_option: 1 };
 * const c = { name: "x", sampler: { type: "PNDMScheduler" as const, config: { skip_prk_steps: true, eta: 1 } } };
 * const s = makeSampler(c.sampler, config, { steps: 2, source: file });
 * assert.deepEqual(samplerConfigWarnings(c, config, file, s.configWarnings), [
 *   `${file}: unknown key "some_future_option"; kept in extra, not used`,
 *   `case 'x' sampler.config: unknown key "eta"; kept in extra, not used`,
 * ]); // clip_sample belongs to the DDIM config: diffusers drops it silently
 * ```
 */
export function samplerConfigWarnings(
  c: { readonly name: string; readonly sampler: SamplerSpec },
  schedulerConfig: Readonly<Record<string, unknown>>,
  source: string,
  warnings: readonly string[],
): string[] {
  const overrides = "config" in c.sampler && c.sampler.config ? c.sampler.config : {};
  const prefix = `${source}: `;
  const out: string[] = [];
  for (const w of warnings) {
    const m = w.startsWith(prefix)
      ? /^(?:unknown key )?"([^"]+)"(?: is not an option of (\w+))?/.exec(w.slice(prefix.length))
      : null;
    if (m && Object.hasOwn(overrides, m[1])) {
      out.push(`case '${c.name}' sampler.config: ${w.slice(prefix.length)}`);
    } else if (!(m && m[2] !== undefined && schedulerConfig["_class_name"] !== m[2])) {
      out.push(w);
    }
  }
  return out;
}

/**
 * The warning of a case whose precision is not the one its reference's sampler ran in (the
 * reference's metadata `sampler_dtype`): the comparisons then measure float16 rounding, not the
 * port. Empty when they agree.
 *
 * @param c the case's name and `precision` (default "float32")
 * @param ref the reference file and its sampler's dtype
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { precisionWarnings } from "./case_warnings.ts";
 * const ref = { path: "refs/x.onnx.safetensors", samplerDtype: "float16" as const };
 * assert.deepEqual(precisionWarnings({ name: "x", precision: "float16" }, ref), []);
 * assert.deepEqual(precisionWarnings({ name: "x" }, ref), [
 *   "refs/x.onnx.safetensors: the reference's sampler ran in float16 (metadata sampler_dtype); " +
 *   "case 'x' runs float32: set precision: \"float16\" in the case to reproduce it",
 * ]);
 * ```
 */
export function precisionWarnings(
  c: { readonly name: string; readonly precision?: Precision },
  ref: { readonly path: string; readonly samplerDtype: Precision },
): string[] {
  const ours = c.precision ?? "float32";
  if (ref.samplerDtype === ours) return [];
  return [
    `${ref.path}: the reference's sampler ran in ${ref.samplerDtype} (metadata sampler_dtype); ` +
    `case '${c.name}' runs ${ours}: set precision: "${ref.samplerDtype}" in the case to reproduce it`,
  ];
}
