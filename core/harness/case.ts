/**
 * `defineCase`: the typed declaration of one seeded experiment. Case files in cases/ export
 * `default defineCase({...})`; the runner and the Python reference dumper read the same object
 * (the dumper through `deno task cases:json`).
 *
 * @module
 */
import {
  type CaseToleranceOverrides,
  type CaseTolerances,
  mergeTolerances,
} from "./case_tolerances.ts";

import { type Precision, PRECISIONS } from "../numerics/f16.ts";
import { float16Problem, SAMPLERS, type SamplerSpec } from "../schedulers/samplers.ts";
import { PIPELINE_KINDS, type PipelineKindName } from "./pipeline_kinds.ts";

export type { DiffusersSchedulerName, SamplerSpec } from "../schedulers/samplers.ts";
export type { Precision } from "../numerics/f16.ts";

/**
 * Which pipeline a case runs: a key of `PIPELINE_KINDS`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { PipelineKind } from "./case.ts";
 * const k: PipelineKind = "img2img";
 * assert.deepEqual(k, "img2img");
 * ```
 */
export type PipelineKind = PipelineKindName;

export type { Tolerance } from "../results/schema.ts";
export {
  type CaseToleranceOverrides,
  type CaseTolerances,
  defaultTolerances,
  type ToleranceOverride,
} from "./case_tolerances.ts";

/**
/**
 * One experiment: model, loop, sampler, seed and inputs, its references and tolerances.
 * Paths are relative to the repository root (or absolute).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { type CaseSpec, defineCase } from "./case.ts";
 * const spec: CaseSpec = {
 *   name: "ddim-eta0",
 *   model: "fixtures/models/tiny-sd",
 *   pipeline: "text2img",
 *   sampler: { type: "DDIMScheduler" },
 *   steps: 20,
 *   prompt: "a photo of an astronaut riding a horse",
 *   guidanceScale: 7.5,
 *   seed: 0,
 * };
 * assert.equal(defineCase(spec).references.torch, "fixtures/refs/cases/ddim-eta0.torch.safetensors");
 * ```
 */
export interface CaseSpec {
  /** Unique id: lowercase letters, digits and dashes; names the reference files. */
  name: string;
  /** One sentence on what the case shows. */
  description?: string;
  /** The model folder in optimum's ONNX layout. */
  model: string;
  /** Replaces the folder's unet/model.onnx (e.g. an fp16 export). */
  unet?: string;
  /**
   * For `deno task refs --cases <dir>`: the diffusers pipeline folder (`from_pretrained`
   * layout) that `model` was exported from, whose PyTorch modules make the torch reference and
   * whose pipeline runs the onnx one. Not read by the runner. The project's own models leave it
   * out (fixtures/gen rebuilds them).
   */
  torchModel?: string;
  /** The denoising loop. */
  pipeline: PipelineKind;
  /** The sampler and its config overrides. */
  sampler: SamplerSpec;
  /** Number of inference steps. */
  steps: number;
  /** DDIM eta (0 by default). */
  eta?: number;
  /**
   * The dtype the text2img loop runs in: `"float32"` (default), or `"float16"` as diffusers'
   * StableDiffusionPipeline runs with float16 prompt embeddings (optimum's ORT pipeline on a
   * `--dtype fp16` export): embeddings cast to half, half initial latents, the UNet's output
   * as half, guidance and the sampler's steps in torch's CPU half arithmetic. DDIMScheduler
   * (eta 0) and PNDMScheduler (PLMS) only. A reference whose metadata `sampler_dtype` says
   * otherwise is run anyway, with a warning.
   */
  precision?: Precision;
  /** The prompt. */
  prompt: string;
  /** The negative prompt ("" by default, as diffusers' unconditional embedding). */
  negativePrompt?: string;
  /** Classifier-free guidance scale; <= 1 runs one batch without the unconditional half. */
  guidanceScale: number;
  /** Seed of the CPU torch generator that draws the initial latents and step noise. */
  seed: number;
  /** Image height in pixels (default: the model's sample size times the VAE factor). */
  height?: number;
  /** Image width in pixels (default: as height). */
  width?: number;
  /** img2img / inpaint: the input image (PNG). */
  image?: string;
  /** inpaint: the mask (PNG, white = repaint). */
  mask?: string;
  /** img2img / inpaint: how much of the schedule to run (diffusers' `strength`). */
  strength?: number;
  /**
   * Reference files; default `fixtures/refs/cases/<name>.{onnx,torch}.safetensors`, or, for a
   * case on a model outside fixtures/ loaded from a cases folder (`--cases <dir>`),
   * `<dir>/refs/<name>.{onnx,torch}.safetensors`: a user's references live beside their cases.
   */
  references?: { onnx?: string; torch?: string };
  /**
   * Tolerances per comparison, merged bound by bound over `defaultTolerances`: a given bound
   * replaces the default's, `null` removes it (`{ freeRunTorch: { maxAbs: null, relL2: 1e-3 } }`
   * keeps the default `cosineMin`, drops the default `maxAbs`).
   */
  tolerances?: CaseToleranceOverrides;
  /**
   * Which float32 sqrt/exp/log the reference-math runs use: `"auto"` (default) the table the
   * reference recorded, else one inferred from its tensors; `"recorded"` requires a recorded
   * table; `"inferred"` ignores a recorded table and infers one (what a reference captured by
   * plain diffusers or optimum gets); `"ieee"` compares with correctly rounded math only.
   */
  referenceMath?: ReferenceMathMode;
  /**
   * For the reference dumper: make this case's references with deliberately non-IEEE torch
   * sqrt/exp/log (fixtures/gen/ref_math.py), as a machine whose math is not correctly rounded
   * would, on any machine. Ignored by the runner.
   */
  mathSkew?: boolean;
}

