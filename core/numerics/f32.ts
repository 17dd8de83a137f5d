/**
 * float32 emulation on JavaScript doubles, in one place: rounding to float32 ({@link f32}), the
 * bits of a float32 and its neighbours, ulp distances, the fused multiply-adds that compiled
 * torch/numpy kernels use ({@link fmaf} in float32, {@link fma} in float64) and numpy's
 * half-to-even {@link roundHalfEven}.
 *
 * Every torch float32 `+ - * /` and `sqrt` is one `Math.fround` of the exact double result (a
 * double holds the float32 result of each before rounding); Python floats and numpy float64 stay
 * doubles.
 *
 * @module
 */

/**
 * Rounds a double to the nearest float32 (ties to even): one float32 operation's rounding.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { f32 } from "./f32.ts";
 * assert.equal(f32(0.1), 0.10000000149011612);
 * ```
 */
export const f32: (x: number) => number = Math.fround;

const F32 = new Float32Array(1);
const U32 = new Uint32Array(F32.buffer);
const F64 = new Float64Array(1);
const F64_WORDS = new Uint32Array(F64.buffer);
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
const LO = LITTLE_ENDIAN ? 0 : 1; // index of the low 32 bits of a float64 in F64_WORDS
const HI = 1 - LO;

/**
 * The bit pattern of float32 `x` as an unsigned integer.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { f32Bits } from "./f32.ts";
 * assert.equal(f32Bits(1), 0x3f800000);
 * ```
 */
export function f32Bits(x: number): number {
  F32[0] = x;
  return U32[0];
}

/**
 * The float32 whose bit pattern is `bits`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { f32FromBits } from "./f32.ts";
 * assert.equal(f32FromBits(0x40000000), 2);
 * ```
 */
export function f32FromBits(bits: number): number {
  U32[0] = bits >>> 0;
  return F32[0];
}

/**
 * Bitwise equality of two float32 arrays (NaN payloads and the sign of zero included).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { sameFloat32Bits } from "./f32.ts";
 * assert.equal(sameFloat32Bits(Float32Array.of(0, 1), Float32Array.of(0, 1)), true);
 * assert.equal(sameFloat32Bits(Float32Array.of(0), Float32Array.of(-0)), false);
 * ```
 */
export function sameFloat32Bits(a: Float32Array, b: Float32Array): boolean {
  if (a.length !== b.length) return false;
  const x = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const y = new Uint32Array(b.buffer, b.byteOffset, b.length);
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
  return true;
}

/** float32 `x`'s bits as an integer that orders like the values (-0 and +0 are both 0). */
function orderedBits(x: number): number {
  const bits = f32Bits(x);
  return bits >= 0x80000000 ? -(bits - 0x80000000) : bits;
}

/**
 * The float32 `k` ulps away from float32 `x` (k > 0 toward +Infinity), stepping through zero
 * (-0 and +0 are one point); NaN stays NaN.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { f32Step } from "./f32.ts";
 * assert.equal(f32Step(1, 1), 1 + 2 ** -23);
 * assert.equal(f32Step(1, -1), 1 - 2 ** -24);
 * assert.equal(f32Step(0, -1), -(2 ** -149));
 * ```
 */
export function f32Step(x: number, k: number): number {
  if (Number.isNaN(x) || k === 0) return x;
  const ordered = orderedBits(x) + k;
  return ordered < 0 ? f32FromBits(0x80000000 + -ordered) : f32FromBits(ordered);
}

/**
 * Signed float32 ulp distance `a - b`: the difference of the two values' positions in the
 * ordered float32 line (-0 and +0 are one point; arguments are rounded to float32 first).
 * Infinity when either is NaN.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { signedUlp } from "./f32.ts";
 * assert.equal(signedUlp(1 + 2 ** -23, 1), 1);
 * assert.equal(signedUlp(1, 1 + 2 ** -23), -1);
 * ```
 */
export function signedUlp(a: number, b: number): number {
  if (Number.isNaN(a) || Number.isNaN(b)) return Infinity;
  return orderedBits(a) - orderedBits(b);
}

/**
 * The distance in float32 ulps between `a` and `b`: how many float32 steps lead from one to the
 * other, `|signedUlp(a, b)|`. 0 when equal (+0 and -0 are equal); across zero it counts the
 * steps on both sides. The NaN rule: a NaN on either side, two NaNs included, is `Infinity`,
 * farther than any number (a NaN never matches anything, as in a bit-exact comparison that
 * fails loudly).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ulpDistance } from "./f32.ts";
 * assert.equal(ulpDistance(1, 1 + 2 ** -23), 1);
 * assert.equal(ulpDistance(-0, 0), 0);
 * assert.equal(ulpDistance(-(2 ** -149), 2 ** -149), 2);
 * assert.equal(ulpDistance(NaN, NaN), Infinity);
 * ```
 */
