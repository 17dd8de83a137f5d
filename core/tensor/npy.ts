/**
 * Reading and writing NumPy `.npy` files (format versions 1.0, 2.0 and 3.0, as specified in
 * NEP 1 and `numpy/lib/_format_impl.py`): a magic string, a version, a header length, a
 * Python-literal header dict `{'descr': ..., 'fortran_order': ..., 'shape': ...}` padded to
 * 64 bytes, then the raw elements.
 *
 * @module
 */
import { writeFileAtomic } from "./atomic_write.ts";
import { FileError, IN_MEMORY } from "./errors.ts";
import { float16ArrayToFloat32, int64ToFloat32 } from "./float16.ts";
import { shapeSize, Tensor } from "./tensor.ts";

/**
 * The element arrays an `.npy` file can be read into.
 *
 * @example
 * ```ts
 * import type { NpyData } from "./npy.ts";
 * const d: NpyData = new Float32Array(4);
 * ```
 */
export type NpyData =
  | Float32Array
  | Float64Array
  | Int8Array
  | Uint8Array
  | Int16Array
  | Uint16Array
  | Int32Array
  | Uint32Array
  | BigInt64Array
  | BigUint64Array;

/**
 * The contents of an `.npy` file. `data` holds the elements in C (row-major) order and in the
 * host's byte order, whatever `fortranOrder` and the byte order of `descr` were in the file.
 * Element types: `f4` Float32Array, `f8` Float64Array, `f2` Uint16Array of binary16 bit
 * patterns, `b1` Uint8Array of 0/1, integers the matching integer array (64-bit ones as
 * BigInt64Array / BigUint64Array).
 *
 * @example
 * ```ts
 * import { encodeNpy, parseNpy } from "./npy.ts";
 * import { Tensor } from "./tensor.ts";
 * const arr = parseNpy(encodeNpy(new Tensor(new Float32Array([1, 2]), [2])));
 * console.log(arr.descr, arr.shape, arr.fortranOrder); // "<f4" [2] false
 * ```
 */
export interface NpyArray {
  /** The dtype descriptor as stored, e.g. `<f4`, `>f8`, `|b1`. */
  descr: string;
  /** The extents, `[]` for a 0-d array. */
  shape: number[];
  /** The elements, C order, host byte order. */
  data: NpyData;
  /** Whether the file stored the elements in Fortran (column-major) order. */
  fortranOrder: boolean;
}

/** Element kinds we read and write: numpy kind letter + size in bytes. */
const KINDS = ["f2", "f4", "f8", "i1", "i2", "i4", "i8", "u1", "u2", "u4", "u8", "b1"] as const;
type Kind = typeof KINDS[number];

type ArrayCtor = {
  new (length: number): NpyData;
  new (buffer: ArrayBuffer): NpyData;
  BYTES_PER_ELEMENT: number;
};

const CTORS: Record<Kind, ArrayCtor> = {
  f2: Uint16Array,
  f4: Float32Array,
  f8: Float64Array,
  i1: Int8Array,
  i2: Int16Array,
  i4: Int32Array,
  i8: BigInt64Array,
  u1: Uint8Array,
  u2: Uint16Array,
  u4: Uint32Array,
  u8: BigUint64Array,
  b1: Uint8Array,
} as unknown as Record<Kind, ArrayCtor>;

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // "\x93NUMPY"
const HOST_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
/** numpy's ARRAY_ALIGN and GROWTH_AXIS_MAX_DIGITS (numpy/lib/_format_impl.py). */
const ARRAY_ALIGN = 64;
const GROWTH_AXIS_MAX_DIGITS = 21;

