/**
 * The denoising loop for the samplers that own their loop and call the model themselves (the
 * CompVis PLMS and labml DDIM {@link StepSampler}s of core/schedulers): the model they call is
 * the classifier-free-guided UNet (`e_uncond + scale * (e_cond - e_uncond)` over
 * `cat([x] * 2)`, no input scaling), and every model call is reported and can be replayed as in
 * the diffusers loop. PLMS's first step makes two calls: call 0 at x_T, call 1 at its Euler
 * estimate; call 0's `prevSample` is that estimate (the input of call 1), as the references
 * record it.
 *
 * @module
 */
import type { UNetModel } from "../models/types.ts";
import type { StepSampler } from "../schedulers/sampler.ts";
import type { Tensor } from "../tensor/tensor.ts";
import { PipelineInputError } from "./errors.ts";
import { assertFinite } from "./finite.ts";
import { guidanceBatch, predictGuided } from "./guidance.ts";
import type { PipelineHooks, StepRecord } from "./types.ts";

/**
 * Whether a sampler option is a {@link StepSampler} (CompVis PLMS, labml DDIM) rather than a
 * diffusers-style `Scheduler`.
 *
 * @example
 * ```ts
 * import { isStepSampler } from "./sampler_loop.ts";
 * import { DDIMScheduler } from "../schedulers/ddim.ts";
 * isStepSampler(new DDIMScheduler()); // false
 * ```
 */
export function isStepSampler(s: unknown): s is StepSampler {
  return typeof s === "object" && s !== null && "stepsDone" in s &&
    typeof (s as StepSampler).reset === "function" && typeof (s as StepSampler).step === "function";
}

/**
 * Inputs of {@link samplerLoop}.
 *
 * @example
 * ```ts
 * import type { SamplerLoopOptions } from "./sampler_loop.ts";
 * const partial: Partial<SamplerLoopOptions> = { guidanceScale: 7.5 };
 * ```
 */
export interface SamplerLoopOptions {
  /** The denoising model. */
  unet: UNetModel;
  /** The sampler; it is `reset()` first and run to its last step. */
  sampler: StepSampler;
  /** x_T, batch 1. */
  latents: Tensor;
  /** `encoder_hidden_states`: batch 2 (negative first) with guidance, else batch 1. */
  embeds: Tensor;
  /** Classifier-free guidance scale; <= 1 runs one batch. */
  guidanceScale: number;
  /** Observation and replay hooks, indexed by model call. */
  hooks?: PipelineHooks;
}

/**
 * What {@link samplerLoop} returns.
 *
 * @example
 * ```ts
 * import type { SamplerLoopResult } from "./sampler_loop.ts";
 * const calls = (r: SamplerLoopResult) => r.timesteps.length;
 * ```
 */
export interface SamplerLoopResult {
  /** The final sample. */
  latents: Tensor;
  /** The timestep of every model call, in order. */
  timesteps: number[];
  /** Wall time of the loop without the hooks, milliseconds. */
  loopMs: number;
  /** Sum of the UNet calls, milliseconds. */
  modelMs: number;
}

interface CallCapture {
  index: number;
  t: number;
  /** What the sampler passed to the model. */
  given: Tensor;
  /** What the model ran on (`given`, or the overrideSample tensor). */
  sample: Tensor;
  modelInput: Tensor;
  modelOutput: Tensor;
  modelMs: number;
  sampleOverridden: boolean;
  modelOutputOverridden: boolean;
}

/**
 * Runs a {@link StepSampler} from `latents` to the end with the guided UNet as its model. One
 * {@link StepRecord} per model call `index`: `sample` the model's input latents, `modelInput`
 * the UNet batch, `modelOutput` the guided eps, `prevSample` the latents the sampler produced
 * after the call (the next call's input inside a step, else the step's x_prev),
 * `predOriginalSample` on the last call of a step. `overrideSample(index)` replaces the sample
 * entering a step (when `index` is a step's first call) or the model input of a later call in
 * the step; `overrideModelOutput(index)` replaces the guided eps (the UNet is not called).
 * A step's own arithmetic time is reported as `stepMs` of its last call (0 on earlier calls).
 *
 * @example
 * ```ts
 * import { CompVisPLMSSampler } from "../schedulers/compvis_plms.ts";
 * import { ldmAlphasCumprod } from "../schedulers/sampler.ts";
 * import { Tensor } from "../tensor/tensor.ts";
 * import { samplerLoop } from "./sampler_loop.ts";
 * const sampler = new CompVisPLMSSampler(ldmAlphasCumprod("linear", 0.00085, 0.012, 1000), 5);
 * const unet = { predict: (x: Tensor) => Promise.resolve(x.clone()) }; // a stand-in model
 * const out = await samplerLoop({
 *   unet, sampler, latents: Tensor.zeros([1, 4, 2, 2]), embeds: Tensor.zeros([1, 77, 8]),
 *   guidanceScale: 1,
 * });
 * console.log(out.timesteps.length); // 6: PLMS's first step calls the model twice
 * ```
 */
