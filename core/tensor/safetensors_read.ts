/**
 * Reading `.safetensors` files: {@link SafetensorsFile}, the validated file held in memory, and
 * its float32, float64, integer and raw accessors.
 *
 * @module
 */
import { FileError, IN_MEMORY, readFileBytes } from "./errors.ts";
import {
  bfloat16ArrayToFloat32,
  float16ArrayToFloat32,
  float8ArrayToFloat32,
  int64ToFloat32,
} from "./float16.ts";
import { Tensor } from "./tensor.ts";
import { parseSafetensorsLayout, type SafetensorsTensorInfo } from "./safetensors_header.ts";

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
 * import assert from "node:assert/strict";
 * import { encodeSafetensors, parseSafetensors } from "./safetensors.ts";
 * import { Tensor } from "./tensor.ts";
 * const bytes = encodeSafetensors({ x: new Tensor(new Float32Array([1, 2]), [2]) }, { seed: "0" });
 * const f = parseSafetensors(bytes, "x.safetensors");
 * assert.deepEqual(f.names(), ["x"]);
 * assert.deepEqual(f.metadata, { seed: "0" });
 * assert.deepEqual(f.tensor("x").data, new Float32Array([1, 2]));
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
   * import assert from "node:assert/strict";
   * import { encodeSafetensors, parseSafetensors } from "./safetensors.ts";
   * import { Tensor } from "./tensor.ts";
   * assert.deepEqual(parseSafetensors(encodeSafetensors({ b: Tensor.zeros([1]), a: Tensor.zeros([1]) })).names(), ["a", "b"]);
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
   * import assert from "node:assert/strict";
   * import { encodeSafetensors, parseSafetensors } from "./safetensors.ts";
   * import { Tensor } from "./tensor.ts";
   * assert.equal(parseSafetensors(encodeSafetensors({ a: Tensor.zeros([1]) })).has("b"), false);
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
   * import assert from "node:assert/strict";
   * import { encodeSafetensors, parseSafetensors } from "./safetensors.ts";
   * import { Tensor } from "./tensor.ts";
   * assert.deepEqual(parseSafetensors(encodeSafetensors({ a: Tensor.zeros([3]) })).info("a").shape, [3]);
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
   * import assert from "node:assert/strict";
   * import { encodeSafetensors, parseSafetensors } from "./safetensors.ts";
   * const bytes = encodeSafetensors({
   *   h: { dtype: "F16", shape: [2], data: new Uint16Array([0x3c00, 0xc000]) },
   * });
   * assert.deepEqual(parseSafetensors(bytes).tensor("h").data, new Float32Array([1, -2]));
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
   * import assert from "node:assert/strict";
   * import { encodeSafetensors, parseSafetensors } from "./safetensors.ts";
   * const bytes = encodeSafetensors({ t: { dtype: "I64", shape: [2], data: new BigInt64Array([981n, -1n]) } });
   * assert.deepEqual(parseSafetensors(bytes).ints("t"), [981, -1]);
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
   * import assert from "node:assert/strict";
   * import { encodeSafetensors, parseSafetensors } from "./safetensors.ts";
   * const bytes = encodeSafetensors({ t: { dtype: "F64", shape: [1], data: new Float64Array([0.1]) } });
   * assert.deepEqual(parseSafetensors(bytes).float64("t"), new Float64Array([0.1]));
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
   * import assert from "node:assert/strict";
   * import { encodeSafetensors, parseSafetensors } from "./safetensors.ts";
   * const bytes = encodeSafetensors({ t: { dtype: "U8", shape: [2], data: new Uint8Array([7, 9]) } });
   * assert.deepEqual(parseSafetensors(bytes).raw("t"), new Uint8Array([7, 9]));
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
 * import assert from "node:assert/strict";
 * import { encodeSafetensors, parseSafetensors } from "./safetensors.ts";
 * import { Tensor } from "./tensor.ts";
 * const f = parseSafetensors(encodeSafetensors({ x: Tensor.zeros([4]) }), "x.safetensors");
 * assert.deepEqual(f.tensor("x").shape, [4]);
 * ```
 */
export function parseSafetensors(bytes: Uint8Array, path: string = IN_MEMORY): SafetensorsFile {
  const { metadata, infos } = parseSafetensorsLayout(bytes, path);
  return new SafetensorsFile(path, bytes, metadata, infos);
}

/**
 * Reads and validates a safetensors file (see {@link parseSafetensors}).
 *
 * @throws {FileError} when the file cannot be read or is malformed
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { readSafetensors, writeSafetensors } from "./safetensors.ts";
 * import { Tensor } from "./tensor.ts";
 * const path = `${await Deno.makeTempDir()}/x.safetensors`;
 * await writeSafetensors(path, { x: Tensor.zeros([2]) });
 * assert.deepEqual((await readSafetensors(path)).tensor("x").data, new Float32Array([0, 0]));
 * ```
 */
export async function readSafetensors(path: string): Promise<SafetensorsFile> {
  const bytes = await readFileBytes(path);
  return parseSafetensors(bytes, path);
}
