/** numpy's .npy references (fixtures/gen/dump_tensor_io.py) and helpers. */
import { float16ToFloat32 } from "../../core/tensor/float16.ts";
import type { NpyArray } from "../../core/tensor/npy.ts";

export const REFS = new URL("../../fixtures/refs/tensor_io/", import.meta.url);
export type Entry = {
  file: string;
  version: string;
  descr: string;
  shape: number[];
  fortran_order: boolean;
  values: (number | string)[];
  float32_bits: number[];
};
export const entries: Entry[] = JSON.parse(
  await Deno.readTextFile(new URL("npy_expected.json", REFS)),
).files;
export const pathOf = (e: Entry) => new URL(`npy/${e.file}`, REFS).pathname;

export function expectedNumber(v: number | string): number {
  return v === "nan" ? NaN : v === "inf" ? Infinity : v === "-inf" ? -Infinity : v as number;
}

/** The parsed elements as JS values comparable with the JSON sidecar. */
export function valuesOf(arr: NpyArray): (number | bigint)[] {
  if (arr.descr.endsWith("f2")) return Array.from(arr.data as Uint16Array, float16ToFloat32);
  return Array.from(arr.data as ArrayLike<number | bigint>);
}
