/**
 * The results schema of the inversion study (`deno task study inversion`, declared in
 * cases/inversion.study.ts): plain data, written by core/harness/inversion_study.ts and rendered
 * by core/report/study_inversion.ts. Images carry PNG bytes in memory (`CaseImage.png`) and a
 * file name once written (`CaseImage.file`).
 *
 * @module
 */
import type { CaseImage, RoundTripFigures } from "./schema.ts";

/**
 * The format string of study.json written by this version.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { INVERSION_STUDY_FORMAT } from "./study_inversion.ts";
 * assert.equal(INVERSION_STUDY_FORMAT, "diffparity-study-inversion/1");
 * ```
 */
export const INVERSION_STUDY_FORMAT = "diffparity-study-inversion/1" as const;

/**
 * One method of the grid, as declared and as labelled.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { StudyMethod } from "./study_inversion.ts";
 * const m: StudyMethod = { id: "edict-f64", label: "EDICT (p 0.93^(50/n), float64)", spec: { method: "edict", arithmetic: "float64" } };
 * assert.equal(m.spec.method, "edict");
 * ```
 */
export interface StudyMethod {
  /** A short id, unique in the study (chart series, file names). */
  id: string;
  /** The label tables and charts show. */
  label: string;
  /** The method spec (core/pipelines/inversion/methods.ts `InversionSpec`). */
  spec: { method: string; [option: string]: unknown };
  /** scheduler_config.json keys laid over each model's for this method, when any. */
  config?: Record<string, unknown>;
}

/**
 * The figures of one grid point averaged over the images, and per image.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { StudyCell } from "./study_inversion.ts";
 * const f = { latentMse: 1e-3, latentMaxAbs: 0.1, pixelMse: 1e-3, psnr: 36, ssim: 0.99, ceilingPsnr: 40, psnrVsCeiling: 37, nfe: 100, ms: 50 };
 * const cell: StudyCell = { model: "digits-sd", method: "ddim", steps: 50, guidance: 1, mean: f, minPsnr: 30, images: [f] };
 * assert.equal(cell.images.length, 1);
 * ```
 */
export interface StudyCell {
  /** The model's name (its folder's last part). */
  model: string;
  /** The method's id. */
  method: string;
  /** Inference steps of each pass. */
  steps: number;
  /** Classifier-free guidance scale; null for a model without text. */
  guidance: number | null;
  /**
   * The mean of each figure over the images (PSNR: the mean of the per-image dB values; an
   * image reconstructed exactly, infinite PSNR, counts as `psnrCap`).
   */
  mean: RoundTripFigures;
  /** The worst image's PSNR, dB. */
  minPsnr: number;
  /** Each image's figures, in the model's image order (those that failed left out). */
  images: RoundTripFigures[];
  /**
   * Images whose round trip stopped at a NaN or infinity (position in the model's `images`, the
   * error); they are left out of `mean` (all failed: no reconstruction, PSNR 0).
   */
  failed?: { image: number; error: string }[];
}

/**
 * A model of the study and the images it ran on.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { StudyModel } from "./study_inversion.ts";
 * const m: StudyModel = { name: "digits-ddpm", folder: "fixtures/models/digits-ddpm", text: false, size: 16, images: [{ index: 0, label: 0 }], meanCeilingPsnr: Infinity };
 * assert.equal(m.text, false);
 * ```
 */
export interface StudyModel {
  /** Its name (the folder's last part). */
  name: string;
  /** The model folder. */
  folder: string;
  /** Whether it takes a prompt (and so guidance). */
  text: boolean;
  /** Image size in pixels. */
  size: number;
  /**
   * The held-out digits it ran on, taken class by class (the first of each digit, then the
   * second, ...): their index in scikit-learn's digits and their label.
   */
  images: { index: number; label: number }[];
  /** The mean over the images of the VAE ceiling's PSNR (Infinity without a VAE), dB. */
  meanCeilingPsnr: number;
}

/**
 * A strip of pictures for one image: original, VAE ceiling, and each method's reconstruction
 * at one grid point.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { StudyStrip } from "./study_inversion.ts";
 * const s: StudyStrip = { model: "digits-sd", image: 0, label: 3, steps: 50, guidance: 1, tiles: [{ label: "original" }] };
 * assert.equal(s.tiles[0].label, "original");
 * ```
 */
export interface StudyStrip {
  /** The model's name. */
  model: string;
  /** The image's position in the model's `images`. */
  image: number;
  /** Its digit. */
  label: number;
  /** The grid point the reconstructions come from. */
  steps: number;
  /** The grid point's guidance (null without text). */
  guidance: number | null;
  /** original, VAE ceiling (a latent model), then one per method (labelled with the method's id). */
  tiles: CaseImage[];
}

/**
 * What `deno task study inversion` writes to study.json.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { INVERSION_STUDY_FORMAT, type InversionStudyResult } from "./study_inversion.ts";
 * const r: InversionStudyResult = {
 *   format: INVERSION_STUDY_FORMAT, study: "inversion", file: "cases/inversion.study.ts",
 *   versions: {}, inputs: {}, steps: [10], guidance: [1], methods: [], models: [], cells: [],
 *   strips: [], psnrCap: 100, warnings: [], ms: 0,
 * };
 * assert.equal(r.cells.length, 0);
 * ```
 */
export interface InversionStudyResult {
  /** {@link INVERSION_STUDY_FORMAT}. */
  format: typeof INVERSION_STUDY_FORMAT;
  /** The study's name. */
  study: string;
  /** The study file. */
  file: string;
  /** Versions of the runtime pieces. */
  versions: Record<string, string>;
  /** sha256 of the files the figures were measured on (models' ONNX files, the digits). */
  inputs: Record<string, string>;
  /** The step counts of the grid. */
  steps: number[];
  /** The guidance scales of the grid (text models). */
  guidance: number[];
  /** The methods of the grid. */
  methods: StudyMethod[];
  /** The models and their images. */
  models: StudyModel[];
  /** One per model x method x steps x guidance (text models) that ran. */
  cells: StudyCell[];
  /** Picture strips. */
  strips: StudyStrip[];
  /** The dB an exact reconstruction counts as in means (PSNR is infinite there). */
  psnrCap: number;
  /** Config keys kept but not used and the like, each naming its file. */
  warnings: string[];
  /** Wall time of the study, milliseconds. */
  ms: number;
}
