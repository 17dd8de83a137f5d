import assert from "node:assert/strict";
import {
  f32,
  f32Bits,
  f32FromBits,
  f32Step,
  fma,
  fmaf,
  roundHalfEven,
  signedUlp,
  ulpDistance,
} from "../../core/numerics/f32.ts";

// ---- fused multiply-add emulation, against exact rational arithmetic ----

/** x = m * 2^e exactly, for a finite nonzero double. */
function decompose(x: number): [bigint, number] {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, x);
  const bits = view.getBigUint64(0);
  const exp = Number((bits >> 52n) & 0x7ffn);
  let m = bits & ((1n << 52n) - 1n);
  let e: number;
  if (exp === 0) {
    e = -1074;
  } else {
    m |= 1n << 52n;
    e = exp - 1075;
  }
  return [x < 0 ? -m : m, e];
}

/** a * b + c computed exactly, then rounded once to `precision` bits (nearest, ties to even). */
function exactFma(a: number, b: number, c: number, precision: number): number {
  const [ma, ea] = decompose(a);
  const [mb, eb] = decompose(b);
  const [mc, ec] = decompose(c);
  const e = Math.min(ea + eb, ec);
  const total = ((ma * mb) << BigInt(ea + eb - e)) + (mc << BigInt(ec - e));
  if (total === 0n) return 0;
  const negative = total < 0n;
  let t = negative ? -total : total;
  let shift = t.toString(2).length - precision;
  if (shift > 0) {
    const q = t >> BigInt(shift);
    const rem = t - (q << BigInt(shift));
    const half = 1n << BigInt(shift - 1);
    t = rem > half || (rem === half && (q & 1n) === 1n) ? q + 1n : q;
  } else {
    shift = 0;
  }
  const v = Number(t) * 2 ** (e + shift);
  return negative ? -v : v;
}

/** A deterministic stream of doubles in [0, 1) (mulberry32). */
function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

Deno.test("fmaf / fma round once: cases where a * b + c rounds twice", () => {
  const a = Math.fround(1 + 2 ** -12);
  assert.equal(fmaf(a, a, Math.fround(-(1 + 2 ** -11))), 2 ** -24);
  // exact a*a + 2^-80 lies just above a float32 tie: double rounding would go to even (down)
  assert.equal(fmaf(a, a, 2 ** -80), Math.fround(1 + 2 ** -11 + 2 ** -23));
  assert.equal(Math.fround(a * a + 2 ** -80), Math.fround(1 + 2 ** -11)); // the naive result
  assert.equal(fmaf(a, a, -(2 ** -80)), Math.fround(1 + 2 ** -11));
  const d = 1 + 2 ** -27;
  assert.equal(fma(d, d, -(1 + 2 ** -26)), 2 ** -54);
  const e = 1 + 2 ** -26; // d * e = 1 + 3 * 2^-27 + 2^-53: a float64 tie
  assert.equal(fma(d, e, 2 ** -100), 1 + 3 * 2 ** -27 + 2 ** -52);
  assert.equal(d * e + 2 ** -100, 1 + 3 * 2 ** -27); // the naive result
  assert.equal(fma(d, e, -(2 ** -100)), 1 + 3 * 2 ** -27);
  assert.ok(Object.is(fmaf(-0, 1, 0), 0)); // -0 + +0 is +0, as in torch's fmadd(n, std, mean)
});

Deno.test("fmaf / fma equal exact rounding on 20000 random (often cancelling) triples", () => {
  const rnd = random(12345);
  const value = (scale: number) => (rnd() - 0.5) * 2 ** Math.floor((rnd() - 0.5) * scale);
  let checked = 0;
  for (let i = 0; i < 10000; i++) {
    const a = Math.fround(value(40));
    const b = Math.fround(value(40));
    // c cancels most of the product half of the time
    const c = Math.fround(i % 2 === 0 ? -a * b * (1 + (rnd() - 0.5) * 2 ** -20) : value(60));
    assert.equal(fmaf(a, b, c), exactFma(a, b, c, 24), `fmaf(${a}, ${b}, ${c})`);
    const x = value(60);
    const y = value(60);
    const z = i % 2 === 0 ? -x * y * (1 + (rnd() - 0.5) * 2 ** -45) : value(100);
    assert.equal(fma(x, y, z), exactFma(x, y, z, 53), `fma(${x}, ${y}, ${z})`);
    checked += 2;
  }
  assert.equal(checked, 20000);
});

Deno.test("roundHalfEven rounds ties to even like numpy.round", () => {
  assert.deepEqual(
    [0.5, 1.5, 2.5, 3.5, 254.5, 2.4999, 2.5001, 7].map(roundHalfEven),
    [0, 2, 2, 4, 254, 2, 3, 7],
  );
});

