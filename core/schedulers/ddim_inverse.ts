/**
 * DDIMInverseScheduler: DDIM run backwards (x0 -> xT, for inversion), an exact port of
 * diffusers 0.42.1 `schedulers/scheduling_ddim_inverse.py` in float32, with its own
 * `set_alpha_to_one` / `steps_offset` semantics and ascending timesteps.
 *
 * @module
 */
import type { Float32Math } from "../numerics/f32_math.ts";
import { assertSameShape, Tensor } from "../tensor/tensor.ts";
import { AlphaScheduler } from "./alpha_scheduler.ts";
import { fromDiffusersConfig, type SchedulerOptions } from "./scheduler_base.ts";
import { clipSample, ddimPrevSample, predictOriginalAndEpsilon } from "./prediction.ts";
import { f32 } from "../numerics/f32.ts";
import { spacedTimesteps } from "./timesteps.ts";
import {
  type BetaOption,
  type SchedulerConfig,
  type SchedulerSpec,
  schedulerSpec,
} from "./config.ts";
import { type ConfigOrigin, SchedulerConfigError } from "./config_json.ts";
import type { Scheduler, StepResult } from "./types.ts";

/**
 * The options of `DDIMInverseScheduler`, as its diffusers `__init__`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { type DDIMInverseConfig, DDIMInverseScheduler } from "./ddim_inverse.ts";
 * const c: Partial<DDIMInverseConfig> = { clipSample: false };
 * assert.equal(new DDIMInverseScheduler(c).config.clipSample, false);
 * ```
 */
export type DDIMInverseConfig = Pick<
  SchedulerConfig,
  | BetaOption
  | "clipSample"
  | "setAlphaToOne"
  | "stepsOffset"
  | "predictionType"
  | "clipSampleRange"
  | "timestepSpacing"
  | "rescaleBetasZeroSnr"
>;

/**
 * `DDIMInverseScheduler`'s class name and defaults, exactly as its diffusers `__init__`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { DDIM_INVERSE_SPEC } from "./ddim_inverse.ts";
 * assert.equal(DDIM_INVERSE_SPEC.defaults.setAlphaToOne, true);
 * ```
 */
export const DDIM_INVERSE_SPEC: SchedulerSpec<DDIMInverseConfig> = schedulerSpec<DDIMInverseConfig>(
  "DDIMInverseScheduler",
  {
    clipSample: true,
    setAlphaToOne: true,
    stepsOffset: 0,
    predictionType: "epsilon",
    clipSampleRange: 1.0,
    timestepSpacing: "leading",
    rescaleBetasZeroSnr: false,
  },
);

/**
 * DDIM inversion. Timesteps ascend; `step(modelOutput, t, x)` moves the sample from the noise
 * level of `t - N // n` (or `initialAlphaCumprod` below 0) up to that of `t`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { DDIMInverseScheduler } from "./ddim_inverse.ts";
 * import { Tensor } from "../tensor/tensor.ts";
 * const model = (x: Tensor) => new Tensor(x.data.map((v) => 0.1 * v), x.shape); // a stand-in
 * const inv = new DDIMInverseScheduler({ clipSample: false });
 * inv.setTimesteps(4);
 * assert.deepEqual(inv.timesteps, [0, 250, 500, 750]);
 * let latent = new Tensor(new Float32Array([0.3, -0.2]), [1, 2]); // x_0
 * for (const t of inv.timesteps) latent = inv.step(model(latent), t, latent).prevSample; // x_750
 * assert.ok(latent.data.every(Number.isFinite));
 * ```
 */
export class DDIMInverseScheduler extends AlphaScheduler<DDIMInverseConfig> implements Scheduler {
  /** Class name and defaults. */
  static readonly spec: SchedulerSpec<DDIMInverseConfig> = DDIM_INVERSE_SPEC;
  /** The alpha product before the first step: 1, or `alphasCumprod[0]` (`set_alpha_to_one`). */
  readonly initialAlphaCumprod: number;

  /**
   * As diffusers' `__init__(**kwargs)`, the deprecated key `set_alpha_to_zero` (kept in
   * `origin.extra` by `DDIMInverseScheduler.fromConfig`), when not null, replaces
   * `set_alpha_to_one`, with a warning.
   *
   * @param config options in camelCase; missing ones take diffusers' defaults
   * @param options set by `DDIMInverseScheduler.fromConfig` (what the JSON carried besides options), and
   *   `math`: where float32 sqrt/exp/log come from (default `ieeeMath`, correctly rounded)
   * @throws {SchedulerConfigError} on an unknown option, a value of the wrong type, or a
   * `set_alpha_to_zero` that is not a boolean.
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { DDIMInverseScheduler } from "./ddim_inverse.ts";
   * const inv = DDIMInverseScheduler.fromConfig({ set_alpha_to_zero: false });
   * assert.equal(inv.config.setAlphaToOne, false);
   * ```
   */
  constructor(config: Partial<DDIMInverseConfig> = {}, options?: SchedulerOptions) {
    const deprecated = setAlphaToZero(options?.extra ? options as ConfigOrigin : undefined);
    super(
      DDIM_INVERSE_SPEC,
      deprecated ? { ...config, setAlphaToOne: deprecated.value } : config,
      deprecated ? { ...deprecated.origin, math: options?.math } : options,
    );
    this.initialAlphaCumprod = this.config.setAlphaToOne ? 1.0 : this.alphasCumprod[0];
    this.timestepList = Array.from({ length: this.config.numTrainTimesteps }, (_, i) => i);
  }

