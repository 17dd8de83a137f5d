/**
 * The sampler accuracy study (`deno task study samplers`): per model, a converged solution of
 * the probability-flow ODE (a deterministic solver at many steps, checked by a second one), then
 * every sampler at every step count from the same initial noise, its final latents' error
 * against that solution, the digit classifier on its decoded samples, its model evaluations and
 * wall time, and each deterministic sampler's empirical order (core/harness/convergence.ts).
 *
 * Each run samples the study's seeds as one batch through the one loop: image i starts from
 * `TorchGenerator(i).randn(shape) * init_noise_sigma`, as a one-image pipeline with
 * `manual_seed(i)` does; a text model's image i is prompted with digit i mod 10 (negative prompts
 * first, `num_images_per_prompt`'s layout). Stochastic samplers draw their step noise from one
 * generator seeded with {@link NOISE_SEED}.
 *
 * @module
 */
import { loadModelFolder } from "../models/load_model_folder.ts";
import type { SessionSettings } from "../models/session_options.ts";
import { prepareLatents } from "../pipelines/latents.ts";
import { denoiseLoop } from "../pipelines/loop.ts";
import { makeSampler, SAMPLERS, type SamplerSpec } from "../schedulers/samplers.ts";
import {
  type SampleQuality,
  SAMPLER_STUDY_FORMAT,
  type SamplerStudyModel,
  type SamplerStudyReference,
  type SamplerStudyResult,
  type SamplerStudyRow,
} from "../results/study_samplers.ts";
import { NonFiniteError } from "../pipelines/errors.ts";
import { concat, sliceBatch } from "../tensor/ops.ts";
import { Tensor } from "../tensor/tensor.ts";
import { TorchGenerator } from "../tensor/torch_generator.ts";
import { fitOrder, localOrders } from "./convergence.ts";
import { gaussianSubject, type Subject, subjectOf } from "./sampler_study_subjects.ts";
import { type DigitClassifier, loadDigitClassifier } from "./digit_classifier.ts";
import { classHistogram, digitAccuracy, meanTopProbability, scoreDigits } from "./digit_metrics.ts";
import { maxAbsDiff, rmse } from "./metrics.ts";
import { runtimeVersions } from "./runtime_versions.ts";
import type { SamplerStudyModel as ModelSpec, StudySampler } from "./sampler_study_spec.ts";
import { defineStudy, type SamplerStudy, StudySpecError } from "./study.ts";
import { hashStudyInputs } from "./study_inputs.ts";

/**
 * The seed of the generator stochastic samplers draw their step noise from.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { NOISE_SEED } from "./sampler_study.ts";
 * assert.ok(Number.isSafeInteger(NOISE_SEED));
 * ```
 */
export const NOISE_SEED = 1_000_003;

/** The fit's range when a study sets none (documented on `SamplerStudySpec.fit`). */
const DEFAULT_FIT = { minSteps: 20, floorFactor: 10, exactFloor: 1e-5 };

/**
 * Options of {@link runSamplerStudy}; each replaces the study's where given.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { SamplerStudyOptions } from "./sampler_study.ts";
 * const quick: SamplerStudyOptions = { seeds: 2, steps: [5, 10], samplers: ["ddim"] };
 * assert.equal(quick.seeds, 2);
 * ```
 */
export interface SamplerStudyOptions {
  /** The study file (recorded in the result). */
  file?: string;
  /** Seeds per run. */
  seeds?: number;
  /** Step counts. */
  steps?: number[];
  /** Only these sampler ids (each must be the study's). */
  samplers?: string[];
  /** The fixture manifest the models' ONNX files must match (default fixtures/manifest.json). */
  manifest?: string | null;
  /** Session settings (default: verify's, one intra-op thread on the CPU). */
  session?: Partial<SessionSettings>;
  /** Called with a progress line after each run. */
  onProgress?: (line: string) => void;
}

/**
 * What the study multiplies `randn` by for a sampler's initial latents: the inverse of its first
 * step's model-input scaling (1 for DDIM-like samplers; sqrt(1 + sigma_max^2) for the sigma-space
 * ones), so that every sampler's first model input, the variance-preserving latents, is the same
 * `randn`. diffusers' own `init_noise_sigma` differs for the sigma-space schedulers with linspace
 * or trailing spacing: sigma_max, a start 0.2% short for SD's schedule, which would bias every
 * comparison by a constant. Measured on a throwaway sampler whose first step sees a zero output.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { startScale } from "./sampler_study.ts";
 * const config = { beta_schedule: "scaled_linear", beta_start: 0.00085, beta_end: 0.012, timestep_spacing: "linspace" };
 * assert.equal(await startScale({ type: "DDIMScheduler" }, config, [1, 2, 2], 10), 1);
 * assert.equal(await startScale({ type: "CompVisPLMS" }, config, [1, 2, 2], 10), 1); // two calls in step 0
 * const euler = await startScale({ type: "EulerDiscreteScheduler" }, config, [1, 2, 2], 10);
 * // sigma(999) = 14.6146...: sqrt(1 + sigma^2), where diffusers' init_noise_sigma is sigma itself
 * assert.ok(Math.abs(euler - Math.sqrt(1 + 14.614646 ** 2)) < 1e-4);
 * ```
 */
