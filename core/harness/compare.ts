/**
 * Comparison of one run with its reference: per-step figures, the fold of those figures into a
 * {@link ComparisonResult} against a tolerance (worst of each figure, first violation of each
 * bound), and the checks that a run made the reference's model calls.
 *
 * @module
 */
import type { StepRecord } from "../pipelines/types.ts";
import type { Tensor } from "../tensor/tensor.ts";
import { compareTensors } from "./metrics.ts";
import type { CaseReference } from "./references.ts";
import { COMPARISON_KINDS, type ComparisonKind } from "../results/kinds.ts";
import type { ComparisonResult, ErrorFigures, StepFigures, Tolerance } from "../results/schema.ts";
import { violations } from "./tolerance.ts";

/** The SSIM window (image_metrics.ts's default, 11 x 11): smaller images get no SSIM. */
const SSIM_WINDOW = 11;

/**
 * The error figures of `actual` against `reference` (with PSNR and SSIM over 0..255 for images;
 * SSIM only for images of at least 11 x 11 pixels, its window: a small pixel-space model's
 * picture, such as a 2 x 2 test UNet's, has PSNR alone).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { figures } from "./compare.ts";
 * import { Tensor } from "../tensor/tensor.ts";
 * const f = figures(new Tensor(new Float32Array([1, 2]), [2]), new Tensor(new Float32Array([1, 2.5]), [2]));
 * assert.deepEqual(f.maxAbs, 0.5);
 * const tiny = new Tensor(new Float32Array(12).fill(128), [1, 3, 2, 2]);
 * assert.deepEqual([figures(tiny, tiny, true).psnr, figures(tiny, tiny, true).ssim], [Infinity, undefined]);
 * ```
 */
export function figures(actual: Tensor, reference: Tensor, image = false): ErrorFigures {
  const [h, w] = actual.shape.slice(-2);
  const ssim = image && h >= SSIM_WINDOW && w >= SSIM_WINDOW;
  const cmp = compareTensors(actual, reference, image ? { dataRange: 255, ssim } : {});
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

/**
 * Folds per-step figures (and whole-run `extra` figures) into a comparison: the worst of each
 * figure, and the first violation of each bound of `tolerance`; the subject is the kind's, from
 * `COMPARISON_KINDS`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { comparison } from "./compare.ts";
 * const step = { step: 3, t: 641, maxAbs: 3.1e-4, rmse: 1e-4, relL2: 1e-4, cosine: 1, maxUlp: 9 };
 * const c = comparison("freeRunOnnx", "ref.safetensors", { maxAbs: 1e-5 }, [step]);
 * assert.deepEqual([c.pass, c.worst.step], [false, 3]);
 * ```
 */
export function comparison(
  kind: ComparisonKind,
  reference: string,
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
    subject: COMPARISON_KINDS[kind].subject,
    tolerance,
    pass: failures.length === 0,
    worst,
    perStep,
    failures: shown,
  };
}

/**
 * Figures of `pick(record)` against the reference's tensor `<what>.<index>` for every record.
 *
 * @throws {Error} naming the reference file and tensor when one is missing.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { stepFigures } from "./compare.ts";
 * import { Tensor } from "../tensor/tensor.ts";
 * const x = new Tensor(new Float32Array([1]), [1]);
 * const records = [{ index: 0, t: 999, prevSample: x }] as unknown as Parameters<typeof stepFigures>[0];
 * assert.deepEqual(stepFigures(records, (r) => r.prevSample, () => x, "ref", "prev_sample")[0].maxAbs, 0);
 * assert.throws(
 *   () => stepFigures(records, (r) => r.prevSample, () => undefined, "r.safetensors", "prev_sample"),
 *   /r\.safetensors: tensor 'prev_sample\.0' missing/,
 * );
 * ```
 */