/** The kind and byte order of a descr string, or an explanation of why it is unsupported. */
function parseDescr(
  descr: string,
): { kind: Kind; littleEndian: boolean } | { error: string } {
  const order = descr[0];
  const kind = descr.slice(1) as Kind;
  if (!"<>|=".includes(order) || descr.length < 2) {
    return { error: `${JSON.stringify(descr)} has no byte-order mark < > | =` };
  }
  if (kind === "O" as Kind) {
    return { error: `${JSON.stringify(descr)} is an object (pickled) array, which is unsafe` };
  }
  if (!KINDS.includes(kind)) return { error: `${JSON.stringify(descr)} is not supported` };
  const width = CTORS[kind].BYTES_PER_ELEMENT;
  if (order === "|" && width > 1 && kind !== "b1") {
    return { error: `${JSON.stringify(descr)} has no byte order for a ${width}-byte type` };
  }
  return { kind, littleEndian: order === "=" ? HOST_LITTLE_ENDIAN : order !== ">" };
}

const SUPPORTED = "<f2 <f4 <f8 <i1 <i2 <i4 <i8 |u1 <u2 <u4 <u8 |b1 or their > / = variants";

/** A Python literal value of the header: string, bool, int (bigint) or tuple of ints. */
type Literal = string | boolean | bigint | bigint[];

/**
 * Parses the header's Python dict literal (the subset numpy writes: str keys; str, bool,
 * int and tuple-of-int values; Python 2's `L` suffix on ints is accepted).
 */
function parseHeaderDict(text: string, fail: (problem: string) => never): Map<string, Literal> {
  let i = 0;
  const ws = () => {
    while (i < text.length && " \t\r\n".includes(text[i])) i++;
  };
  const expect = (c: string) => {
    ws();
    if (text[i] !== c) {
      fail(`expected '${c}' at character ${i}, found ${JSON.stringify(text[i] ?? "end")}`);
    }
    i++;
  };
  const str = (): string => {
    const quote = text[i];
    i++;
    let out = "";
    while (i < text.length && text[i] !== quote) {
      if (text[i] === "\\") {
        const esc = text[i + 1];
        if (esc !== "\\" && esc !== "'" && esc !== '"') {
          fail(`unsupported escape \\${esc ?? ""} at character ${i}`);
        }
        out += esc;
        i += 2;
      } else out += text[i++];
    }
    if (i >= text.length) fail("unterminated string");
    i++;
    return out;
  };
  const int = (): bigint => {
    const m = /^-?[0-9]+L?/.exec(text.slice(i, i + 64));
    if (m === null) fail(`expected an integer at character ${i}`);
    i += m![0].length;
    return BigInt(m![0].replace("L", ""));
  };
  const value = (): Literal => {
    ws();
    const c = text[i];
    if (c === "'" || c === '"') return str();
    if (text.startsWith("True", i)) return (i += 4, true);
    if (text.startsWith("False", i)) return (i += 5, false);
    if (c === "(") {
      i++;
      const items: bigint[] = [];
      let sawComma = false;
      ws();
      while (text[i] !== ")") {
        items.push(int());
        ws();
        if (text[i] === ",") {
          sawComma = true;
          i++;
          ws();
        } else if (text[i] !== ")") fail(`expected ',' or ')' at character ${i}`);
      }
      i++;
      // "(3)" is the int 3 in Python, not a tuple.
      return items.length === 1 && !sawComma ? items[0] : items;
    }
    if (c === "[") fail("structured dtypes (a list descr) are not supported");
    if (c === "-" || (c >= "0" && c <= "9")) return int();
    fail(`unsupported value at character ${i}: ${JSON.stringify(text.slice(i, i + 16))}`);
  };
  const dict = new Map<string, Literal>();
  expect("{");
  ws();
  while (text[i] !== "}") {
    ws();
    if (text[i] !== "'" && text[i] !== '"') fail(`expected a string key at character ${i}`);
    const key = str();
    expect(":");
    if (dict.has(key)) fail(`key '${key}' appears twice`);
    dict.set(key, value());
    ws();
    if (text[i] === ",") i++;
    else if (text[i] !== "}") fail(`expected ',' or '}' at character ${i}`);
    ws();
  }
  i++;
  ws();
  if (i !== text.length) fail(`unexpected text after the dict at character ${i}`);
  return dict;
}

