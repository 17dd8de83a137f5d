/**
 * The model interface and step records of the samplers that do not follow diffusers' scheduler
 * API (core/schedulers/compvis_plms.ts, core/schedulers/labml_ddim.ts): in the CompVis/LDM and
 * labml.ai traditions a sampler owns its loop and calls the model itself (PLMS calls it twice on
 * its first step), so it is driven with a {@link NoiseModel} rather than fed model outputs.
 * Also the noise schedule those code bases register (LDM's `make_beta_schedule`, float64, stored
 * as float32), their DDIM timesteps and alpha tables, a loop that runs any {@link StepSampler}
 * to the end, and the step bookkeeping both samplers share ({@link LoopSampler}).
 *
 * @module
 */
import type { Tensor } from "../tensor/tensor.ts";
import { type Float32Math, ieeeMath } from "../numerics/f32_math.ts";
import { f32 } from "../numerics/f32.ts";
import { torchLinspaceF64 } from "../numerics/torch.ts";

/**
 * An epsilon-prediction model: the predicted noise for the batch `x` at the (integer, training)
 * timestep `t`, the same for every batch item. Classifier-free guidance, if any, happens inside
 * (the samplers only ever see the guided prediction). The returned tensor must have `x`'s shape
 * and must not alias a buffer the model reuses.
 *
 * @example
 * ```ts
 * import type { NoiseModel } from "./sampler.ts";
 * import { Tensor } from "../tensor/tensor.ts";
 * const model: NoiseModel = (x, t) =>
 *   Promise.resolve(new Tensor(x.data.map((v) => 0.1 * v * Math.cos(t / 300)), x.shape));
 * ```
 */
export type NoiseModel = (x: Tensor, t: number) => Promise<Tensor>;

/**
 * One model evaluation made inside a step besides the main one (PLMS's improved Euler start).
 *
 * @example
 * ```ts
 * import type { ExtraModelCall } from "./sampler.ts";
 * function show(c: ExtraModelCall) { console.log(c.t, c.x.shape); }
 * ```
 */
export interface ExtraModelCall {
  /** The model input. */
  x: Tensor;
  /** The timestep given to the model. */
  t: number;
  /** The model output. */
  eps: Tensor;
}

/**
 * Everything one sampler step saw and produced, for recording and comparison.
 *
 * @example
 * ```ts
 * import type { SamplerStep } from "./sampler.ts";
 * function show(s: SamplerStep) { console.log(s.index, s.t, s.xPrev.shape); }
 * ```
 */
export interface SamplerStep {
  /** Step number, 0 first. */
  index: number;
  /** The timestep of this step (what the model was called with). */
  t: number;
  /** x_t, the sample entering the step. */
  x: Tensor;
  /** The model output at (x, t). */
  eps: Tensor;
  /** The noise prediction the update used (PLMS: its multistep combination; DDIM: `eps`). */
  epsUsed: Tensor;
  /** The predicted x_0. */
  predX0: Tensor;
  /** x_{t-1}, the sample leaving the step. */
  xPrev: Tensor;
  /** Further model evaluations of this step, in call order. */
  extraCalls: ExtraModelCall[];
  /** Noise added by the step (stochastic DDIM), already scaled by the temperature. */
  noise?: Tensor;
}

/**
 * A sampler that runs one step per call, with its own state (past noise predictions, the step
 * counter). `timesteps` lists the timesteps in the order they are visited.
 *
 * @example
 * ```ts
 * import type { StepSampler } from "./sampler.ts";
 * function steps(s: StepSampler): number { return s.timesteps.length; }
 * ```
 */
export interface StepSampler {
  /** The timesteps in the order they are visited. */
  readonly timesteps: readonly number[];
  /** Number of steps taken since construction or {@link StepSampler.reset}. */
  readonly stepsDone: number;
  /** Runs the next step from `x`, calling `model` as the original code does. */
  step(model: NoiseModel, x: Tensor): Promise<SamplerStep>;
  /** Forgets the running state: the next `step` is the first one. */
  reset(): void;
}

/**
 * Runs `sampler` from its current step to the end, starting from `x`, and returns the final
 * sample; `onStep` sees every step's record (to compare or store it).
 *
 * @example
 * ```ts
 * import { runSampler } from "./sampler.ts";
 * import { CompVisPLMSSampler } from "./compvis_plms.ts";
 * import { ldmAlphasCumprod } from "./sampler.ts";
 * import { Tensor } from "../tensor/tensor.ts";
 * const sampler = new CompVisPLMSSampler(ldmAlphasCumprod("linear", 0.00085, 0.012, 1000), 10);
 * const x0 = await runSampler(sampler, (x) => Promise.resolve(x), Tensor.zeros([1, 4, 8, 8]));
 * ```
 */
