/**
 * Loaded model folders shared across the cases of one verify run: most cases use the same
 * folder with the same session settings, and opening its four ONNX sessions costs far more
 * than a tiny model's whole denoising loop.
 *
 * @module
 */
import {
  type LoadedModel,
  loadModelFolder,
  type LoadModelOptions,
} from "../models/load_model_folder.ts";
import type { ModelFolder } from "../models/model_folder.ts";

/**
 * A cache of `loadModelFolder` results keyed by folder and options; `releaseAll` frees them.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ModelPool } from "./model_pool.ts";
 * const pool = new ModelPool();
 * const a = await pool.get("fixtures/models/tiny-sd", {});
 * const b = await pool.get("fixtures/models/tiny-sd", {});
 * assert.equal(a, b); // loaded once
 * await pool.releaseAll();
 * ```
 */
export class ModelPool {
  #loaded = new Map<string, Promise<LoadedModel>>();

  /** The folder loaded with `options`, loading it on first use. A failed load is not kept. */
  get(path: string | ModelFolder, options: LoadModelOptions): Promise<LoadedModel> {
    const key = JSON.stringify([
      typeof path === "string" ? path : path.root,
      options.unet ?? null,
      options.vaeEncoder ?? true,
      options.session ?? {},
    ]);
    let model = this.#loaded.get(key);
    if (!model) {
      model = loadModelFolder(path, options);
      this.#loaded.set(key, model);
      model.catch(() => this.#loaded.delete(key));
    }
    return model;
  }

  /** Frees every session loaded so far and empties the pool. */
  async releaseAll(): Promise<void> {
    const all = [...this.#loaded.values()];
    this.#loaded.clear();
    for (const m of all) await (await m.catch(() => null))?.release().catch(() => {});
  }
}
