/**
 * The declaration of a sampler accuracy study (`kind: "samplers"`, core/harness/sampler_study.ts
 * runs it) and its field checks, which `defineStudy` calls.
 *
 * @module
 */
import { SAMPLERS, type SamplerSpec } from "../schedulers/samplers.ts";

/**
 * A model of a sampler study: a text model with its prompt and guidance, or an unconditional one.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { SamplerStudyModel } from "./sampler_study_spec.ts";
 * const m: SamplerStudyModel = { model: "fixtures/models/digits-sd", prompt: "a handwritten digit {k}", guidance: 5 };
 * assert.equal(m.guidance, 5);
 * ```
 */
export interface SamplerStudyModel {
  /** The model folder (a latent text model, or a pixel-space unconditional one), or a name. */
  model: string;
  /**
   * Instead of a folder: Gaussian data (core/harness/gaussian_denoiser.ts), whose ideal denoiser
   * and ODE solution are known in closed form: no reference is run, and no digit is scored.
   * `scheduler` is its scheduler_config.json.
   */
  gaussian?: { mean: number; std: number; shape: number[]; scheduler: Record<string, unknown> };
  /** A text model's prompt; `{k}` is replaced by the seed's digit, seed mod 10. */
  prompt?: string;
  /** A text model's classifier-free guidance scale (default 1: none). */
  guidance?: number;
}

/**
 * A sampler of the study.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { StudySampler } from "./sampler_study_spec.ts";
 * const s: StudySampler = { id: "dpmpp-2m", spec: { type: "DPMSolverMultistepScheduler" }, order: 2 };
 * assert.equal(s.order, 2);
 * ```
 */
export interface StudySampler {
  /** Lowercase letters, digits, dots and dashes; unique. */
  id: string;
  /** The sampler, as a case's `sampler`; its `config` goes over the study's. */
  spec: SamplerSpec;
  /** DDIM's eta (default 0). */
  eta?: number;
  /**
   * The order its theory gives in steps (omitted for a stochastic sampler, whose trajectory
   * error is not measured).
   */
  order?: number;
  /** Draws noise while it samples: only quality is measured (default false). */
  stochastic?: boolean;
  /** Where its order comes from, or what to know about it. */
  note?: string;
  /** What is compared with the reference (default "final"). */
  end?: SamplerEnd;
}

/**
 * What of a sampler's run is compared with the reference, the latents at sigma(0): its final
 * latents ("final": DDIM and PNDM with `set_alpha_to_one` false, DPM-Solver, UniPC and DEIS with
 * `final_sigmas_type` "sigma_min"), or the model input of its last step ("last-step": a sampler
 * whose last step jumps from sigma(0) to 0, e.g. Euler, Heun or LMS with Karras sigmas over the
 * model's whole range; the model input is `x / sqrt(1 + sigma^2)`, the latents at sigma(0)).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { SamplerEnd } from "./sampler_study_spec.ts";
 * const ends: SamplerEnd[] = ["final", "last-step"];
 * assert.equal(ends.length, 2);
 * ```
 */
export type SamplerEnd = "final" | "last-step";

/**
 * A converged solution and its check.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { StudyReference } from "./sampler_study_spec.ts";
 * const r: StudyReference = {
 *   spec: { type: "HeunDiscreteScheduler" }, steps: 1000,
 *   check: { spec: { type: "LMSDiscreteScheduler" }, steps: 1000, tolerance: 1e-4 },
 * };
 * assert.equal(r.check.tolerance, 1e-4);
 * ```
 */
export interface StudyReference {
  /** The solver. */
  spec: SamplerSpec;
  /** Its steps. */
  steps: number;
  /** What of its run is the solution (default "final"). */
  end?: SamplerEnd;
  /** The second solver, its steps, its end and the largest |d| allowed between the two. */
  check: { spec: SamplerSpec; steps: number; end?: SamplerEnd; tolerance: number };
}

/**
 * A sampler accuracy study: every deterministic sampler's final latents against a converged
 * solution of the same probability-flow ODE, and every sampler's digit quality, versus steps.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { SamplerStudySpec } from "./sampler_study_spec.ts";
 * const s: SamplerStudySpec = {
 *   name: "s", kind: "samplers", models: [{ model: "fixtures/models/digits-ddpm" }],
 *   samplers: [{ id: "ddim", spec: { type: "DDIMScheduler" }, order: 1 }], steps: [5, 10], seeds: 2,
 *   reference: {
 *     spec: { type: "DPMSolverMultistepScheduler", config: { final_sigmas_type: "sigma_min" } }, steps: 100,
 *     check: { spec: { type: "PNDMScheduler" }, steps: 100, tolerance: 1e-3 },
 *   },
 * };
 * assert.equal(s.kind, "samplers");
 * ```
 */
