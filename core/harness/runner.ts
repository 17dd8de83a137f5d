/**
 * `runCase`: runs one case three ways and compares each with its references.
 * - free run: our whole loop from the seed (what a user sees), against diffusers +
 *   onnxruntime (every step) and diffusers + PyTorch (final latents);
 * - replay scheduler: each step gets the reference's sample and model output, so only our
 *   sampler math is compared (prevSample, in ulp);
 * - replay model: each step gets the reference's sample and prompt embeddings, so only our
 *   model execution is compared (guided model output), plus the text encoder on its own.
 *
 * @module
 */
import type { ExecutionProviderName } from "../models/execution_provider.ts";
import type { VaeEncoderModel } from "../models/types.ts";
import { type Float32Math, ieeeMath } from "../numerics/f32_math.ts";
import { UsageMath } from "../numerics/probe_math.ts";
import { latentDistribution, sampleLatentDistribution } from "../pipelines/vae.ts";
import { readModelGeometry } from "../models/geometry.ts";
import { type LoadedModel, loadModelFolder } from "../models/load_model_folder.ts";
import { readModelFolder } from "../models/model_folder.ts";
import { imageToTensor, tensorToImage } from "../pipelines/image.ts";
import { img2img } from "../pipelines/img2img.ts";
import { inpaint } from "../pipelines/inpaint.ts";
import { latentShape } from "../pipelines/latents.ts";
import { keepMaskFromImage } from "../pipelines/mask.ts";
import { encodePng, readPngGray, readPngRgb } from "../pipelines/png.ts";
import { text2img } from "../pipelines/text2img.ts";
import type { PipelineHooks, PipelineResult, StepRecord } from "../pipelines/types.ts";
import { CompVisPLMSSampler } from "../schedulers/compvis_plms.ts";
import { DDIMScheduler } from "../schedulers/ddim.ts";
import { LabmlDDIMSampler } from "../schedulers/labml_ddim.ts";
import { schedulerFromConfig } from "../schedulers/registry.ts";
import { ldmAlphasCumprodForConfig, type StepSampler } from "../schedulers/sampler.ts";
import type { Scheduler } from "../schedulers/types.ts";
import { scale } from "../tensor/ops.ts";
import { Tensor } from "../tensor/tensor.ts";
import { TorchGenerator } from "../tensor/torch_generator.ts";
import type { Case, Tolerance } from "./case.ts";
import { describeMachine, resolveReferenceMath, summarizeMath } from "./case_math.ts";
import type { ModelPool } from "./model_pool.ts";
import { checkFixtureHashes, readFixtureManifest, sha256Hex } from "./fixture_hashes.ts";
import { compareTensors } from "./metrics.ts";
import { type ProgressSink, silentProgress } from "./progress.ts";
import { type CaseReference, readCaseReference } from "./references.ts";
import type {
  CaseResult,
  CaseTiming,
  ComparisonKind,
  ComparisonResult,
  ErrorFigures,
  StepFigures,
} from "./results.ts";
import { violations } from "./tolerance.ts";

/**
 * How to run a case.
 *
 * @example
 * ```ts
 * import type { RunCaseOptions } from "./runner.ts";
 * const o: RunCaseOptions = { executionProvider: "cpu", manifest: "fixtures/manifest.json" };
 * ```
 */
export interface RunCaseOptions {
  /** Execution provider for every ONNX session (default "cpu"). */
  executionProvider?: ExecutionProviderName;
  /** Fall back to CPU when the provider cannot run (recorded in the result). */
  fallback?: boolean;
  /** WebGPU only: onnxruntime's preferred tensor layout (default: onnxruntime's choice). */
  webgpuLayout?: "default" | "NCHW" | "NHWC";
  /** Loaded models shared across cases (verify passes one); without it the case loads and frees its own. */
  models?: ModelPool;
  /** Intra-op threads (default 1, as the references were made). */
  intraOpNumThreads?: number;
  /** The fixture manifest to check hashes against; null skips the check. */
  manifest?: string | null;
  /** Progress display. */
  progress?: ProgressSink;
  /** Keep the decoded image as a PNG data URL in the result (default true). */
  keepImage?: boolean;
}

