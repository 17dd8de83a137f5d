/**
 * Reading and writing `.safetensors` files: an 8-byte little-endian header length, a JSON
 * header (`{"name": {"dtype", "shape", "data_offsets"}, "__metadata__": {...}}`) and the
 * tensors' bytes. Reading validates the file as strictly as the Rust `safetensors` crate
 * (`Metadata::validate`, `SafeTensors::read_metadata`); writing reproduces its byte layout
 * (`tensor::prepare`), so a file we write equals the one the Python library writes.
 *
 * @module
 */
import { writeFileAtomic } from "./atomic_write.ts";
import { FileError, IN_MEMORY } from "./errors.ts";
import {
  bfloat16ArrayToFloat32,
  float16ArrayToFloat32,
  float8ArrayToFloat32,
  int64ToFloat32,
} from "./float16.ts";
import { shapeSize, Tensor } from "./tensor.ts";

/**
 * Every element type the safetensors format defines (safetensors 0.8 `Dtype`), in the
 * crate's enum order, which is the order of increasing alignment used when writing.
 *
 * @example
 * ```ts
 * import { SAFETENSORS_DTYPES } from "./safetensors.ts";
 * SAFETENSORS_DTYPES.includes("BF16"); // true
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
 * import type { SafetensorsDtype } from "./safetensors.ts";
 * const d: SafetensorsDtype = "F16";
 * ```
 */
export type SafetensorsDtype = typeof SAFETENSORS_DTYPES[number];

const DTYPE_RANK: ReadonlyMap<string, number> = new Map(SAFETENSORS_DTYPES.map((d, i) => [d, i]));

/**
 * The size in bits of one element of `dtype` (4 for `F4`, 6 for the `F6_*` types; those
 * sub-byte types are packed and a tensor must fill whole bytes).
 *
 * @example
 * ```ts
 * import { dtypeBits } from "./safetensors.ts";
 * dtypeBits("BF16"); // 16
 * dtypeBits("F4"); // 4
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

/**
 * Where one tensor lies in a safetensors file and what it holds.
 *
 * @example
 * ```ts
 * import { encodeSafetensors, parseSafetensors } from "./safetensors.ts";
 * import { Tensor } from "./tensor.ts";
 * const f = parseSafetensors(encodeSafetensors({ x: Tensor.zeros([2, 3]) }));
 * f.info("x"); // { dtype: "F32", shape: [2, 3], byteOffset: 72, byteLength: 24, dataOffsets: [0, 24] }
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

const HOST_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

type TypedArrayConstructor<T> = { new (buffer: ArrayBuffer): T; BYTES_PER_ELEMENT: number };

/** A fresh typed array holding a copy of little-endian `bytes` (swapped on big-endian hosts). */
function copyLittleEndian<T>(bytes: Uint8Array, ctor: TypedArrayConstructor<T>): T {
  const copy = bytes.slice();
  const width = ctor.BYTES_PER_ELEMENT;
  if (!HOST_LITTLE_ENDIAN && width > 1) {
    for (let i = 0; i < copy.length; i += width) copy.subarray(i, i + width).reverse();
  }
  return new ctor(copy.buffer);
}

function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  return typeof value === "object" ? "an object" : `a ${typeof value}`;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

const INTEGER: ReadonlySet<string> = new Set([
  "BOOL",
  "U8",
  "I8",
  "I16",
  "U16",
  "I32",
  "U32",
  "I64",
  "U64",
]);

/**
 * A parsed, validated safetensors file held in memory. Obtain one with
 * {@link readSafetensors} or {@link parseSafetensors}; every accessor copies out of the file
 * bytes, so returned arrays may be modified freely.
 *
 * @example
 * ```ts
 * import { encodeSafetensors, parseSafetensors } from "./safetensors.ts";
 * import { Tensor } from "./tensor.ts";
 * const bytes = encodeSafetensors({ x: new Tensor(new Float32Array([1, 2]), [2]) }, { seed: "0" });
 * const f = parseSafetensors(bytes, "x.safetensors");
 * console.log(f.names(), f.metadata, f.tensor("x").data); // ["x"] { seed: "0" } Float32Array [1, 2]
 * ```
 */
