/**
 * The inversion fidelity study (`deno task study inversion`): every model x method x steps x
 * guidance of a {@link Study} over held-out digits, each image through the same round trip the
 * inversion cases run (core/pipelines/inversion/round_trip.ts), with the protocol's figures
 * (docs/inversion.md) per image and averaged per grid point.
 *
 * @module
 */
import { readModelGeometry } from "../models/geometry.ts";
import { type LoadedModel, loadModelFolder } from "../models/load_model_folder.ts";
import type { SessionSettings } from "../models/session_options.ts";
import { NonFiniteError } from "../pipelines/errors.ts";
import { tensorToImage } from "../pipelines/image.ts";
import { INVERSION_METHODS, type InversionSpec } from "../pipelines/inversion/methods.ts";
import { roundTrip } from "../pipelines/inversion/round_trip.ts";
import { encodePng } from "../pipelines/png.ts";
import { decodeLatents, encodeImageLatents } from "../pipelines/vae.ts";
import type { CaseImage, RoundTripFigures } from "../results/schema.ts";
import {
  INVERSION_STUDY_FORMAT,
  type InversionStudyResult,
  type StudyCell,
  type StudyModel,
  type StudyStrip,
} from "../results/study_inversion.ts";
import { DDIMScheduler } from "../schedulers/ddim.ts";
import { sliceBatch } from "../tensor/ops.ts";
import { FileError } from "../tensor/errors.ts";
import { Tensor } from "../tensor/tensor.ts";
import { TorchGenerator } from "../tensor/torch_generator.ts";
import { loadDigitClassifier } from "./digit_classifier.ts";
import { upsampleDigits } from "./digit_images.ts";
import { roundTripFigures } from "./round_trip_metrics.ts";
import { runtimeVersions } from "./runtime_versions.ts";
import type { Study, StudyMethodSpec } from "./study.ts";
import { hashStudyInputs } from "./study_inputs.ts";

/** The held-out digits of the default classifier file. */
export const DEFAULT_STUDY_DIGITS = "fixtures/models/digit-classifier.json";

/** The dB an exact reconstruction counts as in means. */
const PSNR_CAP = 100;

/**
 * Options of {@link runInversionStudy}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { InversionStudyOptions } from "./inversion_study.ts";
 * const o: InversionStudyOptions = { images: 4, onProgress: (line) => console.error(line) };
 * assert.equal(o.images, 4);
 * ```
 */
export interface InversionStudyOptions {
  /** The study file, for the result. */
  file?: string;
  /** Images per model instead of the study's. */
  images?: number;
  /** Step counts instead of the study's. */
  steps?: number[];
  /**
   * The fixture manifest the models' ONNX files and the digits file must match (default
   * fixtures/manifest.json; null: no check).
   */
  manifest?: string | null;
  /** Session settings (default: verify's, one intra-op thread on the CPU). */
  session?: Partial<SessionSettings>;
  /** Called with a progress line (round trips done of total, elapsed, ETA) every few seconds. */
  onProgress?: (line: string) => void;
}

/** One grid point of a model. */
interface Point {
  method: StudyMethodSpec;
  steps: number;
  guidance: number | null;
}

/** Model evaluations a round trip makes, for the ETA (the guidance batch costs about 1.5). */
function cost(p: Point): number {
  const s = p.method.spec;
  const perStep = s.method === "edict"
    ? 4
    : s.method === "fixed-point"
    ? (s.iterations ?? 2) + 2
    : 2;
  const cfg = p.guidance !== null && (p.guidance > 1 || s.method === "tutorial") ? 1.5 : 1;
  return p.steps * perStep * cfg;
}

const seconds = (ms: number) =>
  ms < 60_000
    ? `${(ms / 1000).toFixed(0)} s`
    : `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s`;

/** The mean of each figure (PSNR capped) over the images. */
function meanFigures(all: RoundTripFigures[]): RoundTripFigures {
  const cap = (x: number) => Math.min(x, PSNR_CAP);
  const m = (f: (r: RoundTripFigures) => number) => all.reduce((s, r) => s + f(r), 0) / all.length;
  return {
    latentMse: m((r) => r.latentMse),
    latentMaxAbs: m((r) => r.latentMaxAbs),
    pixelMse: m((r) => r.pixelMse),
    psnr: m((r) => cap(r.psnr)),
    ssim: m((r) => r.ssim),
    ceilingPsnr: m((r) => cap(r.ceilingPsnr)),
    psnrVsCeiling: m((r) => cap(r.psnrVsCeiling)),
    nfe: m((r) => r.nfe),
    ms: m((r) => r.ms),
  };
}

