/**
 * The CLIP text encoder of an optimum ONNX export as a {@link TextEncoderModel}: token ids fed
 * as the declared int32 or int64, `last_hidden_state` returned as float32.
 *
 * @module
 */
import type { Tensor } from "../tensor/tensor.ts";
import { FileError } from "../tensor/errors.ts";
import { OnnxComponent } from "./onnx_component.ts";
import { OnnxSession } from "./onnx_session.ts";
import { fromOrtFloat, numbersToOrt } from "./ort_tensor.ts";
import type { SessionSettings } from "./session_options.ts";
import type { TextEncoderModel } from "./types.ts";

/**
 * An ONNX CLIP text encoder (`input_ids` -> `last_hidden_state`, ...).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { OnnxTextEncoder } from "./onnx_text_encoder.ts";
 * const te = await OnnxTextEncoder.load("fixtures/models-test/text_encoder_int32.onnx");
 * const h = await te.encode([[49406, 320, 49407]]);
 * assert.deepEqual(h.shape, [1, 3, 8]);
 * ```
 */
export class OnnxTextEncoder extends OnnxComponent implements TextEncoderModel {
  /**
   * Wraps a session, checking its IO.
   *
   * @throws {FileError} when the session's inputs/outputs do not fit a text encoder.
   */
  constructor(session: OnnxSession) {
    super("text_encoder", session);
  }

  /**
   * Creates the session for `path` and wraps it (released again if the IO check fails).
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { OnnxTextEncoder } from "./onnx_text_encoder.ts";
   * const te = await OnnxTextEncoder.load("fixtures/models-test/text_encoder_int64.onnx");
   * assert.equal(te.input("input_ids").type, "int64");
   * await te.release();
   * ```
   */
  static async load(path: string, settings?: Partial<SessionSettings>): Promise<OnnxTextEncoder> {
    const session = await OnnxSession.create(path, settings);
    try {
      return new OnnxTextEncoder(session);
    } catch (err) {
      await session.release();
      throw err;
    }
  }

  /**
   * Encodes a batch of equally long id rows; returns `last_hidden_state` [B,L,D] as float32.
   *
   * @throws {FileError} for ragged rows, ids that are not whole numbers, a length the
   * model does not declare, or an onnxruntime failure.
   */
  async encode(inputIds: number[][]): Promise<Tensor> {
    const what = `${this.path} input 'input_ids'`;
    const length = inputIds[0]?.length ?? 0;
    if (inputIds.length === 0 || inputIds.some((row) => row.length !== length)) {
      throw new FileError(
        this.path,
        "input 'input_ids'",
        `got ${inputIds.length} rows of lengths [${inputIds.map((r) => r.length).join(", ")}] ` +
          "(expected one or more rows of equal length)",
      );
    }
    const flat = inputIds.flat();
    if (flat.some((id) => !Number.isInteger(id) || id < 0)) {
      throw new FileError(this.path, "input 'input_ids'", "expected whole token ids >= 0");
    }
    const ids = numbersToOrt(flat, [inputIds.length, length], this.input("input_ids").type, what);
    const out = await this.session.run({ input_ids: ids });
    const value = out["last_hidden_state"];
    if (value === undefined) {
      throw new FileError(this.path, "output 'last_hidden_state'", "not returned by the run");
    }
    return fromOrtFloat(value, `${this.path} output 'last_hidden_state'`);
  }
}
