/**
 * Where the ports take their float32 `sqrt`, `exp`, `log` and `pow` from.
 *
 * torch's float32 transcendental kernels are not correctly rounded on every machine (MKL VML,
 * SLEEF, CUDA's fast math): a reference made on such a machine holds results one or two ulp
 * from the correctly rounded ones, and a scheduler step amplifies that into thousands of ulp of
 * latents. Every scheduler, sampler and pipeline step therefore asks a {@link Float32Math} for
 * these operations: {@link ieeeMath} (correctly rounded, the default, what a port gets), or a
 * {@link MathTable} of the results a reference machine produced, recorded by the dumper or
 * inferred from the reference's tensors (harness/reference_math.ts). A table answers the inputs
 * it holds and falls back to IEEE for the others, counting those misses.
 *
 * @module
 */
import { f32Bits, f32FromBits, signedUlp } from "./f32.ts";

/**
 * The operations a {@link Float32Math} provides. `sqrt` also stands for torch's `x ** 0.5`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { type MathOp, MATH_OPS } from "./f32_math.ts";
 * const op: MathOp = "pow";
 * assert.ok(MATH_OPS.includes(op));
 * ```
 */
export type MathOp = "sqrt" | "exp" | "log" | "pow";

/**
 * The op names in a fixed order (their index is part of a {@link mathKey}).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { MATH_OPS } from "./f32_math.ts";
 * assert.deepEqual(MATH_OPS, ["sqrt", "exp", "log", "pow"]);
 * ```
 */
export const MATH_OPS: readonly MathOp[] = Object.freeze(["sqrt", "exp", "log", "pow"]);

/**
 * A source of float32 transcendental results: each method takes float32 values and returns
 * the float32 result, as torch's float32 kernel on some machine would.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { type Float32Math, ieeeMath } from "./f32_math.ts";
 * const m: Float32Math = ieeeMath;
 * assert.equal(m.sqrt(2), Math.fround(Math.SQRT2));
 * ```
 */
export interface Float32Math {
  /** A short name for reports: "ieee", "recorded", "inferred". */
  readonly name: string;
  /** float32 `sqrt(x)` (torch's `x.sqrt()` and `x ** 0.5`). */
  sqrt(x: number): number;
  /** float32 `exp(x)`. */
  exp(x: number): number;
  /** float32 `log(x)`. */
  log(x: number): number;
  /** float32 `x ** p` for a float32 `x` and a Python-float exponent `p`. */
  pow(x: number, p: number): number;
}

/**
 * The key of one operation on one input in a {@link MathTable}: the op, the input's float32
 * bits and, for `pow`, the exponent rounded to float32 (as the reference stores it).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { mathKey } from "./f32_math.ts";
 * assert.equal(mathKey("sqrt", 1), "sqrt:3f800000");
 * assert.equal(mathKey("pow", 2, 1.5), "pow:40000000^1.5");
 * ```
 */
export function mathKey(op: MathOp, x: number, p?: number): string {
  const hex = f32Bits(x).toString(16).padStart(8, "0");
  // the exponent as the reference stores it (float32), so a double 1/7 finds a recorded 1/7
  return op === "pow" ? `pow:${hex}^${Math.fround(p ?? NaN)}` : `${op}:${hex}`;
}

/**
 * The parts of a {@link mathKey}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseMathKey } from "./f32_math.ts";
 * assert.deepEqual(parseMathKey("pow:40000000^1.5"), { op: "pow", x: 2, p: 1.5 });
 * ```
 */
export function parseMathKey(key: string): { op: MathOp; x: number; p?: number } {
  const [op, rest] = key.split(":") as [MathOp, string];
  const [hex, p] = rest.split("^");
  const x = f32FromBits(parseInt(hex, 16));
  return p === undefined ? { op, x } : { op, x, p: Number(p) };
}

/**
 * The correctly rounded result of `op` on float32 inputs: the double result rounded once to
 * float32 (exact for sqrt; for exp, log and pow the double result is within one double ulp,
 * so the float32 rounding is the correct one but in a ~2^-29 fraction of cases).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ieeeResult } from "./f32_math.ts";
 * assert.equal(ieeeResult("exp", 0), 1);
 * assert.equal(ieeeResult("pow", 4, 0.5), 2);
 * ```
 */