export async function startScale(
  spec: SamplerSpec,
  config: Readonly<Record<string, unknown>>,
  shape: readonly number[],
  steps: number,
  eta = 0,
  source?: string,
): Promise<number> {
  const probe = makeSampler(spec, config, {
    steps,
    eta,
    generator: new TorchGenerator(NOISE_SEED),
    source,
  });
  let scale: number | null = null;
  const ones = new Tensor(new Float32Array(shape.reduce((a, b) => a * b, 1)).fill(1), [
    1,
    ...shape,
  ]);
  // the first call's input only: CompVis PLMS calls the model twice in its first step
  await probe.step(
    (x) => {
      scale ??= x.data[0];
      return Promise.resolve(new Tensor(new Float32Array(x.data.length), x.shape));
    },
    ones,
    0,
  );
  return 1 / (scale ?? 1);
}

/**
 * One batch through the one loop: the final latents, the model input of the last step, model
 * calls per image, wall time.
 */
async function sampleBatch(
  subject: Subject,
  spec: SamplerSpec,
  steps: number,
  seeds: number,
  eta = 0,
): Promise<
  { z: Tensor; lastInput: Tensor; nfe: number; ms: number; warnings: readonly string[] }
> {
  const generator = new TorchGenerator(NOISE_SEED);
  const sampler = makeSampler(spec, subject.config, {
    steps,
    eta,
    generator,
    source: subject.source,
  });
  const start = await startScale(spec, subject.config, subject.shape, steps, eta, subject.source);
  const x = concat(
    Array.from(
      { length: seeds },
      (_, i) => prepareLatents(new TorchGenerator(i), [1, ...subject.shape], start),
    ),
  );
  const last = sampler.timesteps.length - 1;
  let lastInput = x;
  const t0 = performance.now();
  const loop = await denoiseLoop({
    stepper: sampler,
    denoiser: subject.denoiser,
    sample: x,
    // the latents entering the last step, as the model sees them (x / sqrt(1 + sigma^2))
    hooks: { onStep: (r) => void (r.step === last && r.call === 0 && (lastInput = r.modelInput)) },
  });
  return {
    z: loop.sample,
    lastInput,
    nfe: loop.timesteps.length,
    ms: performance.now() - t0,
    warnings: sampler.configWarnings,
  };
}

/** Per-image RMS against the reference, averaged, and the largest |d| over every image. */
function trajectoryError(z: Tensor, ref: Tensor): { rmse: number; maxAbs: number } {
  const n = z.shape[0];
  let sum = 0;
  for (let i = 0; i < n; i++) sum += rmse(sliceBatch(z, i, i + 1), sliceBatch(ref, i, i + 1));
  return { rmse: sum / n, maxAbs: maxAbsDiff(z, ref) };
}

async function quality(
  classifier: DigitClassifier,
  subject: Subject,
  z: Tensor,
): Promise<SampleQuality | null> {
  if (!subject.toImages) return null;
  const scores = scoreDigits(classifier, await subject.toImages(z), { range: "[-1,1]" });
  return {
    accuracy: subject.labels ? digitAccuracy(scores, subject.labels) : null,
    histogram: classHistogram(scores),
    meanTop: meanTopProbability(scores),
  };
}

const label = (spec: SamplerSpec) => SAMPLERS[spec.type].label(spec);
const seconds = (ms: number) => `${(ms / 1000).toFixed(0)} s`;

