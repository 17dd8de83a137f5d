/**
 * The one table of sampler types a case can name, and the factory that builds any of them:
 * `makeSampler(spec, schedulerConfig, { steps, eta, generator })`. The diffusers schedulers come
 * from their `scheduler_config.json` (with the case's snake_case overrides) through
 * `schedulerSampler`; the CompVis PLMS and labml DDIM samplers read the same config's betas.
 * Case validation, the runner and the report read this table; adding a sampler is its own
 * file plus one row here.
 *
 * @module
 */
import type { Precision } from "../numerics/f16.ts";
import type { Float32Math } from "../numerics/f32_math.ts";
import type { TorchGenerator } from "../tensor/torch_generator.ts";
import { CompVisPLMSSampler } from "./compvis_plms.ts";
import { DDIMScheduler } from "./ddim.ts";
import { LabmlDDIMSampler } from "./labml_ddim.ts";
import { ldmAlphasCumprodForConfig } from "./ldm_schedule.ts";
import { schedulerFromConfig } from "./registry.ts";
import { schedulerSampler } from "./scheduler_sampler.ts";
import type { Sampler, Scheduler } from "./types.ts";

/**
 * The diffusers scheduler classes a case can name (the keys of `SCHEDULER_CLASSES`, less the
 * inverse scheduler, which does not sample).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { DiffusersSchedulerName } from "./samplers.ts";
 * const name: DiffusersSchedulerName = "EulerDiscreteScheduler";
 * assert.deepEqual(name.endsWith("Scheduler"), true);
 * ```
 */
export type DiffusersSchedulerName =
  | "DDIMScheduler"
  | "DDPMScheduler"
  | "PNDMScheduler"
  | "LMSDiscreteScheduler"
  | "EulerDiscreteScheduler"
  | "EulerAncestralDiscreteScheduler"
  | "LCMScheduler"
  | "DPMSolverMultistepScheduler"
  | "DPMSolverSinglestepScheduler"
  | "HeunDiscreteScheduler"
  | "KDPM2DiscreteScheduler"
  | "DEISMultistepScheduler"
  | "UniPCMultistepScheduler";

/**
 * The sampler a case runs: a diffusers scheduler (its config is the model folder's
 * scheduler/scheduler_config.json with `config` overrides in diffusers' snake_case keys), or one
 * of the two non-diffusers traditions.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { SamplerSpec } from "./samplers.ts";
 * const ddpm: SamplerSpec = { type: "DDPMScheduler", config: { variance_type: "fixed_small" } };
 * const quad: SamplerSpec = { type: "LabmlDDIM", discretize: "quad" };
 * assert.deepEqual([ddpm.type, quad.type], ["DDPMScheduler", "LabmlDDIM"]);
 * ```
 */
export type SamplerSpec =
  | {
    type: DiffusersSchedulerName;
    config?: Record<string, unknown>;
    /**
     * A TypeScript module with the user's own port of this scheduler (relative to the working
     * folder, or absolute), run instead of ours; the references stay diffusers' `type`.
     */
    implementation?: string;
    /** The module's export holding the class (default: the `type` name, else `default`). */
    exportName?: string;
  }
  | { type: "CompVisPLMS" }
  | { type: "LabmlDDIM"; discretize: "uniform" | "quad"; temperature?: number };

/**
 * What {@link makeSampler} needs besides the spec and the config.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { MakeSamplerOptions } from "./samplers.ts";
 * const o: MakeSamplerOptions = { steps: 20, eta: 0 };
 * assert.deepEqual(o.steps, 20);
 * ```
 */
export interface MakeSamplerOptions {
  /** Number of inference steps (`setTimesteps(steps)` is called). */
  steps: number;
  /** DDIM's eta (every sampler that has one; default 0). */
  eta?: number;
  /**
   * Where step noise comes from (DDPM, EulerAncestral, Euler with s_churn, DDIM and labml DDIM
   * with eta > 0): the pipeline's one generator.
   */
  generator?: TorchGenerator;
  /**
   * DDIM's `use_clipped_model_output`, passed to every `step` of a diffusers scheduler
   * (DDIMPipeline's option; left out, nothing is passed).
   */
  useClippedModelOutput?: boolean;
  /** float32 sqrt/exp/log of the schedules and steps (default IEEE). */
  math?: Float32Math;
  /** The config's file, for error messages. */
  source?: string;
  /** The class of a spec's `implementation`, loaded by `loadSchedulerImplementation`. */
  implementation?: SchedulerImplementation;
  /**
   * The dtype the sampler's steps run in (default "float32"); "float16" only for the kinds whose
   * row has `float16` (and no `implementation`).
   */
  precision?: Precision;
}

/**
 * A user's scheduler class: the public contract's `X.fromConfig(json, source?, math?)` giving a
 * {@link Scheduler} (its `configWarnings`, if any, are reported like ours).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { DDIMScheduler } from "./ddim.ts";
 * import type { SchedulerImplementation } from "./samplers.ts";
 * const mine: SchedulerImplementation = DDIMScheduler; // any class with fromConfig
 * assert.equal(typeof mine.fromConfig, "function");
 * ```
 */
