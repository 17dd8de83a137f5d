import assert from "node:assert/strict";
import { parseNpy } from "../../core/tensor/npy.ts";

Deno.test("parseNpy accepts the header variants numpy accepts", () => {
  const make = (header: string, data: Uint8Array) => {
    const text = new TextEncoder().encode(header);
    const out = new Uint8Array(10 + text.length + data.length);
    out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]);
    new DataView(out.buffer).setUint16(8, text.length, true);
    out.set(text, 10);
    out.set(data, 10 + text.length);
    return out;
  };
  const four = new Uint8Array(new Float32Array([2]).buffer);
  for (
    const header of [
      `{"descr": "<f4", "fortran_order": False, "shape": (1,)}\n`, // double quotes, no comma
      `{'shape': (1L,), 'fortran_order': False, 'descr': '<f4'}`, // Python 2 long, any order
      `{'descr':'=f4','fortran_order':True,'shape':( 1 , )}   \n`,
    ]
  ) {
    const arr = parseNpy(make(header, four));
    assert.deepEqual([...arr.data], [2], header);
    assert.deepEqual(arr.shape, [1]);
  }
});