export interface SamplerStudySpec {
  /** Lowercase letters, digits and dashes; names the report folder. */
  name: string;
  /** The study kind. */
  kind: "samplers";
  /** One sentence on what the study shows. */
  description?: string;
  /** The models. */
  models: SamplerStudyModel[];
  /**
   * scheduler_config.json keys laid over every model's for every sampler (e.g. trailing spacing
   * so that every step count starts at the same noise level).
   */
  config?: Record<string, unknown>;
  /** The samplers. */
  samplers: StudySampler[];
  /** Step counts. */
  steps: number[];
  /** Seeds 0 .. seeds-1, one image each, sampled as one batch. */
  seeds: number;
  /**
   * The converged solution, the latents at sigma(0): a deterministic sampler at many steps ending
   * there, and a second solver (`check`) that must agree with it within `tolerance` (max |d|).
   * Both should give the model the timestep that belongs to each sigma (no rounding). Not run for
   * Gaussian data (its solution is exact); required for a model folder.
   */
  reference?: StudyReference;
  /**
   * The fit's range (default minSteps 20, floorFactor 10, exactFloor 1e-5): from `minSteps`
   * steps, errors above `floorFactor` x the reference's check RMS, or above `exactFloor` (float32
   * round-off) against a closed-form solution.
   */
  fit?: { minSteps: number; floorFactor: number; exactFloor?: number };
  /** The digit classifier (default fixtures/models/digit-classifier.json). */
  classifier?: string;
}

const ID = /^[a-z0-9]+([.-][a-z0-9]+)*$/;
const SAMPLER_KEYS = ["id", "spec", "eta", "order", "stochastic", "note", "end"];

/** The problem with a sampler spec as `[field, problem]`, or null. */
function samplerProblem(spec: SamplerSpec): [string, string] | null {
  const kind = Object.hasOwn(SAMPLERS, spec?.type) ? SAMPLERS[spec.type] : undefined;
  if (!kind) return ["type", `expected one of ${Object.keys(SAMPLERS).join(", ")}`];
  const problem = kind.check(spec);
  return problem ? [problem[0].replace(/^sampler\./, ""), problem[1]] : null;
}

/**
 * Checks the fields of a sampler study (its name and kind already checked), calling `fail`
 * with the first bad field.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { checkSamplerStudy } from "./sampler_study_spec.ts";
 * const fail = (field: string, problem: string): never => { throw new Error(`${field}: ${problem}`); };
 * const s = {
 *   name: "s", kind: "samplers" as const, models: [{ model: "m" }], steps: [5], seeds: 1,
 *   samplers: [{ id: "x", spec: { type: "NoSuch" } }],
 *   reference: undefined,
 * };
 * // @ts-expect-error: an unknown sampler type
 * assert.throws(() => checkSamplerStudy(s, fail), /samplers\[0\] \(x\)\.spec\.type: expected one of/);
 * ```
 */