export class SafetensorsFile {
  /** The file's path, or `<bytes>` when parsed from memory. */
  readonly path: string;
  /** The header's `__metadata__` (string to string; empty when absent). */
  readonly metadata: Record<string, string>;
  readonly #bytes: Uint8Array;
  readonly #infos: Map<string, SafetensorsTensorInfo>;

  /**
   * Wraps already-validated parts; use {@link parseSafetensors} instead.
   *
   * @param path the file's path or label
   * @param bytes the whole file
   * @param metadata the `__metadata__` map
   * @param infos the tensors, in file order
   */
  constructor(
    path: string,
    bytes: Uint8Array,
    metadata: Record<string, string>,
    infos: Map<string, SafetensorsTensorInfo>,
  ) {
    this.path = path;
    this.#bytes = bytes;
    this.metadata = metadata;
    this.#infos = infos;
  }

  /**
   * The tensor names in file order (by data offset).
   *
   * @example
   * ```ts
   * import { encodeSafetensors, parseSafetensors } from "./safetensors.ts";
   * import { Tensor } from "./tensor.ts";
   * parseSafetensors(encodeSafetensors({ b: Tensor.zeros([1]), a: Tensor.zeros([1]) })).names(); // ["a", "b"]
   * ```
   */
  names(): string[] {
    return [...this.#infos.keys()];
  }

  /**
   * Whether the file holds a tensor called `name`.
   *
   * @example
   * ```ts
   * import { encodeSafetensors, parseSafetensors } from "./safetensors.ts";
   * import { Tensor } from "./tensor.ts";
   * parseSafetensors(encodeSafetensors({ a: Tensor.zeros([1]) })).has("b"); // false
   * ```
   */
  has(name: string): boolean {
    return this.#infos.has(name);
  }

  /**
   * Where tensor `name` lies and its dtype and shape (a copy).
   *
   * @throws {FileError} when there is no such tensor
   * @example
   * ```ts
   * import { encodeSafetensors, parseSafetensors } from "./safetensors.ts";
   * import { Tensor } from "./tensor.ts";
   * parseSafetensors(encodeSafetensors({ a: Tensor.zeros([3]) })).info("a").shape; // [3]
   * ```
   */
  info(name: string): SafetensorsTensorInfo {
    const info = this.#lookup(name);
    return { ...info, shape: [...info.shape], dataOffsets: [...info.dataOffsets] };
  }

  /**
   * Tensor `name` as a float32 {@link Tensor}: F16, BF16 and the 8-bit floats are widened
   * exactly, F64 and 64-bit integers rounded to nearest float32, other integers converted,
   * BOOL gives 0/1.
   *
   * @throws {FileError} when there is no such tensor, or for `C64`, `F4` and `F6_*`,
   * which have no float32 reading (use {@link SafetensorsFile.raw})
   * @example
   * ```ts
   * import { encodeSafetensors, parseSafetensors } from "./safetensors.ts";
   * const bytes = encodeSafetensors({
   *   h: { dtype: "F16", shape: [2], data: new Uint16Array([0x3c00, 0xc000]) },
   * });
   * parseSafetensors(bytes).tensor("h").data; // Float32Array [1, -2]
   * ```
   */
  tensor(name: string): Tensor {
    const info = this.#lookup(name);
    const bytes = this.#slice(info);
    let data: Float32Array;
    switch (info.dtype) {
      case "F32":
        data = copyLittleEndian(bytes, Float32Array);
        break;
      case "F64":
        data = new Float32Array(copyLittleEndian(bytes, Float64Array));
        break;
      case "F16":
        data = float16ArrayToFloat32(copyLittleEndian(bytes, Uint16Array));
        break;
      case "BF16":
        data = bfloat16ArrayToFloat32(copyLittleEndian(bytes, Uint16Array));
        break;
      case "F8_E4M3":
      case "F8_E5M2":
      case "F8_E4M3FNUZ":
      case "F8_E5M2FNUZ":
      case "F8_E8M0":
        data = float8ArrayToFloat32(bytes, info.dtype);
        break;
      case "I64":
      case "U64": {
        const ints = info.dtype === "I64"
          ? copyLittleEndian(bytes, BigInt64Array)
          : copyLittleEndian(bytes, BigUint64Array);
        data = new Float32Array(ints.length);
        for (let i = 0; i < ints.length; i++) data[i] = int64ToFloat32(ints[i]);
        break;
      }
      case "BOOL":
        data = new Float32Array(bytes.length);
        for (let i = 0; i < bytes.length; i++) data[i] = bytes[i] === 0 ? 0 : 1;
        break;
      case "U8":
      case "I8":
      case "I16":
      case "U16":
      case "I32":
      case "U32":
        // int -> double is exact, double -> float32 is then a single rounding.
        data = new Float32Array(this.#smallInts(info, bytes));
        break;
      default:
        throw new FileError(
          this.path,
          name,
          `dtype ${info.dtype} has no float32 reading (expected a real float or integer ` +
            `dtype; use raw() for its bytes)`,
        );
    }
    return new Tensor(data, info.shape);
  }

  /**
   * Integer or BOOL tensor `name` as JS numbers, in C order (I64/U64 read as bigint and
   * checked to be safe integers).
   *
   * @throws {FileError} when there is no such tensor, its dtype is not an integer
   * type, or a 64-bit value is beyond `Number.MAX_SAFE_INTEGER`
   * @example
   * ```ts
   * import { encodeSafetensors, parseSafetensors } from "./safetensors.ts";
   * const bytes = encodeSafetensors({ t: { dtype: "I64", shape: [2], data: new BigInt64Array([981n, -1n]) } });
   * parseSafetensors(bytes).ints("t"); // [981, -1]
   * ```
   */
  ints(name: string): number[] {
    const info = this.#lookup(name);
    if (!INTEGER.has(info.dtype)) {
      throw new FileError(
        this.path,
        name,
        `dtype ${info.dtype} is not an integer type (expected BOOL, U8, I8, I16, U16, I32, ` +
          `U32, I64 or U64)`,
      );
    }
    const bytes = this.#slice(info);
    if (info.dtype === "I64" || info.dtype === "U64") return this.#bigInts(name, info, bytes);
    if (info.dtype === "BOOL") return Array.from(bytes, (b) => (b === 0 ? 0 : 1));
    return Array.from(this.#smallInts(info, bytes));
  }

  /**
   * Tensor `name` as float64 without narrowing: F64 as stored, other floats widened exactly,
   * integers converted (64-bit ones must be safe integers).
   *
   * @throws {FileError} when there is no such tensor, or its dtype is C64, F4 or F6_*
   * @example
   * ```ts
   * import { encodeSafetensors, parseSafetensors } from "./safetensors.ts";
   * const bytes = encodeSafetensors({ t: { dtype: "F64", shape: [1], data: new Float64Array([0.1]) } });
   * parseSafetensors(bytes).float64("t"); // Float64Array [0.1]
   * ```
   */
  float64(name: string): Float64Array {
    const info = this.#lookup(name);
    if (info.dtype === "F64") return copyLittleEndian(this.#slice(info), Float64Array);
    if (info.dtype === "I64" || info.dtype === "U64" || info.dtype === "BOOL") {
      return new Float64Array(this.ints(name));
    }
    if (INTEGER.has(info.dtype)) return new Float64Array(this.#smallInts(info, this.#slice(info)));
    return new Float64Array(this.tensor(name).data);
  }

  /**
   * The bytes of tensor `name` exactly as stored (little-endian, C order), as a copy.
   *
   * @throws {FileError} when there is no such tensor
   * @example
   * ```ts
   * import { encodeSafetensors, parseSafetensors } from "./safetensors.ts";
   * const bytes = encodeSafetensors({ t: { dtype: "U8", shape: [2], data: new Uint8Array([7, 9]) } });
   * parseSafetensors(bytes).raw("t"); // Uint8Array [7, 9]
   * ```
   */
  raw(name: string): Uint8Array {
    return this.#slice(this.#lookup(name)).slice();
  }

  #lookup(name: string): SafetensorsTensorInfo {
    const info = this.#infos.get(name);
    if (info === undefined) {
      const known = this.names();
      const list = known.length <= 8
        ? known.map((n) => JSON.stringify(n)).join(", ")
        : `${known.slice(0, 8).map((n) => JSON.stringify(n)).join(", ")}, ... (${known.length})`;
      throw new FileError(
        this.path,
        name,
        `no such tensor (expected one of: ${list || "none, the file holds no tensors"})`,
      );
    }
    return info;
  }

  #slice(info: SafetensorsTensorInfo): Uint8Array {
    return this.#bytes.subarray(info.byteOffset, info.byteOffset + info.byteLength);
  }

  #smallInts(info: SafetensorsTensorInfo, bytes: Uint8Array): ArrayLike<number> {
    switch (info.dtype) {
      case "U8":
        return bytes;
      case "I8":
        return new Int8Array(bytes.buffer, bytes.byteOffset, bytes.length);
      case "I16":
        return copyLittleEndian(bytes, Int16Array);
      case "U16":
        return copyLittleEndian(bytes, Uint16Array);
      case "I32":
        return copyLittleEndian(bytes, Int32Array);
      default:
        return copyLittleEndian(bytes, Uint32Array);
    }
  }

  #bigInts(name: string, info: SafetensorsTensorInfo, bytes: Uint8Array): number[] {
    const ints = info.dtype === "I64"
      ? copyLittleEndian(bytes, BigInt64Array)
      : copyLittleEndian(bytes, BigUint64Array);
    const out = new Array<number>(ints.length);
    for (let i = 0; i < ints.length; i++) {
      const v = ints[i];
      if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < BigInt(Number.MIN_SAFE_INTEGER)) {
        throw new FileError(
          this.path,
          name,
          `element ${i} = ${v} is not a safe integer (expected |value| <= 2^53 - 1; use raw())`,
        );
      }
      out[i] = Number(v);
    }
    return out;
  }
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
 * Parses and validates a whole safetensors file held in memory (the bytes are kept, not
 * copied). Checks, as the Rust crate does: the 8-byte header length lies within the file and
 * under 100 MB; the header is UTF-8 JSON holding an object; `__metadata__` maps strings to
 * strings; every tensor has a known `dtype`, a `shape` of non-negative integers and two
 * `data_offsets`; the tensors, sorted by offset, tile the data section exactly (no gap, no
 * overlap, no trailing byte, nothing past the end); shape x dtype size equals the byte span.
 *
 * @param bytes the whole file
 * @param path the name used in error messages
 * @throws {FileError} naming `path` and the field at fault
 * @example
 * ```ts
 * import { encodeSafetensors, parseSafetensors } from "./safetensors.ts";
 * import { Tensor } from "./tensor.ts";
 * const f = parseSafetensors(encodeSafetensors({ x: Tensor.zeros([4]) }), "x.safetensors");
 * f.tensor("x").shape; // [4]
 * ```
 */
export function parseSafetensors(bytes: Uint8Array, path: string = IN_MEMORY): SafetensorsFile {
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
  return new SafetensorsFile(path, bytes, metadata, infos);
}

/**
 * Reads and validates a safetensors file (see {@link parseSafetensors}).
 *
 * @throws {FileError} when the file cannot be read or is malformed
 * @example
 * ```ts
 * import { readSafetensors, writeSafetensors } from "./safetensors.ts";
 * import { Tensor } from "./tensor.ts";
 * const path = `${await Deno.makeTempDir()}/x.safetensors`;
 * await writeSafetensors(path, { x: Tensor.zeros([2]) });
 * (await readSafetensors(path)).tensor("x").data; // Float32Array [0, 0]
 * ```
 */
export async function readSafetensors(path: string): Promise<SafetensorsFile> {
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(path);
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    throw new FileError(path, undefined, `cannot read the file (${reason})`, {
      cause: err,
    });
  }
  return parseSafetensors(bytes, path);
}

