/**
 * EDICT (Wallace, Gokul and Naik, "EDICT: Exact Diffusion Inversion via Coupled
 * Transformations", CVPR 2023): two coupled latents (x, y), each updated in turn from the model's
 * output on the other, then mixed with coefficient p; every operation has an exact algebraic
 * inverse, so inversion followed by sampling returns the start up to round-off. The arithmetic
 * mirrors diffusers' community `EDICTPipeline` (examples/community/edict_pipeline.py, diffusers
 * 0.42.1) in float32, or runs in float64 (the model is still called on float32 latents).
 *
 * @module
 */
import { f32 } from "../../numerics/f32.ts";
import type { DDIMScheduler } from "../../schedulers/ddim.ts";
import type { Denoiser, Stepper } from "../../schedulers/types.ts";
import { Tensor } from "../../tensor/tensor.ts";

/**
 * The EDICT state: the float32 latents `[x, y]` the model sees, and with float64 arithmetic
 * their float64 values in `wide`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { edictStart } from "./edict.ts";
 * import { Tensor } from "../../tensor/tensor.ts";
 * const s = edictStart(Tensor.zeros([1, 4, 2, 2]), "float64");
 * assert.deepEqual([s.length, s.wide?.length], [2, 2]);
 * ```
 */
export type EdictState = readonly Tensor[] & { readonly wide?: readonly Float64Array[] };

/**
 * Where EDICT's latent arithmetic runs (the model always sees float32 latents).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { EdictArithmetic } from "./edict.ts";
 * const a: EdictArithmetic = "float64";
 * assert.equal(a, "float64");
 * ```
 */
export type EdictArithmetic = "float32" | "float64";

/**
 * EDICT's options.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { EdictOptions } from "./edict.ts";
 * const o: EdictOptions = { mixing: 0.93, arithmetic: "float64" };
 * assert.equal(o.mixing, 0.93);
 * ```
 */
export interface EdictOptions {
  /** The mixing coefficient p (the paper's 0.93 at 50 steps; see {@link edictMixing}). */
  mixing: number;
  /** float32 (the community pipeline's) or float64 latent arithmetic. */
  arithmetic: EdictArithmetic;
}

/**
 * The default mixing coefficient for `steps` steps: 0.93 at 50 steps, `0.93 ** (50 / steps)`
 * otherwise, so that the total mixing over the schedule stays that of the paper's setting.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { edictMixing } from "./edict.ts";
 * assert.equal(edictMixing(50), 0.93);
 * assert.ok(Math.abs(edictMixing(100) - Math.sqrt(0.93)) < 1e-15);
 * ```
 */
export function edictMixing(steps: number): number {
  return steps === 50 ? 0.93 : 0.93 ** (50 / steps);
}

/**
 * The state entering EDICT's inversion: both latents equal to `z0` (`coupled_latents =
 * [latent.clone(), latent.clone()]`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { edictStart } from "./edict.ts";
 * import { Tensor } from "../../tensor/tensor.ts";
 * const s = edictStart(Tensor.zeros([1, 1]), "float32");
 * assert.deepEqual([s.length, s.wide], [2, undefined]);
 * ```
 */
export function edictStart(z0: Tensor, arithmetic: EdictArithmetic): EdictState {
  const pair = [z0.clone(), z0.clone()];
  return arithmetic === "float64"
    ? Object.assign(pair, { wide: [Float64Array.from(z0.data), Float64Array.from(z0.data)] })
    : pair;
}

/**
 * What EDICT reads of the DDIM scheduler (timesteps set): a `DDIMScheduler` fits.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { EdictScheduler } from "./edict.ts";
 * import { DDIMScheduler } from "../../schedulers/ddim.ts";
 * const s: EdictScheduler = new DDIMScheduler();
 * assert.equal(s.finalAlphaCumprod, 1);
 * ```
 */
export type EdictScheduler = Pick<
  DDIMScheduler,
  "alphasCumprod" | "finalAlphaCumprod" | "timesteps" | "math" | "config"
>;

/** The step coefficients of `noise_step` / `denoise_step` at timestep `t`. */
interface Coefficients {
  a: number;
  b: number;
}

/**
 * `_get_alpha_and_beta` and the coefficients of the community pipeline's steps:
 * `prev = t - N / n`, `a = (alpha_prev / alpha_t) ** 0.5`, `b = -a * beta_t ** 0.5 + beta_prev ** 0.5`,
 * the alphas `alphas_cumprod[int(t)]`, or `final_alpha_cumprod` below 0 (float32, or float64
 * from the same float32 alphas).
 */