  /**
   * A scheduler from a diffusers `scheduler_config.json` object ({@link fromDiffusersConfig}).
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { DDIMInverseScheduler } from "./ddim_inverse.ts";
   * const inv = DDIMInverseScheduler.fromConfig({ set_alpha_to_zero: false });
   * assert.equal(inv.config.setAlphaToOne, false);
   * ```
   */
  static fromConfig(json: unknown, source?: string, math?: Float32Math): DDIMInverseScheduler {
    return fromDiffusersConfig(DDIMInverseScheduler, json, source, math);
  }

  /**
   * diffusers' `DDIMInverseScheduler.set_timesteps`: the DDIM timesteps in ascending order
   * (`leading` with `steps_offset`, or `trailing`; `linspace` is not supported by diffusers).
   *
   * @throws {RangeError} on a bad step count or the `linspace` spacing.
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { DDIMInverseScheduler } from "./ddim_inverse.ts";
   * const inv = new DDIMInverseScheduler({ timestepSpacing: "trailing" });
   * inv.setTimesteps(3);
   * assert.deepEqual(Array.from(inv.timesteps), [332, 666, 999]);
   * ```
   */
  setTimesteps(numInferenceSteps: number): void {
    const { numTrainTimesteps, timestepSpacing, stepsOffset } = this.config;
    if (timestepSpacing === "linspace") {
      throw new RangeError(
        `DDIMInverseScheduler.setTimesteps: timestep_spacing "${timestepSpacing}" is not ` +
          `supported (expected "leading" or "trailing", as diffusers)`,
      );
    }
    this.timestepList = spacedTimesteps(
      numTrainTimesteps,
      numInferenceSteps,
      timestepSpacing,
      stepsOffset,
    ).reverse();
    this.numInferenceSteps = numInferenceSteps;
  }

  /**
   * One inverse step (diffusers' `DDIMInverseScheduler.step`): the eta-0 DDIM update with the
   * roles of the two noise levels swapped. `opts` is accepted for the {@link Scheduler}
   * interface and ignored (inversion is deterministic).
   *
   * @throws {Error} before `setTimesteps`, on shape mismatches or an out-of-range timestep.
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { DDIMInverseScheduler } from "./ddim_inverse.ts";
   * import { Tensor } from "../tensor/tensor.ts";
   * const inv = new DDIMInverseScheduler();
   * inv.setTimesteps(10);
   * const x = new Tensor(new Float32Array([0.5]), [1, 1]);
   * const next = inv.step(new Tensor(new Float32Array([0.1]), [1, 1]), inv.timesteps[0], x);
   * assert.deepEqual(next.prevSample.shape, [1, 1]);
   * ```
   */
  step(modelOutput: Tensor, timestep: number, sample: Tensor): StepResult {
    const who = "DDIMInverseScheduler.step";
    const numInferenceSteps = this.requireInferenceSteps(who);
    assertSameShape(modelOutput, sample, "model_output", "sample", who);
    const N = this.config.numTrainTimesteps;
    // 1. the step goes from t - N // n ("timestep") up to t ("prev_timestep")
    const prevTimestep = timestep;
    const current = Math.min(timestep - Math.floor(N / numInferenceSteps), N - 1);
    // 2. alphas, betas
    const alphaProdT = this.alphaProd(current, this.initialAlphaCumprod, who);
    const alphaProdTPrev = this.alphaProdAt(prevTimestep, who);
    // 3. predicted x0 and epsilon, formula (12) of arXiv 2010.02502
    const predicted = predictOriginalAndEpsilon(
      this.config.predictionType,
      modelOutput,
      sample,
      alphaProdT,
      this.math,
    );
    let predOriginalSample = predicted.predOriginalSample;
    // 4. clip x0
    if (this.config.clipSample) {
      predOriginalSample = clipSample(predOriginalSample, this.config.clipSampleRange);
    }
    // 5. direction pointing to x_t; 6. x_t, formula (12)
    const prev = ddimPrevSample(
      predOriginalSample.data,
      predicted.predEpsilon.data,
      this.math.sqrt(alphaProdTPrev),
      this.math.sqrt(f32(1 - alphaProdTPrev)),
    );
    return { prevSample: new Tensor(prev, sample.shape), predOriginalSample };
  }
}

/**
 * diffusers' handling of the deprecated `set_alpha_to_zero` key: its value (when not null)
 * and the origin with the "not an option" warning replaced by a deprecation warning.
 */
function setAlphaToZero(
  origin: ConfigOrigin | undefined,
): { value: boolean; origin: ConfigOrigin } | undefined {
  const deprecated = origin?.extra["set_alpha_to_zero"];
  if (origin === undefined || deprecated === undefined || deprecated === null) return undefined;
  const label = origin.source ?? "DDIMInverseScheduler config";
  if (typeof deprecated !== "boolean") {
    throw new SchedulerConfigError(
      label,
      "set_alpha_to_zero",
      `expected true or false, got ${JSON.stringify(deprecated)}`,
    );
  }
  const warnings = origin.warnings.filter((w) => !w.includes('"set_alpha_to_zero"'));
  warnings.push(
    `${label}: "set_alpha_to_zero" is deprecated; its value ${deprecated} is used as ` +
      `set_alpha_to_one, as diffusers does`,
  );
  return { value: deprecated, origin: { ...origin, warnings } };
}
