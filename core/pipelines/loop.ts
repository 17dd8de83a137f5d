/**
 * The denoising loop every diffusers-scheduler pipeline shares (StableDiffusionPipeline
 * .__call__): for each timestep, guided model output, `scheduler.step`, then an optional
 * post-step transform (the inpaint blend). It reports every step to `onStep`, lets replay hooks
 * replace the sample entering a step or the model output of a step, and stops with a
 * {@link NonFiniteError} at the first NaN or infinity.
 *
 * @module
 */
import type { UNetModel } from "../models/types.ts";
import type { Scheduler, StepOptions } from "../schedulers/types.ts";
import type { Tensor } from "../tensor/tensor.ts";
import { PipelineInputError } from "./errors.ts";
import { assertFinite } from "./finite.ts";
import { guidanceBatch, guidedModelOutput } from "./guidance.ts";
import type { PipelineHooks, StepRecord } from "./types.ts";

/**
 * The generator type the schedulers' `step` accepts (`TorchGenerator`).
 *
 * @example
 * ```ts
 * import type { StepGenerator } from "./loop.ts";
 * import { TorchGenerator } from "../tensor/torch_generator.ts";
 * const g: StepGenerator = new TorchGenerator(0);
 * ```
 */
export type StepGenerator = NonNullable<StepOptions["generator"]>;

/**
 * Inputs of {@link denoiseLoop}.
 *
 * @example
 * ```ts
 * import type { DenoiseLoopOptions } from "./loop.ts";
 * const partial: Partial<DenoiseLoopOptions> = { guidanceScale: 7.5, eta: 0 };
 * ```
 */
export interface DenoiseLoopOptions {
  /** The denoising model. */
  unet: UNetModel;
  /** The scheduler, with its timesteps already set. */
  scheduler: Scheduler;
  /** The timesteps to visit, one model call each (all of `scheduler.timesteps`, or a tail). */
  timesteps: readonly number[];
  /** The latents entering step 0, batch 1. */
  latents: Tensor;
  /** `encoder_hidden_states`: batch 2 (negative first) with guidance, else batch 1. */
  embeds: Tensor;
  /** Classifier-free guidance scale; <= 1 runs one batch. */
  guidanceScale: number;
  /** Source of the noise `step` draws (DDPM, DDIM with eta > 0). */
  generator?: StepGenerator;
  /** DDIM's eta (passed to every `step`; schedulers without it ignore it). */
  eta?: number;
  /** Observation and replay hooks. */
  hooks?: PipelineHooks;
  /**
   * Applied to every step's result before it is handed on (inpaint: the mask blend); its
   * time counts in `stepMs`.
   */
  afterStep?: (prevSample: Tensor, index: number, t: number) => Tensor;
}

/**
 * What {@link denoiseLoop} returns.
 *
 * @example
 * ```ts
 * import type { DenoiseLoopResult } from "./loop.ts";
 * const perStep = (r: DenoiseLoopResult, n: number) => r.modelMs / n;
 * ```
 */
export interface DenoiseLoopResult {
  /** The latents after the last step. */
  latents: Tensor;
  /** Wall time of the loop without the hooks, milliseconds. */
  loopMs: number;
  /** Sum of the UNet calls, milliseconds. */
  modelMs: number;
}

/**
 * Runs the loop `for i, t in enumerate(timesteps): latents = scheduler.step(guided(latents, t),
 * t, latents).prev_sample` with hooks. The scheduler must already hold its schedule
 * (`setTimesteps`, and `setBeginIndex` for a partial one).
 *
 * @example
 * ```ts
 * import { DDIMScheduler } from "../schedulers/ddim.ts";
 * import { Tensor } from "../tensor/tensor.ts";
 * import { denoiseLoop } from "./loop.ts";
 * const scheduler = new DDIMScheduler();
 * scheduler.setTimesteps(5);
 * const unet = { predict: (x: Tensor) => Promise.resolve(x.clone()) }; // a stand-in model
 * const { latents } = await denoiseLoop({
 *   unet, scheduler, timesteps: scheduler.timesteps, latents: Tensor.zeros([1, 4, 2, 2]),
 *   embeds: Tensor.zeros([1, 77, 8]), guidanceScale: 1,
 *   hooks: { onStep: (r) => console.log(r.index, r.t) },
 * });
 * ```
 */
