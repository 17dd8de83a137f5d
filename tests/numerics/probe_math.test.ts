import assert from "node:assert/strict";
import { f32Step, sameFloat32Bits, signedUlp } from "../../core/numerics/f32.ts";
import { ieeeMath, mathKey } from "../../core/numerics/f32_math.ts";
import { ProbeMath, UsageMath } from "../../core/numerics/probe_math.ts";

Deno.test("ProbeMath moves results by call position, so a moved result moves what it feeds", () => {
  // exp(0.5 * log(v)), as DDPM's fixed_small_log: moving log (position 0) changes exp's input
  const chain = (m: ProbeMath) => m.exp(Math.fround(0.5 * m.log(0.3)));
  const base = new ProbeMath(ieeeMath);
  const plain = chain(base);
  const moved = new ProbeMath(ieeeMath, new Map([[0, 1]]));
  const viaLog = chain(moved);
  const movedLog = f32Step(ieeeMath.log(0.3), 1);
  assert.notEqual(moved.keys()[1], base.keys()[1]); // exp saw another input
  assert.equal(viaLog, ieeeMath.exp(Math.fround(0.5 * movedLog)));
  assert.equal(plain, ieeeMath.exp(Math.fround(0.5 * ieeeMath.log(0.3))));
  const bothMoved = new ProbeMath(ieeeMath, new Map([[0, 1], [1, -1]]));
  const v = chain(bothMoved);
  assert.equal(signedUlp(v, ieeeMath.exp(Math.fround(0.5 * movedLog))), -1);
  assert.deepEqual([...bothMoved.assigned().keys()], bothMoved.keys());
});

Deno.test("UsageMath notes the phases each input is used in; sameFloat32Bits compares bits", () => {
  const m = new UsageMath(ieeeMath);
  m.phase = 0;
  m.sqrt(2);
  m.phase = 4;
  m.sqrt(2);
  m.exp(1);
  assert.deepEqual([...m.usage.get(mathKey("sqrt", 2))!], [0, 4]);
  assert.deepEqual([...m.usage.get(mathKey("exp", 1))!], [4]);
  assert.ok(sameFloat32Bits(Float32Array.of(1, NaN), Float32Array.of(1, NaN)));
  assert.ok(!sameFloat32Bits(Float32Array.of(1), Float32Array.of(1, 2)));
});
