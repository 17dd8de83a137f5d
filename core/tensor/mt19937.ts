/**
 * The 32-bit Mersenne Twister exactly as PyTorch's CPU generator runs it
 * (aten/src/ATen/core/MT19937RNGEngine.h, `at::mt19937`): `init_genrand` seeding from the low
 * 32 bits of a 64-bit seed, Cokus-style state regeneration on the first draw and every 624 draws
 * after it, and the standard tempering.
 *
 * @module
 */

/**
 * The state size of MT19937 (`MERSENNE_STATE_N`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Mt19937, MT19937_STATE_SIZE } from "./mt19937.ts";
 * assert.equal(MT19937_STATE_SIZE, 624);
 * assert.equal(new Mt19937(0n).getState().state.length, MT19937_STATE_SIZE);
 * ```
 */
export const MT19937_STATE_SIZE = 624;
const M = 397; // MERSENNE_STATE_M
const MATRIX_A = 0x9908b0df;
const UPPER_MASK = 0x80000000;
const LOWER_MASK = 0x7fffffff;
const UINT64_MAX = (1n << 64n) - 1n;

/**
 * A snapshot of an {@link Mt19937} (torch's `mt19937_data_pod`): the 64-bit seed, the 624-word
 * state, how many draws are `left` before the next regeneration and the `next` word to read.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Mt19937 } from "./mt19937.ts";
 * const s = new Mt19937(5489n).getState();
 * assert.deepEqual([s.state.length, s.left, s.next], [624, 1, 0]);
 * ```
 */
export interface Mt19937State {
  /** The seed the engine was created with (an unsigned 64-bit integer). */
  seed: bigint;
  /** The 624 state words. */
  state: Uint32Array;
  /** Draws left before the state is regenerated, 1..624 (1 right after seeding). */
  left: number;
  /** Index of the next state word to temper, 0..624. */
  next: number;
}

/**
 * PyTorch's CPU Mersenne Twister (`at::mt19937`): `nextUint32()` returns the same sequence as
 * `torch.Generator("cpu").manual_seed(seed)` draws internally (`CPUGeneratorImpl::random()`),
 * and `nextUint64()` joins two draws as `CPUGeneratorImpl::random64()` does.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Mt19937 } from "./mt19937.ts";
 * const mt = new Mt19937(5489n);
 * assert.equal(mt.nextUint32(), 3499211612); // the reference MT19937 first output
 * ```
 */
export class Mt19937 {
  readonly #mt = new Uint32Array(MT19937_STATE_SIZE);
  #seed: bigint;
  #left = 1;
  #next = 0;

  /**
   * Seeds the engine like `mt19937_engine::init_with_uint32`: only the low 32 bits of `seed`
   * enter the state, but the whole 64-bit value is kept as {@link Mt19937.seed}.
   *
   * @param seed an unsigned 64-bit integer
   * @throws {RangeError} when `seed` is outside [0, 2^64 - 1]
   */
  constructor(seed: bigint) {
    if (typeof seed !== "bigint" || seed < 0n || seed > UINT64_MAX) {
      throw new RangeError(
        `Mt19937: seed: got ${String(seed)} (expected a bigint in [0, 2^64 - 1])`,
      );
    }
    this.#seed = seed;
    const mt = this.#mt;
    mt[0] = Number(seed & 0xffffffffn);
    for (let j = 1; j < MT19937_STATE_SIZE; j++) {
      const prev = mt[j - 1];
      // state[j] = 1812433253 * (state[j-1] ^ (state[j-1] >> 30)) + j, modulo 2^32
      mt[j] = Math.imul(1812433253, prev ^ (prev >>> 30)) + j;
    }
  }

  /**
   * The 64-bit seed this engine was created with.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { Mt19937 } from "./mt19937.ts";
   * assert.equal(new Mt19937((1n << 32n) + 5n).seed, 4294967301n);
   * ```
   */
  get seed(): bigint {
    return this.#seed;
  }

