import assert from "node:assert/strict";
import { DDIMScheduler } from "../../core/schedulers/ddim.ts";
import { Tensor } from "../../core/tensor/tensor.ts";
import { TorchGenerator } from "../../core/tensor/torch_generator.ts";
import {
  assertFreeRuns,
  checkTimestepsTable,
  formatReplay,
  freeRunAll,
  listReferenceFiles,
  replayAll,
  replayReference,
  standInModel,
} from "./replay_util.ts";
import { HALF_STEPS, loadHalfSteps, replayHalfSteps } from "./half_replay.ts";

const DIR = "fixtures/refs/schedulers/ddim";
const files = await listReferenceFiles(DIR);
const make = (ref: { config: Record<string, unknown>; path: string }) =>
  DDIMScheduler.fromConfig(ref.config, ref.path);

Deno.test("DDIMScheduler replays every diffusers reference bit for bit", async () => {
  assert.ok(files.length >= 15, `only ${files.length} reference files in ${DIR}`);
  let worst = { ulp: 0, x0: 0, file: "" };
  const runs = await replayAll(files, "DDIMScheduler", make);
  assert.ok(runs.some((r) => r.report.predOriginalSample.step >= 0), "x0 is compared somewhere");
  for (const { ref, report: r } of runs) {
    assert.equal(r.prevSample.maxUlp, 0, formatReplay(r));
    assert.equal(r.predOriginalSample.maxUlp, 0, formatReplay(r));
    if (r.prevSample.maxUlp >= worst.ulp) {
      worst = { ...worst, ulp: r.prevSample.maxUlp, file: ref.path };
    }
    worst.x0 = Math.max(worst.x0, r.predOriginalSample.maxUlp);
    // the stored noise (variance_noise rows) gives the same result as the generator
    if (ref.noise === "generator") {
      const stored = replayReference(ref, make(ref), { noiseSource: "stored" });
      assert.equal(
        stored.prevSample.maxUlp,
        0,
        `${ref.path} with stored noise: ${formatReplay(stored)}`,
      );
    }
  }
  console.log(
    `DDIMScheduler replay: ${files.length} files, largest prev_sample ulp ${worst.ulp}` +
      (worst.ulp > 0 ? ` (${worst.file})` : "") +
      `, largest pred_original_sample ulp ${worst.x0}`,
  );
});

Deno.test("DDIMScheduler free run (own outputs fed forward, TS stand-in model) drift", async () => {
  const runs = await freeRunAll(files, make, (x, t) => standInModel(x, t));
  const worst = assertFreeRuns(runs, 1);
  console.log(`DDIMScheduler free run: ${files.length} files, largest drift ${worst} ulp`);
});

Deno.test("DDIMScheduler.setTimesteps matches diffusers' table for every spacing", async () => {
  assert.ok(await checkTimestepsTable("DDIMScheduler", (o) => new DDIMScheduler(o)) > 100);
  // before setTimesteps: every training step, descending
  const fresh = new DDIMScheduler({ numTrainTimesteps: 5 });
  assert.deepEqual(fresh.timesteps, [4, 3, 2, 1, 0]);
});

Deno.test("DDIMScheduler.addNoise matches diffusers' add_noise", async () => {
  const { readSafetensors } = await import("../../core/tensor/safetensors.ts");
  const f = await readSafetensors("fixtures/refs/schedulers/ddpm/add_noise.safetensors");
  const s = DDIMScheduler.fromConfig(JSON.parse(f.metadata.config)); // a DDPM config
  assert.match(s.configWarnings.join("\n"), /"variance_type" is not an option of DDIMScheduler/);
  const ours = s.addNoise(f.tensor("original"), f.tensor("noise"), f.ints("timesteps_per_item"));
  assert.deepEqual([...ours.data], [...f.tensor("noisy_per_item").data]);
});

