import { ieeeMath } from "../../core/numerics/f32_math.ts";
import assert from "node:assert/strict";
import { addNoiseF32, noisePerBatchItem } from "../../core/schedulers/add_noise.ts";
import {
  alphaAt,
  alphasFromBetas,
  betasForAlphaBar,
  rescaleZeroTerminalSnr,
} from "../../core/schedulers/betas.ts";
import {
  clampF32,
  cumprodF32,
  torchLinspaceF32,
  torchQuantileF32,
} from "../../core/numerics/torch.ts";
import {
  clipOrThreshold,
  clipSample,
  ddimPrevSample,
  predictOriginalAndEpsilon,
  thresholdSample,
} from "../../core/schedulers/prediction.ts";
import { fmaf, roundHalfEven } from "../../core/numerics/f32.ts";
import {
  leadingTimesteps,
  linspaceTimesteps,
  spacedTimesteps,
  trailingTimesteps,
} from "../../core/schedulers/timesteps.ts";
import { npArange, npLinspace } from "../../core/numerics/numpy.ts";
import { readSafetensors } from "../../core/tensor/safetensors.ts";
import { Tensor } from "../../core/tensor/tensor.ts";
import { maxUlpDistance, timestepsTable } from "./replay_util.ts";

const REFS = "fixtures/refs/schedulers/ddpm";
const common = await readSafetensors(`${REFS}/common.safetensors`);

const table = await timestepsTable("DDIMScheduler");

function bitEqual(a: Float32Array, b: Float32Array): boolean {
  return a.length === b.length && maxUlpDistance(a, b).maxUlp === 0;
}

// ---- float32 fused multiply-add, checked against exact rational arithmetic ----

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

Deno.test("clampF32 propagates NaN and lets the upper bound win", () => {
  assert.ok(Number.isNaN(clampF32(NaN, -1, 1)));
  assert.equal(clampF32(5, 2, 1), 1);
  assert.equal(clampF32(-5, -1, 1), -1);
  assert.equal(clampF32(0.25, -1, 1), 0.25);
});

// ---- torch / numpy reproductions against dumped references ----

Deno.test("torchLinspaceF32 is bit-exact with torch.linspace (float32, CPU)", () => {
  const args = JSON.parse(common.metadata.linspace_args) as [number, number, number][];
  assert.ok(args.length >= 8);
  args.forEach(([start, end, steps], i) => {
    const ours = torchLinspaceF32(start, end, steps);
    const ref = common.tensor(`linspace.${i}`).data;
    assert.ok(bitEqual(ours, ref), `linspace(${start}, ${end}, ${steps})`);
  });
});

Deno.test("betasForAlphaBar matches diffusers for the cosine, exp and laplace transforms", () => {
  for (const kind of ["cosine", "exp", "laplace"] as const) {
    for (const n of [1000, 37]) {
      const ours = betasForAlphaBar(n, 0.999, kind);
      const ref = common.tensor(`betas_for_alpha_bar.${kind}.${n}`).data;
      const d = maxUlpDistance(ours, ref);
      assert.equal(d.maxUlp, 0, `${kind} ${n}: index ${d.index}: ${d.ours} vs ${d.reference}`);
    }
  }
});

Deno.test("rescaleZeroTerminalSnr and cumprodF32 match diffusers/torch bit for bit", async () => {
  const cases: [string, Float32Array][] = [
    ["linear", torchLinspaceF32(0.0001, 0.02, 1000)],
    ["cosine", betasForAlphaBar(1000)],
  ];
  for (const [name, betas] of cases) {
    const ours = rescaleZeroTerminalSnr(betas);
    const ref = common.tensor(`rescale_zero_terminal_snr.${name}`).data;
    assert.ok(bitEqual(ours, ref), name);
    assert.equal(ours[999], 1);
  }
  // cumprod keeps a double accumulator (torch's acc_type<float> on CPU): diffusers'
  // alphas_cumprod of the default DDIM config, where a float32 running product drifts away
  const ref = await readSafetensors("fixtures/refs/schedulers/ddim/default_10.safetensors");
  const alphas = alphasFromBetas(torchLinspaceF32(0.0001, 0.02, 1000));
  const ours = cumprodF32(alphas);
  assert.ok(bitEqual(ours, ref.tensor("alphas_cumprod").data));
  let running = 1;
  let differs = 0;
  for (let i = 0; i < alphas.length; i++) {
    running = Math.fround(running * alphas[i]);
    if (running !== ours[i]) differs++;
  }
  assert.ok(differs > 100, `a float32 running product differs at only ${differs} places`);
});

