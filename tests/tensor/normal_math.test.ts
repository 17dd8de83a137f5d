import assert from "node:assert/strict";
import { readSafetensors } from "../../core/tensor/safetensors.ts";
import {
  avxLogf,
  avxSincosf,
  glibcLogf,
  type GlibcMathVariant,
  glibcSincosf,
} from "../../core/tensor/normal_math.ts";
import { bitMismatches } from "./_bits.ts";

const REFS = new URL("../../fixtures/refs/rng/", import.meta.url);
const refPath = (name: string) => decodeURIComponent(new URL(name, REFS).pathname);

Deno.test("glibcLogf / glibcSincosf equal glibc's logf / sincosf on the kernel's arguments", async () => {
  const f = await readSafetensors(refPath("libm.safetensors"));
  const variants: GlibcMathVariant[] = JSON.parse(f.metadata.variants);
  assert.ok(variants.length > 0, "the dump must hold at least one glibc build");
  const logIn = f.tensor("logf_in").data;
  const sinIn = f.tensor("sincosf_in").data;
  for (const v of variants) {
    const logs = logIn.map((x) => glibcLogf(x, v));
    const sins = new Float32Array(sinIn.length);
    const coss = new Float32Array(sinIn.length);
    sinIn.forEach((x, i) => [sins[i], coss[i]] = glibcSincosf(x, v));
    const [l] = bitMismatches(logs, f.tensor(`logf_${v}`).data);
    const [s] = bitMismatches(sins, f.tensor(`sinf_${v}`).data);
    const [c] = bitMismatches(coss, f.tensor(`cosf_${v}`).data);
    console.log(
      `glibc ${f.metadata.glibc} ${v}: logf ${logIn.length} compared, ${l} mismatching; ` +
        `sincosf ${sinIn.length} compared, ${s} + ${c} mismatching`,
    );
    assert.deepEqual([l, s, c], [0, 0, 0]);
  }
});

Deno.test("glibcLogf / glibcSincosf: special arguments", () => {
  assert.equal(glibcLogf(1, "fma"), 0);
  assert.equal(glibcLogf(0, "fma"), -Infinity);
  assert.equal(glibcLogf(Infinity, "sse2"), Infinity);
  assert.ok(Number.isNaN(glibcLogf(-1, "fma")));
  // a subnormal argument is normalized first: log(2^-140) = -140 ln 2
  assert.equal(glibcLogf(2 ** -140, "fma"), Math.fround(-140 * Math.LN2));
  assert.deepEqual(glibcSincosf(2 ** -20, "fma"), [2 ** -20, 1]);
  assert.throws(() => glibcSincosf(200, "fma"), /glibcSincosf: x: got 200 \(expected \|x\| < 120/);
});

Deno.test("avxLogf / avxSincosf stay within 2 ulp of the true values on the kernel's range", () => {
  // Not the parity check (the dumps are); this catches a broken port on arguments the dumps
  // may not reach: 4096 evenly spread uniforms of 24 bits.
  let worst = 0;
  for (let k = 1; k < 1 << 24; k += 4096) {
    const u1 = Math.fround(1 - k / 2 ** 24);
    const ulp = (v: number) => 2 ** (Math.floor(Math.log2(Math.max(Math.abs(v), 2 ** -126))) - 23);
    const l = Math.log(u1);
    worst = Math.max(worst, Math.abs(avxLogf(u1) - l) / ulp(l));
    const theta = Math.fround(Math.fround(2 * Math.PI) * (k / 2 ** 24));
    const [s, c] = avxSincosf(theta);
    // absolute error against float32's ulp at 1: both polynomials are absolute-accurate
    worst = Math.max(worst, Math.abs(s - Math.sin(theta)) / 2 ** -24);
    worst = Math.max(worst, Math.abs(c - Math.cos(theta)) / 2 ** -24);
  }
  assert.ok(worst <= 2, `worst error ${worst} ulp`);
  assert.equal(avxLogf(1), 0);
  assert.ok(Number.isNaN(avxLogf(0)));
  assert.deepEqual(avxSincosf(0), [0, 1]);
  const [s, c] = avxSincosf(-1);
  const [s1, c1] = avxSincosf(1);
  assert.deepEqual([s, c], [-s1, c1]);
});
