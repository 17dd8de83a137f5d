import assert from "node:assert/strict";
import { FileError } from "../../core/tensor/errors.ts";
import { parseSafetensors } from "../../core/tensor/safetensors.ts";
import { ALL_DTYPES } from "./_safetensors_refs.ts";

/** A Python-written file split into its header object and its data section. */
function splitFile(bytes: Uint8Array): { header: Record<string, HeaderEntry>; data: Uint8Array } {
  const n = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n)));
  return { header, data: bytes.subarray(8 + n) };
}
type HeaderEntry = { dtype: string; shape: number[]; data_offsets: [number, number] };

/** A file made of `header` (as JSON) and `data`, with the 8-byte length prefix. */
function joinFile(header: object, data: Uint8Array): Uint8Array {
  const text = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(8 + text.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(text.length), true);
  out.set(text, 8);
  out.set(data, 8 + text.length);
  return out;
}

Deno.test("data_offsets of a Python-written file: an end past the data or off dtype*shape is refused", async () => {
  const bytes = await Deno.readFile(ALL_DTYPES);
  const { header, data } = splitFile(bytes);
  assert.doesNotThrow(() => parseSafetensors(joinFile(header, data), "whole"));
  // The tensor whose bytes end the data section (not an empty tensor sitting at the end).
  const tensors = Object.entries(header).filter(([name]) => name !== "__metadata__");
  const ending = tensors.filter(([, e]) =>
    e.data_offsets[1] === data.length && e.data_offsets[0] < data.length
  );
  assert.equal(ending.length, 1, "exactly one non-empty tensor ends the data section");
  const last = ending[0][0];
  // 1. One byte missing from the data: the last tensor's end lies one byte past it.
  assert.throws(
    () => parseSafetensors(joinFile(header, data.subarray(0, data.length - 1)), "cut"),
    (e: unknown) => {
      assert.ok(e instanceof FileError, String(e));
      assert.equal(e.field, `${last}.data_offsets`);
      assert.equal(
        e.message,
        `cut: ${last}.data_offsets: end ${data.length} is past the end of the ` +
          `${data.length - 1}-byte data section (file truncated?)`,
      );
      return true;
    },
  );
  // 2. The header claims one more row of f32 than its data_offsets span (4 bytes per element).
  const f32 = header.f32;
  assert.equal(f32.dtype, "F32");
  const [begin, end] = f32.data_offsets;
  const shape = [f32.shape[0] + 1, ...f32.shape.slice(1)];
  const needs = shape.reduce((a, d) => a * d, 1) * 4;
  assert.ok(needs > end - begin);
  assert.throws(
    () => parseSafetensors(joinFile({ ...header, f32: { ...f32, shape } }, data), "rows"),
    (e: unknown) => {
      assert.ok(e instanceof FileError, String(e));
      assert.equal(e.field, "f32.shape");
      assert.match(
        e.message,
        new RegExp(
          `needs ${needs} bytes but data_offsets \\[${begin}, ${end}\\] span ${end - begin}`,
        ),
      );
      return true;
    },
  );
  // 3. ... and one fewer element than the span: too small is refused as well.
  const fewer = [...f32.shape.slice(0, -1), f32.shape.at(-1)! - 1];
  assert.throws(
    () => parseSafetensors(joinFile({ ...header, f32: { ...f32, shape: fewer } }, data), "cols"),
    (e: unknown) => e instanceof FileError && e.field === "f32.shape",
  );
});