export async function samplerLoop(opts: SamplerLoopOptions): Promise<SamplerLoopResult> {
  const { unet, sampler, embeds, guidanceScale, hooks = {} } = opts;
  sampler.reset();
  let x = assertFinite(opts.latents, { stepIndex: -1, tensor: "initLatents" });
  const timesteps: number[] = [];
  let calls: CallCapture[] = [];
  let nextIndex = 0;
  let firstOverridden = false;
  let modelMsTotal = 0;
  let hookMs = 0;
  const timedHook = async <T>(f: () => T | Promise<T>): Promise<T> => {
    const start = performance.now();
    try {
      return await f();
    } finally {
      hookMs += performance.now() - start;
    }
  };

  const model = async (given: Tensor, t: number): Promise<Tensor> => {
    const index = nextIndex++;
    const where = (tensor: string) => ({ stepIndex: index, timestep: t, tensor });
    let sample = given;
    let sampleOverridden = calls.length === 0 && firstOverridden;
    if (calls.length > 0) {
      const replaced = await timedHook(() => hooks.overrideSample?.(index, t));
      if (replaced !== undefined) {
        checkLike(replaced, given, "overrideSample", index);
        sample = assertFinite(replaced, where("sample (overrideSample)"));
        sampleOverridden = true;
      }
    }
    const override = await timedHook(() => hooks.overrideModelOutput?.(index, t));
    let modelInput = guidanceBatch(sample, guidanceScale);
    let modelOutput: Tensor;
    let modelMs = 0;
    if (override !== undefined) {
      checkLike(override, given, "overrideModelOutput", index);
      modelOutput = override;
    } else {
      const out = await predictGuided(unet, modelInput, t, embeds, guidanceScale);
      modelInput = out.modelInput;
      modelOutput = out.modelOutput;
      modelMs = out.modelMs;
    }
    assertFinite(modelInput, where("modelInput"));
    assertFinite(modelOutput, where("modelOutput"));
    modelMsTotal += modelMs;
    timesteps.push(t);
    calls.push({
      index,
      t,
      given,
      sample,
      modelInput,
      modelOutput,
      modelMs,
      sampleOverridden,
      modelOutputOverridden: override !== undefined,
    });
    return modelOutput;
  };

  const loopStart = performance.now();
  while (sampler.stepsDone < sampler.timesteps.length) {
    const t = sampler.timesteps[sampler.stepsDone];
    const replaced = await timedHook(() => hooks.overrideSample?.(nextIndex, t));
    firstOverridden = replaced !== undefined;
    if (replaced !== undefined) {
      checkLike(replaced, x, "overrideSample", nextIndex);
      x = assertFinite(replaced, {
        stepIndex: nextIndex,
        timestep: t,
        tensor: "sample (overrideSample)",
      });
    }
    calls = [];
    const hookBefore = hookMs;
    const start = performance.now();
    const step = await sampler.step(model, x);
    const elapsed = performance.now() - start;
    const last = calls[calls.length - 1];
    const where = (tensor: string) => ({ stepIndex: last.index, timestep: last.t, tensor });
    assertFinite(step.predX0, where("predOriginalSample"));
    assertFinite(step.xPrev, where("prevSample"));
    const stepMs = elapsed - (hookMs - hookBefore) - calls.reduce((s, c) => s + c.modelMs, 0);
    for (const [j, c] of calls.entries()) {
      const isLast = j === calls.length - 1;
      const record: StepRecord = {
        index: c.index,
        t: c.t,
        sample: c.sample,
        modelInput: c.modelInput,
        modelOutput: c.modelOutput,
        prevSample: isLast ? step.xPrev : calls[j + 1].given,
        sampleOverridden: c.sampleOverridden,
        modelOutputOverridden: c.modelOutputOverridden,
        modelMs: c.modelMs,
        stepMs: isLast ? Math.max(0, stepMs) : 0,
      };
      if (isLast) record.predOriginalSample = step.predX0;
      await timedHook(() => hooks.onStep?.(record));
    }
    x = step.xPrev;
  }
  return {
    latents: x,
    timesteps,
    loopMs: performance.now() - loopStart - hookMs,
    modelMs: modelMsTotal,
  };
}

function checkLike(given: Tensor, like: Tensor, hook: string, index: number): void {
  if (!given || typeof given !== "object" || !("shape" in given) || !given.sameShape(like)) {
    throw new PipelineInputError(
      "samplerLoop",
      hook,
      `model call ${index}: expected a tensor of shape [${like.shape.join(", ")}], got ${
        given && "shape" in given ? `[${given.shape.join(", ")}]` : String(given)
      }`,
    );
  }
}
