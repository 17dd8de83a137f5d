/**
 * The inversion methods, one row each: how a round trip inverts (image latents to noise) and
 * samples back with a DDIM scheduler's config, over the one loop and the one denoiser. The case
 * validator, the round-trip pipeline and the studies read this table.
 *
 * @module
 */
import { toDiffusersConfig } from "../../schedulers/config_json.ts";
import { DDIM_SPEC, type DDIMScheduler } from "../../schedulers/ddim.ts";
import { DDIMInverseScheduler } from "../../schedulers/ddim_inverse.ts";
import { schedulerSampler } from "../../schedulers/scheduler_sampler.ts";
import type { Stepper } from "../../schedulers/types.ts";
import type { Tensor } from "../../tensor/tensor.ts";
import type { LoopState } from "../loop.ts";
import type { LatentMode } from "../vae.ts";
import {
  type EdictArithmetic,
  edictInverter,
  edictMixing,
  edictProblem,
  edictSampler,
  edictStart,
} from "./edict.ts";
import { fixedPointInverter, fixedPointProblem } from "./fixed_point.ts";
import { tutorialInverter, tutorialSampler } from "./tutorial.ts";

/**
 * The names of the inversion methods (keys of {@link INVERSION_METHODS}).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { InversionMethodName } from "./methods.ts";
 * const m: InversionMethodName = "fixed-point";
 * assert.equal(m, "fixed-point");
 * ```
 */
export type InversionMethodName = "ddim" | "negative-prompt" | "tutorial" | "edict" | "fixed-point";

/**
 * An inversion method and its options, as a case or a study declares it.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { InversionSpec } from "./methods.ts";
 * const edict: InversionSpec = { method: "edict", mixing: 0.93, arithmetic: "float64" };
 * const renoise: InversionSpec = { method: "fixed-point", iterations: 3, average: 2 };
 * assert.deepEqual([edict.method, renoise.iterations], ["edict", 3]);
 * ```
 */
export interface InversionSpec {
  /** The method. */
  method: InversionMethodName;
  /**
   * How the image becomes latents: `"mean"` of the VAE's latent distribution (default) or a
   * `"sample"` drawn with the case's generator (what EDICT's community pipeline does).
   */
  latent?: LatentMode;
  /** EDICT: the mixing coefficient p (default `0.93 ** (50 / steps)`). */
  mixing?: number;
  /** EDICT: float32 (default, the community pipeline's) or float64 latent arithmetic. */
  arithmetic?: EdictArithmetic;
  /** fixed-point: K, extra model evaluations per inversion step (default 2). */
  iterations?: number;
  /** fixed-point: finish each step with the mean of the last m model outputs (default 1). */
  average?: number;
}

/**
 * How a method conditions its two passes: `"same"` the case's prompt and guidance both ways;
 * `"negative-prompt"` inversion with the prompt at guidance 1, sampling with the prompt as the
 * negative prompt (Miyake et al. 2023); `"always-cfg"` both ways with the guidance batch even at
 * a scale <= 1 (the tutorial's `do_classifier_free_guidance=True`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { INVERSION_METHODS } from "./methods.ts";
 * assert.equal(INVERSION_METHODS["negative-prompt"].conditioning, "negative-prompt");
 * ```
 */
export type Conditioning = "same" | "negative-prompt" | "always-cfg";

/**
 * A method made for one scheduler and step count: both passes' steppers and the hand-offs.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { DDIMScheduler } from "../../schedulers/ddim.ts";
 * import { planInversion } from "./methods.ts";
 * const ddim = new DDIMScheduler({ stepsOffset: 1, setAlphaToOne: false, clipSample: false });
 * const plan = planInversion({ method: "ddim" }, ddim, 10);
 * assert.deepEqual([plan.invert.timesteps[0], plan.sample.timesteps[0]], [1, 901]);
 * ```
 */
export interface InversionPlan {
  /** The inversion pass (its timesteps set). */
  invert: Stepper<LoopState>;
  /** The sampling pass (its timesteps set). */
  sample: Stepper<LoopState>;
  /** The first step of the sampling pass (the tutorial's `start_step`). */
  begin: number;
  /** The state entering the inversion from the image latents z0. */
  start(z0: Tensor): LoopState;
  /**
   * The state entering the sampling pass, from the states after each inversion step (the last is
   * the inversion's result; the tutorial starts from `inverted[-(start_step + 1)]`).
   */
  handOff(states: readonly LoopState[]): LoopState;
  /** The reconstruction from the sampling pass's last state. */
  finish(state: LoopState): Tensor;
}

/**
 * One row of {@link INVERSION_METHODS}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { INVERSION_METHODS } from "./methods.ts";
 * assert.equal(INVERSION_METHODS.edict.label({ method: "edict", mixing: 0.93 }), "EDICT (p 0.93, float32)");
 * ```
 */
