/**
 * Bit-level comparison of float32 arrays for the RNG tests (torch_generator, normal_math).
 *
 * @module
 */
import assert from "node:assert/strict";

/** The float32 values' bit patterns. */
export function bitsOf(a: Float32Array): Uint32Array {
  return new Uint32Array(a.buffer, a.byteOffset, a.length);
}

/** Elements whose bits differ, and the total number of differing bits. */
export function bitMismatches(actual: Float32Array, expected: Float32Array): [number, number] {
  assert.equal(actual.length, expected.length);
  const x = bitsOf(actual);
  const y = bitsOf(expected);
  let elements = 0;
  let bits = 0;
  for (let i = 0; i < x.length; i++) {
    let d = (x[i] ^ y[i]) >>> 0;
    if (d !== 0) elements++;
    while (d !== 0) {
      bits += d & 1;
      d >>>= 1;
    }
  }
  return [elements, bits];
}