/** What one pipeline run gives back, with its per-call records. */
interface Run {
  result: PipelineResult;
  records: StepRecord[];
}

/** Everything loaded for a case. */
interface CaseContext {
  c: Case;
  model: LoadedModel;
  /** The model's VAE encoder, its output kept per image (replays encode the same image). */
  vaeEncoder?: VaeEncoderModel;
  image?: Tensor;
  keepMask?: Tensor;
  shape: number[];
  scalingFactor: number;
  schedulerSource: string;
}

function makeSampler(
  ctx: CaseContext,
  generator: TorchGenerator,
  math: Float32Math,
): Scheduler | StepSampler {
  const { c, model } = ctx;
  const spec = c.sampler;
  if (spec.type === "CompVisPLMS" || spec.type === "LabmlDDIM") {
    // Both read the model's betas; the LDM helpers map diffusers' beta_schedule names.
    const cfg = DDIMScheduler.fromConfig(model.schedulerConfig, ctx.schedulerSource).config;
    const alphas = ldmAlphasCumprodForConfig(cfg);
    if (spec.type === "CompVisPLMS") return new CompVisPLMSSampler(alphas, c.steps, { math });
    return new LabmlDDIMSampler(alphas, c.steps, {
      discretize: spec.discretize,
      temperature: spec.temperature,
      eta: c.eta ?? 0,
      generator,
      math,
    });
  }
  return schedulerFromConfig(
    spec.type,
    model.schedulerConfig,
    spec.config ?? {},
    ctx.schedulerSource,
    math,
  );
}

async function runPipeline(
  ctx: CaseContext,
  hooks: PipelineHooks,
  prompt: { embeds: Tensor } | null,
  decode: boolean,
  math: Float32Math,
): Promise<Run> {
  const { c, model } = ctx;
  const generator = new TorchGenerator(c.seed);
  const sampler = makeSampler(ctx, generator, math);
  const records: StepRecord[] = [];
  const onStep = hooks.onStep;
  const common = {
    unet: model.unet,
    scheduler: sampler,
    generator,
    prompt: prompt ?? {
      tokenizer: model.tokenizer,
      textEncoder: model.textEncoder,
      prompt: c.prompt,
      negativePrompt: c.negativePrompt,
    },
    steps: c.steps,
    guidanceScale: c.guidanceScale,
    eta: c.sampler.type === "CompVisPLMS" || c.sampler.type === "LabmlDDIM" ? undefined : c.eta,
    hooks: {
      ...hooks,
      onStep: async (r: StepRecord) => {
        records.push(r);
        await onStep?.(r);
      },
    },
    vaeDecoder: decode ? model.vaeDecoder : undefined,
    scalingFactor: ctx.scalingFactor,
  };
  let result: PipelineResult;
  if (c.pipeline === "text2img") {
    result = await text2img({ ...common, latentShape: ctx.shape });
  } else {
    if (!model.vaeEncoder) {
      throw new Error(`${c.model}: pipeline '${c.pipeline}' needs vae_encoder/model.onnx`);
    }
    const opts = {
      ...common,
      scheduler: sampler as Scheduler,
      vaeEncoder: ctx.vaeEncoder ?? model.vaeEncoder,
      image: ctx.image!,
      strength: c.strength,
      math,
    };
    result = c.pipeline === "img2img"
      ? await img2img(opts)
      : await inpaint({ ...opts, keepMask: ctx.keepMask! });
  }
  return { result, records };
}

function figures(actual: Tensor, reference: Tensor, image = false): ErrorFigures {
  const cmp = compareTensors(actual, reference, image ? { dataRange: 255, ssim: true } : {});
  const out: ErrorFigures = {
    maxAbs: cmp.maxAbs,
    rmse: cmp.rmse,
    relL2: cmp.relL2,
    cosine: cmp.cosine,
    maxUlp: cmp.maxUlp,
  };
  if (cmp.psnr !== undefined) out.psnr = cmp.psnr;
  if (cmp.ssim !== undefined) out.ssim = cmp.ssim;
  return out;
}

