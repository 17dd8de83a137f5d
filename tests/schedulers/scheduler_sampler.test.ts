import assert from "node:assert/strict";
import { DDIMScheduler } from "../../core/schedulers/ddim.ts";
import { EulerDiscreteScheduler } from "../../core/schedulers/euler_discrete.ts";
import { schedulerSampler } from "../../core/schedulers/scheduler_sampler.ts";
import type { StepOptions } from "../../core/schedulers/types.ts";
import { Tensor } from "../../core/tensor/tensor.ts";
import { TorchGenerator } from "../../core/tensor/torch_generator.ts";

const SD = { betaSchedule: "scaled_linear", betaStart: 0.00085, betaEnd: 0.012 } as const;

Deno.test("schedulerSampler step = scheduler.step(denoise(scale_model_input(x, t), t), t, x)", async () => {
  const x = new TorchGenerator(2).randn([1, 4, 2, 2]);
  const denoise = (s: Tensor) => Promise.resolve(new Tensor(s.data.map((v) => v * 0.25), s.shape));
  const sampler = schedulerSampler(new EulerDiscreteScheduler(SD));
  sampler.setTimesteps(6);
  const ref = new EulerDiscreteScheduler(SD);
  ref.setTimesteps(6);
  assert.deepEqual(sampler.timesteps, ref.timesteps);
  assert.equal(sampler.initNoiseSigma, ref.initNoiseSigma);
  let a = x;
  let b = x;
  for (let i = 0; i < 6; i++) {
    const t = ref.timesteps[i];
    const seen: Tensor[] = [];
    a = (await sampler.step((s) => (seen.push(s), denoise(s)), a, i)).prevSample;
    const scaled = ref.scaleModelInput(b, t);
    assert.deepEqual(
      [...seen[0].data],
      [...scaled.data],
      `step ${i}: the denoiser gets the scaled sample`,
    );
    b = ref.step(await denoise(scaled), t, b).prevSample;
    assert.deepEqual([...a.data], [...b.data], `step ${i}`);
  }
});

Deno.test("schedulerSampler passes eta and the generator to every step, and forwards the schedule", async () => {
  const seen: StepOptions[] = [];
  const ddim = new DDIMScheduler(SD);
  const spy = new Proxy(ddim, {
    get(target, prop) {
      if (prop === "step") {
        return (m: Tensor, t: number, s: Tensor, o?: StepOptions) => {
          seen.push(o ?? {});
          return target.step(m, t, s, o);
        };
      }
      const v = Reflect.get(target, prop, target);
      return typeof v === "function" ? v.bind(target) : v;
    },
  });
  const generator = new TorchGenerator(1);
  const sampler = schedulerSampler(spy, { eta: 0.3, generator });
  sampler.setTimesteps(2);
  await sampler.step((s) => Promise.resolve(s), Tensor.zeros([1, 1]), 0);
  await sampler.step((s) => Promise.resolve(s), Tensor.zeros([1, 1]), 1);
  assert.deepEqual(seen.map((o) => [o.eta, o.generator === generator]), [[0.3, true], [0.3, true]]);
  assert.equal(sampler.setBeginIndex, undefined, "DDIM has no begin index");
  const euler = schedulerSampler(new EulerDiscreteScheduler(SD));
  assert.equal(typeof euler.setBeginIndex, "function");
  const x0 = new Tensor(new Float32Array([1]), [1, 1]);
  const n = new Tensor(new Float32Array([0]), [1, 1]);
  assert.deepEqual([...sampler.addNoise(x0, n, 10).data], [...ddim.addNoise(x0, n, 10).data]);
});
