/**
 * The VAE of an optimum ONNX export, as {@link VaeEncoderModel} (image -> latent parameters)
 * and {@link VaeDecoderModel} (latents -> image), float32 or float16 IO.
 *
 * @module
 */
import type { Tensor } from "../tensor/tensor.ts";
import { FileError } from "../tensor/errors.ts";
import { OnnxComponent } from "./onnx_component.ts";
import { OnnxSession } from "./onnx_session.ts";
import { fromOrtFloat, toOrtFloat } from "./ort_tensor.ts";
import type { SessionSettings } from "./session_options.ts";
import type { VaeDecoderModel, VaeEncoderModel } from "./types.ts";

/**
 * An ONNX VAE encoder (`sample` -> `latent_parameters`: mean and log-variance on channels, as
 * diffusers' `DiagonalGaussianDistribution` takes them).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Tensor } from "../tensor/tensor.ts";
 * import { OnnxVaeEncoder } from "./onnx_vae.ts";
 * const enc = await OnnxVaeEncoder.load("fixtures/models-test/vae_encoder.onnx");
 * assert.deepEqual((await enc.encode(Tensor.zeros([1, 3, 4, 4]))).shape, [1, 8, 2, 2]);
 * ```
 */
export class OnnxVaeEncoder extends OnnxComponent implements VaeEncoderModel {
  /**
   * Wraps a session, checking its IO.
   *
   * @throws {FileError} when the session's inputs/outputs do not fit a VAE encoder.
   */
  constructor(session: OnnxSession) {
    super("vae_encoder", session);
  }

  /**
   * Creates the session for `path` and wraps it (released again if the IO check fails).
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { OnnxVaeEncoder } from "./onnx_vae.ts";
   * const enc = await OnnxVaeEncoder.load("fixtures/models-test/vae_encoder.onnx");
   * assert.equal(enc.component, "vae_encoder");
   * await enc.release();
   * ```
   */
  static async load(path: string, settings?: Partial<SessionSettings>): Promise<OnnxVaeEncoder> {
    const session = await OnnxSession.create(path, settings);
    try {
      return new OnnxVaeEncoder(session);
    } catch (err) {
      await session.release();
      throw err;
    }
  }

  /** Encodes an image [B,3,H,W] in [-1,1]; returns `latent_parameters` [B,2C,h,w] as float32. */
  async encode(image: Tensor): Promise<Tensor> {
    const s = this.input("sample");
    const out = await this.session.run({
      sample: toOrtFloat(image, s.type, `${this.path} input 'sample'`),
    });
    const value = out["latent_parameters"];
    if (value === undefined) {
      throw new FileError(this.path, "output 'latent_parameters'", "not returned by the run");
    }
    return fromOrtFloat(value, `${this.path} output 'latent_parameters'`);
  }
}

/**
 * An ONNX VAE decoder (`latent_sample` -> `sample`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Tensor } from "../tensor/tensor.ts";
 * import { OnnxVaeDecoder } from "./onnx_vae.ts";
 * const dec = await OnnxVaeDecoder.load("fixtures/models-test/vae_decoder.onnx");
 * assert.deepEqual((await dec.decode(Tensor.zeros([1, 4, 2, 2]))).shape, [1, 3, 4, 4]);
 * ```
 */
export class OnnxVaeDecoder extends OnnxComponent implements VaeDecoderModel {
  /**
   * Wraps a session, checking its IO.
   *
   * @throws {FileError} when the session's inputs/outputs do not fit a VAE decoder.
   */
  constructor(session: OnnxSession) {
    super("vae_decoder", session);
  }

  /**
   * Creates the session for `path` and wraps it (released again if the IO check fails).
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { OnnxVaeDecoder } from "./onnx_vae.ts";
   * const dec = await OnnxVaeDecoder.load("fixtures/models-test/vae_decoder.onnx");
   * assert.equal(dec.component, "vae_decoder");
   * await dec.release();
   * ```
   */
  static async load(path: string, settings?: Partial<SessionSettings>): Promise<OnnxVaeDecoder> {
    const session = await OnnxSession.create(path, settings);
    try {
      return new OnnxVaeDecoder(session);
    } catch (err) {
      await session.release();
      throw err;
    }
  }

  /** Decodes latents [B,C,h,w] (already divided by the scaling factor) to an image, float32. */
  async decode(latents: Tensor): Promise<Tensor> {
    const s = this.input("latent_sample");
    const out = await this.session.run({
      latent_sample: toOrtFloat(latents, s.type, `${this.path} input 'latent_sample'`),
    });
    const value = out["sample"];
    if (value === undefined) {
      throw new FileError(this.path, "output 'sample'", "not returned by the run");
    }
    return fromOrtFloat(value, `${this.path} output 'sample'`);
  }
}