export async function denoiseLoop(opts: DenoiseLoopOptions): Promise<DenoiseLoopResult> {
  const { unet, scheduler, timesteps, embeds, guidanceScale, hooks = {}, afterStep } = opts;
  const stepOpts: StepOptions = {};
  if (opts.eta !== undefined) stepOpts.eta = opts.eta;
  if (opts.generator !== undefined) stepOpts.generator = opts.generator;
  let latents = opts.latents;
  assertFinite(latents, { stepIndex: -1, tensor: "initLatents" });
  let modelMsTotal = 0;
  let hookMs = 0;
  const loopStart = performance.now();
  for (let i = 0; i < timesteps.length; i++) {
    const t = timesteps[i];
    const where = (tensor: string) => ({ stepIndex: i, timestep: t, tensor });

    let hookStart = performance.now();
    const sampleOverride = await hooks.overrideSample?.(i, t);
    const outputOverride = await hooks.overrideModelOutput?.(i, t);
    hookMs += performance.now() - hookStart;
    if (sampleOverride !== undefined) {
      checkLike(sampleOverride, latents, "overrideSample", i);
      latents = assertFinite(sampleOverride, where("sample (overrideSample)"));
    }

    let modelInput: Tensor;
    let modelOutput: Tensor;
    let modelMs = 0;
    if (outputOverride !== undefined) {
      checkLike(outputOverride, latents, "overrideModelOutput", i);
      // scale_model_input still runs: some schedulers (Euler) track their step index there.
      modelInput = scheduler.scaleModelInput(guidanceBatch(latents, guidanceScale), t);
      modelOutput = outputOverride;
    } else {
      const guided = await guidedModelOutput(unet, scheduler, latents, t, embeds, guidanceScale);
      modelInput = guided.modelInput;
      modelOutput = guided.modelOutput;
      modelMs = guided.modelMs;
    }
    modelMsTotal += modelMs;
    assertFinite(modelInput, where("modelInput"));
    assertFinite(modelOutput, where("modelOutput"));

    const stepStart = performance.now();
    const result = scheduler.step(modelOutput, t, latents, stepOpts);
    if (result.predOriginalSample) {
      assertFinite(result.predOriginalSample, where("predOriginalSample"));
    }
    assertFinite(result.prevSample, where("prevSample"));
    let prevSample = result.prevSample;
    let unblendedPrevSample: Tensor | undefined;
    if (afterStep) {
      unblendedPrevSample = prevSample;
      prevSample = assertFinite(afterStep(prevSample, i, t), where("prevSample (after blend)"));
    }
    const stepMs = performance.now() - stepStart;

    const record: StepRecord = {
      index: i,
      t,
      sample: latents,
      modelInput,
      modelOutput,
      prevSample,
      sampleOverridden: sampleOverride !== undefined,
      modelOutputOverridden: outputOverride !== undefined,
      modelMs,
      stepMs,
    };
    if (result.predOriginalSample) record.predOriginalSample = result.predOriginalSample;
    if (unblendedPrevSample) record.unblendedPrevSample = unblendedPrevSample;
    hookStart = performance.now();
    await hooks.onStep?.(record);
    hookMs += performance.now() - hookStart;
    latents = prevSample;
  }
  return { latents, loopMs: performance.now() - loopStart - hookMs, modelMs: modelMsTotal };
}

function checkLike(given: Tensor, like: Tensor, hook: string, index: number): void {
  if (!given || typeof given !== "object" || !("shape" in given) || !given.sameShape(like)) {
    throw new PipelineInputError(
      "denoiseLoop",
      hook,
      `step ${index}: expected a tensor of shape [${like.shape.join(", ")}], got ${
        given && "shape" in given ? `[${given.shape.join(", ")}]` : String(given)
      }`,
    );
  }
}
