/**
 * The digits study (issue 9, section 5): what "learned" means for the models trained on
 * scikit-learn's digits, measured with the digit classifier.
 *
 * 1. The ceiling: the classifier on the real held-out digits, upsampled to each model's size
 *    as the models were trained on.
 * 2. The text-conditioned model (digits-sd): "a handwritten digit k" for each k and seed,
 *    DDIM 50 steps, at guidance 5 (target: accuracy >= 80%) and at guidance 1 (printed: lower,
 *    since guidance is what sharpens the class).
 * 3. The unconditional model (digits-ddpm): 200 samples from one seed with DDPM 1000 steps and
 *    DDIM 50 steps (targets: no class under 4% of the samples, mean top probability >= 0.8).
 *
 * Returns plain data ({@link DigitsStudyResult}) with the sample grids as PNG bytes; the report
 * writer renders and writes them.
 *
 * @module
 */
import { loadModelFolder } from "../models/load_model_folder.ts";
import { readModelGeometry } from "../models/geometry.ts";
import type { SessionSettings } from "../models/session_options.ts";
import { imageGrid, tensorToImages } from "../pipelines/image_grid.ts";
import { encodePng } from "../pipelines/png.ts";
import {
  DIGITS_STUDY_FORMAT,
  type DigitsCeiling,
  type DigitsFloor,
  type DigitsPromptRun,
  type DigitsSampleRun,
  type DigitsStudyResult,
  type StudyTarget,
} from "../results/study.ts";
import { FileError } from "../tensor/errors.ts";
import type { Tensor } from "../tensor/tensor.ts";
import { TorchGenerator } from "../tensor/torch_generator.ts";
import { type DigitClassifier, loadDigitClassifier } from "./digit_classifier.ts";
import { hashStudyInputs } from "./study_inputs.ts";
import { runtimeVersions } from "./runtime_versions.ts";
import { upsampleDigits } from "./digit_images.ts";
import {
  classHistogram,
  digitAccuracy,
  digitAccuracyByLabel,
  meanTopProbability,
  scoreDigits,
} from "./digit_metrics.ts";
import { samplePromptedDigits, sampleUnconditional } from "./digits_sampling.ts";

/**
 * The section 5 targets.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { DIGITS_TARGETS } from "./digits_study.ts";
 * assert.deepEqual(DIGITS_TARGETS.promptedAccuracy, { guidanceScale: 5, min: 0.8 });
 * ```
 */
export const DIGITS_TARGETS = {
  /** Accuracy of the prompted digits at this guidance scale. */
  promptedAccuracy: { guidanceScale: 5, min: 0.8 },
  /** The smallest share of unconditional samples any digit may get. */
  minClassShare: 0.04,
  /** The smallest mean top probability of the unconditional samples. */
  meanTopProbability: 0.8,
} as const;

/**
 * Options of {@link runDigitsStudy}; every count and setting defaults to section 5's.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { DigitsStudyOptions } from "./digits_study.ts";
 * const quick: DigitsStudyOptions = {
 *   classifier: "fixtures/models/digit-classifier.json", prompted: "fixtures/models/tiny-sd",
 *   unconditional: null, digits: [1, 7], seeds: [0], guidanceScales: [5], steps: 2,
 * };
 * assert.equal(quick.unconditional, null);
 * ```
 */
export interface DigitsStudyOptions {
  /** The classifier file (fixtures/models/digit-classifier.json). */
  classifier: string;
  /** The text-conditioned model folder, or null to skip it. */
  prompted: string | null;
  /** The unconditional model folder, or null to skip it. */
  unconditional: string | null;
  /** The digits to prompt for (default 0..9). */
  digits?: number[];
  /** The seeds per digit (default 0..9). */
  seeds?: number[];
  /** The guidance scales (default [5, 1]). */
  guidanceScales?: number[];
  /** The prompt of digit k (default `a handwritten digit ${k}`). */
  prompt?: string;
  /** DDIM steps of the prompted model (default 50). */
  steps?: number;
  /** Unconditional samples (default 200). */
  samples?: number;
  /** Their seed (default 0). */
  seed?: number;
  /**
   * The fixture manifest that the classifier and the models' ONNX files under its folder must
   * match, as verify checks them (default fixtures/manifest.json; null: no check).
   */
  manifest?: string | null;
  /** The unconditional samplers and steps (default DDPM 1000 and DDIM 50). */
  unconditionalRuns?: { sampler: "DDPMScheduler" | "DDIMScheduler"; steps: number }[];
  /** Session settings (default: verify's, one intra-op thread on the CPU). */
  session?: Partial<SessionSettings>;
  /** Called with a progress line now and then. */
  onProgress?: (line: string) => void;
}

