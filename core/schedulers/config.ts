/**
 * Scheduler configuration: the typed, camelCase mirror of a diffusers `scheduler_config.json`,
 * the per-class defaults (each class declares them exactly as its diffusers `__init__`
 * signature), validation with errors that name the file, the key and the allowed values, and
 * the conversion back to diffusers' snake_case JSON.
 *
 * @module
 */

/**
 * diffusers' `beta_schedule`: the beta schedules reproduced bit-exactly.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { BETA_SCHEDULES, type BetaSchedule } from "./config.ts";
 * const b: BetaSchedule = "scaled_linear";
 * assert.ok(BETA_SCHEDULES.includes(b));
 * ```
 */
export type BetaSchedule = "linear" | "scaled_linear" | "squaredcos_cap_v2";
/**
 * Every {@link BetaSchedule}, in diffusers' order.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { BETA_SCHEDULES } from "./config.ts";
 * assert.ok(BETA_SCHEDULES.length > 1);
 * ```
 */
export const BETA_SCHEDULES: readonly BetaSchedule[] = [
  "linear",
  "scaled_linear",
  "squaredcos_cap_v2",
];

/**
 * diffusers' `prediction_type`: what the model predicts (noise, x0, or v).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { PREDICTION_TYPES, type PredictionType } from "./config.ts";
 * const p: PredictionType = "v_prediction";
 * assert.ok(PREDICTION_TYPES.includes(p));
 * ```
 */
export type PredictionType = "epsilon" | "sample" | "v_prediction";
/**
 * Every {@link PredictionType}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { PREDICTION_TYPES } from "./config.ts";
 * assert.ok(PREDICTION_TYPES.length > 1);
 * ```
 */
export const PREDICTION_TYPES: readonly PredictionType[] = ["epsilon", "sample", "v_prediction"];

/**
 * diffusers' `timestep_spacing`: how inference timesteps are laid over the training range.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { TIMESTEP_SPACINGS, type TimestepSpacing } from "./config.ts";
 * const t: TimestepSpacing = "trailing";
 * assert.ok(TIMESTEP_SPACINGS.includes(t));
 * ```
 */
export type TimestepSpacing = "leading" | "trailing" | "linspace";
/**
 * Every {@link TimestepSpacing}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { TIMESTEP_SPACINGS } from "./config.ts";
 * assert.ok(TIMESTEP_SPACINGS.length > 1);
 * ```
 */
export const TIMESTEP_SPACINGS: readonly TimestepSpacing[] = ["leading", "trailing", "linspace"];

/**
 * diffusers' `variance_type`: DDPM's variance choices.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { VARIANCE_TYPES, type VarianceType } from "./config.ts";
 * const v: VarianceType = "fixed_large_log";
 * assert.ok(VARIANCE_TYPES.includes(v));
 * ```
 */
export type VarianceType =
  | "fixed_small"
  | "fixed_small_log"
  | "fixed_large"
  | "fixed_large_log"
  | "learned"
  | "learned_range";
/**
 * Every {@link VarianceType}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { VARIANCE_TYPES } from "./config.ts";
 * assert.ok(VARIANCE_TYPES.length > 1);
 * ```
 */
export const VARIANCE_TYPES: readonly VarianceType[] = [
  "fixed_small",
  "fixed_small_log",
  "fixed_large",
  "fixed_large_log",
  "learned",
  "learned_range",
];

/**
 * diffusers' `timestep_type` (EulerDiscrete): discrete or continuous timesteps.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { TIMESTEP_TYPES, type TimestepType } from "./config.ts";
 * const t: TimestepType = "continuous";
 * assert.ok(TIMESTEP_TYPES.includes(t));
 * ```
 */
export type TimestepType = "discrete" | "continuous";
/**
 * Every {@link TimestepType}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { TIMESTEP_TYPES } from "./config.ts";
 * assert.ok(TIMESTEP_TYPES.length > 1);
 * ```
 */
export const TIMESTEP_TYPES: readonly TimestepType[] = ["discrete", "continuous"];

/**
 * diffusers' `interpolation_type` (LMS/Euler): how sigmas are interpolated.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { INTERPOLATION_TYPES, type InterpolationType } from "./config.ts";
 * const i: InterpolationType = "log_linear";
 * assert.ok(INTERPOLATION_TYPES.includes(i));
 * ```
 */
export type InterpolationType = "linear" | "log_linear";
/**
 * Every {@link InterpolationType}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { INTERPOLATION_TYPES } from "./config.ts";
 * assert.ok(INTERPOLATION_TYPES.length > 1);
 * ```
 */
export const INTERPOLATION_TYPES: readonly InterpolationType[] = ["linear", "log_linear"];