export async function runSampler(
  sampler: StepSampler,
  model: NoiseModel,
  x: Tensor,
  onStep?: (step: SamplerStep) => void | Promise<void>,
): Promise<Tensor> {
  let current = x;
  while (sampler.stepsDone < sampler.timesteps.length) {
    const record = await sampler.step(model, current);
    await onStep?.(record);
    current = record.xPrev;
  }
  return current;
}

/**
 * The beta schedules of LDM's `make_beta_schedule` that are reproduced here.
 *
 * @example
 * ```ts
 * import type { LdmBetaSchedule } from "./sampler.ts";
 * const sd: LdmBetaSchedule = "linear"; // diffusers' scaled_linear
 * ```
 */
export type LdmBetaSchedule = "linear" | "sqrt_linear" | "sqrt";

/**
 * The `alphas_cumprod` that CompVis/LDM's `DDPM.register_schedule` registers (and labml's
 * `LatentDiffusion.alpha_bar`): betas from `make_beta_schedule` in float64 (`"linear"`:
 * `torch.linspace(start ** 0.5, end ** 0.5, n) ** 2`; `"sqrt_linear"`: `torch.linspace(start,
 * end, n)`; `"sqrt"`: its square root), `cumprod(1 - betas)` in float64, then float32.
 * Stable Diffusion v1/v2 use `"linear"` with 0.00085 and 0.012 (diffusers calls it
 * `scaled_linear`).
 *
 * @throws {RangeError} on an unknown schedule or a non-positive count.
 * @example
 * ```ts
 * import { ldmAlphasCumprod } from "./sampler.ts";
 * ldmAlphasCumprod("linear", 0.00085, 0.012, 1000)[0]; // 0.9991499781608582
 * ```
 */
export function ldmAlphasCumprod(
  schedule: LdmBetaSchedule,
  linearStart: number,
  linearEnd: number,
  numTimesteps: number,
): Float32Array {
  if (!Number.isSafeInteger(numTimesteps) || numTimesteps < 1) {
    throw new RangeError(
      `ldmAlphasCumprod: numTimesteps must be a positive integer, got ${numTimesteps}`,
    );
  }
  let betas: Float64Array;
  if (schedule === "linear") {
    betas = torchLinspaceF64(Math.sqrt(linearStart), Math.sqrt(linearEnd), numTimesteps)
      .map((b) => b * b);
  } else if (schedule === "sqrt_linear") {
    betas = torchLinspaceF64(linearStart, linearEnd, numTimesteps);
  } else if (schedule === "sqrt") {
    betas = torchLinspaceF64(linearStart, linearEnd, numTimesteps).map(Math.sqrt);
  } else {
    throw new RangeError(
      `ldmAlphasCumprod: schedule ${JSON.stringify(schedule)} is not supported ` +
        `(expected "linear", "sqrt_linear" or "sqrt")`,
    );
  }
  const out = new Float32Array(numTimesteps);
  let acc = 1;
  for (let i = 0; i < numTimesteps; i++) {
    acc *= 1 - betas[i];
    out[i] = acc;
  }
  return out;
}

/**
 * The LDM schedule that matches a diffusers beta config: diffusers' `scaled_linear` is LDM's
 * `linear`, diffusers' `linear` is LDM's `sqrt_linear`.
 *
 * @throws {RangeError} for `squaredcos_cap_v2` and trained betas (LDM's cosine schedule is
 * computed differently and is not reproduced here).
 * @example
 * ```ts
 * import { ldmAlphasCumprodForConfig } from "./sampler.ts";
 * const a = ldmAlphasCumprodForConfig({ betaSchedule: "scaled_linear", betaStart: 0.00085,
 *   betaEnd: 0.012, numTrainTimesteps: 1000 });
 * ```
 */
export function ldmAlphasCumprodForConfig(config: {
  betaSchedule: string;
  betaStart: number;
  betaEnd: number;
  numTrainTimesteps: number;
  trainedBetas?: number[] | null;
}): Float32Array {
  if (config.trainedBetas) {
    throw new RangeError("ldmAlphasCumprodForConfig: trained_betas have no LDM equivalent here");
  }
  const map: Record<string, LdmBetaSchedule> = { scaled_linear: "linear", linear: "sqrt_linear" };
  const schedule = map[config.betaSchedule];
  if (!schedule) {
    throw new RangeError(
      `ldmAlphasCumprodForConfig: beta_schedule ${JSON.stringify(config.betaSchedule)} has no ` +
        `LDM equivalent here (expected "scaled_linear" or "linear")`,
    );
  }
  return ldmAlphasCumprod(schedule, config.betaStart, config.betaEnd, config.numTrainTimesteps);
}

