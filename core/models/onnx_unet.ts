/**
 * The UNet of an optimum ONNX export as a {@link UNetModel}: float32 or float16 IO, and the
 * timestep fed in the element type and shape the export declares; text-conditioned (Stable
 * Diffusion) or unconditional (a pixel-space `DDPMPipeline`, no `encoder_hidden_states`).
 *
 * @module
 */
import type * as ort from "onnxruntime-node";
import type { Tensor } from "../tensor/tensor.ts";
import { FileError } from "../tensor/errors.ts";
import { OnnxComponent } from "./onnx_component.ts";
import { OnnxSession } from "./onnx_session.ts";
import { fromOrtFloat, numbersToOrt, toOrtFloat } from "./ort_tensor.ts";
import type { SessionSettings } from "./session_options.ts";
import type { UNetModel } from "./types.ts";

/**
 * The shape of the timestep tensor for a declared `timestep` input, as optimum's
 * `ORTModelUnet.forward` and diffusers' `OnnxStableDiffusionPipeline` feed it: a 0-d input gets
 * a scalar; a rank-1 input with a symbolic extent gets `[1]` (diffusers' 0-d `t`, unsqueezed;
 * the exported graph broadcasts it over the batch); a fixed extent `n` gets `n` copies.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { timestepShape } from "./onnx_unet.ts";
 * assert.deepEqual([timestepShape([]), timestepShape(["steps"]), timestepShape([2])], [[], [1], [2]]);
 * ```
 */
export function timestepShape(declared: readonly (number | string)[]): number[] {
  if (declared.length === 0) return [];
  const d = declared[0];
  return [typeof d === "number" && d > 0 ? d : 1];
}

/**
 * An ONNX UNet (`sample`, `timestep`, `encoder_hidden_states` -> `out_sample`; an unconditional
 * one has no `encoder_hidden_states`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Tensor } from "../tensor/tensor.ts";
 * import { OnnxUNet } from "./onnx_unet.ts";
 * const unet = await OnnxUNet.load("fixtures/models-test/unet_int64.onnx");
 * const eps = await unet.predict(Tensor.zeros([1, 4, 2, 2]), 981, Tensor.zeros([1, 77, 8]));
 * assert.deepEqual([eps.shape, eps.data[0]], [[1, 4, 2, 2], 981]);
 * assert.ok(unet.lastRunMs !== undefined);
 * await unet.release();
 * const pixels = await OnnxUNet.load("fixtures/models-test/unet_unconditional.onnx");
 * assert.equal((await pixels.predict(Tensor.zeros([1, 3, 2, 2]), 7)).data[0], 7); // sample + t
 * await pixels.release();
 * ```
 */
export class OnnxUNet extends OnnxComponent implements UNetModel {
  /**
   * Wraps a session, checking its IO.
   *
   * @throws {FileError} when the session's inputs/outputs do not fit a UNet.
   */
  constructor(session: OnnxSession) {
    super("unet", session);
  }

  /**
   * Creates the session for `path` and wraps it (the session is released if the IO check
   * fails).
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { OnnxUNet } from "./onnx_unet.ts";
   * const unet = await OnnxUNet.load("fixtures/models-test/unet_fp16.onnx", { intraOpNumThreads: 1 });
   * assert.equal(unet.input("sample").type, "float16");
   * await unet.release();
   * ```
   */
  static async load(path: string, settings?: Partial<SessionSettings>): Promise<OnnxUNet> {
    const session = await OnnxSession.create(path, settings);
    try {
      return new OnnxUNet(session);
    } catch (err) {
      await session.release();
      throw err;
    }
  }

  /**
   * Whether the graph has an `encoder_hidden_states` input (a text-conditioned UNet), so
   * {@link predict} needs embeddings; `false` for an unconditional UNet.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { OnnxUNet } from "./onnx_unet.ts";
   * const unet = await OnnxUNet.load("fixtures/models-test/unet_unconditional.onnx");
   * assert.equal(unet.conditional, false);
   * await unet.release();
   * ```
   */
  get conditional(): boolean {
    return this.session.input("encoder_hidden_states") !== undefined;
  }

  /**
   * Runs the UNet once: `sample` [B,C,H,W] and `encoderHiddenStates` [B,L,D] converted to the
   * declared float type, `timestep` to the declared dtype (integers truncate, as numpy's cast)
   * and shape ({@link timestepShape}); returns `out_sample` as float32. `encoderHiddenStates`
   * is given exactly when the graph has that input ({@link conditional}).
   *
   * @throws {FileError} when a shape does not fit the declared one, embeddings are missing for
   * a conditional UNet or given to an unconditional one, or onnxruntime fails.
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { FileError } from "../tensor/errors.ts";
   * import { Tensor } from "../tensor/tensor.ts";
   * import { OnnxUNet } from "./onnx_unet.ts";
   * const unet = await OnnxUNet.load("fixtures/models-test/unet_unconditional.onnx");
   * const out = await unet.predict(new Tensor(new Float32Array(12).fill(0.5), [1, 3, 2, 2]), 3);
   * assert.deepEqual([...out.data], new Array(12).fill(3.5)); // sample + t
   * await assert.rejects(
   *   unet.predict(Tensor.zeros([1, 3, 2, 2]), 3, Tensor.zeros([1, 77, 8])),
   *   (e) => e instanceof FileError && e.field === "input 'encoder_hidden_states'",
   * );
   * await unet.release();
   * ```
   */
  async predict(sample: Tensor, timestep: number, encoderHiddenStates?: Tensor): Promise<Tensor> {
    const s = this.input("sample");
    const t = this.input("timestep");
    const h = this.session.input("encoder_hidden_states");
    const field = "input 'encoder_hidden_states'";
    if (h !== undefined && encoderHiddenStates === undefined) {
      throw new FileError(
        this.path,
        field,
        "no text embeddings were given, but this UNet is text-conditioned (it declares " +
          "encoder_hidden_states [batch, tokens, hidden]); pass the prompt embeddings",
      );
    }
    if (h === undefined && encoderHiddenStates !== undefined) {
      throw new FileError(
        this.path,
        field,
        "text embeddings were given, but this UNet has no such input (an unconditional " +
          "UNet: inputs [sample, timestep]); call it without embeddings",
      );
    }
    const shape = timestepShape(t.shape);
    const count = shape.length === 0 ? 1 : shape[0];
    const feeds: Record<string, ort.Tensor> = {
      sample: toOrtFloat(sample, s.type, `${this.path} input 'sample'`),
      timestep: numbersToOrt(
        new Array(count).fill(timestep),
        shape,
        t.type,
        `${this.path} input 'timestep'`,
      ),
    };
    if (h !== undefined) {
      feeds.encoder_hidden_states = toOrtFloat(
        encoderHiddenStates!,
        h.type,
        `${this.path} ${field}`,
      );
    }
    const out = await this.session.run(feeds);
    const value = out["out_sample"];
    if (value === undefined) {
      throw new FileError(this.path, "output 'out_sample'", "not returned by the run");
    }
    return fromOrtFloat(value, `${this.path} output 'out_sample'`);
  }
}
