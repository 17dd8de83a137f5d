/**
 * `TorchGenerator`: the numbers of `torch.randn` / `torch.rand` with a CPU
 * `torch.Generator("cpu").manual_seed(seed)`, bit for bit, call after call (PyTorch 2.13).
 *
 * How torch draws a float32 normal tensor on the CPU
 * (aten/src/ATen/native/cpu/DistributionTemplates.h, `normal_kernel`):
 *
 * - fewer than 16 elements: one `at::normal_distribution<double>` sample per element
 *   (aten/src/ATen/core/DistributionsHelper.h): two 53-bit uniforms from `random64()`, a
 *   double Box–Muller whose second value is cached in the generator and used by the next
 *   element, even one of a later call; the double is then rounded to float32.
 * - 16 or more: `normal_fill` fills every element with a 24-bit uniform from `random()`, applies
 *   Box–Muller to each block of 16 (8 pairs: `u1 = data[j]`, `u2 = data[j + 8]`) and, when the
 *   size is not a multiple of 16, draws 16 fresh uniforms into the last 16 elements and
 *   transforms them again. That transform is float32 math whose bits depend on the kernel torch
 *   dispatches to:
 *   - `"avx2"`: `NormalFill16<float>` built on `log256_ps` / `sincos256_ps` from
 *     aten/src/ATen/native/cpu/avx_mathfun.h. This is what torch runs on every x86-64 CPU with
 *     AVX2, AVX-512 ones included: torch 2.13 registers no AVX-512 `normal_stub`, so the
 *     AVX512 capability falls back to the AVX2 kernel (checked against dumps made on an
 *     AVX-512 machine with no override, `ATEN_CPU_CAPABILITY=avx2` and `=avx512`).
 *     The wheel's compiler fused every multiply-add of those polynomials into an FMA; the port
 *     below follows the disassembly of `NormalFill16<float, true>::operator()`.
 *   - `"default"`: the scalar `NormalFill16` (`ATEN_CPU_CAPABILITY=default`, or a CPU without
 *     AVX2): `logf`, `sincosf` and `fmaf` from the C library. Ported here: glibc 2.28+
 *     `__logf` and `__sincosf` (sysdeps/ieee754/flt-32/e_logf.c, s_sincosf.c,
 *     sincosf_poly.h). x86-64 glibc loads one of two builds of them, `"fma"` (CPU with FMA and
 *     AVX2; GCC contracted every `a * b + c`) or `"sse2"` (plain C order); both are ported, and
 *     they agree on every argument this kernel can pass. Checked against glibc 2.36; other C
 *     libraries (musl, macOS) are not covered.
 *
 * `rand` is `uniform_kernel`: one 24-bit uniform per element, `(random() & 0xffffff) * 2^-24`.
 *
 * @module
 */

import { f16, type Precision } from "../numerics/f16.ts";
import { fmaf } from "../numerics/f32.ts";
import { avxLogf, avxSincosf, glibcLogf, glibcSincosf } from "./normal_math.ts";
import { Mt19937, type Mt19937State } from "./mt19937.ts";
import { shapeSize, Tensor } from "./tensor.ts";

const fround = Math.fround;
const ONE_F = 1; // 1.0f, as NormalFill16 writes it

// ------------------------------------------------------------------------------------------
// TorchGenerator
// ------------------------------------------------------------------------------------------

/**
 * The CPU kernel whose bits a {@link TorchGenerator} reproduces for tensors of 16 or more
 * elements: `"avx2"` is what torch 2.13 runs on x86-64 CPUs with AVX2 (AVX-512 ones too;
 * `"avx512"` is accepted as a synonym), `"default"` the scalar kernel
 * (`ATEN_CPU_CAPABILITY=default`, CPUs without AVX2).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { CpuCapability } from "./torch_generator.ts";
 * const c: CpuCapability = "avx2";
 * assert.equal(c, "avx2");
 * ```
 */
export type CpuCapability = "avx2" | "avx512" | "default";

/**
 * Options of {@link TorchGenerator}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { TorchGeneratorOptions } from "./torch_generator.ts";
 * const o: TorchGeneratorOptions = { cpuCapability: "default" };
 * assert.equal(o.cpuCapability, "default");
 * ```
 */
export interface TorchGeneratorOptions {
  /** The kernel to reproduce (default `"avx2"`, torch's choice on x86-64 CPUs with AVX2). */
  cpuCapability?: CpuCapability;
}

/**
 * A snapshot of a {@link TorchGenerator}: its Mersenne Twister and the cached second sample of
 * the double Box–Muller (torch's `next_double_normal_sample`), or `null` when none is cached.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { TorchGenerator } from "./torch_generator.ts";
 * const g = new TorchGenerator(0);
 * g.randn([1]);
 * assert.equal(g.getState().nextDoubleNormal !== null, true);
 * ```
 */
