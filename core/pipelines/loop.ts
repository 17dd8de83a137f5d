/**
 * The one denoising loop. It drives any {@link Stepper} (a diffusers scheduler through
 * `schedulerSampler`, the CompVis PLMS and labml DDIM samplers, multi-call and multi-latent
 * methods) over its timesteps with a {@link Denoiser}, and in one place: applies the replay
 * hooks (`overrideSample` at step entry, `overrideModelOutput` by wrapping the denoiser),
 * records every model call, stops with a {@link NonFiniteError} at the first NaN or infinity,
 * and times the model and the step arithmetic.
 *
 * @module
 */
import type { Denoiser, Stepper } from "../schedulers/types.ts";
import type { Tensor } from "../tensor/tensor.ts";
import { PipelineInputError } from "./errors.ts";
import { assertFinite } from "./finite.ts";
import type { PipelineHooks, StepRecord } from "./types.ts";

/**
 * The state a stepper carries from step to step: one latent tensor, or several (two-latent
 * methods such as EDICT).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { LoopState } from "./loop.ts";
 * import { Tensor } from "../tensor/tensor.ts";
 * const pair: LoopState = [Tensor.zeros([1]), Tensor.zeros([1])];
 * assert.deepEqual(Array.isArray(pair), true);
 * ```
 */
export type LoopState = Tensor | readonly Tensor[];

/**
 * Inputs of {@link denoiseLoop}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { DenoiseLoopOptions } from "./loop.ts";
 * const partial: Partial<DenoiseLoopOptions> = { begin: 2 };
 * assert.deepEqual(partial.begin, 2);
 * ```
 */
export interface DenoiseLoopOptions<S extends LoopState = Tensor> {
  /** The method; its schedule already set. It is `reset()` before the first step. */
  stepper: Stepper<S>;
  /** The model, conditioning and guidance included (see core/pipelines/denoiser.ts). */
  denoiser: Denoiser;
  /** The state entering the first step. */
  sample: S;
  /** The first step, an index into `stepper.timesteps` (default 0; img2img starts later). */
  begin?: number;
  /** Observation and replay hooks, indexed by model call from 0. */
  hooks?: PipelineHooks;
  /**
   * Applied to every step's result before it is handed on (inpaint: the mask blend); its
   * time counts in `stepMs`.
   */
  afterStep?: (prevSample: S, index: number, t: number) => S;
}

/**
 * What {@link denoiseLoop} returns.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { DenoiseLoopResult } from "./loop.ts";
 * import { Tensor } from "../tensor/tensor.ts";
 * const r: DenoiseLoopResult = { sample: Tensor.zeros([1]), timesteps: [999, 499], loopMs: 5, modelMs: 4 };
 * assert.equal(r.modelMs / r.timesteps.length, 2); // milliseconds per model call
 * ```
 */
export interface DenoiseLoopResult<S extends LoopState = Tensor> {
  /** The state after the last step. */
  sample: S;
  /** The timestep of every model call, in order. */
  timesteps: number[];
  /** Wall time of the loop without the hooks, milliseconds. */
  loopMs: number;
  /** Sum of the model calls, milliseconds. */
  modelMs: number;
}

/** One model call while its step is still running. */
interface OpenCall {
  index: number;
  t: number;
  /** What the stepper handed to the denoiser. */
  given: Tensor;
  /** The entry state's tensor (first call of a step on a one-tensor state), else `input`. */
  sample: Tensor;
  /** What the denoiser ran on (`given`, or the overrideSample tensor of a later call). */
  input: Tensor;
  output: Tensor;
  modelMs: number;
  sampleOverridden: boolean;
  modelOutputOverridden: boolean;
}

const tensorsOf = (s: LoopState): readonly Tensor[] => Array.isArray(s) ? s : [s as Tensor];

