/**
 * Conversions between float32 and the narrow float formats found in tensor files: IEEE
 * float16, bfloat16, the 8-bit floats of safetensors (`F8_E4M3`, `F8_E5M2`, their `FNUZ`
 * variants, `F8_E8M0`), plus correctly rounded int64 -> float32. Narrowing rounds to
 * nearest, ties to even, as torch's `c10::Half` / `c10::BFloat16` constructors do.
 *
 * @module
 */

const scratchF32 = new Float32Array(1);
const scratchU32 = new Uint32Array(scratchF32.buffer);

/** The float32 bit pattern of `x` (after rounding `x` to float32). */
function bitsOfFloat32(x: number): number {
  scratchF32[0] = x;
  return scratchU32[0];
}

/** The float32 whose bit pattern is `bits`. */
function float32OfBits(bits: number): number {
  scratchU32[0] = bits;
  return scratchF32[0];
}

/**
 * Widens an IEEE binary16 bit pattern to the (exactly equal) float32 value.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { float16ToFloat32 } from "./float16.ts";
 * assert.equal(float16ToFloat32(0x3c00), 1);
 * assert.equal(float16ToFloat32(0x0001), 5.960464477539063e-8); // smallest subnormal, 2^-24
 * assert.equal(float16ToFloat32(0xfc00), -Infinity);
 * ```
 */
export function float16ToFloat32(bits: number): number {
  return float32OfBits(float16BitsToFloat32Bits(bits));
}

/** The float32 bit pattern of a binary16 bit pattern (NaN payload kept, shifted left 13). */
function float16BitsToFloat32Bits(h: number): number {
  const sign = (h & 0x8000) << 16;
  const exp = (h >>> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0x1f) return (sign | 0x7f800000 | (mant << 13)) >>> 0;
  if (exp !== 0) return (sign | ((exp + 112) << 23) | (mant << 13)) >>> 0;
  if (mant === 0) return sign >>> 0;
  // Subnormal half: normalise the mantissa into a float32 normal.
  let e = 113;
  let m = mant;
  while ((m & 0x400) === 0) {
    m <<= 1;
    e--;
  }
  return (sign | (e << 23) | ((m & 0x3ff) << 13)) >>> 0;
}

/**
 * Narrows `x` (first rounded to float32) to the nearest IEEE binary16 bit pattern, ties to
 * even; overflow gives +-Infinity, underflow +-0 or a subnormal. NaN gives `sign | 0x7e00`,
 * as `c10::detail::fp16_ieee_from_fp32_value`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { float32ToFloat16 } from "./float16.ts";
 * assert.equal(float32ToFloat16(1), 0x3c00);
 * assert.equal(float32ToFloat16(65520), 0x7c00); // rounds up to Infinity
 * assert.equal(float32ToFloat16(1 + 2 ** -11), 0x3c00); // tie, to even
 * ```
 */
export function float32ToFloat16(x: number): number {
  const b = bitsOfFloat32(x);
  const sign = (b >>> 16) & 0x8000;
  const exp = (b >>> 23) & 0xff;
  const mant = b & 0x7fffff;
  if (exp === 0xff) return mant !== 0 ? sign | 0x7e00 : sign | 0x7c00;
  const halfExp = exp - 112; // rebias 127 -> 15
  if (halfExp >= 0x1f) return sign | 0x7c00;
  if (halfExp > 0) {
    const half = sign | (halfExp << 10) | (mant >>> 13);
    const rest = mant & 0x1fff;
    // A carry out of the mantissa lands in the exponent, up to Infinity: the right result.
    return rest > 0x1000 || (rest === 0x1000 && (half & 1) === 1) ? half + 1 : half;
  }
  if (exp === 0) return sign; // float32 zero or subnormal: far below half's smallest step
  // Result is a half subnormal (or rounds up into the smallest normal): value / 2^-24.
  const shift = 126 - exp; // >= 14
  if (shift > 24) return sign; // at most half the smallest subnormal: rounds to zero (even)
  const m = mant | 0x800000;
  const q = m >>> shift;
  const rest = m & ((1 << shift) - 1);
  const halfway = 1 << (shift - 1);
  return sign | (rest > halfway || (rest === halfway && (q & 1) === 1) ? q + 1 : q);
}

