/**
 * `defineCase`: the typed declaration of one seeded experiment. Case files in cases/ export
 * `default defineCase({...})`; the runner and the Python reference dumper read the same object
 * (the dumper through `deno task cases:json`).
 *
 * @module
 */
import { mergeTolerances } from "./case_tolerances.ts";
import type { Case, CaseSpec } from "./case_spec.ts";
import { PRECISIONS } from "../numerics/f16.ts";
import { float16Problem, SAMPLERS } from "../schedulers/samplers.ts";
import { PIPELINE_KINDS } from "./pipeline_kinds.ts";

export type { DiffusersSchedulerName, SamplerSpec } from "../schedulers/samplers.ts";
export type { Precision } from "../numerics/f16.ts";

export type { Tolerance } from "../results/schema.ts";
export {
  type CaseToleranceOverrides,
  type CaseTolerances,
  defaultTolerances,
  type ToleranceOverride,
} from "./case_tolerances.ts";
export type {
  Case,
  CaseSpec,
  CaseSpecBase,
  DefinedCaseFields,
  DigitCheck,
  InversionCaseSpec,
  PipelineKind,
  PixelInversionCaseSpec,
  PromptCaseSpec,
  ReferenceMathMode,
  UnconditionalCaseSpec,
} from "./case_spec.ts";

const NAME_PATTERN = /^[a-z0-9]+(-[a-z0-9]+)*$/;

/**
 * Thrown when a case declaration is invalid; names the case and the field.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { CaseError } from "./case.ts";
 * const e = new CaseError("ddim", "steps", "must be a positive integer");
 * assert.equal(e.message, "case 'ddim': steps: must be a positive integer");
 * assert.deepEqual([e.caseName, e.field], ["ddim", "steps"]);
 * ```
 */
export class CaseError extends Error {
  /** The case name (or "<unnamed>"). */
  readonly caseName: string;
  /** The offending field. */
  readonly field: string;
  /**
   * Makes the `case '<name>': <field>: <problem>` message.
   *
   * @param caseName the case's name, or `<unnamed>`
   * @param field the offending field (`steps`, `tolerances.image.psnrMin`, ...)
   * @param problem what is wrong, with what was expected
   */
  constructor(caseName: string, field: string, problem: string) {
    super(`case '${caseName}': ${field}: ${problem}`);
    this.name = "CaseError";
    this.caseName = caseName;
    this.field = field;
  }
}

/**
 * Validates a case declaration and fills in defaults. Throws `CaseError` naming the field.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { CaseError, defineCase } from "./case.ts";
 * const c = defineCase({
 *   name: "guidance-1", model: "fixtures/models/tiny-sd", pipeline: "text2img",
 *   sampler: { type: "DDIMScheduler" }, steps: 10, prompt: "a cat", guidanceScale: 1, seed: 3,
 *   tolerances: { freeRunTorch: { maxAbs: 2e-3 } },
 * });
 * assert.equal(c.references.onnx, "fixtures/refs/cases/guidance-1.onnx.safetensors");
 * assert.deepEqual(c.tolerances.freeRunTorch, { maxAbs: 2e-3, cosineMin: 0.99999 }); // merged
 * assert.throws(
 *   () => defineCase({ ...c, tolerances: { image: { psnrMin: -1 } } }),
 *   (e) => e instanceof CaseError && e.field === "tolerances.image.psnrMin",
 * );
 * ```
 */
