/**
 * Replays scheduler reference files (fixtures/refs/schedulers/<scheduler>/<case>.safetensors,
 * format `diffparity-scheduler-replay/2`, written by fixtures/gen/dump_schedulers_*.py) through
 * a TypeScript scheduler and measures the float32 ulp distance of every step's outputs; also the
 * loops and checks the scheduler tests share.
 *
 * File format (see fixtures/gen/dump_schedulers_ddim_ddpm.py):
 * - tensors `timesteps` (I64, or F32 for sigma schedulers), `alphas_cumprod` (F32; or the
 *   metadata `alphas_cumprod_in` naming the file of the same folder that holds the same values),
 *   `initial_sample`, and stacked over the steps (row i = step i): `model_output`,
 *   `prev_sample`, optional `pred_original_sample` and `model_input` (`scale_model_input`
 *   output), and `variance_noise` (noise the steps added) with `variance_noise_steps` (I64, the
 *   steps its rows belong to). The sample entering step i is row i - 1 of `prev_sample`, or
 *   `initial_sample` for step 0.
 * - metadata: `class_name`, `config` (diffusers `to_json_string()`), `set_timesteps`
 *   (`{"num_inference_steps": n}` or `{"timesteps": [...]}`), `step_kwargs` (snake_case:
 *   `eta`, `use_clipped_model_output`), `noise` (`none` | `generator` | `variance_noise`),
 *   `seed`. With `generator`, ONE torch CPU generator seeded with `seed` drew `initial_sample`
 *   (`randn(initial_sample.shape)`) and then every noise of the steps, in order.
 *
 * Usage:
 * ```ts
 * import { formatReplay, loadSchedulerReference, replayReference } from "./replay_util.ts";
 * import { DDIMScheduler } from "../../core/schedulers/ddim.ts";
 * const ref = await loadSchedulerReference("fixtures/refs/schedulers/ddim/default_10.safetensors");
 * const report = replayReference(ref, DDIMScheduler.fromConfig(ref.config, ref.path));
 * console.log(formatReplay(report)); // report.prevSample.maxUlp, report.timestepsEqual, ...
 * ```
 *
 * @module
 */
import assert from "node:assert/strict";
import { ulpDistance } from "../../core/numerics/f32.ts";
import { readSafetensors, type SafetensorsFile } from "../../core/tensor/safetensors.ts";
import { Tensor } from "../../core/tensor/tensor.ts";
import { TorchGenerator } from "../../core/tensor/torch_generator.ts";
import type { Scheduler, StepOptions } from "../../core/schedulers/types.ts";
import { type Float32Math, ieeeMath, mathTableFromTensors } from "../../core/numerics/f32_math.ts";

/** The format tag of scheduler replay files. */
export const REPLAY_FORMAT = "diffparity-scheduler-replay/2";

/** The largest ulp distance over two equally long arrays, where it is, and the values there. */
export interface UlpSummary {
  /** Largest {@link ulpDistance} (0 for empty arrays). */
  maxUlp: number;
  /** Index of the (first) largest distance, -1 when none. */
  index: number;
  /** The two values at `index`. */
  ours: number;
  reference: number;
  /** Largest absolute difference (NaN pairs count as 0). */
  maxAbs: number;
}

/**
 * The largest float32 ulp distance between `ours` and `reference`, where a NaN in `ours` at a
 * NaN of the reference counts as a match (0): the replay reproduces diffusers' NaNs (e.g.
 * `log(0)` of DDPM's `fixed_large_log` at t = 0) position for position. Any other NaN is
 * {@link ulpDistance}'s Infinity.
 *
 * @throws {RangeError} when the lengths differ.
 * @example
 * ```ts
 * import { maxUlpDistance } from "./replay_util.ts";
 * maxUlpDistance(new Float32Array([1, 2]), new Float32Array([1, 2])).maxUlp; // 0
 * ```
 */
export function maxUlpDistance(ours: ArrayLike<number>, reference: ArrayLike<number>): UlpSummary {
  if (ours.length !== reference.length) {
    throw new RangeError(`maxUlpDistance: lengths differ (${ours.length} vs ${reference.length})`);
  }
  const out: UlpSummary = { maxUlp: 0, index: -1, ours: NaN, reference: NaN, maxAbs: 0 };
  for (let i = 0; i < ours.length; i++) {
    const bothNaN = Number.isNaN(ours[i]) && Number.isNaN(reference[i]);
    const d = bothNaN ? 0 : ulpDistance(ours[i], reference[i]);
    if (out.index < 0 || d > out.maxUlp) {
      out.maxUlp = d;
      out.index = i;
      out.ours = ours[i];
      out.reference = reference[i];
    }
    const abs = Math.abs(ours[i] - reference[i]);
    if (abs > out.maxAbs) out.maxAbs = abs;
  }
  return out;
}

/** One step of a reference file. */
export interface ReferenceStep {
  modelOutput: Tensor;
  prevSample: Tensor;
  predOriginalSample?: Tensor;
  varianceNoise?: Tensor;
  modelInput?: Tensor;
}

