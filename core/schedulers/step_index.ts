/**
 * diffusers' step-index bookkeeping of the schedulers that keep one (`_step_index`,
 * `_begin_index`, `set_begin_index`, `index_for_timestep`, `_init_step_index`), as a free
 * function and a small class any scheduler can hold.
 *
 * @module
 */
import { f32 } from "../numerics/f32.ts";

/**
 * diffusers' `index_for_timestep` of the sigma schedulers: the position of `t` (compared as
 * float32) in `timesteps`, taking the second match when there are several (so that a run that
 * starts mid-schedule does not skip a sigma).
 *
 * @throws {RangeError} when `t` is not one of `timesteps`.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { indexForTimestep } from "./step_index.ts";
 * assert.equal(indexForTimestep([999, 500, 500, 0], 500, "demo"), 2);
 * ```
 */
export function indexForTimestep(timesteps: readonly number[], t: number, who: string): number {
  const key = f32(t);
  const indices: number[] = [];
  for (let i = 0; i < timesteps.length; i++) if (timesteps[i] === key) indices.push(i);
  if (indices.length === 0) {
    throw new RangeError(
      `${who}: timestep ${t} is not in the schedule (expected one of scheduler.timesteps; ` +
        `call setTimesteps first, or pass the timesteps it gives)`,
    );
  }
  return indices[indices.length > 1 ? 1 : 0];
}

/**
 * The step index of a scheduler (diffusers' `_step_index` and `_begin_index`): unset until the
 * first step, then found from that step's timestep ({@link indexForTimestep}) or taken from the
 * begin index, and advanced by one per step.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { StepIndex } from "./step_index.ts";
 * const steps = new StepIndex();
 * const timesteps = [999, 500, 0];
 * assert.equal(steps.init(timesteps, 500, "demo"), 1); // _init_step_index
 * steps.advance();
 * assert.equal(steps.init(timesteps, 0, "demo"), 2); // already set: the timestep is not looked up
 * steps.reset();
 * steps.setBeginIndex(0);
 * assert.equal(steps.init(timesteps, 500, "demo"), 0);
 * ```
 */
export class StepIndex {
  #stepIndex: number | null = null;
  #beginIndex: number | null = null;

  /** Index of the next step into `timesteps`; `null` before the first step. */
  get stepIndex(): number | null {
    return this.#stepIndex;
  }

  /** The first step's index when set by {@link StepIndex.setBeginIndex}, else `null`. */
  get beginIndex(): number | null {
    return this.#beginIndex;
  }

  /**
   * diffusers' `set_begin_index`: where the first step starts (pipelines that start
   * mid-schedule, e.g. img2img, call it).
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { StepIndex } from "./step_index.ts";
   * const steps = new StepIndex();
   * steps.setBeginIndex(3);
   * assert.equal(steps.beginIndex, 3);
   * ```
   */
  setBeginIndex(beginIndex = 0): void {
    this.#beginIndex = beginIndex;
  }

  /**
   * Forgets both indices, as `set_timesteps` does (`self._step_index = None`,
   * `self._begin_index = None`).
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { StepIndex } from "./step_index.ts";
   * const steps = new StepIndex();
   * steps.setBeginIndex(2);
   * steps.reset();
   * assert.equal(steps.beginIndex, null);
   * ```
   */
  reset(): void {
    this.#stepIndex = null;
    this.#beginIndex = null;
  }

  /**
   * diffusers' `_init_step_index`: the current step index, set on the first call from the begin
   * index or, without one, from the position of `timestep` in `timesteps` (found by `lookup`,
   * default {@link indexForTimestep}).
   *
   * @throws {RangeError} naming `who` when the index must be looked up and `timestep` is not
   * in `timesteps` (with the default `lookup`).
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { StepIndex } from "./step_index.ts";
   * assert.equal(new StepIndex().init([999, 500, 0], 0, "demo"), 2);
   * ```
   */
  init(
    timesteps: readonly number[],
    timestep: number,
    who: string,
    lookup: (timesteps: readonly number[], t: number, who: string) => number = indexForTimestep,
  ): number {
    if (this.#stepIndex === null) {
      this.#stepIndex = this.#beginIndex ?? lookup(timesteps, timestep, who);
    }
    return this.#stepIndex;
  }

  /**
   * Moves the step index past the step just taken (`self._step_index += 1`).
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { StepIndex } from "./step_index.ts";
   * const steps = new StepIndex();
   * steps.setBeginIndex(0);
   * steps.init([999, 0], 999, "demo");
   * steps.advance();
   * assert.equal(steps.stepIndex, 1);
   * ```
   */
  advance(): void {
    this.#stepIndex = (this.#stepIndex ?? 0) + 1;
  }
}
