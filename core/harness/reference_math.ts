/**
 * Inferring a reference machine's float32 math from the reference's own tensors, for
 * references that did not record it (plain diffusers or optimum runs).
 *
 * A step's output depends on a few transcendental scalars (DDIM: `sqrt(a_t)`, `sqrt(1 - a_t)`,
 * `sqrt(a_prev)`, ...; Euler: entries of the sqrt sigma table; DDPM: `exp`/`log` of the
 * variance). When our step, given the reference's inputs, does not reproduce the reference's
 * output bit for bit, {@link inferStepMath} finds which of the scalars the step used matter
 * (group testing: move a set of them one ulp and see whether the output moves) and searches
 * their +-1..2-ulp neighbours for the combination that reproduces the output exactly; what it
 * finds is kept for the rest of the run. {@link inferElementwise} does the same per element for
 * elementwise operations (the VAE sample's `exp(0.5 * logvar)`). Both are bounded.
 *
 * @module
 */
import { f32Step, sameFloat32Bits } from "../numerics/f32.ts";
import {
  type Float32Math,
  mathKey,
  type MathOp,
  MathTable,
  parseMathKey,
} from "../numerics/f32_math.ts";
import { ProbeMath } from "../numerics/probe_math.ts";

/**
 * One step whose output the search explained, and the table entries it settled.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { InferredStep } from "./reference_math.ts";
 * const s: InferredStep = { step: 3, keys: ["sqrt:3e99999a"], trials: 2 }; // sqrt(0.3)
 * assert.equal(s.keys.length, 1);
 * ```
 */
export interface InferredStep {
  /** The step (-1: the initial latents). */
  step: number;
  /** The keys set (or changed) to reproduce it. */
  keys: string[];
  /** Runs of the step the search made. */
  trials: number;
}

/**
 * What {@link inferStepMath} found.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { MathTable } from "../numerics/f32_math.ts";
 * import type { StepMathInference } from "./reference_math.ts";
 * const r: StepMathInference = {
 *   table: new MathTable("inferred"), held: [-1, 0, 2], explained: [], unexplained: [1], exact: 3, runs: 9,
 * };
 * assert.deepEqual(r.unexplained, [1]);
 * ```
 */
export interface StepMathInference {
  /** The inferred table (the base table, extended). */
  table: MathTable;
  /** Steps the final table reproduces bit for bit, in order (exact or explained). */
  held: number[];
  /** Steps reproduced only after changing table entries. */
  explained: InferredStep[];
  /** Steps no combination within the bounds reproduced (or, once entries are dropped, that no
   * longer reproduce). */
  unexplained: number[];
  /** Steps reproduced with the math as it stood. */
  exact: number;
  /** Runs of steps made in all. */
  runs: number;
  /**
   * Entries dropped because, with steps left unexplained, they took those steps farther from
   * the reference than IEEE math (set by the caller that checks it).
   */
  discarded?: number;
}

/**
 * Options of {@link inferStepMath}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { StepMathOptions } from "./reference_math.ts";
 * const bounds: Partial<StepMathOptions> = { maxOffset: 2, maxTrials: 256 };
 * assert.equal(bounds.maxTrials, 256);
 * ```
 */
export interface StepMathOptions {
  /** The steps to check, in order (e.g. -1 for the initial latents, then 0..n-1). */
  steps: readonly number[];
  /**
   * Runs step `step` with `math` on the reference's inputs and returns its output; undefined
   * when the step has no reference to compare with.
   */
  run(math: Float32Math, step: number): Promise<Float32Array | undefined>;
  /** The reference's output of `step`. */
  expected(step: number): Float32Array | undefined;
  /** The table to start from (default: empty, "inferred"); it is extended in place. */
  table?: MathTable;
  /** Largest ulp offset tried per scalar (default 2). */
  maxOffset?: number;
  /** Largest number of scalars changed together (default 3). */
  maxChanged?: number;
  /** Largest number of relevant scalars searched (default 8). */
  maxRelevant?: number;
  /** Run budget of the combination search per step (default 512). */
  maxTrials?: number;
  /** Give up after this many unexplained steps (default: never). */
  stopAfterUnexplained?: number;
  /**
   * Checks a change that reproduces a step before it is kept (e.g. that the steps explained
   * earlier still hold); `math` is the table with the change applied.
   */
  accept?: (math: Float32Math) => Promise<boolean>;
}

