/**
 * Parsing and validating a safetensors header: the 8-byte length, the JSON, `__metadata__` and
 * every tensor entry, checked as strictly as the Rust `safetensors` crate
 * (`Metadata::validate`, `SafeTensors::read_metadata`).
 *
 * @module
 */
import { FileError } from "./errors.ts";
import {
  DTYPE_RANK,
  dtypeBits,
  SAFETENSORS_DTYPES,
  type SafetensorsDtype,
} from "./safetensors_dtypes.ts";

/**
 * Where one tensor lies in a safetensors file and what it holds.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { encodeSafetensors, parseSafetensors } from "./safetensors.ts";
 * import { Tensor } from "./tensor.ts";
 * const f = parseSafetensors(encodeSafetensors({ x: Tensor.zeros([2, 3]) }));
 * assert.deepEqual(f.info("x"), { dtype: "F32", shape: [2, 3], byteOffset: 72, byteLength: 24, dataOffsets: [0, 24] });
 * ```
 */
export interface SafetensorsTensorInfo {
  /** The element type. */
  dtype: SafetensorsDtype;
  /** The extents, `[]` for a 0-d tensor. */
  shape: number[];
  /** Offset of the tensor's first byte from the start of the file. */
  byteOffset: number;
  /** Number of bytes the tensor occupies. */
  byteLength: number;
  /** The header's `data_offsets`: begin and end relative to the start of the data section. */
  dataOffsets: [number, number];
}

/** The largest header the Rust crate accepts (`MAX_HEADER_SIZE`). */
const MAX_HEADER_BYTES = 100_000_000;

/**
 * A short description of a JSON value's kind for messages (`an array`, `a string`...).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { describe } from "./safetensors_header.ts";
 * assert.deepEqual([describe(null), describe([1]), describe({}), describe(3)], [
 *   "null",
 *   "an array",
 *   "an object",
 *   "a number",
 * ]);
 * ```
 */
export function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  return typeof value === "object" ? "an object" : `a ${typeof value}`;
}

/**
 * Whether `value` is a JSON object (not null, not an array).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { isPlainObject } from "./safetensors_header.ts";
 * assert.deepEqual([isPlainObject({}), isPlainObject([]), isPlainObject(null)], [true, false, false]);
 * ```
 */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** The tensor entry of the header, checked field by field. */
function checkEntry(
  path: string,
  name: string,
  entry: unknown,
): { dtype: SafetensorsDtype; shape: number[]; begin: number; end: number } {
  if (!isPlainObject(entry)) {
    throw new FileError(
      path,
      name,
      `header entry is ${describe(entry)} (expected an object with dtype, shape, data_offsets)`,
    );
  }
  const { dtype, shape, data_offsets: offsets } = entry;
  if (typeof dtype !== "string") {
    throw new FileError(
      path,
      `${name}.dtype`,
      dtype === undefined
        ? 'missing (expected a dtype string such as "F32")'
        : `is ${describe(dtype)} (expected a dtype string such as "F32")`,
    );
  }
  if (!DTYPE_RANK.has(dtype)) {
    throw new FileError(
      path,
      `${name}.dtype`,
      `unknown dtype ${JSON.stringify(dtype)} (expected one of ${SAFETENSORS_DTYPES.join(", ")})`,
    );
  }
  if (!Array.isArray(shape)) {
    throw new FileError(
      path,
      `${name}.shape`,
      shape === undefined
        ? "missing (expected an array of non-negative integers)"
        : `is ${describe(shape)} (expected an array of non-negative integers)`,
    );
  }
  shape.forEach((d, i) => {
    if (typeof d !== "number" || !Number.isSafeInteger(d) || d < 0) {
      throw new FileError(
        path,
        `${name}.shape`,
        `extent ${JSON.stringify(d)} at position ${i} is not valid (expected a non-negative ` +
          `integer below 2^53)`,
      );
    }
  });
  if (
    !Array.isArray(offsets) || offsets.length !== 2 ||
    !offsets.every((o) => typeof o === "number" && Number.isSafeInteger(o) && o >= 0)
  ) {
    throw new FileError(
      path,
      `${name}.data_offsets`,
      `${offsets === undefined ? "missing" : `is ${JSON.stringify(offsets)}`} (expected ` +
        `[begin, end], two non-negative integers)`,
    );
  }
  const [begin, end] = offsets as [number, number];
  if (end < begin) {
    throw new FileError(
      path,
      `${name}.data_offsets`,
      `end ${end} is before begin ${begin} (expected begin <= end)`,
    );
  }
  return { dtype: dtype as SafetensorsDtype, shape: shape as number[], begin, end };
}