/**
 * The ways LDM and labml pick the DDIM timesteps (`ddim_discretize`).
 *
 * @example
 * ```ts
 * import type { DdimDiscretize } from "./sampler.ts";
 * const d: DdimDiscretize = "quad";
 * ```
 */
export type DdimDiscretize = "uniform" | "quad";

/**
 * LDM's `make_ddim_timesteps` and labml's `DDIMSampler` timesteps (ascending, 1-based):
 * `"uniform"`: `range(0, N, N // S) + 1`; `"quad"`:
 * `(np.linspace(0, sqrt(N * 0.8), S) ** 2).astype(int) + 1`. `"uniform"` can give more than
 * `S` steps when `N` is not a multiple of `S`, as the original does.
 *
 * @throws {RangeError} when `steps` is not a positive integer or `N // S` is 0.
 * @example
 * ```ts
 * import { ddimTimesteps } from "./sampler.ts";
 * ddimTimesteps("uniform", 4, 1000); // [1, 251, 501, 751]
 * ddimTimesteps("quad", 4, 1000); // [1, 89, 356, 801]
 * ```
 */
export function ddimTimesteps(
  discretize: DdimDiscretize,
  steps: number,
  numTrainTimesteps: number,
): number[] {
  if (!Number.isSafeInteger(steps) || steps < 1) {
    throw new RangeError(`ddimTimesteps: steps must be a positive integer, got ${steps}`);
  }
  if (discretize === "uniform") {
    const c = Math.floor(numTrainTimesteps / steps);
    if (c < 1) {
      throw new RangeError(
        `ddimTimesteps: ${steps} steps exceed the ${numTrainTimesteps} training timesteps`,
      );
    }
    const out: number[] = [];
    for (let t = 0; t < numTrainTimesteps; t += c) out.push(t + 1);
    return out;
  }
  if (discretize === "quad") {
    const end = Math.sqrt(numTrainTimesteps * 0.8);
    const out: number[] = [];
    const div = steps - 1;
    const step = end / div;
    for (let i = 0; i < steps; i++) {
      // np.linspace: i * step + start, the last one exactly `end`; then ** 2, astype(int)
      const v = steps === 1 ? 0 : i === steps - 1 ? end : i * step;
      out.push(Math.trunc(v * v) + 1);
    }
    return out;
  }
  throw new RangeError(
    `ddimTimesteps: ddim_discretize ${JSON.stringify(discretize)} is not supported ` +
      `(expected "uniform" or "quad")`,
  );
}

/**
 * The DDIM schedule an LDM-style sampler holds: `timesteps` (ascending, {@link ddimTimesteps}),
 * `alphas_cumprod` at each (`alphas`) and at the previous one (`alphasPrev`, the first being
 * `alphas_cumprod[0]`), and `sqrt(1 - alphas)`, all float32: LDM's
 * `make_ddim_sampling_parameters` (`ddim_alphas`, `ddim_alphas_prev`,
 * `ddim_sqrt_one_minus_alphas`) and labml's `ddim_alpha`, `ddim_alpha_prev`,
 * `ddim_sqrt_one_minus_alpha`.
 *
 * @example
 * ```ts
 * import type { DdimSchedule } from "./sampler.ts";
 * function first(s: DdimSchedule): number { return s.timesteps[0]; }
 * ```
 */
export interface DdimSchedule {
  /** The DDIM timesteps, ascending. */
  timesteps: readonly number[];
  /** `alphas_cumprod[timesteps[i]]`. */
  alphas: Float32Array;
  /** `alphas_cumprod[timesteps[i - 1]]`, and `alphas_cumprod[0]` for i = 0. */
  alphasPrev: Float32Array;
  /** `sqrt(1 - alphas[i])` in float32. */
  sqrtOneMinusAlphas: Float32Array;
}

/**
 * The {@link DdimSchedule} of `steps` DDIM steps over `alphasCumprod`.
 *
 * @param who the sampler, for messages
 * @param math float32 sqrt of `sqrtOneMinusAlphas` (default IEEE)
 * @throws {RangeError} when `steps` is not a positive integer, exceeds the training timesteps,
 * or gives a timestep outside the training range (an IndexError in the originals: `"uniform"`
 * with 3 steps of 1000 gives timestep 1000).
 * @example
 * ```ts
 * import { ddimSchedule, ldmAlphasCumprod } from "./sampler.ts";
 * const s = ddimSchedule(ldmAlphasCumprod("linear", 0.00085, 0.012, 1000), 4, "uniform", "demo");
 * s.timesteps; // [1, 251, 501, 751]
 * ```
 */