/**
 * Widens a bfloat16 bit pattern to the (exactly equal) float32 value.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { bfloat16ToFloat32 } from "./float16.ts";
 * assert.equal(bfloat16ToFloat32(0x3f80), 1);
 * assert.equal(bfloat16ToFloat32(0xc040), -3);
 * ```
 */
export function bfloat16ToFloat32(bits: number): number {
  return float32OfBits((bits & 0xffff) << 16);
}

/**
 * Narrows `x` (first rounded to float32) to the nearest bfloat16 bit pattern, ties to even,
 * as `c10::BFloat16`'s `round_to_nearest_even`; NaN gives `0x7fc0`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { float32ToBfloat16 } from "./float16.ts";
 * assert.equal(float32ToBfloat16(1), 0x3f80);
 * assert.equal(float32ToBfloat16(Math.PI), 0x4049); // 3.140625
 * ```
 */
export function float32ToBfloat16(x: number): number {
  const b = bitsOfFloat32(x);
  if ((b & 0x7fffffff) > 0x7f800000) return 0x7fc0;
  // c10/util/BFloat16.h round_to_nearest_even: (u + 0x7fff + lsb) >> 16
  return ((b + 0x7fff + ((b >>> 16) & 1)) >>> 16) & 0xffff;
}

/**
 * Widens a whole array of binary16 bit patterns to float32 (NaN payloads kept).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { float16ArrayToFloat32 } from "./float16.ts";
 * assert.deepEqual(float16ArrayToFloat32(new Uint16Array([0x3c00, 0xc000])), new Float32Array([1, -2]));
 * ```
 */
export function float16ArrayToFloat32(u16: Uint16Array): Float32Array {
  const out = new Float32Array(u16.length);
  const bits = new Uint32Array(out.buffer);
  for (let i = 0; i < u16.length; i++) bits[i] = float16BitsToFloat32Bits(u16[i]);
  return out;
}

/**
 * Narrows a float32 array to binary16 bit patterns, element by element as
 * {@link float32ToFloat16}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { float32ArrayToFloat16 } from "./float16.ts";
 * assert.deepEqual(float32ArrayToFloat16(new Float32Array([1, -2])), new Uint16Array([0x3c00, 0xc000]));
 * ```
 */
export function float32ArrayToFloat16(f32: Float32Array): Uint16Array {
  const out = new Uint16Array(f32.length);
  for (let i = 0; i < f32.length; i++) out[i] = float32ToFloat16(f32[i]);
  return out;
}

/**
 * Widens a whole array of bfloat16 bit patterns to float32.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { bfloat16ArrayToFloat32 } from "./float16.ts";
 * assert.deepEqual(bfloat16ArrayToFloat32(new Uint16Array([0x3f80])), new Float32Array([1]));
 * ```
 */
export function bfloat16ArrayToFloat32(u16: Uint16Array): Float32Array {
  const out = new Float32Array(u16.length);
  const bits = new Uint32Array(out.buffer);
  for (let i = 0; i < u16.length; i++) bits[i] = (u16[i] << 16) >>> 0;
  return out;
}

/**
 * Narrows a float32 array to bfloat16 bit patterns, element by element as
 * {@link float32ToBfloat16}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { float32ArrayToBfloat16 } from "./float16.ts";
 * assert.deepEqual(float32ArrayToBfloat16(new Float32Array([1, -3])), new Uint16Array([0x3f80, 0xc040]));
 * ```
 */
export function float32ArrayToBfloat16(f32: Float32Array): Uint16Array {
  const out = new Uint16Array(f32.length);
  for (let i = 0; i < f32.length; i++) out[i] = float32ToBfloat16(f32[i]);
  return out;
}

/**
 * The 8-bit float formats of safetensors, named as its dtypes: OCP `E4M3FN` / `E5M2`, the
 * "FNUZ" variants (no negative zero, a single NaN at `0x80`, no infinities) and `E8M0`
 * (an unsigned power of two, `0xff` is NaN).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { float8ArrayToFloat32, type Float8Format } from "./float16.ts";
 * const f: Float8Format = "F8_E4M3";
 * assert.deepEqual(float8ArrayToFloat32(new Uint8Array([0x38]), f), new Float32Array([1]));
 * ```
 */
