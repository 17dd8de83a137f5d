/**
 * The noise schedule of the CompVis/LDM and labml.ai code bases (LDM's `make_beta_schedule`,
 * float64, stored as float32), their DDIM timesteps and alpha tables: what the CompVis PLMS and
 * labml DDIM samplers (compvis_plms.ts, labml_ddim.ts) are built on.
 *
 * @module
 */
import { type Float32Math, ieeeMath } from "../numerics/f32_math.ts";
import { f32 } from "../numerics/f32.ts";
import { torchLinspaceF64 } from "../numerics/torch.ts";

/**
 * The beta schedules of LDM's `make_beta_schedule` that are reproduced here.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { type LdmBetaSchedule, ldmAlphasCumprod } from "./ldm_schedule.ts";
 * const sd: LdmBetaSchedule = "linear"; // diffusers' scaled_linear
 * assert.equal(ldmAlphasCumprod(sd, 0.00085, 0.012, 1000).length, 1000);
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
 * import assert from "node:assert/strict";
 * import { ldmAlphasCumprod } from "./ldm_schedule.ts";
 * assert.equal(ldmAlphasCumprod("linear", 0.00085, 0.012, 1000)[0], 0.9991499781608582);
 * assert.throws(() => ldmAlphasCumprod("linear", 0.00085, 0.012, 0), /numTimesteps must be a positive integer/);
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
 * import assert from "node:assert/strict";
 * import { ldmAlphasCumprod, ldmAlphasCumprodForConfig } from "./ldm_schedule.ts";
 * const a = ldmAlphasCumprodForConfig({ betaSchedule: "scaled_linear", betaStart: 0.00085,
 *   betaEnd: 0.012, numTrainTimesteps: 1000 });
 * assert.deepEqual(a, ldmAlphasCumprod("linear", 0.00085, 0.012, 1000));
 * assert.throws(
 *   () => ldmAlphasCumprodForConfig({ betaSchedule: "squaredcos_cap_v2", betaStart: 0, betaEnd: 0, numTrainTimesteps: 1000 }),
 *   /has no LDM equivalent here/,
 * );
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
 * import assert from "node:assert/strict";
 * import { type DdimDiscretize, ddimTimesteps } from "./ldm_schedule.ts";
 * const d: DdimDiscretize = "quad";
 * assert.deepEqual(ddimTimesteps(d, 4, 1000), [1, 89, 356, 801]);
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
 * import assert from "node:assert/strict";
 * import { ddimTimesteps } from "./ldm_schedule.ts";
 * assert.deepEqual(ddimTimesteps("uniform", 4, 1000), [1, 251, 501, 751]);
 * assert.deepEqual(ddimTimesteps("quad", 4, 1000), [1, 89, 356, 801]);
 * assert.equal(ddimTimesteps("uniform", 3, 1000).length, 4); // 1000 // 3 = 333: one step more
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
 * import assert from "node:assert/strict";
 * import type { DdimSchedule } from "./ldm_schedule.ts";
 * const s: DdimSchedule = {
 *   timesteps: [1, 501],
 *   alphas: new Float32Array([0.99, 0.3]),
 *   alphasPrev: new Float32Array([0.999, 0.99]),
 *   sqrtOneMinusAlphas: new Float32Array([0.1, 0.83666]),
 * };
 * assert.equal(s.alphasPrev[1], s.alphas[0]);
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
 * import assert from "node:assert/strict";
 * import { ddimSchedule, ldmAlphasCumprod } from "./ldm_schedule.ts";
 * const alphas = ldmAlphasCumprod("linear", 0.00085, 0.012, 1000);
 * const s = ddimSchedule(alphas, 4, "uniform", "demo");
 * assert.deepEqual(s.timesteps, [1, 251, 501, 751]);
 * assert.deepEqual([s.alphasPrev[0], s.alphasPrev[1]], [alphas[0], alphas[1]]);
 * assert.throws(() => ddimSchedule(alphas, 3, "uniform", "demo"), /demo: 3 steps give DDIM timestep 1000/);
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
 * Step `i` of an LDM-style sampler visiting `timesteps` (descending): its timestep `t` and its
 * index into the ascending DDIM tables.
 *
 * @throws {RangeError} naming `who` when `i` is not a step of the schedule.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { stepOf } from "./ldm_schedule.ts";
 * assert.deepEqual(stepOf([751, 501, 251, 1], 1, "demo"), { index: 2, t: 501 });
 * ```
 */
export function stepOf(
  timesteps: readonly number[],
  i: number,
  who: string,
): { index: number; t: number } {
  if (!Number.isInteger(i) || i < 0 || i >= timesteps.length) {
    throw new RangeError(
      `${who}: step ${i} is not a step of the ${timesteps.length}-step schedule`,
    );
  }
  return { index: timesteps.length - i - 1, t: timesteps[i] };
}