Deno.test("torchQuantileF32 is bit-exact with torch.quantile (linear)", () => {
  const qs = JSON.parse(common.metadata.quantile_q) as number[];
  qs.forEach((q, i) => {
    const values = common.tensor(`quantile.${i}.values`).data;
    const ref = common.tensor(`quantile.${i}.result`).data[0];
    assert.equal(torchQuantileF32(values, q), ref, `case ${i} (n ${values.length}, q ${q})`);
  });
  assert.ok(Number.isNaN(torchQuantileF32(new Float32Array([1, NaN, 2]), 0.5)));
  assert.throws(() => torchQuantileF32(new Float32Array(0), 0.5), RangeError);
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

Deno.test("spacing helpers reproduce diffusers' set_timesteps table", () => {
  assert.ok(table.length > 100);
  for (const e of table) {
    const N = e.num_train_timesteps;
    const n = e.num_inference_steps;
    const ours = e.timestep_spacing === "leading"
      ? leadingTimesteps(N, n, e.steps_offset)
      : e.timestep_spacing === "trailing"
      ? trailingTimesteps(N, n)
      : linspaceTimesteps(N, n);
    const label = `${e.timestep_spacing} N=${N} n=${n} off=${e.steps_offset}`;
    assert.deepEqual(ours, e.timesteps, label);
    assert.deepEqual(spacedTimesteps(N, n, e.timestep_spacing, e.steps_offset), e.timesteps, label);
  }
  // trailing and linspace ignore steps_offset, as diffusers does
  assert.deepEqual(spacedTimesteps(1000, 3, "trailing", 1), [999, 666, 332]);
  assert.deepEqual(spacedTimesteps(1000, 3, "linspace", 1), [999, 500, 0]);
  assert.throws(() => leadingTimesteps(1000, 1001), /cannot be larger than/);
  assert.throws(() => trailingTimesteps(1000, 0), /positive integer/);
  assert.throws(() => linspaceTimesteps(1000, 2.5), /positive integer/);
  assert.throws(() => spacedTimesteps(10, 11, "leading", 0), /cannot be larger than/);
});

// ---- x0 helpers and add_noise ----

Deno.test("clipSample and thresholdSample clamp as torch does", () => {
  const x = new Tensor(new Float32Array([-3, 0.5, 2, NaN]), [4]);
  const clipped = clipSample(x, 1).data;
  assert.deepEqual([...clipped.slice(0, 3)], [-1, 0.5, 1]);
  assert.ok(Number.isNaN(clipped[3]));
  // s = quantile(|x|, 0.5) = 2.5 per row (clamped to [1, 3]): divide by s
  const rows = new Tensor(new Float32Array([1, -2, 3, 4, 0.1, 0.2, -0.3, 0.4]), [2, 4]);
  const th = thresholdSample(rows, 0.5, 3).data;
  assert.deepEqual([...th.slice(0, 4)], [1, -2, 2.5, 2.5].map((v) => Math.fround(v / 2.5)));
  // second row: quantile 0.25 < 1, so s = 1 and the row is unchanged
  assert.deepEqual([...th.slice(4)], [0.1, 0.2, -0.3, 0.4].map(Math.fround));
  assert.throws(() => thresholdSample(new Tensor(new Float32Array(2), [2]), 0.9, 1), /batch/);
});

Deno.test("addNoiseF32 matches diffusers' add_noise for per-item and single timesteps", async () => {
  const f = await readSafetensors(`${REFS}/add_noise.safetensors`);
  const { DDPMScheduler } = await import("../../core/schedulers/ddpm.ts");
  const s = DDPMScheduler.fromConfig(JSON.parse(f.metadata.config));
  const original = f.tensor("original");
  const noise = f.tensor("noise");
  for (const kind of ["per_item", "single"]) {
    const ts = f.ints(`timesteps_${kind}`);
    const ours = addNoiseF32(s.alphasCumprod, original, noise, ts, ieeeMath);
    assert.ok(bitEqual(ours.data, f.tensor(`noisy_${kind}`).data), kind);
  }
  assert.throws(
    () => addNoiseF32(s.alphasCumprod, original, noise, [1, 2], ieeeMath),
    /expected 1 or 3/,
  );
  assert.throws(() => addNoiseF32(s.alphasCumprod, original, noise, 1000, ieeeMath), /outside/);
  assert.throws(
    () => addNoiseF32(s.alphasCumprod, original, Tensor.zeros([3, 2]), 1, ieeeMath),
    /expected equal shapes/,
  );
});

Deno.test("noisePerBatchItem mixes each batch item with its own timestep, rounded to float32", () => {
  const x0 = new Tensor(new Float32Array([1, 2, 3, 4, 5, 6]), [3, 2]);
  const noise = new Tensor(new Float32Array([0.5, 0.5, 0.25, 0.25, 1, 1]), [3, 2]);
  const seen: number[] = [];
  const mixFor = (t: number) => {
    seen.push(t);
    return (x: number, n: number) => x + t * n + 0.1; // a double result, stored as float32
  };
  const out = noisePerBatchItem(x0, noise, [10, 20, 30], mixFor);
  assert.deepEqual(seen, [10, 20, 30]);
  assert.deepEqual([...out.data], [6.1, 7.1, 8.1, 9.1, 35.1, 36.1].map(Math.fround));
  assert.deepEqual(out.shape, [3, 2]);
  seen.length = 0;
  const single = noisePerBatchItem(x0, noise, 2, mixFor);
  assert.deepEqual(seen, [2, 2, 2]); // one timestep for the whole batch
  assert.deepEqual([...single.data], [2.1, 3.1, 3.6, 4.6, 7.1, 8.1].map(Math.fround));
  assert.throws(
    () => noisePerBatchItem(x0, noise, [1, 2], mixFor),
    /got 2 timesteps for a batch of 3/,
  );
  assert.throws(
    () => noisePerBatchItem(x0, Tensor.zeros([6]), 1, mixFor),
    /add_noise: original_samples has shape \[3, 2\] but noise has shape \[6\]/,
  );
});

Deno.test("ddimPrevSample is formula (12): float32 sqrt(a_prev) * x0 + direction * eps", () => {
  const x0 = new Float32Array([0.3, -1.7, 2.5]);
  const eps = new Float32Array([0.1, 0.2, -0.9]);
  const sa = Math.fround(Math.sqrt(0.7));
  const dir = Math.fround(Math.sqrt(0.3));
  const f = Math.fround;
  const expected = [...x0].map((v, i) => f(f(sa * v) + f(dir * eps[i])));
  assert.deepEqual([...ddimPrevSample(x0, eps, sa, dir)], expected);
});

Deno.test("clipOrThreshold: thresholding first, else clip_sample, else x0 unchanged", () => {
  const x0 = new Tensor(new Float32Array([0.5, -3, 2, 1.25]), [1, 4]);
  const base = {
    thresholding: false,
    dynamicThresholdingRatio: 0.995,
    sampleMaxValue: 2,
    clipSample: false,
    clipSampleRange: 1.5,
  };
  assert.equal(clipOrThreshold(x0, base), x0);
  assert.deepEqual(
    [...clipOrThreshold(x0, { ...base, clipSample: true }).data],
    [...clipSample(x0, 1.5).data],
  );
  // thresholding wins over clip_sample, as in diffusers' step
  assert.deepEqual(
    [...clipOrThreshold(x0, { ...base, clipSample: true, thresholding: true }).data],
    [...thresholdSample(x0, 0.995, 2).data],
  );
});

Deno.test("alphaAt and predictOriginalAndEpsilon reject bad input with a clear message", () => {
  assert.throws(() => alphaAt(new Float32Array(3), 3, "X.step"), /X\.step: timestep 3 is outside/);
  assert.throws(() => alphaAt(new Float32Array(3), 1.5, "X.step"), /integer/);
  const x = Tensor.zeros([1]);
  assert.throws(() => predictOriginalAndEpsilon("eps", x, x, 0.5, ieeeMath), /must be one of/);
});