export interface InversionMethod {
  /** A short label for tables and charts. */
  label(spec: InversionSpec): string;
  /** How the passes are conditioned. */
  conditioning: Conditioning;
  /** The first problem with the spec's options as `[field, problem]`, or null. */
  check(spec: InversionSpec): [string, string] | null;
  /** The steppers for `ddim` (a DDIMScheduler; its timesteps are set here to `steps`). */
  plan(spec: InversionSpec, ddim: DDIMScheduler, steps: number, startStep: number): InversionPlan;
}

/** A one-tensor state. */
const single = (s: LoopState) => s as Tensor;

/**
 * The inverse scheduler of a DDIM scheduler, as `DDIMInverseScheduler.from_config(scheduler.config)`
 * makes it (the DDIM config's options, extra keys left behind), its timesteps set for `steps`,
 * with the DDIM scheduler's float32 math.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { DDIMScheduler } from "../../schedulers/ddim.ts";
 * import { inverseSchedulerOf } from "./methods.ts";
 * const inverse = inverseSchedulerOf(new DDIMScheduler({ clipSample: false, stepsOffset: 1 }), 4);
 * assert.deepEqual([inverse.config.clipSample, inverse.timesteps], [false, [1, 251, 501, 751]]);
 * ```
 */
export function inverseSchedulerOf(ddim: DDIMScheduler, steps: number): DDIMInverseScheduler {
  const config = toDiffusersConfig(DDIM_SPEC, ddim.config);
  const inverse = DDIMInverseScheduler.fromConfig(config, undefined, ddim.math);
  inverse.setTimesteps(steps);
  return inverse;
}

/**
 * diffusers' DDIM inversion (or another stepper over the same inverse scheduler), and the
 * sampling pass back with the DDIM scheduler.
 */
function ddimPlan(
  ddim: DDIMScheduler,
  steps: number,
  inverter: (inverse: DDIMInverseScheduler) => Stepper = (inverse) => schedulerSampler(inverse),
): InversionPlan {
  ddim.setTimesteps(steps);
  return {
    invert: inverter(inverseSchedulerOf(ddim, steps)) as Stepper<LoopState>,
    sample: schedulerSampler(ddim) as Stepper<LoopState>,
    begin: 0,
    start: (z0) => z0,
    handOff: (states) => states[states.length - 1],
    finish: single,
  };
}

/** A stepper file's `[option, problem]` as a case field (`inversion.<option>`). */
const prefixed = (p: [string, string] | null): [string, string] | null =>
  p && [`inversion.${p[0]}`, p[1]];

/** Checks that a spec names only the options its method takes. */
function onlyOptions(spec: InversionSpec, allowed: readonly string[]): [string, string] | null {
  for (const key of Object.keys(spec)) {
    if (!["method", "latent", ...allowed].includes(key)) {
      return [
        `inversion.${key}`,
        `not an option of method '${spec.method}' (it takes ${
          allowed.length ? allowed.join(", ") : "no options"
        } besides latent)`,
      ];
    }
  }
  const latent = spec.latent;
  if (latent !== undefined && latent !== "mean" && latent !== "sample") {
    return ["inversion.latent", `expected "mean" or "sample", got ${JSON.stringify(latent)}`];
  }
  return null;
}

/**
 * The fixed-point options of a spec, defaults filled in (K 2, the last iterate).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { fixedPointOptions } from "./methods.ts";
 * assert.deepEqual(fixedPointOptions({ method: "fixed-point" }), { iterations: 2, average: 1 });
 * assert.deepEqual(fixedPointOptions({ method: "fixed-point", iterations: 5, average: 3 }), { iterations: 5, average: 3 });
 * ```
 */
export function fixedPointOptions(spec: InversionSpec): { iterations: number; average: number } {
  return { iterations: spec.iterations ?? 2, average: spec.average ?? 1 };
}

/**
 * The inversion methods. `ddim`: diffusers' `DDIMInverseScheduler.from_config(scheduler.config)`
 * driven as its inverting pipelines drive it (Pix2PixZero's `invert`), then the DDIM scheduler.
 * `negative-prompt`: the same steppers, conditioned as Miyake et al. `tutorial`: the hand-written
 * loop of the DDIM inversion walkthrough. `edict`: EDICT's coupled latents. `fixed-point`: DDIM
 * inversion with K fixed-point refinements per step.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { INVERSION_METHODS } from "./methods.ts";
 * assert.deepEqual(Object.keys(INVERSION_METHODS), ["ddim", "negative-prompt", "tutorial", "edict", "fixed-point"]);
 * assert.deepEqual(INVERSION_METHODS["fixed-point"].check({ method: "fixed-point", iterations: -1 }), [
 *   "inversion.iterations", "expected a whole number >= 0, got -1",
 * ]);
 * ```
 */
