/**
 * The errors of the denoising pipelines: bad inputs (`PipelineInputError`) and non-finite
 * values met during a loop (`NonFiniteError`). Unreadable or unwritable PNG files are
 * `FileError`s (core/tensor/errors.ts), as every other file problem.
 *
 * @module
 */

/**
 * An argument of a pipeline function is missing or malformed. The message reads
 * `${where}: ${field}: ${problem}`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { PipelineInputError } from "./errors.ts";
 * const e = new PipelineInputError("img2img", "strength", "expected a number in (0, 1], got 2");
 * assert.equal(e.message, "img2img: strength: expected a number in (0, 1], got 2");
 * assert.deepEqual([e.name, e.where, e.field], ["PipelineInputError", "img2img", "strength"]);
 * ```
 */
export class PipelineInputError extends Error {
  /** The function (or file) that rejected the input. */
  readonly where: string;
  /** The offending argument or field. */
  readonly field: string;

  /**
   * Builds the error; its message is `${where}: ${field}: ${problem}`.
   *
   * @param where the function or file that rejected the input
   * @param field the offending argument
   * @param problem what is wrong, with what was expected
   */
  constructor(where: string, field: string, problem: string) {
    super(`${where}: ${field}: ${problem}`);
    this.name = "PipelineInputError";
    this.where = where;
    this.field = field;
  }
}

/**
 * A NaN or infinity appeared in a tensor during a denoising loop; the loop stops at once.
 * `stepIndex` is the model-call index (`-1` before the first step, e.g. for the initial
 * latents, and `stepCount` after the last one, e.g. for the decoded image).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { NonFiniteError } from "./errors.ts";
 * const e = new NonFiniteError({
 *   stepIndex: 3, timestep: 781, tensor: "modelOutput", elementIndex: 17, value: NaN,
 * });
 * assert.equal(
 *   e.message,
 *   "non-finite value in modelOutput at step 3 (timestep 781): element 17 is NaN",
 * );
 * const before = new NonFiniteError({ stepIndex: -1, tensor: "latents", elementIndex: 0, value: Infinity });
 * assert.equal(before.message, "non-finite value in latents at step -1: element 0 is Infinity");
 * ```
 */
export class NonFiniteError extends Error {
  /** The model-call index of the step (-1 before the loop). */
  readonly stepIndex: number;
  /** The timestep of that step, or `undefined` outside the loop. */
  readonly timestep: number | undefined;
  /** Which tensor held the value: `modelInput`, `modelOutput`, `prevSample`, ... */
  readonly tensor: string;
  /** The flat (row-major) index of the first non-finite element. */
  readonly elementIndex: number;
  /** That element: NaN, Infinity or -Infinity. */
  readonly value: number;

  /**
   * Builds the error and its message from where the value was found.
   *
   * @param info where the value was found: step index, timestep, tensor name, element and value
   */
  constructor(info: {
    stepIndex: number;
    timestep?: number;
    tensor: string;
    elementIndex: number;
    value: number;
  }) {
    const at = info.timestep === undefined
      ? `step ${info.stepIndex}`
      : `step ${info.stepIndex} (timestep ${info.timestep})`;
    super(
      `non-finite value in ${info.tensor} at ${at}: element ${info.elementIndex} is ${info.value}`,
    );
    this.name = "NonFiniteError";
    this.stepIndex = info.stepIndex;
    this.timestep = info.timestep;
    this.tensor = info.tensor;
    this.elementIndex = info.elementIndex;
    this.value = info.value;
  }
}