/**
 * Runs `stepper` from step `begin` to its last step, starting from `sample`. Records are made
 * per model call (`index` from 0): `sample` is the state entering the step (its first call;
 * the denoiser's input for later calls of a step, or when the state is several tensors),
 * `modelInput` what the denoiser ran on, `modelOutput` what it returned, `prevSample` the next
 * call's input within a step or the step's result on its last call (the first tensor of a
 * several-tensor state), with `predOriginalSample` and `stepMs` there.
 *
 * Hooks: `overrideSample(index)` replaces the state entering a step (a one-tensor state, on
 * the step's first call) or the denoiser's input of a call; `overrideModelOutput(index)`
 * replaces a call's output (the model is not run); `stopAfterCalls` ends the loop after the
 * step that made that many model calls.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { DDIMScheduler } from "../schedulers/ddim.ts";
 * import { schedulerSampler } from "../schedulers/scheduler_sampler.ts";
 * import { Tensor } from "../tensor/tensor.ts";
 * import { denoiseLoop } from "./loop.ts";
 * const stepper = schedulerSampler(new DDIMScheduler());
 * stepper.setTimesteps(5);
 * const seen: number[] = [];
 * const out = await denoiseLoop({
 *   stepper, denoiser: (x) => Promise.resolve(x.clone()), sample: Tensor.zeros([1, 4, 2, 2]),
 *   hooks: { onStep: (r) => void seen.push(r.t) },
 * });
 * assert.deepEqual(seen, [800, 600, 400, 200, 0]);
 * assert.deepEqual(out.timesteps, seen);
 * // a replay whose reference holds the first 2 calls: the loop ends after them
 * const two = await denoiseLoop({
 *   stepper, denoiser: (x) => Promise.resolve(x.clone()), sample: Tensor.zeros([1, 4, 2, 2]),
 *   hooks: { stopAfterCalls: 2 },
 * });
 * assert.deepEqual(two.timesteps, [800, 600]);
 * ```
 */
