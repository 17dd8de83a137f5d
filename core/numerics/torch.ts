/**
 * torch 2.13 CPU kernels as the schedulers use them, bit for bit: `clamp`, `linspace` in float32
 * and float64 (the AVX2/AVX-512 `linspace_kernel`, fused multiply-adds), `cumprod` of float32
 * (double accumulator) and `quantile` (linear interpolation, torch's `lerp`).
 *
 * @module
 */
import { f32, fma, fmaf } from "./f32.ts";

/**
 * torch's `clamp(x, lo, hi)` on float32: NaN stays NaN, and `hi` wins when `lo > hi`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { clampF32 } from "./torch.ts";
 * assert.equal(clampF32(3, -1, 1), 1);
 * ```
 */
export function clampF32(x: number, lo: number, hi: number): number {
  if (Number.isNaN(x) || Number.isNaN(lo) || Number.isNaN(hi)) return NaN;
  return Math.min(Math.max(x, lo), hi);
}

/**
 * `torch.linspace(start, end, steps, dtype=torch.float32)` on CPU, bit-exact with torch 2.13's
 * `linspace_kernel` (aten/src/ATen/native/cpu/RangeFactoriesKernel.cpp) as built for AVX2 and
 * AVX-512: `step = (end - start) / (steps - 1)` in float32, the first half `start + step * i`
 * and the second half `end - step * (steps - 1 - i)`, each a fused multiply-add. (torch's
 * non-vectorized `ATEN_CPU_CAPABILITY=default` build rounds the product separately.)
 * `start` and `end` are Python floats, converted to float32 first.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { torchLinspaceF32 } from "./torch.ts";
 * assert.equal(torchLinspaceF32(0.0001, 0.02, 1000)[999], 0.019999999552965164);
 * ```
 */
export function torchLinspaceF32(start: number, end: number, steps: number): Float32Array {
  if (!Number.isSafeInteger(steps) || steps < 0) {
    throw new RangeError(`torchLinspaceF32: steps must be a non-negative integer, got ${steps}`);
  }
  const out = new Float32Array(steps);
  const s = f32(start);
  const e = f32(end);
  if (steps === 1) {
    out[0] = s;
    return out;
  }
  const step = f32(f32(e - s) / (steps - 1));
  const halfway = Math.floor(steps / 2);
  for (let i = 0; i < steps; i++) {
    out[i] = i < halfway ? fmaf(step, i, s) : fmaf(-step, steps - i - 1, e);
  }
  return out;
}

/**
 * `torch.linspace(start, end, steps, dtype=torch.float64)` on CPU, as torch 2.13's
 * `linspace_kernel` (aten/src/ATen/native/cpu/RangeFactoriesKernel.cpp, AVX2/AVX-512 builds):
 * `step = (end - start) / (steps - 1)`, the first half `start + step * i`, the second half
 * `end - step * (steps - 1 - i)`, each one fused multiply-add. LDM's `make_beta_schedule` and
 * labml's `LatentDiffusion` build their betas with it.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { torchLinspaceF64 } from "./torch.ts";
 * assert.deepEqual(Array.from(torchLinspaceF64(0, 1, 5)), [0, 0.25, 0.5, 0.75, 1]);
 * ```
 */
export function torchLinspaceF64(start: number, end: number, steps: number): Float64Array {
  if (!Number.isSafeInteger(steps) || steps < 0) {
    throw new RangeError(`torchLinspaceF64: steps must be a non-negative integer, got ${steps}`);
  }
  const out = new Float64Array(steps);
  if (steps === 1) {
    out[0] = start;
    return out;
  }
  const step = (end - start) / (steps - 1);
  const halfway = Math.floor(steps / 2);
  for (let i = 0; i < steps; i++) {
    out[i] = i < halfway ? fma(step, i, start) : fma(-step, steps - i - 1, end);
  }
  return out;
}

/**
 * `torch.cumprod(x, dim=0)` of a float32 tensor on CPU: the running product is kept in double
 * (torch's `acc_type<float>` on CPU) and each prefix is rounded to float32.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { cumprodF32 } from "./torch.ts";
 * assert.deepEqual(Array.from(cumprodF32(new Float32Array([0.5, 0.5, 2]))), [0.5, 0.25, 0.5]);
 * ```
 */
export function cumprodF32(values: Float32Array): Float32Array {
  const out = new Float32Array(values.length);
  let acc = 1;
  for (let i = 0; i < values.length; i++) {
    acc *= values[i];
    out[i] = acc;
  }
  return out;
}

/**
 * `torch.quantile(values, q)` (linear interpolation) of float32 values, as torch 2.13 computes
 * it on CPU (Sorting.cpp `quantile_compute`): `q` becomes a float32 tensor,
 * `rank = q * (n - 1)` in float32, `weight = rank - floor(rank)`, and the two neighbours in
 * sorted order are joined with torch's `lerp` (fused multiply-add, from the end nearer the
 * weight). Any NaN gives NaN.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { torchQuantileF32 } from "./torch.ts";
 * assert.equal(torchQuantileF32(new Float32Array([4, 1, 3, 2]), 0.5), 2.5);
 * ```
 */
export function torchQuantileF32(values: Float32Array, q: number): number {
  if (values.length === 0) throw new RangeError("torchQuantileF32: empty input");
  if (values.some(Number.isNaN)) return NaN;
  const sorted = values.slice().sort();
  const last = sorted.length - 1;
  const rank = f32(f32(q) * last);
  const below = Math.trunc(rank);
  const above = Math.ceil(rank);
  const weight = f32(rank - below);
  const lo = sorted[below];
  const hi = sorted[above];
  const diff = f32(hi - lo);
  // torch's lerp (Lerp.h): weight < 0.5 ? self + weight * (end - self)
  //                                      : end - (end - self) * (1 - weight)
  return Math.abs(weight) < 0.5 ? fmaf(weight, diff, lo) : fmaf(-diff, f32(1 - weight), hi);
}
