/**
 * What a sampler accuracy study writes (`study.json` beside its page): per model, the converged
 * reference and its check, and per sampler and step count the final-latent error against the
 * reference, the digit quality and the cost, with the fitted order.
 *
 * @module
 */
import type { OrderFit } from "../harness/convergence.ts";

/**
 * The format tag of {@link SamplerStudyResult}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { SAMPLER_STUDY_FORMAT } from "./study_samplers.ts";
 * assert.equal(SAMPLER_STUDY_FORMAT, "diffparity-study-samplers/1");
 * ```
 */
export const SAMPLER_STUDY_FORMAT = "diffparity-study-samplers/1" as const;

/**
 * The digit classifier on a batch of samples.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { SampleQuality } from "./study_samplers.ts";
 * const q: SampleQuality = { accuracy: 0.9, histogram: [1, 1, 1, 1, 1, 1, 1, 1, 1, 1], meanTop: 0.95 };
 * assert.equal(q.histogram.length, 10);
 * ```
 */
export interface SampleQuality {
  /** Share of samples classified as their prompt's digit (null for an unconditional model). */
  accuracy: number | null;
  /** How many samples the classifier gave each digit 0..9. */
  histogram: number[];
  /** Mean top class probability. */
  meanTop: number;
}

/**
 * One sampler at one step count.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { SamplerStudyPoint } from "./study_samplers.ts";
 * const p: SamplerStudyPoint = {
 *   steps: 10, nfe: 10, ms: 120, rmse: 1e-2, maxAbs: 5e-2,
 *   quality: { accuracy: 1, histogram: [1, 0, 0, 0, 0, 0, 0, 0, 0, 0], meanTop: 0.9 },
 * };
 * assert.equal(p.nfe / p.steps, 1);
 * ```
 */
export interface SamplerStudyPoint {
  /** Inference steps. */
  steps: number;
  /** Model evaluations per image (the guidance batch counted once). */
  nfe: number;
  /** Wall time of the batch's sampling loop, milliseconds. */
  ms: number;
  /**
   * Final latents against the reference: RMS over each image's elements, averaged over the
   * seeds (null for a stochastic sampler; NaN where a run gave non-finite latents).
   */
  rmse: number | null;
  /** Largest |d| over every image (null for a stochastic sampler). */
  maxAbs: number | null;
  /** The classifier on the decoded samples (null for Gaussian data). */
  quality: SampleQuality | null;
}

/**
 * A sampler's row of the study.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { SamplerStudyRow } from "./study_samplers.ts";
 * const r: SamplerStudyRow = {
 *   id: "euler", label: "EulerDiscreteScheduler", order: 1, stochastic: false, end: "final", points: [],
 *   fit: null, local: [],
 * };
 * assert.equal(r.fit, null);
 * ```
 */
export interface SamplerStudyRow {
  /** The study's id of the sampler. */
  id: string;
  /** Its label, as reports name samplers. */
  label: string;
  /** The theoretical order (null for a stochastic sampler). */
  order: number | null;
  /** Whether it draws noise while sampling (quality only). */
  stochastic: boolean;
  /** What was compared: its final latents, or its last step's model input. */
  end: "final" | "last-step";
  /** The study's note on it. */
  note?: string;
  /** One per step count. */
  points: SamplerStudyPoint[];
  /** The order fitted over the asymptotic range, or null (too few points above the floor). */
  fit: OrderFit | null;
  /** Local orders between consecutive step counts. */
  local: { from: number; to: number; order: number }[];
}

/**
 * The converged solution (the latents at sigma(0)) and its check.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { SamplerStudyReference } from "./study_samplers.ts";
 * const r: SamplerStudyReference = {
 *   label: "DPM", steps: 500, nfe: 500, ms: 1,
 *   quality: { accuracy: null, histogram: [], meanTop: 1 }, floor: 1e-5,
 *   check: { label: "LMS", steps: 1000, nfe: 1000, ms: 1, maxAbs: 1e-5, rmse: 1e-6, tolerance: 1e-4, pass: true },
 * };
 * assert.ok(r.check?.pass);
 * ```
 */