export function checkSamplerStudy(
  spec: SamplerStudySpec,
  fail: (field: string, problem: string) => never,
): void {
  if (!Array.isArray(spec.models) || spec.models.length === 0) {
    fail("models", "expected at least one { model }");
  }
  spec.models.forEach((m, i) => {
    for (const key of Object.keys(m ?? {})) {
      if (!["model", "prompt", "guidance", "gaussian"].includes(key)) {
        fail(
          `models[${i}].${key}`,
          "not a field of a study model (model, prompt, guidance, gaussian)",
        );
      }
    }
    if (typeof m?.model !== "string" || m.model === "") {
      fail(`models[${i}].model`, "expected a folder");
    }
    if (m.prompt !== undefined && typeof m.prompt !== "string") {
      fail(`models[${i}].prompt`, "expected a string ({k}: the seed's digit)");
    }
    if (m.guidance !== undefined && !(Number.isFinite(m.guidance) && m.guidance >= 0)) {
      fail(`models[${i}].guidance`, "expected a number >= 0");
    }
    const g = m.gaussian;
    if (g !== undefined) {
      if (typeof g !== "object" || g === null || Array.isArray(g)) {
        fail(`models[${i}].gaussian`, "expected { mean, std, shape, scheduler }");
      }
      for (const key of Object.keys(g)) {
        if (!["mean", "std", "shape", "scheduler"].includes(key)) {
          fail(
            `models[${i}].gaussian.${key}`,
            "not a field of Gaussian data (mean, std, shape, scheduler)",
          );
        }
      }
      if (!Number.isFinite(g.mean)) fail(`models[${i}].gaussian.mean`, "expected a number");
      if (!(g.std > 0 && Number.isFinite(g.std))) {
        fail(`models[${i}].gaussian.std`, "expected a positive number");
      }
      if (
        !Array.isArray(g.shape) || g.shape.length === 0 ||
        !g.shape.every((n) => Number.isInteger(n) && n > 0)
      ) {
        fail(`models[${i}].gaussian.shape`, "expected [C, H, W] of positive whole numbers");
      }
      if (typeof g.scheduler !== "object" || g.scheduler === null || Array.isArray(g.scheduler)) {
        fail(`models[${i}].gaussian.scheduler`, "expected a scheduler_config.json object");
      }
      if (m.prompt !== undefined || m.guidance !== undefined) {
        fail(`models[${i}].gaussian`, "Gaussian data takes no prompt or guidance");
      }
    }
  });
  if (
    spec.config !== undefined &&
    (typeof spec.config !== "object" || spec.config === null || Array.isArray(spec.config))
  ) fail("config", "expected an object of scheduler_config.json keys");
  if (!Array.isArray(spec.samplers) || spec.samplers.length === 0) {
    fail("samplers", "expected at least one { id, spec }");
  }
  const ids = new Set<string>();
  spec.samplers.forEach((s, i) => {
    if (!ID.test(s?.id ?? "")) {
      fail(`samplers[${i}].id`, "expected lowercase letters, digits, dots, dashes");
    }
    const at = `samplers[${i}] (${s.id})`;
    if (ids.has(s.id)) fail(`${at}.id`, `'${s.id}' is used twice`);
    ids.add(s.id);
    for (const key of Object.keys(s)) {
      if (!SAMPLER_KEYS.includes(key)) {
        fail(`${at}.${key}`, `not a field of a study sampler (${SAMPLER_KEYS.join(", ")})`);
      }
    }
    const problem = samplerProblem(s.spec);
    if (problem) fail(`${at}.spec.${problem[0]}`, problem[1]);
    if (s.eta !== undefined && !(Number.isFinite(s.eta) && s.eta >= 0)) {
      fail(`${at}.eta`, "expected a number >= 0");
    }
    if (s.eta && !SAMPLERS[s.spec.type].takesEta) {
      fail(`${at}.eta`, `${s.spec.type} has no eta`);
    }
    if (s.stochastic !== undefined && typeof s.stochastic !== "boolean") {
      fail(`${at}.stochastic`, "expected a boolean");
    }
    if (s.order !== undefined && !(Number.isFinite(s.order) && s.order > 0)) {
      fail(`${at}.order`, "expected a positive number");
    }
    if (s.stochastic && s.order !== undefined) {
      fail(`${at}.order`, "a stochastic sampler has no trajectory order to compare");
    }
    if (s.note !== undefined && typeof s.note !== "string") fail(`${at}.note`, "expected a string");
    if (s.end !== undefined && s.end !== "final" && s.end !== "last-step") {
      fail(`${at}.end`, `expected "final" or "last-step"`);
    }
  });
  const counts = (v: unknown): v is number[] =>
    Array.isArray(v) && v.length > 0 && v.every((x) => Number.isInteger(x) && x > 0);
  if (!counts(spec.steps)) fail("steps", "expected a list of positive whole numbers");
  if (new Set(spec.steps).size !== spec.steps.length) fail("steps", "expected each count once");
  if (!(Number.isInteger(spec.seeds) && spec.seeds > 0)) {
    fail("seeds", "expected a positive whole number");
  }
  const r = spec.reference;
  if (r === undefined) {
    const folder = spec.models.findIndex((m) => m.gaussian === undefined);
    if (folder >= 0) {
      fail("reference", `models[${folder}] is a model folder: its solution needs a reference`);
    }
  } else {
    if (typeof r !== "object" || r === null) fail("reference", "expected { spec, steps, check }");
    for (const [where, solver] of [["reference", r], ["reference.check", r.check]] as const) {
      if (typeof solver !== "object" || solver === null) fail(where, "expected { spec, steps }");
      const keys = where === "reference"
        ? ["spec", "steps", "end", "check"]
        : ["spec", "steps", "end", "tolerance"];
      for (const key of Object.keys(solver)) {
        if (!keys.includes(key)) fail(`${where}.${key}`, `not a field here (${keys.join(", ")})`);
      }
      const problem = samplerProblem(solver.spec);
      if (problem) fail(`${where}.spec.${problem[0]}`, problem[1]);
      if (!(Number.isInteger(solver.steps) && solver.steps > 0)) {
        fail(`${where}.steps`, "expected a positive whole number");
      }
      if (solver.end !== undefined && solver.end !== "final" && solver.end !== "last-step") {
        fail(`${where}.end`, `expected "final" or "last-step"`);
      }
    }
    if (!(r.check.tolerance > 0 && Number.isFinite(r.check.tolerance))) {
      fail(
        "reference.check.tolerance",
        "expected a positive number (max |d| against the reference)",
      );
    }
  }
  const fit = spec.fit;
  if (fit !== undefined) {
    if (typeof fit !== "object" || fit === null) fail("fit", "expected { minSteps, floorFactor }");
    for (const key of Object.keys(fit)) {
      if (!["minSteps", "floorFactor", "exactFloor"].includes(key)) {
        fail(`fit.${key}`, "not a field of fit (minSteps, floorFactor, exactFloor)");
      }
    }
    if (!(Number.isInteger(fit.minSteps) && fit.minSteps > 0)) {
      fail("fit.minSteps", "expected a positive whole number");
    }
    if (!(Number.isFinite(fit.floorFactor) && fit.floorFactor >= 0)) {
      fail("fit.floorFactor", "expected a number >= 0");
    }
    if (fit.exactFloor !== undefined && !(Number.isFinite(fit.exactFloor) && fit.exactFloor >= 0)) {
      fail("fit.exactFloor", "expected a number >= 0");
    }
  }
  if (spec.classifier !== undefined && (typeof spec.classifier !== "string" || !spec.classifier)) {
    fail("classifier", "expected the path of the digit classifier JSON");
  }
}