/** Copies `src` (elements in Fortran order) into a new array in C order. */
function fortranToC(src: NpyData, shape: number[]): NpyData {
  const n = src.length;
  const out = new (src.constructor as ArrayCtor)(n) as { [i: number]: number | bigint };
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
 * import { encodeNpy, parseNpy } from "./npy.ts";
 * import { Tensor } from "./tensor.ts";
 * const arr = parseNpy(encodeNpy(Tensor.zeros([2, 2])), "zeros.npy");
 * console.log(arr.shape, arr.data.length); // [2, 2] 4
 * ```
 */
export function parseNpy(bytes: Uint8Array, path: string = IN_MEMORY): NpyArray {
  if (bytes.length < 8 || MAGIC.some((b, i) => bytes[i] !== b)) {
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
  const dict = parseHeaderDict(text, fail);
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
  const parsed = parseDescr(descr);
  if ("error" in parsed) {
    throw new FileError(path, "descr", `${parsed.error} (expected one of ${SUPPORTED})`);
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
  const ctor = CTORS[parsed.kind];
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
 * import { npyToTensor } from "./npy.ts";
 * const t = npyToTensor({ descr: "<i8", shape: [2], data: new BigInt64Array([1n, -3n]), fortranOrder: false });
 * console.log(t.data); // Float32Array [1, -3]
 * ```
 */
export function npyToTensor(arr: NpyArray, path: string = IN_MEMORY): Tensor {
  const parsed = parseDescr(arr.descr);
  if ("error" in parsed) {
    throw new FileError(path, "descr", `${parsed.error} (expected one of ${SUPPORTED})`);
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
 * import { readNpy, writeNpy } from "./npy.ts";
 * import { Tensor } from "./tensor.ts";
 * const path = `${await Deno.makeTempDir()}/x.npy`;
 * await writeNpy(path, Tensor.zeros([3]));
 * (await readNpy(path)).shape; // [3]
 * ```
 */
export async function readNpy(path: string): Promise<Tensor> {
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(path);
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    throw new FileError(path, undefined, `cannot read the file (${reason})`, {
      cause: err,
    });
  }
  return npyToTensor(parseNpy(bytes, path), path);
}

/** numpy's header text: sorted keys, `repr` of each value, room to grow the first axis. */
function headerText(descr: string, shape: readonly number[]): string {
  const shapeRepr = shape.length === 0
    ? "()"
    : shape.length === 1
    ? `(${shape[0]},)`
    : `(${shape.join(", ")})`;
  let text = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shapeRepr}, }`;
  if (shape.length > 0) text += " ".repeat(GROWTH_AXIS_MAX_DIGITS - String(shape[0]).length);
  return text;
}

/**
 * Encodes an array as an `.npy` file in C order, byte for byte as `numpy.save` does: format
 * 1.0 (2.0 when the header does not fit 65535 bytes), header padded with spaces and a
 * newline so the data starts on a 64-byte boundary. A {@link Tensor} is written as `<f4`;
 * otherwise `data` must be the typed array of `descr` (Uint16Array bit patterns for `f2`,
 * Uint8Array 0/1 for `|b1`), holding host-order values; `>` descrs are byte-swapped.
 *
 * @throws {FileError} (file `<bytes>`) on an unsupported descr or a data/shape mismatch
 * @example
 * ```ts
 * import { encodeNpy } from "./npy.ts";
 * import { Tensor } from "./tensor.ts";
 * const bytes = encodeNpy(new Tensor(new Float32Array([1, 2, 3]), [3]));
 * console.log(bytes.length); // 128 + 12
 * ```
 */
export function encodeNpy(
  t: Tensor | { descr: string; shape: readonly number[]; data: ArrayBufferView },
): Uint8Array {
  return encodeNpyLabelled(IN_MEMORY, t);
}

function encodeNpyLabelled(
  label: string,
  t: Tensor | { descr: string; shape: readonly number[]; data: ArrayBufferView },
): Uint8Array {
  const descr = t instanceof Tensor ? "<f4" : t.descr;
  const parsed = parseDescr(descr);
  if ("error" in parsed) {
    throw new FileError(label, "descr", `${parsed.error} (expected one of ${SUPPORTED})`);
  }
  const ctor = CTORS[parsed.kind];
  const width = ctor.BYTES_PER_ELEMENT;
  const canonical = width === 1 ? descr[0] === "|" : descr[0] === "<" || descr[0] === ">";
  if (!canonical) {
    throw new FileError(
      label,
      "descr",
      `${JSON.stringify(descr)} is not in numpy's canonical form (expected '|' for 1-byte ` +
        `types, '<' or '>' otherwise)`,
    );
  }
  const shape = [...t.shape];
  if (!shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    throw new FileError(
      label,
      "shape",
      `[${shape.join(", ")}] (expected non-negative integers)`,
    );
  }
  const data = t.data;
  if (!(data instanceof (ctor as unknown as typeof Uint8Array))) {
    throw new FileError(
      label,
      "data",
      `is a ${data?.constructor?.name} (expected a ${ctor.name} for ${descr})`,
    );
  }
  if ((data as Uint8Array).length !== shapeSize(shape)) {
    throw new FileError(
      label,
      "data",
      `${(data as Uint8Array).length} elements for shape [${shape.join(", ")}] (expected ${
        shapeSize(shape)
      })`,
    );
  }
  const header = new TextEncoder().encode(headerText(descr, shape)); // ASCII only
  // numpy _wrap_header: hlen = len + 1 (newline); pad so magic + length + header % 64 == 0.
  let lengthBytes = 2;
  let padded = header.length + 1 + ARRAY_ALIGN - ((8 + 2 + header.length + 1) % ARRAY_ALIGN);
  if (padded > 0xffff) {
    lengthBytes = 4;
    padded = header.length + 1 + ARRAY_ALIGN - ((8 + 4 + header.length + 1) % ARRAY_ALIGN);
  }
  const dataStart = 8 + lengthBytes + padded;
  const out = new Uint8Array(dataStart + data.byteLength);
  out.set(MAGIC, 0);
  out[6] = lengthBytes === 2 ? 1 : 2;
  out[7] = 0;
  const view = new DataView(out.buffer);
  if (lengthBytes === 2) view.setUint16(8, padded, true);
  else view.setUint32(8, padded, true);
  out.set(header, 8 + lengthBytes);
  out.fill(0x20, 8 + lengthBytes + header.length, dataStart - 1);
  out[dataStart - 1] = 0x0a;
  out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), dataStart);
  if (width > 1 && parsed.littleEndian !== HOST_LITTLE_ENDIAN) {
    for (let i = dataStart; i < out.length; i += width) out.subarray(i, i + width).reverse();
  }
  if (parsed.kind === "b1") {
    for (let i = dataStart; i < out.length; i++) out[i] = out[i] === 0 ? 0 : 1;
  }
  return out;
}

/**
 * Writes a float32 {@link Tensor} as a `<f4` `.npy` file, atomically (see {@link encodeNpy}).
 *
 * @throws {FileError} naming `path` when the write fails
 * @example
 * ```ts
 * import { writeNpy } from "./npy.ts";
 * import { Tensor } from "./tensor.ts";
 * await writeNpy(`${await Deno.makeTempDir()}/noise.npy`, Tensor.zeros([1, 4, 8, 8]));
 * ```
 */
export async function writeNpy(
  path: string,
  t: Tensor | { descr: string; shape: readonly number[]; data: ArrayBufferView },
): Promise<void> {
  await writeFileAtomic(path, encodeNpyLabelled(path, t));
}