  /**
   * The next 32-bit output, as an unsigned integer in [0, 2^32).
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { Mt19937 } from "./mt19937.ts";
   * const mt = new Mt19937(0n);
   * assert.equal(mt.nextUint32(), 2357136044);
   * ```
   */
  nextUint32(): number {
    // mt19937_engine::operator()
    if (--this.#left === 0) this.#regenerate();
    let y = this.#mt[this.#next++];
    y ^= y >>> 11;
    y ^= (y << 7) & 0x9d2c5680;
    y ^= (y << 15) & 0xefc60000;
    y ^= y >>> 18;
    return y >>> 0;
  }

  /**
   * Two draws joined as `CPUGeneratorImpl::random64()` does: the first is the high word.
   * Returned as `[high, low]` to stay in plain numbers.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { Mt19937 } from "./mt19937.ts";
   * const [hi, lo] = new Mt19937(0n).nextUint64();
   * assert.equal((BigInt(hi) << 32n) | BigInt(lo), 10123822223749065263n);
   * ```
   */
  nextUint64(): [number, number] {
    const hi = this.nextUint32();
    const lo = this.nextUint32();
    return [hi, lo];
  }

  /**
   * A copy of the engine's state, to restore later with {@link Mt19937.setState}.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { Mt19937 } from "./mt19937.ts";
   * const mt = new Mt19937(7n);
   * const saved = mt.getState();
   * const a = mt.nextUint32();
   * mt.setState(saved);
   * assert.equal(mt.nextUint32(), a);
   * ```
   */
  getState(): Mt19937State {
    return { seed: this.#seed, state: this.#mt.slice(), left: this.#left, next: this.#next };
  }

  /**
   * Restores a state from {@link Mt19937.getState} (copied, so the argument stays usable),
   * after the validity checks of `mt19937_engine::is_valid`.
   *
   * @throws {RangeError} when the state is malformed
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { Mt19937 } from "./mt19937.ts";
   * const a = new Mt19937(1n);
   * const b = new Mt19937(2n);
   * b.setState(a.getState());
   * assert.equal(a.nextUint32(), b.nextUint32());
   * ```
   */
  setState(state: Mt19937State): void {
    const where = "Mt19937.setState";
    if (typeof state !== "object" || state === null) {
      throw new RangeError(`${where}: state: got ${String(state)} (expected an object)`);
    }
    if (!(state.state instanceof Uint32Array) || state.state.length !== MT19937_STATE_SIZE) {
      throw new RangeError(
        `${where}: state.state: expected a Uint32Array of ${MT19937_STATE_SIZE} words`,
      );
    }
    if (!Number.isInteger(state.left) || state.left < 1 || state.left > MT19937_STATE_SIZE) {
      throw new RangeError(
        `${where}: state.left: got ${state.left} (expected an integer in 1..${MT19937_STATE_SIZE})`,
      );
    }
    if (!Number.isInteger(state.next) || state.next < 0 || state.next > MT19937_STATE_SIZE) {
      throw new RangeError(
        `${where}: state.next: got ${state.next} (expected an integer in 0..${MT19937_STATE_SIZE})`,
      );
    }
    if (typeof state.seed !== "bigint" || state.seed < 0n || state.seed > UINT64_MAX) {
      throw new RangeError(
        `${where}: state.seed: got ${String(state.seed)} (expected a bigint in [0, 2^64 - 1])`,
      );
    }
    this.#mt.set(state.state);
    this.#left = state.left;
    this.#next = state.next;
    this.#seed = state.seed;
  }

  /** mt19937_engine::next_state: regenerates all 624 words in place. */
  #regenerate(): void {
    const mt = this.#mt;
    const N = MT19937_STATE_SIZE;
    let p = 0;
    for (; p < N - M; p++) mt[p] = mt[p + M] ^ twist(mt[p], mt[p + 1]);
    for (; p < N - 1; p++) mt[p] = mt[p + M - N] ^ twist(mt[p], mt[p + 1]);
    mt[N - 1] = mt[M - 1] ^ twist(mt[N - 1], mt[0]);
    this.#left = N;
    this.#next = 0;
  }
}

/** mt19937_engine::twist: the upper bit of `u` with the lower 31 of `v`, shifted and mixed. */
function twist(u: number, v: number): number {
  return (((u & UPPER_MASK) | (v & LOWER_MASK)) >>> 1) ^ (v & 1 ? MATRIX_A : 0);
}
