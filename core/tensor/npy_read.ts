/**
 * Reading NumPy `.npy` files (format versions 1.0, 2.0 and 3.0): every size is checked against
 * the file before anything is allocated; Fortran order and byte order are undone.
 *
 * @module
 */
import { FileError, IN_MEMORY, readFileBytes } from "./errors.ts";
import { float16ArrayToFloat32, int64ToFloat32 } from "./float16.ts";
import {
  HOST_LITTLE_ENDIAN,
  NPY_CTORS,
  NPY_MAGIC,
  NPY_SUPPORTED,
  type NpyArray,
  type NpyArrayCtor,
  type NpyData,
  parseNpyDescr,
  parseNpyHeaderDict,
} from "./npy_header.ts";
import { shapeSize, Tensor } from "./tensor.ts";

/** Copies `src` (elements in Fortran order) into a new array in C order. */
function fortranToC(src: NpyData, shape: number[]): NpyData {
  const n = src.length;
  const out = new (src.constructor as NpyArrayCtor)(n) as { [i: number]: number | bigint };
  const k = shape.length;
  const fStride: number[] = [];
  let acc = 1;
  for (let j = 0; j < k; j++) {
    fStride.push(acc);
    acc *= shape[j];
  }
  const index = new Array<number>(k).fill(0);
  const from = src as unknown as { [i: number]: number | bigint };
  let f = 0;
  for (let c = 0; c < n; c++) {
    out[c] = from[f];
    for (let j = k - 1; j >= 0; j--) {
      index[j]++;
      f += fStride[j];
      if (index[j] < shape[j]) break;
      f -= fStride[j] * shape[j];
      index[j] = 0;
    }
  }
  return out as unknown as NpyData;
}

/**
 * Parses a whole `.npy` file held in memory. Every size is checked against the file before
 * anything is allocated.
 *
 * @param bytes the whole file
 * @param path the name used in error messages
 * @throws {FileError} naming `path` and the field at fault (magic, version, header
 * length, header, descr, fortran_order, shape, data)
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { FileError } from "./errors.ts";
 * import { encodeNpy, parseNpy } from "./npy.ts";
 * import { Tensor } from "./tensor.ts";
 * const arr = parseNpy(encodeNpy(Tensor.zeros([2, 2])), "zeros.npy");
 * assert.deepEqual([arr.shape, arr.data.length], [[2, 2], 4]);
 * assert.throws(() => parseNpy(new Uint8Array(4), "bad.npy"), FileError);
 * ```
 */