/** How `set_timesteps` was called: a count or custom timesteps. */
export interface ReferenceSetTimesteps {
  numInferenceSteps?: number;
  timesteps?: number[];
}

/** A loaded reference file (see the module documentation for the format). */
export interface SchedulerReference {
  path: string;
  /** diffusers class name (`class_name` metadata). */
  className: string;
  /** The scheduler config as diffusers serialized it (snake_case, with `_class_name`). */
  config: Record<string, unknown>;
  setTimesteps: ReferenceSetTimesteps;
  /** `step_kwargs` metadata (snake_case keys). */
  stepKwargs: Record<string, unknown>;
  noise: "none" | "generator" | "variance_noise";
  seed?: number;
  timesteps: number[];
  alphasCumprod?: Float32Array;
  initialSample: Tensor;
  steps: ReferenceStep[];
  /** All metadata strings. */
  metadata: Record<string, string>;
  /** The file itself, for the tensors a test reads beyond the replay's. */
  file: SafetensorsFile;
}

function parseJsonMeta(file: SafetensorsFile, key: string, fallback: unknown): unknown {
  const text = file.metadata[key];
  if (text === undefined) return fallback;
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new Error(`${file.path}: metadata "${key}" is not valid JSON (${String(err)})`);
  }
}

/**
 * The rows of a tensor stacked over steps (`[rows, ...shape]`), one tensor of `shape` per step
 * of `steps`: row i for step i, or, when `<name>_steps` lists the steps the rows belong to, those
 * steps' rows (the others `undefined`). All `undefined` when the file lacks `name`.
 *
 * @example
 * ```ts
 * import { stepRows } from "./replay_util.ts";
 * import { readSafetensors } from "../../core/tensor/safetensors.ts";
 * const f = await readSafetensors("fixtures/refs/schedulers/ddim/default_10.safetensors");
 * stepRows(f, "prev_sample", 10)[3]?.shape; // [2, 4, 2, 2]
 * ```
 */
export function stepRows(
  file: SafetensorsFile,
  name: string,
  steps: number,
): (Tensor | undefined)[] {
  const out: (Tensor | undefined)[] = new Array(steps).fill(undefined);
  if (!file.has(name)) return out;
  const stacked = file.tensor(name);
  const [rows, ...shape] = stacked.shape;
  const at = file.has(`${name}_steps`) ? file.ints(`${name}_steps`) : out.map((_, i) => i);
  if (at.length !== rows || at.some((s) => !Number.isInteger(s) || s < 0 || s >= steps)) {
    throw new Error(
      `${file.path}: "${name}" has ${rows} rows for steps [${at.join(", ")}] of ${steps}`,
    );
  }
  const size = shape.reduce((a, b) => a * b, 1);
  at.forEach((step, r) => {
    out[step] = new Tensor(stacked.data.slice(r * size, (r + 1) * size), shape);
  });
  return out;
}

/**
 * The `alphas_cumprod` of a reference file: its own tensor, or that of the file of the same
 * folder that its metadata `alphas_cumprod_in` names; `undefined` when it has neither.
 *
 * @example
 * ```ts
 * import { referenceAlphasCumprod } from "./replay_util.ts";
 * import { readSafetensors } from "../../core/tensor/safetensors.ts";
 * const f = await readSafetensors("fixtures/refs/schedulers/ddim/sd15_50.safetensors");
 * (await referenceAlphasCumprod(f))?.length; // 1000
 * ```
 */
export async function referenceAlphasCumprod(
  file: SafetensorsFile,
): Promise<Float32Array | undefined> {
  if (file.has("alphas_cumprod")) return file.tensor("alphas_cumprod").data;
  const other = file.metadata.alphas_cumprod_in;
  if (other === undefined) return undefined;
  const path = `${file.path.slice(0, file.path.lastIndexOf("/") + 1)}${other}`;
  const holder = await readSafetensors(path);
  if (!holder.has("alphas_cumprod")) {
    throw new Error(`${file.path}: "alphas_cumprod_in" names ${path}, which has no alphas_cumprod`);
  }
  return holder.tensor("alphas_cumprod").data;
}

/**
 * Reads a fixture .safetensors file whose metadata `format` must be `format`.
 *
 * @throws {Error} naming the file, the format found and the one expected.
 * @example
 * ```ts
 * import { readTagged, REPLAY_FORMAT } from "./replay_util.ts";
 * const f = await readTagged("fixtures/refs/schedulers/ddim/default_10.safetensors", REPLAY_FORMAT);
 * ```
 */
export async function readTagged(path: string, format: string): Promise<SafetensorsFile> {
  const file = await readSafetensors(path);
  if (file.metadata.format !== format) {
    throw new Error(
      `${path}: metadata "format" is ${JSON.stringify(file.metadata.format)} ` +
        `(expected ${JSON.stringify(format)})`,
    );
  }
  return file;
}

/**
 * Reads a `diffparity-scheduler-replay/2` file.
 *
 * @throws {Error} naming the file when the format tag or a required tensor is missing.
 * @example
 * ```ts
 * import { loadSchedulerReference } from "./replay_util.ts";
 * const ref = await loadSchedulerReference("fixtures/refs/schedulers/ddim/default_10.safetensors");
 * ref.steps.length; // 10
 * ```
 */
