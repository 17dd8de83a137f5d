/**
 * The part every ONNX-backed Stable Diffusion component shares: a session whose IO was checked
 * against the component's spec when it was wrapped, timing, and release.
 *
 * @module
 */
import { checkComponentIO, type ComponentName } from "./model_io.ts";
import type { OnnxSession, SessionRecord, ValueInfo } from "./onnx_session.ts";

/**
 * Base of `OnnxUNet`, `OnnxTextEncoder`, `OnnxVaeEncoder` and `OnnxVaeDecoder`. Wrapping a
 * session checks its declared inputs and outputs ({@link checkComponentIO}), so a wrong export
 * fails at load time, before the first step.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { OnnxSession } from "./onnx_session.ts";
 * import { OnnxComponent } from "./onnx_component.ts";
 * class Echo extends OnnxComponent {}
 * const e = new Echo("vae_decoder", await OnnxSession.create("fixtures/models-test/vae_decoder.onnx"));
 * assert.equal(e.input("latent_sample").type, "float32");
 * await e.release();
 * ```
 */
export abstract class OnnxComponent {
  /** Which component this is. */
  readonly component: ComponentName;
  /** The session (provider, settings, timing). */
  readonly session: OnnxSession;

  /**
   * Wraps a session as `component`, checking its inputs and outputs first.
   *
   * @param component which component the session runs
   * @param session the loaded ONNX session
   * @throws {FileError} when the session's IO does not fit `component`.
   */
  constructor(component: ComponentName, session: OnnxSession) {
    checkComponentIO(component, session.path, session.inputs, session.outputs);
    this.component = component;
    this.session = session;
  }

  /** The ONNX file. */
  get path(): string {
    return this.session.path;
  }

  /** Milliseconds of the last call (`undefined` before the first). */
  get lastRunMs(): number | undefined {
    return this.session.lastRunMs;
  }

  /**
   * The declared input `name` (present: the IO check guarantees the spec's inputs).
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { OnnxUNet } from "./onnx_unet.ts";
   * const u = await OnnxUNet.load("fixtures/models-test/unet_int32.onnx");
   * assert.equal(u.input("timestep").type, "int32");
   * await u.release();
   * ```
   */
  input(name: string): ValueInfo {
    const v = this.session.input(name);
    if (v === undefined) throw new Error(`${this.path}: no input '${name}'`);
    return v;
  }

  /**
   * A plain record for reports (see `OnnxSession.record`).
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { OnnxVaeDecoder } from "./onnx_vae.ts";
   * const d = await OnnxVaeDecoder.load("fixtures/models-test/vae_decoder.onnx");
   * assert.deepEqual([d.record().provider, d.record().runs], ["cpu", 0]);
   * await d.release();
   * ```
   */
  record(): SessionRecord {
    return this.session.record();
  }

  /**
   * Frees the native session.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { Tensor } from "../tensor/tensor.ts";
   * import { OnnxVaeDecoder } from "./onnx_vae.ts";
   * const d = await OnnxVaeDecoder.load("fixtures/models-test/vae_decoder.onnx");
   * assert.deepEqual((await d.decode(Tensor.zeros([1, 4, 1, 1]))).shape, [1, 3, 2, 2]);
   * await d.release();
   * await assert.rejects(() => d.decode(Tensor.zeros([1, 4, 1, 1]))); // released: no more runs
   * ```
   */
  async release(): Promise<void> {
    await this.session.release();
  }
}