/** Folds per-step figures into a comparison: worst of each figure, and every bound violation. */
function comparison(
  kind: ComparisonKind,
  reference: string,
  subject: string,
  tolerance: Tolerance,
  perStep: StepFigures[],
  extra: { label: string; figures: ErrorFigures }[] = [],
): ComparisonResult {
  const worst: ErrorFigures & { step: number | null } = {
    maxAbs: 0,
    rmse: 0,
    relL2: 0,
    cosine: 1,
    maxUlp: 0,
    step: null,
  };
  const failures: string[] = [];
  const fold = (f: ErrorFigures, where: string, step: number | null) => {
    if (!(f.maxAbs <= worst.maxAbs)) {
      worst.maxAbs = f.maxAbs;
      worst.step = step;
    }
    worst.rmse = Math.max(worst.rmse, f.rmse);
    worst.relL2 = Math.max(worst.relL2, f.relL2);
    worst.cosine = Math.min(worst.cosine, f.cosine);
    worst.maxUlp = Math.max(worst.maxUlp, f.maxUlp);
    if (f.psnr !== undefined) worst.psnr = Math.min(worst.psnr ?? Infinity, f.psnr);
    if (f.ssim !== undefined) worst.ssim = Math.min(worst.ssim ?? Infinity, f.ssim);
    failures.push(...violations(f, tolerance, where));
  };
  for (const s of perStep) fold(s, `at step ${s.step} (t=${s.t})`, s.step);
  for (const e of extra) fold(e.figures, `in ${e.label}`, null);
  // One line per bound is enough: keep the first (earliest) violation of each bound.
  const firstPerBound = new Map<string, string>();
  for (const f of failures) {
    const bound = f.split(" ")[0];
    if (!firstPerBound.has(bound)) firstPerBound.set(bound, f);
  }
  const extraCount = failures.length - firstPerBound.size;
  const shown = [...firstPerBound.values()];
  if (extraCount > 0) shown.push(`(${extraCount} more violations at later steps)`);
  return {
    kind,
    reference,
    subject,
    tolerance,
    pass: failures.length === 0,
    worst,
    perStep,
    failures: shown,
  };
}

function stepFigures(
  records: StepRecord[],
  pick: (r: StepRecord) => Tensor,
  ref: (i: number) => Tensor | undefined,
  refPath: string,
  what: string,
): StepFigures[] {
  const out: StepFigures[] = [];
  for (const r of records) {
    const want = ref(r.index);
    if (!want) {
      throw new Error(
        `${refPath}: tensor '${what}.${r.index}' missing; regenerate with \`deno task refs\``,
      );
    }
    out.push({ step: r.index, t: r.t, ...figures(pick(r), want) });
  }
  return out;
}

function checkCallCount(records: StepRecord[], ref: CaseReference, mode: string): void {
  if (records.length !== ref.steps) {
    throw new Error(
      `${ref.path}: the reference has ${ref.steps} model calls, our ${mode} made ${records.length}`,
    );
  }
  records.forEach((r, i) => {
    if (r.t !== ref.timesteps[i]) {
      throw new Error(
        `${ref.path}: timesteps: call ${i} runs at t=${r.t}, the reference at t=${
          ref.timesteps[i]
        }`,
      );
    }
  });
}

/** The image of a run as [1,3,H,W] 0..255 values (diffusers' postprocess) and as a PNG. */
function postprocess(image: Tensor): { chw: Tensor; png: Uint8Array } {
  const img = tensorToImage(image);
  const { width: w, height: h } = img;
  const chw = new Float32Array(3 * h * w);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      for (let ch = 0; ch < 3; ch++) chw[ch * h * w + y * w + x] = img.data[(y * w + x) * 3 + ch];
    }
  }
  return { chw: new Tensor(chw, [1, 3, h, w]), png: encodePng(img) };
}

function base64(bytes: Uint8Array): string {
  let s = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(s);
}

function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}

/** The files whose hashes guard the references of a case. */
function guardedFiles(c: Case, model: LoadedModel | null, folderFiles: string[]): string[] {
  const files = [...folderFiles, c.references.onnx, c.references.torch];
  if (c.image) files.push(c.image);
  if (c.mask) files.push(c.mask);
  if (model) files.push(model.unet.path);
  return [...new Set(files)];
}