export async function loadSchedulerReference(path: string): Promise<SchedulerReference> {
  const file = await readTagged(path, REPLAY_FORMAT);
  const timestepsInfo = file.info("timesteps");
  const timesteps = timestepsInfo.dtype.startsWith("F")
    ? Array.from(file.tensor("timesteps").data)
    : file.ints("timesteps");
  const n = timesteps.length;
  const rows = (name: string) => stepRows(file, name, n);
  const [modelOutput, prevSample] = [rows("model_output"), rows("prev_sample")];
  const [predOriginalSample, varianceNoise, modelInput] = [
    rows("pred_original_sample"),
    rows("variance_noise"),
    rows("model_input"),
  ];
  const steps: ReferenceStep[] = timesteps.map((_, i) => {
    if (!modelOutput[i] || !prevSample[i]) {
      throw new Error(`${path}: no model_output / prev_sample row for step ${i}`);
    }
    return {
      modelOutput: modelOutput[i]!,
      prevSample: prevSample[i]!,
      predOriginalSample: predOriginalSample[i],
      varianceNoise: varianceNoise[i],
      modelInput: modelInput[i],
    };
  });
  const setRaw = parseJsonMeta(file, "set_timesteps", {}) as Record<string, unknown>;
  const noise = file.metadata.noise ?? "none";
  if (noise !== "none" && noise !== "generator" && noise !== "variance_noise") {
    throw new Error(`${path}: metadata "noise" is ${JSON.stringify(noise)}`);
  }
  return {
    path,
    className: file.metadata.class_name ?? "",
    config: parseJsonMeta(file, "config", {}) as Record<string, unknown>,
    setTimesteps: {
      numInferenceSteps: setRaw.num_inference_steps as number | undefined,
      timesteps: setRaw.timesteps as number[] | undefined,
    },
    stepKwargs: parseJsonMeta(file, "step_kwargs", {}) as Record<string, unknown>,
    noise,
    seed: file.metadata.seed === undefined ? undefined : Number(file.metadata.seed),
    timesteps,
    alphasCumprod: await referenceAlphasCumprod(file),
    initialSample: file.tensor("initial_sample"),
    steps,
    metadata: { ...file.metadata },
    file,
  };
}

/**
 * The sorted paths of the replay files (`*.safetensors` with the replay format tag) in `dir`.
 *
 * @example
 * ```ts
 * import { listReferenceFiles } from "./replay_util.ts";
 * const files = await listReferenceFiles("fixtures/refs/schedulers/ddpm");
 * ```
 */
export async function listReferenceFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for await (const entry of Deno.readDir(dir)) {
    if (!entry.isFile || !entry.name.endsWith(".safetensors")) continue;
    const path = `${dir}/${entry.name}`;
    const file = await readSafetensors(path);
    if (file.metadata.format === REPLAY_FORMAT) out.push(path);
  }
  return out.sort();
}

/** A scheduler the replay can drive: the {@link Scheduler} interface plus optional extras. */
export type ReplayScheduler = Scheduler & {
  readonly alphasCumprod?: Float32Array;
  setTimesteps(arg: never): void;
  addNoise(original: Tensor, noise: Tensor, t: number | readonly number[]): Tensor;
};

/** Options of {@link replayReference} and {@link freeRunReference}. */
export interface ReplayOptions {
  /**
   * Where step noise comes from. `"auto"` (default): as the reference did it (a TorchGenerator
   * seeded with `seed` for `noise: "generator"`, the stored tensors for `"variance_noise"`).
   * `"stored"`: always pass the step's stored `variance_noise` row as `varianceNoise`
   * (isolates the scheduler's arithmetic from the generator).
   */
  noiseSource?: "auto" | "stored";
  /** Calls `setTimesteps`; default: `setTimesteps(n)` or `setTimesteps({ timesteps })`. */
  setTimesteps?: (scheduler: ReplayScheduler, ref: SchedulerReference) => void;
  /** Extra step options merged over those derived from `step_kwargs` (per step). */
  stepOptions?: (ref: SchedulerReference, step: number) => StepOptions;
}

/** Per-quantity result of a replay: the worst step and element. */
export interface QuantityReport extends UlpSummary {
  /** The step holding the largest distance (-1 when nothing was compared). */
  step: number;
}

/** What {@link replayReference} measured. */
export interface ReplayReport {
  file: string;
  steps: number;
  /** Our `timesteps` equal the reference's exactly. */
  timestepsEqual: boolean;
  oursTimesteps: number[];
  /** Our `alphasCumprod` is bit-identical (undefined when either side has none). */
  alphasCumprodEqual?: boolean;
  /** ulp distance of the generator's first draw from `initial_sample` (generator files only). */
  initialDraw?: UlpSummary;
  prevSample: QuantityReport;
  predOriginalSample: QuantityReport;
  modelInput: QuantityReport;
  /** Largest ulp distance per step of `prevSample`. */
  perStepPrevUlp: number[];
}