function coefficients(scheduler: EdictScheduler, t: number, wide: boolean): Coefficients {
  const N = scheduler.config.numTrainTimesteps;
  const n = scheduler.timesteps.length;
  const alpha = (s: number) => {
    const i = Math.trunc(s); // int(t)
    return i >= 0 ? scheduler.alphasCumprod[i] : scheduler.finalAlphaCumprod;
  };
  const alphaT = alpha(t), alphaPrev = alpha(t - N / n);
  if (wide) {
    const a = Math.sqrt(alphaPrev / alphaT);
    return { a, b: -a * Math.sqrt(1 - alphaT) + Math.sqrt(1 - alphaPrev) };
  }
  const sqrt = (x: number) => scheduler.math.sqrt(x); // a MathTable needs its this
  const a = sqrt(f32(alphaPrev / alphaT));
  return { a, b: f32(f32(-a * sqrt(f32(1 - alphaT))) + sqrt(f32(1 - alphaPrev))) };
}

/** One latent as plain numbers: the float32 view, and the float64 values when wide. */
interface Lane {
  narrow: Float32Array;
  wide?: Float64Array;
}

/** The working copy of a state. */
function lanes(state: EdictState): Lane[] {
  const wide = state?.wide;
  if (!Array.isArray(state) || state.length !== 2) {
    throw new RangeError(`EDICT: expected the state [x, y], got ${String(state)}`);
  }
  return state.map((x, i) => ({ narrow: x.data, wide: wide?.[i] }));
}

/** The state after a step: float32 views of the lanes, and the float64 values when wide. */
function pack(ls: Lane[], shape: readonly number[]): EdictState {
  const pair = ls.map((l) => new Tensor(l.narrow, shape));
  return ls[0].wide ? Object.assign(pair, { wide: ls.map((l) => l.wide!) }) : pair;
}

/** `next = f(base, eps)` elementwise, float32 or float64. */
function update(
  base: Lane,
  eps: Float32Array,
  narrow: (x: number, e: number) => number,
  wide: (x: number, e: number) => number,
): Lane {
  if (base.wide) {
    const w = base.wide.map((x, k) => wide(x, eps[k]));
    return { narrow: Float32Array.from(w), wide: w };
  }
  return { narrow: base.narrow.map((x, k) => narrow(x, eps[k])) };
}

/** The mixing layers: `x = p x + (1-p) y; y = p y + (1-p) x`, or their inverse. */
function mix(ls: Lane[], p: number, inverse: boolean): Lane[] {
  const q = 1 - p; // a Python float, rounded to float32 by torch's tensor * scalar
  const [x, y] = ls;
  if (x.wide) {
    const [xs, ys] = [x.wide, y.wide!];
    if (inverse) {
      const y2 = ys.map((v, k) => (v - q * xs[k]) / p);
      const x2 = xs.map((v, k) => (v - q * y2[k]) / p);
      return [{ narrow: Float32Array.from(x2), wide: x2 }, {
        narrow: Float32Array.from(y2),
        wide: y2,
      }];
    }
    const x2 = xs.map((v, k) => p * v + q * ys[k]);
    const y2 = ys.map((v, k) => p * v + q * x2[k]);
    return [{ narrow: Float32Array.from(x2), wide: x2 }, {
      narrow: Float32Array.from(y2),
      wide: y2,
    }];
  }
  const [p32, q32, xs, ys] = [f32(p), f32(q), x.narrow, y.narrow];
  if (inverse) {
    // noise_mixing_layer: y = (y - (1 - p) * x) / p; x = (x - (1 - p) * y) / p
    const y2 = ys.map((v, k) => f32(f32(v - f32(q32 * xs[k])) / p32));
    const x2 = xs.map((v, k) => f32(f32(v - f32(q32 * y2[k])) / p32));
    return [{ narrow: x2 }, { narrow: y2 }];
  }
  // denoise_mixing_layer: x = p * x + (1 - p) * y; y = p * y + (1 - p) * x
  const x2 = xs.map((v, k) => f32(f32(p32 * v) + f32(q32 * ys[k])));
  const y2 = ys.map((v, k) => f32(f32(p32 * v) + f32(q32 * x2[k])));
  return [{ narrow: x2 }, { narrow: y2 }];
}

/** The model's output on a lane's float32 view. */
function model(denoise: Denoiser, lane: Lane, shape: readonly number[], t: number) {
  return denoise(new Tensor(lane.narrow, shape), t).then((e) => e.data);
}

/**
 * The first problem with EDICT's options as `[field, problem]`, or null (fields as a case names
 * them, under `inversion.`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { edictProblem } from "./edict.ts";
 * assert.equal(edictProblem({ mixing: 0.93, arithmetic: "float64" }), null);
 * assert.deepEqual(edictProblem({ mixing: 1 }), ["mixing", "expected a number in (0, 1), got 1"]);
 * ```
 */
export function edictProblem(
  o: { mixing?: unknown; arithmetic?: unknown },
): [string, string] | null {
  const p = o.mixing;
  if (p !== undefined && !(typeof p === "number" && p > 0 && p < 1)) {
    return ["mixing", `expected a number in (0, 1), got ${JSON.stringify(p)}`];
  }
  const a = o.arithmetic;
  if (a !== undefined && a !== "float32" && a !== "float64") {
    return ["arithmetic", `expected "float32" or "float64", got ${JSON.stringify(a)}`];
  }
  return null;
}

