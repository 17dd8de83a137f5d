import assert from "node:assert/strict";
import { Mt19937, MT19937_STATE_SIZE } from "../../core/tensor/mt19937.ts";
import { readSafetensors } from "../../core/tensor/safetensors.ts";

const FIXTURE = decodeURIComponent(
  new URL("../../fixtures/refs/rng/mt19937.safetensors", import.meta.url).pathname,
);

Deno.test("Mt19937: 10000th output of seed 5489 is 4123659995 (C++ [rand.predef] for std::mt19937)", () => {
  const mt = new Mt19937(5489n);
  let v = 0;
  for (let i = 0; i < 10000; i++) v = mt.nextUint32();
  assert.equal(v, 4123659995);
});

Deno.test("Mt19937: raw outputs equal numpy's MT19937 with init_genrand seeding", async () => {
  const f = await readSafetensors(FIXTURE);
  const seeds: number[] = JSON.parse(f.metadata.raw_seeds);
  let compared = 0;
  let mismatches = 0;
  for (const seed of seeds) {
    const ref = f.ints(`raw_${seed}`);
    assert.ok(ref.length > 2 * MT19937_STATE_SIZE, "the fixture must cross two regenerations");
    const mt = new Mt19937(BigInt(seed));
    for (const r of ref) {
      compared++;
      if (mt.nextUint32() !== r) mismatches++;
    }
  }
  console.log(`mt19937 raw: ${compared} outputs compared, ${mismatches} mismatches`);
  assert.equal(mismatches, 0);
});

Deno.test("Mt19937: nextUint64 joins draws like torch's random64 (int64 random_ = random64 % 2^63)", async () => {
  const f = await readSafetensors(FIXTURE);
  const seeds: string[] = JSON.parse(f.metadata.random64_seeds);
  let compared = 0;
  let mismatches = 0;
  for (const seed of seeds) {
    const bytes = f.raw(`random64_${seed}`);
    const ref = new BigInt64Array(bytes.buffer, bytes.byteOffset, bytes.length / 8);
    const mt = new Mt19937(BigInt(seed));
    for (const r of ref) {
      const [hi, lo] = mt.nextUint64();
      const v = ((BigInt(hi) << 32n) | BigInt(lo)) & ((1n << 63n) - 1n);
      compared++;
      if (v !== r) mismatches++;
    }
  }
  console.log(`mt19937 random64: ${compared} outputs compared, ${mismatches} mismatches`);
  assert.equal(mismatches, 0);
});

Deno.test("Mt19937: only the low 32 bits of the seed enter the state; seed keeps all 64", () => {
  const a = new Mt19937((1n << 32n) + 5n);
  const b = new Mt19937(5n);
  assert.equal(a.seed, 4294967301n);
  assert.equal(b.seed, 5n);
  for (let i = 0; i < 700; i++) assert.equal(a.nextUint32(), b.nextUint32());
});

Deno.test("Mt19937: getState/setState replays the stream across a regeneration", () => {
  const mt = new Mt19937(99n);
  for (let i = 0; i < 600; i++) mt.nextUint32();
  const saved = mt.getState();
  const first = Array.from({ length: 100 }, () => mt.nextUint32()); // crosses draw 624
  assert.notDeepEqual(mt.getState().state, saved.state); // regenerated; the snapshot is a copy
  const other = new Mt19937(1n);
  other.setState(saved);
  assert.deepEqual(Array.from({ length: 100 }, () => other.nextUint32()), first);
  assert.equal(other.seed, 99n);
  mt.setState(saved);
  assert.deepEqual(Array.from({ length: 100 }, () => mt.nextUint32()), first);
});

Deno.test("Mt19937: bad seeds and states are RangeErrors naming the field", () => {
  assert.throws(
    () => new Mt19937(-1n),
    /Mt19937: seed: got -1 \(expected a bigint in \[0, 2\^64 - 1\]\)/,
  );
  assert.throws(() => new Mt19937(1n << 64n), /seed: got 18446744073709551616/);
  assert.throws(() => new Mt19937(3 as unknown as bigint), /seed: got 3/);
  const mt = new Mt19937(0n);
  const good = mt.getState();
  assert.throws(
    () => mt.setState({ ...good, state: new Uint32Array(10) }),
    /Mt19937.setState: state.state: expected a Uint32Array of 624 words/,
  );
  assert.throws(() => mt.setState({ ...good, left: 0 }), /state.left: got 0/);
  assert.throws(() => mt.setState({ ...good, next: 625 }), /state.next: got 625/);
  assert.throws(() => mt.setState({ ...good, seed: -2n }), /state.seed: got -2/);
  assert.throws(
    () => mt.setState(null as unknown as ReturnType<Mt19937["getState"]>),
    /state: got null/,
  );
});