export type Float8Format = "F8_E4M3" | "F8_E5M2" | "F8_E4M3FNUZ" | "F8_E5M2FNUZ" | "F8_E8M0";

const float8Tables = new Map<Float8Format, Float32Array>();

/** Decodes one 8-bit code with the layout of `format` (see torch's c10/util/Float8_*.h). */
function decodeFloat8(code: number, format: Float8Format): number {
  if (format === "F8_E8M0") return code === 0xff ? NaN : 2 ** (code - 127);
  const [expBits, bias] = format === "F8_E4M3"
    ? [4, 7]
    : format === "F8_E5M2"
    ? [5, 15]
    : format === "F8_E4M3FNUZ"
    ? [4, 8]
    : [5, 16];
  const mantBits = 7 - expBits;
  const negative = (code & 0x80) !== 0;
  const exp = (code >>> mantBits) & ((1 << expBits) - 1);
  const mant = code & ((1 << mantBits) - 1);
  const fnuz = format === "F8_E4M3FNUZ" || format === "F8_E5M2FNUZ";
  if (fnuz && code === 0x80) return NaN;
  if (format === "F8_E4M3" && exp === 0xf && mant === 0x7) return NaN;
  if (format === "F8_E5M2" && exp === 0x1f) {
    return mant === 0 ? (negative ? -Infinity : Infinity) : NaN;
  }
  const magnitude = exp === 0
    ? mant * 2 ** (1 - bias - mantBits)
    : (1 + mant / (1 << mantBits)) * 2 ** (exp - bias);
  return negative ? -magnitude : magnitude;
}

/**
 * The 256-entry float32 decoding table of an 8-bit float format (built once, shared;
 * do not modify it).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { float8Table } from "./float16.ts";
 * assert.equal(float8Table("F8_E4M3")[0x38], 1);
 * assert.equal(float8Table("F8_E5M2")[0x7c], Infinity);
 * ```
 */
export function float8Table(format: Float8Format): Float32Array {
  let table = float8Tables.get(format);
  if (table === undefined) {
    table = new Float32Array(256);
    for (let code = 0; code < 256; code++) table[code] = decodeFloat8(code, format);
    float8Tables.set(format, table);
  }
  return table;
}

/**
 * Widens an array of 8-bit float codes to float32 (every code is exact in float32).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { float8ArrayToFloat32 } from "./float16.ts";
 * assert.deepEqual(float8ArrayToFloat32(new Uint8Array([0x38, 0xb8]), "F8_E4M3"), new Float32Array([1, -1]));
 * ```
 */
export function float8ArrayToFloat32(codes: Uint8Array, format: Float8Format): Float32Array {
  const table = float8Table(format);
  const out = new Float32Array(codes.length);
  for (let i = 0; i < codes.length; i++) out[i] = table[codes[i]];
  return out;
}

const TWO_POW_53 = 2n ** 53n;

/**
 * Rounds an integer given as a bigint to the nearest float32, ties to even, in one rounding
 * (as a C `(float)int64_t` cast, which numpy and torch use): values beyond 2^53 are first
 * rounded to odd at 40 bits so that the final rounding to 24 bits is not a double rounding.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { int64ToFloat32 } from "./float16.ts";
 * assert.equal(int64ToFloat32(16777217n), 16777216);
 * assert.equal(int64ToFloat32(2n ** 60n + 2n ** 36n + 1n), 1152921642045800448); // = 2^60 + 2^37 (not 2^60)
 * ```
 */
export function int64ToFloat32(v: bigint): number {
  const negative = v < 0n;
  const abs = negative ? -v : v;
  if (abs < TWO_POW_53) return Math.fround(Number(v));
  const shift = BigInt(abs.toString(2).length - 40);
  let top = abs >> shift;
  if ((abs & ((1n << shift) - 1n)) !== 0n) top |= 1n; // round to odd: keep a sticky bit
  const magnitude = Math.fround(Number(top) * 2 ** Number(shift));
  return negative ? -magnitude : magnitude;
}