async function folderFiles(root: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (dir: string) => {
    for await (const e of Deno.readDir(dir)) {
      const p = `${dir}/${e.name}`;
      if (e.isDirectory) await walk(p);
      else if (e.isFile) out.push(p);
    }
  };
  await walk(root);
  return out.sort();
}

/** Thrown from a replay's `onStep` to stop it once the step of interest is done. */
const STOP_REPLAY = Symbol("stop replay");

/**
 * Step `step` of the scheduler replay (-1: the initial latents, from the reference's image
 * latents for img2img / inpaint) with `math`: the output to compare with the reference's; with
 * `what` "model", the guided model output of that step (one model call).
 */
async function replayOneStep(
  ctx: CaseContext,
  ref: CaseReference,
  math: Float32Math,
  step: number,
  what: "scheduler" | "model" = "scheduler",
): Promise<Float32Array | undefined> {
  let out: Float32Array | undefined;
  try {
    await runPipeline(
      ctx,
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
      { embeds: ref.promptEmbeds },
      false,
      math,
    );
  } catch (err) {
    if (err !== STOP_REPLAY) throw err;
  }
  return out;
}

/** A VAE encoder that encodes each image once (the replays encode the same image). */
function memoEncoder(encoder: VaeEncoderModel): VaeEncoderModel {
  const seen = new Map<Tensor, Promise<Tensor>>();
  return {
    ...encoder,
    encode: (image: Tensor) => {
      let out = seen.get(image);
      if (!out) seen.set(image, out = encoder.encode(image));
      return out;
    },
  };
}

/**
 * The VAE sample as an elementwise problem: `scaling * (mean + exp(0.5 * logvar) * noise)` with
 * the first draw of the case's generator, against the reference's image latents.
 */
async function vaeSampleProblem(ctx: CaseContext, ref: CaseReference) {
  const params = await ctx.vaeEncoder!.encode(ctx.image!);
  const dist = latentDistribution(params);
  const noise = new TorchGenerator(ctx.c.seed).randn(dist.mean.shape);
  const half = scale(dist.logvar, 0.5).data; // 0.5 * logvar
  return {
    inputs: half,
    outputs: (std: Float32Array) =>
      scale(
        sampleLatentDistribution({ ...dist, std: new Tensor(std, dist.mean.shape) }, {
          randn: () => noise,
        }),
        ctx.scalingFactor,
      ).data,
    expected: ref.imageLatents!.data,
  };
}

/** `primary` with the IEEE run's worst figures attached, when there was one. */
function withIeee(primary: ComparisonResult, ieee: ComparisonResult | null): ComparisonResult {
  return ieee ? { ...primary, ieee: { worst: ieee.worst, pass: ieee.pass } } : primary;
}

/**
 * Runs one case (free run, scheduler replay, model replay) and compares it with its
 * references. Never throws for a problem of the case itself: such problems come back as
 * `status: "error"` with a message naming the file and field.
 *
 * @example
 * ```ts
 * import { runCase } from "./runner.ts";
 * import { loadCases } from "./cases_loader.ts";
 * const [c] = await loadCases("cases", "guidance-1");
 * const r = await runCase(c, { executionProvider: "cpu" });
 * console.log(r.status, r.comparisons.map((x) => `${x.kind} ${x.worst.maxAbs}`));
 * ```
 */
