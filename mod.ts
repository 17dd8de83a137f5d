/**
 * diffparity: the public API. Everything the CLI does can be done from code.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import {
 *   caseLine,
 *   DDIMScheduler,
 *   loadCases,
 *   runCase,
 *   TorchGenerator,
 *   verify,
 *   writeReport,
 * } from "./mod.ts";
 * const latents = new TorchGenerator(0).randn([1, 4, 16, 16]); // = torch.randn(..., generator=manual_seed(0))
 * const ddim = new DDIMScheduler({ betaSchedule: "scaled_linear", betaStart: 0.00085, betaEnd: 0.012 });
 * ddim.setTimesteps(20);
 * assert.equal(ddim.timesteps.length, 20);
 * const [c] = await loadCases("cases", "ddim-eta0");
 * assert.equal((await runCase(c)).status, "pass");
 * const lines: string[] = [];
 * const all = await verify({ filter: "guidance-1", onCase: (r) => lines.push(caseLine(r)) });
 * assert.equal(all.failed, 0);
 * const out = await Deno.makeTempDir(); // e.g. "reports"
 * await writeReport(all, out); // results.json, junit.xml, index.html, images/*.png
 * assert.ok((await Deno.stat(`${out}/index.html`)).isFile);
 * ```
 *
 * @module
 */

// core/tensor
export { shapeSize, Tensor } from "./core/tensor/tensor.ts";
export { FileError } from "./core/tensor/errors.ts";
export {
  encodeNpy,
  type NpyArray,
  type NpyData,
  npyToTensor,
  parseNpy,
  readNpy,
  writeNpy,
} from "./core/tensor/npy.ts";
export {
  dtypeBits,
  encodeSafetensors,
  parseSafetensors,
  readSafetensors,
  SAFETENSORS_DTYPES,
  type SafetensorsDtype,
  SafetensorsFile,
  type SafetensorsInput,
  type SafetensorsTensorInfo,
  writeSafetensors,
} from "./core/tensor/safetensors.ts";
export {
  type CpuCapability,
  TorchGenerator,
  type TorchGeneratorOptions,
  type TorchGeneratorState,
} from "./core/tensor/torch_generator.ts";
export {
  halfAdd,
  halfDivScalar,
  halfMulScalar,
  halfScaledBy,
  halfSub,
  toHalf,
} from "./core/tensor/half_ops.ts";
export type { Mt19937State } from "./core/tensor/mt19937.ts";

// core/numerics
export { f32Step, fmaf, roundHalfEven, ulpDistance } from "./core/numerics/f32.ts";
export {
  type Float32Math,
  ieeeMath,
  type MathDeviation,
  type MathOp,
  MathTable,
  mathTableFromTensors,
} from "./core/numerics/f32_math.ts";
export { UsageMath } from "./core/numerics/probe_math.ts";
export { f16, type Precision, PRECISIONS } from "./core/numerics/f16.ts";