export interface SamplerStudyReference {
  /** The solver's label ("exact" for Gaussian data's closed form). */
  label: string;
  /** Its steps (0 for a closed form). */
  steps: number;
  /** Its model evaluations per image. */
  nfe: number;
  /** Its wall time for the batch, milliseconds. */
  ms: number;
  /** The classifier on its samples (null for Gaussian data). */
  quality: SampleQuality | null;
  /** The error below which a point is left out of fits (floorFactor x check.rmse). */
  floor: number;
  /** The second solver against it (null for a closed-form solution). */
  check: null | {
    /** The second solver's label. */
    label: string;
    /** Its steps. */
    steps: number;
    /** Its model evaluations per image. */
    nfe: number;
    /** Its wall time, milliseconds. */
    ms: number;
    /** Largest |d| against the reference over every image. */
    maxAbs: number;
    /** Mean over images of the RMS difference. */
    rmse: number;
    /** The largest maxAbs allowed. */
    tolerance: number;
    /** maxAbs <= tolerance. */
    pass: boolean;
  };
}

/**
 * A model's part of the study.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { SamplerStudyModel } from "./study_samplers.ts";
 * const m: SamplerStudyModel = {
 *   model: "fixtures/models/digits-ddpm", prompt: null, guidance: null, seeds: 2, shape: [1, 16, 16],
 *   reference: {
 *     label: "exact (closed form)", steps: 0, nfe: 0, ms: 0, quality: null, floor: 1e-5, check: null,
 *   },
 *   rows: [],
 * };
 * assert.equal(m.reference.check, null);
 * ```
 */
export interface SamplerStudyModel {
  /** The model folder, or the name of Gaussian data. */
  model: string;
  /** Gaussian data's mean and std, for a closed-form model. */
  gaussian?: { mean: number; std: number };
  /** A text model's prompt template, else null. */
  prompt: string | null;
  /** A text model's guidance scale, else null. */
  guidance: number | null;
  /** Images per run (seeds 0 .. seeds-1). */
  seeds: number;
  /** One image's latent (or pixel) shape. */
  shape: number[];
  /** The converged solution. */
  reference: SamplerStudyReference;
  /** One per sampler. */
  rows: SamplerStudyRow[];
}

/**
 * A sampler study's figures.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { SAMPLER_STUDY_FORMAT, type SamplerStudyResult } from "./study_samplers.ts";
 * const r: SamplerStudyResult = {
 *   format: SAMPLER_STUDY_FORMAT, study: "samplers", file: "cases/samplers.study.ts", versions: {},
 *   inputs: {}, config: {}, steps: [5], fit: { minSteps: 20, floorFactor: 10, exactFloor: 1e-5 }, noiseSeed: 1,
 *   models: [], warnings: [], ms: 0,
 * };
 * assert.equal(r.models.length, 0);
 * ```
 */
export interface SamplerStudyResult {
  /** {@link SAMPLER_STUDY_FORMAT}. */
  format: typeof SAMPLER_STUDY_FORMAT;
  /** The study's name. */
  study: string;
  /** The study file. */
  file: string;
  /** Its description. */
  description?: string;
  /** Versions of the runtime pieces. */
  versions: Record<string, string>;
  /** sha256 of the files the figures were measured on. */
  inputs: Record<string, string>;
  /** The scheduler_config.json keys laid over every model's. */
  config: Record<string, unknown>;
  /** The step counts. */
  steps: number[];
  /** The fit's range rule. */
  fit: { minSteps: number; floorFactor: number; exactFloor: number };
  /** The seed of the generator stochastic samplers draw their step noise from. */
  noiseSeed: number;
  /** The models. */
  models: SamplerStudyModel[];
  /** Config keys kept but not used, non-finite runs and the like. */
  warnings: string[];
  /** Wall time, milliseconds. */
  ms: number;
}
