/**
 * The `.npy` format's element types and header: the supported `descr` strings and their typed
 * arrays, and the parser of the header's Python dict literal (NEP 1,
 * `numpy/lib/_format_impl.py`).
 *
 * @module
 */

/**
 * The element arrays an `.npy` file can be read into.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { encodeNpy, type NpyData, parseNpy } from "./npy.ts";
 * const d: NpyData = new Int32Array([7, -1]);
 * assert.deepEqual(parseNpy(encodeNpy({ descr: "<i4", shape: [2], data: d })).data, d);
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
 * import assert from "node:assert/strict";
 * import { encodeNpy, parseNpy } from "./npy.ts";
 * import { Tensor } from "./tensor.ts";
 * const arr = parseNpy(encodeNpy(new Tensor(new Float32Array([1, 2]), [2])));
 * assert.deepEqual(arr, { descr: "<f4", shape: [2], data: new Float32Array([1, 2]), fortranOrder: false });
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

/**
 * Element kinds we read and write: numpy kind letter + size in bytes.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { NPY_KINDS } from "./npy_header.ts";
 * assert.equal(NPY_KINDS.length, 12);
 * assert.ok(NPY_KINDS.includes("f2"));
 * ```
 */
export const NPY_KINDS = [
  "f2",
  "f4",
  "f8",
  "i1",
  "i2",
  "i4",
  "i8",
  "u1",
  "u2",
  "u4",
  "u8",
  "b1",
] as const;
/**
 * One of {@link NPY_KINDS}: a `descr` without its byte-order mark.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { NPY_CTORS, type NpyKind } from "./npy_header.ts";
 * const k: NpyKind = "i8";
 * assert.equal(NPY_CTORS[k], BigInt64Array);
 * ```
 */
export type NpyKind = typeof NPY_KINDS[number];

/**
 * The constructor of the typed array an element kind is held in.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { NpyArrayCtor } from "./npy_header.ts";
 * const ctor: NpyArrayCtor = Float32Array;
 * assert.equal(new ctor(3).length, 3);
 * ```
 */
export type NpyArrayCtor = {
  new (length: number): NpyData;
  new (buffer: ArrayBuffer): NpyData;
  BYTES_PER_ELEMENT: number;
};

/**
 * The typed array each element kind is read into (`f2` as binary16 bit patterns, `b1` as 0/1).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { NPY_CTORS } from "./npy_header.ts";
 * assert.equal(NPY_CTORS.f2, Uint16Array);
 * assert.equal(NPY_CTORS.b1.BYTES_PER_ELEMENT, 1);
 * ```
 */
export const NPY_CTORS: Record<NpyKind, NpyArrayCtor> = {
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
} as unknown as Record<NpyKind, NpyArrayCtor>;

/**
 * The first six bytes of every `.npy` file: `"\x93NUMPY"`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { NPY_MAGIC } from "./npy_header.ts";
 * assert.equal(String.fromCharCode(...NPY_MAGIC.slice(1)), "NUMPY");
 * ```
 */
export const NPY_MAGIC: readonly number[] = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59];

/**
 * Whether this machine stores numbers little-endian (then `<` data needs no byte swap).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { HOST_LITTLE_ENDIAN } from "./npy_header.ts";
 * const probe = new Uint8Array(new Uint16Array([1]).buffer)[0];
 * assert.equal(HOST_LITTLE_ENDIAN, probe === 1);
 * ```
 */
export const HOST_LITTLE_ENDIAN: boolean = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * The kind and byte order of a descr string, or an explanation of why it is unsupported.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseNpyDescr } from "./npy_header.ts";
 * assert.deepEqual(parseNpyDescr(">f8"), { kind: "f8", littleEndian: false });
 * assert.deepEqual(parseNpyDescr("|O"), {
 *   error: '"|O" is an object (pickled) array, which is unsafe',
 * });
 * ```
 */
export function parseNpyDescr(
  descr: string,
): { kind: NpyKind; littleEndian: boolean } | { error: string } {
  const order = descr[0];
  const kind = descr.slice(1) as NpyKind;
  if (!"<>|=".includes(order) || descr.length < 2) {
    return { error: `${JSON.stringify(descr)} has no byte-order mark < > | =` };
  }
  if (kind === "O" as NpyKind) {
    return { error: `${JSON.stringify(descr)} is an object (pickled) array, which is unsafe` };
  }
  if (!NPY_KINDS.includes(kind)) return { error: `${JSON.stringify(descr)} is not supported` };
  const width = NPY_CTORS[kind].BYTES_PER_ELEMENT;
  if (order === "|" && width > 1 && kind !== "b1") {
    return { error: `${JSON.stringify(descr)} has no byte order for a ${width}-byte type` };
  }
  return { kind, littleEndian: order === "=" ? HOST_LITTLE_ENDIAN : order !== ">" };
}

/**
 * The descrs we read and write, as error messages list them.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { NPY_SUPPORTED } from "./npy_header.ts";
 * assert.ok(NPY_SUPPORTED.startsWith("<f2 <f4 <f8"));
 * ```
 */
export const NPY_SUPPORTED: string =
  "<f2 <f4 <f8 <i1 <i2 <i4 <i8 |u1 <u2 <u4 <u8 |b1 or their > / = variants";

/**
 * A Python literal value of the header: string, bool, int (bigint) or tuple of ints.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { NpyHeaderValue } from "./npy_header.ts";
 * const shape: NpyHeaderValue = [2n, 3n]; // (2, 3)
 * assert.ok(Array.isArray(shape));
 * ```
 */
export type NpyHeaderValue = string | boolean | bigint | bigint[];

/**
 * Parses the header's Python dict literal (the subset numpy writes: str keys; str, bool,
 * int and tuple-of-int values; Python 2's `L` suffix on ints is accepted).
 *
 * @param text the header text, without the padding's newline
 * @param fail called with a problem to report; must throw
 * @returns the dict's entries in file order
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseNpyHeaderDict } from "./npy_header.ts";
 * const fail = (problem: string): never => {
 *   throw new Error(problem);
 * };
 * const d = parseNpyHeaderDict("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", fail);
 * assert.deepEqual([...d], [["descr", "<f4"], ["fortran_order", false], ["shape", [2n, 3n]]]);
 * assert.throws(() => parseNpyHeaderDict("{'a': 1, 'a': 2}", fail), /key 'a' appears twice/);
 * ```
 */
export function parseNpyHeaderDict(
  text: string,
  fail: (problem: string) => never,
): Map<string, NpyHeaderValue> {
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
  const value = (): NpyHeaderValue => {
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
  const dict = new Map<string, NpyHeaderValue>();
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
