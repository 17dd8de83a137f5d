import assert from "node:assert/strict";
import { readSafetensors } from "../../core/tensor/safetensors.ts";
import { type CpuCapability, TorchGenerator } from "../../core/tensor/torch_generator.ts";
import { bitMismatches } from "./_bits.ts";

const REFS = new URL("../../fixtures/refs/rng/", import.meta.url);
const refPath = (name: string) => decodeURIComponent(new URL(name, REFS).pathname);

/**
 * The dumps: one per torch kernel path (see fixtures/gen/dump_rng.py). The runs with
 * ATEN_CPU_CAPABILITY=avx2 and =avx512 gave the same bytes as "dispatch" on their cases, and the
 * scalar kernel's run with glibc's non-FMA libm (GLIBC_TUNABLES) the same bytes as "default" (the
 * dumper checks both); they are recorded in those files' `cpu_capabilities` and `libm_variants`
 * metadata, not stored twice.
 */
const VARIANTS = ["dispatch", "default"];

interface Case {
  name: string;
  seed: string;
  calls: [string, number[] | string][];
}

/** Our kernel for the one torch reported when it made the dump. */
function capabilityOf(torchCapability: string, file: string): CpuCapability {
  if (torchCapability === "DEFAULT") return "default";
  if (torchCapability === "AVX2" || torchCapability === "AVX512") return "avx2";
  throw new Error(
    `${file}: cpu_capability: got ${torchCapability} (expected DEFAULT, AVX2, AVX512)`,
  );
}

function runCase(c: Case, cpuCapability: CpuCapability): Float32Array {
  const g = new TorchGenerator(BigInt(c.seed), { cpuCapability });
  const parts: Float32Array[] = [];
  for (const [op, arg] of c.calls) {
    if (op === "seed") g.manualSeed(BigInt(arg as string));
    else if (op === "randn") parts.push(g.randn(arg as number[]).data);
    else if (op === "rand") parts.push(g.rand(arg as number[]).data);
    else throw new Error(`unknown op ${op}`);
  }
  const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let k = 0;
  for (const p of parts) {
    out.set(p, k);
    k += p.length;
  }
  return out;
}

async function sha256Hex(data: Float32Array): Promise<string> {
  const bytes = new Uint8Array(data.byteLength);
  bytes.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  return Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
}

for (const variant of VARIANTS) {
  Deno.test(`TorchGenerator: randn/rand are bit-exact against torch (${variant} kernel)`, async () => {
    const file = refPath(`randn_${variant}.safetensors`);
    const f = await readSafetensors(file);
    const cap = capabilityOf(f.metadata.cpu_capability, file);
    const cases: Case[] = JSON.parse(f.metadata.cases);
    let compared = 0;
    let badElements = 0;
    let badBits = 0;
    const failing: string[] = [];
    for (const c of cases) {
      const [elements, bits] = bitMismatches(runCase(c, cap), f.tensor(c.name).data);
      compared += f.info(c.name).shape[0];
      badElements += elements;
      badBits += bits;
      if (elements > 0) failing.push(`${c.name} (${elements})`);
    }
    console.log(
      `${variant} (torch ${f.metadata.torch}, ${f.metadata.cpu_capability}, glibc ` +
        `${f.metadata.libm_variant}; ours: ${cap}): ${cases.length} cases, ${compared} elements ` +
        `compared, ${badElements} mismatching elements, ${badBits} mismatching bits`,
    );
    assert.equal(badElements, 0, `mismatching cases: ${failing.join(", ")}`);
    assert.ok(compared > 2000);
  });

  Deno.test(`TorchGenerator: large randn draws match torch's sha256 (${variant} kernel)`, async () => {
    const file = refPath(`randn_${variant}.safetensors`);
    const f = await readSafetensors(file);
    const cap = capabilityOf(f.metadata.cpu_capability, file);
    const hashes: { seed: string; shape: number[]; sha256: string }[] = JSON.parse(
      f.metadata.hashes,
    );
    let compared = 0;
    for (const h of hashes) {
      const x = new TorchGenerator(BigInt(h.seed), { cpuCapability: cap }).randn(h.shape);
      assert.equal(await sha256Hex(x.data), h.sha256, `seed ${h.seed}, shape [${h.shape}]`);
      compared += x.size;
    }
    console.log(`${variant}: ${compared} elements hashed, all equal to torch's`);
  });
}

