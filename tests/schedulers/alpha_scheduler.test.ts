import assert from "node:assert/strict";
import { AlphaScheduler } from "../../core/schedulers/alpha_scheduler.ts";
import { DDIMScheduler } from "../../core/schedulers/ddim.ts";
import { DDIMInverseScheduler } from "../../core/schedulers/ddim_inverse.ts";
import { DDPMScheduler } from "../../core/schedulers/ddpm.ts";
import { PNDMScheduler } from "../../core/schedulers/pndm.ts";
import {
  type BetaOption,
  type SchedulerConfig,
  schedulerSpec,
} from "../../core/schedulers/config.ts";
import { readSafetensors } from "../../core/tensor/safetensors.ts";
import { Tensor } from "../../core/tensor/tensor.ts";
import { ulpBetween } from "./replay_util.ts";

const CLASSES = [DDIMScheduler, DDIMInverseScheduler, DDPMScheduler, PNDMScheduler] as const;

Deno.test("the x_t-space schedulers start from unit noise and leave the model input alone", () => {
  const x = new Tensor(new Float32Array([0.5, -2]), [1, 2]);
  for (const cls of CLASSES) {
    const s = new cls();
    assert.ok(s instanceof AlphaScheduler, cls.name);
    assert.equal(s.initNoiseSigma, 1, cls.name);
    assert.equal(s.scaleModelInput(x, 999), x, cls.name);
    // pipelines call setBeginIndex only where diffusers' class has it (the sigma schedulers)
    assert.equal((s as unknown as Record<string, unknown>).setBeginIndex, undefined, cls.name);
  }
});

Deno.test("their addNoise is diffusers' add_noise, per item and for the whole batch", async () => {
  const f = await readSafetensors("fixtures/refs/schedulers/ddpm/add_noise.safetensors");
  const config = JSON.parse(f.metadata.config);
  for (const cls of CLASSES) {
    const s = cls.fromConfig(config);
    for (const kind of ["per_item", "single"]) {
      const ours = s.addNoise(f.tensor("original"), f.tensor("noise"), f.ints(`timesteps_${kind}`));
      assert.equal(ulpBetween(ours, f.tensor(`noisy_${kind}`)), 0, `${cls.name} ${kind}`);
    }
  }
});

type ProbeConfig = Pick<SchedulerConfig, BetaOption>;
const PROBE_SPEC = schedulerSpec<ProbeConfig>("Probe", {});

/** Exposes the protected helpers of AlphaScheduler. */
class Probe extends AlphaScheduler<ProbeConfig> {
  static readonly spec = PROBE_SPEC;
  constructor() {
    super(PROBE_SPEC, { numTrainTimesteps: 4, trainedBetas: [0.1, 0.2, 0.3, 0.4] });
  }
  alphaOrBelow(t: number, below: number): number {
    return this.alphaProd(t, below, "Probe.step");
  }
  stepsSet(): number {
    return this.requireInferenceSteps("Probe.step");
  }
}

Deno.test("alphaProd and requireInferenceSteps: diffusers' lookups with named errors", () => {
  const p = new Probe();
  assert.equal(p.alphaOrBelow(0, 1), Math.fround(0.9));
  assert.equal(p.alphaOrBelow(3, 1), p.alphasCumprod[3]);
  assert.equal(p.alphaOrBelow(-1, 0.5), 0.5); // below the training range: the caller's value
  assert.throws(
    () => p.alphaOrBelow(4, 1),
    /Probe\.step: timestep 4 is outside the 4 training timesteps/,
  );
  assert.throws(
    () => p.stepsSet(),
    /Probe\.step: number of inference steps is not set; call setTimesteps first/,
  );
  p.numInferenceSteps = 2;
  assert.equal(p.stepsSet(), 2);
});
