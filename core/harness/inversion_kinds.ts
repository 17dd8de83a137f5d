/**
 * The inversion pipeline kinds' rows of `PIPELINE_KINDS` (`inversion`, `pixel-inversion`): the
 * checks of their case fields and their run, a round trip (core/pipelines/inversion/).
 *
 * @module
 */
import { PipelineInputError } from "../pipelines/errors.ts";
import { INVERSION_METHODS, type InversionSpec } from "../pipelines/inversion/methods.ts";
import { roundTrip, type RoundTripResult } from "../pipelines/inversion/round_trip.ts";
import type { DDIMScheduler } from "../schedulers/ddim.ts";
import { schedulerFromConfig } from "../schedulers/registry.ts";
import { needs, promptInputs } from "./kind_inputs.ts";
import type { PipelineCaseFields, PipelineRunInputs } from "./pipeline_kinds.ts";

/**
 * The first problem with an inversion case's own fields as `[field, problem]`, or null (`pixel`:
 * the `pixel-inversion` kind, no prompt and no VAE).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { checkInversion } from "./inversion_kinds.ts";
 * const spec = { pipeline: "inversion", sampler: { type: "DDIMScheduler" }, inversion: { method: "ddim" }, steps: 10 };
 * assert.equal(checkInversion(spec, false), null);
 * assert.equal(checkInversion({ ...spec, eta: 1 }, false)?.[0], "eta");
 * ```
 */
export function checkInversion(
  spec: PipelineCaseFields,
  pixel: boolean,
): [string, string] | null {
  const where = `pipeline '${spec.pipeline}'`;
  const refused = pixel
    ? ["prompt", "negativePrompt", "guidanceScale", "height", "width", "mask", "strength"] as const
    : ["height", "width", "mask", "strength"] as const;
  for (const field of refused) {
    if (spec[field] !== undefined) {
      const why = field === "height" || field === "width"
        ? "the image sets the size"
        : field === "mask" || field === "strength"
        ? "the round trip inverts the whole image and samples all of it back"
        : "a pixel-space model takes no prompt";
      return [field, `${where} takes no ${field} (${why}); remove it`];
    }
  }
  if (spec.useClippedModelOutput !== undefined) {
    return ["useClippedModelOutput", `DDIMPipeline's option; ${where} has none`];
  }
  if (spec.sampler?.type !== "DDIMScheduler") {
    return [
      "sampler.type",
      `${where} samples back with DDIMScheduler (the inverse scheduler is made from its ` +
      `config); got ${JSON.stringify(spec.sampler?.type)}`,
    ];
  }
  if ((spec.sampler as { implementation?: unknown }).implementation !== undefined) {
    return ["sampler.implementation", `${where} runs diffusers' DDIM math only`];
  }
  if (spec.eta !== undefined && spec.eta !== 0) {
    return [
      "eta",
      `inversion is deterministic: DDIM with eta 0 only, got ${JSON.stringify(spec.eta)}`,
    ];
  }
  const inv = spec.inversion as InversionSpec | undefined;
  if (typeof inv !== "object" || inv === null || !Object.hasOwn(INVERSION_METHODS, inv.method)) {
    return [
      "inversion.method",
      `expected one of ${Object.keys(INVERSION_METHODS).join(", ")}, e.g. { method: "ddim" }; got ${
        JSON.stringify(inv?.method)
      }`,
    ];
  }
  if (pixel && INVERSION_METHODS[inv.method].conditioning === "negative-prompt") {
    return ["inversion.method", `'${inv.method}' needs a prompt; ${where} has none`];
  }
  if (pixel && inv.latent !== undefined) {
    return ["inversion.latent", `${where} has no VAE: the image is the sample`];
  }
  const problem = INVERSION_METHODS[inv.method].check(inv);
  if (problem) return problem;
  if (spec.negativePrompt !== undefined && ["ddim", "negative-prompt"].includes(inv.method)) {
    return [
      "negativePrompt",
      inv.method === "ddim"
        ? "diffusers' inverting pipelines (Pix2PixZero's invert) take no negative prompt: the " +
          "unconditional half is the empty prompt; remove it"
        : "negative-prompt inversion samples with the prompt as the negative prompt; remove it",
    ];
  }
  const steps = spec.steps as number;
  if (inv.method === "tutorial" && Number.isInteger(steps) && steps < 3) {
    return [
      "steps",
      `the tutorial's loop inverts steps - 2 times and needs at least 3, got ${steps}`,
    ];
  }
  const start = spec.startStep;
  if (start !== undefined) {
    if (inv.method !== "tutorial") {
      return ["startStep", `only the tutorial's loop starts part-way; method is '${inv.method}'`];
    }
    if (!(Number.isInteger(start) && (start as number) >= 0 && (start as number) <= steps - 3)) {
      return [
        "startStep",
        `expected a whole number in 0..${steps - 3} (the tutorial keeps ${steps - 2} inverted ` +
        `latents for ${steps} steps), got ${JSON.stringify(start)}`,
      ];
    }
  }
  return null;
}

