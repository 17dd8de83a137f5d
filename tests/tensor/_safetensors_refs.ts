/** The Python-written safetensors references (fixtures/gen/dump_tensor_io.py) and helpers. */
import type { SafetensorsDtype } from "../../core/tensor/safetensors.ts";

export const REFS = new URL("../../fixtures/refs/tensor_io/", import.meta.url);
export const ALL_DTYPES = new URL("safetensors/all_dtypes.safetensors", REFS).pathname;
export const NAME_ORDER = new URL("safetensors/name_order.safetensors", REFS).pathname;
export const NO_TENSORS = new URL("safetensors/no_tensors.safetensors", REFS).pathname;
export const expected = JSON.parse(
  await Deno.readTextFile(new URL("safetensors_expected.json", REFS)),
);

export type Entry = {
  shape: number[];
  raw_sha256: string;
  values: (number | string)[] | null;
  float32_bits?: number[];
};
export const entries: Record<string, Entry> = expected.tensors;

/** The dtype each reference tensor was saved with (fixtures/gen/dump_tensor_io.py). */
export const DTYPE_OF: Record<string, SafetensorsDtype> = {
  bool: "BOOL",
  u8: "U8",
  i8: "I8",
  i16: "I16",
  u16: "U16",
  i32: "I32",
  u32: "U32",
  i64: "I64",
  i64_big: "I64",
  u64: "U64",
  u64_big: "U64",
  f16: "F16",
  bf16: "BF16",
  f32: "F32",
  f64: "F64",
  f8_e4m3: "F8_E4M3",
  f8_e5m2: "F8_E5M2",
  f8_e4m3fnuz: "F8_E4M3FNUZ",
  f8_e5m2fnuz: "F8_E5M2FNUZ",
  f8_e8m0: "F8_E8M0",
  c64: "C64",
  f4: "F4",
  scalar: "F32",
  empty: "F32",
};
export const INTEGER_NAMES = ["bool", "u8", "i8", "i16", "u16", "i32", "u32", "i64", "u64"];
export const UNSAFE_NAMES = ["i64_big", "u64_big"];

export async function sha256(bytes: Uint8Array): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", bytes.slice());
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

export function expectedNumber(v: number | string): number {
  return v === "nan" ? NaN : v === "inf" ? Infinity : v === "-inf" ? -Infinity : v as number;
}

export function sameNumber(a: number, b: number): boolean {
  return Object.is(a, b) || (Number.isNaN(a) && Number.isNaN(b));
}
