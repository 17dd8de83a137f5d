/**
 * The one error type of file input: every unreadable, malformed or unwritable file (a `.npy`
 * or `.safetensors` tensor file, a model folder's JSON, an ONNX file onnxruntime cannot load, a
 * model component whose inputs/outputs do not fit) is reported as a {@link FileError} naming
 * the file, the field and what was expected.
 *
 * @module
 */

/**
 * A file (or folder, or an in-memory image of a file) is unreadable, malformed, does not fit or
 * cannot be written. The message reads `${file}: ${field}: problem (expected ...)`; `file` and
 * `field` are also kept as properties so callers can react without parsing the message.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { FileError } from "./errors.ts";
 * const e = new FileError("a.safetensors", "header length", "8 bytes needed, got 3");
 * assert.deepEqual(e.message, "a.safetensors: header length: 8 bytes needed, got 3");
 * assert.deepEqual([e.file, e.field], ["a.safetensors", "header length"]);
 * assert.deepEqual(new FileError("m", undefined, "not a folder").message, "m: not a folder");
 * ```
 */
export class FileError extends Error {
  /** The path of the file or folder, or a label such as `<bytes>` for in-memory data. */
  readonly file: string;
  /**
   * The part of the file that is wrong (`header`, `shape`, a JSON key, an input name...), or
   * `undefined` for the whole file.
   */
  readonly field?: string;

  /**
   * Makes the `${file}: ${field}: problem` message.
   *
   * @param file the path (or label) of the file or folder
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
    this.name = "FileError";
    this.file = file;
    this.field = field;
  }
}

/**
 * The label used in error messages for data that was parsed from memory, not read from a file.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { IN_MEMORY } from "./errors.ts";
 * assert.deepEqual(IN_MEMORY, "<bytes>");
 * ```
 */
export const IN_MEMORY: string = "<bytes>";

/**
 * The bytes of `path`, or a {@link FileError} naming it when it cannot be read (missing, a
 * folder, no permission), with the reason and the underlying error as `cause`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { FileError, readFileBytes } from "./errors.ts";
 * await assert.rejects(
 *   () => readFileBytes("no/such/file.npy"),
 *   (e) => e instanceof FileError && e.file === "no/such/file.npy" && /cannot read the file/.test(e.message),
 * );
 * ```
 */
export async function readFileBytes(path: string): Promise<Uint8Array> {
  try {
    return await Deno.readFile(path);
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    throw new FileError(path, undefined, `cannot read the file (${reason})`, { cause: err });
  }
}