/**
 * Infers, step by step, the float32 results of the reference machine's transcendental
 * operations that make our steps reproduce the reference's outputs bit for bit.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { f32Step } from "../numerics/f32.ts";
 * import type { Float32Math } from "../numerics/f32_math.ts";
 * import { inferStepMath } from "./reference_math.ts";
 * // a "step" computing x * sqrt(a); the reference machine's sqrt(0.3) was one ulp high
 * const refSqrt = f32Step(Math.fround(Math.sqrt(Math.fround(0.3))), 1);
 * const step = (m: Float32Math) => Float32Array.of(2 * m.sqrt(Math.fround(0.3)), m.sqrt(4));
 * const r = await inferStepMath({
 *   steps: [0],
 *   run: (m) => Promise.resolve(step(m)),
 *   expected: () => Float32Array.of(2 * refSqrt, 2),
 * });
 * assert.equal(r.table.sqrt(Math.fround(0.3)), refSqrt);
 * assert.equal(r.table.deviations()[0].ulp, 1);
 * ```
 */
export async function inferStepMath(opts: StepMathOptions): Promise<StepMathInference> {
  const table = opts.table ?? new MathTable("inferred");
  const maxOffset = opts.maxOffset ?? 2;
  const maxChanged = opts.maxChanged ?? 3;
  const maxRelevant = opts.maxRelevant ?? 8;
  const maxTrials = opts.maxTrials ?? 512;
  const held: number[] = [];
  const result: StepMathInference = {
    table,
    held,
    explained: [],
    unexplained: [],
    exact: 0,
    runs: 0,
  };
  const offsets: number[] = [];
  for (let k = 1; k <= maxOffset; k++) offsets.push(k, -k);

  const stillHold = async (math: Float32Math) => {
    for (const s of held) {
      result.runs++;
      const out = await opts.run(math, s);
      if (!out || !sameFloat32Bits(out, opts.expected(s)!)) return false;
    }
    return true;
  };
  for (const step of opts.steps) {
    const want = opts.expected(step);
    if (!want) continue;
    const probe = new ProbeMath(table);
    const got = await opts.run(probe, step);
    result.runs++;
    if (!got) continue; // the step gave nothing to compare
    if (sameFloat32Bits(got, want)) {
      result.exact++;
      held.push(step);
      continue;
    }
    const runWith = async (offsets: Map<number, number>) => {
      const p = new ProbeMath(table, offsets);
      result.runs++;
      return { out: await opts.run(p, step), probe: p };
    };
    // 1. Which scalars move this step's output (group testing, +1 then -1 ulp)? Scalars are
    // named by their position in the step's first-call order.
    const moves = async (positions: number[], k: number) => {
      const { out } = await runWith(new Map(positions.map((pos) => [pos, k])));
      return out !== undefined && !sameFloat32Bits(out, got);
    };
    const relevant: number[] = [];
    const all = probe.keys().map((_, i) => i);
    for (const k of [1, -1]) {
      const rest = all.filter((pos) => !relevant.includes(pos));
      for (const pos of await findMovers(rest, (positions) => moves(positions, k))) {
        if (relevant.length < maxRelevant) relevant.push(pos);
      }
    }
    relevant.sort((a, b) => a - b);
    // 2. The smallest change of those scalars that reproduces the reference: one ulp moves
    // first (one scalar, then two, then three), then moves of up to `maxOffset` ulps.
    let trials = 0;
    let found = null as Map<string, number> | null;
    search: for (let size = 1; size <= maxOffset; size++) {
      const moves = offsets.filter((o) => Math.abs(o) <= size);
      for (let changed = 1; changed <= Math.min(maxChanged, relevant.length); changed++) {
        for (const combo of combinations(relevant, changed)) {
          for (const offs of tuples(moves, changed)) {
            if (!offs.some((o) => Math.abs(o) === size)) continue; // tried at a smaller size
            if (trials >= maxTrials) break search;
            trials++;
            const trial = await runWith(new Map(combo.map((pos, i) => [pos, offs[i]])));
            if (trial.out && sameFloat32Bits(trial.out, want)) {
              const assigned = trial.probe.assigned();
              const candidate = withEntries(table, assigned);
              // a change must keep every step reproduced so far
              if (
                !(await stillHold(candidate)) || (opts.accept && !(await opts.accept(candidate)))
              ) {
                continue;
              }
              found = assigned;
              break search;
            }
          }
        }
      }
    }
    if (!found) {
      result.unexplained.push(step);
      if (result.unexplained.length >= (opts.stopAfterUnexplained ?? Infinity)) break;
      continue;
    }
    for (const [key, value] of found) table.setKey(key, value);
    held.push(step);
    result.explained.push({ step, keys: [...found.keys()], trials });
  }
  table.resetCounts();
  return result;
}

