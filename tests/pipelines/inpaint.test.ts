import assert from "node:assert/strict";
import { PipelineInputError } from "../../core/pipelines/errors.ts";
import { inpaint } from "../../core/pipelines/inpaint.ts";
import type { StepRecord } from "../../core/pipelines/types.ts";
import { DDIMScheduler } from "../../core/schedulers/ddim.ts";
import { EulerDiscreteScheduler } from "../../core/schedulers/euler_discrete.ts";
import type { Scheduler } from "../../core/schedulers/types.ts";
import { Tensor } from "../../core/tensor/tensor.ts";
import { samplerRun, StandInUNet, StandInVaeEncoder } from "./_standins.ts";
import { assertBitEqual } from "./_refs.ts";

const f32 = Math.fround;
const SD = { betaSchedule: "scaled_linear", betaStart: 0.00085, betaEnd: 0.012 } as const;

/** keep = 1 on the left half of every channel, 0 on the right half, 0.25 on one element. */
function keepMask(): Tensor {
  const m = new Float32Array(64).map((_, i) => (i % 4 < 2 ? 1 : 0));
  m[6] = 0.25;
  return new Tensor(m, [1, 4, 4, 4]);
}

function run(
  records: StepRecord[],
  keep = keepMask(),
  scheduler: Scheduler = new DDIMScheduler(SD),
) {
  return inpaint({
    unet: new StandInUNet(),
    vaeEncoder: new StandInVaeEncoder(4, 2),
    ...samplerRun(scheduler, 31),
    prompt: { embeds: new Tensor(new Float32Array([0.2, -0.3]), [2, 1, 1]) },
    steps: 10,
    guidanceScale: 4,
    image: new Tensor(Float32Array.from({ length: 192 }, (_, i) => f32(Math.cos(i))), [1, 3, 8, 8]),
    scalingFactor: 0.18215,
    strength: 0.8,
    keepMask: keep,
    hooks: { onStep: (r) => void records.push(r) },
  });
}

Deno.test("inpaint: after every step the kept region is the original re-noised to that step's timestep", async () => {
  const records: StepRecord[] = [];
  const result = await run(records);
  const keep = keepMask();
  const ref = new DDIMScheduler(SD);
  ref.setTimesteps(10);
  assert.equal(records.length, 8);
  for (const r of records) {
    const proper = ref.addNoise(result.imageLatents!, result.noise!, r.t);
    const unblended = r.unblendedPrevSample!;
    for (let i = 0; i < 64; i++) {
      const m = keep.data[i];
      const expected = f32(f32(proper.data[i] * m) + f32(unblended.data[i] * f32(1 - m)));
      assert.equal(r.prevSample.data[i], expected, `step ${r.index} element ${i}`);
      if (m === 1) assert.equal(r.prevSample.data[i], proper.data[i]);
      if (m === 0) assert.equal(r.prevSample.data[i], unblended.data[i]);
    }
  }
  // the unblended result of each step is the scheduler's step from the blended latents before it
  const eps = records[3].modelOutput;
  const step3 = ref.step(eps, records[3].t, records[2].prevSample).prevSample;
  assertBitEqual(records[3].unblendedPrevSample!, step3, "step 3 before the blend");
});

Deno.test("inpaint: the final latents keep the original exactly where keep = 1", async () => {
  const records: StepRecord[] = [];
  const result = await run(records);
  const last = records[records.length - 1].prevSample;
  const keep = keepMask();
  for (let i = 0; i < 64; i++) {
    const m = keep.data[i];
    const o = result.imageLatents!.data[i];
    assert.equal(result.latents.data[i], f32(f32(o * m) + f32(last.data[i] * f32(1 - m))));
    if (m === 1) assert.equal(result.latents.data[i], o);
  }
  assertBitEqual(result.keepMask!, keep, "keepMask returned");
});

Deno.test("inpaint refuses a keep mask of another shape than the image latents", async () => {
  await assert.rejects(
    () => run([], Tensor.zeros([1, 4, 8, 8])),
    (e: unknown) =>
      e instanceof PipelineInputError && e.field === "keepMask" && /\[1, 4, 4, 4\]/.test(e.message),
  );
});

Deno.test("inpaint with Euler re-noises at the current step's sigma: no begin index, as the legacy pipeline", async () => {
  const records: StepRecord[] = [];
  const scheduler = new EulerDiscreteScheduler(SD);
  const result = await run(records, keepMask(), scheduler);
  assert.equal(scheduler.beginIndex, null);
  for (const r of [records[0], records[5]]) {
    const fresh = new EulerDiscreteScheduler(SD); // add_noise locating t by value
    fresh.setTimesteps(10);
    const proper = fresh.addNoise(result.imageLatents!, result.noise!, r.t);
    assert.equal(r.prevSample.data[0], proper.data[0], `step ${r.index}, kept element 0`);
  }
  const first = new EulerDiscreteScheduler(SD);
  first.setTimesteps(10);
  assertBitEqual(
    result.initLatents,
    first.addNoise(result.imageLatents!, result.noise!, result.timesteps[0]),
    "initial add_noise",
  );
});