export function ieeeResult(op: MathOp, x: number, p = 1): number {
  switch (op) {
    case "sqrt":
      return Math.fround(Math.sqrt(x));
    case "exp":
      return Math.fround(Math.exp(x));
    case "log":
      return Math.fround(Math.log(x));
    case "pow":
      return p === 0.5 ? Math.fround(Math.sqrt(x)) : Math.fround(Math.pow(x, p));
  }
}

/**
 * Correctly rounded float32 math: what a port that computes IEEE results gets, and the
 * default of every scheduler and pipeline.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ieeeMath } from "./f32_math.ts";
 * assert.equal(ieeeMath.sqrt(0.25), 0.5);
 * assert.equal(ieeeMath.log(1), 0);
 * ```
 */
export const ieeeMath: Float32Math = Object.freeze({
  name: "ieee",
  sqrt: (x: number) => Math.fround(Math.sqrt(x)),
  exp: (x: number) => Math.fround(Math.exp(x)),
  log: (x: number) => Math.fround(Math.log(x)),
  pow: (x: number, p: number) => ieeeResult("pow", x, p),
});

/**
 * One entry of a {@link MathTable} that differs from the IEEE result.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { f32Step } from "./f32.ts";
 * import { MathTable } from "./f32_math.ts";
 * const t = new MathTable("demo");
 * t.set("sqrt", 2, f32Step(Math.fround(Math.SQRT2), 1));
 * assert.equal(t.deviations()[0].ulp, 1);
 * ```
 */
export interface MathDeviation {
  /** The operation. */
  op: MathOp;
  /** The float32 input. */
  x: number;
  /** The exponent, for `pow`. */
  p?: number;
  /** The table's result. */
  value: number;
  /** The correctly rounded result. */
  ieee: number;
  /** Signed ulp distance value - ieee (positive: the table's result is above). */
  ulp: number;
}

/**
 * float32 results of a reference machine, by input: recorded by the dumper (`source`
 * "recorded") or inferred from a reference's tensors ("inferred"). Inputs it lacks get the IEEE
 * result and count as misses; `hits` and `misses` count calls, `missed` keeps the distinct
 * missed keys.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { f32Step } from "./f32.ts";
 * import { MathTable } from "./f32_math.ts";
 * const t = new MathTable("recorded");
 * const up = f32Step(Math.fround(Math.SQRT2), 1); // a sqrt(2) one ulp above IEEE
 * t.set("sqrt", 2, up);
 * assert.equal(t.sqrt(2), up);
 * assert.equal(t.sqrt(4), 2); // not in the table: IEEE, one miss
 * assert.deepEqual([t.hits, t.misses], [1, 1]);
 * assert.equal(t.deviations()[0].ulp, 1);
 * ```
 */
export class MathTable implements Float32Math {
  /** "recorded" or "inferred". */
  readonly name: string;
  /** Calls answered from the table. */
  hits = 0;
  /** Calls answered with the IEEE result because the table lacks the input. */
  misses = 0;
  /** The distinct keys that missed. */
  readonly missed: Set<string> = new Set();
  readonly #values = new Map<string, number>();

  /**
   * An empty table.
   *
   * @param source "recorded" or "inferred" (the name reports show)
   */
  constructor(source: "recorded" | "inferred" | string) {
    this.name = source;
  }

  /** Number of entries. */
  get size(): number {
    return this.#values.size;
  }

  /** Sets the result of `op` on `x` (and exponent `p` for pow). */
  set(op: MathOp, x: number, value: number, p?: number): void {
    this.#values.set(mathKey(op, x, p), Math.fround(value));
  }

  /** Sets an entry by key. */
  setKey(key: string, value: number): void {
    this.#values.set(key, Math.fround(value));
  }

  /** Removes an entry. */
  delete(key: string): void {
    this.#values.delete(key);
  }

  /** The entry for a key, or undefined. */
  getKey(key: string): number | undefined {
    return this.#values.get(key);
  }

  /** Every entry as [key, value]. */
  entries(): IterableIterator<[string, number]> {
    return this.#values.entries();
  }

  /** The result for `key`: the table's, else IEEE (a miss). */
  lookup(op: MathOp, x: number, p?: number): number {
    const key = mathKey(op, x, p);
    const v = this.#values.get(key);
    if (v !== undefined) {
      this.hits++;
      return v;
    }
    this.misses++;
    this.missed.add(key);
    return ieeeResult(op, x, p);
  }

