/**
 * The light entry for case files: `defineCase` and the case types, with no native code behind
 * them (importing this module loads neither onnxruntime nor any model code), so listing or
 * exporting cases needs no `--allow-ffi`. Case files in cases/ import from here:
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { type Case, defineCase } from "./case.ts";
 * const c: Case = defineCase({
 *   name: "my-model-ddim",
 *   model: "fixtures/models/tiny-sd",
 *   pipeline: "text2img",
 *   sampler: { type: "DDIMScheduler" },
 *   steps: 20,
 *   prompt: "a photograph of an astronaut riding a horse",
 *   guidanceScale: 7.5,
 *   seed: 0,
 *   tolerances: { freeRunTorch: { maxAbs: 2e-3 } }, // merged over the default's cosineMin
 * });
 * assert.deepEqual(c.tolerances.freeRunTorch, { maxAbs: 2e-3, cosineMin: 0.99999 });
 * assert.equal(c.references.onnx, "fixtures/refs/cases/my-model-ddim.onnx.safetensors");
 * ```
 *
 * @module
 */
export {
  type Case,
  CaseError,
  type CaseSpec,
  type CaseSpecBase,
  type CaseToleranceOverrides,
  type CaseTolerances,
  defaultTolerances,
  defineCase,
  type DefinedCaseFields,
  type DiffusersSchedulerName,
  type DigitCheck,
  type InversionCaseSpec,
  type PipelineKind,
  type PixelInversionCaseSpec,
  type Precision,
  type PromptCaseSpec,
  type ReferenceMathMode,
  type SamplerSpec,
  type Tolerance,
  type ToleranceOverride,
  type UnconditionalCaseSpec,
} from "./core/harness/case.ts";
export {
  defineStudy,
  type InversionStudy,
  type InversionStudySpec,
  type SamplerStudy,
  type Study,
  type StudyMethodSpec,
  type StudyModelSpec,
  StudySpecError,
} from "./core/harness/study.ts";
export type {
  SamplerEnd,
  SamplerStudyModel,
  SamplerStudySpec,
  StudyReference,
  StudySampler,
} from "./core/harness/sampler_study_spec.ts";
export type { InversionMethodName, InversionSpec } from "./core/pipelines/inversion/methods.ts";
