/**
 * Scheduler classes by diffusers class name, so a `scheduler_config.json` (or a case naming a
 * class) turns into an instance: `schedulerFromConfig("DDIMScheduler", json)`.
 *
 * @module
 */
import type { Float32Math } from "../numerics/f32_math.ts";
import { SchedulerConfigError } from "./config_json.ts";
import { DDIMScheduler } from "./ddim.ts";
import { DDIMInverseScheduler } from "./ddim_inverse.ts";
import { DDPMScheduler } from "./ddpm.ts";
import { DEISMultistepScheduler } from "./deis.ts";
import { DPMSolverMultistepScheduler } from "./dpm_multistep.ts";
import { DPMSolverSinglestepScheduler } from "./dpm_singlestep.ts";
import { EulerDiscreteScheduler } from "./euler_discrete.ts";
import { EulerAncestralDiscreteScheduler } from "./euler_ancestral_discrete.ts";
import { HeunDiscreteScheduler } from "./heun_discrete.ts";
import { KDPM2DiscreteScheduler } from "./kdpm2_discrete.ts";
import { LMSDiscreteScheduler } from "./lms_discrete.ts";
import { LCMScheduler } from "./lcm.ts";
import { PNDMScheduler } from "./pndm.ts";
import type { Scheduler } from "./types.ts";
import { UniPCMultistepScheduler } from "./unipc.ts";

/**
 * A scheduler instance with its config warnings (unknown keys kept and reported).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { type RegisteredScheduler, schedulerFromConfig } from "./registry.ts";
 * const s: RegisteredScheduler = schedulerFromConfig("DDIMScheduler", { some_future_option: 1 });
 * assert.match(s.configWarnings[0], /some_future_option/);
 * ```
 */
export type RegisteredScheduler = Scheduler & { readonly configWarnings: readonly string[] };

/**
 * The scheduler classes by diffusers class name, each with its `fromConfig`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { SCHEDULER_CLASSES } from "./registry.ts";
 * const ddim = SCHEDULER_CLASSES["DDIMScheduler"].fromConfig({ steps_offset: 1 });
 * ddim.setTimesteps(2);
 * assert.deepEqual(ddim.timesteps, [501, 1]);
 * assert.ok("EulerDiscreteScheduler" in SCHEDULER_CLASSES);
 * ```
 */
export const SCHEDULER_CLASSES: Readonly<
  Record<
    string,
    { fromConfig(json: unknown, source?: string, math?: Float32Math): RegisteredScheduler }
  >
> = Object.freeze({
  DDIMScheduler,
  DDIMInverseScheduler,
  DDPMScheduler,
  PNDMScheduler,
  LMSDiscreteScheduler,
  EulerDiscreteScheduler,
  EulerAncestralDiscreteScheduler,
  DPMSolverMultistepScheduler,
  DPMSolverSinglestepScheduler,
  LCMScheduler,
  HeunDiscreteScheduler,
  KDPM2DiscreteScheduler,
  DEISMultistepScheduler,
  UniPCMultistepScheduler,
});

/**
 * Builds scheduler `className` from a diffusers config object, with `overrides` (snake_case
 * keys) applied on top, as `X.from_config(config, **overrides)` does in diffusers. The config's
 * own `_class_name` may name another class (a DDIM config driving DDPM is common); options the
 * chosen class lacks become warnings. `math` gives the scheduler's float32 sqrt/exp/log (default
 * IEEE).
 *
 * @throws {SchedulerConfigError} for an unknown class name or a bad value.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { schedulerFromConfig } from "./registry.ts";
 * const s = schedulerFromConfig("DDPMScheduler", { beta_schedule: "scaled_linear" }, { variance_type: "fixed_small" });
 * s.setTimesteps(50);
 * assert.equal(s.timesteps.length, 50);
 * assert.equal(s.constructor.name, "DDPMScheduler");
 * assert.throws(() => schedulerFromConfig("UniPC", {}), /"_class_name": expected one of DDIMScheduler, .* got "UniPC"/);
 * ```
 */
export function schedulerFromConfig(
  className: string,
  config: Readonly<Record<string, unknown>>,
  overrides: Readonly<Record<string, unknown>> = {},
  source?: string,
  math?: Float32Math,
): RegisteredScheduler {
  const cls = SCHEDULER_CLASSES[className];
  if (!cls) {
    throw new SchedulerConfigError(
      source ?? "<config>",
      "_class_name",
      `expected one of ${Object.keys(SCHEDULER_CLASSES).join(", ")}, got ${
        JSON.stringify(className)
      }`,
    );
  }
  return cls.fromConfig({ ...config, ...overrides }, source, math);
}