/**
 * A tensor to write: a float32 {@link Tensor} (stored as F32), or any dtype given as its
 * raw little-endian element bytes (a typed array or `Uint8Array` whose byte length is
 * shape x dtype size; F16/BF16 as `Uint16Array` bit patterns).
 *
 * @example
 * ```ts
 * import type { SafetensorsInput } from "./safetensors.ts";
 * const t: SafetensorsInput = { dtype: "I64", shape: [1], data: new BigInt64Array([42n]) };
 * ```
 */
export type SafetensorsInput = Tensor | {
  dtype: SafetensorsDtype;
  shape: readonly number[];
  data: ArrayBufferView;
};

/** UTF-8 byte order of two strings, as Rust's `String::cmp`. */
function compareUtf8(a: string, b: string): number {
  const encoder = new TextEncoder();
  const x = encoder.encode(a);
  const y = encoder.encode(b);
  const n = Math.min(x.length, y.length);
  for (let i = 0; i < n; i++) if (x[i] !== y[i]) return x[i] - y[i];
  return x.length - y.length;
}

function encodeWithLabel(
  label: string,
  tensors: Record<string, SafetensorsInput>,
  metadata: Record<string, string> | undefined,
): Uint8Array {
  type Item = { name: string; dtype: SafetensorsDtype; shape: number[]; bytes: Uint8Array };
  const items: Item[] = [];
  for (const [name, t] of Object.entries(tensors)) {
    if (name === "__metadata__") {
      throw new FileError(label, name, "is reserved for metadata (expected a tensor name)");
    }
    let item: Item;
    if (t instanceof Tensor) {
      item = { name, dtype: "F32", shape: [...t.shape], bytes: littleEndianBytes(t.data) };
    } else {
      if (!isPlainObject(t) || !DTYPE_RANK.has(t.dtype as string)) {
        throw new FileError(
          label,
          `${name}.dtype`,
          `${JSON.stringify((t as { dtype?: unknown })?.dtype)} is not a safetensors dtype ` +
            `(expected one of ${SAFETENSORS_DTYPES.join(", ")})`,
        );
      }
      if (!ArrayBuffer.isView(t.data)) {
        throw new FileError(label, `${name}.data`, "is not a typed array or DataView");
      }
      if (
        !Array.isArray(t.shape) ||
        !t.shape.every((d) => typeof d === "number" && Number.isSafeInteger(d) && d >= 0)
      ) {
        throw new FileError(
          label,
          `${name}.shape`,
          `${JSON.stringify(t.shape)} (expected an array of non-negative integers)`,
        );
      }
      const bits = shapeSize(t.shape) * dtypeBits(t.dtype);
      if (bits % 8 !== 0 || bits / 8 !== t.data.byteLength) {
        throw new FileError(
          label,
          `${name}.data`,
          `${t.data.byteLength} bytes for shape [${t.shape.join(", ")}] of ${t.dtype} ` +
            `(expected ${bits / 8})`,
        );
      }
      item = { name, dtype: t.dtype, shape: [...t.shape], bytes: littleEndianBytes(t.data) };
    }
    items.push(item);
  }
  // tensor::prepare: descending dtype alignment (enum order), then ascending name.
  items.sort((a, b) =>
    DTYPE_RANK.get(b.dtype)! - DTYPE_RANK.get(a.dtype)! || compareUtf8(a.name, b.name)
  );

  const parts: string[] = [];
  if (metadata !== undefined) {
    const keys = Object.keys(metadata).sort(compareUtf8);
    const fields = keys.map((k) => {
      const v = metadata[k];
      if (typeof v !== "string") {
        throw new FileError(
          label,
          `__metadata__.${k}`,
          `is ${describe(v)} (expected a string)`,
        );
      }
      return `${JSON.stringify(k)}:${JSON.stringify(v)}`;
    });
    parts.push(`"__metadata__":{${fields.join(",")}}`);
  }
  let offset = 0;
  for (const it of items) {
    const end = offset + it.bytes.length;
    parts.push(
      `${JSON.stringify(it.name)}:{"dtype":"${it.dtype}","shape":[${it.shape.join(",")}],` +
        `"data_offsets":[${offset},${end}]}`,
    );
    offset = end;
  }
  const json = new TextEncoder().encode(`{${parts.join(",")}}`);
  const headerLength = Math.ceil(json.length / 8) * 8; // padded with spaces to 8 bytes
  const out = new Uint8Array(8 + headerLength + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerLength), true);
  out.set(json, 8);
  out.fill(0x20, 8 + json.length, 8 + headerLength);
  let at = 8 + headerLength;
  for (const it of items) {
    out.set(it.bytes, at);
    at += it.bytes.length;
  }
  return out;
}