Deno.test("DDIMScheduler.step rejects misuse with clear errors", () => {
  const s = new DDIMScheduler();
  const x = Tensor.zeros([1, 2, 2, 2]);
  assert.throws(() => s.step(x, 999, x), /call setTimesteps first/);
  s.setTimesteps(10);
  assert.throws(() => s.step(Tensor.zeros([1, 2]), 901, x), /expected equal shapes/);
  assert.throws(() => s.step(x, 1000, x), /timestep 1000 is outside/);
  assert.throws(() => s.step(x, 901, x, { eta: 0.5 }), /needs a generator or varianceNoise/);
  assert.throws(
    () => s.step(x, 901, x, { eta: 0.5, generator: new TorchGenerator(0), varianceNoise: x }),
    /cannot pass both generator and varianceNoise/,
  );
  assert.throws(
    () => s.step(x, 901, x, { eta: 0.5, varianceNoise: Tensor.zeros([2]) }),
    /variance_noise has shape \[2\]/,
  );
  // eta 0 ignores noise sources, as diffusers does
  const out = s.step(x, 901, x, { generator: new TorchGenerator(0), varianceNoise: x });
  assert.deepEqual(out.prevSample.shape, [1, 2, 2, 2]);
  assert.throws(() => s.setTimesteps(1001), /cannot be larger than num_train_timesteps/);
  assert.equal(s.scaleModelInput(x, 901), x);
  assert.equal(s.initNoiseSigma, 1);
});

Deno.test("DDIMScheduler's set_alpha_to_one decides the alpha after the last step", () => {
  const one = new DDIMScheduler({ clipSample: false });
  const zero = new DDIMScheduler({ clipSample: false, setAlphaToOne: false });
  assert.equal(one.finalAlphaCumprod, 1);
  assert.equal(zero.finalAlphaCumprod, zero.alphasCumprod[0]);
  one.setTimesteps(10);
  zero.setTimesteps(10);
  const x = new Tensor(new Float32Array([0.5, -0.25]), [1, 2]);
  const eps = new Tensor(new Float32Array([0.1, 0.3]), [1, 2]);
  // last step (t = 0, prev = -100): x0 itself with alpha 1, a re-noised x0 otherwise
  const a = one.step(eps, 0, x);
  assert.deepEqual([...a.prevSample.data], [...a.predOriginalSample!.data]);
  const b = zero.step(eps, 0, x);
  assert.notDeepEqual([...b.prevSample.data], [...b.predOriginalSample!.data]);
});

Deno.test("DDIMScheduler.step float16: diffusers' half step, bit for bit at every step", async () => {
  const { f, config, math } = await loadHalfSteps();
  const half = replayHalfSteps(
    f,
    "ddim",
    DDIMScheduler.fromConfig(config, HALF_STEPS, math),
    "float16",
  );
  assert.deepEqual(half, new Array(10).fill(0));
  // the float32 step on the same half inputs does not match (its result is not even half)
  const single = replayHalfSteps(
    f,
    "ddim",
    DDIMScheduler.fromConfig(config, HALF_STEPS, math),
    "float32",
  );
  console.log(
    `DDIM float32 step on half inputs: elements differing per step ${single.join(" ")} of 64`,
  );
  assert.ok(single.some((n) => n > 0));
});

Deno.test("DDIMScheduler.step float16 refuses what it does not implement, naming the option", async () => {
  const { f, config } = await loadHalfSteps();
  const x = f.tensor("ddim.sample");
  const clip = DDIMScheduler.fromConfig({ ...config, clip_sample: true, clip_sample_range: 0.3 });
  clip.setTimesteps(10);
  assert.throws(
    () => clip.step(x, clip.timesteps[0], x, { precision: "float16" }),
    /DDIMScheduler\.step \(float16\): .*got prediction_type "epsilon", clip_sample true \(range 0.3\)/,
  );
  // a half-valued range clamps exactly: the result stays within it and half
  const unit = DDIMScheduler.fromConfig({ ...config, clip_sample: true });
  unit.setTimesteps(10);
  const big = new Tensor(x.data.map((v) => 40 * v), x.shape);
  const { predOriginalSample } = unit.step(big, unit.timesteps[0], x, { precision: "float16" });
  assert.ok(predOriginalSample!.data.every((v) => Math.abs(v) <= 1 && Math.f16round(v) === v));
  const thr = DDIMScheduler.fromConfig({ ...config, thresholding: true });
  thr.setTimesteps(10);
  assert.throws(() => thr.step(x, 901, x, { precision: "float16" }), /thresholding true/);
  const eta = DDIMScheduler.fromConfig(config);
  eta.setTimesteps(10);
  assert.throws(() => eta.step(x, 901, x, { precision: "float16", eta: 0.5 }), /eta 0.5/);
});