export interface TorchGeneratorState {
  /** The engine's state. */
  engine: Mt19937State;
  /** The cached normal sample (float64), or `null`. */
  nextDoubleNormal: number | null;
}

const CAPABILITIES: readonly string[] = ["avx2", "avx512", "default"];
const UINT64_MAX = (1n << 64n) - 1n;
const TWO_PI_F = fround(2 * Math.PI); // _mm256_set1_ps(2.0f * c10::pi<double>)
const TWO_PI = 2 * Math.PI; // 2.0f * c10::pi<double> in the scalar kernels, a double
const TWO_POW_M24 = 2 ** -24;
const TWO_POW_M53 = 2 ** -53;
const TWO_POW_32 = 2 ** 32;

/**
 * The seed as torch's `Generator.manual_seed` stores it: an unsigned 64-bit integer, negative
 * seeds (down to -2^63) taken modulo 2^64.
 */
function seedToUint64(seed: number | bigint, where: string): bigint {
  let s: bigint;
  if (typeof seed === "number") {
    if (!Number.isSafeInteger(seed)) {
      throw new RangeError(
        `${where}: seed: got ${seed} (expected a safe integer, or a bigint for seeds beyond 2^53)`,
      );
    }
    s = BigInt(seed);
  } else if (typeof seed === "bigint") {
    s = seed;
  } else {
    throw new RangeError(`${where}: seed: got ${typeof seed} (expected a number or a bigint)`);
  }
  if (s < -(1n << 63n) || s > UINT64_MAX) {
    throw new RangeError(`${where}: seed: got ${s} (expected an integer in [-2^63, 2^64 - 1])`);
  }
  return s < 0n ? s + (1n << 64n) : s;
}

function checkShape(shape: readonly number[], where: string): number[] {
  if (!Array.isArray(shape)) {
    throw new RangeError(`${where}: shape: got ${String(shape)} (expected an array of extents)`);
  }
  shape.forEach((d, i) => {
    if (!Number.isSafeInteger(d) || d < 0) {
      throw new RangeError(
        `${where}: shape[${i}]: got ${String(d)} (expected a non-negative integer)`,
      );
    }
  });
  return [...shape];
}

/**
 * A PyTorch CPU random generator: `new TorchGenerator(seed).randn(shape)` returns the float32
 * numbers of `torch.randn(shape, generator=torch.Generator("cpu").manual_seed(seed))`, and
 * later calls continue the same stream as torch does (including the cached Box–Muller value of
 * small draws). Used for initial latents and the noise of DDPM / DDIM (eta > 0) steps.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { TorchGenerator } from "./torch_generator.ts";
 * const g = new TorchGenerator(0);
 * assert.deepEqual(Array.from(g.randn([4]).data), [1.5409960746765137, -0.293428897857666, -2.1787893772125244, 0.5684312582015991]);
 * const latents = g.randn([1, 4, 64, 64]); // continues the stream, as torch would
 * ```
 */
export class TorchGenerator {
  /** The kernel reproduced for draws of 16 or more elements. */
  readonly cpuCapability: CpuCapability;
  #engine: Mt19937;
  #nextDoubleNormal: number | null = null;

  /**
   * Creates the instance (see the class documentation for what it holds).
   *
   * @param seed the `manual_seed` value: an integer in [-2^63, 2^64 - 1] (a bigint beyond 2^53)
   * @param options which torch CPU kernel to reproduce
   * @throws {RangeError} for a seed out of range or an unknown option value
   */
  constructor(seed: number | bigint, options: TorchGeneratorOptions = {}) {
    const where = "TorchGenerator";
    const capability = options.cpuCapability ?? "avx2";
    if (!CAPABILITIES.includes(capability)) {
      throw new RangeError(
        `${where}: options.cpuCapability: got ${String(capability)} ` +
          `(expected "avx2", "avx512" or "default")`,
      );
    }
    this.cpuCapability = capability;
    this.#engine = new Mt19937(seedToUint64(seed, where));
  }

  /**
   * The seed the generator was last seeded with, as torch's `initial_seed()` reports it
   * (negative seeds appear modulo 2^64).
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { TorchGenerator } from "./torch_generator.ts";
   * assert.equal(new TorchGenerator(-1).initialSeed, 18446744073709551615n);
   * ```
   */
  get initialSeed(): bigint {
    return this.#engine.seed;
  }

  /**
   * Reseeds in place like torch's `manual_seed` (the Box–Muller cache is cleared); returns
   * the generator.
   *
   * @throws {RangeError} for a seed out of range
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { TorchGenerator } from "./torch_generator.ts";
   * const g = new TorchGenerator(1);
   * const a = g.randn([3]);
   * assert.equal(g.manualSeed(1).randn([3]).data[0] === a.data[0], true);
   * ```
   */
  manualSeed(seed: number | bigint): this {
    this.#engine = new Mt19937(seedToUint64(seed, "TorchGenerator.manualSeed"));
    this.#nextDoubleNormal = null;
    return this;
  }