/**
 * a * b + c computed exactly, then rounded once to float32 with the float32 exponent range:
 * nearest, ties to even, subnormals below 2^-126 (quantum 2^-149), Infinity from 2^128 - 2^103
 * (the midpoint above FLT_MAX) up. The sign of an exact zero follows IEEE (+0 unless both
 * addends are -0). NaN and infinite arguments are not handled here.
 */
function exactFmaf(a: number, b: number, c: number): number {
  const terms = [decomposeOrZero(a), decomposeOrZero(b), decomposeOrZero(c)];
  const [[ma, ea], [mb, eb], [mc, ec]] = terms;
  const e = Math.min(ea + eb, ec);
  const total = ((ma * mb) << BigInt(ea + eb - e)) + (mc << BigInt(ec - e));
  if (total === 0n) {
    const productNegative = (Object.is(a, -0) || a < 0) !== (Object.is(b, -0) || b < 0);
    const bothNegativeZero = productNegative && (Object.is(c, -0) || c < 0);
    return bothNegativeZero ? -0 : 0;
  }
  const negative = total < 0n;
  let t = negative ? -total : total;
  // the value is t * 2^e; keep 24 bits, but never a quantum below 2^-149
  const bits = t.toString(2).length;
  const shift = Math.max(bits - 24, -149 - e);
  let exp = e;
  if (shift > 0) {
    const q = t >> BigInt(shift);
    const rem = t - (q << BigInt(shift));
    const half = 1n << BigInt(shift - 1);
    t = rem > half || (rem === half && (q & 1n) === 1n) ? q + 1n : q;
    exp = e + shift;
  }
  const v = Number(t) * 2 ** exp; // t <= 2^24: exact unless it overflows
  const out = v >= 2 ** 128 ? Infinity : v;
  return negative ? -out : out;
}

function decomposeOrZero(x: number): [bigint, number] {
  return x === 0 ? [0n, 0] : decompose(x);
}

/** float32 values drawn to hit the hard cases: any exponent, subnormals, extremes, ties. */
function randomF32(rnd: () => number): number {
  const kind = rnd();
  if (kind < 0.1) return f32FromBits(Math.floor(rnd() * 0x800000) | (rnd() < 0.5 ? 0x80000000 : 0)); // subnormal
  if (kind < 0.15) {
    return [
      0,
      -0,
      2 ** -149,
      -(2 ** -149),
      2 ** -126,
      f32FromBits(0x7f7fffff),
    ][Math.floor(rnd() * 6)];
  }
  // any finite float32 bit pattern (exponent fields 0..254)
  const exponent = Math.floor(rnd() * 255);
  return f32FromBits(
    ((exponent << 23) | Math.floor(rnd() * 0x800000) | (rnd() < 0.5 ? 0x80000000 : 0)) >>> 0,
  );
}

Deno.test("fmaf equals exact rational rounding over 200000 triples with subnormals, ties and overflow", () => {
  const rnd = random(20261203);
  let ties = 0;
  let subnormal = 0;
  let overflow = 0;
  for (let i = 0; i < 200000; i++) {
    let a = randomF32(rnd);
    let b = randomF32(rnd);
    let c: number;
    const mode = i % 4;
    if (mode === 0) {
      c = randomF32(rnd);
    } else if (mode === 1) {
      // c cancels most of the product: results in the subnormal range and exact ties
      c = f32(-a * b * (1 + (rnd() - 0.5) * 2 ** -20));
    } else if (mode === 2) {
      // products near the overflow threshold and near the subnormal range
      a = f32(
        (1 + rnd()) * 2 ** (rnd() < 0.5 ? 63 + Math.floor(rnd() * 2) : -75 - Math.floor(rnd() * 3)),
      );
      b = f32(
        (1 + rnd()) * 2 ** (a > 1 ? 63 + Math.floor(rnd() * 2) : -75 + Math.floor(rnd() * 3)),
      );
      c = rnd() < 0.5 ? randomF32(rnd) : f32(-a * b * (1 + (rnd() - 0.5) * 2 ** -22));
    } else {
      // a product that is a float32 plus exactly half an ulp (a tie), nudged by a tiny c
      const m = 1 + (2 * Math.floor(rnd() * 2 ** 10) + 1) * 2 ** -12; // odd: a * b ends in 2^-24
      a = f32(m);
      b = f32(1 + 2 ** -12);
      c = [0, 2 ** -100, -(2 ** -100), 2 ** -149][Math.floor(rnd() * 4)];
    }
    const want = exactFmaf(a, b, c);
    const got = fmaf(a, b, c);
    if (!Object.is(got, want)) assert.fail(`fmaf(${a}, ${b}, ${c}) = ${got}, exact ${want}`);
    if (want !== 0 && Math.abs(want) < 2 ** -126) subnormal++;
    if (!Number.isFinite(want)) overflow++;
    if (mode === 3 && c === 0 && f32(a * b) !== a * b) ties++;
  }
  console.log(
    `fmaf: 200000 triples, ${subnormal} subnormal, ${overflow} overflowing, ${ties} ties`,
  );
  assert.ok(subnormal > 1000 && overflow > 1000 && ties > 1000);
});

