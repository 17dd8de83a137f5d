/**
 * The TypeScript twin of the stand-in model of fixtures/gen/dump_schedulers_pndm_lms_euler.py
 * and fixtures/gen/dump_samplers_compvis_labml.py, for the free-run tests of PNDM, LMSDiscrete,
 * EulerDiscrete, CompVis PLMS and labml DDIM, plus the reader of the recorded CompVis / labml
 * sampler runs.
 *
 * @module
 */
import assert from "node:assert/strict";
import type { Denoiser } from "../../core/schedulers/types.ts";
import type { SafetensorsFile } from "../../core/tensor/safetensors.ts";
import { Tensor } from "../../core/tensor/tensor.ts";
import { readTagged, referenceAlphasCumprod, stepRows } from "./replay_util.ts";

/**
 * `eps(x, t) = a * x + b * (x / (1 + x * x))` with Python floats `a = 0.9 * cos(t / 300)` and
 * `b = 0.1 * sin((t + 1) / 500)` converted to float32 by each tensor operation, every
 * operation rounded to float32 as torch does.
 *
 * @example
 * ```ts
 * import { standInEps } from "./stand_in_eps.ts";
 * import { Tensor } from "../../core/tensor/tensor.ts";
 * standInEps(new Tensor(new Float32Array([1, -2]), [1, 2]), 999).shape; // [1, 2]
 * ```
 */
export function standInEps(x: Tensor, t: number): Tensor {
  const f = Math.fround;
  const a = f(0.9 * Math.cos(t / 300.0));
  const b = f(0.1 * Math.sin((t + 1.0) / 500.0));
  const out = x.data.map((v) => f(a * v) + f(b * f(v / f(1 + f(v * v)))));
  return new Tensor(out, x.shape);
}

/**
 * A run of an LDM-style sampler recorded by fixtures/gen/dump_samplers_compvis_labml.py (format
 * `diffparity-sampler-run/2`): the file, its parsed `params` and `schedule`, the model's
 * `alphas_cumprod`, and the per-step tensors (`x`, `eps`, `pred_x0`, `x_prev`, `noise`) by step.
 */
export interface SamplerRun {
  path: string;
  file: SafetensorsFile;
  /** The sampler's parameters (`steps`, `ddim_discretize`, `ddim_eta`, `seed`, ...). */
  params: Record<string, unknown>;
  /** The noise schedule: `linear_start`, `linear_end`, `timesteps` (and LDM's `beta_schedule`). */
  schedule: { beta_schedule?: string; linear_start: number; linear_end: number; timesteps: number };
  /** The `alphas_cumprod` the original model registered. */
  alphasCumprod: Float32Array;
  /** The timestep of every step taken, in order. */
  t: number[];
  /** Step `i`'s row of a stacked tensor (`undefined` where that step has none, e.g. `noise`). */
  row(name: string, i: number): Tensor | undefined;
  /** Step `i`'s row of a tensor every step has (`x`, `eps`, `pred_x0`, `x_prev`); throws if absent. */
  at(name: string, i: number): Tensor;
}

/** The sampler-run format tag. */
export const SAMPLER_RUN_FORMAT = "diffparity-sampler-run/2";

/**
 * Reads a recorded sampler run.
 *
 * @throws {Error} naming the file when its format tag is not {@link SAMPLER_RUN_FORMAT}.
 * @example
 * ```ts
 * import { loadSamplerRun } from "./stand_in_eps.ts";
 * const run = await loadSamplerRun("fixtures/refs/samplers/labml_ddim/steps_1.safetensors");
 * run.row("x_prev", 0)?.shape; // [2, 4, 2, 2]
 * ```
 */
export async function loadSamplerRun(path: string): Promise<SamplerRun> {
  const file = await readTagged(path, SAMPLER_RUN_FORMAT);
  const t = file.ints("t");
  const cache = new Map<string, (Tensor | undefined)[]>();
  const alphasCumprod = await referenceAlphasCumprod(file);
  if (alphasCumprod === undefined) throw new Error(`${path}: no alphas_cumprod`);
  const row = (name: string, i: number): Tensor | undefined => {
    if (!cache.has(name)) cache.set(name, stepRows(file, name, t.length));
    return cache.get(name)![i];
  };
  return {
    path,
    file,
    params: JSON.parse(file.metadata.params),
    schedule: JSON.parse(file.metadata.schedule),
    alphasCumprod,
    t,
    row,
    at(name, i) {
      const found = row(name, i);
      if (found === undefined) throw new Error(`${path}: no "${name}" row for step ${i}`);
      return found;
    },
  };
}

/**
 * The `*.safetensors` files of a folder, sorted.
 *
 * @example
 * ```ts
 * import { safetensorsIn } from "./stand_in_eps.ts";
 * const files = await safetensorsIn("fixtures/refs/samplers/labml_ddim");
 * ```
 */
export async function safetensorsIn(dir: string): Promise<string[]> {
  const out: string[] = [];
  for await (const e of Deno.readDir(dir)) {
    if (e.isFile && e.name.endsWith(".safetensors")) out.push(`${dir}/${e.name}`);
  }
  return out.sort();
}

/** One model call as the sampler made it: its input, timestep and what the model answered. */
export interface Call {
  x: Tensor;
  t: number;
  out: Tensor;
}

/** Wraps `denoise` so that every call the sampler makes is appended to `calls`. */
export function recording(denoise: Denoiser, calls: Call[]): Denoiser {
  return async (x, t) => {
    const out = await denoise(x, t);
    calls.push({ x, t, out });
    return out;
  };
}

/** {@link standInEps} as a denoiser. */
export const standIn: Denoiser = (x, t) => Promise.resolve(standInEps(x, t));

/**
 * Asserts that `step(denoise, x, i)` refuses each `i` outside an `n`-step schedule with the
 * RangeError `<who>.step: step i is not a step of the n-step schedule`, calling no model.
 */
export async function assertStepsRefused(
  sampler: { step(denoise: Denoiser, x: Tensor, i: number): Promise<unknown> },
  who: string,
  n: number,
  indices: readonly number[],
  denoise: Denoiser = standIn,
): Promise<void> {
  for (const i of indices) {
    const calls: Call[] = [];
    await assert.rejects(
      () => sampler.step(recording(denoise, calls), Tensor.zeros([1, 2]), i),
      (e: unknown) =>
        e instanceof RangeError &&
        e.message === `${who}.step: step ${i} is not a step of the ${n}-step schedule`,
      `step ${i}`,
    );
    assert.equal(calls.length, 0, `step ${i} calls no model`);
  }
}