/**
 * Runs the study, one model at a time (loaded, then released).
 *
 * @throws {FileError} naming a model folder or the classifier that cannot be used;
 * `StudySpecError` for options the study refuses.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { runSamplerStudy } from "./sampler_study.ts";
 * import { defineStudy } from "./study.ts";
 * const study = defineStudy({
 *   name: "tiny", kind: "samplers", models: [{ model: "fixtures/models/digits-ddpm" }],
 *   config: { clip_sample: false, timestep_spacing: "linspace", set_alpha_to_one: false },
 *   samplers: [{ id: "ddim", spec: { type: "DDIMScheduler" }, order: 1 }], steps: [2, 4], seeds: 1,
 *   reference: {
 *     spec: { type: "DPMSolverMultistepScheduler", config: { final_sigmas_type: "sigma_min" } }, steps: 20,
 *     check: { spec: { type: "PNDMScheduler" }, steps: 20, tolerance: 1 },
 *   },
 *   fit: { minSteps: 1, floorFactor: 0 },
 * });
 * const r = await runSamplerStudy(study);
 * const ddim = r.models[0].rows[0];
 * assert.deepEqual(ddim.points.map((p) => p.nfe), [2, 4]);
 * assert.ok(ddim.points[1].rmse! < ddim.points[0].rmse!); // more steps, closer to the solution
 * ```
 */
export async function runSamplerStudy(
  study: SamplerStudy,
  options: SamplerStudyOptions = {},
): Promise<SamplerStudyResult> {
  const start = performance.now();
  const progress = options.onProgress ?? (() => {});
  // options re-checked as study fields, so that a bad one is named like the file's
  const spec = defineStudy({
    ...study,
    ...(options.seeds === undefined ? {} : { seeds: options.seeds }),
    ...(options.steps === undefined ? {} : { steps: options.steps }),
  });
  const wanted = options.samplers;
  const unknown = wanted?.find((id) => !spec.samplers.some((s) => s.id === id));
  if (unknown !== undefined) {
    throw new StudySpecError(
      spec.name,
      "samplers",
      `'${unknown}' is not one of the study's (${spec.samplers.map((s) => s.id).join(", ")})`,
    );
  }
  const samplers = spec.samplers.filter((s) => !wanted || wanted.includes(s.id));
  const classifierPath = spec.classifier ?? "fixtures/models/digit-classifier.json";
  const classifier = await loadDigitClassifier(classifierPath);
  const fit = { ...DEFAULT_FIT, ...spec.fit };
  const result: SamplerStudyResult = {
    format: SAMPLER_STUDY_FORMAT,
    study: spec.name,
    file: options.file ?? "",
    ...(spec.description === undefined ? {} : { description: spec.description }),
    versions: await runtimeVersions(),
    inputs: await hashStudyInputs(
      [classifierPath, ...spec.models.filter((m) => !m.gaussian).map((m) => m.model)],
      options.manifest === undefined ? "fixtures/manifest.json" : options.manifest,
    ),
    config: { ...spec.config },
    steps: [...spec.steps],
    fit: { ...fit },
    noiseSeed: NOISE_SEED,
    models: [],
    warnings: [],
    ms: 0,
  };
  const warn = (w: string) => {
    if (!result.warnings.includes(w)) result.warnings.push(w);
  };
  const runs = spec.models.reduce(
    (n, m) =>
      n + (m.gaussian ? 0 : 2) +
      samplers.length * spec.steps.length,
    0,
  );
  let done = 0;
  const tick = (what: string) => {
    done++;
    const elapsed = performance.now() - start;
    const eta = done < runs ? ` · ETA ${seconds((elapsed / done) * (runs - done))}` : "";
    progress(`study samplers: ${done}/${runs} runs · ${what} · ${seconds(elapsed)}${eta}`);
  };
  for (const m of spec.models) {
    if (m.gaussian) {
      const subject = gaussianSubject({ ...m, gaussian: m.gaussian }, spec.config ?? {});
      result.models.push(await studyModel(subject, m, spec, samplers, classifier, fit, warn, tick));
      continue;
    }
    const model = await loadModelFolder(m.model, {
      session: { ...options.session },
      vaeEncoder: false,
    });
    try {
      const subject = await subjectOf(model, m, spec.seeds, spec.config ?? {});
      result.models.push(await studyModel(subject, m, spec, samplers, classifier, fit, warn, tick));
    } finally {
      await model.release();
    }
  }
  result.ms = performance.now() - start;
  return result;
}

/**
 * The latents at sigma(0) every sampler is compared with: Gaussian data's closed form, or the
 * study's reference run, checked by its second solver.
 */