Deno.test("fmaf at the overflow threshold and the smallest subnormal", () => {
  const max = f32FromBits(0x7f7fffff); // FLT_MAX = 2^128 - 2^104
  // FLT_MAX + half an ulp (2^103) is the tie that rounds to infinity; just below it does not
  assert.equal(fmaf(max, 1, 2 ** 103), Infinity);
  assert.equal(fmaf(f32(2 ** 64), f32(2 ** 64 - 2 ** 40), f32(2 ** 103 - 2 ** 79)), max);
  assert.equal(fmaf(2 ** 64, 2 ** 64, 0), Infinity);
  // half the smallest subnormal ties to even (0); a hair above rounds up
  assert.equal(fmaf(2 ** -75, 2 ** -75, 0), 0);
  assert.equal(fmaf(2 ** -75, f32(2 ** -75 * (1 + 2 ** -20)), 0), 2 ** -149);
  assert.equal(fmaf(2 ** -75, 2 ** -74, 2 ** -149), 2 ** -148);
  assert.ok(Object.is(fmaf(-0, 1, -0), -0));
  assert.ok(Number.isNaN(fmaf(Infinity, 0, 1)));
  assert.equal(fmaf(Infinity, 1, 1), Infinity);
});

Deno.test("fmaf matches C fmaf (gcc, glibc) on random and edge triples", {
  ignore: !haveGcc(),
}, async () => {
  const rnd = random(7);
  const triples: number[][] = [];
  for (let i = 0; i < 20000; i++) {
    const a = randomF32(rnd);
    const b = randomF32(rnd);
    triples.push([
      a,
      b,
      i % 2 === 0 ? randomF32(rnd) : f32(-a * b * (1 + (rnd() - 0.5) * 2 ** -20)),
    ]);
  }
  const dir = await Deno.makeTempDir();
  try {
    const src = `${dir}/fmaf.c`;
    await Deno.writeTextFile(
      src,
      `#include <math.h>\n#include <stdio.h>\n#include <stdint.h>\n#include <string.h>\n` +
        `int main(void){uint32_t a,b,c;while(scanf("%x %x %x",&a,&b,&c)==3){float x,y,z,r;` +
        `memcpy(&x,&a,4);memcpy(&y,&b,4);memcpy(&z,&c,4);r=fmaf(x,y,z);uint32_t o;memcpy(&o,&r,4);` +
        `printf("%08x\\n",o);}return 0;}\n`,
    );
    const build = await new Deno.Command("gcc", { args: ["-O0", "-o", `${dir}/fmaf`, src, "-lm"] })
      .output();
    assert.equal(build.code, 0, new TextDecoder().decode(build.stderr));
    const hex = (x: number) => f32Bits(x).toString(16).padStart(8, "0");
    const child = new Deno.Command(`${dir}/fmaf`, { stdin: "piped", stdout: "piped" }).spawn();
    const output = child.output(); // read while writing, or a full pipe blocks both sides
    const writer = child.stdin.getWriter();
    await writer.write(
      new TextEncoder().encode(triples.map((t) => t.map(hex).join(" ")).join("\n") + "\n"),
    );
    await writer.close();
    const out = new TextDecoder().decode((await output).stdout).trim().split("\n");
    assert.equal(out.length, triples.length);
    let mismatches = 0;
    triples.forEach(([a, b, c], i) => {
      if (hex(fmaf(a, b, c)) !== out[i]) mismatches++;
    });
    assert.equal(mismatches, 0);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

function haveGcc(): boolean {
  try {
    return new Deno.Command("gcc", { args: ["--version"] }).outputSync().code === 0;
  } catch {
    return false;
  }
}

Deno.test("ulpDistance: steps, zeros and the NaN rule", () => {
  assert.equal(ulpDistance(1, f32(1 + 2 ** -23)), 1);
  assert.equal(ulpDistance(-0, 0), 0);
  assert.equal(ulpDistance(-(2 ** -149), 2 ** -149), 2);
  assert.equal(ulpDistance(NaN, NaN), Infinity);
  assert.equal(ulpDistance(NaN, 1), Infinity);
});

/** A float32 (or any double) as an exact fraction num / 2^shift with bigint num. */
function exact(x: number): { num: bigint; shift: bigint } {
  if (x === 0) return { num: 0n, shift: 0n };
  let m = x;
  let shift = 0n;
  while (!Number.isInteger(m)) {
    m *= 2;
    shift += 1n;
  }
  return { num: BigInt(m), shift };
}

/** round32(a * b + c) computed exactly: candidates around the double result, nearest wins. */
function fmaExact(a: number, b: number, c: number): number {
  const ea = exact(a), eb = exact(b), ec = exact(c);
  const S = 400n; // common scale 2^-S covers every product of float32s
  const value = ((ea.num * eb.num) << (S - ea.shift - eb.shift)) + (ec.num << (S - ec.shift));
  const approx = Math.fround(a * b + c);
  const box = new Float32Array(1);
  const bits = new Int32Array(box.buffer);
  box[0] = approx;
  const base = bits[0];
  let best = approx;
  let bestErr = -1n;
  for (const delta of [-1, 0, 1]) {
    bits[0] = base + delta;
    const cand = box[0];
    if (!Number.isFinite(cand)) continue;
    const ecand = exact(cand);
    let err = (ecand.num << (S - ecand.shift)) - value;
    if (err < 0n) err = -err;
    if (bestErr < 0n || err < bestErr || (err === bestErr && (bits[0] & 1) === 0)) {
      bestErr = err;
      best = cand;
    }
  }
  return best;
}

Deno.test("fmaf rounds a*b+c once, as an exact computation does", () => {
  let state = 12345;
  const rnd = () => {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    return state / 2 ** 32;
  };
  let differsFromTwoRoundings = 0;
  for (let i = 0; i < 20000; i++) {
    const a = Math.fround((rnd() - 0.5) * 2 ** Math.floor(rnd() * 20 - 10));
    const b = Math.fround((rnd() - 0.5) * 2 ** Math.floor(rnd() * 20 - 10));
    const c = Math.fround(-a * b * (1 + (rnd() - 0.5) * 1e-6)); // near-cancellation
    const got = fmaf(a, b, c);
    assert.equal(got, fmaExact(a, b, c), `fma(${a}, ${b}, ${c})`);
    if (got !== Math.fround(Math.fround(a * b) + c)) differsFromTwoRoundings++;
  }
  // the fused result must really differ from multiply-then-add on such inputs
  assert.ok(differsFromTwoRoundings > 1000, `only ${differsFromTwoRoundings} differ`);
  // a double-rounding trap: a*b + c lies just above a float32 midpoint, the double sum on it
  const a = Math.fround(1 + 2 ** -12);
  const c = Math.fround(2 ** -60);
  const mid = 1 + 2 ** -11 + 2 ** -24; // a*a = 1 + 2^-11 + 2^-24 exactly: a midpoint
  assert.equal(a * a, mid);
  assert.equal(fmaf(a, a, c), fmaExact(a, a, c));
  assert.equal(fmaf(a, a, c), Math.fround(1 + 2 ** -11 + 2 ** -23));
  assert.equal(fmaf(a, a, -c), fmaExact(a, a, -c));
  assert.equal(fmaf(a, a, -c), Math.fround(1 + 2 ** -11));
});

Deno.test("roundHalfEven rounds ties to even like numpy", () => {
  assert.deepEqual([0.5, 1.5, 2.5, 3.5, -1.5, -2.5, 2.4999, 2.5001].map(roundHalfEven), [
    0,
    2,
    2,
    4,
    -2,
    -2,
    2,
    3,
  ]);
});

Deno.test("f32Step walks float32 values across zero and binades; signedUlp measures it", () => {
  assert.equal(f32Step(1, -1), 1 - 2 ** -24);
  assert.equal(f32Step(1 - 2 ** -24, 1), 1);
  assert.equal(f32Step(2 ** -149, -1), 0);
  assert.equal(f32Step(2 ** -149, -2), -(2 ** -149));
  assert.equal(f32Step(-0, 1), 2 ** -149);
  assert.ok(Number.isNaN(f32Step(NaN, 1)));
  for (const x of [1e-30, 0.3, 1, 7.5, 3.4e38, -2.5]) {
    const v = Math.fround(x);
    for (const k of [-2, -1, 1, 2]) assert.equal(signedUlp(f32Step(v, k), v), k, `${x} ${k}`);
  }
  assert.equal(signedUlp(NaN, 1), Infinity);
});
