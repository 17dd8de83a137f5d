/**
 * The float16 step references of fixtures/gen/dump_half_ops.py (diffusers 0.42.1's DDIM, eta 0,
 * and PNDM, PLMS, on float16 tensors over tiny-sd's scheduler config, 10 steps) and their replay.
 *
 * @module
 */
import assert from "node:assert/strict";
import { type Float32Math, ieeeMath, mathTableFromTensors } from "../../core/numerics/f32_math.ts";
import type { Scheduler } from "../../core/schedulers/types.ts";
import { readSafetensors, type SafetensorsFile } from "../../core/tensor/safetensors.ts";
import type { Tensor } from "../../core/tensor/tensor.ts";
import { bitMismatches } from "../tensor/_bits.ts";

/** The reference file. */
export const HALF_STEPS = "fixtures/refs/half/steps.safetensors";

/** The reference file, its scheduler config and the float32 math it recorded. */
export async function loadHalfSteps(): Promise<
  { f: SafetensorsFile; config: Record<string, unknown>; math: Float32Math }
> {
  const f = await readSafetensors(HALF_STEPS);
  const math = mathTableFromTensors((n) => (f.has(n) ? f.tensor(n).data : undefined), HALF_STEPS);
  return { f, config: JSON.parse(f.metadata["config"]), math: math ?? ieeeMath };
}

/**
 * Replays every step of `name` ("ddim" or "pndm"): the reference's sample and model output in,
 * our prev_sample out; the number of elements whose bits differ, per step.
 */
export function replayHalfSteps(
  f: SafetensorsFile,
  name: string,
  s: Scheduler,
  precision: "float16" | "float32",
): number[] {
  s.setTimesteps(10);
  assert.deepEqual(s.timesteps, f.ints(`${name}.timesteps`));
  let sample: Tensor = f.tensor(`${name}.sample`);
  return s.timesteps.map((t, i) => {
    const out = s.step(f.tensor(`${name}.model_output.${i}`), t, sample, { precision });
    const want = f.tensor(`${name}.prev_sample.${i}`);
    sample = want;
    return bitMismatches(out.prevSample.data, want.data)[0];
  });
}