/** The header's `__metadata__`: null or an object of strings. */
function checkMetadata(path: string, value: unknown): Record<string, string> {
  const metadata: Record<string, string> = {};
  if (value === null) return metadata;
  if (!isPlainObject(value)) {
    throw new FileError(
      path,
      "__metadata__",
      `is ${describe(value)} (expected an object mapping strings to strings)`,
    );
  }
  for (const [key, v] of Object.entries(value)) {
    if (typeof v !== "string") {
      throw new FileError(
        path,
        `__metadata__.${key}`,
        `value is ${describe(v)} (expected a string)`,
      );
    }
    Object.defineProperty(metadata, key, { value: v, enumerable: true, writable: true });
  }
  return metadata;
}

/**
 * The parts of a safetensors file's header, validated: its metadata and where each tensor lies.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { encodeSafetensors } from "./safetensors.ts";
 * import { parseSafetensorsLayout, type SafetensorsLayout } from "./safetensors_header.ts";
 * import { Tensor } from "./tensor.ts";
 * const layout: SafetensorsLayout = parseSafetensorsLayout(
 *   encodeSafetensors({ x: Tensor.zeros([2]) }, { seed: "1" }),
 *   "x.safetensors",
 * );
 * assert.deepEqual(layout.metadata, { seed: "1" });
 * assert.deepEqual([...layout.infos.keys()], ["x"]);
 * ```
 */
export interface SafetensorsLayout {
  /** The header's `__metadata__` (string to string; empty when absent). */
  metadata: Record<string, string>;
  /** The tensors in file order (by data offset). */
  infos: Map<string, SafetensorsTensorInfo>;
}

/**
 * Validates a whole safetensors file held in memory and returns its layout (what
 * `parseSafetensors` wraps). Checks, as the Rust crate does: the 8-byte header length lies
 * within the file and under 100 MB; the header is UTF-8 JSON holding an object;
 * `__metadata__` maps strings to strings; every tensor has a known `dtype`, a `shape` of
 * non-negative integers and two `data_offsets`; the tensors, sorted by offset, tile the data
 * section exactly (no gap, no overlap, no trailing byte, nothing past the end); shape x dtype
 * size equals the byte span.
 *
 * @param bytes the whole file
 * @param path the name used in error messages
 * @throws {FileError} naming `path` and the field at fault
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { FileError } from "./errors.ts";
 * import { encodeSafetensors } from "./safetensors.ts";
 * import { parseSafetensorsLayout } from "./safetensors_header.ts";
 * import { Tensor } from "./tensor.ts";
 * const bytes = encodeSafetensors({ x: Tensor.zeros([4]) });
 * assert.deepEqual(parseSafetensorsLayout(bytes, "x.safetensors").infos.get("x")?.shape, [4]);
 * assert.throws(
 *   () => parseSafetensorsLayout(bytes.subarray(0, bytes.length - 1), "cut.safetensors"),
 *   (e) => e instanceof FileError && e.field === "x.data_offsets",
 * );
 * ```
 */
