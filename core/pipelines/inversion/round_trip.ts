/**
 * The inversion round trip: image -> latents z0 (the VAE's mean or a sample, times the scaling
 * factor; a pixel-space model takes the image itself) -> the method's inversion pass to noise ->
 * its sampling pass back -> the reconstruction, decoded. Both passes run on the one loop with one
 * denoiser each; their model calls are numbered on from the inversion's into the sampling's, so
 * the replay hooks and the references see one sequence.
 *
 * @module
 */
import type { UNetModel, VaeDecoderModel, VaeEncoderModel } from "../../models/types.ts";
import type { Float32Math } from "../../numerics/f32_math.ts";
import type { DDIMScheduler } from "../../schedulers/ddim.ts";
import type { Denoiser } from "../../schedulers/types.ts";
import { sliceBatch } from "../../tensor/ops.ts";
import type { Tensor } from "../../tensor/tensor.ts";
import { guidedDenoiser, unconditionalDenoiser } from "../denoiser.ts";
import { PipelineInputError } from "../errors.ts";
import { assertFinite } from "../finite.ts";
import { denoiseLoop, type LoopState } from "../loop.ts";
import { encodePrompt, type PromptSource } from "../prompt.ts";
import { maybeDecode } from "../result.ts";
import { checkSteps } from "../timesteps.ts";
import type { NoiseSource, PipelineHooks, PipelineResult } from "../types.ts";
import { encodeImageLatents, hookedImageLatents } from "../vae.ts";
import { INVERSION_METHODS, type InversionSpec, planInversion } from "./methods.ts";

/**
 * Inputs of {@link roundTrip}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { RoundTripOptions } from "./round_trip.ts";
 * const o: Partial<RoundTripOptions> = { method: { method: "ddim" }, steps: 50, guidanceScale: 1 };
 * assert.equal(o.steps, 50);
 * ```
 */
export interface RoundTripOptions {
  /** The denoising model. */
  unet: UNetModel;
  /** The sampling pass's DDIM scheduler; the inverse scheduler is made from its config. */
  scheduler: DDIMScheduler;
  /** The method and its options. */
  method: InversionSpec;
  /** Inference steps of each pass. */
  steps: number;
  /** The tutorial's `start_step` (default 0). */
  startStep?: number;
  /**
   * The image in [-1, 1]: [1, 3, H, W] for a latent model (with `vaeEncoder`), [1, C, H, W] in
   * the UNet's own shape for a pixel-space model (no VAE).
   */
  image: Tensor;
  /** The VAE encoder (latent models). */
  vaeEncoder?: VaeEncoderModel;
  /** The VAE decoder: the reconstruction is decoded into `image` when given. */
  vaeDecoder?: VaeDecoderModel;
  /** The VAE's `scaling_factor` (latent models). */
  scalingFactor?: number;
  /** Draws the VAE sample (`method.latent` "sample"). */
  generator: NoiseSource;
  /** The prompt (text models): text, or the embeddings of the sampling pass. */
  prompt?: PromptSource;
  /** Classifier-free guidance scale of both passes (text models). */
  guidanceScale?: number;
  /** Replay hooks, indexed by model call over both passes. */
  hooks?: PipelineHooks;
  /** float32 exp of the VAE sample. */
  math?: Float32Math;
}

/**
 * What {@link roundTrip} returns: a pipeline result whose `initLatents` are z0, `latents` the
 * reconstruction and `timesteps` both passes' calls, with the pass boundary.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { RoundTripResult } from "./round_trip.ts";
 * const calls: Pick<RoundTripResult, "inversionCalls" | "timesteps"> = { inversionCalls: 2, timesteps: [1, 501, 501, 1] };
 * assert.equal(calls.timesteps.length - calls.inversionCalls, 2); // sampling calls
 * ```
 */
export interface RoundTripResult extends PipelineResult {
  /** The number of model calls of the inversion pass (the first ones of `timesteps`). */
  inversionCalls: number;
  /** The latent the sampling pass starts from (EDICT: x of the pair). */
  inverted: Tensor;
}