export function stepFigures(
  records: readonly StepRecord[],
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

/**
 * Throws unless a run made the reference's model calls (one per timestep), at the reference's
 * timesteps; with `calls` (a replay that stops after a prefix reference's recorded calls), the
 * first `calls` of them. An inversion round trip's reference and run (`ours`) must also split
 * their calls between the two passes alike (metadata `inversion_calls`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { checkCallCount } from "./compare.ts";
 * const ref = { path: "r.safetensors", timesteps: [999, 499] };
 * const records = [{ t: 999 }] as Parameters<typeof checkCallCount>[0];
 * assert.throws(() => checkCallCount(records, ref, "free run"), /2 model calls, our free run made 1/);
 * checkCallCount(records, ref, "scheduler replay", 1); // the first call of 2, as recorded
 * const both = [{ t: 1 }, { t: 501 }, { t: 501 }, { t: 1 }] as Parameters<typeof checkCallCount>[0];
 * const inv = { path: "i.safetensors", timesteps: [1, 501, 501, 1], inversionCalls: 2 };
 * assert.throws(
 *   () => checkCallCount(both, inv, "free run", 4, { inversionCalls: 3 }),
 *   /i\.safetensors: metadata inversion_calls: the reference's inversion pass made 2 model calls, our free run's 3/,
 * );
 * ```
 */
export function checkCallCount(
  records: readonly Pick<StepRecord, "t">[],
  ref: Pick<CaseReference, "path" | "timesteps"> & Partial<Pick<CaseReference, "inversionCalls">>,
  mode: string,
  calls: number = ref.timesteps.length,
  ours?: { inversionCalls?: number },
): void {
  if (records.length !== calls) {
    const has = calls === ref.timesteps.length
      ? `${calls} model calls`
      : `per-step tensors for the first ${calls} of ${ref.timesteps.length} model calls`;
    throw new Error(`${ref.path}: the reference has ${has}, our ${mode} made ${records.length}`);
  }
  const split = (ref as Partial<Pick<CaseReference, "inversionCalls">>).inversionCalls;
  if (split !== undefined && ours?.inversionCalls !== undefined && ours.inversionCalls !== split) {
    throw new Error(
      `${ref.path}: metadata inversion_calls: the reference's inversion pass made ${split} model ` +
        `calls, our ${mode}'s ${ours.inversionCalls}`,
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

/**
 * `primary` with the IEEE-math run's worst figures attached, when there was one.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { comparison, withIeee } from "./compare.ts";
 * const c = comparison("replayScheduler", "r", { maxUlp: 0 }, []);
 * assert.deepEqual(withIeee(c, null), c);
 * assert.deepEqual(withIeee(c, c).ieee?.pass, true);
 * ```
 */
export function withIeee(
  primary: ComparisonResult,
  ieee: ComparisonResult | null,
): ComparisonResult {
  return ieee ? { ...primary, ieee: { worst: ieee.worst, pass: ieee.pass } } : primary;
}

/**
 * Per-step figures of a run's records against the reference's `prev_sample.<i>` (the latents
 * after each model call) or `model_output.<i>` (the guided model output of each call), for the
 * calls the reference holds per-step tensors for: a prefix reference's later calls (`index >=
 * ref.recordedSteps`) have nothing to be compared with and are left out; any other missing
 * tensor is an error.
 *
 * @throws {Error} naming the reference file and tensor when one is missing.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { referenceStepFigures } from "./compare.ts";
 * import { Tensor } from "../tensor/tensor.ts";
 * // records from a run, ref from readCaseReference; here stand-ins
 * const x = new Tensor(new Float32Array([1, 2]), [2]);
 * const records = [{ index: 0, t: 981, prevSample: x, modelOutput: x }] as unknown as Parameters<
 *   typeof referenceStepFigures
 * >[0];
 * const ref = {
 *   path: "r.safetensors",
 *   prevSample: () => new Tensor(new Float32Array([1, 2.25]), [2]),
 *   modelOutput: () => undefined,
 * };
 * const perStep = referenceStepFigures(records, ref, "prev_sample");
 * assert.deepEqual([perStep[0].step, perStep[0].t, perStep[0].maxAbs], [0, 981, 0.25]);
 * assert.throws(() => referenceStepFigures(records, ref, "model_output"), /'model_output\.0' missing/);
 * // a prefix reference whose per-step tensors stop before call 1: call 1 is not compared
 * const more = [...records, { ...records[0], index: 1, t: 961 }];
 * assert.equal(referenceStepFigures(more, { ...ref, recordedSteps: 1 }, "prev_sample").length, 1);
 * ```
 */
export function referenceStepFigures(
  records: readonly StepRecord[],
  ref: Pick<CaseReference, "path" | "recordedSteps" | "prevSample" | "modelOutput">,
  what: "prev_sample" | "model_output",
): StepFigures[] {
  const k = ref.recordedSteps;
  const recorded = k === undefined ? records : records.filter((r) => r.index < k);
  return what === "prev_sample"
    ? stepFigures(recorded, (r) => r.prevSample, ref.prevSample, ref.path, what)
    : stepFigures(recorded, (r) => r.modelOutput, ref.modelOutput, ref.path, what);
}
