/**
 * `runCase`: runs one case's phases (core/harness/phases.ts) and compares each with its
 * references (core/harness/compare.ts).
 * - free run: our whole loop from the seed (what a user sees), against diffusers +
 *   onnxruntime (every step) and diffusers + PyTorch (final latents);
 * - a prefix reference (per-step tensors for its first calls only, `recordedSteps`): the free
 *   run still makes every call and is compared on the final latents and image, the per-step
 *   figures cover the recorded calls, the replays stop after them; `referenceNote` says so;
 * - replay scheduler: each step gets the reference's sample and model output, so only our
 *   sampler math is compared (prevSample, in ulp);
 * - replay model: each step gets the reference's sample and prompt embeddings, so only our
 *   model execution is compared (guided model output), plus the text encoder on its own (a
 *   pipeline kind without a prompt, unconditional, has no text encoder to compare).
 *
 * @module
 */
import { ieeeMath } from "../numerics/f32_math.ts";
import { UsageMath } from "../numerics/probe_math.ts";
import { SAMPLERS } from "../schedulers/samplers.ts";
import type { Case } from "./case.ts";
import { type CaseInputOptions, type CaseInputs, loadCaseInputs } from "./case_inputs.ts";
import { mergeWarnings, precisionWarnings } from "./case_warnings.ts";
import { scoreCaseDigit } from "./case_digit.ts";
import { caseRoundTrip } from "./round_trip_metrics.ts";
import { freeRunAlone, postprocess, runTiming, warningsOf } from "./free_run.ts";
import { describeMachine, resolveReferenceMath, summarizeMath } from "./case_math.ts";
import { checkCallCount, comparison, figures, referenceStepFigures, withIeee } from "./compare.ts";
import { sha256Hex } from "./fixture_hashes.ts";
import { goldenNote, referenceExists } from "./goldens.ts";
import { PHASES, replayOneStep, type Run, runPhase, vaeSampleProblem } from "./phases.ts";
import { PIPELINE_KINDS } from "./pipeline_kinds.ts";
import { type ProgressSink, silentProgress } from "./progress.ts";
import { type CaseReference, readCaseReference, recordedStepsNote } from "./references.ts";
import type { CaseDigit, CaseResult, ComparisonResult } from "../results/schema.ts";
import type { Tensor } from "../tensor/tensor.ts";

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
  // no torch side (a golden, or a capture of the ONNX run only): skipped, the verdict says so
  if (refTorch) {
    comparisons.push(comparison(
      "freeRunTorch",
      refTorch.path,
      c.tolerances.freeRunTorch!,
      // per step when the torch reference holds every step (a capture does; the dumper's keeps
      // the final latents only, to keep fixtures/ small)
      refTorch.steps > 0 ? referenceStepFigures(free.records, refTorch, "prev_sample") : [],
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
    precision: c.precision ?? "float32",
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
        ...await digitOf(c, alone.run.result.image, alone.result.warnings),
        timing: { ...alone.result.timing!, totalMs: performance.now() - t0 },
        ...(alone.png && options.keepImage !== false
          ? { images: [{ label: "ours", png: alone.png }] }
          : {}),
      };
    }

    // 1. Hashes (a changed model or reference invalidates the comparison), references, model.
    // A golden (our own earlier run) has no torch side; a capture of the ONNX run alone (the
    // capture helper's `captured_by`) may have none either. A dumper's reference always has one.
    const prompt = PIPELINE_KINDS[c.pipeline].prompt; // its references hold prompt_embeds
    const loaded = await loadCaseInputs(c, options, async () => {
      const onnx = await readCaseReference(c.references.onnx, { prompt });
      const golden = onnx.metadata["golden"] === "true";
      const captured = onnx.metadata["captured_by"] !== undefined;
      const torch = golden || (captured && !await referenceExists(c.references.torch))
        ? null
        // the torch reference holds the final latents; its prompt tensors (older files) are unused
        : await readCaseReference(c.references.torch, { prompt: false });
      return [onnx, torch, golden] as const;
    });
    inputs = loaded.inputs;
    const [refOnnx, refTorch, golden] = loaded.references;
    base.reference = golden ? "golden" : "diffusers";
    if (golden) base.referenceNote = goldenNote(refOnnx.metadata);
    else if (!refTorch) {
      base.referenceNote =
        `vs torch skipped (${c.references.torch} does not exist: only the ONNX run was captured)`;
    }
    // A prefix reference (per-step tensors for its first calls only): the replays and the
    // per-step figures cover those calls, the free run all of them (final latents, image).
    const prefix = recordedStepsNote(refOnnx);
    if (prefix) {
      const note =
        `${prefix} (replays stop there; final latents and image after all ${refOnnx.calls})`;
      base.referenceNote = base.referenceNote ? `${base.referenceNote}; ${note}` : note;
    }
    base.provider = inputs.model.records().unet.provider;
    const calls = refOnnx.calls;
    const replayed = refOnnx.recordedSteps ?? calls;
    const warnings = mergeWarnings(
      warningsOf(inputs).warnings ?? [],
      precisionWarnings(c, refOnnx),
    );
    if (warnings.length) base.warnings = warnings;

    // 2. The reference machine's math: recorded in the reference, or inferred from it.
    const ctx = inputs;
    progress.phase("reference math", 0, replayed);
    const resolved = await resolveReferenceMath(
      golden ? "ieee" : c.referenceMath ?? "auto", // a golden is written with IEEE math
      refOnnx,
      (math, step) => replayOneStep(ctx, refOnnx, math, step),
      ctx.image && refOnnx.imageLatents && drawsVaeSample(c)
        ? await vaeSampleProblem(ctx, refOnnx)
        : undefined,
      (math, step) => replayOneStep(ctx, refOnnx, math, step, "model"),
    );
    resolved.table?.resetCounts();
    const differs = (resolved.table?.deviations().length ?? 0) > 0;
    const observe = (phase: string, total = replayed) => ({
      onStep: (r: { index: number }) => progress.phase(phase, Math.min(r.index + 1, total), total),
    });

    // 3. Free run with the reference's math; again with IEEE math when the two differ.
    const { freeRun, replayScheduler, replayModel } = PHASES;
    progress.phase(freeRun.name, 0, calls);
    const free = await runPhase(ctx, freeRun, refOnnx, resolved.math, observe(freeRun.name, calls));
    // a round trip's result says where its inversion pass ended (RoundTripResult)
    const split = (free.result as { inversionCalls?: number }).inversionCalls;
    checkCallCount(free.records, refOnnx, "free run", undefined, { inversionCalls: split });
    const freeIeee = differs
      ? await runPhase(ctx, freeRun, refOnnx, ieeeMath, observe(freeRun.name, calls))
      : null;
    const { comparisons, png } = freeRunComparisons(c, refOnnx, refTorch, free, freeIeee);

    // 4. Replay the scheduler with the reference's math, noting which step used which result;
    // again with IEEE math when they differ.
    progress.phase(replayScheduler.name, 0, replayed);
    const usage = new UsageMath(resolved.math);
    usage.phase = -1;
    const sched = await runPhase(ctx, replayScheduler, refOnnx, usage, {
      ...observe(replayScheduler.name),
      beforeCall: (i) => usage.phase = i,
    });
    checkCallCount(sched.records, refOnnx, "scheduler replay", replayed);
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
      replayed,
      describeMachine(refOnnx.metadata["math"]),
    );

    // 5. Replay the model: reference sample and embeddings in, our guided model output out.
    progress.phase(replayModel.name, 0, replayed);
    const model = await runPhase(
      ctx,
      replayModel,
      refOnnx,
      resolved.math,
      observe(replayModel.name),
    );
    checkCallCount(model.records, refOnnx, "model replay", replayed);
    comparisons.push(comparison(
      "replayModel",
      refOnnx.path,
      c.tolerances.replayModel!,
      referenceStepFigures(model.records, refOnnx, "model_output"),
      free.result.promptEmbeds && refOnnx.promptEmbeds
        ? [{
          label: "prompt embeddings (text encoder)",
          figures: figures(free.result.promptEmbeds, refOnnx.promptEmbeds),
        }]
        : [],
    ));

    // say which calls the per-step figures cover where the reference holds a prefix
    if (prefix) {
      for (const [i, x] of comparisons.entries()) {
        if (x.kind === "freeRunTorch" || x.kind === "image") continue;
        comparisons[i] = {
          ...x,
          subject: `${x.subject}; per step: first ${replayed} of ${calls} calls`,
        };
      }
    }
    const digit = await digitOf(c, free.result.image, base.warnings);
    const roundTrip = await caseRoundTrip(ctx, free.result);
    const timing = runTiming(free, ctx.loadMs, performance.now() - t0);
    const latents = free.result.latents.data;
    return {
      ...base,
      status: comparisons.every((x) => x.pass) ? "pass" : "fail",
      comparisons,
      ...digit,
      ...(roundTrip ? { roundTrip } : {}),
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

/** Whether the case's image latents are a VAE sample (img2img, inpaint; an inversion's option). */
function drawsVaeSample(c: Case): boolean {
  if (c.pipeline === "inversion") return c.inversion.latent === "sample";
  return c.pipeline !== "pixel-inversion";
}

/**
 * The case's `digit` figure (a case without the field, or a run without an image: none); when the
 * classifier cannot score the image, the case's warnings plus one saying why.
 */
async function digitOf(
  c: Case,
  image: Tensor | undefined,
  warnings: readonly string[] | undefined,
): Promise<{ digit?: CaseDigit; warnings?: string[] }> {
  if (!c.digit || !image) return {};
  try {
    return { digit: await scoreCaseDigit(c.digit, image) };
  } catch (err) {
    // a figure beside the verdict: when it cannot be made, the verdict stands and says why
    return { warnings: [...warnings ?? [], `digit: not scored (${errorMessage(err)})`] };
  }
}
