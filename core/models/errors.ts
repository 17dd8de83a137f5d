/**
 * The error type of model loading: a missing or malformed file in a model folder, an ONNX file
 * onnxruntime cannot load, or a component whose inputs/outputs do not fit the pipeline.
 *
 * @module
 */

/**
 * A model file (or folder) is missing, unreadable or does not fit. The message reads
 * `${file}: ${field}: problem (expected ...)`; `file` and `field` are kept as properties.
 *
 * @example
 * ```ts
 * import { ModelFileError } from "./errors.ts";
 * const e = new ModelFileError("m/unet/model.onnx", "input 'timestep'", "missing");
 * console.log(e.message); // m/unet/model.onnx: input 'timestep': missing
 * ```
 */
export class ModelFileError extends Error {
  /** The path of the file or folder at fault. */
  readonly file: string;
  /** The part at fault (a JSON key, an input name...), or `undefined` for the whole file. */
  readonly field?: string;

  /**
   * @param file the path of the file or folder
   * @param field the part at fault, or `undefined` when the whole file is
   * @param problem what is wrong, with what was expected
   * @param options `cause`: the underlying error, if any
   */
  constructor(
    file: string,
    field: string | undefined,
    problem: string,
    options?: { cause?: unknown },
  ) {
    super(field === undefined ? `${file}: ${problem}` : `${file}: ${field}: ${problem}`, options);
    this.name = "ModelFileError";
    this.file = file;
    this.field = field;
  }
}
