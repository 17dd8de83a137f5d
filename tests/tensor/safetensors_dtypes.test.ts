import assert from "node:assert/strict";
import {
  dtypeBits,
  encodeSafetensors,
  parseSafetensors,
  SAFETENSORS_DTYPES,
} from "../../core/tensor/safetensors.ts";

Deno.test("dtype table: every dtype has a size, and sub-byte types pack", () => {
  assert.equal(SAFETENSORS_DTYPES.length, 22);
  for (const d of SAFETENSORS_DTYPES) assert.ok([4, 6, 8, 16, 32, 64].includes(dtypeBits(d)), d);
  const f6 = encodeSafetensors({ x: { dtype: "F6_E2M3", shape: [4], data: new Uint8Array(3) } });
  assert.equal(parseSafetensors(f6).info("x").byteLength, 3);
});