  /** float32 sqrt (also `x ** 0.5`). */
  sqrt(x: number): number {
    return this.lookup("sqrt", x);
  }
  /** float32 exp. */
  exp(x: number): number {
    return this.lookup("exp", x);
  }
  /** float32 log. */
  log(x: number): number {
    return this.lookup("log", x);
  }
  /** float32 pow; an exponent of 0.5 is sqrt, as in torch. */
  pow(x: number, p: number): number {
    return p === 0.5 ? this.lookup("sqrt", x) : this.lookup("pow", x, p);
  }

  /** The entries whose value differs from the correctly rounded result. */
  deviations(): MathDeviation[] {
    const out: MathDeviation[] = [];
    for (const [key, value] of this.#values) {
      const { op, x, p } = parseMathKey(key);
      const ieee = ieeeResult(op, x, p);
      if (Object.is(ieee, value) || (Number.isNaN(ieee) && Number.isNaN(value))) continue;
      out.push({
        op,
        x,
        ...(p === undefined ? {} : { p }),
        value,
        ieee,
        ulp: signedUlp(value, ieee),
      });
    }
    return out;
  }

  /** Resets the hit and miss counters. */
  resetCounts(): void {
    this.hits = 0;
    this.misses = 0;
    this.missed.clear();
  }
}

/**
 * The names of the tensors a reference stores its recorded math in: per op `math.<op>.in` and
 * `math.<op>.out` (float32, one entry per distinct input), and for `pow` also
 * `math.pow.exponent`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { mathTensorNames } from "./f32_math.ts";
 * assert.deepEqual(mathTensorNames("exp"), ["math.exp.in", "math.exp.out"]);
 * ```
 */
export function mathTensorNames(op: MathOp): string[] {
  const base = [`math.${op}.in`, `math.${op}.out`];
  return op === "pow" ? [...base, "math.pow.exponent"] : base;
}

/**
 * A {@link MathTable} ("recorded") from a reference's `math.*` tensors, or `null` when it holds
 * none. `tensor(name)` returns the named float32 data, or undefined when absent.
 *
 * @throws {RangeError} naming `source` and the tensor when an `in` / `out` pair is incomplete
 * or of different lengths, or an input appears twice with different results.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { mathTableFromTensors } from "./f32_math.ts";
 * const stored: Record<string, Float32Array> = {
 *   "math.sqrt.in": new Float32Array([2]),
 *   "math.sqrt.out": new Float32Array([1.4142136573791504]), // one ulp above IEEE
 * };
 * const t = mathTableFromTensors((n) => stored[n], "ref.safetensors")!;
 * assert.equal(t.sqrt(2), 1.4142136573791504);
 * assert.equal(mathTableFromTensors(() => undefined, "none.safetensors"), null);
 * ```
 */
export function mathTableFromTensors(
  tensor: (name: string) => Float32Array | undefined,
  source: string,
): MathTable | null {
  const table = new MathTable("recorded");
  let any = false;
  for (const op of MATH_OPS) {
    const [inName, outName, expName] = mathTensorNames(op);
    const xs = tensor(inName);
    const ys = tensor(outName);
    const ps = expName ? tensor(expName) : undefined;
    if (xs === undefined && ys === undefined) continue;
    if (xs === undefined || ys === undefined || xs.length !== ys.length) {
      throw new RangeError(
        `${source}: ${xs === undefined ? inName : outName}: expected ${inName} and ${outName} ` +
          `of equal length (got ${xs?.length ?? "none"} and ${ys?.length ?? "none"})`,
      );
    }
    if (op === "pow" && (ps === undefined || ps.length !== xs.length)) {
      throw new RangeError(`${source}: ${expName}: expected one exponent per ${inName} entry`);
    }
    any = true;
    for (let i = 0; i < xs.length; i++) {
      const p = ps ? ps[i] : undefined;
      const key = mathKey(op, xs[i], p);
      const old = table.getKey(key);
      if (old !== undefined && !Object.is(old, ys[i]) && !(isNaN(old) && isNaN(ys[i]))) {
        throw new RangeError(
          `${source}: ${outName}: input ${xs[i]} has two results, ${old} and ${ys[i]} ` +
            `(expected one result per input)`,
        );
      }
      table.setKey(key, ys[i]);
    }
  }
  return any ? table : null;
}
