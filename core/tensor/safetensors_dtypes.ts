/**
 * The safetensors element types (`dtype`), their order and their sizes.
 *
 * @module
 */

/**
 * Every element type the safetensors format defines (safetensors 0.8 `Dtype`), in the
 * crate's enum order, which is the order of increasing alignment used when writing.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { SAFETENSORS_DTYPES } from "./safetensors.ts";
 * assert.equal(SAFETENSORS_DTYPES.includes("BF16"), true);
 * ```
 */
export const SAFETENSORS_DTYPES = [
  "BOOL",
  "F4",
  "F6_E2M3",
  "F6_E3M2",
  "U8",
  "I8",
  "F8_E5M2",
  "F8_E4M3",
  "F8_E8M0",
  "F8_E4M3FNUZ",
  "F8_E5M2FNUZ",
  "I16",
  "U16",
  "F16",
  "BF16",
  "I32",
  "U32",
  "F32",
  "C64",
  "F64",
  "I64",
  "U64",
] as const;

/**
 * A safetensors element type, as written in the header's `dtype` field.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { dtypeBits, type SafetensorsDtype } from "./safetensors.ts";
 * const d: SafetensorsDtype = "F16";
 * assert.equal(dtypeBits(d), 16);
 * ```
 */
export type SafetensorsDtype = typeof SAFETENSORS_DTYPES[number];

/**
 * The position of each dtype in {@link SAFETENSORS_DTYPES} (the crate's alignment order);
 * also the set of known dtype names.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { DTYPE_RANK } from "./safetensors_dtypes.ts";
 * assert.equal(DTYPE_RANK.get("BOOL"), 0);
 * assert.ok(DTYPE_RANK.get("F64")! > DTYPE_RANK.get("F16")!);
 * assert.equal(DTYPE_RANK.has("F128"), false);
 * ```
 */
export const DTYPE_RANK: ReadonlyMap<string, number> = new Map(
  SAFETENSORS_DTYPES.map((d, i) => [d, i]),
);

/**
 * The size in bits of one element of `dtype` (4 for `F4`, 6 for the `F6_*` types; those
 * sub-byte types are packed and a tensor must fill whole bytes).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { dtypeBits } from "./safetensors.ts";
 * assert.equal(dtypeBits("BF16"), 16);
 * assert.equal(dtypeBits("F4"), 4);
 * ```
 */
export function dtypeBits(dtype: SafetensorsDtype): number {
  switch (dtype) {
    case "F4":
      return 4;
    case "F6_E2M3":
    case "F6_E3M2":
      return 6;
    case "BOOL":
    case "U8":
    case "I8":
    case "F8_E5M2":
    case "F8_E4M3":
    case "F8_E8M0":
    case "F8_E4M3FNUZ":
    case "F8_E5M2FNUZ":
      return 8;
    case "I16":
    case "U16":
    case "F16":
    case "BF16":
      return 16;
    case "I32":
    case "U32":
    case "F32":
      return 32;
    case "C64":
    case "F64":
    case "I64":
    case "U64":
      return 64;
  }
}