/** A hook set for the sampling pass: call indices numbered on from `offset`. */
function offsetHooks(hooks: PipelineHooks, offset: number, stepOffset: number): PipelineHooks {
  return {
    onStep: hooks.onStep &&
      ((r) => hooks.onStep!({ ...r, index: r.index + offset, step: r.step + stepOffset })),
    overrideSample: hooks.overrideSample && ((i, t) => hooks.overrideSample!(i + offset, t)),
    overrideModelOutput: hooks.overrideModelOutput &&
      ((i, t) => hooks.overrideModelOutput!(i + offset, t)),
    ...(hooks.stopAfterCalls !== undefined
      ? { stopAfterCalls: hooks.stopAfterCalls - offset }
      : {}),
  };
}

/** The two passes' denoisers, conditioned as the method says. */
async function denoisers(opts: RoundTripOptions): Promise<{
  invert: Denoiser;
  sample: Denoiser;
  embeds?: Tensor;
  inputIds?: number[][];
  encoderMs: number;
}> {
  const { unet, prompt } = opts;
  if (prompt === undefined) {
    return {
      invert: unconditionalDenoiser(unet),
      sample: unconditionalDenoiser(unet),
      encoderMs: 0,
    };
  }
  const g = opts.guidanceScale;
  if (g === undefined || !Number.isFinite(g)) {
    throw new PipelineInputError("roundTrip", "guidanceScale", "expected a finite number");
  }
  const conditioning = INVERSION_METHODS[opts.method.method].conditioning;
  const cfg = conditioning === "always-cfg" || g > 1;
  let embeds: Tensor, inputIds: number[][] | undefined, encoderMs = 0;
  if ("embeds" in prompt) {
    embeds = prompt.embeds;
    if (embeds.shape.length !== 3 || embeds.shape[0] !== (cfg ? 2 : 1)) {
      throw new PipelineInputError(
        "roundTrip",
        "prompt.embeds",
        `expected [${cfg ? 2 : 1}, L, D] for the sampling pass, got [${embeds.shape.join(", ")}]`,
      );
    }
  } else {
    // negative-prompt inversion: the prompt is also the negative prompt of the sampling pass
    if (conditioning === "negative-prompt" && prompt.negativePrompt !== undefined) {
      throw new PipelineInputError(
        "roundTrip",
        "prompt.negativePrompt",
        "negative-prompt inversion samples with the prompt as the negative prompt; give none",
      );
    }
    const negative = conditioning === "negative-prompt" ? prompt.prompt : prompt.negativePrompt;
    const encoded = await encodePrompt(
      prompt.tokenizer,
      prompt.textEncoder,
      prompt.prompt,
      negative,
      cfg,
    );
    ({ embeds, inputIds, encoderMs } = encoded);
  }
  const sample = guidedDenoiser(unet, embeds, g, "float32", cfg);
  const invert = conditioning === "negative-prompt"
    ? guidedDenoiser(unet, sliceBatch(embeds, embeds.shape[0] - 1, embeds.shape[0]), 1)
    : sample;
  return { invert, sample, embeds, inputIds, encoderMs };
}

/**
 * Runs one round trip.
 *
 * @throws {PipelineInputError} naming the field of a bad input; `RangeError` for a bad method
 * spec; `NonFiniteError` at the first NaN or infinity.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { DDIMScheduler } from "../../schedulers/ddim.ts";
 * import { Tensor } from "../../tensor/tensor.ts";
 * import { TorchGenerator } from "../../tensor/torch_generator.ts";
 * import { roundTrip } from "./round_trip.ts";
 * // a pixel-space stand-in model whose noise prediction is a fixed function of x
 * const unet = { predict: (x: Tensor) => Promise.resolve(new Tensor(x.data.map((v) => 0.1 * v), x.shape)) };
 * const scheduler = new DDIMScheduler({ clipSample: false, setAlphaToOne: false, stepsOffset: 1 });
 * const image = new Tensor(new Float32Array([0.5, -0.25, 0.75, 0]), [1, 1, 2, 2]);
 * const out = await roundTrip({
 *   unet, scheduler, method: { method: "edict", arithmetic: "float64" }, steps: 10, image,
 *   generator: new TorchGenerator(0),
 * });
 * assert.deepEqual([out.inversionCalls, out.timesteps.length], [20, 40]);
 * assert.ok(out.latents.data.every((v, i) => Math.abs(v - image.data[i]) < 1e-6));
 * ```
 */
