/**
 * The runs a case makes, as data: the free run (our whole pipeline from the seed), the
 * scheduler replay (the reference's sample and model output in, our step out) and the model
 * replay (the reference's sample and prompt embeddings in, our model output out); and the
 * one function that runs a pipeline for a case with given hooks and math.
 *
 * @module
 */
import type { Float32Math } from "../numerics/f32_math.ts";
import type { PipelineHooks, PipelineResult, StepRecord } from "../pipelines/types.ts";
import { latentDistribution, sampleLatentDistribution } from "../pipelines/vae.ts";
import { makeSampler } from "../schedulers/samplers.ts";
import { scale } from "../tensor/ops.ts";
import { Tensor } from "../tensor/tensor.ts";
import { TorchGenerator } from "../tensor/torch_generator.ts";
import type { CaseInputs } from "./case_inputs.ts";
import { PIPELINE_KINDS } from "./pipeline_kinds.ts";
import type { CaseReference } from "./references.ts";

/**
 * One pipeline run of a case, with its per-call records.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { Run } from "./phases.ts";
 * import { Tensor } from "../tensor/tensor.ts";
 * const z = Tensor.zeros([1, 4, 2, 2]);
 * const run: Run = {
 *   result: {
 *     latents: z, promptEmbeds: Tensor.zeros([1, 77, 8]), initLatents: z, timesteps: [],
 *     timing: { encodePromptMs: 0, encodeImageMs: 0, loopMs: 0, modelMs: 0, decodeMs: 0 },
 *   },
 *   records: [], // one per model call
 * };
 * assert.equal(run.records.length, run.result.timesteps.length);
 * ```
 */
export interface Run {
  /** What the pipeline returned. */
  result: PipelineResult;
  /** One record per model call (a replay over a prefix reference: per recorded call). */
  records: StepRecord[];
}

/**
 * A phase: where its prompt embeddings come from, whether it decodes, and its replay hooks.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { PHASES } from "./phases.ts";
 * assert.deepEqual(PHASES.freeRun.decode, true);
 * ```
 */
export interface Phase {
  /** As the progress line shows it. */
  name: string;
  /**
   * Take the reference's prompt embeddings instead of encoding the case's prompt (a kind
   * without a prompt has none either way).
   */
  referenceEmbeds: boolean;
  /** Decode the final latents. */
  decode: boolean;
  /** The replay hooks over the reference. */
  hooks(ref: CaseReference): PipelineHooks;
}

/**
 * The three phases of a case. Over a prefix reference (per-step tensors for the first
 * `recordedSteps` calls only) the two replays stop after those calls: past them there is no
 * reference sample or model output to feed in or compare with.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { PHASES } from "./phases.ts";
 * assert.deepEqual(Object.values(PHASES).map((p) => p.name), ["free run", "replay scheduler", "replay model"]);
 * ```
 */
export const PHASES: Readonly<Record<"freeRun" | "replayScheduler" | "replayModel", Phase>> = Object
  .freeze({
    freeRun: { name: "free run", referenceEmbeds: false, decode: true, hooks: () => ({}) },
    replayScheduler: {
      name: "replay scheduler",
      referenceEmbeds: true,
      decode: false,
      hooks: (ref) => ({
        overrideSample: (i) => ref.sampleIn(i),
        overrideModelOutput: (i) => ref.modelOutput(i),
        overrideImageLatents: () => ref.imageLatents,
        stopAfterCalls: ref.recordedSteps,
      }),
    },
    replayModel: {
      name: "replay model",
      referenceEmbeds: true,
      decode: false,
      hooks: (ref) => ({
        overrideSample: (i) => ref.sampleIn(i),
        overrideImageLatents: () => ref.imageLatents,
        stopAfterCalls: ref.recordedSteps,
      }),
    },
  });

/**
 * Runs the case's pipeline once: a fresh generator from the case's seed, the sampler from the
 * sampler table, the pipeline from the pipeline-kind table; every model call recorded.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { runPipeline } from "./phases.ts";
 * import { ieeeMath } from "../numerics/f32_math.ts";
 * import { loadCaseInputs } from "./case_inputs.ts";
 * import { loadCases } from "./cases_loader.ts";
 * const [c] = await loadCases("cases", "guidance-1"); // the tiny fixture model, 20 DDIM steps
 * const { inputs } = await loadCaseInputs(c, { manifest: null });
 * try {
 *   const run = await runPipeline(inputs, {}, null, false, ieeeMath);
 *   assert.equal(run.records.length, 20);
 *   assert.deepEqual(run.result.timesteps.slice(0, 3), [951, 901, 851]);
 *   assert.deepEqual(run.result.latents.shape, [1, 4, 16, 16]);
 * } finally {
 *   await inputs.release();
 * }
 * ```
 */