/**
 * Runs an inversion case: the case's DDIMScheduler from the model's config and the case's
 * overrides, then the round trip (`pixel`: on the image itself, no prompt, no VAE).
 *
 * @throws {PipelineInputError} for a latent model run as `pixel-inversion`; `Error` naming a
 * missing input.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { runInversion } from "./inversion_kinds.ts";
 * import { Tensor } from "../tensor/tensor.ts";
 * import { TorchGenerator } from "../tensor/torch_generator.ts";
 * const unet = { predict: (x: Tensor) => Promise.resolve(new Tensor(x.data.map((v) => 0.1 * v), x.shape)) };
 * const r = await runInversion({
 *   unet, sampler: undefined as never, generator: new TorchGenerator(0), steps: 4, latentShape: [1, 1, 2, 2],
 *   image: Tensor.zeros([1, 1, 2, 2]), inversion: { method: "ddim" },
 *   schedulerConfig: { json: { clip_sample: false } },
 * }, true);
 * assert.deepEqual([r.inversionCalls, r.timesteps.length], [4, 8]);
 * ```
 */
export async function runInversion(
  inputs: PipelineRunInputs,
  pixel: boolean,
): Promise<RoundTripResult> {
  const where = pixel ? "pixel-inversion" : "inversion";
  const config = needs(inputs.schedulerConfig, "the model's scheduler config", where);
  const scheduler = schedulerFromConfig(
    "DDIMScheduler",
    config.json,
    config.overrides,
    config.source,
    inputs.math,
  ) as DDIMScheduler;
  if (pixel && inputs.vaeEncoder !== undefined) {
    throw new PipelineInputError(
      "pixel-inversion",
      "model",
      "the model folder has a VAE (a latent model): use pipeline 'inversion', which encodes the " +
        "image and takes a prompt",
    );
  }
  return await roundTrip({
    unet: inputs.unet,
    scheduler,
    method: needs(inputs.inversion, "an inversion method", where),
    steps: inputs.steps,
    startStep: inputs.startStep,
    image: needs(inputs.image, "an image", where),
    generator: inputs.generator,
    hooks: inputs.hooks,
    math: inputs.math,
    ...(pixel ? {} : {
      ...promptInputs(inputs, where),
      vaeEncoder: needs(
        inputs.vaeEncoder,
        inputs.vaeEncoderUnusable === undefined
          ? "vae_encoder/model.onnx in the model folder"
          : `a usable VAE encoder; ${inputs.vaeEncoderUnusable}`,
        where,
      ),
      vaeDecoder: inputs.vaeDecoder,
      scalingFactor: needs(inputs.scalingFactor, "the VAE's scaling_factor", where),
    }),
  });
}
