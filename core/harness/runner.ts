/**
 * `runCase`: runs one case's phases (core/harness/phases.ts) and compares each with its
 * references (core/harness/compare.ts).
 * - free run: our whole loop from the seed (what a user sees), against diffusers +
 *   onnxruntime (every step) and diffusers + PyTorch (final latents);
 * - replay scheduler: each step gets the reference's sample and model output, so only our
 *   sampler math is compared (prevSample, in ulp);
 * - replay model: each step gets the reference's sample and prompt embeddings, so only our
 *   model execution is compared (guided model output), plus the text encoder on its own.
 *
 * @module
 */
import { ieeeMath } from "../numerics/f32_math.ts";
import { UsageMath } from "../numerics/probe_math.ts";
import { tensorToImage } from "../pipelines/image.ts";
import { encodePng } from "../pipelines/png.ts";
import { makeSampler, SAMPLERS } from "../schedulers/samplers.ts";
import { Tensor } from "../tensor/tensor.ts";
import type { Case } from "./case.ts";
import { type CaseInputOptions, type CaseInputs, loadCaseInputs } from "./case_inputs.ts";
import { mergeWarnings, samplerConfigWarnings } from "./case_warnings.ts";
import { describeMachine, resolveReferenceMath, summarizeMath } from "./case_math.ts";
import { checkCallCount, comparison, figures, referenceStepFigures, withIeee } from "./compare.ts";
import { sha256Hex } from "./fixture_hashes.ts";
import {
  gitCommit,
  goldenMetadata,
  goldenNote,
  goldenTensors,
  referenceExists,
  referenceKindOf,
} from "./goldens.ts";
import {
  PHASES,
  replayOneStep,
  type Run,
  runPhase,
  runPipeline,
  vaeSampleProblem,
} from "./phases.ts";
import { type ProgressSink, silentProgress } from "./progress.ts";
import { type CaseReference, CaseReferenceError, readCaseReference } from "./references.ts";
import { writeSafetensors } from "../tensor/safetensors.ts";
import type { CaseResult, CaseTiming, ComparisonResult } from "../results/schema.ts";

/**
 * How to run a case.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { RunCaseOptions } from "./runner.ts";
 * const o: RunCaseOptions = { executionProvider: "cpu", manifest: "fixtures/manifest.json" };
 * assert.deepEqual(o.executionProvider, "cpu");
 * ```
 */
export interface RunCaseOptions extends CaseInputOptions {
  /** Progress display. */
  progress?: ProgressSink;
  /** Keep the decoded image's PNG bytes in the result's `images` (default true). */
  keepImage?: boolean;
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

function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}

