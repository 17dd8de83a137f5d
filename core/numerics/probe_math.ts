/**
 * {@link Float32Math} wrappers that watch a run: {@link ProbeMath}, which moves chosen results
 * by whole ulps (the probe of the reference-math inference search), and {@link UsageMath},
 * which counts the distinct inputs a run asks for.
 *
 * @module
 */
import { f32Step } from "./f32.ts";
import { type Float32Math, mathKey, type MathOp } from "./f32_math.ts";

/**
 * A {@link Float32Math} that answers from `base`, logs the distinct keys it is asked for (in
 * first-call order), and moves the result of the k-th distinct key by `offsets.get(k)` ulps:
 * the probe the inference search runs a reference step with. Offsets go by position, not by
 * input, so that when one result feeds the input of another (DDPM's `exp(0.5 * log(v))`), moving
 * the first still moves the second.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ieeeMath, mathKey } from "./f32_math.ts";
 * import { ProbeMath } from "./probe_math.ts";
 * const probe = new ProbeMath(ieeeMath, new Map([[0, 1]]));
 * assert.equal(probe.sqrt(4), 2 + 2 ** -22); // first key: one ulp up
 * assert.equal(probe.sqrt(9), 3);
 * assert.deepEqual(probe.keys(), [mathKey("sqrt", 4), mathKey("sqrt", 9)]);
 * assert.deepEqual([...probe.assigned()], [[mathKey("sqrt", 4), 2 + 2 ** -22]]);
 * ```
 */
export class ProbeMath implements Float32Math {
  readonly name = "probe";
  readonly #base: Float32Math;
  readonly #offsets: ReadonlyMap<number, number>;
  /** key -> [position, answered value] */
  readonly #seen = new Map<string, [number, number]>();

  /**
   * A probe over `base`.
   *
   * @param base the math that answers
   * @param offsets position in first-call order -> ulps to move that key's result by
   */
  constructor(base: Float32Math, offsets: ReadonlyMap<number, number> = new Map()) {
    this.#base = base;
    this.#offsets = offsets;
  }

  /** The distinct keys asked for, in first-call order. */
  keys(): string[] {
    return [...this.#seen.keys()];
  }

  /** The keys whose result was moved, with the value answered. */
  assigned(): Map<string, number> {
    const out = new Map<string, number>();
    for (const [key, [pos, value]] of this.#seen) if (this.#offsets.has(pos)) out.set(key, value);
    return out;
  }

  #answer(op: MathOp, x: number, p: number | undefined, base: () => number): number {
    const key = mathKey(op, x, p);
    const seen = this.#seen.get(key);
    if (seen) return seen[1];
    const pos = this.#seen.size;
    const value = f32Step(base(), this.#offsets.get(pos) ?? 0);
    this.#seen.set(key, [pos, value]);
    return value;
  }

  /** float32 sqrt. */
  sqrt(x: number): number {
    return this.#answer("sqrt", x, undefined, () => this.#base.sqrt(x));
  }
  /** float32 exp. */
  exp(x: number): number {
    return this.#answer("exp", x, undefined, () => this.#base.exp(x));
  }
  /** float32 log. */
  log(x: number): number {
    return this.#answer("log", x, undefined, () => this.#base.log(x));
  }
  /** float32 pow; 0.5 is sqrt. */
  pow(x: number, p: number): number {
    if (p === 0.5) return this.sqrt(x);
    return this.#answer("pow", x, p, () => this.#base.pow(x, p));
  }
}

/**
 * A {@link Float32Math} that answers from `base` and notes, per key, in which phases (steps) it
 * was asked for; the caller sets `phase` as the run advances.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ieeeMath, mathKey } from "./f32_math.ts";
 * import { UsageMath } from "./probe_math.ts";
 * const m = new UsageMath(ieeeMath);
 * m.phase = 3;
 * m.sqrt(4);
 * assert.deepEqual([...m.usage.get(mathKey("sqrt", 4))!], [3]);
 * ```
 */
export class UsageMath implements Float32Math {
  /** The base's name. */
  readonly name: string;
  /** The phase calls are counted in now. */
  phase = 0;
  /** Key -> the phases it was asked for in. */
  readonly usage: Map<string, Set<number>> = new Map();
  readonly #base: Float32Math;

  /**
   * Wraps `base`.
   *
   * @param base the math that answers
   */
  constructor(base: Float32Math) {
    this.#base = base;
    this.name = base.name;
  }

  #note(op: MathOp, x: number, p?: number): void {
    const key = mathKey(op, x, p);
    let s = this.usage.get(key);
    if (!s) this.usage.set(key, s = new Set());
    s.add(this.phase);
  }

  /** float32 sqrt. */
  sqrt(x: number): number {
    this.#note("sqrt", x);
    return this.#base.sqrt(x);
  }
  /** float32 exp. */
  exp(x: number): number {
    this.#note("exp", x);
    return this.#base.exp(x);
  }
  /** float32 log. */
  log(x: number): number {
    this.#note("log", x);
    return this.#base.log(x);
  }
  /** float32 pow; 0.5 is sqrt. */
  pow(x: number, p: number): number {
    if (p === 0.5) return this.sqrt(x);
    this.#note("pow", x, p);
    return this.#base.pow(x, p);
  }
}