export function ulpDistance(a: number, b: number): number {
  return Math.abs(signedUlp(a, b));
}

/**
 * numpy's `round` (`np.round`, `ndarray.round`) and Python 3's `round`: to the nearest
 * integer, ties to even. Infinities and NaN are returned as they are.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { roundHalfEven } from "./f32.ts";
 * assert.deepEqual([0.5, 1.5, 2.5, 3.5, -0.5].map(roundHalfEven), [0, 2, 2, 4, -0]);
 * ```
 */
export function roundHalfEven(x: number): number {
  if (!Number.isFinite(x)) return x;
  const r = Math.round(x); // ties toward +infinity
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * `x + y` rounded to odd (the double next to the rounded sum toward the exact sum when the sum
 * is inexact and its last significand bit is even). Rounding the result again to any format at
 * least two bits narrower gives the correctly rounded `x + y` of that format (Boldo & Melquiond,
 * "Emulation of FMA and correctly-rounded sums: proved algorithms using rounding to odd", 2008).
 */
function addRoundToOdd(x: number, y: number): number {
  const s = x + y;
  // TwoSum (Knuth): err is exactly (x + y) - s.
  const yv = s - x;
  const err = (x - (s - yv)) + (y - yv);
  if (err === 0 || !Number.isFinite(s)) return s;
  F64[0] = s;
  if ((F64_WORDS[LO] & 1) === 0) {
    if ((err > 0) === (s > 0)) {
      F64_WORDS[LO] += 1; // the low bit is 0: no carry
    } else if (F64_WORDS[LO] === 0) {
      F64_WORDS[HI] -= 1;
      F64_WORDS[LO] = 0xffffffff;
    } else {
      F64_WORDS[LO] -= 1;
    }
  }
  return F64[0];
}

/**
 * The float32 fused multiply-add `round32(a * b + c)` with a single rounding (C `fmaf`, the x86
 * `vfmadd*ps` that gcc contracts `c + a * b` into in torch's and numpy's AVX2/AVX-512 kernels),
 * for float32 arguments. The product of two float32 values is exact in double (48 significant
 * bits, exponents far inside double's range, subnormals included); the sum is rounded to odd in
 * double and then once to float32, which is the correctly rounded result (Boldo & Melquiond
 * 2008), also at ties, in the subnormal range and at the overflow threshold.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { f32, fmaf } from "./f32.ts";
 * const a = f32(1 + 2 ** -12); // a * a = 1 + 2^-11 + 2^-24 exactly
 * assert.equal(fmaf(a, a, -f32(1 + 2 ** -11)), 2 ** -24);
 * assert.equal(f32(f32(a * a) - f32(1 + 2 ** -11)), 0); // rounding the product first loses it
 * ```
 */
export function fmaf(a: number, b: number, c: number): number {
  return Math.fround(addRoundToOdd(a * b, c));
}

const SPLITTER = 134217729; // 2^27 + 1, Veltkamp's splitting constant for float64

/**
 * The float64 fused multiply-add `a * b + c` with a single rounding (C `fma`, x86
 * `vfmadd*sd`), for arguments whose product neither overflows nor underflows.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { fma } from "./f32.ts";
 * const a = 1 + 2 ** -27;
 * assert.equal(fma(a, a, -(1 + 2 ** -26)), 2 ** -54);
 * assert.equal(a * a - (1 + 2 ** -26), 0); // rounding the product first loses it
 * ```
 */
export function fma(a: number, b: number, c: number): number {
  // Boldo & Melquiond (2008), algorithm "Emulated FMA": exact product (Dekker), exact sum of
  // c and its high part (TwoSum), the low parts added with rounding to odd, then one rounding.
  const ph = a * b;
  if (!Number.isFinite(ph) || ph === 0) return ph + c;
  let t = SPLITTER * a;
  const ah = t - (t - a);
  const al = a - ah;
  t = SPLITTER * b;
  const bh = t - (t - b);
  const bl = b - bh;
  const pl = ((ah * bh - ph) + ah * bl + al * bh) + al * bl;
  const sh = c + ph;
  const cv = sh - ph;
  const sl = (c - cv) + (ph - (sh - cv));
  return sh + addRoundToOdd(sl, pl);
}
