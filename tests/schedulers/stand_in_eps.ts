/**
 * The TypeScript twin of the stand-in model of fixtures/gen/dump_schedulers_pndm_lms_euler.py
 * and fixtures/gen/dump_samplers_compvis_labml.py, for the free-run tests of PNDM, LMSDiscrete,
 * EulerDiscrete, CompVis PLMS and labml DDIM, plus the small readers those tests share.
 *
 * @module
 */
import type { SafetensorsFile } from "../../core/tensor/safetensors.ts";
import { Tensor } from "../../core/tensor/tensor.ts";

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
 * The integers of a 1-element I64 tensor or a float tensor's first value.
 *
 * @example
 * ```ts
 * import { firstValue } from "./stand_in_eps.ts";
 * // firstValue(file, "t.0") === 981
 * ```
 */
export function firstValue(file: SafetensorsFile, name: string): number {
  const dtype = file.info(name).dtype;
  if (dtype.startsWith("I") || dtype.startsWith("U")) return file.ints(name)[0];
  if (dtype === "F64") return file.float64(name)[0];
  return file.tensor(name).data[0];
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