/**
 * Every scheduler option this project understands, camelCase. A scheduler class uses a subset
 * (for example `DDIMConfig = Pick<SchedulerConfig, ...>`); which keys belong to a class is given
 * by its {@link SchedulerSpec}'s `defaults`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { SchedulerConfig } from "./config.ts";
 * import { DDIMScheduler } from "./ddim.ts";
 * const partial: Partial<SchedulerConfig> = { betaSchedule: "scaled_linear", stepsOffset: 1 };
 * const ddim = new DDIMScheduler(partial);
 * assert.equal(ddim.config.numTrainTimesteps, 1000); // missing options take the defaults
 * assert.equal(ddim.config.stepsOffset, 1);
 * ```
 */
export interface SchedulerConfig {
  /** Number of diffusion steps the model was trained with (`num_train_timesteps`). */
  numTrainTimesteps: number;
  /** First beta of the `linear` / `scaled_linear` schedule (`beta_start`). */
  betaStart: number;
  /** Last beta of the `linear` / `scaled_linear` schedule (`beta_end`). */
  betaEnd: number;
  /** How betas are laid out between `betaStart` and `betaEnd` (`beta_schedule`). */
  betaSchedule: BetaSchedule;
  /** Betas given directly (bypasses betaStart/betaEnd/betaSchedule); `null` when unused. */
  trainedBetas: number[] | null;
  /** Clip the predicted x0 to `[-clipSampleRange, clipSampleRange]` (`clip_sample`). */
  clipSample: boolean;
  /** The bound of `clipSample` (`clip_sample_range`). */
  clipSampleRange: number;
  /** Use 1 as the alpha product after the last step, else `alphasCumprod[0]` (`set_alpha_to_one`). */
  setAlphaToOne: boolean;
  /** Added to the `leading` timesteps (`steps_offset`). */
  stepsOffset: number;
  /** What the model predicts: noise, x0, or v (`prediction_type`). */
  predictionType: PredictionType;
  /** Dynamic thresholding of the predicted x0 (`thresholding`, Imagen). */
  thresholding: boolean;
  /** The quantile of |x0| that `thresholding` clamps at (`dynamic_thresholding_ratio`). */
  dynamicThresholdingRatio: number;
  /** The largest threshold `thresholding` may use (`sample_max_value`). */
  sampleMaxValue: number;
  /** How inference timesteps are laid over the training range (`timestep_spacing`). */
  timestepSpacing: TimestepSpacing;
  /** Rescale betas to zero terminal SNR (`rescale_betas_zero_snr`, arXiv 2305.08891). */
  rescaleBetasZeroSnr: boolean;
  /** PNDM: skip the Runge-Kutta warm-up steps (`skip_prk_steps`). */
  skipPrkSteps: boolean;
  /** DDPM: the variance of the added noise (`variance_type`). */
  varianceType: VarianceType;
  /** Euler: discrete or continuous timesteps (`timestep_type`). */
  timestepType: TimestepType;
  /** Karras et al.'s sigma spacing (`use_karras_sigmas`). */
  useKarrasSigmas: boolean;
  /** LMS/Euler: how sigmas are interpolated over the timesteps (`interpolation_type`). */
  interpolationType: InterpolationType;
}

/**
 * The options every scheduler has, those that make its betas (`num_train_timesteps`,
 * `beta_start`, `beta_end`, `beta_schedule`, `trained_betas`): the first keys of each class's
 * config type.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { BetaOption, SchedulerConfig } from "./config.ts";
 * type MyConfig = Pick<SchedulerConfig, BetaOption | "stepsOffset">;
 * const c: Partial<MyConfig> = { betaSchedule: "linear", stepsOffset: 1 };
 * assert.equal(c.stepsOffset, 1);
 * ```
 */
export type BetaOption =
  | "numTrainTimesteps"
  | "betaStart"
  | "betaEnd"
  | "betaSchedule"
  | "trainedBetas";

/**
 * The JSON value kinds a config field may hold.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { CONFIG_FIELDS, type FieldKind } from "./config.ts";
 * const kind: FieldKind = CONFIG_FIELDS.stepsOffset.kind;
 * assert.equal(kind, "int");
 * ```
 */
export type FieldKind =
  | "int"
  | "float"
  | "boolean"
  | "enum"
  | "floatArray"
  | "intArray"
  | "string";

/**
 * How one config key is read: its snake_case JSON name, its kind, the allowed values of an
 * enum, and whether `null` is accepted.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { ConfigField } from "./config.ts";
 * const sigmaMin: ConfigField = { key: "sigma_min", kind: "float", nullable: true };
 * assert.equal(sigmaMin.key, "sigma_min");
 * ```
 */
export interface ConfigField {
  /** The snake_case key of `scheduler_config.json`. */
  readonly key: string;
  /** The JSON value kind the field holds. */
  readonly kind: FieldKind;
  /** Allowed values of an `enum` field. */
  readonly values?: readonly string[];
  /** `null` is a valid value. */
  readonly nullable?: boolean;
  /** Smallest allowed value of an `int` / `float` field. */
  readonly min?: number;
  /** A `float` field may also be +-Infinity (diffusers' `lambda_min_clipped = -inf`). */
  readonly infinite?: boolean;
}