async function solution(
  subject: Subject,
  m: ModelSpec,
  spec: SamplerStudy,
  classifier: DigitClassifier,
  fit: { floorFactor: number; exactFloor: number },
  warn: (w: string) => void,
  tick: (what: string) => void,
): Promise<{ z: Tensor; reference: SamplerStudyReference }> {
  const name = m.model.split("/").pop();
  if (subject.exact) {
    const t0 = performance.now();
    const xT = concat(
      Array.from(
        { length: spec.seeds },
        (_, i) => new TorchGenerator(i).randn([1, ...subject.shape]),
      ),
    );
    const z = subject.exact(xT);
    const ms = performance.now() - t0;
    const reference = {
      label: "exact (closed form)",
      steps: 0,
      nfe: 0,
      ms,
      quality: null,
      floor: fit.exactFloor,
      check: null,
    };
    return { z, reference };
  }
  const r = spec.reference!; // defineStudy requires it beside a model folder
  const ref = await sampleBatch(subject, r.spec, r.steps, spec.seeds);
  ref.warnings.forEach(warn);
  tick(`${name} reference ${label(r.spec)} ${r.steps} steps`);
  const chk = await sampleBatch(subject, r.check.spec, r.check.steps, spec.seeds);
  chk.warnings.forEach(warn);
  tick(`${name} check ${label(r.check.spec)} ${r.check.steps} steps`);
  const solved = r.end === "last-step" ? ref.lastInput : ref.z;
  const agreement = trajectoryError(r.check.end === "last-step" ? chk.lastInput : chk.z, solved);
  const pass = agreement.maxAbs <= r.check.tolerance;
  if (!pass) {
    warn(
      `${m.model}: the reference is not converged: ${label(r.check.spec)} at ${r.check.steps} ` +
        `steps differs from it by max |d| ${agreement.maxAbs.toExponential(2)} > ` +
        `${r.check.tolerance}`,
    );
  }
  return {
    z: solved,
    reference: {
      label: label(r.spec),
      steps: r.steps,
      nfe: ref.nfe,
      ms: ref.ms,
      quality: await quality(classifier, subject, ref.z), // the decoded final latents
      floor: fit.floorFactor * agreement.rmse,
      check: {
        label: label(r.check.spec),
        steps: r.check.steps,
        nfe: chk.nfe,
        ms: chk.ms,
        ...agreement,
        tolerance: r.check.tolerance,
        pass,
      },
    },
  };
}

async function studyModel(
  subject: Subject,
  m: ModelSpec,
  spec: SamplerStudy,
  samplers: readonly StudySampler[],
  classifier: DigitClassifier,
  fit: { minSteps: number; floorFactor: number; exactFloor: number },
  warn: (w: string) => void,
  tick: (what: string) => void,
): Promise<SamplerStudyModel> {
  const name = m.model.split("/").pop();
  const solved = await solution(subject, m, spec, classifier, fit, warn, tick);
  const rows: SamplerStudyRow[] = [];
  for (const s of samplers) {
    const stochastic = s.stochastic ?? false;
    const end = s.end ?? "final";
    const points = [];
    for (const steps of spec.steps) {
      const run = await sampleBatch(subject, s.spec, steps, spec.seeds, s.eta ?? 0).catch((err) => {
        // a sampler that blows up is a finding of the study, not the end of it
        if (!(err instanceof NonFiniteError)) throw err;
        warn(`${m.model}: ${s.id} at ${steps} steps: ${err.message}`);
        return null;
      });
      run?.warnings.forEach(warn);
      const err = stochastic
        ? null
        : run
        ? trajectoryError(end === "final" ? run.z : run.lastInput, solved.z)
        : { rmse: NaN, maxAbs: NaN };
      points.push({
        steps,
        nfe: run?.nfe ?? NaN,
        ms: run?.ms ?? NaN,
        rmse: err?.rmse ?? null,
        maxAbs: err?.maxAbs ?? null,
        quality: run ? await quality(classifier, subject, run.z) : null,
      });
      tick(`${name} ${s.id} ${steps} steps`);
    }
    const errors = stochastic ? [] : points.map((p) => ({ steps: p.steps, error: p.rmse! }));
    rows.push({
      id: s.id,
      label: label(s.spec),
      order: s.order ?? null,
      stochastic,
      ...(s.note === undefined ? {} : { note: s.note }),
      points,
      end,
      fit: stochastic
        ? null
        : fitOrder(errors, { minSteps: fit.minSteps, floor: solved.reference.floor }),
      local: stochastic ? [] : localOrders(errors),
    });
  }
  return {
    model: m.model,
    ...(m.gaussian ? { gaussian: { mean: m.gaussian.mean, std: m.gaussian.std } } : {}),
    prompt: subject.labels ? (m.prompt ?? "a handwritten digit {k}") : null,
    guidance: subject.labels ? (m.guidance ?? 1) : null,
    seeds: spec.seeds,
    shape: subject.shape,
    reference: solved.reference,
    rows,
  };
}