/** A model whose images the classifier cannot pool to its feature grid is refused up front. */
function checkScorable(c: DigitClassifier, size: number, folder: string): void {
  if (size % c.featureSize !== 0) {
    throw new FileError(
      folder,
      "image size",
      `${size}x${size} pixels cannot be pooled to the classifier's ${c.featureSize}x${c.featureSize} ` +
        `features (${c.file}): expected a multiple of ${c.featureSize}`,
    );
  }
}

/** The prompt of digit k: `template` with `{k}` replaced. */
const promptOf = (template: string, k: number) => template.replaceAll("{k}", String(k));

/**
 * The classifier on its held-out digits at `size` pixels (upsampled as the models were
 * trained): the ceiling of a generated digit's score at that size.
 *
 * @throws {RangeError} when the classifier file has no held-out digits.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { loadDigitClassifier } from "./digit_classifier.ts";
 * import { heldoutCeiling } from "./digits_study.ts";
 * const c = await loadDigitClassifier("fixtures/models/digit-classifier.json");
 * const ceiling = heldoutCeiling(c, 16, "digits-ddpm");
 * assert.equal(ceiling.images, 180);
 * assert.ok(ceiling.accuracy > 0.9 && ceiling.accuracy <= 1);
 * ```
 */
export function heldoutCeiling(c: DigitClassifier, size: number, model: string): DigitsCeiling {
  const h = c.heldout;
  if (!h) throw new RangeError(`heldoutCeiling: ${c.file}: heldout: missing (no held-out digits)`);
  const scores = scoreDigits(c, upsampleDigits(h.images, h.count, size), { range: "[-1,1]" });
  return {
    model,
    size,
    images: h.count,
    accuracy: digitAccuracy(scores, h.labels),
    meanTop: meanTopProbability(scores),
    perLabel: digitAccuracyByLabel(scores, h.labels),
  };
}

/**
 * The classifier on `images` Gaussian noise images [images, channels, size, size] from
 * `TorchGenerator(seed)`, taken as a model's output in [-1, 1]: the floor a model that learned
 * nothing reaches.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { loadDigitClassifier } from "./digit_classifier.ts";
 * import { noiseFloor } from "./digits_study.ts";
 * const c = await loadDigitClassifier("fixtures/models/digit-classifier.json");
 * const floor = noiseFloor(c, { model: "m", size: 16, channels: 1, images: 50, seed: 0 });
 * assert.equal(floor.histogram.reduce((a, b) => a + b), 50);
 * ```
 */
export function noiseFloor(
  c: DigitClassifier,
  o: { model: string; size: number; channels: number; images: number; seed: number },
): DigitsFloor {
  const noise = new TorchGenerator(o.seed).randn([o.images, o.channels, o.size, o.size]);
  const scores = scoreDigits(c, noise, { range: "[-1,1]" });
  return { ...o, meanTop: meanTopProbability(scores), histogram: classHistogram(scores) };
}

