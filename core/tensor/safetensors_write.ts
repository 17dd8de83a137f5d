/**
 * Writing `.safetensors` files, byte for byte as the Rust `safetensors` crate lays them out
 * (`tensor::prepare`), so a file we write equals the one the Python library writes.
 *
 * @module
 */
import { writeFileAtomic } from "./atomic_write.ts";
import { FileError, IN_MEMORY } from "./errors.ts";
import {
  DTYPE_RANK,
  dtypeBits,
  SAFETENSORS_DTYPES,
  type SafetensorsDtype,
} from "./safetensors_dtypes.ts";
import { describe, isPlainObject } from "./safetensors_header.ts";
import { shapeSize, Tensor } from "./tensor.ts";

const HOST_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * A tensor to write: a float32 {@link Tensor} (stored as F32), or any dtype given as its
 * raw little-endian element bytes (a typed array or `Uint8Array` whose byte length is
 * shape x dtype size; F16/BF16 as `Uint16Array` bit patterns).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { encodeSafetensors, parseSafetensors, type SafetensorsInput } from "./safetensors.ts";
 * const t: SafetensorsInput = { dtype: "I64", shape: [1], data: new BigInt64Array([42n]) };
 * assert.deepEqual(parseSafetensors(encodeSafetensors({ t })).ints("t"), [42]);
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
 * import assert from "node:assert/strict";
 * import { encodeSafetensors } from "./safetensors.ts";
 * import { Tensor } from "./tensor.ts";
 * const bytes = encodeSafetensors({ x: new Tensor(new Float32Array([1]), [1]) });
 * assert.equal(bytes.length, 8 + 56 + 4); // header length, padded JSON header, one float32
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
 * import assert from "node:assert/strict";
 * import { readSafetensors, writeSafetensors } from "./safetensors.ts";
 * import { Tensor } from "./tensor.ts";
 * const path = `${await Deno.makeTempDir()}/ref.safetensors`;
 * await writeSafetensors(path, { latents: Tensor.zeros([1, 4, 8, 8]) }, { seed: "42" });
 * const f = await readSafetensors(path);
 * assert.deepEqual([f.metadata, f.info("latents").shape], [{ seed: "42" }, [1, 4, 8, 8]]);
 * ```
 */
export async function writeSafetensors(
  path: string,
  tensors: Record<string, SafetensorsInput>,
  metadata?: Record<string, string>,
): Promise<void> {
  await writeFileAtomic(path, encodeWithLabel(path, tensors, metadata));
}
