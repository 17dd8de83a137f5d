/**
 * The results schema of the digits study (`deno task study digits`): plain data, written by
 * core/harness/digits_study.ts and rendered by core/report/study_digits.ts. Images carry PNG
 * bytes in memory (`CaseImage.png`) and a file name once written (`CaseImage.file`), as a
 * verify run's do.
 *
 * @module
 */
import type { CaseImage } from "./schema.ts";

/**
 * The format string of study.json written by this version.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { DIGITS_STUDY_FORMAT } from "./study.ts";
 * assert.equal(DIGITS_STUDY_FORMAT, "diffparity-study-digits/1");
 * ```
 */
export const DIGITS_STUDY_FORMAT = "diffparity-study-digits/1" as const;

/**
 * One figure held against its target (`value >= min` or `value <= max`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { StudyTarget } from "./study.ts";
 * const t: StudyTarget = { label: "digits-sd guidance 5 accuracy", value: 0.86, min: 0.8, pass: true };
 * assert.equal(t.pass, t.value >= t.min!);
 * ```
 */
export interface StudyTarget {
  /** What is measured, in words. */
  label: string;
  /** The measured value. */
  value: number;
  /** The smallest value allowed. */
  min?: number;
  /** The largest value allowed. */
  max?: number;
  /** Whether the value is within its bound. */
  pass: boolean;
}

/**
 * Correct predictions of one intended digit.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { LabelAccuracy } from "./study.ts";
 * const seven: LabelAccuracy = { label: 7, correct: 9, total: 10, accuracy: 0.9 };
 * assert.equal(seven.correct / seven.total, seven.accuracy);
 * ```
 */
export interface LabelAccuracy {
  /** The intended digit. */
  label: number;
  /** Images of it classified as it. */
  correct: number;
  /** Images of it. */
  total: number;
  /** correct / total (NaN when total is 0). */
  accuracy: number;
}

/**
 * The classifier on real held-out digits brought to a model's size: the ceiling of what a
 * generated image can score.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { DigitsCeiling } from "./study.ts";
 * const c: DigitsCeiling = { model: "digits-sd", size: 32, images: 180, accuracy: 0.97, meanTop: 0.97, perLabel: [] };
 * assert.ok(c.accuracy <= 1);
 * ```
 */
export interface DigitsCeiling {
  /** The model whose size it was measured at. */
  model: string;
  /** The image size (pixels per side) the digits were upsampled to. */
  size: number;
  /** Number of held-out digits. */
  images: number;
  /** Accuracy against their labels. */
  accuracy: number;
  /** Mean top probability. */
  meanTop: number;
  /** Accuracy per digit. */
  perLabel: LabelAccuracy[];
}

/**
 * The classifier on Gaussian noise images at a model's size: what a model that learned nothing
 * scores. A linear classifier is confident far from its data, so a mean top probability near
 * this floor says little.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { DigitsFloor } from "./study.ts";
 * const f: DigitsFloor = { model: "m", size: 16, channels: 1, images: 1, seed: 0, meanTop: 0.9, histogram: [1] };
 * assert.equal(f.histogram[0], f.images);
 * ```
 */
export interface DigitsFloor {
  /** The model whose size and channels the noise has. */
  model: string;
  /** Pixels per side. */
  size: number;
  /** Channels. */
  channels: number;
  /** Number of noise images (`randn`, seen as a model's output in [-1, 1]). */
  images: number;
  /** The generator's seed. */
  seed: number;
  /** Mean top probability. */
  meanTop: number;
  /** How many noise images were classified as each digit. */
  histogram: number[];
}

/**
 * The text-conditioned model at one guidance scale: one image per digit and seed.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { DigitsPromptRun } from "./study.ts";
 * const r: DigitsPromptRun = {
 *   guidanceScale: 5, images: 100, accuracy: 0.9, meanTop: 0.85, perLabel: [], predicted: [], ms: 1,
 * };
 * assert.equal(r.images, 100);
 * ```
 */
export interface DigitsPromptRun {
  /** Classifier-free guidance scale. */
  guidanceScale: number;
  /** Number of images (digits x seeds). */
  images: number;
  /** Accuracy against the digit asked for. */
  accuracy: number;
  /** Mean top probability. */
  meanTop: number;
  /** Accuracy per digit asked for. */
  perLabel: LabelAccuracy[];
  /** The predicted digit of each image, row-major by digit then seed (as the grid). */
  predicted: number[];
  /** The grid: one row per digit, one column per seed. */
  grid?: CaseImage;
  /** Wall time, milliseconds. */
  ms: number;
}

/**
 * The unconditional model with one sampler: a batch of samples from one seed.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { DigitsSampleRun } from "./study.ts";
 * const r: DigitsSampleRun = {
 *   sampler: "DDIMScheduler", steps: 50, images: 200, histogram: [20, 20, 20, 20, 20, 20, 20, 20, 20, 20],
 *   meanTop: 0.9, predicted: [], ms: 1,
 * };
 * assert.equal(r.histogram.reduce((a, b) => a + b), r.images);
 * ```
 */
export interface DigitsSampleRun {
  /** The scheduler class. */
  sampler: string;
  /** Inference steps. */
  steps: number;
  /** Number of samples. */
  images: number;
  /** How many samples were classified as each digit 0..9. */
  histogram: number[];
  /** Mean top probability. */
  meanTop: number;
  /** Each sample's predicted digit, in sample order (as the grid). */
  predicted: number[];
  /** The grid of all samples, in sample order. */
  grid?: CaseImage;
  /** Wall time, milliseconds. */
  ms: number;
}

/**
 * A whole digits study; study.json holds one.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { DIGITS_STUDY_FORMAT, type DigitsStudyResult } from "./study.ts";
 * const empty: DigitsStudyResult = {
 *   format: DIGITS_STUDY_FORMAT, versions: {}, classifier: "c.json", inputs: {}, ceilings: [], floors: [], targets: [],
 *   warnings: [], pass: true, ms: 0,
 * };
 * assert.equal(empty.targets.every((t) => t.pass), empty.pass);
 * ```
 */
export interface DigitsStudyResult {
  /** {@link DIGITS_STUDY_FORMAT}. */
  format: typeof DIGITS_STUDY_FORMAT;
  /** Versions of the runtime pieces. */
  versions: Record<string, string>;
  /** The classifier file. */
  classifier: string;
  /**
   * sha256 of the classifier and of each model's ONNX files (those under fixtures/ checked
   * against fixtures/manifest.json first): what the figures were measured on.
   */
  inputs: Record<string, string>;
  /** The classifier on real held-out digits, at each model's size. */
  ceilings: DigitsCeiling[];
  /** The classifier on noise, at each model's size. */
  floors: DigitsFloor[];
  /** The text-conditioned model, when it ran. */
  prompted?: {
    model: string;
    sampler: string;
    steps: number;
    eta: number;
    size: number;
    prompt: string;
    digits: number[];
    seeds: number[];
    runs: DigitsPromptRun[];
  };
  /** The unconditional model, when it ran. */
  unconditional?: {
    model: string;
    size: number;
    seed: number;
    runs: DigitsSampleRun[];
  };
  /** Every figure held against its target. */
  targets: StudyTarget[];
  /** Config keys kept but not used and the like, each naming its file. */
  warnings: string[];
  /** True when every target holds. */
  pass: boolean;
  /** Wall time of the study, milliseconds. */
  ms: number;
}