export function parseSafetensorsLayout(bytes: Uint8Array, path: string): SafetensorsLayout {
  if (bytes.length < 8) {
    throw new FileError(
      path,
      "header length",
      `file is ${bytes.length} bytes (expected at least the 8-byte header length)`,
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = view.getBigUint64(0, true);
  if (headerLength > BigInt(MAX_HEADER_BYTES)) {
    throw new FileError(
      path,
      "header length",
      `${headerLength} bytes is too large (expected at most ${MAX_HEADER_BYTES})`,
    );
  }
  const n = Number(headerLength);
  if (8 + n > bytes.length) {
    throw new FileError(
      path,
      "header length",
      `${n} bytes runs past the end of the ${bytes.length}-byte file (expected at most ${
        bytes.length - 8
      })`,
    );
  }
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(
      bytes.subarray(8, 8 + n),
    );
  } catch (err) {
    throw new FileError(path, "header", "is not valid UTF-8 (expected UTF-8 JSON)", {
      cause: err,
    });
  }
  let header: unknown;
  try {
    header = JSON.parse(text);
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    throw new FileError(path, "header", `is not valid JSON (${reason})`, { cause: err });
  }
  if (!isPlainObject(header)) {
    throw new FileError(
      path,
      "header",
      `is ${describe(header)} (expected a JSON object of tensors)`,
    );
  }

  let metadata: Record<string, string> = {};
  const entries: {
    name: string;
    dtype: SafetensorsDtype;
    shape: number[];
    begin: number;
    end: number;
  }[] = [];
  for (const [name, entry] of Object.entries(header)) {
    if (name === "__metadata__") metadata = checkMetadata(path, entry);
    else entries.push({ name, ...checkEntry(path, name, entry) });
  }

  // Metadata::validate: sorted by (begin, end), each tensor starts where the previous ended.
  entries.sort((a, b) => a.begin - b.begin || a.end - b.end);
  const dataStart = 8 + n;
  const dataLength = bytes.length - dataStart;
  const infos = new Map<string, SafetensorsTensorInfo>();
  let cursor = 0;
  let previous: string | undefined;
  for (const e of entries) {
    if (e.begin !== cursor) {
      const where = previous === undefined
        ? "the start of the data section (offset 0)"
        : `the end of tensor ${JSON.stringify(previous)} (offset ${cursor})`;
      throw new FileError(
        path,
        `${e.name}.data_offsets`,
        `[${e.begin}, ${e.end}] ${e.begin < cursor ? "overlaps" : "leaves a gap after"} ${where}` +
          ` (expected tensors to be contiguous, begin = ${cursor})`,
      );
    }
    const bits = BigInt(e.shape.reduce((acc, d) => acc * BigInt(d), 1n)) *
      BigInt(dtypeBits(e.dtype));
    if (bits % 8n !== 0n) {
      throw new FileError(
        path,
        `${e.name}.shape`,
        `[${e.shape.join(", ")}] of ${e.dtype} is ${bits} bits (expected whole bytes)`,
      );
    }
    if (bits / 8n !== BigInt(e.end - e.begin)) {
      throw new FileError(
        path,
        `${e.name}.shape`,
        `[${e.shape.join(", ")}] of ${e.dtype} needs ${bits / 8n} bytes but data_offsets ` +
          `[${e.begin}, ${e.end}] span ${e.end - e.begin} (expected equal sizes)`,
      );
    }
    if (e.end > dataLength) {
      throw new FileError(
        path,
        `${e.name}.data_offsets`,
        `end ${e.end} is past the end of the ${dataLength}-byte data section (file truncated?)`,
      );
    }
    infos.set(e.name, {
      dtype: e.dtype,
      shape: e.shape,
      byteOffset: dataStart + e.begin,
      byteLength: e.end - e.begin,
      dataOffsets: [e.begin, e.end],
    });
    cursor = e.end;
    previous = e.name;
  }
  if (cursor !== dataLength) {
    throw new FileError(
      path,
      "data",
      `${dataLength - cursor} bytes after the last tensor (expected the tensors to cover the ` +
        `data section exactly, ${cursor} bytes)`,
    );
  }
  return { metadata, infos };
}