/** A picture tile of an image [1, C, H, W] in [-1, 1]. */
function tile(label: string, image: Tensor): CaseImage {
  return { label, png: encodePng(tensorToImage(image)) };
}

/** The held-out digits as the model's input images, one tensor [1, C, S, S] each. */
function studyImages(
  heldout: { images: Float64Array; labels: number[]; indices: number[]; count: number },
  count: number,
  size: number,
  channels: number,
  folder: string,
): { images: Tensor[]; meta: { index: number; label: number }[] } {
  if (count > heldout.count) {
    throw new FileError(
      folder,
      "images",
      `asked for ${count} held-out digits, the file has ${heldout.count}`,
    );
  }
  const grey = upsampleDigits(heldout.images.slice(0, count * 64), count, size);
  const images = Array.from({ length: count }, (_, i) => {
    const one = sliceBatch(grey, i, i + 1);
    if (channels === 1) return one;
    // grey in every channel, as the models were trained (digits_data.py)
    const out = new Float32Array(channels * one.data.length);
    for (let c = 0; c < channels; c++) out.set(one.data, c * one.data.length);
    return new Tensor(out, [1, channels, size, size]);
  });
  return {
    images,
    meta: images.map((_, i) => ({ index: heldout.indices[i], label: heldout.labels[i] })),
  };
}

/** What a model is to the study: a latent text model, or a pixel-space unconditional one. */
async function studyModel(model: LoadedModel, spec: Study["models"][number]) {
  const g = await readModelGeometry(model.folder);
  const { tokenizer, textEncoder, vaeEncoder, vaeDecoder } = model;
  const text = !!(tokenizer && textEncoder && vaeEncoder && vaeDecoder);
  if (!text && (vaeEncoder || vaeDecoder || textEncoder)) {
    throw new FileError(
      spec.model,
      undefined,
      "expected a Stable Diffusion folder (tokenizer, text encoder, VAE encoder and decoder) or a " +
        "pixel-space UNet-only folder",
    );
  }
  const size = g.sampleSize * g.vaeScaleFactor;
  const channels = text ? 3 : g.latentChannels;
  return { text, size, channels, scalingFactor: g.scalingFactor, warnings: g.warnings ?? [] };
}

/**
 * Runs the study. Models are loaded one at a time and released after use. A round trip that
 * stops at a NaN or infinity is recorded in its cell's `failed` and left out of the means.
 *
 * @throws {FileError} naming a model folder or the digits file that cannot be used;
 * `FixtureHashError` when a fixture differs from the manifest.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { runInversionStudy } from "./inversion_study.ts";
 * import { defineStudy } from "./study.ts";
 * const study = defineStudy({
 *   name: "tiny", kind: "inversion", models: [{ model: "fixtures/models/digits-ddpm", images: 2 }],
 *   methods: [{ id: "ddim", spec: { method: "ddim" } }, { id: "edict64", spec: { method: "edict", arithmetic: "float64" } }],
 *   steps: [10], guidance: [1], seed: 0, strips: { images: 1, steps: 10, guidance: [1] },
 * });
 * const r = await runInversionStudy(study);
 * assert.deepEqual(r.cells.map((c) => [c.method, c.guidance, c.images.length]), [["ddim", null, 2], ["edict64", null, 2]]);
 * assert.ok(r.cells[1].mean.latentMse < 1e-9); // EDICT in float64 comes back exactly
 * assert.equal(r.strips[0].tiles.length, 3); // original (no VAE: no ceiling tile), two methods
 * ```
 */
