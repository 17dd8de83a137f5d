/**
 * The one loop drives every shape of sampler: a diffusers scheduler (through schedulerSampler),
 * the CompVis PLMS sampler (two model calls on its first step), a stepper that carries two
 * latents, and one that calls the denoiser three times per step; each over a guided and an
 * unconditional denoiser, with the replay hooks, the per-call records and NaN detection.
 */
import assert from "node:assert/strict";
import { guidedDenoiser, unconditionalDenoiser } from "../../core/pipelines/denoiser.ts";
import { NonFiniteError, PipelineInputError } from "../../core/pipelines/errors.ts";
import { denoiseLoop, type LoopState } from "../../core/pipelines/loop.ts";
import type { StepRecord } from "../../core/pipelines/types.ts";
import { CompVisPLMSSampler } from "../../core/schedulers/compvis_plms.ts";
import { DDIMScheduler } from "../../core/schedulers/ddim.ts";
import { ldmAlphasCumprod } from "../../core/schedulers/ldm_schedule.ts";
import { schedulerSampler } from "../../core/schedulers/scheduler_sampler.ts";
import type { Denoiser, Stepper } from "../../core/schedulers/types.ts";
import { Tensor } from "../../core/tensor/tensor.ts";
import { TorchGenerator } from "../../core/tensor/torch_generator.ts";
import { StandInUNet } from "./_standins.ts";
import { assertBitEqual } from "./_refs.ts";

const f32 = Math.fround;
const SHAPE = [1, 4, 3, 3];
const T = [900, 700, 500, 300, 100];

/** x - h * e, elementwise in float32. */
const axpy = (x: Tensor, e: Tensor, h: number) =>
  new Tensor(x.data.map((v, i) => f32(v - f32(h * e.data[i]))), x.shape);

/** A two-latent stepper in EDICT's shape: each latent is updated from the other's prediction. */
class CoupledStepper implements Stepper<readonly Tensor[]> {
  readonly timesteps = T;
  async step(denoise: Denoiser, [x, y]: readonly Tensor[], i: number) {
    const t = this.timesteps[i];
    const xi = axpy(x, await denoise(y, t), 0.05);
    const yi = axpy(y, await denoise(xi, t), 0.05);
    const mix = (a: Tensor, b: Tensor) =>
      new Tensor(a.data.map((v, j) => f32(f32(0.93 * v) + f32(0.07 * b.data[j]))), a.shape);
    const x2 = mix(xi, yi);
    return { prevSample: [x2, mix(yi, x2)] as const };
  }
}

/** A stepper that evaluates the denoiser three times per step at the same timestep. */
class ThreeCallStepper implements Stepper {
  readonly timesteps = T;
  async step(denoise: Denoiser, x: Tensor, i: number) {
    const t = this.timesteps[i];
    const k1 = await denoise(x, t);
    const k2 = await denoise(axpy(x, k1, 0.1), t);
    const k3 = await denoise(axpy(x, k2, 0.1), t);
    const avg = new Tensor(
      k1.data.map((v, j) => f32(f32(v + k2.data[j]) + k3.data[j]) / 3),
      x.shape,
    );
    return { prevSample: axpy(x, avg, 0.1), predOriginalSample: k3 };
  }
}

interface Kind {
  name: string;
  make(): Stepper<LoopState>;
  /** The state entering step 0. */
  start(): LoopState;
  /** Model calls of a whole run. */
  calls: number;
  /** The calls recorded before a NaN at call 4 stops the run (the steps completed before it). */
  beforeNan: number[];
}

const x0 = () => new TorchGenerator(5).randn(SHAPE);
const KINDS: Kind[] = [
  {
    name: "diffusers DDIM",
    make: () => {
      const s = schedulerSampler(new DDIMScheduler({ betaSchedule: "scaled_linear" }));
      s.setTimesteps(5);
      return s as Stepper<LoopState>;
    },
    start: x0,
    calls: 5,
    beforeNan: [0, 1, 2, 3],
  },
  {
    name: "CompVis PLMS",
    make: () =>
      new CompVisPLMSSampler(ldmAlphasCumprod("linear", 0.00085, 0.012, 1000), 5) as Stepper<
        LoopState
      >,
    start: x0,
    calls: 6,
    beforeNan: [0, 1, 2, 3],
  },
  {
    name: "two latents",
    make: () => new CoupledStepper() as Stepper<LoopState>,
    start: () => [x0(), x0()],
    calls: 10,
    beforeNan: [0, 1, 2, 3],
  },
  {
    name: "three calls",
    make: () => new ThreeCallStepper() as Stepper<LoopState>,
    start: x0,
    calls: 15,
    beforeNan: [0, 1, 2],
  },
];