Deno.test("TorchGenerator: the scalar kernel's references are what glibc's FMA and SSE2 libm both gave", async () => {
  // dump_rng.py ran the default kernel under both glibc variants and asserted byte-identical
  // tensors, cases and hashes before storing randn_default.safetensors once
  const f = await readSafetensors(refPath("randn_default.safetensors"));
  assert.equal(f.metadata.cpu_capability, "DEFAULT");
  assert.deepEqual(JSON.parse(f.metadata.libm_variants), [
    { libm_variant: "fma", glibc_tunables_env: "" },
    { libm_variant: "sse2", glibc_tunables_env: "glibc.cpu.hwcaps=-AVX2,-FMA" },
  ]);
  assert.deepEqual(
    [f.metadata.libm_variant, f.metadata.glibc_tunables_env],
    ["fma", ""],
  );
});

Deno.test("TorchGenerator: the dispatch references are what torch's AVX2 and AVX512 kernel paths both gave", async () => {
  // dump_rng.py ran ATEN_CPU_CAPABILITY=avx2 and =avx512 too and asserted that every tensor of
  // their cases (a few seeds) and their hashes are byte-identical to randn_dispatch's
  const file = refPath("randn_dispatch.safetensors");
  const f = await readSafetensors(file);
  const cases: Case[] = JSON.parse(f.metadata.cases);
  const runs: {
    variant: string;
    aten_cpu_capability_env: string;
    cpu_capability: string;
    cases: number;
  }[] = JSON.parse(f.metadata.cpu_capabilities);
  assert.deepEqual(runs.map((r) => [r.variant, r.aten_cpu_capability_env]), [
    ["dispatch", ""],
    ["avx2", "avx2"],
    ["avx512", "avx512"],
  ]);
  assert.deepEqual(runs[0], {
    variant: "dispatch",
    aten_cpu_capability_env: "",
    cpu_capability: f.metadata.cpu_capability,
    cases: cases.length,
  });
  assert.deepEqual(runs.map((r) => r.cpu_capability), ["AVX512", "AVX2", "AVX512"]);
  for (const r of runs) {
    // the same kernel of ours replays all of them
    assert.equal(
      capabilityOf(r.cpu_capability, file),
      capabilityOf(f.metadata.cpu_capability, file),
    );
    assert.ok(r.cases > 40 && r.cases <= cases.length, `${r.variant}: ${r.cases} cases`);
  }
});

Deno.test("TorchGenerator: the first numbers of seed 0 are torch's well-known ones", () => {
  // torch.manual_seed(0); torch.randn(4) -> tensor([1.5410, -0.2934, -2.1788, 0.5684])
  const x = new TorchGenerator(0).randn([4]).data;
  assert.deepEqual(Array.from(x, (v) => Math.round(v * 1e4) / 1e4), [
    1.541,
    -0.2934,
    -2.1788,
    0.5684,
  ]);
});

Deno.test("TorchGenerator: an empty draw consumes nothing; the Box-Muller cache survives big draws", () => {
  const g = new TorchGenerator(11);
  assert.equal(g.randn([0]).size, 0);
  assert.equal(g.randn([2, 0, 3]).size, 0);
  assert.deepEqual(g.randn([3]).data, new TorchGenerator(11).randn([3]).data);
  // randn([1]) leaves the pair's second value cached; a 16-element draw does not touch it
  const h = new TorchGenerator(4);
  h.randn([1]);
  const cached = h.getState().nextDoubleNormal;
  assert.ok(cached !== null);
  h.randn([16]);
  assert.equal(h.randn([1]).data[0], Math.fround(cached));
  assert.equal(h.getState().nextDoubleNormal, null);
});

Deno.test("TorchGenerator: manualSeed clears the cache; getState/setState replays", () => {
  const g = new TorchGenerator(8);
  g.randn([1]); // caches a value
  g.manualSeed(8);
  assert.deepEqual(g.randn([5]).data, new TorchGenerator(8).randn([5]).data);
  const saved = g.getState();
  const a = [g.randn([3]).data, g.randn([20]).data, g.rand([2]).data];
  const other = new TorchGenerator(1, { cpuCapability: "avx2" });
  other.setState(saved);
  assert.deepEqual([other.randn([3]).data, other.randn([20]).data, other.rand([2]).data], a);
});

