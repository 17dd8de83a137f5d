import assert from "node:assert/strict";
import { PipelineInputError } from "../../core/pipelines/errors.ts";
import { img2imgTimesteps, startStepTimesteps } from "../../core/pipelines/timesteps.ts";
import { DDIMScheduler } from "../../core/schedulers/ddim.ts";
import { DDPMScheduler } from "../../core/schedulers/ddpm.ts";
import { EulerDiscreteScheduler } from "../../core/schedulers/euler_discrete.ts";
import { LMSDiscreteScheduler } from "../../core/schedulers/lms_discrete.ts";
import { PNDMScheduler } from "../../core/schedulers/pndm.ts";
import type { Scheduler } from "../../core/schedulers/types.ts";
import { Tensor } from "../../core/tensor/tensor.ts";
import { readRef } from "./_refs.ts";

interface TimestepRefs {
  config: Record<string, unknown>;
  cases: {
    scheduler: string;
    steps: number;
    strength: number;
    tStart: number;
    beginIndex: number;
    timesteps: number[];
  }[];
}

const FROM_CONFIG: Record<string, (json: unknown) => Scheduler> = {
  DDIMScheduler: (j) => DDIMScheduler.fromConfig(j),
  DDPMScheduler: (j) => DDPMScheduler.fromConfig(j),
  PNDMScheduler: (j) => PNDMScheduler.fromConfig(j),
  LMSDiscreteScheduler: (j) => LMSDiscreteScheduler.fromConfig(j),
  EulerDiscreteScheduler: (j) => EulerDiscreteScheduler.fromConfig(j),
};

Deno.test("img2imgTimesteps equals diffusers' get_timesteps for 5 schedulers, 2 step counts, 6 strengths", async () => {
  const refs = await readRef<TimestepRefs>("img2img_timesteps.json");
  assert.equal(refs.cases.length, 5 * 2 * 6);
  for (const c of refs.cases) {
    const what = `${c.scheduler} steps=${c.steps} strength=${c.strength}`;
    const scheduler = FROM_CONFIG[c.scheduler](refs.config);
    const got = img2imgTimesteps(scheduler, c.steps, c.strength);
    assert.equal(got.beginIndex, c.beginIndex, what);
    // timesteps are compared as float32 values (diffusers holds int64 or float32 tensors)
    assert.deepEqual(got.timesteps.map(Math.fround), c.timesteps, what);
    assert.equal(got.latentTimestep, got.timesteps[0], what);
  }
});

Deno.test("startStepTimesteps(k) visits the same timesteps as the strength that starts at k", async () => {
  const refs = await readRef<TimestepRefs>("img2img_timesteps.json");
  for (const c of refs.cases.filter((c) => c.steps === 25)) {
    const scheduler = FROM_CONFIG[c.scheduler](refs.config);
    const got = startStepTimesteps(scheduler, c.steps, c.tStart);
    assert.deepEqual(got.timesteps.map(Math.fround), c.timesteps, `${c.scheduler} k=${c.tStart}`);
  }
  // the float trap startStep avoids: int(100 * 0.29) == 28, so strength 0.29 starts at 72, not 71
  const ddim = new DDIMScheduler();
  assert.equal(img2imgTimesteps(ddim, 100, 0.29).beginIndex, 72);
  assert.equal(startStepTimesteps(ddim, 100, 71).timesteps.length, 29);
});

/** A stand-in scheduler of a given order that records setBeginIndex. */
class OrderedScheduler implements Scheduler {
  readonly initNoiseSigma = 1;
  timesteps: number[] = [];
  begin: number[] = [];
  constructor(readonly order: number) {}
  setTimesteps(n: number): void {
    this.timesteps = Array.from({ length: n * this.order }, (_, i) => 1000 - 10 * i);
  }
  setBeginIndex(i: number): void {
    this.begin.push(i);
  }
  scaleModelInput(x: Tensor): Tensor {
    return x;
  }
  step(m: Tensor): { prevSample: Tensor } {
    return { prevSample: m };
  }
  addNoise(x: Tensor): Tensor {
    return x;
  }
}

Deno.test("img2imgTimesteps starts at t_start * order and calls setBeginIndex with it", () => {
  const s = new OrderedScheduler(2);
  const got = img2imgTimesteps(s, 10, 0.3); // t_start = 7
  assert.equal(got.beginIndex, 14);
  assert.deepEqual(s.begin, [14]);
  assert.deepEqual(got.timesteps, [860, 850, 840, 830, 820, 810]);
  const legacy = new OrderedScheduler(1);
  startStepTimesteps(legacy, 10, 3, { setBeginIndex: false }); // the legacy inpaint pipeline
  img2imgTimesteps(legacy, 10, 0.5, { setBeginIndex: false });
  assert.deepEqual(legacy.begin, []);
  const plain = new DDIMScheduler(); // no setBeginIndex: nothing to call, no error
  assert.equal(img2imgTimesteps(plain, 10, 1).beginIndex, 0);
});

Deno.test("strength or startStep that leave no step, or are out of range, are refused with the field named", () => {
  const s = new DDIMScheduler();
  assert.throws(
    () => img2imgTimesteps(s, 10, 0.05),
    (e: unknown) =>
      e instanceof PipelineInputError && e.field === "strength" &&
      /leaves no denoising step/.test(e.message),
  );
  assert.throws(
    () => img2imgTimesteps(s, 10, 1.5),
    (e: unknown) => e instanceof PipelineInputError && e.field === "strength",
  );
  assert.throws(
    () => startStepTimesteps(s, 10, 10),
    (e: unknown) =>
      e instanceof PipelineInputError && e.field === "startStep" && /below 10/.test(e.message),
  );
  assert.throws(() => startStepTimesteps(s, 10, -1), PipelineInputError);
  assert.throws(
    () => img2imgTimesteps(s, 0, 0.5),
    (e: unknown) => e instanceof PipelineInputError && e.field === "steps",
  );
});