const DENOISERS = [
  {
    name: "guided",
    make: (unet: StandInUNet) =>
      guidedDenoiser(unet, new Tensor(new Float32Array([-0.4, 0, 0.9, 0]), [2, 2, 1]), 5),
  },
  { name: "unconditional", make: (unet: StandInUNet) => unconditionalDenoiser(unet) },
];

const firstOf = (s: LoopState) => Array.isArray(s) ? s[0] : s as Tensor;

for (const kind of KINDS) {
  for (const den of DENOISERS) {
    const label = `${kind.name}, ${den.name}`;

    Deno.test(`one loop (${label}): a record per model call; replaying every call reproduces the run without the model`, async () => {
      const unet = new StandInUNet();
      const records: StepRecord[] = [];
      const free = await denoiseLoop({
        stepper: kind.make(),
        denoiser: den.make(unet),
        sample: kind.start(),
        hooks: { onStep: (r) => void records.push(r) },
      });
      assert.equal(unet.calls.length, kind.calls);
      assert.deepEqual(records.map((r) => r.index), [...Array(kind.calls).keys()]);
      assert.deepEqual(free.timesteps, records.map((r) => r.t));
      assert.ok(records.every((r) => !r.sampleOverridden && !r.modelOutputOverridden));
      assertBitEqual(records[records.length - 1].prevSample, firstOf(free.sample), "last record");
      // every call's output and input handed back: same result, no model call
      const replayUnet = new StandInUNet();
      const replayed: StepRecord[] = [];
      const replay = await denoiseLoop({
        stepper: kind.make(),
        denoiser: den.make(replayUnet),
        sample: kind.start(),
        hooks: {
          overrideSample: (i) =>
            records[i].modelInput === records[i].sample ? records[i].sample : undefined,
          overrideModelOutput: (i) => records[i].modelOutput,
          onStep: (r) => void replayed.push(r),
        },
      });
      assert.equal(replayUnet.calls.length, 0);
      assert.ok(replayed.every((r) => r.modelOutputOverridden && r.modelMs === 0));
      for (const [a, b] of [[replay.sample, free.sample]].map((p) => p.map(firstOf))) {
        assertBitEqual(a, b, "final state");
      }
    });

    Deno.test(`one loop (${label}): overrideModelOutput and overrideSample change the run at that call`, async () => {
      const unet = new StandInUNet();
      const base = await denoiseLoop({
        stepper: kind.make(),
        denoiser: den.make(unet),
        sample: kind.start(),
      });
      const injected = new TorchGenerator(11).randn(SHAPE);
      const records: StepRecord[] = [];
      const unet2 = new StandInUNet();
      const out = await denoiseLoop({
        stepper: kind.make(),
        denoiser: den.make(unet2),
        sample: kind.start(),
        hooks: {
          overrideModelOutput: (i) => (i === 2 ? injected : undefined),
          overrideSample: (i) => (i === 3 ? injected : undefined),
          onStep: (r) => void records.push(r),
        },
      });
      assert.equal(unet2.calls.length, kind.calls - 1, "the model is skipped at call 2");
      assert.equal(records[2].modelOutput, injected);
      assert.equal(records[2].modelOutputOverridden, true);
      assert.equal(records[3].sampleOverridden, true);
      assert.equal(records[3].modelInput, injected, "call 3 ran on the replacement");
      assert.notDeepEqual([...firstOf(out.sample).data], [...firstOf(base.sample).data]);
    });

    Deno.test(`one loop (${label}): stopAfterCalls 4 ends the run after the step that made call 3`, async () => {
      const records: StepRecord[] = [];
      await denoiseLoop({
        stepper: kind.make(),
        denoiser: den.make(new StandInUNet()),
        sample: kind.start(),
        hooks: { onStep: (r) => void records.push(r) },
      });
      // the whole run's records up to the end of call 3's step
      const upTo = records.filter((r) => r.step <= records[3].step);
      const unet = new StandInUNet();
      const seen: number[] = [];
      const short = await denoiseLoop({
        stepper: kind.make(),
        denoiser: den.make(unet),
        sample: kind.start(),
        hooks: { stopAfterCalls: 4, onStep: (r) => void seen.push(r.index) },
      });
      assert.equal(unet.calls.length, upTo.length);
      assert.deepEqual(seen, upTo.map((r) => r.index));
      assert.deepEqual(short.timesteps, upTo.map((r) => r.t));
      assertBitEqual(firstOf(short.sample), upTo[upTo.length - 1].prevSample, "state after it");
      assert.ok(upTo.length < kind.calls, "stopped before the end");
    });

    Deno.test(`one loop (${label}): a NaN from the model at call 4 stops the run there, named`, async () => {
      const unet = new StandInUNet();
      unet.nanAtCall = 4;
      const seen: number[] = [];
      await assert.rejects(
        () =>
          denoiseLoop({
            stepper: kind.make(),
            denoiser: den.make(unet),
            sample: kind.start(),
            hooks: { onStep: (r) => void seen.push(r.index) },
          }),
        (e: unknown) =>
          e instanceof NonFiniteError && e.stepIndex === 4 && e.tensor === "modelOutput" &&
          Number.isNaN(e.value),
      );
      assert.equal(unet.calls.length, 5);
      assert.deepEqual(seen, kind.beforeNan, "the records of the steps completed before the NaN");
    });
  }
}

