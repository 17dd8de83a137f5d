import assert from "node:assert/strict";
import { npArange, npLinspace } from "../../core/numerics/numpy.ts";
import { npLogF32 } from "../../core/numerics/numpy.ts";

const NUMERICS = "fixtures/refs/schedulers/euler_discrete/numerics.json";

Deno.test("npLinspace and npArange follow numpy's float64 formulas", () => {
  assert.deepEqual([...npLinspace(0, 999, 4)], [0, 333, 666, 999]);
  assert.deepEqual([...npLinspace(0, 999, 1)], [0]);
  assert.deepEqual([...npLinspace(2, 2, 3)], [2, 2, 2]);
  const r = npArange(1000, 0, -1000 / 3);
  assert.equal(r.length, 3);
  // numpy fills start + i * ((start + step) - start), not start + i * step
  const delta = (1000 + -1000 / 3) - 1000;
  assert.equal(r[2], 1000 + 2 * delta);
  assert.throws(() => npArange(0, 1, 0), RangeError);
});

Deno.test("npLogF32 is numpy's float32 log bit for bit (not the correctly rounded log)", async () => {
  const { np_log_f32: ref } = JSON.parse(await Deno.readTextFile(NUMERICS));
  assert.ok(ref.x.length >= 990);
  let differsFromRounded = 0;
  for (let i = 0; i < ref.x.length; i++) {
    assert.equal(npLogF32(ref.x[i]), ref.log[i], `np.log(float32(${ref.x[i]}))`);
    if (Math.fround(Math.log(ref.x[i])) !== ref.log[i]) differsFromRounded++;
  }
  // the reason for the port: numpy's SIMD log is up to 3.83 ulp away from log
  assert.ok(differsFromRounded > 10, `only ${differsFromRounded} values differ from fround(log)`);
  assert.equal(npLogF32(0), -Infinity);
  assert.ok(Number.isNaN(npLogF32(-1)));
  assert.equal(npLogF32(Infinity), Infinity);
});