  /**
   * Standard normal samples: `torch.randn(shape, generator=g)`, float32; with `dtype`
   * `"float16"`, `torch.randn(shape, generator=g, dtype=torch.float16)` (half values in the
   * float32 data). torch 2.13's `normal_fill` for half draws float32 uniforms 16 at a time, block
   * by block, runs the float32 Box–Muller of {@link CpuCapability} on each block and rounds to
   * half; the tail of a size that is not a multiple of 16 is 16 fresh uniforms right after the
   * last whole block (float32 draws all `size` uniforms first), so a half draw is not the float32
   * draw rounded there, and leaves the generator elsewhere.
   *
   * @throws {RangeError} when an extent is not a non-negative integer, or for another dtype
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { TorchGenerator } from "./torch_generator.ts";
   * assert.deepEqual(Array.from(new TorchGenerator(42).randn([2, 3]).shape), [2, 3]);
   * // whole blocks of 16: the float32 draw rounded to half
   * const f = new TorchGenerator(0).randn([32]).data.map(Math.f16round);
   * assert.deepEqual(new TorchGenerator(0).randn([32], "float16").data, f);
   * // a tail: its 16 values differ
   * const t = new TorchGenerator(0).randn([33], "float16").data;
   * const g = new TorchGenerator(0).randn([33]).data.map(Math.f16round);
   * assert.deepEqual([t.slice(0, 17), t[32] === g[32]], [g.slice(0, 17), false]);
   * ```
   */
  randn(shape: readonly number[], dtype: Precision = "float32"): Tensor {
    const dims = checkShape(shape, "TorchGenerator.randn");
    if (dtype !== "float32" && dtype !== "float16") {
      throw new RangeError(
        `TorchGenerator.randn: dtype: got ${String(dtype)} (expected "float32" or "float16")`,
      );
    }
    const out = new Float32Array(shapeSize(dims));
    // normal_kernel: normal_fill for >= 16 contiguous elements, else normal_distribution<double>
    if (out.length >= 16) {
      if (dtype === "float16") this.#normalFillHalf(out);
      else this.#normalFill(out, 0, 1);
    } else {
      // static_cast<scalar_t>(double): c10::Half is made from a float, so half goes through float32
      const cast = dtype === "float16" ? f16 : fround;
      for (let i = 0; i < out.length; i++) out[i] = cast(this.#normalDouble() * 1 + 0);
    }
    return new Tensor(out, dims);
  }

  /**
   * Uniform float32 samples in [0, 1): `torch.rand(shape, generator=g)`.
   *
   * @throws {RangeError} when an extent is not a non-negative integer
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { TorchGenerator } from "./torch_generator.ts";
   * assert.deepEqual(Array.from(new TorchGenerator(0).rand([2]).data), [0.49625658988952637, 0.7682217955589294]);
   * ```
   */
  rand(shape: readonly number[]): Tensor {
    const dims = checkShape(shape, "TorchGenerator.rand");
    const out = new Float32Array(shapeSize(dims));
    for (let i = 0; i < out.length; i++) out[i] = this.#uniformFloat();
    return new Tensor(out, dims);
  }

  /**
   * A copy of the generator's state, to replay draws with {@link TorchGenerator.setState}.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { TorchGenerator } from "./torch_generator.ts";
   * const g = new TorchGenerator(3);
   * const saved = g.getState();
   * const a = g.randn([5]);
   * g.setState(saved);
   * assert.equal(g.randn([5]).data[4] === a.data[4], true);
   * ```
   */
  getState(): TorchGeneratorState {
    return { engine: this.#engine.getState(), nextDoubleNormal: this.#nextDoubleNormal };
  }

  /**
   * Restores a state taken with {@link TorchGenerator.getState} (the options stay as they are).
   *
   * @throws {RangeError} when the state is malformed
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { TorchGenerator } from "./torch_generator.ts";
   * const a = new TorchGenerator(5);
   * const b = new TorchGenerator(6);
   * b.setState(a.getState());
   * assert.equal(a.rand([1]).data[0] === b.rand([1]).data[0], true);
   * ```
   */
  setState(state: TorchGeneratorState): void {
    const where = "TorchGenerator.setState";
    if (typeof state !== "object" || state === null) {
      throw new RangeError(`${where}: state: got ${String(state)} (expected an object)`);
    }
    const cached = state.nextDoubleNormal;
    if (cached !== null && typeof cached !== "number") {
      throw new RangeError(
        `${where}: state.nextDoubleNormal: got ${typeof cached} (expected a number or null)`,
      );
    }
    const engine = new Mt19937(0n);
    engine.setState(state.engine);
    this.#engine = engine;
    this.#nextDoubleNormal = cached;
  }

  /** uniform_real_distribution<float>(0, 1): a 24-bit uniform from one 32-bit draw (exact). */
  #uniformFloat(): number {
    return (this.#engine.nextUint32() & 0xffffff) * TWO_POW_M24;
  }

  /** uniform_real_distribution<double>(0, 1): a 53-bit uniform from random64() (exact). */
  #uniformDouble(): number {
    const [hi, lo] = this.#engine.nextUint64();
    return ((hi & 0x1fffff) * TWO_POW_32 + lo) * TWO_POW_M53;
  }

  /**
   * normal_distribution<double>::operator() (DistributionsHelper.h): Box–Muller in double,
   * r * sin(theta) cached for the next call. Math.log1p / sin / cos stand for glibc's; they
   * differ from it by at most an ulp of float64, which the rounding to float32 absorbs except
   * with probability around 2^-28 per sample.
   */
  #normalDouble(): number {
    if (this.#nextDoubleNormal !== null) {
      const cached = this.#nextDoubleNormal;
      this.#nextDoubleNormal = null;
      return cached;
    }
    const u1 = this.#uniformDouble();
    const u2 = this.#uniformDouble();
    const r = Math.sqrt(-2 * Math.log1p(-u2));
    const theta = TWO_PI * u1;
    this.#nextDoubleNormal = r * Math.sin(theta);
    return r * Math.cos(theta);
  }