export async function runPipeline(
  inputs: CaseInputs,
  hooks: PipelineHooks,
  embeds: Tensor | null,
  decode: boolean,
  math: Float32Math,
): Promise<Run> {
  const { c, model } = inputs;
  const generator = new TorchGenerator(c.seed);
  const sampler = makeSampler(c.sampler, model.schedulerConfig, {
    steps: c.steps,
    eta: c.eta,
    generator,
    math,
    source: inputs.schedulerSource,
    implementation: inputs.implementation,
    precision: c.precision,
    useClippedModelOutput: c.useClippedModelOutput,
  });
  const records: StepRecord[] = [];
  const onStep = hooks.onStep;
  const kind = PIPELINE_KINDS[c.pipeline];
  const result = await kind.run({
    unet: model.unet,
    sampler,
    generator,
    // defineCase checked that a kind with a prompt has `prompt` and `guidanceScale`
    ...(kind.prompt
      ? {
        prompt: embeds ? { embeds } : {
          ...textParts(inputs),
          prompt: c.prompt!,
          negativePrompt: c.negativePrompt,
        },
        guidanceScale: c.guidanceScale!,
      }
      : {}),
    steps: c.steps,
    hooks: {
      ...hooks,
      onStep: async (r: StepRecord) => {
        records.push(r);
        await onStep?.(r);
      },
    },
    vaeDecoder: decode ? model.vaeDecoder : undefined,
    scalingFactor: inputs.scalingFactor,
    latentShape: inputs.latentShape,
    vaeEncoder: inputs.vaeEncoder,
    vaeEncoderUnusable: model.unusable?.vae_encoder,
    image: inputs.image,
    keepMask: inputs.keepMask,
    strength: c.strength,
    math,
    precision: c.precision,
    ...(c.pipeline === "inversion" || c.pipeline === "pixel-inversion"
      ? {
        inversion: c.inversion,
        startStep: c.startStep,
        schedulerConfig: {
          json: model.schedulerConfig,
          overrides: "config" in c.sampler ? c.sampler.config : undefined,
          source: inputs.schedulerSource,
        },
      }
      : {}),
  });
  return { result, records };
}

/** The model's tokenizer and text encoder, for a case that encodes its prompt. */
function textParts({ c, model }: CaseInputs) {
  if (model.tokenizer === undefined || model.textEncoder === undefined) {
    throw new Error(
      `${model.folder.root}: the model folder has no text encoder (and tokenizer) to encode ` +
        `the prompt of case '${c.name}' (model_index.json _class_name ` +
        `${model.folder.className})`,
    );
  }
  return { tokenizer: model.tokenizer, textEncoder: model.textEncoder };
}

/**
 * Runs `phase` of a case with `math`; `observe` sees every record and the index of every step
 * about to start (the scheduler replay counts which step used which math result). A replay over
 * a prefix reference stops after its `recordedSteps` calls, and keeps their records only (the
 * rest of a step that makes several calls, such as CompVis PLMS's first, runs without them).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { PHASES, runPhase } from "./phases.ts";
 * import { ieeeMath } from "../numerics/f32_math.ts";
 * import { sameFloat32Bits } from "../numerics/f32.ts";
 * import { loadCaseInputs } from "./case_inputs.ts";
 * import { loadCases } from "./cases_loader.ts";
 * import { readCaseReference } from "./references.ts";
 * const [c] = await loadCases("cases", "guidance-1");
 * const ref = await readCaseReference(c.references.onnx);
 * const { inputs } = await loadCaseInputs(c, { manifest: null });
 * try {
 *   const run = await runPhase(inputs, PHASES.replayScheduler, ref, ref.math ?? ieeeMath);
 *   assert.equal(run.records.length, ref.steps);
 *   assert.ok(run.records.every((r) => r.modelOutputOverridden)); // the UNet never ran
 *   assert.ok(sameFloat32Bits(run.records[3].prevSample.data, ref.prevSample(3)!.data));
 * } finally {
 *   await inputs.release();
 * }
 * ```
 */
export async function runPhase(
  inputs: CaseInputs,
  phase: Phase,
  ref: CaseReference,
  math: Float32Math,
  observe: { beforeCall?(index: number): void; onStep?(r: StepRecord): void } = {},
): Promise<Run> {
  const hooks = phase.hooks(ref);
  const overrideSample = hooks.overrideSample;
  const run = await runPipeline(
    inputs,
    {
      ...hooks,
      overrideSample: (i, t) => {
        observe.beforeCall?.(i);
        return overrideSample?.(i, t);
      },
      onStep: async (r) => {
        await hooks.onStep?.(r);
        observe.onStep?.(r);
      },
    },
    phase.referenceEmbeds ? ref.promptEmbeds ?? null : null,
    phase.decode,
    math,
  );
  const stop = hooks.stopAfterCalls;
  return stop === undefined ? run : { ...run, records: run.records.slice(0, stop) };
}

