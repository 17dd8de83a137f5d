/**
 * The one error type of tensor file I/O: every malformed or unreadable `.npy` /
 * `.safetensors` file is reported as a {@link TensorFileError} naming the file, the field
 * and what was expected.
 *
 * @module
 */

/**
 * A tensor file (or an in-memory image of one) is unreadable, malformed or cannot be written.
 * The message reads `${file}: ${field}: problem (expected ...)`; `file` and `field` are
 * also kept as properties so callers can react without parsing the message.
 *
 * @example
 * ```ts
 * import { TensorFileError } from "./errors.ts";
 * const e = new TensorFileError("a.safetensors", "header length", "8 bytes needed, got 3");
 * console.log(e.message); // "a.safetensors: header length: 8 bytes needed, got 3"
 * console.log(e.file, e.field); // "a.safetensors" "header length"
 * ```
 */
export class TensorFileError extends Error {
  /** The path of the file, or a label such as `<bytes>` for in-memory data. */
  readonly file: string;
  /** The part of the file that is wrong (`header`, `shape`, `data_offsets`, a tensor name...). */
  readonly field?: string;

  /**
   * @param file the path (or label) of the file
   * @param field the part of the file at fault, or `undefined` when the whole file is
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
    this.name = "TensorFileError";
    this.file = file;
    this.field = field;
  }
}

/**
 * The label used in error messages for data that was parsed from memory, not read from a file.
 *
 * @example
 * ```ts
 * import { IN_MEMORY } from "./errors.ts";
 * console.log(IN_MEMORY); // "<bytes>"
 * ```
 */
export const IN_MEMORY = "<bytes>";
