/**
 * What every port of a diffusers discrete-time scheduler shares: diffusers' `ConfigMixin`
 * (`from_config`, the frozen `config`, `save_config`'s JSON) and the start of each `__init__`
 * (the float32 `betas`, `alphas` and `alphas_cumprod`), plus the `timesteps` of the current
 * schedule. Each scheduler file keeps its own math: `setTimesteps`, `step` and what they need.
 *
 * @module
 */
import { type Float32Math, ieeeMath } from "../numerics/f32_math.ts";
import { type BetaConfig, noiseSchedule } from "./betas.ts";
import { type SchedulerSpec } from "./config.ts";
import {
  type ConfigOrigin,
  parseSchedulerConfig,
  resolveSchedulerConfig,
  toDiffusersConfig,
} from "./config_json.ts";

/**
 * The second constructor argument of every scheduler: what `fromConfig` read besides the
 * options (class name, kept keys, warnings, source), and `math`, where the scheduler takes its
 * float32 sqrt/exp/log from (default `ieeeMath`; a reference's recorded or inferred table
 * reproduces the machine that made it).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { SchedulerOptions } from "./scheduler_base.ts";
 * import { DDIMScheduler } from "./ddim.ts";
 * import { MathTable } from "../numerics/f32_math.ts";
 * const math = new MathTable("recorded");
 * const options: SchedulerOptions = { math, source: "my_config.json" };
 * assert.equal(new DDIMScheduler({}, options).math, math);
 * ```
 */
export interface SchedulerOptions extends Partial<ConfigOrigin> {
  /** float32 sqrt/exp/log/pow (default `ieeeMath`). */
  math?: Float32Math;
}

/**
 * A scheduler class as {@link fromDiffusersConfig} sees it: constructible from camelCase
 * options and a config origin, with its class name and defaults in `spec`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { SchedulerClass } from "./scheduler_base.ts";
 * import { DDIMScheduler } from "./ddim.ts";
 * import type { DDIMConfig } from "./ddim.ts";
 * const cls: SchedulerClass<DDIMConfig, DDIMScheduler> = DDIMScheduler;
 * assert.equal(cls.spec.className, "DDIMScheduler");
 * ```
 */
export interface SchedulerClass<C extends object, T> {
  /** Builds an instance from camelCase options, where they came from, and its math. */
  new (config?: Partial<C>, options?: SchedulerOptions): T;
  /** Class name and defaults. */
  readonly spec: SchedulerSpec<C>;
}

/**
 * diffusers' `from_config` for scheduler class `cls`: reads a `scheduler_config.json` object
 * (snake_case keys) against `cls.spec` (unknown keys and options of other classes are kept and
 * reported in `configWarnings`) and constructs the scheduler. Each class's static `fromConfig`
 * is this.
 *
 * @param json the parsed JSON
 * @param source the file name, for errors and warnings
 * @param math float32 sqrt/exp/log for the scheduler (default `ieeeMath`)
 * @throws {SchedulerConfigError} on a wrong type or an unknown enum value.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { fromDiffusersConfig } from "./scheduler_base.ts";
 * import { DDIMScheduler } from "./ddim.ts";
 * const s = fromDiffusersConfig(DDIMScheduler, {
 *   _class_name: "PNDMScheduler", skip_prk_steps: true, clip_sample: false, set_alpha_to_one: false,
 * });
 * assert.equal(s.configWarnings.length, 1); // "skip_prk_steps" is not an option of DDIMScheduler
 * ```
 */
export function fromDiffusersConfig<C extends object, T>(
  cls: SchedulerClass<C, T>,
  json: unknown,
  source?: string,
  math?: Float32Math,
): T {
  const { config, ...origin } = parseSchedulerConfig(json, cls.spec, source);
  return new cls(config, math ? { ...origin, math } : origin);
}