export interface SchedulerImplementation {
  /** Builds the scheduler from a diffusers `scheduler_config.json` object (snake_case keys). */
  fromConfig(
    json: Readonly<Record<string, unknown>>,
    source?: string,
    math?: Float32Math,
  ): Scheduler & { readonly configWarnings?: readonly string[] };
}

/**
 * A built sampler with what a report says about it.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { makeSampler } from "./samplers.ts";
 * const s = makeSampler({ type: "DDIMScheduler" }, { some_future_option: 1 }, { steps: 2 });
 * assert.deepEqual(s.configWarnings.length, 1);
 * ```
 */
export type MadeSampler = Sampler & {
  /** Config keys kept but not used, and options the class lacks. */
  readonly configWarnings: readonly string[];
};

/**
 * One row of {@link SAMPLERS}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { SAMPLERS } from "./samplers.ts";
 * assert.deepEqual(SAMPLERS.LabmlDDIM.label({ type: "LabmlDDIM", discretize: "quad" }), "LabmlDDIM (quad)");
 * ```
 */
export interface SamplerKind {
  /** How results and reports name a sampler of this type. */
  label(spec: SamplerSpec): string;
  /** Whether its steps use DDIM's eta (others would ignore a non-zero eta: a case refuses it). */
  readonly takesEta: boolean;
  /**
   * Whether it can step on float16 tensors (`precision: "float16"`, torch's CPU half
   * arithmetic): DDIMScheduler with eta 0, PNDMScheduler's PLMS steps; not a user's
   * `implementation`.
   */
  readonly float16: boolean;
  /** The problem with the spec's own fields as `[field, problem]`, or null. */
  check(spec: SamplerSpec): [string, string] | null;
  /** Builds it (timesteps not set yet). */
  make(
    spec: SamplerSpec,
    config: Readonly<Record<string, unknown>>,
    o: MakeSamplerOptions,
  ): MadeSampler;
}

const diffusers = (
  name: DiffusersSchedulerName,
  takesEta = false,
  float16 = false,
): SamplerKind => ({
  label: (spec) => {
    const module = (spec as { implementation?: string }).implementation;
    return module ? `${name} (${module})` : name;
  },
  takesEta,
  float16,
  check: (spec) => {
    const s = spec as { config?: unknown; implementation?: unknown; exportName?: unknown };
    if (
      s.config !== undefined &&
      (typeof s.config !== "object" || s.config === null || Array.isArray(s.config))
    ) return ["sampler.config", "expected an object of scheduler_config.json keys"];
    if (
      s.implementation !== undefined && (typeof s.implementation !== "string" || !s.implementation)
    ) {
      return ["sampler.implementation", "expected the path of a TypeScript module"];
    }
    if (s.exportName !== undefined && typeof s.exportName !== "string") {
      return ["sampler.exportName", "expected the name of the module's export"];
    }
    return null;
  },
  make: (spec, config, o) => {
    const { config: overrides = {}, implementation } = spec as {
      config?: Record<string, unknown>;
      implementation?: string;
    };
    let scheduler: Scheduler & { readonly configWarnings?: readonly string[] };
    if (implementation) {
      if (!o.implementation) {
        throw new RangeError(
          `makeSampler: sampler.implementation ${JSON.stringify(implementation)} is not loaded; ` +
            "pass the class as options.implementation (loadSchedulerImplementation)",
        );
      }
      scheduler = o.implementation.fromConfig({ ...config, ...overrides }, o.source, o.math);
    } else scheduler = schedulerFromConfig(name, config, overrides, o.source, o.math);
    const stepping = {
      eta: o.eta,
      generator: o.generator,
      precision: o.precision,
      useClippedModelOutput: o.useClippedModelOutput,
    };
    return Object.assign(schedulerSampler(scheduler, stepping), {
      configWarnings: scheduler.configWarnings ?? [],
    });
  },
});

/** The LDM alphas of the model's betas (diffusers' scaled_linear is LDM's linear). */
function ldmAlphas(config: Readonly<Record<string, unknown>>, o: MakeSamplerOptions) {
  const parsed = DDIMScheduler.fromConfig(config, o.source);
  return { alphas: ldmAlphasCumprodForConfig(parsed.config), warnings: parsed.configWarnings };
}

/**
 * Every sampler type a case can name, by `type`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { SAMPLERS } from "./samplers.ts";
 * assert.deepEqual(Object.keys(SAMPLERS).includes("CompVisPLMS"), true);
 * ```
 */