export function defineCase(spec: CaseSpec): Case {
  const who = typeof spec?.name === "string" ? spec.name : "<unnamed>";
  const fail = (field: string, problem: string): never => {
    throw new CaseError(who, field, problem);
  };
  if (typeof spec !== "object" || spec === null) fail("(case)", "expected an object");
  if (typeof spec.name !== "string" || !NAME_PATTERN.test(spec.name)) {
    fail("name", "expected lowercase letters, digits and single dashes, e.g. 'ddim-eta0'");
  }
  if (typeof spec.model !== "string" || spec.model === "") fail("model", "expected a folder path");
  if (spec.torchModel !== undefined && (typeof spec.torchModel !== "string" || !spec.torchModel)) {
    fail("torchModel", "expected the path of a diffusers pipeline folder");
  }
  if (!Object.hasOwn(PIPELINE_KINDS, spec.pipeline)) {
    fail(
      "pipeline",
      `expected one of ${Object.keys(PIPELINE_KINDS).join(", ")}; got ${
        JSON.stringify(spec.pipeline)
      }`,
    );
  }
  if (!spec.sampler || !Object.hasOwn(SAMPLERS, spec.sampler.type)) {
    fail("sampler.type", `expected one of ${Object.keys(SAMPLERS).join(", ")}`);
  }
  const samplerProblem = SAMPLERS[spec.sampler.type].check(spec.sampler);
  if (samplerProblem) fail(...samplerProblem);
  if (!Number.isInteger(spec.steps) || spec.steps < 1) fail("steps", "expected a positive integer");
  if (spec.eta !== undefined && !(Number.isFinite(spec.eta) && spec.eta >= 0)) {
    fail("eta", "expected a number >= 0");
  }
  if (spec.eta && !SAMPLERS[spec.sampler.type].takesEta) {
    fail(
      "eta",
      `${spec.sampler.type} has no eta (it would be ignored); samplers that take it: ${
        Object.entries(SAMPLERS).filter(([, k]) => k.takesEta).map(([n]) => n).join(", ")
      }`,
    );
  }
  if (!Number.isSafeInteger(spec.seed) || spec.seed < 0) {
    fail("seed", "expected a non-negative safe integer");
  }
  const kind = PIPELINE_KINDS[spec.pipeline];
  for (const file of kind.files) {
    if (typeof spec[file] !== "string") fail(file, `required by pipeline '${spec.pipeline}'`);
  }
  // the kind's own fields (an unconditional case refuses the prompt, size and image fields)
  const pipelineProblem = kind.check(spec);
  if (pipelineProblem) fail(...pipelineProblem);
  if (kind.prompt) {
    if (typeof spec.prompt !== "string") fail("prompt", "expected a string");
    if (spec.negativePrompt !== undefined && typeof spec.negativePrompt !== "string") {
      fail("negativePrompt", "expected a string");
    }
    if (!Number.isFinite(spec.guidanceScale)) fail("guidanceScale", "expected a finite number");
  }
  for (const k of ["height", "width"] as const) {
    const v = spec[k];
    if (v !== undefined && !(Number.isInteger(v) && v > 0 && v % 8 === 0)) {
      fail(k, "expected a positive multiple of 8");
    }
  }
  if (
    spec.referenceMath !== undefined &&
    !["auto", "recorded", "inferred", "ieee"].includes(spec.referenceMath)
  ) {
    fail("referenceMath", "expected 'auto', 'recorded', 'inferred' or 'ieee'");
  }
  if (spec.mathSkew !== undefined && typeof spec.mathSkew !== "boolean") {
    fail("mathSkew", "expected a boolean");
  }
  if (spec.precision !== undefined && !PRECISIONS.includes(spec.precision)) {
    fail("precision", `expected ${PRECISIONS.map((p) => `'${p}'`).join(" or ")}`);
  }
  if (spec.precision === "float16") {
    if (spec.pipeline !== "text2img") {
      fail("precision", `the float16 sampler mode runs text2img only; got '${spec.pipeline}'`);
    }
    const problem = float16Problem(spec.sampler, spec.precision, spec.eta ?? 0);
    if (problem) fail(...problem);
  }
  if (spec.digit !== undefined) {
    if (typeof spec.digit !== "object" || spec.digit === null) {
      fail("digit", "expected an object such as { label: 7 }");
    }
    const { label, classifier } = spec.digit;
    if (label !== undefined && !(Number.isInteger(label) && label >= 0 && label <= 9)) {
      fail("digit.label", `expected a digit 0..9; got ${JSON.stringify(label)}`);
    }
    if (classifier !== undefined && (typeof classifier !== "string" || classifier === "")) {
      fail("digit.classifier", "expected the path of a digit classifier JSON");
    }
  }
  const tolerances = mergeTolerances(spec.tolerances, fail);
  const dflt = defaultReferences(spec.name);
  const references = {
    onnx: spec.references?.onnx ?? dflt.onnx,
    torch: spec.references?.torch ?? dflt.torch,
  };
  return deepFreeze({ ...spec, references, tolerances }) as Case;
}

/**
 * A case's reference files when it names none: `<folder>/<name>.{onnx,torch}.safetensors`, in
 * the project's fixtures/refs/cases/ unless another folder is given (a user's, beside the cases).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { defaultReferences } from "./case.ts";
 * assert.equal(defaultReferences("x").torch, "fixtures/refs/cases/x.torch.safetensors");
 * assert.equal(defaultReferences("x", "my-cases/refs").onnx, "my-cases/refs/x.onnx.safetensors");
 * ```
 */
export function defaultReferences(
  name: string,
  folder = "fixtures/refs/cases",
): { onnx: string; torch: string } {
  return {
    onnx: `${folder}/${name}.onnx.safetensors`,
    torch: `${folder}/${name}.torch.safetensors`,
  };
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === "object") {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}
