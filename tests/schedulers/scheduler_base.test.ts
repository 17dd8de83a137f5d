import assert from "node:assert/strict";
import { noiseSchedule } from "../../core/schedulers/betas.ts";
import {
  type BetaOption,
  type SchedulerConfig,
  schedulerSpec,
} from "../../core/schedulers/config.ts";
import { SCHEDULER_CLASSES } from "../../core/schedulers/registry.ts";
import {
  fromDiffusersConfig,
  SchedulerBase,
  type SchedulerOptions,
} from "../../core/schedulers/scheduler_base.ts";
import { listReferenceFiles, loadSchedulerReference, ulpBetween } from "./replay_util.ts";

type TinyConfig = Pick<SchedulerConfig, BetaOption | "stepsOffset">;
const TINY_SPEC = schedulerSpec<TinyConfig>("TinyScheduler", { stepsOffset: 0 });

/** The smallest scheduler on the base: what the base gives, nothing else. */
class TinyScheduler extends SchedulerBase<TinyConfig> {
  static readonly spec = TINY_SPEC;
  constructor(config: Partial<TinyConfig> = {}, options?: SchedulerOptions) {
    super(TINY_SPEC, config, options);
    this.timestepList = [3, 2, 1];
  }
  describe(): string {
    return this.className;
  }
}

Deno.test("fromDiffusersConfig builds the class, keeps unknown keys and round-trips the JSON", () => {
  const s = fromDiffusersConfig(TinyScheduler, {
    _class_name: "DDIMScheduler",
    _diffusers_version: "0.42.1",
    num_train_timesteps: 10,
    steps_offset: 1,
    clip_sample: false,
    foo: [1],
  }, "x/scheduler_config.json");
  assert.ok(s instanceof TinyScheduler);
  assert.equal(s.describe(), "TinyScheduler");
  assert.deepEqual(s.config, {
    numTrainTimesteps: 10,
    betaStart: 0.0001,
    betaEnd: 0.02,
    betaSchedule: "linear",
    trainedBetas: null,
    stepsOffset: 1,
  });
  assert.ok(Object.isFrozen(s.config));
  assert.equal(s.configWarnings.length, 2);
  assert.match(
    s.configWarnings[0],
    /^x\/scheduler_config\.json: "clip_sample" is not an option of TinyScheduler/,
  );
  assert.match(s.configWarnings[1], /unknown key "foo"/);
  assert.deepEqual(s.toDiffusersConfig(), {
    _class_name: "TinyScheduler",
    _diffusers_version: "0.42.1",
    num_train_timesteps: 10,
    beta_start: 0.0001,
    beta_end: 0.02,
    beta_schedule: "linear",
    trained_betas: null,
    steps_offset: 1,
    clip_sample: false,
    foo: [1],
  });
  assert.throws(
    () => new TinyScheduler({ clipSample: true } as never),
    /not an option of TinyScheduler/,
  );
  assert.throws(
    () => fromDiffusersConfig(TinyScheduler, { steps_offset: "1" }, "y.json"),
    /y\.json: "steps_offset"/,
  );
});

Deno.test("the base holds the noise schedule, order 1, and a copy of the timesteps", () => {
  const s = new TinyScheduler({
    betaSchedule: "scaled_linear",
    betaStart: 0.00085,
    betaEnd: 0.012,
  });
  const expected = noiseSchedule(s.config);
  assert.deepEqual([...s.betas], [...expected.betas]);
  assert.deepEqual([...s.alphas], [...expected.alphas]);
  assert.deepEqual([...s.alphasCumprod], [...expected.alphasCumprod]);
  assert.equal(s.order, 1);
  assert.equal(s.numInferenceSteps, null);
  const ts = s.timesteps;
  ts.push(0);
  assert.deepEqual(s.timesteps, [3, 2, 1]);
});

Deno.test("every registered class is a SchedulerBase whose fromConfig gives its own class and diffusers' alphas_cumprod", async () => {
  const refs = new Map<string, string>([
    ["DDIMScheduler", "fixtures/refs/schedulers/ddim"],
    ["DDIMInverseScheduler", "fixtures/refs/schedulers/ddim_inverse"],
    ["DDPMScheduler", "fixtures/refs/schedulers/ddpm"],
    ["PNDMScheduler", "fixtures/refs/schedulers/pndm"],
    ["LMSDiscreteScheduler", "fixtures/refs/schedulers/lms_discrete"],
    ["EulerDiscreteScheduler", "fixtures/refs/schedulers/euler_discrete"],
    ["EulerAncestralDiscreteScheduler", "fixtures/refs/schedulers/euler_ancestral"],
    ["DPMSolverMultistepScheduler", "fixtures/refs/schedulers/dpm_multistep"],
    ["DPMSolverSinglestepScheduler", "fixtures/refs/schedulers/dpm_singlestep"],
    ["LCMScheduler", "fixtures/refs/schedulers/lcm"],
    ["HeunDiscreteScheduler", "fixtures/refs/schedulers/heun"],
    ["KDPM2DiscreteScheduler", "fixtures/refs/schedulers/kdpm2"],
    ["DEISMultistepScheduler", "fixtures/refs/schedulers/deis"],
    ["UniPCMultistepScheduler", "fixtures/refs/schedulers/unipc"],
  ]);
  assert.deepEqual([...refs.keys()].sort(), Object.keys(SCHEDULER_CLASSES).sort());
  for (const [name, dir] of refs) {
    const cls = SCHEDULER_CLASSES[name] as unknown as { new (): SchedulerBase<TinyConfig> };
    const ref = await loadSchedulerReference((await listReferenceFiles(dir))[0]);
    const s = SCHEDULER_CLASSES[name].fromConfig(ref.config, ref.path);
    assert.ok(s instanceof SchedulerBase, name);
    assert.ok(s instanceof cls, name);
    assert.equal(s.toDiffusersConfig()._class_name, name);
    assert.equal(ulpBetween(s.alphasCumprod, ref.alphasCumprod!), 0, `${name}: alphas_cumprod`);
  }
});