/** The bytes of a typed array's elements in little-endian order. */
function littleEndianBytes(data: ArrayBufferView): Uint8Array {
  const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  const width = (data as unknown as { BYTES_PER_ELEMENT?: number }).BYTES_PER_ELEMENT ?? 1;
  if (HOST_LITTLE_ENDIAN || width === 1) return bytes;
  const copy = bytes.slice();
  for (let i = 0; i < copy.length; i += width) copy.subarray(i, i + width).reverse();
  return copy;
}

/**
 * Encodes tensors as a safetensors file, byte for byte as the Python/Rust library does:
 * tensors ordered by descending dtype (the crate's alignment order) then by name, header
 * JSON without spaces, padded with spaces to a multiple of 8 bytes. `__metadata__` is written
 * when `metadata` is given, its keys sorted (the library writes them in hash order).
 *
 * @throws {FileError} (file `<bytes>`) when a tensor's data does not match its shape
 * and dtype, a name is `__metadata__`, or a metadata value is not a string
 * @example
 * ```ts
 * import { encodeSafetensors } from "./safetensors.ts";
 * import { Tensor } from "./tensor.ts";
 * const bytes = encodeSafetensors({ x: new Tensor(new Float32Array([1]), [1]) });
 * console.log(bytes.length); // 8 + 56 + 4 = 68
 * ```
 */
export function encodeSafetensors(
  tensors: Record<string, SafetensorsInput>,
  metadata?: Record<string, string>,
): Uint8Array {
  return encodeWithLabel(IN_MEMORY, tensors, metadata);
}

/**
 * Encodes tensors (see {@link encodeSafetensors}) and writes them to `path` atomically.
 *
 * @throws {FileError} naming `path` on bad input or a failed write
 * @example
 * ```ts
 * import { writeSafetensors } from "./safetensors.ts";
 * import { Tensor } from "./tensor.ts";
 * const path = `${await Deno.makeTempDir()}/ref.safetensors`;
 * await writeSafetensors(path, { latents: Tensor.zeros([1, 4, 8, 8]) }, { seed: "42" });
 * ```
 */
export async function writeSafetensors(
  path: string,
  tensors: Record<string, SafetensorsInput>,
  metadata?: Record<string, string>,
): Promise<void> {
  await writeFileAtomic(path, encodeWithLabel(path, tensors, metadata));
}
