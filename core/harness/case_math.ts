/**
 * Which float32 sqrt/exp/log a case's runs use: the table its reference recorded, one inferred
 * from the reference's tensors, or IEEE (see `CaseSpec.referenceMath`), and the summary the
 * verdict and the report show.
 *
 * @module
 */
import { sameFloat32Bits, signedUlp } from "../numerics/f32.ts";
import { type Float32Math, ieeeMath, MathTable } from "../numerics/f32_math.ts";
import { type UsageMath } from "../numerics/probe_math.ts";
import type { ReferenceMathMode } from "./case.ts";
import {
  describeDeviations,
  type ElementwiseInference,
  inferElementwise,
  inferStepMath,
  type StepMathInference,
} from "./reference_math.ts";
import type { CaseReference } from "./references.ts";
import type { ReferenceMathSummary } from "../results/schema.ts";

/**
 * An elementwise operation of the pipeline to infer: `outputs(results)` from `results[j] =
 * exp(inputs[j])`, against `expected` (the VAE sample of img2img / inpaint).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { ElementwiseProblem } from "./case_math.ts";
 * // the std of a latent distribution: exp(0.5 * logvar) for logvar 0 is 1
 * const vae: ElementwiseProblem = {
 *   inputs: new Float32Array([0]),
 *   outputs: (results) => results,
 *   expected: new Float32Array([1]),
 * };
 * assert.deepEqual(vae.outputs(new Float32Array([Math.exp(0)])), vae.expected);
 * ```
 */
export interface ElementwiseProblem {
  /** The float32 inputs of `exp`. */
  inputs: Float32Array;
  /** The output tensor's data from the op results. */
  outputs(results: Float32Array): Float32Array;
  /** The reference's output. */
  expected: Float32Array;
}

/** Summed float32 ulp distance between two arrays (each element's capped at 2^20). */
function ulpGap(a: Float32Array, b: Float32Array): number {
  let total = 0;
  for (let i = 0; i < a.length; i++) total += Math.min(Math.abs(signedUlp(a[i], b[i])), 2 ** 20);
  return total;
}

/**
 * The math a case runs with, and how it was found.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ieeeMath } from "../numerics/f32_math.ts";
 * import type { ResolvedMath } from "./case_math.ts";
 * const m: ResolvedMath = { math: ieeeMath, table: null, source: "ieee" };
 * assert.equal(m.source, "ieee");
 * ```
 */
export interface ResolvedMath {
  /** What the runs take their sqrt/exp/log from. */
  math: Float32Math;
  /** The table behind `math` (null for IEEE). */
  table: MathTable | null;
  /** Where it came from. */
  source: "recorded" | "inferred" | "ieee";
  /** The step search, for an inferred table. */
  steps?: StepMathInference;
  /** The elementwise search, for an inferred table. */
  elementwise?: ElementwiseInference;
  /** The search on the model's input scaling (checked through the model outputs). */
  modelSteps?: StepMathInference;
}

/**
 * Resolves the math of a case by `mode`: "auto" takes the reference's recorded table and infers
 * one when there is none; "recorded" requires a recorded table; "inferred" ignores it;
 * "ieee" uses correctly rounded math. `replay(math, step)` runs step `step` (-1: the initial
 * latents) on the reference's inputs; `vae` is the elementwise problem, if the pipeline has one;
 * `replayModel(math, step)` gives the model output of a step on the reference's inputs, which
 * checks the math of the model's input scaling (`scale_model_input`'s `sqrt(sigma^2 + 1)`,
 * seen by no scheduler output): a bounded search (at most 16 candidates a step), given up at
 * the first step it cannot explain. Each replay restarts from step 0 and each accepted change
 * re-checks the steps reproduced so far, so the cost grows with the cube of the step count when
 * many steps need changes; with recorded math none of this runs.
 *
 * @throws {Error} naming the reference file when "recorded" finds no recorded math.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { resolveReferenceMath } from "./case_math.ts";
 * import type { CaseReference } from "./references.ts";
 * const ref = { path: "r.safetensors", math: null } as unknown as CaseReference;
 * const m = await resolveReferenceMath("ieee", ref, () => Promise.resolve(undefined));
 * assert.equal(m.source, "ieee");
 * await assert.rejects(
 *   resolveReferenceMath("recorded", ref, () => Promise.resolve(undefined)),
 *   /r\.safetensors: referenceMath "recorded": the reference holds no math\.\* tensors/,
 * );
 * ```
 */
