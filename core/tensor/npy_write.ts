/**
 * Writing NumPy `.npy` files byte for byte as `numpy.save` does.
 *
 * @module
 */
import { writeFileAtomic } from "./atomic_write.ts";
import { FileError, IN_MEMORY } from "./errors.ts";
import {
  HOST_LITTLE_ENDIAN,
  NPY_CTORS,
  NPY_MAGIC,
  NPY_SUPPORTED,
  parseNpyDescr,
} from "./npy_header.ts";
import { shapeSize, Tensor } from "./tensor.ts";

/** numpy's ARRAY_ALIGN and GROWTH_AXIS_MAX_DIGITS (numpy/lib/_format_impl.py). */
const ARRAY_ALIGN = 64;
const GROWTH_AXIS_MAX_DIGITS = 21;

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
 * import assert from "node:assert/strict";
 * import { encodeNpy } from "./npy.ts";
 * import { Tensor } from "./tensor.ts";
 * const bytes = encodeNpy(new Tensor(new Float32Array([1, 2, 3]), [3]));
 * assert.equal(bytes.length, 128 + 12); // a 128-byte header, 3 float32 elements
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
  const parsed = parseNpyDescr(descr);
  if ("error" in parsed) {
    throw new FileError(label, "descr", `${parsed.error} (expected one of ${NPY_SUPPORTED})`);
  }
  const ctor = NPY_CTORS[parsed.kind];
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
  out.set(NPY_MAGIC, 0);
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
 * import assert from "node:assert/strict";
 * import { readNpy, writeNpy } from "./npy.ts";
 * import { Tensor } from "./tensor.ts";
 * const path = `${await Deno.makeTempDir()}/noise.npy`;
 * await writeNpy(path, Tensor.zeros([1, 4, 8, 8]));
 * assert.deepEqual((await readNpy(path)).shape, [1, 4, 8, 8]);
 * ```
 */
export async function writeNpy(
  path: string,
  t: Tensor | { descr: string; shape: readonly number[]; data: ArrayBufferView },
): Promise<void> {
  await writeFileAtomic(path, encodeNpyLabelled(path, t));
}