export function ddimSchedule(
  alphasCumprod: Float32Array,
  steps: number,
  discretize: DdimDiscretize,
  who: string,
  math: Float32Math = ieeeMath,
): DdimSchedule {
  const n = alphasCumprod.length;
  const ts = ddimTimesteps(discretize, steps, n);
  const bad = ts.find((t) => t >= n);
  if (bad !== undefined) {
    throw new RangeError(
      `${who}: ${steps} steps give DDIM timestep ${bad}, outside the ${n} training timesteps ` +
        `(${discretize} discretisation: ${ts.join(", ")})`,
    );
  }
  const alphas = Float32Array.from(ts, (t) => alphasCumprod[t]);
  return {
    timesteps: Object.freeze(ts),
    alphas,
    alphasPrev: Float32Array.from(ts, (_, i) => alphasCumprod[i === 0 ? 0 : ts[i - 1]]),
    sqrtOneMinusAlphas: alphas.map((a) => math.sqrt(f32(1 - a))),
  };
}

/**
 * What the LDM-style samplers share: the step counter, `reset`, the whole loop `sample`, and
 * the start of each step (which timestep comes next, or an error when all are done).
 * Subclasses provide `timesteps` and `step`.
 *
 * @example
 * ```ts
 * import { LoopSampler, type NoiseModel, type SamplerStep } from "./sampler.ts";
 * import type { Tensor } from "../tensor/tensor.ts";
 * class Identity extends LoopSampler {
 *   readonly timesteps = [3, 2, 1];
 *   async step(model: NoiseModel, x: Tensor): Promise<SamplerStep> {
 *     const { i, t } = this.nextStep("Identity.step");
 *     const eps = await model(x, t);
 *     this.stepDone(i);
 *     return { index: i, t, x, eps, epsUsed: eps, predX0: x, xPrev: x, extraCalls: [] };
 *   }
 * }
 * ```
 */
export abstract class LoopSampler implements StepSampler {
  /** The timesteps in the order they are visited. */
  abstract readonly timesteps: readonly number[];
  #done = 0;

  /** Runs the next step from `x`, calling `model` as the original code does. */
  abstract step(model: NoiseModel, x: Tensor): Promise<SamplerStep>;

  /** Number of steps taken since construction or {@link LoopSampler.reset}. */
  get stepsDone(): number {
    return this.#done;
  }

  /**
   * Starts over at the first timestep.
   *
   * @example
   * ```ts
   * import { LabmlDDIMSampler } from "./labml_ddim.ts";
   * import { ldmAlphasCumprod } from "./sampler.ts";
   * new LabmlDDIMSampler(ldmAlphasCumprod("linear", 0.00085, 0.012, 1000), 10).reset();
   * ```
   */
  reset(): void {
    this.#done = 0;
  }

  /**
   * The whole loop (the originals' `sample`): from the current step to the end, starting from
   * `x` (x_T, or the sample of the first non-skipped step); `onStep` sees every step's record.
   *
   * @example
   * ```ts
   * import { CompVisPLMSSampler } from "./compvis_plms.ts";
   * import { ldmAlphasCumprod } from "./sampler.ts";
   * import { Tensor } from "../tensor/tensor.ts";
   * const sampler = new CompVisPLMSSampler(ldmAlphasCumprod("linear", 0.00085, 0.012, 1000), 10);
   * const x0 = await sampler.sample((x) => Promise.resolve(x), Tensor.zeros([1, 4, 8, 8]));
   * ```
   */
  sample(
    model: NoiseModel,
    x: Tensor,
    onStep?: (step: SamplerStep) => void | Promise<void>,
  ): Promise<Tensor> {
    return runSampler(this, model, x, onStep);
  }

  /**
   * The next step: its number `i`, its index `index` into the ascending DDIM tables, and its
   * timestep `t`.
   *
   * @throws {RangeError} naming `who` when every step has been taken.
   */
  protected nextStep(who: string): { i: number; index: number; t: number } {
    const timesteps = this.timesteps;
    const i = this.#done;
    if (i >= timesteps.length) {
      throw new RangeError(
        `${who}: all ${timesteps.length} steps are done; call reset() to start over`,
      );
    }
    return { i, index: timesteps.length - i - 1, t: timesteps[i] };
  }

  /** Counts step `i` as taken (call it once the step has succeeded). */
  protected stepDone(i: number): void {
    this.#done = i + 1;
  }
}