// core/schedulers
export type {
  Denoiser,
  Sampler,
  Scheduler,
  StepOptions,
  StepOutput,
  Stepper,
  StepResult,
} from "./core/schedulers/types.ts";
export type { SchedulerOptions } from "./core/schedulers/scheduler_base.ts";
export type { AlphaScheduler } from "./core/schedulers/alpha_scheduler.ts";
export type { SchedulerBase } from "./core/schedulers/scheduler_base.ts";
export type { BetaConfig } from "./core/schedulers/betas.ts";
export type { ClipConfig } from "./core/schedulers/prediction.ts";
export type { SigmaSpacingOptions } from "./core/schedulers/sigmas.ts";
export type { StepIndex } from "./core/schedulers/step_index.ts";
export type {
  DPMFamilyConfig,
  DPMFamilyMultistepScheduler,
  DPMFamilyScheduler,
  DPMFlowOptions,
} from "./core/schedulers/dpm_family.ts";
export type {
  ExtraSigmaOptions,
  ScheduleStart,
  SigmaScheduler,
  SigmaSchedulerConfig,
  SigmaTableScheduler,
} from "./core/schedulers/sigma_scheduler.ts";
export type {
  BetaOption,
  BetaSchedule,
  InterpolationType,
  PredictionType,
  SchedulerConfig,
  TimestepSpacing,
  TimestepType,
  VarianceType,
} from "./core/schedulers/config.ts";
export { type ConfigOrigin, SchedulerConfigError } from "./core/schedulers/config_json.ts";
export { type DDIMConfig, DDIMScheduler } from "./core/schedulers/ddim.ts";
export { type DDIMInverseConfig, DDIMInverseScheduler } from "./core/schedulers/ddim_inverse.ts";
export { type CustomTimesteps, type DDPMConfig, DDPMScheduler } from "./core/schedulers/ddpm.ts";
export { type PNDMConfig, PNDMScheduler } from "./core/schedulers/pndm.ts";
export {
  type LMSDiscreteConfig,
  LMSDiscreteScheduler,
  type LMSStepOptions,
} from "./core/schedulers/lms_discrete.ts";
export {
  type EulerDiscreteConfig,
  EulerDiscreteScheduler,
  type EulerStepOptions,
  type FinalSigmasType,
} from "./core/schedulers/euler_discrete.ts";
export {
  ancestralSigmas,
  type EulerAncestralDiscreteConfig,
  EulerAncestralDiscreteScheduler,
} from "./core/schedulers/euler_ancestral_discrete.ts";
export { type HeunDiscreteConfig, HeunDiscreteScheduler } from "./core/schedulers/heun_discrete.ts";
export {
  type KDPM2DiscreteConfig,
  KDPM2DiscreteScheduler,
} from "./core/schedulers/kdpm2_discrete.ts";
export {
  type DPMAlgorithmType,
  type DPMSolverMultistepConfig,
  DPMSolverMultistepScheduler,
  type DPMSolverType,
} from "./core/schedulers/dpm_multistep.ts";
export { type DEISMultistepConfig, DEISMultistepScheduler } from "./core/schedulers/deis.ts";
export {
  dpmSinglestepOrderList,
  type DPMSolverSinglestepConfig,
  DPMSolverSinglestepScheduler,
} from "./core/schedulers/dpm_singlestep.ts";
export {
  lcmBoundaryScalings,
  type LCMConfig,
  LCMScheduler,
  type LCMSetTimestepsOptions,
  type LCMStepResult,
} from "./core/schedulers/lcm.ts";
export {
  type UniPCMultistepConfig,
  UniPCMultistepScheduler,
  type UniPCSolverType,
} from "./core/schedulers/unipc.ts";
export {
  type CompVisPLMSOptions,
  CompVisPLMSSampler,
  type PLMSStepOutput,
} from "./core/schedulers/compvis_plms.ts";
export {
  type LabmlDDIMOptions,
  LabmlDDIMSampler,
  type LabmlDDIMStepOutput,
} from "./core/schedulers/labml_ddim.ts";
export {
  type DdimDiscretize,
  type DdimSchedule,
  ddimSchedule,
  ddimTimesteps,
  ldmAlphasCumprod,
  ldmAlphasCumprodForConfig,
  type LdmBetaSchedule,
} from "./core/schedulers/ldm_schedule.ts";
export {
  schedulerSampler,
  type SchedulerSamplerOptions,
} from "./core/schedulers/scheduler_sampler.ts";
export {
  type DiffusersSchedulerName,
  type MadeSampler,
  makeSampler,
  type MakeSamplerOptions,
  type SamplerKind,
  SAMPLERS,
  type SamplerSpec,
  type SchedulerImplementation,
} from "./core/schedulers/samplers.ts";
export {
  type RegisteredScheduler,
  SCHEDULER_CLASSES,
  schedulerFromConfig,
} from "./core/schedulers/registry.ts";

// core/models
export type {
  PromptTokenizer,
  TextEncoderModel,
  UNetModel,
  VaeDecoderModel,
  VaeEncoderModel,
} from "./core/models/types.ts";
export {
  EXECUTION_PROVIDERS,
  type ExecutionProviderName,
  type ProviderAvailability,
  providerAvailability,
  ProviderUnavailableError,
} from "./core/models/execution_provider.ts";
export type { ComponentName } from "./core/models/model_io.ts";
export { DEFAULT_SESSION_SETTINGS, type SessionSettings } from "./core/models/session_options.ts";
export { OnnxSession, type SessionRecord, type ValueInfo } from "./core/models/onnx_session.ts";
export type { OrtTensor } from "./core/models/ort_tensor.ts";
export { OnnxComponent } from "./core/models/onnx_component.ts";
export { OnnxUNet } from "./core/models/onnx_unet.ts";
export { OnnxTextEncoder } from "./core/models/onnx_text_encoder.ts";
export { OnnxVaeDecoder, OnnxVaeEncoder } from "./core/models/onnx_vae.ts";
export { ClipTokenizer, type ClipTokenizerInfo } from "./core/models/clip_tokenizer.ts";
export { type ModelFolder, readModelFolder } from "./core/models/model_folder.ts";
export {
  type LoadedModel,
  loadModelFolder,
  type LoadModelOptions,
} from "./core/models/load_model_folder.ts";
export {
  type GeometryGraphs,
  type ModelGeometry,
  readModelGeometry,
} from "./core/models/geometry.ts";

// core/pipelines
export * from "./core/pipelines/mod.ts";

// core/results
export * from "./core/results/mod.ts";