export const INVERSION_METHODS: Readonly<Record<InversionMethodName, InversionMethod>> = Object
  .freeze({
    ddim: {
      label: () => "DDIM inversion",
      conditioning: "same",
      check: (spec) => onlyOptions(spec, []),
      plan: (_spec, ddim, steps) => ddimPlan(ddim, steps),
    },
    "negative-prompt": {
      label: () => "negative-prompt inversion",
      conditioning: "negative-prompt",
      check: (spec) => onlyOptions(spec, []),
      plan: (_spec, ddim, steps) => ddimPlan(ddim, steps),
    },
    tutorial: {
      label: () => "tutorial loop",
      conditioning: "always-cfg",
      check: (spec) => onlyOptions(spec, []),
      plan: (_spec, ddim, steps, startStep) => {
        ddim.setTimesteps(steps);
        return {
          invert: tutorialInverter(ddim) as Stepper<LoopState>,
          sample: tutorialSampler(ddim) as Stepper<LoopState>,
          begin: startStep,
          start: (z0) => z0,
          // sample(start_latents=inverted_latents[-(start_step + 1)], start_step=start_step)
          handOff: (states) => states[states.length - 1 - startStep],
          finish: single,
        };
      },
    },
    edict: {
      label: (spec) => `EDICT (p ${spec.mixing ?? "0.93^(50/n)"}, ${spec.arithmetic ?? "float32"})`,
      conditioning: "same",
      check: (spec) => prefixed(edictProblem(spec)) ?? onlyOptions(spec, ["mixing", "arithmetic"]),
      plan: (spec, ddim, steps) => {
        ddim.setTimesteps(steps);
        const arithmetic = spec.arithmetic ?? "float32";
        const options = { mixing: spec.mixing ?? edictMixing(steps), arithmetic };
        return {
          invert: edictInverter(ddim, options) as Stepper<LoopState>,
          sample: edictSampler(ddim, options) as Stepper<LoopState>,
          begin: 0,
          start: (z0) => edictStart(z0, arithmetic),
          handOff: (states) => states[states.length - 1],
          // "either one is fine": the pipeline returns coupled_latents[0]
          finish: (state) => (state as readonly Tensor[])[0],
        };
      },
    },
    "fixed-point": {
      label: (spec) => {
        const o = fixedPointOptions(spec);
        return `fixed-point (K ${o.iterations}${o.average > 1 ? `, mean of ${o.average}` : ""})`;
      },
      conditioning: "same",
      check: (spec) =>
        prefixed(fixedPointProblem(fixedPointOptions(spec))) ??
          onlyOptions(spec, ["iterations", "average"]),
      plan: (spec, ddim, steps) =>
        ddimPlan(ddim, steps, (inverse) => fixedPointInverter(inverse, fixedPointOptions(spec))),
    },
  });

/**
 * The plan of `spec` over `ddim` for `steps` steps, after checking the spec.
 *
 * @throws {RangeError} naming the field of a bad spec, or a `startStep` given to another method
 * than the tutorial's or out of range.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { DDIMScheduler } from "../../schedulers/ddim.ts";
 * import { planInversion } from "./methods.ts";
 * const ddim = new DDIMScheduler({ stepsOffset: 1 });
 * assert.equal(planInversion({ method: "tutorial" }, ddim, 10, 2).begin, 2);
 * assert.throws(() => planInversion({ method: "ddim" }, ddim, 10, 2), /startStep: only the tutorial/);
 * ```
 */
export function planInversion(
  spec: InversionSpec,
  ddim: DDIMScheduler,
  steps: number,
  startStep = 0,
): InversionPlan {
  const row = Object.hasOwn(INVERSION_METHODS, spec?.method)
    ? INVERSION_METHODS[spec.method]
    : undefined;
  if (!row) {
    throw new RangeError(
      `inversion.method: expected one of ${Object.keys(INVERSION_METHODS).join(", ")}, got ${
        JSON.stringify(spec?.method)
      }`,
    );
  }
  const problem = row.check(spec);
  if (problem) throw new RangeError(`${problem[0]}: ${problem[1]}`);
  if (spec.method === "tutorial" && !(Number.isInteger(steps) && steps >= 3)) {
    throw new RangeError(
      `steps: the tutorial's loop inverts steps - 2 times and needs at least 3 steps, got ${steps}`,
    );
  }
  if (startStep !== 0 && spec.method !== "tutorial") {
    throw new RangeError(`startStep: only the tutorial's loop starts part-way, got ${startStep}`);
  }
  const limit = spec.method === "tutorial" ? steps - 2 : 1;
  if (!(Number.isInteger(startStep) && startStep >= 0 && startStep < limit)) {
    throw new RangeError(
      `startStep: expected a whole number in 0..${limit - 1} for ${steps} steps, got ${startStep}`,
    );
  }
  return row.plan(spec, ddim, steps, startStep);
}
