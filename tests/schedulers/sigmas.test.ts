import assert from "node:assert/strict";
import {
  checkSigmaSpacing,
  initNoiseSigmaOf,
  sigmasFromAlphasCumprod,
  sigmaToT,
} from "../../core/schedulers/sigmas.ts";
import { npInterp, npLogF32 } from "../../core/numerics/numpy.ts";
import { noiseSchedule } from "../../core/schedulers/betas.ts";

const NUMERICS = "fixtures/refs/schedulers/euler_discrete/numerics.json";

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

Deno.test("initNoiseSigmaOf and checkSigmaSpacing as diffusers' init_noise_sigma and __init__", () => {
  assert.equal(initNoiseSigmaOf(new Float32Array([3, 4, 0]), "trailing"), 4);
  assert.equal(
    initNoiseSigmaOf(new Float32Array([3, 4, 0]), "leading"),
    Math.fround(Math.sqrt(17)),
  );
  const none = { useKarrasSigmas: false, useExponentialSigmas: false, useBetaSigmas: false };
  checkSigmaSpacing(none, "x");
  assert.throws(
    () => checkSigmaSpacing({ ...none, useKarrasSigmas: true, useBetaSigmas: true }, "f.json"),
    /f\.json: only one of/,
  );
});