/** A copy of `table` with `entries` set. */
function withEntries(table: MathTable, entries: ReadonlyMap<string, number>): MathTable {
  const out = new MathTable(table.name);
  for (const [key, value] of table.entries()) out.setKey(key, value);
  for (const [key, value] of entries) out.setKey(key, value);
  return out;
}

/** The keys among `keys` whose change alone moves the output, by halving (group testing). */
async function findMovers(
  keys: number[],
  moves: (keys: number[]) => Promise<boolean>,
): Promise<number[]> {
  if (keys.length === 0 || !(await moves(keys))) return [];
  if (keys.length === 1) return keys;
  const mid = keys.length >> 1;
  const found = [
    ...await findMovers(keys.slice(0, mid), moves),
    ...await findMovers(keys.slice(mid), moves),
  ];
  // moved together but neither half alone: keep a small set whole
  return found.length > 0 || keys.length > 8 ? found : keys;
}

function* combinations<T>(items: readonly T[], k: number, start = 0): Generator<T[]> {
  if (k === 0) {
    yield [];
    return;
  }
  for (let i = start; i <= items.length - k; i++) {
    for (const rest of combinations(items, k - 1, i + 1)) yield [items[i], ...rest];
  }
}

function* tuples<T>(values: readonly T[], k: number): Generator<T[]> {
  if (k === 0) {
    yield [];
    return;
  }
  for (const v of values) for (const rest of tuples(values, k - 1)) yield [v, ...rest];
}

/**
 * What {@link inferElementwise} found.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { ElementwiseInference } from "./reference_math.ts";
 * const r: ElementwiseInference = { changed: 1, unexplained: 0, elements: 2 };
 * assert.equal(r.elements - r.changed - r.unexplained, 1); // reproduced as it stood
 * ```
 */
export interface ElementwiseInference {
  /** Elements whose op result was moved to reproduce the reference. */
  changed: number;
  /** Elements that still differ. */
  unexplained: number;
  /** Elements compared. */
  elements: number;
}

/**
 * Infers an elementwise operation's results: `outputs(results)` must compute element j of the
 * output from `results[j] = op(inputs[j])` alone (the VAE sample: `mean + exp(0.5 * logvar) *
 * noise`, scaled). Each element that differs from `expected` gets the nearest of its op
 * result's +-1..`maxOffset` ulp neighbours that reproduces it, set in `table` (4 evaluations of
 * `outputs` for offset 2, whatever the size).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { f32Step } from "../numerics/f32.ts";
 * import { MathTable } from "../numerics/f32_math.ts";
 * import { inferElementwise } from "./reference_math.ts";
 * const inputs = Float32Array.of(-1, 0.5);
 * const refExp = f32Step(Math.fround(Math.exp(-1)), -1); // the reference's exp(-1), 1 ulp low
 * const outputs = (e: Float32Array) => e.map((v) => v * 3);
 * const table = new MathTable("inferred");
 * const r = inferElementwise("exp", inputs, outputs, Float32Array.of(refExp * 3, Math.fround(Math.exp(0.5)) * 3), table);
 * assert.deepEqual(r, { changed: 1, unexplained: 0, elements: 2 });
 * assert.equal(table.exp(-1), refExp);
 * ```
 */