export async function resolveReferenceMath(
  mode: ReferenceMathMode,
  ref: CaseReference,
  replay: (math: Float32Math, step: number) => Promise<Float32Array | undefined>,
  vae?: ElementwiseProblem,
  replayModel?: (math: Float32Math, step: number) => Promise<Float32Array | undefined>,
): Promise<ResolvedMath> {
  if (mode === "ieee") return { math: ieeeMath, table: null, source: "ieee" };
  if (mode !== "inferred" && ref.math) {
    return { math: ref.math, table: ref.math, source: "recorded" };
  }
  if (mode === "recorded") {
    throw new Error(
      `${ref.path}: referenceMath "recorded": the reference holds no math.* tensors ` +
        `(regenerate it with \`deno task refs\`, or use referenceMath "auto")`,
    );
  }
  const table = new MathTable("inferred");
  const elementwise = vae
    ? inferElementwise("exp", vae.inputs, vae.outputs, vae.expected, table)
    : undefined;
  const schedulerSteps = [-1, ...Array.from({ length: ref.steps }, (_, i) => i)];
  const expected = (s: number) => (s === -1 ? ref.initLatents.data : ref.prevSample(s)?.data);
  const before = new Set([...table.entries()].map(([key]) => key));
  const steps = await inferStepMath({ steps: schedulerSteps, run: replay, expected, table });
  // A table that leaves steps unexplained can be worse than none: keep what the step search
  // added only if it brings the scheduler steps as a whole closer to the reference (summed ulp
  // distance over every step) than the table without it.
  const gap = async (math: Float32Math) => {
    let total = 0;
    for (const s of schedulerSteps) {
      const out = await replay(math, s);
      const want = expected(s);
      if (out && want) total += ulpGap(out, want);
    }
    return total;
  };
  if (steps.unexplained.length > 0) {
    const withoutSteps = new MathTable("inferred");
    for (const [key, value] of table.entries()) {
      if (before.has(key)) withoutSteps.setKey(key, value);
    }
    if ((await gap(table)) > (await gap(withoutSteps))) {
      const added = [...table.entries()].filter(([key]) => !before.has(key));
      for (const [key] of added) table.delete(key);
      steps.discarded = added.length;
    }
  }
  if (steps.discarded) {
    // the steps the dropped results explained may not hold any more: check them again
    const held: number[] = [];
    for (const s of schedulerSteps) {
      const out = await replay(table, s);
      const want = expected(s);
      if (out && want && sameFloat32Bits(out, want)) held.push(s);
    }
    steps.held = held;
    steps.unexplained = schedulerSteps.filter((s) => !held.includes(s) && expected(s));
    steps.explained = [];
  }
  // a change the model outputs ask for must keep every scheduler step that holds now
  const held = steps.held;
  const keepsSchedulerSteps = async (math: Float32Math) => {
    for (const s of held) {
      const out = await replay(math, s);
      const want = expected(s);
      if (!out || !want || !sameFloat32Bits(out, want)) return false;
    }
    return true;
  };
  const modelSteps = replayModel
    ? await inferStepMath({
      steps: Array.from({ length: ref.steps }, (_, i) => i),
      run: replayModel,
      expected: (s) => ref.modelOutput(s)?.data,
      table,
      maxRelevant: 2,
      maxTrials: 16,
      stopAfterUnexplained: 1,
      accept: keepsSchedulerSteps,
    })
    : undefined;
  return {
    math: table,
    table,
    source: "inferred",
    steps,
    ...(elementwise ? { elementwise } : {}),
    ...(modelSteps ? { modelSteps } : {}),
  };
}

/**
 * The reference's `math` metadata (written by fixtures/gen/ref_math.py) in words: torch's
 * version, CPU capability, MKL_CBWR, and whether the math was deliberately skewed.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { describeMachine } from "./case_math.ts";
 * const meta = '{"torch":"2.13.0+cpu","cpu_capability":"AVX512","mkl_cbwr":"AVX2","skew":null}';
 * assert.equal(describeMachine(meta), "torch 2.13.0+cpu, CPU capability AVX512, MKL_CBWR=AVX2");
 * assert.equal(describeMachine(undefined), undefined);
 * ```
 */
export function describeMachine(metadata: string | undefined): string | undefined {
  if (!metadata) return undefined;
  try {
    const m = JSON.parse(metadata) as Record<string, unknown>;
    const parts = [`torch ${m.torch}`, `CPU capability ${m.cpu_capability}`];
    if (m.mkl_cbwr) parts.push(`MKL_CBWR=${m.mkl_cbwr}`);
    if (m.skew) parts.push(`deliberately non-IEEE: ${m.skew}`);
    return parts.join(", ");
  } catch {
    return undefined;
  }
}

/**
 * The summary of a resolved math after the runs: entries, how many are not IEEE, misses (for a
 * recorded table: count them by resetting the table's counters before the runs), and one line
 * per op on where the reference's results differ (`usage`: key -> steps that used it).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ieeeMath } from "../numerics/f32_math.ts";
 * import { summarizeMath } from "./case_math.ts";
 * const s = summarizeMath({ math: ieeeMath, table: null, source: "ieee" }, undefined, 10);
 * assert.deepEqual([s.source, s.pairs, s.lines], ["ieee", 0, []]);
 * ```
 */
export function summarizeMath(
  resolved: ResolvedMath,
  usage: UsageMath | undefined,
  steps: number,
  machine?: string,
): ReferenceMathSummary {
  const t = resolved.table;
  return {
    source: resolved.source,
    pairs: t?.size ?? 0,
    nonIeee: t ? t.deviations().length : 0,
    misses: resolved.source === "recorded" && t ? t.misses : 0,
    missedInputs: resolved.source === "recorded" && t ? t.missed.size : 0,
    unexplainedSteps: resolved.steps?.unexplained ?? [],
    ...(resolved.steps?.discarded ? { discarded: resolved.steps.discarded } : {}),
    ...(resolved.elementwise ? { elementwise: resolved.elementwise } : {}),
    lines: t ? describeDeviations(t, usage?.usage, steps) : [],
    ...(machine ? { machine } : {}),
  };
}
