import assert from "node:assert/strict";
import { addNoiseBySigma } from "../../core/schedulers/add_noise.ts";
import {
  checkSigmaSpacing,
  initNoiseSigmaOf,
  sigmasFromAlphasCumprod,
  sigmaToT,
} from "../../core/schedulers/sigmas.ts";
import { indexForTimestep } from "../../core/schedulers/step_index.ts";
import { npInterp, npLogF32 } from "../../core/numerics/numpy.ts";
import { sigmaSchedulerTimesteps } from "../../core/schedulers/timesteps.ts";
import { torchLinspaceF64 } from "../../core/numerics/torch.ts";
import { noiseSchedule } from "../../core/schedulers/betas.ts";
import { Tensor } from "../../core/tensor/tensor.ts";

const NUMERICS = "fixtures/refs/schedulers/euler_discrete/numerics.json";

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

Deno.test("npInterp and sigmaToT match numpy and diffusers' _sigma_to_t", async () => {
  const { np_interp: ip, sigma_to_t: st } = JSON.parse(await Deno.readTextFile(NUMERICS));
  assert.deepEqual(Array.from(npInterp(ip.x, ip.xp, ip.fp)), ip.out);
  assert.throws(() => npInterp([1], [0, 1], [1]), /equal length/);
  const { alphasCumprod } = noiseSchedule({
    numTrainTimesteps: 1000,
    betaStart: st.config.beta_start,
    betaEnd: st.config.beta_end,
    betaSchedule: st.config.beta_schedule,
    trainedBetas: null,
  });
  const logSigmas = sigmasFromAlphasCumprod(alphasCumprod).map(npLogF32);
  assert.deepEqual(st.sigmas.map((s: number) => sigmaToT(s, logSigmas)), st.t);
});

Deno.test("torchLinspaceF64 is torch.linspace's fused multiply-add, not start + i * step", () => {
  // LDM's betas: 0.00085 ** 0.5 .. 0.012 ** 0.5 over 1000 steps (checked bit for bit against the
  // original's alphas_cumprod in compvis_plms.test.ts); here the halves' formulas
  const v = torchLinspaceF64(1, 2, 5);
  assert.deepEqual(Array.from(v), [1, 1.25, 1.5, 1.75, 2]);
  const w = torchLinspaceF64(0.1, 0.7, 7);
  assert.equal(w[6], 0.7); // the second half counts back from `end`
  assert.equal(w[0], 0.1);
  assert.deepEqual(Array.from(torchLinspaceF64(3, 9, 1)), [3]);
  assert.throws(() => torchLinspaceF64(0, 1, -1), /non-negative integer/);
});

Deno.test("sigma-scheduler helpers: timesteps, init sigma, index lookup, add_noise, options", () => {
  assert.deepEqual(sigmaSchedulerTimesteps(1000, 4, "linspace", 0), [999, 666, 333, 0]);
  assert.deepEqual(sigmaSchedulerTimesteps(1000, 3, "linspace", 0), [999, 499.5, 0]);
  assert.deepEqual(sigmaSchedulerTimesteps(1000, 4, "leading", 1), [751, 501, 251, 1]);
  assert.deepEqual(sigmaSchedulerTimesteps(1000, 3, "trailing", 0), [999, 666, 332]);
  assert.throws(() => sigmaSchedulerTimesteps(1000, 0, "leading", 0), /positive integer/);
  assert.equal(initNoiseSigmaOf(new Float32Array([3, 4, 0]), "trailing"), 4);
  assert.equal(
    initNoiseSigmaOf(new Float32Array([3, 4, 0]), "leading"),
    Math.fround(Math.sqrt(17)),
  );
  assert.equal(indexForTimestep([999, 500, 500, 0], 500, "t"), 2);
  assert.equal(indexForTimestep([999, 500, 0], 500, "t"), 1);
  assert.throws(
    () => indexForTimestep([999, 0], 3, "who"),
    /who: timestep 3 is not in the schedule/,
  );
  const state = {
    sigmas: new Float32Array([2, 1, 0]),
    timesteps: [9, 5],
    stepIndex: null,
    beginIndex: null,
  };
  const x = Tensor.zeros([2, 1]);
  const noise = new Tensor(new Float32Array([1, 1]), [2, 1]);
  assert.deepEqual(Array.from(addNoiseBySigma(state, x, noise, [9, 5]).data), [2, 1]);
  assert.deepEqual(
    Array.from(addNoiseBySigma({ ...state, beginIndex: 1 }, x, noise, 9).data),
    [1, 1],
  );
  assert.throws(() => addNoiseBySigma(state, x, noise, [9, 5, 5]), /3 timesteps for a batch of 2/);
  assert.throws(() => addNoiseBySigma(state, x, Tensor.zeros([3]), 9), /shape/);
  const none = { useKarrasSigmas: false, useExponentialSigmas: false, useBetaSigmas: false };
  checkSigmaSpacing(none, "x");
  assert.throws(
    () => checkSigmaSpacing({ ...none, useKarrasSigmas: true, useBetaSigmas: true }, "f.json"),
    /f\.json: only one of/,
  );
});