  /**
   * normal_fill<c10::Half> (cpu/DistributionTemplates.h, torch 2.13) for >= 16 elements: per
   * block of 16, 16 float32 uniforms into a float buffer, NormalFill16<float>, cast to half;
   * then, when the size is not a multiple of 16, 16 fresh uniforms for the last 16 elements.
   */
  #normalFillHalf(data: Float32Array): void {
    const size = data.length;
    const fill16 = this.cpuCapability === "default" ? fill16Scalar : fill16Avx2;
    const buf = new Float32Array(16);
    const block = (offset: number) => {
      for (let j = 0; j < 16; j++) buf[j] = this.#uniformFloat();
      fill16(buf, 0, 0, 1);
      for (let j = 0; j < 16; j++) data[offset + j] = Math.f16round(buf[j]);
    };
    for (let i = 0; i < size - 15; i += 16) block(i);
    if (size % 16 !== 0) block(size - 16);
  }

  /** normal_fill (cpu/DistributionTemplates.h) for a float32 buffer of >= 16 elements. */
  #normalFill(data: Float32Array, mean: number, std: number): void {
    const size = data.length;
    for (let i = 0; i < size; i++) data[i] = this.#uniformFloat();
    const fill16 = this.cpuCapability === "default" ? fill16Scalar : fill16Avx2;
    for (let i = 0; i < size - 15; i += 16) fill16(data, i, mean, std);
    if (size % 16 !== 0) {
      // recompute the last 16 values from fresh uniforms
      const off = size - 16;
      for (let i = 0; i < 16; i++) data[off + i] = this.#uniformFloat();
      fill16(data, off, mean, std);
    }
  }
}

/**
 * NormalFill16<float> scalar (the primary template) calling glibc logf / sincosf / fmaf. The
 * glibc "fma" and "sse2" builds agree on every argument this kernel can pass (all 2^24
 * uniforms, checked against glibc 2.36), so one port serves both.
 */
function fill16Scalar(data: Float32Array, off: number, mean: number, std: number): void {
  for (let j = 0; j < 8; j++) {
    const u1 = fround(1 - data[off + j]);
    const u2 = data[off + j + 8];
    const radius = fround(Math.sqrt(fround(-2 * glibcLogf(u1, "fma"))));
    const theta = fround(TWO_PI * u2); // float(double 2 pi * u2)
    const [s, c] = glibcSincosf(theta, "fma");
    data[off + j] = fmaf(fround(radius * c), std, mean);
    data[off + j + 8] = fmaf(fround(radius * s), std, mean);
  }
}

/** NormalFill16<float, true> (the CPU_CAPABILITY_AVX2 specialization), lane by lane. */
function fill16Avx2(data: Float32Array, off: number, mean: number, std: number): void {
  for (let j = 0; j < 8; j++) {
    const u1 = fround(ONE_F - data[off + j]);
    const u2 = data[off + j + 8];
    const radius = fround(Math.sqrt(fround(-2 * avxLogf(u1))));
    const theta = fround(TWO_PI_F * u2);
    const [s, c] = avxSincosf(theta);
    data[off + j] = fmaf(fround(radius * c), std, mean);
    data[off + j + 8] = fmaf(fround(radius * s), std, mean);
  }
}