function emptyQuantity(): QuantityReport {
  return { maxUlp: 0, index: -1, ours: NaN, reference: NaN, maxAbs: 0, step: -1 };
}

function merge(into: QuantityReport, s: UlpSummary, step: number): void {
  const maxAbs = Math.max(into.maxAbs, s.maxAbs);
  if (into.step < 0 || s.maxUlp > into.maxUlp) Object.assign(into, s, { step });
  into.maxAbs = maxAbs;
}

function defaultSetTimesteps(scheduler: ReplayScheduler, ref: SchedulerReference): void {
  const set = scheduler.setTimesteps as (arg: unknown) => void;
  if (ref.setTimesteps.timesteps !== undefined) {
    set.call(scheduler, { timesteps: ref.setTimesteps.timesteps });
  } else if (ref.setTimesteps.numInferenceSteps !== undefined) {
    set.call(scheduler, ref.setTimesteps.numInferenceSteps);
  } else {
    throw new Error(`${ref.path}: metadata "set_timesteps" has neither a count nor timesteps`);
  }
}

function baseStepOptions(ref: SchedulerReference): StepOptions {
  const opts: StepOptions = {};
  const k = ref.stepKwargs;
  if (typeof k.eta === "number") opts.eta = k.eta;
  if (typeof k.use_clipped_model_output === "boolean") {
    opts.useClippedModelOutput = k.use_clipped_model_output;
  }
  return opts;
}

/**
 * The generator of a generator-noise file, advanced past the draw of the initial sample, and
 * how far that draw is from the file's (`initial_noise` where stored, else `initial_sample`).
 */
function startGenerator(ref: SchedulerReference): { generator: TorchGenerator; draw: UlpSummary } {
  if (ref.seed === undefined || !Number.isSafeInteger(ref.seed)) {
    throw new Error(`${ref.path}: noise "generator" needs an integer "seed" in the metadata`);
  }
  const generator = new TorchGenerator(ref.seed);
  const first = generator.randn(ref.initialSample.shape);
  // sigma schedulers start from the draw times init_noise_sigma and store the draw itself
  const drawn = ref.file.has("initial_noise")
    ? ref.file.tensor("initial_noise")
    : ref.initialSample;
  return { generator, draw: maxUlpDistance(first.data, drawn.data) };
}

function noiseOptions(
  ref: SchedulerReference,
  i: number,
  source: "auto" | "stored",
  generator: TorchGenerator | undefined,
): StepOptions {
  const stored = ref.steps[i].varianceNoise;
  if (source === "stored") return stored ? { varianceNoise: stored } : {};
  if (ref.noise === "generator") return { generator };
  if (ref.noise === "variance_noise" && stored) return { varianceNoise: stored };
  return {};
}

/**
 * Replays `ref` through `scheduler` (fresh, built from `ref.config`): sets the timesteps as the
 * reference did, then feeds step i the reference's sample and model output and compares what
 * comes out. Nothing is asserted; the caller checks the report.
 *
 * @example
 * ```ts
 * import { loadSchedulerReference, replayReference } from "./replay_util.ts";
 * import { DDIMScheduler } from "../../core/schedulers/ddim.ts";
 * const ref = await loadSchedulerReference("fixtures/refs/schedulers/ddim/default_10.safetensors");
 * const r = replayReference(ref, DDIMScheduler.fromConfig(ref.config, ref.path));
 * r.prevSample.maxUlp; // 0 when bit-exact
 * ```
 */
export function replayReference(
  ref: SchedulerReference,
  scheduler: ReplayScheduler,
  options: ReplayOptions = {},
): ReplayReport {
  (options.setTimesteps ?? defaultSetTimesteps)(scheduler, ref);
  const ours = [...scheduler.timesteps];
  const report: ReplayReport = {
    file: ref.path,
    steps: ref.steps.length,
    timestepsEqual: ours.length === ref.timesteps.length &&
      ours.every((t, i) => t === ref.timesteps[i]),
    oursTimesteps: ours,
    prevSample: emptyQuantity(),
    predOriginalSample: emptyQuantity(),
    modelInput: emptyQuantity(),
    perStepPrevUlp: [],
  };
  if (ref.alphasCumprod && scheduler.alphasCumprod) {
    const a = scheduler.alphasCumprod;
    const b = ref.alphasCumprod;
    report.alphasCumprodEqual = a.length === b.length &&
      maxUlpDistance(a, b).maxUlp === 0 && a.every((v, i) => Object.is(v, b[i]));
  }
  const source = options.noiseSource ?? "auto";
  let generator: TorchGenerator | undefined;
  if (ref.noise === "generator" && source === "auto") {
    const started = startGenerator(ref);
    generator = started.generator;
    report.initialDraw = started.draw;
  }
  for (let i = 0; i < ref.steps.length; i++) {
    const step = ref.steps[i];
    const t = ref.timesteps[i];
    const sampleIn = i === 0 ? ref.initialSample : ref.steps[i - 1].prevSample;
    if (step.modelInput) {
      merge(
        report.modelInput,
        maxUlpDistance(scheduler.scaleModelInput(sampleIn, t).data, step.modelInput.data),
        i,
      );
    }
    const opts: StepOptions = {
      ...baseStepOptions(ref),
      ...noiseOptions(ref, i, source, generator),
      ...(options.stepOptions?.(ref, i) ?? {}),
    };
    const out = scheduler.step(step.modelOutput, t, sampleIn, opts);
    const prev = maxUlpDistance(out.prevSample.data, step.prevSample.data);
    merge(report.prevSample, prev, i);
    report.perStepPrevUlp.push(prev.maxUlp);
    if (step.predOriginalSample && out.predOriginalSample) {
      merge(
        report.predOriginalSample,
        maxUlpDistance(out.predOriginalSample.data, step.predOriginalSample.data),
        i,
      );
    }
  }
  return report;
}