Deno.test("TorchGenerator: seeds map to torch's initial_seed (negative ones modulo 2^64)", () => {
  assert.equal(new TorchGenerator(-1).initialSeed, (1n << 64n) - 1n);
  assert.equal(new TorchGenerator(-(2n ** 63n)).initialSeed, 2n ** 63n);
  assert.equal(new TorchGenerator(2n ** 64n - 1n).initialSeed, 2n ** 64n - 1n);
  assert.equal(new TorchGenerator(42).initialSeed, 42n);
  assert.equal(new TorchGenerator(1).manualSeed(7n).initialSeed, 7n);
});

Deno.test("TorchGenerator: bad arguments are RangeErrors naming the argument", () => {
  assert.throws(
    () => new TorchGenerator(1.5),
    /TorchGenerator: seed: got 1.5 \(expected a safe integer/,
  );
  assert.throws(
    () => new TorchGenerator(2 ** 60),
    /seed: got 1152921504606847000 \(expected a safe integer, or a bigint/,
  );
  assert.throws(
    () => new TorchGenerator(2n ** 64n),
    /seed: got 18446744073709551616 \(expected an integer in \[-2\^63, 2\^64 - 1\]\)/,
  );
  assert.throws(() => new TorchGenerator(-(2n ** 63n) - 1n), /expected an integer in/);
  assert.throws(() => new TorchGenerator("3" as unknown as number), /seed: got string/);
  assert.throws(
    () => new TorchGenerator(0, { cpuCapability: "neon" as CpuCapability }),
    /TorchGenerator: options.cpuCapability: got neon \(expected "avx2", "avx512" or "default"\)/,
  );
  const g = new TorchGenerator(0);
  assert.throws(
    () => g.randn([2, -1]),
    /TorchGenerator.randn: shape\[1\]: got -1 \(expected a non-negative integer\)/,
  );
  assert.throws(() => g.rand([1.5]), /TorchGenerator.rand: shape\[0\]: got 1.5/);
  assert.throws(() => g.randn(3 as unknown as number[]), /TorchGenerator.randn: shape: got 3/);
  assert.throws(() => g.manualSeed(NaN), /TorchGenerator.manualSeed: seed: got NaN/);
  const state = g.getState();
  assert.throws(
    () => g.setState({ ...state, nextDoubleNormal: "x" as unknown as number }),
    /TorchGenerator.setState: state.nextDoubleNormal: got string/,
  );
  assert.throws(
    () => g.setState({ ...state, engine: { ...state.engine, left: 9999 } }),
    /Mt19937.setState: state.left: got 9999/,
  );
});

Deno.test("randn float16: torch.randn(..., dtype=torch.float16) bit for bit (fixtures/refs/half/randn)", async () => {
  const f = await readSafetensors("fixtures/refs/half/randn.safetensors");
  const cpu = capabilityOf(f.metadata["cpu_capability"], "randn.safetensors");
  const shapes = JSON.parse(f.metadata["shapes"]) as Record<string, number[]>;
  for (const [seed, shape] of Object.entries(shapes)) {
    const ours = new TorchGenerator(Number(seed), { cpuCapability: cpu }).randn(shape, "float16");
    assert.deepEqual(ours.shape, shape);
    const [bad] = bitMismatches(ours.data, f.tensor(`randn.${seed}`).data);
    assert.equal(bad, 0, `seed ${seed}, shape [${shape}]: ${bad} elements differ`);
  }
  // where a half draw leaves the generator: a float32 and more half draws continue the stream
  const g = new TorchGenerator(7, { cpuCapability: cpu });
  const draws = [
    g.randn([40], "float16"),
    g.randn([40]),
    g.randn([3], "float16"),
    g.randn([24], "float16"),
  ];
  draws.forEach((d, k) =>
    assert.equal(bitMismatches(d.data, f.tensor(`stream.${k}`).data)[0], 0, `stream.${k}`)
  );
});

Deno.test("randn float16 is not the float32 draw rounded: the tail and the stream differ", () => {
  const rounded = new TorchGenerator(1).randn([100]).data.map(Math.f16round);
  const half = new TorchGenerator(1).randn([100], "float16").data;
  const differ = half.filter((v, i) => v !== rounded[i]).length;
  console.log(
    `randn([100]) seed 1: ${differ} of 100 half values differ from the float32 draw rounded`,
  );
  assert.ok(differ > 0 && half.slice(0, 84).every((v, i) => v === rounded[i]));
  assert.throws(
    () => new TorchGenerator(0).randn([2], "float64" as "float16"),
    /TorchGenerator\.randn: dtype: got float64/,
  );
});