/**
 * The base of the diffusers scheduler ports (DDIM, DDIMInverse, DDPM, PNDM, LMSDiscrete,
 * EulerDiscrete): config and origin, `configWarnings`, `toDiffusersConfig`, the noise schedule
 * and the current timesteps. Subclasses pass their spec to the constructor, fill
 * `timestepList` in `setTimesteps`, and have a static `fromConfig` ({@link fromDiffusersConfig}).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { SchedulerBase } from "./scheduler_base.ts";
 * import { type BetaOption, type SchedulerConfig, schedulerSpec } from "./config.ts";
 * type C = Pick<SchedulerConfig, BetaOption | "stepsOffset">;
 * const SPEC = schedulerSpec<C>("MyScheduler", { stepsOffset: 0 });
 * class MyScheduler extends SchedulerBase<C> {
 *   static readonly spec = SPEC;
 *   constructor(config: Partial<C> = {}) { super(SPEC, config); }
 * }
 * assert.equal(new MyScheduler({ numTrainTimesteps: 4 }).alphasCumprod.length, 4);
 * ```
 */
export abstract class SchedulerBase<C extends BetaConfig> {
  /** diffusers' `order`: model evaluations per step. */
  readonly order: number = 1;
  /** The complete configuration (frozen). */
  readonly config: Readonly<C>;
  /** Where the config came from: class name/version in the JSON, kept extra keys, warnings. */
  readonly configOrigin: ConfigOrigin;
  /** float32 betas, as diffusers' `self.betas`. */
  readonly betas: Float32Array;
  /** float32 `1 - betas`, as diffusers' `self.alphas`. */
  readonly alphas: Float32Array;
  /** float32 cumulative product of `alphas`, bit-exact with diffusers' `alphas_cumprod`. */
  readonly alphasCumprod: Float32Array;
  /** `null` until `setTimesteps`. */
  numInferenceSteps: number | null = null;
  /** Where float32 sqrt/exp/log come from (the reference machine's, or IEEE). */
  readonly math: Float32Math;
  /** The schedule `timesteps` returns a copy of; subclasses set it. */
  protected timestepList: number[] = [];
  readonly #spec: SchedulerSpec<C>;

  /**
   * Creates the instance (see the class documentation for what it holds).
   *
   * @param spec the class's name and defaults
   * @param config options in camelCase; missing ones take diffusers' defaults
   * @param options set by `fromConfig` (what the JSON carried besides options), and `math`
   * @throws {SchedulerConfigError} on an unknown option or a value of the wrong type.
   */
  protected constructor(spec: SchedulerSpec<C>, config: Partial<C>, options?: SchedulerOptions) {
    this.#spec = spec;
    this.config = Object.freeze(resolveSchedulerConfig(spec, config));
    const { math, ...origin } = options ?? {};
    this.configOrigin = { ...origin, extra: origin.extra ?? {}, warnings: origin.warnings ?? [] };
    this.math = math ?? ieeeMath;
    const schedule = noiseSchedule(this.config, this.math);
    this.betas = schedule.betas;
    this.alphas = schedule.alphas;
    this.alphasCumprod = schedule.alphasCumprod;
  }

  /** Warnings from reading the config (unknown keys, options of other classes). */
  get configWarnings(): readonly string[] {
    return this.configOrigin.warnings;
  }

  /**
   * The config as diffusers' `scheduler.config` JSON (snake_case, `_class_name` first).
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { DDIMScheduler } from "./ddim.ts";
   * assert.equal(new DDIMScheduler().toDiffusersConfig().clip_sample, true);
   * ```
   */
  toDiffusersConfig(): Record<string, unknown> {
    return toDiffusersConfig(this.#spec, this.config, this.configOrigin);
  }

  /** The timesteps of the current schedule, in the order `step` visits them. */
  get timesteps(): number[] {
    return [...this.timestepList];
  }

  /** diffusers' class name, for messages. */
  protected get className(): string {
    return this.#spec.className;
  }
}
