import assert from "node:assert/strict";
import {
  leadingTimesteps,
  linspaceTimesteps,
  spacedTimesteps,
  trailingTimesteps,
} from "../../core/schedulers/timesteps.ts";
import { timestepsTable } from "./replay_util.ts";
import { sigmaSchedulerTimesteps } from "../../core/schedulers/timesteps.ts";

const table = await timestepsTable("DDIMScheduler");

Deno.test("spacing helpers reproduce diffusers' set_timesteps table", () => {
  assert.ok(table.length > 100);
  for (const e of table) {
    const N = e.num_train_timesteps;
    const n = e.num_inference_steps;
    const ours = e.timestep_spacing === "leading"
      ? leadingTimesteps(N, n, e.steps_offset)
      : e.timestep_spacing === "trailing"
      ? trailingTimesteps(N, n)
      : linspaceTimesteps(N, n);
    const label = `${e.timestep_spacing} N=${N} n=${n} off=${e.steps_offset}`;
    assert.deepEqual(ours, e.timesteps, label);
    assert.deepEqual(spacedTimesteps(N, n, e.timestep_spacing, e.steps_offset), e.timesteps, label);
  }
  // trailing and linspace ignore steps_offset, as diffusers does
  assert.deepEqual(spacedTimesteps(1000, 3, "trailing", 1), [999, 666, 332]);
  assert.deepEqual(spacedTimesteps(1000, 3, "linspace", 1), [999, 500, 0]);
  assert.throws(() => leadingTimesteps(1000, 1001), /cannot be larger than/);
  assert.throws(() => trailingTimesteps(1000, 0), /positive integer/);
  assert.throws(() => linspaceTimesteps(1000, 2.5), /positive integer/);
  assert.throws(() => spacedTimesteps(10, 11, "leading", 0), /cannot be larger than/);
});

Deno.test("sigmaSchedulerTimesteps: linspace, leading and trailing spacing as float32", () => {
  assert.deepEqual(sigmaSchedulerTimesteps(1000, 4, "linspace", 0), [999, 666, 333, 0]);
  assert.deepEqual(sigmaSchedulerTimesteps(1000, 3, "linspace", 0), [999, 499.5, 0]);
  assert.deepEqual(sigmaSchedulerTimesteps(1000, 4, "leading", 1), [751, 501, 251, 1]);
  assert.deepEqual(sigmaSchedulerTimesteps(1000, 3, "trailing", 0), [999, 666, 332]);
  assert.throws(() => sigmaSchedulerTimesteps(1000, 0, "leading", 0), /positive integer/);
});