export async function denoiseLoop<S extends LoopState = Tensor>(
  opts: DenoiseLoopOptions<S>,
): Promise<DenoiseLoopResult<S>> {
  const { stepper, denoiser, hooks = {}, afterStep } = opts;
  const begin = opts.begin ?? 0;
  const all = stepper.timesteps;
  if (!Number.isInteger(begin) || begin < 0 || begin >= all.length) {
    throw new PipelineInputError(
      "denoiseLoop",
      "begin",
      `expected an index into the ${all.length} timesteps of the stepper, got ${begin}`,
    );
  }
  const stop = hooks.stopAfterCalls;
  if (stop !== undefined && !(Number.isInteger(stop) && stop >= 1)) {
    throw new PipelineInputError(
      "denoiseLoop",
      "stopAfterCalls",
      `expected a whole number of model calls >= 1, got ${stop}`,
    );
  }
  let state = opts.sample;
  for (const x of tensorsOf(state)) assertFinite(x, { stepIndex: -1, tensor: "initLatents" });
  const single = !Array.isArray(state);
  const timesteps: number[] = [];
  let calls: OpenCall[] = [];
  let nextIndex = 0;
  let entry: { sample: Tensor; overridden: boolean } | null = null;
  let modelMsTotal = 0;
  let hookMs = 0;
  const timed = async <T>(f: () => T | Promise<T>): Promise<T> => {
    const start = performance.now();
    try {
      return await f();
    } finally {
      hookMs += performance.now() - start;
    }
  };

  // The denoiser the stepper sees: per-call hooks, checks, timing and the record.
  const denoise: Denoiser = async (given, t) => {
    const index = nextIndex++;
    const where = (tensor: string) => ({ stepIndex: index, timestep: t, tensor });
    let input = given;
    let sampleOverridden = false;
    let sample = given;
    if (entry) {
      // the first call of a step on a one-tensor state: the hook already ran at step entry
      ({ sample, overridden: sampleOverridden } = entry);
      entry = null;
    } else {
      const replaced = await timed(() => hooks.overrideSample?.(index, t));
      if (replaced !== undefined) {
        checkLike(replaced, given, "overrideSample", index);
        sample = input = assertFinite(replaced, where("sample (overrideSample)"));
        sampleOverridden = true;
      }
    }
    assertFinite(input, where("modelInput"));
    const override = await timed(() => hooks.overrideModelOutput?.(index, t));
    let output: Tensor;
    let modelMs = 0;
    if (override !== undefined) {
      checkLike(override, given, "overrideModelOutput", index);
      output = override;
    } else {
      const start = performance.now();
      output = await denoiser(input, t);
      modelMs = performance.now() - start;
    }
    assertFinite(output, where("modelOutput"));
    modelMsTotal += modelMs;
    timesteps.push(t);
    calls.push({
      index,
      t,
      given,
      sample,
      input,
      output,
      modelMs,
      sampleOverridden,
      modelOutputOverridden: override !== undefined,
    });
    return output;
  };

  stepper.reset?.();
  const loopStart = performance.now();
  for (let i = begin; i < all.length; i++) {
    const t = all[i];
    calls = [];
    entry = null;
    if (single) {
      const replaced = await timed(() => hooks.overrideSample?.(nextIndex, t));
      const where = { stepIndex: nextIndex, timestep: t, tensor: "sample (overrideSample)" };
      if (replaced !== undefined) {
        checkLike(replaced, state as Tensor, "overrideSample", nextIndex);
        state = assertFinite(replaced, where) as S;
      }
      entry = { sample: state as Tensor, overridden: replaced !== undefined };
    }
    const hookBefore = hookMs;
    const start = performance.now();
    const result = await stepper.step(denoise, state, i);
    const at = calls.length ? calls[calls.length - 1].index : nextIndex;
    const where = (tensor: string) => ({ stepIndex: at, timestep: t, tensor });
    if (result.predOriginalSample) {
      assertFinite(result.predOriginalSample, where("predOriginalSample"));
    }
    for (const x of tensorsOf(result.prevSample)) assertFinite(x, where("prevSample"));
    let prev = result.prevSample;
    if (afterStep) {
      prev = afterStep(prev, i, t);
      for (const x of tensorsOf(prev)) assertFinite(x, where("prevSample (after blend)"));
    }
    const elapsed = performance.now() - start;
    const stepMs = elapsed - (hookMs - hookBefore) - calls.reduce((s, c) => s + c.modelMs, 0);
    // calls made concurrently (Promise.all) finish in any order: report them in call order
    calls.sort((a, b) => a.index - b.index);
    for (const [j, c] of calls.entries()) {
      const last = j === calls.length - 1;
      const record: StepRecord = {
        index: c.index,
        step: i,
        call: j,
        t: c.t,
        sample: c.sample,
        modelInput: c.input,
        modelOutput: c.output,
        prevSample: last ? tensorsOf(prev)[0] : calls[j + 1].given,
        sampleOverridden: c.sampleOverridden,
        modelOutputOverridden: c.modelOutputOverridden,
        modelMs: c.modelMs,
        stepMs: last ? Math.max(0, stepMs) : 0,
      };
      if (last && result.predOriginalSample) {
        record.predOriginalSample = result.predOriginalSample;
      }
      if (last && afterStep) record.unblendedPrevSample = tensorsOf(result.prevSample)[0];
      await timed(() => hooks.onStep?.(record));
    }
    state = prev;
    if (stop !== undefined && nextIndex >= stop) break;
  }
  return {
    sample: state,
    timesteps,
    loopMs: performance.now() - loopStart - hookMs,
    modelMs: modelMsTotal,
  };
}

function checkLike(given: Tensor, like: Tensor, hook: string, index: number): void {
  if (!given || typeof given !== "object" || !("shape" in given) || !given.sameShape(like)) {
    throw new PipelineInputError(
      "denoiseLoop",
      hook,
      `model call ${index}: expected a tensor of shape [${like.shape.join(", ")}], got ${
        given && "shape" in given ? `[${given.shape.join(", ")}]` : String(given)
      }`,
    );
  }
}