/** A grid PNG of images [N, C, H, W] in [-1, 1], `columns` per row. */
function gridPng(images: Tensor, columns: number, label: string) {
  return { label, png: encodePng(imageGrid(tensorToImages(images), columns, { gap: 1 })) };
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

/** Calls `report` at about every tenth of `total` and at the end. */
function every10th(report: (done: number, total: number) => void) {
  return (done: number, total: number) => {
    if (done === total || done % Math.max(1, Math.round(total / 10)) === 0) report(done, total);
  };
}

/**
 * Runs the study. Models are loaded one at a time and released after use.
 *
 * @throws {FileError} naming a model folder or the classifier file that cannot be read.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { runDigitsStudy } from "./digits_study.ts";
 * const r = await runDigitsStudy({
 *   classifier: "fixtures/models/digit-classifier.json", prompted: "fixtures/models/tiny-sd",
 *   unconditional: null, digits: [7], seeds: [0, 1], guidanceScales: [5], steps: 2,
 * });
 * assert.deepEqual([r.ceilings.length, r.prompted?.runs[0].images], [1, 2]);
 * assert.equal(r.targets[0].label, "digits prompted, guidance 5: accuracy");
 * ```
 */
export async function runDigitsStudy(options: DigitsStudyOptions): Promise<DigitsStudyResult> {
  const start = performance.now();
  const progress = options.onProgress ?? (() => {});
  const classifier = await loadDigitClassifier(options.classifier);
  const digits = options.digits ?? [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
  const seeds = options.seeds ?? [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
  const template = options.prompt ?? "a handwritten digit {k}";
  const steps = options.steps ?? 50;
  const result: DigitsStudyResult = {
    format: DIGITS_STUDY_FORMAT,
    versions: await runtimeVersions(),
    classifier: options.classifier,
    inputs: await hashStudyInputs(
      [options.classifier, options.prompted, options.unconditional],
      options.manifest === undefined ? "fixtures/manifest.json" : options.manifest,
    ),
    ceilings: [],
    floors: [],
    targets: [],
    warnings: [],
    pass: true,
    ms: 0,
  };
  const session = { ...options.session };

  if (options.prompted !== null) {
    const model = await loadModelFolder(options.prompted, { session, vaeEncoder: false });
    try {
      const g = await readModelGeometry(model.folder);
      const size = g.sampleSize * g.vaeScaleFactor;
      checkScorable(classifier, size, options.prompted);
      result.ceilings.push(heldoutCeiling(classifier, size, options.prompted));
      result.floors.push(
        noiseFloor(classifier, {
          model: options.prompted,
          size,
          channels: 3,
          images: 200,
          seed: 0,
        }),
      );
      const labels = digits.flatMap((k) => seeds.map(() => k));
      const runs: DigitsPromptRun[] = [];
      for (const guidanceScale of options.guidanceScales ?? [5, 1]) {
        const t0 = performance.now();
        const what = `${options.prompted} guidance ${guidanceScale}`;
        const { images, warnings } = await samplePromptedDigits(model, {
          prompts: digits.map((k) => promptOf(template, k)),
          seeds,
          guidanceScale,
          steps,
          onImage: every10th((done, total) =>
            progress(`${what}: ${done}/${total} images, ${seconds(performance.now() - t0)}`)
          ),
        });
        for (const w of warnings) if (!result.warnings.includes(w)) result.warnings.push(w);
        const scores = scoreDigits(classifier, images, { range: "[-1,1]" });
        runs.push({
          guidanceScale,
          images: scores.count,
          accuracy: digitAccuracy(scores, labels),
          meanTop: meanTopProbability(scores),
          perLabel: digitAccuracyByLabel(scores, labels).filter((r) => r.total > 0),
          predicted: scores.predicted,
          grid: gridPng(images, seeds.length, `guidance ${guidanceScale}`),
          ms: performance.now() - t0,
        });
      }
      result.prompted = {
        model: options.prompted,
        sampler: "DDIMScheduler",
        steps,
        eta: 0,
        size,
        prompt: template,
        digits,
        seeds,
        runs,
      };
      const target = DIGITS_TARGETS.promptedAccuracy;
      for (const r of runs.filter((r) => r.guidanceScale === target.guidanceScale)) {
        result.targets.push(atLeast(
          `digits prompted, guidance ${r.guidanceScale}: accuracy`,
          r.accuracy,
          target.min,
        ));
      }
    } finally {
      await model.release();
    }
  }

  if (options.unconditional !== null) {
    const model = await loadModelFolder(options.unconditional, { session });
    try {
      const g = await readModelGeometry(model.folder);
      checkScorable(classifier, g.sampleSize, options.unconditional);
      result.ceilings.push(heldoutCeiling(classifier, g.sampleSize, options.unconditional));
      result.floors.push(noiseFloor(classifier, {
        model: options.unconditional,
        size: g.sampleSize,
        channels: g.latentChannels,
        images: 200,
        seed: 0,
      }));
      const samples = options.samples ?? 200;
      const seed = options.seed ?? 0;
      const runs: DigitsSampleRun[] = [];
      const plan = options.unconditionalRuns ??
        [{ sampler: "DDPMScheduler", steps: 1000 }, { sampler: "DDIMScheduler", steps: 50 }];
      for (const { sampler, steps } of plan) {
        const t0 = performance.now();
        const what = `${options.unconditional} ${sampler} ${steps} steps`;
        const { images, warnings } = await sampleUnconditional(model, {
          sampler,
          steps,
          samples,
          seed,
          onStep: every10th((done, total) =>
            progress(`${what}: step ${done}/${total}, ${seconds(performance.now() - t0)}`)
          ),
        });
        for (const w of warnings) if (!result.warnings.includes(w)) result.warnings.push(w);
        const scores = scoreDigits(classifier, images, { range: "[-1,1]" });
        const histogram = classHistogram(scores);
        const run: DigitsSampleRun = {
          sampler,
          steps,
          images: scores.count,
          histogram,
          meanTop: meanTopProbability(scores),
          predicted: scores.predicted,
          grid: gridPng(images, Math.ceil(samples / 10), `${sampler} ${steps} steps`),
          ms: performance.now() - t0,
        };
        runs.push(run);
        const name = `digits unconditional, ${sampler} ${steps} steps`;
        result.targets.push(
          atLeast(
            `${name}: smallest class share`,
            Math.min(...histogram) / Math.max(1, scores.count),
            DIGITS_TARGETS.minClassShare,
          ),
          atLeast(`${name}: mean top probability`, run.meanTop, DIGITS_TARGETS.meanTopProbability),
        );
      }
      result.unconditional = { model: options.unconditional, size: g.sampleSize, seed, runs };
    } finally {
      await model.release();
    }
  }
  result.pass = result.targets.every((t) => t.pass);
  result.ms = performance.now() - start;
  return result;
}

function atLeast(label: string, value: number, min: number): StudyTarget {
  return { label, value, min, pass: value >= min };
}
