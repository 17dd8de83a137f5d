/**
 * Results: the plain-data schema of a run (`VerifyResult`) and of the digits and inversion studies
 * (`DigitsStudyResult`, `InversionStudyResult`), the table of comparison kinds and
 * number formatting. Shared by harness/ (which produces results) and report/ (which renders
 * them); imports neither.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { COMPARISON_KINDS, fmt, RESULTS_FORMAT } from "./mod.ts";
 * assert.deepEqual(COMPARISON_KINDS.image.short, "image");
 * assert.deepEqual(fmt(1e-5), "1e-5");
 * assert.deepEqual(RESULTS_FORMAT, "diffparity-results/2");
 * ```
 *
 * @module
 */
export { fmt } from "./format.ts";
export { resultsFromJson, resultsToJson } from "./json.ts";
export {
  COMPARISON_KINDS,
  type ComparisonKind,
  type ComparisonKindInfo,
  type ComparisonKindTable,
  isComparisonKind,
} from "./kinds.ts";
export {
  type CaseDigit,
  type CaseImage,
  type CaseResult,
  type CaseStatus,
  type CaseTiming,
  type ComparisonResult,
  type ErrorFigures,
  type FreeRunStep,
  type ReferenceKind,
  type ReferenceMathSummary,
  RESULTS_FORMAT,
  type RoundTripFigures,
  type StepFigures,
  type Tolerance,
  type VerifyResult,
} from "./schema.ts";
export {
  DIGITS_STUDY_FORMAT,
  type DigitsCeiling,
  type DigitsFloor,
  type DigitsPromptRun,
  type DigitsSampleRun,
  type DigitsStudyResult,
  type LabelAccuracy,
  type StudyTarget,
} from "./study.ts";
export {
  INVERSION_STUDY_FORMAT,
  type InversionStudyResult,
  type StudyCell,
  type StudyMethod,
  type StudyModel,
  type StudyStrip,
} from "./study_inversion.ts";
export {
  type SampleQuality,
  SAMPLER_STUDY_FORMAT,
  type SamplerStudyModel as SamplerStudyModelResult,
  type SamplerStudyPoint,
  type SamplerStudyReference,
  type SamplerStudyResult,
  type SamplerStudyRow,
} from "./study_samplers.ts";