/** A model for free runs: the model output for `sample` at timestep `t`. */
export type ReplayModel = (sample: Tensor, t: number, ref: SchedulerReference) => Tensor;

/** What {@link freeRunReference} measured: how far our own trajectory drifts. */
export interface FreeRunReport {
  file: string;
  steps: number;
  /** Largest ulp distance of our sample from the reference's, per step. */
  perStepUlp: number[];
  /** Largest absolute difference per step. */
  perStepAbs: number[];
  /** The final sample's comparison. */
  final: UlpSummary;
  /** Largest ulp distance of our model outputs from the reference's (when a model is given). */
  modelOutputMaxUlp: number;
}

/**
 * Free run: starts from `initial_sample` and feeds each step OUR previous output, with model
 * outputs from `model` (or the reference's `model_output` rows when no model is given), and
 * compares every sample with the reference trajectory.
 *
 * @example
 * ```ts
 * import { freeRunReference, loadSchedulerReference } from "./replay_util.ts";
 * import { DDIMScheduler } from "../../core/schedulers/ddim.ts";
 * const ref = await loadSchedulerReference("fixtures/refs/schedulers/ddim/default_10.safetensors");
 * const r = freeRunReference(ref, DDIMScheduler.fromConfig(ref.config));
 * r.final.maxUlp;
 * ```
 */
export function freeRunReference(
  ref: SchedulerReference,
  scheduler: ReplayScheduler,
  model?: ReplayModel,
  options: ReplayOptions = {},
): FreeRunReport {
  (options.setTimesteps ?? defaultSetTimesteps)(scheduler, ref);
  const source = options.noiseSource ?? "auto";
  const generator = ref.noise === "generator" && source === "auto"
    ? startGenerator(ref).generator
    : undefined;
  const report: FreeRunReport = {
    file: ref.path,
    steps: ref.steps.length,
    perStepUlp: [],
    perStepAbs: [],
    final: { maxUlp: 0, index: -1, ours: NaN, reference: NaN, maxAbs: 0 },
    modelOutputMaxUlp: 0,
  };
  let sample = ref.initialSample;
  const timesteps = scheduler.timesteps;
  for (let i = 0; i < ref.steps.length; i++) {
    const t = timesteps[i];
    let modelOutput = ref.steps[i].modelOutput;
    if (model) {
      modelOutput = model(scheduler.scaleModelInput(sample, t), t, ref);
      const d = maxUlpDistance(modelOutput.data, ref.steps[i].modelOutput.data).maxUlp;
      report.modelOutputMaxUlp = Math.max(report.modelOutputMaxUlp, d);
    }
    const opts: StepOptions = {
      ...baseStepOptions(ref),
      ...noiseOptions(ref, i, source, generator),
      ...(options.stepOptions?.(ref, i) ?? {}),
    };
    sample = scheduler.step(modelOutput, t, sample, opts).prevSample;
    const d = maxUlpDistance(sample.data, ref.steps[i].prevSample.data);
    report.perStepUlp.push(d.maxUlp);
    report.perStepAbs.push(d.maxAbs);
    report.final = d;
  }
  return report;
}

/**
 * The stand-in model of fixtures/gen/dump_schedulers_ddim_ddpm.py, in the same float32
 * operation order: with Python floats `a = 0.9 - t / 2500`, `b = 0.2 + t / 5000`,
 * `out = a * x + b * (x / (1 + x * x))`; for `learned` a second half of channels
 * `0.0004 + 0.0002 * (x * x)`, for `learned_range` a second half `x / (1 + x * x)`
 * (concatenated along dimension 1).
 *
 * @example
 * ```ts
 * import { standInModel } from "./replay_util.ts";
 * import { Tensor } from "../../core/tensor/tensor.ts";
 * standInModel(new Tensor(new Float32Array([1]), [1, 1]), 0).data; // [1] (0.9 * 1 + 0.2 * 0.5)
 * ```
 */