/** The free run's comparisons: every step and the final latents against both references. */
function freeRunComparisons(
  c: Case,
  refOnnx: CaseReference,
  refTorch: CaseReference | null,
  free: Run,
  freeIeee: Run | null,
): { comparisons: ComparisonResult[]; png?: Uint8Array } {
  const freeOnnx = (run: Run) =>
    comparison(
      "freeRunOnnx",
      refOnnx.path,
      c.tolerances.freeRunOnnx!,
      referenceStepFigures(run.records, refOnnx, "prev_sample"),
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
  const comparisons = [withIeee(freeOnnx(free), freeIeee && freeOnnx(freeIeee))];
  // a golden has no torch side: the torch comparison is skipped (the verdict says so)
  if (refTorch) {
    comparisons.push(comparison(
      "freeRunTorch",
      refTorch.path,
      c.tolerances.freeRunTorch!,
      [],
      [{ label: "final latents", figures: figures(free.result.latents, refTorch.latents) }],
    ));
  }
  if (!(free.result.image && refOnnx.imageU8)) return { comparisons };
  const post = postprocess(free.result.image);
  comparisons.push(comparison(
    "image",
    refOnnx.path,
    c.tolerances.image!,
    [],
    [{ label: "image", figures: figures(post.chw, refOnnx.imageU8, true) }],
  ));
  return { comparisons, png: post.png };
}

/**
 * The case's scheduler config, tokenizer and model-geometry warnings
 * (core/harness/case_warnings.ts).
 */
function caseWarnings({ c, model, schedulerSource, geometryWarnings }: CaseInputs): string[] {
  const sampler = makeSampler(c.sampler, model.schedulerConfig, {
    steps: c.steps,
    source: schedulerSource,
  });
  return mergeWarnings(
    samplerConfigWarnings(c, model.schedulerConfig, schedulerSource, sampler.configWarnings),
    model.tokenizer?.warnings ?? [],
    geometryWarnings ?? [],
  );
}

/**
 * Runs one case (free run, scheduler replay, model replay) and compares it with its
 * references. Never throws for a problem of the case itself: such problems come back as
 * `status: "error"` with a message naming the file and field.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { runCase } from "./runner.ts";
 * import { loadCases } from "./cases_loader.ts";
 * const [c] = await loadCases("cases", "guidance-1"); // the tiny fixture model, about a second
 * const r = await runCase(c, { executionProvider: "cpu" });
 * assert.equal(r.status, "pass");
 * assert.deepEqual(
 *   r.comparisons.map((x) => x.kind),
 *   ["freeRunOnnx", "freeRunTorch", "image", "replayScheduler", "replayModel"],
 * );
 * // a problem of the case comes back as an error result naming the file
 * const broken = await runCase({ ...c, model: "fixtures/models/missing" }, { manifest: null });
 * assert.equal(broken.status, "error");
 * assert.match(broken.error ?? "", /fixtures\/models\/missing/);
 * ```
 */
export async function runCase(c: Case, options: RunCaseOptions = {}): Promise<CaseResult> {
  const t0 = performance.now();
  const progress = options.progress ?? silentProgress;
  const base: CaseResult = {
    name: c.name,
    description: c.description ?? "",
    pipeline: c.pipeline,
    sampler: SAMPLERS[c.sampler.type].label(c.sampler),
    model: c.model,
    provider: options.executionProvider ?? "cpu",
    status: "error",
    comparisons: [],
    timing: null,
    latentsSha256: null,
  };
  let inputs: CaseInputs | null = null;
  try {
    // 0. No reference: the free run alone, with the figures that need none.
    if (!(await referenceExists(c.references.onnx))) {
      const alone = await freeRunAlone(c, options, progress);
      return {
        ...base,
        ...alone.result,
        timing: { ...alone.result.timing!, totalMs: performance.now() - t0 },
        ...(alone.png && options.keepImage !== false
          ? { images: [{ label: "ours", png: alone.png }] }
          : {}),
      };
    }

    // 1. Hashes (a changed model or reference invalidates the comparison), references, model.
    // A golden (our own earlier run) has no torch side.
    const loaded = await loadCaseInputs(c, options, async () => {
      const onnx = await readCaseReference(c.references.onnx);
      const golden = onnx.metadata["golden"] === "true";
      return [onnx, golden ? null : await readCaseReference(c.references.torch)] as const;
    });
    inputs = loaded.inputs;
    const [refOnnx, refTorch] = loaded.references;
    const golden = refTorch === null;
    base.reference = golden ? "golden" : "diffusers";
    if (golden) base.referenceNote = goldenNote(refOnnx.metadata);
    base.provider = inputs.model.records().unet.provider;
    const total = refOnnx.steps;
    Object.assign(base, warningsOf(inputs));

    // 2. The reference machine's math: recorded in the reference, or inferred from it.
    const ctx = inputs;
    progress.phase("reference math", 0, total);
    const resolved = await resolveReferenceMath(
      golden ? "ieee" : c.referenceMath ?? "auto", // a golden is written with IEEE math
      refOnnx,
      (math, step) => replayOneStep(ctx, refOnnx, math, step),
      ctx.image && refOnnx.imageLatents ? await vaeSampleProblem(ctx, refOnnx) : undefined,
      (math, step) => replayOneStep(ctx, refOnnx, math, step, "model"),
    );
    resolved.table?.resetCounts();
    const differs = (resolved.table?.deviations().length ?? 0) > 0;
    const observe = (phase: string) => ({
      onStep: (r: { index: number }) => progress.phase(phase, r.index + 1, total),
    });

    // 3. Free run with the reference's math; again with IEEE math when the two differ.
    const { freeRun, replayScheduler, replayModel } = PHASES;
    progress.phase(freeRun.name, 0, total);
    const free = await runPhase(ctx, freeRun, refOnnx, resolved.math, observe(freeRun.name));
    checkCallCount(free.records, refOnnx, "free run");
    const freeIeee = differs
      ? await runPhase(ctx, freeRun, refOnnx, ieeeMath, observe(freeRun.name))
      : null;
    const { comparisons, png } = freeRunComparisons(c, refOnnx, refTorch, free, freeIeee);

    // 4. Replay the scheduler with the reference's math, noting which step used which result;
    // again with IEEE math when they differ.
    progress.phase(replayScheduler.name, 0, total);
    const usage = new UsageMath(resolved.math);
    usage.phase = -1;
    const sched = await runPhase(ctx, replayScheduler, refOnnx, usage, {
      ...observe(replayScheduler.name),
      beforeCall: (i) => usage.phase = i,
    });
    checkCallCount(sched.records, refOnnx, "scheduler replay");
    const schedComparison = (run: Run) =>
      comparison(
        "replayScheduler",
        refOnnx.path,
        c.tolerances.replayScheduler!,
        referenceStepFigures(run.records, refOnnx, "prev_sample"),
      );
    const schedIeee = differs
      ? await runPhase(ctx, replayScheduler, refOnnx, ieeeMath, observe(replayScheduler.name))
      : null;
    comparisons.push(withIeee(schedComparison(sched), schedIeee && schedComparison(schedIeee)));
    const mathSummary = summarizeMath(
      resolved,
      usage,
      total,
      describeMachine(refOnnx.metadata["math"]),
    );

    // 5. Replay the model: reference sample and embeddings in, our guided model output out.
    progress.phase(replayModel.name, 0, total);
    const model = await runPhase(
      ctx,
      replayModel,
      refOnnx,
      resolved.math,
      observe(replayModel.name),
    );
    checkCallCount(model.records, refOnnx, "model replay");
    comparisons.push(comparison(
      "replayModel",
      refOnnx.path,
      c.tolerances.replayModel!,
      referenceStepFigures(model.records, refOnnx, "model_output"),
      [{
        label: "prompt embeddings (text encoder)",
        figures: figures(free.result.promptEmbeds, refOnnx.promptEmbeds),
      }],
    ));

    const unetMsTotal = free.records.reduce((s, r) => s + r.modelMs, 0);
    const timing: CaseTiming = {
      totalMs: performance.now() - t0,
      loadMs: ctx.loadMs,
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
      ...(png && options.keepImage !== false ? { images: [{ label: "ours", png }] } : {}),
    };
  } catch (err) {
    return { ...base, status: "error", error: errorMessage(err), timing: null };
  } finally {
    await inputs?.release();
  }
}

/** `{ warnings }` of a case's inputs when there are any. */
function warningsOf(inputs: CaseInputs): { warnings?: string[] } {
  const warnings = caseWarnings(inputs);
  return warnings.length ? { warnings } : {};
}

/** The noref verdict's advice: how to make references for a case. */
function makeReferencesAdvice(name: string): string {
  return "make references with `deno task refs` (shipped models) or " +
    `\`deno task verify --filter ${name} --update-goldens --yes\` (a golden: our own run, not diffusers)`;
}

/** The free run alone (no reference): the pipeline, NaN/Inf checks, timings, the image. */
async function freeRunAlone(
  c: Case,
  options: RunCaseOptions,
  progress: ProgressSink,
): Promise<{ result: Partial<CaseResult>; run: Run; png?: Uint8Array; imageU8?: Tensor }> {
  const { inputs } = await loadCaseInputs(c, options);
  try {
    progress.phase(PHASES.freeRun.name, 0, c.steps);
    const run = await runPipeline(
      inputs,
      { onStep: (r) => progress.phase(PHASES.freeRun.name, r.index + 1, c.steps) },
      null,
      true,
      ieeeMath, // no reference, so no reference machine's math
    );
    const post = run.result.image ? postprocess(run.result.image) : undefined;
    const unetMsTotal = run.records.reduce((s, r) => s + r.modelMs, 0);
    const latents = run.result.latents.data;
    const sha = await sha256Hex(
      new Uint8Array(latents.buffer, latents.byteOffset, latents.byteLength),
    );
    return {
      run,
      png: post?.png,
      imageU8: post?.chw,
      result: {
        provider: inputs.model.records().unet.provider,
        ...warningsOf(inputs),
        status: "noref",
        noReference: `${c.references.onnx} does not exist; ${makeReferencesAdvice(c.name)}`,
        comparisons: [],
        timing: {
          totalMs: 0,
          loadMs: inputs.loadMs,
          modelCalls: run.records.length,
          unetMsTotal,
          unetMsMean: run.records.length ? unetMsTotal / run.records.length : 0,
          schedulerMsTotal: run.records.reduce((s, r) => s + r.stepMs, 0),
          decodeMs: run.result.timing.decodeMs,
        },
        latentsSha256: sha,
        freeRunSteps: run.records.map((r) => ({
          step: r.index,
          t: r.t,
          modelMs: r.modelMs,
          stepMs: r.stepMs,
          absMax: r.prevSample.data.reduce((m, v) => Math.max(m, Math.abs(v)), 0),
        })),
      },
    };
  } finally {
    await inputs.release();
  }
}

/**
 * What {@link writeGolden} wrote (or, with `dryRun`, would write).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { GoldenWrite } from "./runner.ts";
 * const w: GoldenWrite = { case: "my-case", path: "refs/my-case.onnx.safetensors", steps: 20, tensors: 46, written: true };
 * assert.equal(w.tensors, 2 * w.steps + 6);
 * ```
 */
export interface GoldenWrite {
  /** The case. */
  case: string;
  /** The reference file (the case's `references.onnx`). */
  path: string;
  /** Model calls stored (per-step `prev_sample.<i>` and `model_output.<i>`); 0 for a dry run. */
  steps: number;
  /** Tensors in the file; 0 for a dry run. */
  tensors: number;
  /** False for a dry run. */
  written: boolean;
}

/**
 * Writes the case's free run as a golden reference at `references.onnx` (atomically;
 * metadata `golden: "true"`, the diffparity commit when known, the date and the provider).
 * A reference made by diffusers is never replaced: that is a {@link CaseReferenceError}.
 * With `dryRun` it runs nothing and writes nothing, and says what it would write.
 *
 * @throws {CaseReferenceError} when `references.onnx` holds a diffusers reference.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { runCase, writeGolden } from "./runner.ts";
 * import { loadCases } from "./cases_loader.ts";
 * const [c] = await loadCases("cases", "guidance-1");
 * const dir = await Deno.makeTempDir();
 * const mine = { ...c, steps: 4, references: { onnx: `${dir}/g.onnx.safetensors`, torch: `${dir}/g.torch.safetensors` } };
 * assert.equal((await runCase(mine)).status, "noref");
 * assert.equal((await writeGolden(mine, { dryRun: true })).written, false);
 * const w = await writeGolden(mine);
 * assert.deepEqual([w.steps, w.written], [4, true]);
 * const again = await runCase(mine);
 * assert.deepEqual([again.status, again.reference], ["pass", "golden"]);
 * await assert.rejects(writeGolden(c), /diffusers reference/); // a diffusers reference stays
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function writeGolden(
  c: Case,
  options: RunCaseOptions & { dryRun?: boolean } = {},
): Promise<GoldenWrite> {
  const path = c.references.onnx;
  if (await referenceKindOf(path) === "diffusers") {
    throw new CaseReferenceError(
      path,
      "is a diffusers reference; a golden never replaces one (delete it first to make a golden)",
    );
  }
  if (options.dryRun) return { case: c.name, path, steps: 0, tensors: 0, written: false };
  const alone = await freeRunAlone(c, options, options.progress ?? silentProgress);
  const tensors = goldenTensors(alone.run.result, alone.run.records, alone.imageU8);
  const metadata = goldenMetadata({
    case: c.name,
    provider: alone.result.provider ?? "cpu",
    commit: await gitCommit("."),
    date: new Date().toISOString(),
    model: c.model,
    pipeline: c.pipeline,
    sampler: SAMPLERS[c.sampler.type].label(c.sampler),
    seed: String(c.seed),
    steps: String(c.steps),
    deno: Deno.version.deno,
  });
  await writeSafetensors(path, tensors, metadata);
  return {
    case: c.name,
    path,
    steps: alone.run.records.length,
    tensors: Object.keys(tensors).length,
    written: true,
  };
}