function checkOptions(o: EdictOptions, who: string): void {
  const problem = edictProblem(o);
  if (problem) throw new RangeError(`${who}: ${problem[0]}: ${problem[1]}`);
}

/**
 * Which latent a sampling step at index `s` of `n` updates first: the community pipeline
 * updates x first at even indices (leapfrog steps) and y first at odd ones.
 */
const xFirst = (s: number) => s % 2 === 0;

/**
 * EDICT's sampling pass (the community pipeline's `__call__` loop) over the DDIM scheduler's
 * timesteps, two model calls a step: at an even step index `x = a x + b eps(y, t)` then
 * `y = a y + b eps(x, t)`, at an odd one y first, then the mixing layer.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { DDIMScheduler } from "../../schedulers/ddim.ts";
 * import { Tensor } from "../../tensor/tensor.ts";
 * import { edictInverter, edictSampler, edictStart } from "./edict.ts";
 * const ddim = new DDIMScheduler({ setAlphaToOne: false, stepsOffset: 1 });
 * ddim.setTimesteps(5);
 * const model = (x: Tensor) => Promise.resolve(new Tensor(x.data.map((v) => Math.tanh(v)), x.shape));
 * const opts = { mixing: 0.9, arithmetic: "float64" as const };
 * let s = edictStart(new Tensor(new Float32Array([0.3, -0.7]), [1, 2]), "float64");
 * const inv = edictInverter(ddim, opts), smp = edictSampler(ddim, opts);
 * for (let i = 0; i < 5; i++) s = (await inv.step(model, s, i)).prevSample;
 * for (let i = 0; i < 5; i++) s = (await smp.step(model, s, i)).prevSample;
 * assert.ok(Math.abs(s.wide![0][0] - Math.fround(0.3)) < 1e-12); // back where it started
 * ```
 */
export function edictSampler(
  scheduler: EdictScheduler,
  options: EdictOptions,
): Stepper<EdictState> {
  checkOptions(options, "edictSampler");
  const timesteps = [...scheduler.timesteps];
  const wide = options.arithmetic === "float64";
  return {
    timesteps,
    async step(denoise, state, index) {
      const t = timesteps[index];
      const { a, b } = coefficients(scheduler, t, wide);
      const [a32, b32] = [f32(a), f32(b)];
      const shape = state[0].shape;
      const ls = lanes(state);
      // denoise_step: next = a_t * base + b_t * model_output
      const next = (base: Lane, eps: Float32Array) =>
        update(base, eps, (x, e) => f32(f32(a32 * x) + f32(b32 * e)), (x, e) => a * x + b * e);
      const order = xFirst(index) ? [0, 1] : [1, 0];
      for (const k of order) ls[k] = next(ls[k], await model(denoise, ls[1 - k], shape, t));
      return { prevSample: pack(mix(ls, options.mixing, false), shape) };
    },
  };
}

/**
 * EDICT's inversion (the community pipeline's `prepare_latents` loop) over the reversed
 * timesteps: the inverse mixing layer, then `x = (x - b eps(y, t)) / a` and `y = (y - b eps(x, t))
 * / a` in the order that undoes the sampling step at the same timestep. The community pipeline
 * takes that order from its own loop index, which undoes sampling only for an even step count;
 * here it comes from the sampling step's index, so the two agree for even counts and the
 * inversion stays exact for odd ones.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { DDIMScheduler } from "../../schedulers/ddim.ts";
 * import { edictInverter } from "./edict.ts";
 * const ddim = new DDIMScheduler({ stepsOffset: 1 });
 * ddim.setTimesteps(4);
 * assert.deepEqual(edictInverter(ddim, { mixing: 0.93, arithmetic: "float32" }).timesteps, [1, 251, 501, 751]);
 * ```
 */
export function edictInverter(
  scheduler: EdictScheduler,
  options: EdictOptions,
): Stepper<EdictState> {
  checkOptions(options, "edictInverter");
  const timesteps = [...scheduler.timesteps].reverse();
  const n = timesteps.length;
  const wide = options.arithmetic === "float64";
  return {
    timesteps,
    async step(denoise, state, index) {
      const t = timesteps[index];
      const { a, b } = coefficients(scheduler, t, wide);
      const [a32, b32] = [f32(a), f32(b)];
      const shape = state[0].shape;
      const ls = mix(lanes(state), options.mixing, true);
      // noise_step: next = (base - b_t * model_output) / a_t
      const next = (base: Lane, eps: Float32Array) =>
        update(base, eps, (x, e) => f32(f32(x - f32(b32 * e)) / a32), (x, e) => (x - b * e) / a);
      // undo the sampling step at this timestep (index n - 1 - index): its second update first
      const order = xFirst(n - 1 - index) ? [1, 0] : [0, 1];
      for (const k of order) ls[k] = next(ls[k], await model(denoise, ls[1 - k], shape, t));
      return { prevSample: pack(ls, shape) };
    },
  };
}