export async function runInversionStudy(
  study: Study,
  options: InversionStudyOptions = {},
): Promise<InversionStudyResult> {
  const start = performance.now();
  const digitsFile = study.digits ?? DEFAULT_STUDY_DIGITS;
  const digits = await loadDigitClassifier(digitsFile);
  const heldout = digits.heldout;
  if (!heldout) {
    throw new FileError(digitsFile, "heldout", "missing: the study needs held-out digits");
  }
  const stepsGrid = options.steps ?? [...study.steps];
  const result: InversionStudyResult = {
    format: INVERSION_STUDY_FORMAT,
    study: study.name,
    file: options.file ?? "",
    versions: await runtimeVersions(),
    inputs: await hashStudyInputs(
      [digitsFile, ...study.models.map((m) => m.model)],
      options.manifest === undefined ? "fixtures/manifest.json" : options.manifest,
    ),
    steps: stepsGrid,
    guidance: [...study.guidance],
    methods: study.methods.map((m) => ({
      id: m.id,
      label: INVERSION_METHODS[m.spec.method].label(m.spec) +
        Object.entries(m.config ?? {}).map(([k, v]) => `, ${k} ${JSON.stringify(v)}`).join(""),
      spec: { ...m.spec },
      ...(m.config ? { config: { ...m.config } } : {}),
    })),
    models: [],
    cells: [],
    strips: [],
    psnrCap: PSNR_CAP,
    warnings: [],
    ms: 0,
  };
  const warn = (w: string) => void (result.warnings.includes(w) || result.warnings.push(w));

  // the grid of every model, first, for the progress line's total and ETA
  const loaded: {
    spec: Study["models"][number];
    model: LoadedModel;
    info: Awaited<ReturnType<typeof studyModel>>;
  }[] = [];
  const session = { ...options.session };
  try {
    for (const spec of study.models) {
      const model = await loadModelFolder(spec.model, { session });
      loaded.push({ spec, model, info: await studyModel(model, spec) });
    }
    const grid = loaded.map(({ info }) =>
      study.methods
        .filter((m) =>
          info.text ? m.text !== false : m.pixel !== false &&
            INVERSION_METHODS[m.spec.method].conditioning !== "negative-prompt"
        )
        .flatMap((method) =>
          (info.text ? study.guidance : [null]).flatMap((guidance) =>
            stepsGrid.map((steps): Point => ({ method, steps, guidance }))
          )
        )
    );
    const counts = loaded.map(({ spec }) => options.images ?? spec.images);
    const totalCost = grid.reduce(
      (s, pts, i) => s + pts.reduce((t, p) => t + cost(p), 0) * counts[i],
      0,
    );
    const totalTrips = grid.reduce((s, pts, i) => s + pts.length * counts[i], 0);
    let doneCost = 0, doneTrips = 0, lastReport = 0;
    const report = (what: string, force = false) => {
      const now = performance.now();
      if (!options.onProgress || (!force && now - lastReport < 2000)) return;
      lastReport = now;
      const elapsed = now - start;
      const eta = doneCost > 0 ? (elapsed * (totalCost - doneCost)) / doneCost : NaN;
      options.onProgress(
        `study ${study.name}: ${doneTrips}/${totalTrips} round trips · ${what} · ${
          seconds(elapsed)
        }` +
          (Number.isFinite(eta) && doneTrips < totalTrips ? ` · ETA ${seconds(eta)}` : ""),
      );
    };

    for (const [m, { spec, model, info }] of loaded.entries()) {
      const name = spec.model.replace(/\/+$/, "").split("/").pop()!;
      for (const w of info.warnings) warn(w);
      const { images, meta } = studyImages(
        heldout,
        counts[m],
        info.size,
        info.channels,
        spec.model,
      );
      // the ceiling D(E(x)): the VAE's mean decoded; a pixel model's image itself
      const ceilings: Tensor[] = [];
      for (const image of images) {
        if (!info.text) {
          ceilings.push(image);
          continue;
        }
        const z = await encodeImageLatents(
          model.vaeEncoder!,
          image,
          new TorchGenerator(0),
          info.scalingFactor,
          "mean",
        );
        ceilings.push(await decodeLatents(model.vaeDecoder!, z.latents, info.scalingFactor));
      }
      const studied: StudyModel = {
        name,
        folder: spec.model,
        text: info.text,
        size: info.size,
        images: meta,
        meanCeilingPsnr: 0,
      };
      const stripAt = study.strips;
      const strips: StudyStrip[] = [];
      const stripOf = (image: number, steps: number, guidance: number | null) => {
        let s = strips.find((x) =>
          x.image === image && x.steps === steps && x.guidance === guidance
        );
        if (!s) {
          strips.push(
            s = {
              model: name,
              image,
              label: meta[image].label,
              steps,
              guidance,
              // a pixel-space model has no VAE: its ceiling is the original itself
              tiles: info.text
                ? [tile("original", images[image]), tile("VAE ceiling", ceilings[image])]
                : [tile("original", images[image])],
            },
          );
        }
        return s;
      };
      const wantsStrip = (image: number, p: Point) =>
        stripAt !== undefined && image < stripAt.images && p.steps === stripAt.steps &&
        (p.guidance === null ? true : stripAt.guidance.includes(p.guidance));

      for (const p of grid[m]) {
        const figures: RoundTripFigures[] = [];
        const failed: { image: number; error: string }[] = [];
        for (const [i, image] of images.entries()) {
          const scheduler = DDIMScheduler.fromConfig(
            { ...model.schedulerConfig, ...p.method.config },
            model.folder.schedulerConfigPath,
          );
          for (const w of scheduler.configWarnings) warn(w);
          const prompt = (spec.prompt ?? "a handwritten digit {k}").replaceAll(
            "{k}",
            String(meta[i].label),
          );
          try {
            const r = await roundTrip({
              unet: model.unet,
              scheduler,
              method: p.method.spec as InversionSpec,
              steps: p.steps,
              image,
              generator: new TorchGenerator(study.seed),
              ...(info.text
                ? {
                  vaeEncoder: model.vaeEncoder,
                  vaeDecoder: model.vaeDecoder,
                  scalingFactor: info.scalingFactor,
                  prompt: { tokenizer: model.tokenizer!, textEncoder: model.textEncoder!, prompt },
                  guidanceScale: p.guidance!,
                }
                : {}),
            });
            figures.push(roundTripFigures({
              z0: r.initLatents,
              reconstruction: r.latents,
              original: image,
              decoded: r.image!,
              ceiling: ceilings[i],
              nfe: r.timesteps.length,
              ms: r.timing.loopMs,
            }));
            if (wantsStrip(i, p)) {
              stripOf(i, p.steps, p.guidance).tiles.push(tile(p.method.id, r.image!));
            }
          } catch (err) {
            if (!(err instanceof NonFiniteError)) throw err;
            failed.push({ image: i, error: err.message });
          }
          doneTrips++;
          doneCost += cost(p);
          report(
            `${name} ${p.method.id}${
              p.guidance === null ? "" : ` g ${p.guidance}`
            } ${p.steps} steps`,
          );
        }
        const cell: StudyCell = {
          model: name,
          method: p.method.id,
          steps: p.steps,
          guidance: p.guidance,
          mean: figures.length ? meanFigures(figures) : { ...NO_RECONSTRUCTION },
          minPsnr: figures.length ? Math.min(...figures.map((f) => f.psnr)) : 0,
          images: figures,
        };
        if (failed.length) cell.failed = failed;
        result.cells.push(cell);
      }
      const ceilingFigures = ceilings.map((c, i) =>
        roundTripFigures({
          z0: images[i],
          reconstruction: images[i],
          original: images[i],
          decoded: c,
          ceiling: c,
          nfe: 0,
          ms: 0,
        }).psnr
      );
      studied.meanCeilingPsnr = info.text
        ? ceilingFigures.reduce((s, x) => s + Math.min(x, PSNR_CAP), 0) / ceilingFigures.length
        : Infinity;
      result.models.push(studied);
      result.strips.push(...strips);
    }
    report("done", true);
  } finally {
    for (const { model } of loaded) await model.release().catch(() => {});
  }
  result.ms = performance.now() - start;
  return result;
}

/** A cell's means when every image's round trip failed: no reconstruction at all. */
const NO_RECONSTRUCTION: RoundTripFigures = {
  latentMse: Infinity,
  latentMaxAbs: Infinity,
  pixelMse: Infinity,
  psnr: 0,
  ssim: 0,
  ceilingPsnr: 0,
  psnrVsCeiling: 0,
  nfe: 0,
  ms: 0,
};