Deno.test("one loop: records carry the step and the call within it, in call order even when calls overlap", async () => {
  // PLMS: step 0 calls the model twice
  const plms: StepRecord[] = [];
  await denoiseLoop({
    stepper: new CompVisPLMSSampler(ldmAlphasCumprod("linear", 0.00085, 0.012, 1000), 4),
    denoiser: unconditionalDenoiser(new StandInUNet()),
    sample: x0(),
    hooks: { onStep: (r) => void plms.push(r) },
  });
  const placed = plms.map((r) => `${r.index}:${r.step}.${r.call}`);
  assert.deepEqual(placed, ["0:0.0", "1:0.1", "2:1.0", "3:2.0", "4:3.0"]);
  // a two-latent stepper whose two calls run at once; the first call's model is the slower
  const concurrent: Stepper<readonly Tensor[]> = {
    timesteps: [900, 500],
    async step(denoise, [x, y], i) {
      const t = this.timesteps[i];
      const [ex, ey] = await Promise.all([denoise(x, t), denoise(y, t)]);
      return { prevSample: [axpy(x, ex, 0.1), axpy(y, ey, 0.1)] as const };
    },
  };
  const a = x0();
  const b = new TorchGenerator(6).randn(SHAPE);
  const unet = unconditionalDenoiser(new StandInUNet());
  const finished: number[] = [];
  let made = 0;
  const slowOnX = async (v: Tensor, t: number) => {
    const mine = made++;
    if (mine % 2 === 0) await new Promise((ok) => setTimeout(ok, 5)); // x's call is slow
    finished.push(mine);
    return await unet(v, t);
  };
  const records: StepRecord[] = [];
  await denoiseLoop({
    stepper: concurrent,
    denoiser: slowOnX,
    sample: [a, b],
    hooks: { onStep: (r) => void records.push(r) },
  });
  assert.deepEqual(finished, [1, 0, 3, 2], "each step's second call finished first");
  assert.deepEqual(records.map((r) => [r.index, r.step, r.call]), [
    [0, 0, 0],
    [1, 0, 1],
    [2, 1, 0],
    [3, 1, 1],
  ]);
  assert.equal(records[0].modelInput, a, "call 0 ran on x");
  assert.equal(records[1].modelInput, b, "call 1 ran on y");
});

Deno.test("one loop: a begin outside the stepper's timesteps is refused, naming it", async () => {
  await assert.rejects(
    () =>
      denoiseLoop({
        stepper: new ThreeCallStepper(),
        denoiser: unconditionalDenoiser(new StandInUNet()),
        sample: x0(),
        begin: 5,
      }),
    /denoiseLoop: begin: expected an index into the 5 timesteps of the stepper, got 5/,
  );
});

Deno.test("one loop: stopAfterCalls must be a whole number >= 1; one past the run changes nothing", async () => {
  const run = (stopAfterCalls: number) => {
    const s = schedulerSampler(new DDIMScheduler({ betaSchedule: "scaled_linear" }));
    s.setTimesteps(5);
    return denoiseLoop({
      stepper: s,
      denoiser: unconditionalDenoiser(new StandInUNet()),
      sample: x0(),
      hooks: { stopAfterCalls },
    });
  };
  for (const bad of [0, -1, 1.5, NaN]) {
    await assert.rejects(
      run(bad),
      (e) =>
        e instanceof PipelineInputError &&
        e.message.includes(
          `stopAfterCalls: expected a whole number of model calls >= 1, got ${bad}`,
        ),
    );
  }
  assert.equal((await run(1)).timesteps.length, 1);
  assert.equal((await run(99)).timesteps.length, 5);
});