export async function runCase(c: Case, options: RunCaseOptions = {}): Promise<CaseResult> {
  const t0 = performance.now();
  const progress = options.progress ?? silentProgress;
  const base: CaseResult = {
    name: c.name,
    description: c.description ?? "",
    pipeline: c.pipeline,
    sampler: c.sampler.type + (c.sampler.type === "LabmlDDIM" ? ` (${c.sampler.discretize})` : ""),
    model: c.model,
    provider: options.executionProvider ?? "cpu",
    status: "error",
    comparisons: [],
    timing: null,
    latentsSha256: null,
  };
  let model: LoadedModel | null = null;
  let owned: LoadedModel | null = null; // loaded here (no pool): released here
  try {
    // 1. Hashes: a changed model or reference invalidates the comparison.
    if (options.manifest !== null) {
      const manifest = await readFixtureManifest(options.manifest ?? "fixtures/manifest.json");
      const folder = await readModelFolder(c.model, { unet: c.unet });
      await checkFixtureHashes(
        manifest,
        guardedFiles(c, null, [...await folderFiles(folder.root), folder.components.unet]),
      );
    }
    const [refOnnx, refTorch] = [
      await readCaseReference(c.references.onnx),
      await readCaseReference(c.references.torch),
    ];

    // 2. Model, geometry, inputs.
    const tLoad = performance.now();
    const loadOptions = {
      unet: c.unet,
      session: {
        executionProvider: options.executionProvider ?? "cpu",
        fallback: options.fallback ?? false,
        intraOpNumThreads: options.intraOpNumThreads ?? 1,
        webgpuLayout: options.webgpuLayout ?? "default",
      },
    };
    model = options.models
      ? await options.models.get(c.model, loadOptions)
      : (owned = await loadModelFolder(c.model, loadOptions));
    const loadMs = performance.now() - tLoad;
    base.provider = model.records().unet.provider;
    const geometry = await readModelGeometry(model.folder);
    const height = c.height ?? geometry.sampleSize * geometry.vaeScaleFactor;
    const width = c.width ?? height;
    const ctx: CaseContext = {
      c,
      model,
      shape: latentShape(height, width, geometry.vaeScaleFactor, geometry.latentChannels),
      scalingFactor: geometry.scalingFactor,
      schedulerSource: model.folder.schedulerConfigPath,
    };
    if (c.image) ctx.image = imageToTensor(await readPngRgb(c.image), { width, height });
    if (c.mask) {
      ctx.keepMask = keepMaskFromImage(
        await readPngGray(c.mask),
        geometry.vaeScaleFactor,
        geometry.latentChannels,
      );
    }
    const total = refOnnx.steps;
    if (model.vaeEncoder) ctx.vaeEncoder = memoEncoder(model.vaeEncoder);

    // 3. The reference machine's math: recorded in the reference, or inferred from it.
    progress.phase("reference math", 0, total);
    const resolved = await resolveReferenceMath(
      c.referenceMath ?? "auto",
      refOnnx,
      (math, step) => replayOneStep(ctx, refOnnx, math, step),
      ctx.image && refOnnx.imageLatents ? await vaeSampleProblem(ctx, refOnnx) : undefined,
      (math, step) => replayOneStep(ctx, refOnnx, math, step, "model"),
    );
    resolved.table?.resetCounts();
    const differs = (resolved.table?.deviations().length ?? 0) > 0;

    // 4. Free run with the reference's math; again with IEEE math when the two differ.
    progress.phase("free run", 0, total);
    const freeHooks: PipelineHooks = {
      onStep: (r) => progress.phase("free run", r.index + 1, total),
    };
    const free = await runPipeline(ctx, freeHooks, null, true, resolved.math);
    checkCallCount(free.records, refOnnx, "free run");
    const freeIeee = differs ? await runPipeline(ctx, freeHooks, null, true, ieeeMath) : null;
    const comparisons: ComparisonResult[] = [];
    const prevSampleFigures = (run: Run) =>
      stepFigures(
        run.records,
        (r) => r.prevSample,
        refOnnx.prevSample,
        refOnnx.path,
        "prev_sample",
      );
    const freeOnnx = (run: Run) =>
      comparison(
        "freeRunOnnx",
        refOnnx.path,
        "latents after every step, and the final latents",
        c.tolerances.freeRunOnnx!,
        prevSampleFigures(run),
        [
          ...(run.result.imageLatents && refOnnx.imageLatents
            ? [{
              label: "image latents (VAE encode + sample)",
              figures: figures(run.result.imageLatents, refOnnx.imageLatents),
            }]
            : []),
          { label: "final latents", figures: figures(run.result.latents, refOnnx.latents) },
        ],
      );
    comparisons.push(withIeee(freeOnnx(free), freeIeee && freeOnnx(freeIeee)));
    comparisons.push(comparison(
      "freeRunTorch",
      refTorch.path,
      "final latents",
      c.tolerances.freeRunTorch!,
      [],
      [{ label: "final latents", figures: figures(free.result.latents, refTorch.latents) }],
    ));
    let png: Uint8Array | undefined;
    if (free.result.image && refOnnx.imageU8) {
      const post = postprocess(free.result.image);
      png = post.png;
      comparisons.push(comparison(
        "image",
        refOnnx.path,
        "decoded, postprocessed image (0..255)",
        c.tolerances.image!,
        [],
        [{ label: "image", figures: figures(post.chw, refOnnx.imageU8, true) }],
      ));
    }

    // 5. Replay the scheduler: reference sample and model output in, our step out (with the
    // reference's math, noting which step used which result; again with IEEE when they differ).
    progress.phase("replay scheduler", 0, total);
    const usage = new UsageMath(resolved.math);
    const replaySched = (math: Float32Math, counted?: UsageMath) =>
      runPipeline(
        ctx,
        {
          overrideSample: (i) => {
            if (counted) counted.phase = i;
            return refOnnx.sampleIn(i);
          },
          overrideModelOutput: (i) => refOnnx.modelOutput(i),
          overrideImageLatents: () => refOnnx.imageLatents,
          onStep: (r) => progress.phase("replay scheduler", r.index + 1, total),
        },
        { embeds: refOnnx.promptEmbeds },
        false,
        math,
      );
    usage.phase = -1;
    const sched = await replaySched(usage, usage);
    checkCallCount(sched.records, refOnnx, "scheduler replay");
    const schedComparison = (run: Run) =>
      comparison(
        "replayScheduler",
        refOnnx.path,
        "prevSample per step, given the reference sample and model output",
        c.tolerances.replayScheduler!,
        prevSampleFigures(run),
      );
    const schedIeee = differs ? await replaySched(ieeeMath) : null;
    comparisons.push(withIeee(schedComparison(sched), schedIeee && schedComparison(schedIeee)));
    const mathSummary = summarizeMath(
      resolved,
      usage,
      total,
      describeMachine(refOnnx.metadata["math"]),
    );

    // 6. Replay the model: reference sample and embeddings in, our guided model output out.
    progress.phase("replay model", 0, total);
    const replayModel = await runPipeline(
      ctx,
      {
        overrideSample: (i) => refOnnx.sampleIn(i),
        overrideImageLatents: () => refOnnx.imageLatents,
        onStep: (r) => progress.phase("replay model", r.index + 1, total),
      },
      { embeds: refOnnx.promptEmbeds },
      false,
      resolved.math,
    );
    checkCallCount(replayModel.records, refOnnx, "model replay");
    comparisons.push(comparison(
      "replayModel",
      refOnnx.path,
      "guided model output per step given the reference sample; text encoder output",
      c.tolerances.replayModel!,
      stepFigures(
        replayModel.records,
        (r) => r.modelOutput,
        refOnnx.modelOutput,
        refOnnx.path,
        "model_output",
      ),
      [{
        label: "prompt embeddings (text encoder)",
        figures: figures(free.result.promptEmbeds, refOnnx.promptEmbeds),
      }],
    ));

    const unetMsTotal = free.records.reduce((s, r) => s + r.modelMs, 0);
    const timing: CaseTiming = {
      totalMs: performance.now() - t0,
      loadMs,
      modelCalls: free.records.length,
      unetMsTotal,
      unetMsMean: free.records.length ? unetMsTotal / free.records.length : 0,
      schedulerMsTotal: free.records.reduce((s, r) => s + r.stepMs, 0),
      decodeMs: free.result.timing.decodeMs,
    };
    const latents = free.result.latents.data;
    return {
      ...base,
      status: comparisons.every((x) => x.pass) ? "pass" : "fail",
      comparisons,
      timing,
      math: mathSummary,
      latentsSha256: await sha256Hex(
        new Uint8Array(latents.buffer, latents.byteOffset, latents.byteLength),
      ),
      ...(png && options.keepImage !== false
        ? { imagePng: `data:image/png;base64,${base64(png)}` }
        : {}),
    };
  } catch (err) {
    return { ...base, status: "error", error: errorMessage(err), timing: null };
  } finally {
    await owned?.release().catch(() => {});
  }
}