export async function roundTrip(opts: RoundTripOptions): Promise<RoundTripResult> {
  checkSteps("roundTrip", opts.steps);
  const hooks = opts.hooks ?? {};
  const plan = planInversion(opts.method, opts.scheduler, opts.steps, opts.startStep ?? 0);
  const conditioned = await denoisers(opts);

  // z0: scaling_factor * latent_dist.mean (or .sample(generator)); a pixel model's image itself
  let z0 = opts.image;
  let encodeImageMs = 0;
  if (opts.vaeEncoder) {
    const scalingFactor = opts.scalingFactor;
    if (scalingFactor === undefined) {
      throw new PipelineInputError(
        "roundTrip",
        "scalingFactor",
        "expected the VAE's scaling_factor",
      );
    }
    const encoded = await encodeImageLatents(
      opts.vaeEncoder,
      opts.image,
      opts.generator,
      scalingFactor,
      opts.method.latent ?? "mean",
      opts.math,
    );
    encodeImageMs = encoded.encoderMs;
    z0 = await hookedImageLatents(encoded.latents, hooks, "roundTrip");
  }
  assertFinite(z0, { stepIndex: -1, tensor: "imageLatents" });

  const states: LoopState[] = [];
  const inversion = await denoiseLoop<LoopState>({
    stepper: plan.invert,
    denoiser: conditioned.invert,
    sample: plan.start(z0),
    hooks,
    afterStep: (prev) => (states.push(prev), prev),
  });
  const inversionCalls = inversion.timesteps.length;
  const stopped = hooks.stopAfterCalls !== undefined && hooks.stopAfterCalls <= inversionCalls;
  // a replay that ends inside the inversion samples nothing: its "start" is where it stopped
  const start = stopped ? inversion.sample : plan.handOff(states);
  const sampling = stopped ? undefined : await denoiseLoop<LoopState>({
    stepper: plan.sample,
    denoiser: conditioned.sample,
    sample: start,
    begin: plan.begin,
    // steps numbered on from the inversion's: the sampling pass's first step is the next one
    hooks: offsetHooks(hooks, inversionCalls, states.length - plan.begin),
  });
  const latents = plan.finish(sampling?.sample ?? inversion.sample);
  const timesteps = [...inversion.timesteps, ...(sampling?.timesteps ?? [])];
  const decoded = await maybeDecode(opts.vaeDecoder, opts.scalingFactor, latents, timesteps.length);
  const result: RoundTripResult = {
    latents,
    initLatents: z0,
    timesteps,
    inversionCalls,
    inverted: plan.finish(start),
    timing: {
      encodePromptMs: conditioned.encoderMs,
      encodeImageMs,
      loopMs: inversion.loopMs + (sampling?.loopMs ?? 0),
      modelMs: inversion.modelMs + (sampling?.modelMs ?? 0),
      decodeMs: decoded.decodeMs,
    },
  };
  if (opts.vaeEncoder) result.imageLatents = z0;
  if (conditioned.embeds) result.promptEmbeds = conditioned.embeds;
  if (conditioned.inputIds) result.inputIds = conditioned.inputIds;
  if (decoded.image) result.image = decoded.image;
  else if (!opts.vaeEncoder) result.image = latents; // a pixel-space model's image is its sample
  return result;
}