/** Thrown from a replay's `onStep` to stop it once the step of interest is done. */
const STOP_REPLAY = Symbol("stop replay");

/**
 * Step `step` of the scheduler replay (-1: the initial latents, from the reference's image
 * latents for img2img / inpaint) with `math`: the output to compare with the reference's; with
 * `what` "model", the guided model output of that step (one model call).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { replayOneStep } from "./phases.ts";
 * import { ieeeMath } from "../numerics/f32_math.ts";
 * import { sameFloat32Bits } from "../numerics/f32.ts";
 * import { loadCaseInputs } from "./case_inputs.ts";
 * import { loadCases } from "./cases_loader.ts";
 * import { readCaseReference } from "./references.ts";
 * const [c] = await loadCases("cases", "guidance-1");
 * const ref = await readCaseReference(c.references.onnx);
 * const { inputs } = await loadCaseInputs(c, { manifest: null });
 * try {
 *   const prev3 = await replayOneStep(inputs, ref, ref.math ?? ieeeMath, 3);
 *   assert.ok(prev3 && sameFloat32Bits(prev3, ref.prevSample(3)!.data)); // bit for bit
 *   const model3 = await replayOneStep(inputs, ref, ref.math ?? ieeeMath, 3, "model");
 *   assert.equal(model3?.length, ref.modelOutput(3)!.size);
 * } finally {
 *   await inputs.release();
 * }
 * ```
 */
export async function replayOneStep(
  inputs: CaseInputs,
  ref: CaseReference,
  math: Float32Math,
  step: number,
  what: "scheduler" | "model" = "scheduler",
): Promise<Float32Array | undefined> {
  let out: Float32Array | undefined;
  try {
    await runPipeline(
      inputs,
      {
        overrideSample: (i) => (step === -1 ? undefined : ref.sampleIn(i)),
        // the model runs only at the step of interest of a model replay
        overrideModelOutput: (
          i,
        ) => (what === "model" && i === step ? undefined : ref.modelOutput(i)),
        overrideImageLatents: () => ref.imageLatents,
        onStep: (r) => {
          if (step === -1 || r.index === step) {
            out = step === -1
              ? r.sample.data
              : what === "model"
              ? r.modelOutput.data
              : r.prevSample.data;
            throw STOP_REPLAY;
          }
        },
      },
      ref.promptEmbeds ?? null,
      false,
      math,
    );
  } catch (err) {
    if (err !== STOP_REPLAY) throw err;
  }
  return out;
}

/**
 * The VAE sample as an elementwise problem: `scaling * (mean + exp(0.5 * logvar) * noise)` with
 * the first draw of the case's generator, against the reference's image latents.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { vaeSampleProblem } from "./phases.ts";
 * import { MathTable } from "../numerics/f32_math.ts";
 * import { inferElementwise } from "./reference_math.ts";
 * import { loadCaseInputs } from "./case_inputs.ts";
 * import { loadCases } from "./cases_loader.ts";
 * import { readCaseReference } from "./references.ts";
 * const [c] = await loadCases("cases", "img2img-ddim");
 * const ref = await readCaseReference(c.references.onnx);
 * const { inputs } = await loadCaseInputs(c, { manifest: null });
 * try {
 *   const problem = await vaeSampleProblem(inputs, ref);
 *   assert.equal(problem.inputs.length, ref.imageLatents!.size);
 *   // the reference machine's exp differs from IEEE on a few elements; each is explained
 *   const found = inferElementwise("exp", problem.inputs, problem.outputs, problem.expected, new MathTable("inferred"));
 *   assert.deepEqual(found, { changed: 30, unexplained: 0, elements: 1024 });
 * } finally {
 *   await inputs.release();
 * }
 * ```
 */
export async function vaeSampleProblem(inputs: CaseInputs, ref: CaseReference): Promise<{
  inputs: Float32Array;
  outputs: (std: Float32Array) => Float32Array;
  expected: Float32Array;
}> {
  const params = await inputs.vaeEncoder!.encode(inputs.image!);
  const dist = latentDistribution(params);
  const noise = new TorchGenerator(inputs.c.seed).randn(dist.mean.shape);
  const half = scale(dist.logvar, 0.5).data; // 0.5 * logvar
  return {
    inputs: half,
    outputs: (std: Float32Array) =>
      scale(
        sampleLatentDistribution({ ...dist, std: new Tensor(std, dist.mean.shape) }, {
          randn: () => noise,
        }),
        inputs.scalingFactor,
      ).data,
    expected: ref.imageLatents!.data,
  };
}
