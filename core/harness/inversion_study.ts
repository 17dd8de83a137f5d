/**
 * The inversion fidelity study (`deno task study inversion`): every model x method x steps x
 * guidance of a {@link InversionStudy} over held-out digits, each image through the same round trip the
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
import { FileError } from "../tensor/errors.ts";
import { Tensor } from "../tensor/tensor.ts";
import { TorchGenerator } from "../tensor/torch_generator.ts";
import { DEFAULT_DIGIT_CLASSIFIER } from "./case_digit.ts";
import { loadDigitClassifier } from "./digit_classifier.ts";
import { classBalancedImages } from "./digit_images.ts";
import { pixelPsnr, roundTripFigures } from "./round_trip_metrics.ts";
import { runtimeVersions } from "./runtime_versions.ts";
import { defineStudy, type InversionStudy, type StudyMethodSpec } from "./study.ts";
import { hashStudyInputs } from "./study_inputs.ts";

/**
 * The dB an exact reconstruction (infinite PSNR) counts as in means: above any inexact float32
 * image (one ulp everywhere on [-1, 1] is about 144 dB).
 */
const PSNR_CAP = 150;

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

/** The mean of each figure over the images (an infinite PSNR counted as {@link PSNR_CAP}). */
function meanFigures(all: RoundTripFigures[]): RoundTripFigures {
  const cap = (x: number) => (x === Infinity ? PSNR_CAP : x);
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

/** What a model is to the study: a latent text model, or a pixel-space unconditional one. */
async function studyModel(model: LoadedModel, spec: InversionStudy["models"][number]) {
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
  study: InversionStudy,
  options: InversionStudyOptions = {},
): Promise<InversionStudyResult> {
  const start = performance.now();
  const digitsFile = study.digits ?? DEFAULT_DIGIT_CLASSIFIER;
  const heldout = (await loadDigitClassifier(digitsFile)).heldout;
  if (!heldout) {
    throw new FileError(digitsFile, "heldout", "missing: the study needs held-out digits");
  }
  // other step counts than the study's are checked as the study's are
  const steps = [
    ...(options.steps ? defineStudy({ ...study, steps: options.steps }) : study).steps,
  ];
  const result: InversionStudyResult = {
    format: INVERSION_STUDY_FORMAT,
    study: study.name,
    file: options.file ?? "",
    versions: await runtimeVersions(),
    inputs: await hashStudyInputs(
      [digitsFile, ...study.models.map((m) => m.model)],
      options.manifest === undefined ? "fixtures/manifest.json" : options.manifest,
    ),
    steps,
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
  const loaded: StudiedModel[] = [];
  try {
    for (const spec of study.models) {
      const model = await loadModelFolder(spec.model, { session: { ...options.session } });
      const info = await studyModel(model, spec);
      const name = spec.model.replace(/\/+$/, "").split("/").pop()!;
      loaded.push({ spec, model, info, name, grid: studyGrid(study, info.text, steps) });
    }
    // every model's grid first, for the progress line's total and ETA
    const progress = progressLine(study.name, start, options.onProgress);
    for (const m of loaded) progress.expect(m.grid, options.images ?? m.spec.images);
    for (const m of loaded) {
      for (const w of m.info.warnings) warn(w);
      const images = classBalancedImages(
        heldout,
        options.images ?? m.spec.images,
        m.info.size,
        m.info.channels,
        m.spec.model,
      );
      const ran = await runModel(study, m, images, { warn, progress });
      result.cells.push(...ran.cells);
      result.models.push(ran.model);
      result.strips.push(...ran.strips);
    }
    const strips = study.strips;
    if (strips && strips.images > 0 && !steps.includes(strips.steps)) {
      warn(
        `no picture strips: they are made at ${strips.steps} steps (strips.steps), which this ` +
          `run (steps ${steps.join(", ")}) does not include`,
      );
    }
    progress.finish();
  } finally {
    for (const { model } of loaded) await model.release().catch(() => {});
  }
  result.ms = performance.now() - start;
  return result;
}

/** A model of the study, loaded, with its grid. */
interface StudiedModel {
  spec: InversionStudy["models"][number];
  model: LoadedModel;
  info: Awaited<ReturnType<typeof studyModel>>;
  /** The folder's last part. */
  name: string;
  grid: Point[];
}

/**
 * The grid points of a model: every method it runs (a text model all but those marked `text:
 * false`; a pixel-space one all but negative-prompt inversion and those marked `pixel: false`),
 * at every guidance scale (text models) and step count.
 */
function studyGrid(study: InversionStudy, text: boolean, steps: readonly number[]): Point[] {
  return study.methods
    .filter((m) =>
      text ? m.text !== false : m.pixel !== false &&
        INVERSION_METHODS[m.spec.method].conditioning !== "negative-prompt"
    )
    .flatMap((method) =>
      (text ? study.guidance : [null]).flatMap((guidance) =>
        steps.map((n): Point => ({ method, steps: n, guidance }))
      )
    );
}

/**
 * The progress line: round trips done of all, what runs, the time so far and an ETA weighted by
 * each round trip's model evaluations; at most one line every 2 seconds, and one at the end.
 */
function progressLine(name: string, start: number, onProgress?: (line: string) => void) {
  let totalCost = 0, totalTrips = 0, doneCost = 0, doneTrips = 0, last = 0;
  const say = (what: string, force: boolean) => {
    const now = performance.now();
    if (!onProgress || (!force && now - last < 2000)) return;
    last = now;
    const elapsed = now - start;
    const eta = doneCost > 0 ? (elapsed * (totalCost - doneCost)) / doneCost : NaN;
    onProgress(
      `study ${name}: ${doneTrips}/${totalTrips} round trips · ${what} · ${seconds(elapsed)}` +
        (Number.isFinite(eta) && doneTrips < totalTrips ? ` · ETA ${seconds(eta)}` : ""),
    );
  };
  return {
    /** Counts a model's grid run over `images` images. */
    expect(grid: readonly Point[], images: number) {
      totalTrips += grid.length * images;
      totalCost += grid.reduce((t, p) => t + cost(p), 0) * images;
    },
    /** One round trip of `p` done. */
    done(model: string, p: Point) {
      doneTrips++;
      doneCost += cost(p);
      const g = p.guidance === null ? "" : ` g ${p.guidance}`;
      say(`${model} ${p.method.id}${g} ${p.steps} steps`, false);
    },
    finish: () => say("done", true),
  };
}

/** The ceiling D(E(x)) of each image: the VAE's mean decoded; a pixel model's image itself. */
async function ceilingsOf(m: StudiedModel, images: readonly Tensor[]): Promise<Tensor[]> {
  if (!m.info.text) return [...images];
  const out: Tensor[] = [];
  for (const image of images) {
    const { vaeEncoder, vaeDecoder } = m.model;
    const s = m.info.scalingFactor;
    const z = await encodeImageLatents(vaeEncoder!, image, new TorchGenerator(0), s, "mean");
    out.push(await decodeLatents(vaeDecoder!, z.latents, s));
  }
  return out;
}

/** Every grid point of one model over its images: the cells, the model's entry, its strips. */
async function runModel(
  study: InversionStudy,
  m: StudiedModel,
  { images, meta }: ReturnType<typeof classBalancedImages>,
  { warn, progress }: { warn: (w: string) => void; progress: ReturnType<typeof progressLine> },
): Promise<{ cells: StudyCell[]; model: StudyModel; strips: StudyStrip[] }> {
  const ceilings = await ceilingsOf(m, images);
  const strips = stripBook(study, m, images, meta, ceilings);
  const cells: StudyCell[] = [];
  for (const p of m.grid) {
    const figures: RoundTripFigures[] = [];
    const failed: { image: number; error: string }[] = [];
    for (const [i, image] of images.entries()) {
      try {
        const r = await roundTripOf(study, m, p, image, meta[i].label, warn);
        figures.push(roundTripFigures({
          z0: r.initLatents,
          reconstruction: r.latents,
          original: image,
          decoded: r.image!,
          ceiling: ceilings[i],
          nfe: r.timesteps.length,
          ms: r.timing.loopMs,
        }));
        strips.add(i, p, r.image!);
      } catch (err) {
        if (!(err instanceof NonFiniteError)) throw err;
        failed.push({ image: i, error: err.message });
      }
      progress.done(m.name, p);
    }
    cells.push({
      model: m.name,
      method: p.method.id,
      steps: p.steps,
      guidance: p.guidance,
      mean: figures.length ? meanFigures(figures) : { ...NO_RECONSTRUCTION },
      minPsnr: figures.length ? Math.min(...figures.map((f) => f.psnr)) : NaN,
      images: figures,
      ...(failed.length ? { failed } : {}),
    });
  }
  const ceilingPsnr = ceilings.map((c, i) => pixelPsnr(c, images[i]));
  const model: StudyModel = {
    name: m.name,
    folder: m.spec.model,
    text: m.info.text,
    size: m.info.size,
    images: meta,
    meanCeilingPsnr: m.info.text
      ? ceilingPsnr.reduce((s, x) => s + (x === Infinity ? PSNR_CAP : x), 0) / ceilingPsnr.length
      : Infinity,
  };
  return { cells, model, strips: strips.strips };
}

/** One round trip of grid point `p` on `image` (a text model's prompt names `label`). */
async function roundTripOf(
  study: InversionStudy,
  m: StudiedModel,
  p: Point,
  image: Tensor,
  label: number,
  warn: (w: string) => void,
) {
  const { model, info } = m;
  const scheduler = DDIMScheduler.fromConfig(
    { ...model.schedulerConfig, ...p.method.config },
    model.folder.schedulerConfigPath,
  );
  for (const w of scheduler.configWarnings) warn(w);
  const prompt = (m.spec.prompt ?? "a handwritten digit {k}").replaceAll("{k}", String(label));
  return await roundTrip({
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
}

/**
 * The picture strips of a model: for the first `strips.images` images, at `strips.steps` and each
 * of `strips.guidance` (every grid point of a pixel model at those steps), the original, the VAE
 * ceiling (a latent model) and each method's reconstruction.
 */
function stripBook(
  study: InversionStudy,
  m: StudiedModel,
  images: readonly Tensor[],
  meta: readonly { label: number }[],
  ceilings: readonly Tensor[],
) {
  const at = study.strips;
  const strips: StudyStrip[] = [];
  return {
    strips,
    add(image: number, p: Point, reconstruction: Tensor) {
      const wanted = at !== undefined && image < at.images && p.steps === at.steps &&
        (p.guidance === null || at.guidance.includes(p.guidance));
      if (!wanted) return;
      let s = strips.find((x) =>
        x.image === image && x.steps === p.steps && x.guidance === p.guidance
      );
      if (!s) {
        strips.push(
          s = {
            model: m.name,
            image,
            label: meta[image].label,
            steps: p.steps,
            guidance: p.guidance,
            // a pixel-space model has no VAE: its ceiling is the original itself
            tiles: m.info.text
              ? [tile("original", images[image]), tile("VAE ceiling", ceilings[image])]
              : [tile("original", images[image])],
          },
        );
      }
      s.tiles.push(tile(p.method.id, reconstruction));
    },
  };
}

/** A cell's means when every image's round trip failed: nothing was reconstructed. */
const NO_RECONSTRUCTION: RoundTripFigures = {
  latentMse: NaN,
  latentMaxAbs: NaN,
  pixelMse: NaN,
  psnr: NaN,
  ssim: NaN,
  ceilingPsnr: NaN,
  psnrVsCeiling: NaN,
  nfe: NaN,
  ms: NaN,
};