export function parseNpy(bytes: Uint8Array, path: string = IN_MEMORY): NpyArray {
  if (bytes.length < 8 || NPY_MAGIC.some((b, i) => bytes[i] !== b)) {
    throw new FileError(
      path,
      "magic",
      `file does not start with "\\x93NUMPY" (not an .npy file, or truncated)`,
    );
  }
  const major = bytes[6];
  const minor = bytes[7];
  if (![1, 2, 3].includes(major) || minor !== 0) {
    throw new FileError(
      path,
      "version",
      `${major}.${minor} is not supported (expected 1.0, 2.0 or 3.0)`,
    );
  }
  const lengthBytes = major === 1 ? 2 : 4;
  if (bytes.length < 8 + lengthBytes) {
    throw new FileError(
      path,
      "header length",
      `file ends after ${bytes.length} bytes (expected a ${lengthBytes}-byte header length)`,
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  const headerStart = 8 + lengthBytes;
  const dataStart = headerStart + headerLength;
  if (dataStart > bytes.length) {
    throw new FileError(
      path,
      "header length",
      `${headerLength} bytes runs past the end of the ${bytes.length}-byte file (expected at ` +
        `most ${bytes.length - headerStart})`,
    );
  }
  const raw = bytes.subarray(headerStart, dataStart);
  let text = "";
  if (major === 3) {
    try {
      text = new TextDecoder("utf-8", { fatal: true }).decode(raw);
    } catch (err) {
      throw new FileError(path, "header", "is not valid UTF-8 (expected for version 3.0)", {
        cause: err,
      });
    }
  } else {
    for (const b of raw) text += String.fromCharCode(b); // latin1
  }
  const fail = (problem: string): never => {
    throw new FileError(path, "header", `${problem} (expected a Python dict literal)`);
  };
  const dict = parseNpyHeaderDict(text, fail);
  const keys = [...dict.keys()].sort();
  if (keys.join(",") !== "descr,fortran_order,shape") {
    throw new FileError(
      path,
      "header",
      `has keys [${keys.join(", ")}] (expected exactly descr, fortran_order, shape)`,
    );
  }
  const descr = dict.get("descr");
  if (typeof descr !== "string") {
    throw new FileError(path, "descr", `is not a string (expected e.g. '<f4')`);
  }
  const parsed = parseNpyDescr(descr);
  if ("error" in parsed) {
    throw new FileError(path, "descr", `${parsed.error} (expected one of ${NPY_SUPPORTED})`);
  }
  const fortranOrder = dict.get("fortran_order");
  if (typeof fortranOrder !== "boolean") {
    throw new FileError(path, "fortran_order", "is not True or False");
  }
  const shapeValue = dict.get("shape");
  if (!Array.isArray(shapeValue)) {
    throw new FileError(path, "shape", "is not a tuple (expected e.g. (2, 3) or ())");
  }
  let count = 1n;
  for (const d of shapeValue) {
    if (d < 0n) {
      throw new FileError(
        path,
        "shape",
        `has a negative extent ${d} (expected non-negative integers)`,
      );
    }
    count *= d;
  }
  const ctor = NPY_CTORS[parsed.kind];
  const need = count * BigInt(ctor.BYTES_PER_ELEMENT);
  const have = BigInt(bytes.length - dataStart);
  const shapeText = `(${shapeValue.join(", ")})`;
  if (need !== have) {
    throw new FileError(
      path,
      "data",
      need > have
        ? `shape ${shapeText} of ${descr} needs ${need} bytes but the file holds ${have} ` +
          `(truncated, or a wrong shape)`
        : `${have - need} bytes after the ${need} that shape ${shapeText} of ${descr} needs ` +
          `(expected none)`,
    );
  }
  // need === have, so every extent and the element count fit in the file: safe numbers.
  const shape = shapeValue.map(Number);
  const copy = bytes.slice(dataStart);
  const width = ctor.BYTES_PER_ELEMENT;
  if (width > 1 && parsed.littleEndian !== HOST_LITTLE_ENDIAN) {
    for (let i = 0; i < copy.length; i += width) copy.subarray(i, i + width).reverse();
  }
  let data = new ctor(copy.buffer);
  if (parsed.kind === "b1") {
    const b = data as Uint8Array;
    for (let i = 0; i < b.length; i++) b[i] = b[i] === 0 ? 0 : 1;
  }
  if (fortranOrder && shape.length > 1) data = fortranToC(data, shape);
  return { descr, shape, data, fortranOrder };
}

/**
 * Converts a parsed array to a float32 {@link Tensor}: `f4` as is, `f8` and 64-bit integers
 * rounded to nearest float32 (ties to even, as numpy's `astype(np.float32)`), `f2` widened,
 * other integers converted, booleans 0/1.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { npyToTensor } from "./npy.ts";
 * const t = npyToTensor({ descr: "<i8", shape: [2], data: new BigInt64Array([1n, -3n]), fortranOrder: false });
 * assert.deepEqual(t.data, new Float32Array([1, -3]));
 * ```
 */
export function npyToTensor(arr: NpyArray, path: string = IN_MEMORY): Tensor {
  const parsed = parseNpyDescr(arr.descr);
  if ("error" in parsed) {
    throw new FileError(path, "descr", `${parsed.error} (expected one of ${NPY_SUPPORTED})`);
  }
  let data: Float32Array;
  const src = arr.data;
  if (parsed.kind === "f2") data = float16ArrayToFloat32(src as Uint16Array);
  else if (src instanceof BigInt64Array || src instanceof BigUint64Array) {
    data = new Float32Array(src.length);
    for (let i = 0; i < src.length; i++) data[i] = int64ToFloat32(src[i]);
  } else if (src instanceof Float32Array) data = src;
  else data = new Float32Array(src); // exact to double, then one rounding to float32
  if (data.length !== shapeSize(arr.shape)) {
    throw new FileError(
      path,
      "data",
      `${data.length} elements for shape (${arr.shape.join(", ")}) (expected ${
        shapeSize(arr.shape)
      })`,
    );
  }
  return new Tensor(data, arr.shape);
}

/**
 * Reads an `.npy` file as a float32 {@link Tensor} (see {@link parseNpy} and
 * {@link npyToTensor}).
 *
 * @throws {FileError} when the file cannot be read or is malformed
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { readNpy, writeNpy } from "./npy.ts";
 * import { Tensor } from "./tensor.ts";
 * const path = `${await Deno.makeTempDir()}/x.npy`;
 * await writeNpy(path, Tensor.zeros([3]));
 * assert.deepEqual((await readNpy(path)).shape, [3]);
 * ```
 */
export async function readNpy(path: string): Promise<Tensor> {
  const bytes = await readFileBytes(path);
  return npyToTensor(parseNpy(bytes, path), path);
}