export function standInModel(x: Tensor, t: number, varianceType?: string): Tensor {
  const f = Math.fround;
  const a = f(0.9 - t / 2500); // Python float, converted to float32 by the tensor op
  const b = f(0.2 + t / 5000);
  const n = x.size;
  const main = new Float32Array(n);
  const second = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const v = x.data[i];
    const sq = f(v * v);
    const ratio = f(v / f(1 + sq));
    main[i] = f(a * v) + f(b * ratio);
    if (varianceType === "learned") second[i] = f(0.0004) + f(f(0.0002) * sq);
    else second[i] = ratio;
  }
  if (varianceType !== "learned" && varianceType !== "learned_range") {
    return new Tensor(main, x.shape);
  }
  if (x.shape.length < 2) throw new RangeError("standInModel: learned variance needs [B, C, ...]");
  const [batch, channels, ...rest] = x.shape;
  const inner = rest.reduce((p, d) => p * d, 1);
  const out = new Float32Array(2 * n);
  const block = channels * inner;
  for (let bIdx = 0; bIdx < batch; bIdx++) {
    out.set(main.subarray(bIdx * block, (bIdx + 1) * block), 2 * bIdx * block);
    out.set(second.subarray(bIdx * block, (bIdx + 1) * block), (2 * bIdx + 1) * block);
  }
  return new Tensor(out, [batch, 2 * channels, ...rest]);
}

/**
 * One line summarizing a replay report.
 *
 * @example
 * ```ts
 * import { formatReplay, type ReplayReport } from "./replay_util.ts";
 * function show(r: ReplayReport) { console.log(formatReplay(r)); }
 * ```
 */
export function formatReplay(r: ReplayReport): string {
  const name = r.file.split("/").slice(-2).join("/");
  const x0 = r.predOriginalSample.step < 0 ? "-" : String(r.predOriginalSample.maxUlp);
  return `${name}: ${r.steps} steps, prev_sample max ulp ${r.prevSample.maxUlp}` +
    (r.prevSample.maxUlp > 0 ? ` (step ${r.prevSample.step}, index ${r.prevSample.index})` : "") +
    `, pred_original_sample max ulp ${x0}, timesteps ${r.timestepsEqual ? "equal" : "DIFFER"}` +
    (r.alphasCumprodEqual === undefined
      ? ""
      : `, alphas_cumprod ${r.alphasCumprodEqual ? "bit-equal" : "DIFFER"}`);
}

/**
 * The largest float32 ulp distance between two tensors (or arrays) of equal length.
 *
 * @example
 * ```ts
 * import { ulpBetween } from "./replay_util.ts";
 * ulpBetween(new Float32Array([1]), new Float32Array([1])); // 0
 * ```
 */
export function ulpBetween(a: Tensor | ArrayLike<number>, b: Tensor | ArrayLike<number>): number {
  return maxUlpDistance(a instanceof Tensor ? a.data : a, b instanceof Tensor ? b.data : b).maxUlp;
}

/**
 * The per-step quantities a replay compares, with diffusers' names: `prev_sample`,
 * `pred_original_sample`, `model_input`.
 *
 * @example
 * ```ts
 * import { replayQuantities, type ReplayReport } from "./replay_util.ts";
 * function worst(r: ReplayReport) { return Math.max(...replayQuantities(r).map(([, q]) => q.maxUlp)); }
 * ```
 */
export function replayQuantities(r: ReplayReport): [string, QuantityReport][] {
  return [
    ["prev_sample", r.prevSample],
    ["pred_original_sample", r.predOriginalSample],
    ["model_input", r.modelInput],
  ];
}

/** One replayed reference: the file, the scheduler it ran through, and what was measured. */
export interface ReplayedReference<S extends ReplayScheduler = ReplayScheduler> {
  ref: SchedulerReference;
  scheduler: S;
  report: ReplayReport;
}

/**
 * Replays every reference file of `files` through a scheduler built by `make`, asserting what
 * holds for every scheduler port: the file is of class `className`, our timesteps equal the
 * reference's, our `alphas_cumprod` is bit-equal, and (generator files) our generator's first
 * draw is the reference's `initial_sample`. The test then checks the step figures it expects.
 *
 * @example
 * ```ts
 * import { listReferenceFiles, replayAll } from "./replay_util.ts";
 * import { DDIMScheduler } from "../../core/schedulers/ddim.ts";
 * const files = await listReferenceFiles("fixtures/refs/schedulers/ddim");
 * const runs = await replayAll(files, "DDIMScheduler", (ref) => DDIMScheduler.fromConfig(ref.config));
 * Math.max(...runs.map((r) => r.report.prevSample.maxUlp)); // 0
 * ```
 */
export async function replayAll<S extends ReplayScheduler>(
  files: readonly string[],
  className: string,
  make: (ref: SchedulerReference) => S,
  options: (ref: SchedulerReference, scheduler: S) => ReplayOptions = () => ({}),
): Promise<ReplayedReference<S>[]> {
  const out: ReplayedReference<S>[] = [];
  for (const path of files) {
    const ref = await loadSchedulerReference(path);
    assert.equal(ref.className, className, path);
    const scheduler = make(ref);
    const report = replayReference(ref, scheduler, options(ref, scheduler));
    assert.ok(
      report.timestepsEqual,
      `${path}: timesteps ${report.oursTimesteps} vs ${ref.timesteps}`,
    );
    assert.equal(report.alphasCumprodEqual, true, `${path}: alphas_cumprod differ`);
    if (report.initialDraw) assert.equal(report.initialDraw.maxUlp, 0, `${path}: generator draw`);
    out.push({ ref, scheduler, report });
  }
  return out;
}