export const SAMPLERS: Readonly<Record<SamplerSpec["type"], SamplerKind>> = Object.freeze({
  DDIMScheduler: diffusers("DDIMScheduler", true, true),
  DDPMScheduler: diffusers("DDPMScheduler"),
  PNDMScheduler: diffusers("PNDMScheduler", false, true),
  LMSDiscreteScheduler: diffusers("LMSDiscreteScheduler"),
  EulerDiscreteScheduler: diffusers("EulerDiscreteScheduler"),
  EulerAncestralDiscreteScheduler: diffusers("EulerAncestralDiscreteScheduler"),
  LCMScheduler: diffusers("LCMScheduler"),
  DPMSolverMultistepScheduler: diffusers("DPMSolverMultistepScheduler"),
  DPMSolverSinglestepScheduler: diffusers("DPMSolverSinglestepScheduler"),
  HeunDiscreteScheduler: diffusers("HeunDiscreteScheduler"),
  KDPM2DiscreteScheduler: diffusers("KDPM2DiscreteScheduler"),
  DEISMultistepScheduler: diffusers("DEISMultistepScheduler"),
  UniPCMultistepScheduler: diffusers("UniPCMultistepScheduler"),
  CompVisPLMS: {
    label: () => "CompVisPLMS",
    takesEta: false, // PLMSSampler raises for ddim_eta != 0
    float16: false,
    check: () => null,
    make: (_spec, config, o) => {
      const { alphas, warnings } = ldmAlphas(config, o);
      const s = new CompVisPLMSSampler(alphas, o.steps, { math: o.math });
      return Object.assign(s, { configWarnings: warnings });
    },
  },
  LabmlDDIM: {
    takesEta: true,
    float16: false,
    label: (spec) => `LabmlDDIM (${(spec as { discretize: string }).discretize})`,
    check: (spec) => {
      const s = spec as { discretize?: unknown; temperature?: unknown };
      if (!["uniform", "quad"].includes(s.discretize as string)) {
        return ["sampler.discretize", "expected 'uniform' or 'quad'"];
      }
      if (s.temperature !== undefined && !Number.isFinite(s.temperature)) {
        return ["sampler.temperature", "expected a finite number"];
      }
      return null;
    },
    make: (spec, config, o) => {
      const { alphas, warnings } = ldmAlphas(config, o);
      const { discretize, temperature } = spec as Extract<SamplerSpec, { type: "LabmlDDIM" }>;
      const s = new LabmlDDIMSampler(alphas, o.steps, {
        discretize,
        temperature,
        eta: o.eta ?? 0,
        generator: o.generator,
        math: o.math,
      });
      return Object.assign(s, { configWarnings: warnings });
    },
  },
});

/**
 * Builds the sampler `spec` names over a diffusers `scheduler_config.json` object, with its
 * timesteps set for `steps`.
 *
 * @throws {RangeError} for an unknown sampler type or a precision the sampler does not run in;
 * `SchedulerConfigError` for a bad config.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { makeSampler } from "./samplers.ts";
 * const config = { beta_schedule: "scaled_linear", beta_start: 0.00085, beta_end: 0.012 };
 * const plms = makeSampler({ type: "CompVisPLMS" }, config, { steps: 4 });
 * assert.deepEqual(plms.timesteps, [751, 501, 251, 1]);
 * const ddim = makeSampler({ type: "DDIMScheduler" }, { ...config, steps_offset: 1 }, { steps: 4 });
 * assert.deepEqual(ddim.timesteps, [751, 501, 251, 1]);
 * ```
 */
export function makeSampler(
  spec: SamplerSpec,
  config: Readonly<Record<string, unknown>>,
  options: MakeSamplerOptions,
): MadeSampler {
  const kind = Object.hasOwn(SAMPLERS, spec?.type) ? SAMPLERS[spec.type] : undefined;
  if (!kind) {
    throw new RangeError(
      `makeSampler: sampler type ${JSON.stringify(spec?.type)} is not one of ${
        Object.keys(SAMPLERS).join(", ")
      }`,
    );
  }
  const problem = float16Problem(spec, options.precision ?? "float32", options.eta ?? 0);
  if (problem) throw new RangeError(`makeSampler: ${problem[0]}: ${problem[1]}`);
  const sampler = kind.make(spec, config, options);
  sampler.setTimesteps(options.steps);
  return sampler;
}

/**
 * Why a sampler spec cannot run in `precision`, as `[field, problem]` (the case field named),
 * or null: float16 runs the kinds whose {@link SAMPLERS} row has `float16`, without a user's
 * `implementation`, with eta 0.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { float16Problem } from "./samplers.ts";
 * assert.equal(float16Problem({ type: "PNDMScheduler" }, "float16", 0), null);
 * assert.equal(float16Problem({ type: "EulerDiscreteScheduler" }, "float32", 0), null);
 * assert.match(float16Problem({ type: "EulerDiscreteScheduler" }, "float16", 0)![1], /DDIMScheduler, PNDMScheduler/);
 * ```
 */
export function float16Problem(
  spec: SamplerSpec,
  precision: Precision,
  eta: number,
): [string, string] | null {
  if (precision !== "float16") return null;
  const capable = Object.entries(SAMPLERS).filter(([, k]) => k.float16).map(([n]) => n);
  if (!SAMPLERS[spec.type]?.float16) {
    return [
      "precision",
      `${spec.type} has no float16 sampler mode; samplers that have one: ${capable.join(", ")}`,
    ];
  }
  if ((spec as { implementation?: string }).implementation) {
    return [
      "precision",
      "float16 runs our own scheduler ports only, not a sampler.implementation module",
    ];
  }
  if (eta !== 0) return ["precision", `the float16 sampler mode runs eta 0 only; got eta ${eta}`];
  return null;
}