/**
 * How a case takes the reference machine's math: see {@link CaseSpec.referenceMath}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { defineCase, type ReferenceMathMode } from "./case.ts";
 * const referenceMath: ReferenceMathMode = "inferred";
 * const c = defineCase({
 *   name: "x", model: "m", pipeline: "text2img", sampler: { type: "DDIMScheduler" }, steps: 2,
 *   prompt: "", guidanceScale: 1, seed: 0, referenceMath,
 * });
 * assert.equal(c.referenceMath, "inferred");
 * ```
 */
export type ReferenceMathMode = "auto" | "recorded" | "inferred" | "ieee";

/**
 * A case after `defineCase`: validated, frozen, with its reference paths filled in.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { type Case, defineCase } from "./case.ts";
 * const c: Case = defineCase({
 *   name: "x", model: "m", pipeline: "text2img", sampler: { type: "DDIMScheduler" }, steps: 2,
 *   prompt: "", guidanceScale: 1, seed: 0,
 * });
 * assert.ok(Object.isFrozen(c) && Object.isFrozen(c.tolerances));
 * assert.equal(c.references.onnx, "fixtures/refs/cases/x.onnx.safetensors");
 * ```
 */
export type Case = Readonly<
  Omit<CaseSpec, "references" | "tolerances"> & {
    references: { onnx: string; torch: string };
    tolerances: CaseTolerances;
  }
>;

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
  if (typeof spec.prompt !== "string") fail("prompt", "expected a string");
  if (spec.negativePrompt !== undefined && typeof spec.negativePrompt !== "string") {
    fail("negativePrompt", "expected a string");
  }
  if (!Number.isFinite(spec.guidanceScale)) fail("guidanceScale", "expected a finite number");
  if (!Number.isSafeInteger(spec.seed) || spec.seed < 0) {
    fail("seed", "expected a non-negative safe integer");
  }
  for (const k of ["height", "width"] as const) {
    const v = spec[k];
    if (v !== undefined && !(Number.isInteger(v) && v > 0 && v % 8 === 0)) {
      fail(k, "expected a positive multiple of 8");
    }
  }
  for (const file of PIPELINE_KINDS[spec.pipeline].files) {
    if (typeof spec[file] !== "string") fail(file, `required by pipeline '${spec.pipeline}'`);
  }
  const pipelineProblem = PIPELINE_KINDS[spec.pipeline].check(spec);
  if (pipelineProblem) fail(...pipelineProblem);
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