/** One free run of a reference: the file and how far our own trajectory drifted. */
export interface FreeRun {
  ref: SchedulerReference;
  report: FreeRunReport;
  /** Largest per-step ulp distance of our samples from the reference's. */
  drift: number;
}

/**
 * Free-runs every reference of `files` ({@link freeRunReference}) through a scheduler built by
 * `make`, with model outputs from `model`. Nothing is asserted; the test checks the drift.
 *
 * @example
 * ```ts
 * import { freeRunAll, listReferenceFiles, standInModel } from "./replay_util.ts";
 * import { DDIMScheduler } from "../../core/schedulers/ddim.ts";
 * const files = await listReferenceFiles("fixtures/refs/schedulers/ddim");
 * const runs = await freeRunAll(files, (ref) => DDIMScheduler.fromConfig(ref.config), (x, t) =>
 *   standInModel(x, t));
 * ```
 */
export async function freeRunAll(
  files: readonly string[],
  make: (ref: SchedulerReference) => ReplayScheduler,
  model: ReplayModel,
  options: (ref: SchedulerReference) => ReplayOptions = () => ({}),
): Promise<FreeRun[]> {
  const out: FreeRun[] = [];
  for (const path of files) {
    const ref = await loadSchedulerReference(path);
    const report = freeRunReference(ref, make(ref), model, options(ref));
    out.push({ ref, report, drift: Math.max(0, ...report.perStepUlp) });
  }
  return out;
}

/**
 * The largest ulp distance of `scheduler.addNoise` from diffusers' `add_noise` stored in the
 * reference (`add_noise.original`, `.noise`, `.timestep`, `.result`: a fresh scheduler after
 * `set_timesteps`, one timestep per batch item).
 *
 * @example
 * ```ts
 * import { addNoiseUlp, loadSchedulerReference } from "./replay_util.ts";
 * import { PNDMScheduler } from "../../core/schedulers/pndm.ts";
 * const ref = await loadSchedulerReference("fixtures/refs/schedulers/pndm/prk_4.safetensors");
 * const s = PNDMScheduler.fromConfig(ref.config);
 * s.setTimesteps(4);
 * addNoiseUlp(ref, s); // 0
 * ```
 */
export function addNoiseUlp(ref: SchedulerReference, scheduler: ReplayScheduler): number {
  const f = ref.file;
  const t = f.info("add_noise.timestep").dtype.startsWith("F")
    ? Array.from(f.tensor("add_noise.timestep").data)
    : f.ints("add_noise.timestep");
  const added = scheduler.addNoise(
    f.tensor("add_noise.original"),
    f.tensor("add_noise.noise"),
    t[0],
  );
  const perItem = scheduler.addNoise(
    f.tensor("add_noise.original"),
    f.tensor("add_noise.noise"),
    t,
  );
  return Math.max(
    ulpBetween(added, f.tensor("add_noise.result")),
    ulpBetween(perItem, f.tensor("add_noise.result")),
  );
}

/** One entry of fixtures/refs/schedulers/ddpm/timesteps_table.json (diffusers' `set_timesteps`). */
export interface TimestepsTableEntry {
  num_train_timesteps: number;
  num_inference_steps: number;
  timestep_spacing: "leading" | "trailing" | "linspace";
  steps_offset: number;
  /** The classes whose `set_timesteps` gave these timesteps (DDIMInverse: reversed). */
  classes: string[];
  /** DDIM's and DDPM's timesteps, descending. */
  timesteps: number[];
}

/**
 * The entries of diffusers' `set_timesteps` table (fixtures/refs/schedulers/ddpm/timesteps_table.json)
 * that apply to `className`.
 *
 * @example
 * ```ts
 * import { timestepsTable } from "./replay_util.ts";
 * (await timestepsTable("DDIMScheduler")).length > 100; // true
 * ```
 */
export async function timestepsTable(className: string): Promise<TimestepsTableEntry[]> {
  const table = JSON.parse(
    await Deno.readTextFile("fixtures/refs/schedulers/ddpm/timesteps_table.json"),
  ) as { columns: string[]; entries: unknown[][] };
  // one row per entry, its fields named by `columns`; the timesteps as runs of equal differences
  const entries = table.entries.map((row) => {
    const e = Object.fromEntries(table.columns.map((name, i) => [name, row[i]]));
    const { timesteps_runs: runs, ...rest } = e as { timesteps_runs: number[] };
    return { ...rest, timesteps: expandTimestepRuns(runs) } as unknown as TimestepsTableEntry;
  });
  return entries.filter((e) => e.classes.includes(className));
}

/**
 * `[t0, d1, c1, d2, c2, ...]` -> t0, then c1 timesteps each d1 after the last, then c2 each d2
 * after it, ... (fixtures/gen/dump_schedulers_ddim_ddpm.py's timestep_runs, undone).
 */
function expandTimestepRuns(runs: number[]): number[] {
  const ts = [runs[0]];
  for (let i = 1; i + 1 < runs.length; i += 2) {
    for (let k = 0; k < runs[i + 1]; k++) ts.push(ts[ts.length - 1] + runs[i]);
  }
  return ts;
}