export function inferElementwise(
  op: Exclude<MathOp, "pow">,
  inputs: Float32Array,
  outputs: (results: Float32Array) => Float32Array,
  expected: Float32Array,
  table: MathTable,
  maxOffset = 2,
): ElementwiseInference {
  const n = inputs.length;
  const results = new Float32Array(n);
  for (let j = 0; j < n; j++) {
    results[j] = table.getKey(mathKey(op, inputs[j])) ?? table[op](inputs[j]);
  }
  let out = outputs(results);
  const open = new Set<number>();
  for (let j = 0; j < n; j++) if (!Object.is(out[j], expected[j])) open.add(j);
  let changed = 0;
  for (let k = 1; k <= maxOffset && open.size > 0; k++) {
    for (const sign of [1, -1]) {
      const tried = results.slice();
      for (const j of open) tried[j] = f32Step(results[j], sign * k);
      out = outputs(tried);
      for (const j of [...open]) {
        if (!Object.is(out[j], expected[j])) continue;
        const key = mathKey(op, inputs[j]);
        const prior = table.getKey(key);
        if (prior !== undefined && !Object.is(prior, tried[j])) continue; // one result per input
        table.setKey(key, tried[j]);
        open.delete(j);
        changed++;
      }
    }
  }
  table.resetCounts();
  return { changed, unexplained: open.size, elements: n };
}

/**
 * One line per op that says how the table's results differ from correctly rounded ones and,
 * when `usage` is given (key -> steps that used it), at how many steps they mattered, e.g.
 * `sqrt: 4 inputs 1 ulp above IEEE (sqrt(0.0140049) at 3 of 10 steps)`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { f32Step } from "../numerics/f32.ts";
 * import { MathTable } from "../numerics/f32_math.ts";
 * import { describeDeviations } from "./reference_math.ts";
 * const t = new MathTable("recorded");
 * t.set("sqrt", 2, f32Step(Math.fround(Math.SQRT2), 1));
 * assert.deepEqual(describeDeviations(t), ["sqrt: 1 input 1 ulp above IEEE (sqrt(2))"]);
 * ```
 */
export function describeDeviations(
  table: MathTable,
  usage?: ReadonlyMap<string, ReadonlySet<number>>,
  totalSteps?: number,
): string[] {
  const byOp = new Map<string, { key: string; ulp: number; used: number }[]>();
  for (const d of table.deviations()) {
    const key = mathKey(d.op, d.x, d.p);
    const name = d.op === "pow" ? `pow^${d.p}` : d.op;
    const list = byOp.get(name) ?? [];
    list.push({ key, ulp: d.ulp, used: usage?.get(key)?.size ?? 0 });
    byOp.set(name, list);
  }
  const lines: string[] = [];
  for (const [name, list] of byOp) {
    const up = list.filter((d) => d.ulp > 0).length;
    const down = list.length - up;
    const maxUlp = Math.max(...list.map((d) => Math.abs(d.ulp)));
    const dir = up && down ? `${up} above, ${down} below` : up ? "above" : "below";
    const most = [...list].sort((a, b) => b.used - a.used)[0];
    const { op, x, p } = parseMathKey(most.key);
    const arg = op === "pow" ? `${Number(x.toPrecision(6))}^${p}` : `${Number(x.toPrecision(6))}`;
    const where = usage && totalSteps && most.used > 0
      ? ` at ${most.used} of ${totalSteps} steps`
      : "";
    const plural = list.length === 1 ? "input" : "inputs";
    lines.push(
      `${name}: ${list.length} ${plural} ${maxUlp === 1 ? "1 ulp" : `up to ${maxUlp} ulp`} ${dir}` +
        ` IEEE (${op}(${arg})${where})`,
    );
  }
  return lines;
}