// core/harness
export * from "./case.ts"; // defineCase and the case types (the light entry of case files)
export {
  PIPELINE_KINDS,
  type PipelineCaseFields,
  type PipelineDefinition,
  type PipelineFile,
  type PipelineKindName,
  type PipelineRunInputs,
} from "./core/harness/pipeline_kinds.ts";
export { loadCases, loadStudy } from "./core/harness/cases_loader.ts";
export { ModelPool } from "./core/harness/model_pool.ts";
export { type ProgressSink, silentProgress, terminalProgress } from "./core/harness/progress.ts";
export {
  type CompareOptions,
  compareTensors,
  maxUlpDistance,
  type TensorComparison,
} from "./core/harness/metrics.ts";
export type { MetricInput } from "./core/harness/metric_input.ts";
export { psnr, ssim, type SsimOptions } from "./core/harness/image_metrics.ts";
export { loadSchedulerImplementation } from "./core/harness/scheduler_implementation.ts";
export {
  freeRunAlone,
  type GoldenWrite,
  postprocess,
  writeGolden,
} from "./core/harness/free_run.ts";
export { type Phase, PHASES, type Run, runPhase, runPipeline } from "./core/harness/phases.ts";
export {
  type CaseReference,
  CaseReferenceError,
  readCaseReference,
} from "./core/harness/references.ts";
export { runCase, type RunCaseOptions } from "./core/harness/runner.ts";
export {
  gitCommit,
  GOLDEN_LABEL,
  goldenMetadata,
  goldenNote,
  goldenTensors,
  referenceExists,
  referenceKindOf,
} from "./core/harness/goldens.ts";
export {
  type CaseInputOptions,
  type CaseInputs,
  loadCaseInputs,
} from "./core/harness/case_inputs.ts";
export { verify, type VerifyOptions } from "./core/harness/verify.ts";
export {
  compareDump,
  type CompareDumpOptions,
  dumpAttribution,
  firstFailureLine,
} from "./core/harness/compare_dump.ts";
export { DUMP_LAYOUT } from "./core/harness/dump_files.ts";
export {
  type ElementwiseInference,
  inferElementwise,
  type InferredStep,
  inferStepMath,
  type StepMathInference,
  type StepMathOptions,
} from "./core/harness/reference_math.ts";
export {
  DIGIT_CLASSIFIER_FORMAT,
  type DigitClassifier,
  type HeldoutDigits,
  loadDigitClassifier,
  parseDigitClassifier,
  predictProba,
} from "./core/harness/digit_classifier.ts";
export {
  classBalancedImages,
  digitFeatures,
  type DigitImageRange,
  upsampleDigits,
} from "./core/harness/digit_images.ts";
export {
  classHistogram,
  digitAccuracy,
  digitAccuracyByLabel,
  type DigitScores,
  meanTopProbability,
  scoreDigits,
} from "./core/harness/digit_metrics.ts";
export {
  type PromptedSampling,
  samplePromptedDigits,
  sampleUnconditional,
  type UnconditionalSampling,
} from "./core/harness/digits_sampling.ts";
export {
  DIGITS_TARGETS,
  type DigitsStudyOptions,
  heldoutCeiling,
  noiseFloor,
  runDigitsStudy,
} from "./core/harness/digits_study.ts";
export { type InversionStudyOptions, runInversionStudy } from "./core/harness/inversion_study.ts";
export {
  NOISE_SEED,
  runSamplerStudy,
  type SamplerStudyOptions,
} from "./core/harness/sampler_study.ts";
export {
  type ErrorPoint,
  fitOrder,
  localOrders,
  type OrderFit,
} from "./core/harness/convergence.ts";
export {
  type GaussianData,
  gaussianDenoiser,
  gaussianSolution,
  sigmaOfTimestep,
} from "./core/harness/gaussian_denoiser.ts";
export {
  caseRoundTrip,
  roundTripFigures,
  type RoundTripInputs,
} from "./core/harness/round_trip_metrics.ts";

export { hashStudyInputs } from "./core/harness/study_inputs.ts";

// core/report
export { caseLine, summaryLine } from "./core/report/console.ts";
export { escapeHtml, renderHtmlReport } from "./core/report/html.ts";
export { renderJunit } from "./core/report/junit.ts";
export { stepErrorChart, type StepSeries } from "./core/report/chart.ts";
export {
  imageFile,
  readResults,
  ReportError,
  rerenderHtml,
  writeReport,
  type WriteReportOptions,
} from "./core/report/write.ts";
export {
  digitsStudyLines,
  renderDigitsStudyHtml,
  targetLine,
  writeDigitsStudy,
} from "./core/report/study_digits.ts";
export {
  inversionStudyLines,
  renderInversionStudyHtml,
  writeInversionStudy,
} from "./core/report/study_inversion.ts";
export {
  errorChart,
  renderSamplerStudyHtml,
  samplerStudyLines,
  writeSamplerStudy,
} from "./core/report/study_samplers.ts";
export { runName, writeReportFiles } from "./core/report/write_files.ts";