/**
 * The field table of every key of {@link SchedulerConfig}. Schedulers with options beyond it
 * declare them in their spec's `fields`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { CONFIG_FIELDS } from "./config.ts";
 * assert.equal(CONFIG_FIELDS.betaSchedule.key, "beta_schedule");
 * ```
 */
export const CONFIG_FIELDS: { readonly [K in keyof SchedulerConfig]: ConfigField } = {
  numTrainTimesteps: { key: "num_train_timesteps", kind: "int", min: 1 },
  betaStart: { key: "beta_start", kind: "float" },
  betaEnd: { key: "beta_end", kind: "float" },
  betaSchedule: { key: "beta_schedule", kind: "enum", values: BETA_SCHEDULES },
  trainedBetas: { key: "trained_betas", kind: "floatArray", nullable: true },
  clipSample: { key: "clip_sample", kind: "boolean" },
  clipSampleRange: { key: "clip_sample_range", kind: "float" },
  setAlphaToOne: { key: "set_alpha_to_one", kind: "boolean" },
  stepsOffset: { key: "steps_offset", kind: "int" },
  predictionType: { key: "prediction_type", kind: "enum", values: PREDICTION_TYPES },
  thresholding: { key: "thresholding", kind: "boolean" },
  dynamicThresholdingRatio: { key: "dynamic_thresholding_ratio", kind: "float" },
  sampleMaxValue: { key: "sample_max_value", kind: "float" },
  timestepSpacing: { key: "timestep_spacing", kind: "enum", values: TIMESTEP_SPACINGS },
  rescaleBetasZeroSnr: { key: "rescale_betas_zero_snr", kind: "boolean" },
  skipPrkSteps: { key: "skip_prk_steps", kind: "boolean" },
  varianceType: { key: "variance_type", kind: "enum", values: VARIANCE_TYPES },
  timestepType: { key: "timestep_type", kind: "enum", values: TIMESTEP_TYPES },
  useKarrasSigmas: { key: "use_karras_sigmas", kind: "boolean" },
  interpolationType: { key: "interpolation_type", kind: "enum", values: INTERPOLATION_TYPES },
};

/**
 * What a scheduler class declares about its configuration: its diffusers class name, its
 * defaults (the keys of `defaults` are exactly the options of the class, in diffusers'
 * `__init__` order), and the field descriptions of options missing from {@link CONFIG_FIELDS}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { type SchedulerConfig, type SchedulerSpec } from "./config.ts";
 * type MyConfig = Pick<SchedulerConfig, "numTrainTimesteps" | "betaSchedule">;
 * const MY_SPEC: SchedulerSpec<MyConfig> = {
 *   className: "MyScheduler",
 *   defaults: { numTrainTimesteps: 1000, betaSchedule: "linear" },
 * };
 * assert.equal(MY_SPEC.defaults.betaSchedule, "linear");
 * ```
 */
export interface SchedulerSpec<C extends object> {
  /** diffusers' class name (`_class_name`), e.g. `"DDIMScheduler"`. */
  readonly className: string;
  /** The defaults of diffusers' `__init__`; its keys are the class's options. */
  readonly defaults: Readonly<C>;
  /** Descriptions of options that {@link CONFIG_FIELDS} lacks (or overrides for this class). */
  readonly fields?: { readonly [K in keyof C]?: ConfigField };
}

/** diffusers' defaults of the {@link BetaOption}s, the same in every scheduler's `__init__`. */
const BETA_DEFAULTS: Readonly<Pick<SchedulerConfig, BetaOption>> = Object.freeze({
  numTrainTimesteps: 1000,
  betaStart: 0.0001,
  betaEnd: 0.02,
  betaSchedule: "linear",
  trainedBetas: null,
});

/**
 * A scheduler class's {@link SchedulerSpec}: its `defaults` are the {@link BetaOption}s with
 * diffusers' defaults (1000 training steps of the `linear` schedule from 0.0001 to 0.02, the
 * same and first in every scheduler's `__init__`) followed by `defaults`, frozen.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { type BetaOption, type SchedulerConfig, schedulerSpec } from "./config.ts";
 * type MyConfig = Pick<SchedulerConfig, BetaOption | "stepsOffset">;
 * const c: Partial<MyConfig> = { betaSchedule: "linear", stepsOffset: 1 };
 * assert.equal(c.stepsOffset, 1);
 * const spec = schedulerSpec<MyConfig>("MyScheduler", { stepsOffset: 0 });
 * assert.deepEqual(Array.from(Object.keys(spec.defaults)), ["numTrainTimesteps", "betaStart", "betaEnd", "betaSchedule", "trainedBetas", "stepsOffset"]);
 * ```
 */
export function schedulerSpec<C extends Pick<SchedulerConfig, BetaOption>>(
  className: string,
  defaults: Omit<C, BetaOption>,
  fields?: SchedulerSpec<C>["fields"],
): SchedulerSpec<C> {
  const all = Object.freeze({ ...BETA_DEFAULTS, ...defaults } as C);
  return fields === undefined ? { className, defaults: all } : { className, defaults: all, fields };
}