/**
 * Asserts that every free run fed the stand-in model exactly the inputs diffusers did (its
 * outputs equal the reference's) and drifted at most `maxDrift` ulp; returns the largest drift.
 *
 * @example
 * ```ts
 * import { assertFreeRuns, freeRunAll, listReferenceFiles } from "./replay_util.ts";
 * import { PNDMScheduler } from "../../core/schedulers/pndm.ts";
 * import { standInEps } from "./stand_in_eps.ts";
 * const files = await listReferenceFiles("fixtures/refs/schedulers/pndm");
 * const runs = await freeRunAll(files, (ref) => PNDMScheduler.fromConfig(ref.config), standInEps);
 * assertFreeRuns(runs, 0); // 0
 * ```
 */
export function assertFreeRuns(runs: readonly FreeRun[], maxDrift: number): number {
  assert.ok(runs.length > 0, "no free runs");
  for (const { ref, report, drift } of runs) {
    assert.equal(report.modelOutputMaxUlp, 0, `${ref.path}: the stand-in model's outputs differ`);
    assert.ok(drift <= maxDrift, `${ref.path}: drift ${report.perStepUlp.join(",")} ulp`);
  }
  return Math.max(...runs.map((r) => r.drift));
}

/** The options a `timesteps_table.json` entry sets. */
export interface TimestepsTableOptions {
  numTrainTimesteps: number;
  timestepSpacing: "leading" | "trailing" | "linspace";
  stepsOffset: number;
}

/**
 * Checks a class's `setTimesteps` against diffusers' table: for every entry of `className`, a
 * scheduler from `make(entry's options)` given `setTimesteps(n)` must hold `expected(entry)`
 * (default: the entry's timesteps). Returns the number of entries checked.
 *
 * @example
 * ```ts
 * import { checkTimestepsTable } from "./replay_util.ts";
 * import { DDPMScheduler } from "../../core/schedulers/ddpm.ts";
 * await checkTimestepsTable("DDPMScheduler", (o) => new DDPMScheduler(o)); // > 100
 * ```
 */
export async function checkTimestepsTable(
  className: string,
  make: (options: TimestepsTableOptions) => { setTimesteps(n: number): void; timesteps: number[] },
  expected: (entry: TimestepsTableEntry) => number[] = (e) => e.timesteps,
): Promise<number> {
  const entries = await timestepsTable(className);
  for (const e of entries) {
    const s = make({
      numTrainTimesteps: e.num_train_timesteps,
      timestepSpacing: e.timestep_spacing,
      stepsOffset: e.steps_offset,
    });
    s.setTimesteps(e.num_inference_steps);
    assert.deepEqual(s.timesteps, expected(e), JSON.stringify({ ...e, timesteps: undefined }));
  }
  return entries.length;
}

/**
 * The reference machine's float32 sqrt/exp/log as the reference recorded them (the pairs where
 * torch differs from the correctly rounded result, written by the DPM-Solver, UniPC and DEIS
 * dumpers in fixtures/gen/), IEEE elsewhere; IEEE when nothing was recorded.
 *
 * @example
 * ```ts
 * import { loadSchedulerReference, recordedMathOrIeee } from "./replay_util.ts";
 * const ref = await loadSchedulerReference("fixtures/refs/schedulers/deis/o2_steps_1.safetensors");
 * recordedMathOrIeee(ref).sqrt(4); // 2
 * ```
 */
export function recordedMathOrIeee(ref: SchedulerReference): Float32Math {
  const f = ref.file;
  return mathTableFromTensors((n) => f.has(n) ? f.tensor(n).data : undefined, ref.path) ??
    ieeeMath;
}

/**
 * A scheduler of class `cls` from the reference's config with `overrides` (snake_case), on the
 * reference's recorded math ({@link recordedMathOrIeee}).
 *
 * @example
 * ```ts
 * import { fromReference, loadSchedulerReference } from "./replay_util.ts";
 * import { DEISMultistepScheduler } from "../../core/schedulers/deis.ts";
 * const ref = await loadSchedulerReference("fixtures/refs/schedulers/deis/o2_steps_1.safetensors");
 * fromReference(DEISMultistepScheduler, ref, { solver_order: 1 }).config.solverOrder; // 1
 * ```
 */
export function fromReference<S>(
  cls: { fromConfig(json: unknown, source?: string, math?: Float32Math): S },
  ref: SchedulerReference,
  overrides: Record<string, unknown> = {},
): S {
  return cls.fromConfig({ ...ref.config, ...overrides }, ref.path, recordedMathOrIeee(ref));
}

/**
 * A reference file's case name: the file name without its folder and `.safetensors`.
 *
 * @example
 * ```ts
 * import { referenceName } from "./replay_util.ts";
 * referenceName("fixtures/refs/schedulers/deis/o2_steps_1.safetensors"); // "o2_steps_1"
 * ```
 */
export function referenceName(path: string): string {
  return path.split("/").at(-1)!.replace(".safetensors", "");
}
