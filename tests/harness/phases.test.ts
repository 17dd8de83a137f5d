import assert from "node:assert/strict";
import { defineCase } from "../../core/harness/case.ts";
import type { CaseInputs } from "../../core/harness/case_inputs.ts";
import { PHASES, replayOneStep, runPhase, runPipeline } from "../../core/harness/phases.ts";
import type { CaseReference } from "../../core/harness/references.ts";
import { ieeeMath } from "../../core/numerics/f32_math.ts";
import { DDIMScheduler } from "../../core/schedulers/ddim.ts";
import { Tensor } from "../../core/tensor/tensor.ts";
import { TorchGenerator } from "../../core/tensor/torch_generator.ts";
import { StandInUNet } from "../pipelines/_standins.ts";

const CONFIG = { beta_schedule: "scaled_linear", beta_start: 0.00085, beta_end: 0.012 };
const SHAPE = [1, 4, 2, 2];
const EMBEDS = new Tensor(new Float32Array([0.5]), [1, 1, 1]);

/** A text2img DDIM case over stand-in models: guidance 1, 4 steps. */
function inputs(unet: StandInUNet): CaseInputs {
  const c = defineCase({
    name: "phases",
    model: "stand-in",
    pipeline: "text2img",
    sampler: { type: "DDIMScheduler" },
    steps: 4,
    prompt: "",
    guidanceScale: 1,
    seed: 3,
  });
  const model = { unet, schedulerConfig: CONFIG } as unknown as CaseInputs["model"];
  return {
    c,
    model,
    latentShape: SHAPE,
    scalingFactor: 0.18215,
    schedulerSource: "stand-in/scheduler_config.json",
    loadMs: 0,
    release: () => Promise.resolve(),
  };
}

/** A reference whose every sample and model output is a distinct random tensor. */
function reference(): CaseReference {
  const g = new TorchGenerator(9);
  const samples = [0, 1, 2, 3].map(() => g.randn(SHAPE));
  const outputs = [0, 1, 2, 3].map(() => g.randn(SHAPE));
  return {
    path: "ref.safetensors",
    promptEmbeds: EMBEDS,
    steps: 4,
    sampleIn: (i: number) => samples[i],
    modelOutput: (i: number) => outputs[i],
  } as unknown as CaseReference;
}

Deno.test("runPipeline: the case's sampler and pipeline from the tables, one record per model call", async () => {
  const unet = new StandInUNet();
  const run = await runPipeline(inputs(unet), {}, EMBEDS, false, ieeeMath);
  const ddim = DDIMScheduler.fromConfig(CONFIG);
  ddim.setTimesteps(4);
  assert.deepEqual(run.records.map((r) => r.t), ddim.timesteps);
  assert.equal(unet.calls.length, 4);
  assert.deepEqual(run.result.initLatents.data, new TorchGenerator(3).randn(SHAPE).data);
});

Deno.test("PHASES.replayScheduler feeds the reference's sample and model output to every step; the model is not run", async () => {
  const unet = new StandInUNet();
  const ref = reference();
  const seen: number[] = [];
  const run = await runPhase(inputs(unet), PHASES.replayScheduler, ref, ieeeMath, {
    beforeCall: (i) => seen.push(i),
  });
  assert.equal(unet.calls.length, 0);
  assert.deepEqual(seen, [0, 1, 2, 3]);
  const ddim = DDIMScheduler.fromConfig(CONFIG);
  ddim.setTimesteps(4);
  run.records.forEach((r, i) => {
    assert.equal(r.sample, ref.sampleIn(i));
    assert.equal(r.modelOutput, ref.modelOutput(i));
    const want = ddim.step(ref.modelOutput(i)!, ddim.timesteps[i], ref.sampleIn(i)!).prevSample;
    assert.deepEqual(r.prevSample.data, want.data, `step ${i}`);
  });
});

Deno.test("PHASES.replayModel runs the model on the reference's samples; replayOneStep stops at its step", async () => {
  const unet = new StandInUNet();
  const ref = reference();
  const run = await runPhase(inputs(unet), PHASES.replayModel, ref, ieeeMath);
  assert.equal(unet.calls.length, 4);
  run.records.forEach((r, i) => {
    assert.equal(unet.calls[i].sample, ref.sampleIn(i));
    assert.equal(r.modelOutput.data[0], StandInUNet.eps(ref.sampleIn(i)!.data[0], r.t, 0.5, 0));
  });
  const one = new StandInUNet();
  const out = await replayOneStep(inputs(one), ref, ieeeMath, 2, "model");
  assert.equal(one.calls.length, 1, "only step 2 runs the model");
  assert.deepEqual(out, run.records[2].modelOutput.data);
  const sched = await replayOneStep(inputs(one), ref, ieeeMath, 1);
  const replay = await runPhase(inputs(new StandInUNet()), PHASES.replayScheduler, ref, ieeeMath);
  assert.deepEqual(sched, replay.records[1].prevSample.data);
});

Deno.test("over a prefix reference (per-step tensors for 2 of 4 calls) the replays stop after 2 calls", async () => {
  const full = reference();
  const ref = {
    ...full,
    steps: 2,
    calls: 4,
    recordedSteps: 2,
    sampleIn: (i: number) => (i <= 2 ? full.sampleIn(i) : undefined),
    modelOutput: (i: number) => (i < 2 ? full.modelOutput(i) : undefined),
  } as CaseReference;
  const sched = new StandInUNet();
  const replay = await runPhase(inputs(sched), PHASES.replayScheduler, ref, ieeeMath);
  assert.deepEqual(replay.records.map((r) => r.index), [0, 1]);
  assert.equal(sched.calls.length, 0, "no call ran without a reference model output");
  assert.equal(replay.result.timesteps.length, 2);
  const whole = await runPhase(inputs(new StandInUNet()), PHASES.replayScheduler, full, ieeeMath);
  replay.records.forEach((r, i) =>
    assert.deepEqual(r.prevSample.data, whole.records[i].prevSample.data)
  );
  const model = new StandInUNet();
  const modelReplay = await runPhase(inputs(model), PHASES.replayModel, ref, ieeeMath);
  assert.deepEqual([modelReplay.records.length, model.calls.length], [2, 2]);
  // the free run has no replay hooks: it makes every call
  assert.deepEqual(PHASES.freeRun.hooks(ref), {});
  // over a reference with every call recorded, the replays run to the end
  assert.equal(PHASES.replayModel.hooks(full).stopAfterCalls, undefined);
});
