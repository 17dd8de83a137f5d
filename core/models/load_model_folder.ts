/**
 * Loads a whole optimum pipeline folder (Stable Diffusion, or an unconditional `DDPMPipeline`
 * with only a UNet): one checked ONNX session per component, the scheduler config and the
 * tokenizer, and checks that the components fit each other (hidden size, latent channels, token
 * count) before anything runs.
 *
 * @module
 */
import { ClipTokenizer } from "./clip_tokenizer.ts";
import { FileError } from "../tensor/errors.ts";
import { type ModelFolder, readModelFolder } from "./model_folder.ts";
import type { ComponentName } from "./model_io.ts";
import { OnnxSession, type SessionRecord, type ValueInfo } from "./onnx_session.ts";
import { OnnxTextEncoder } from "./onnx_text_encoder.ts";
import { OnnxUNet } from "./onnx_unet.ts";
import { OnnxVaeDecoder, OnnxVaeEncoder } from "./onnx_vae.ts";
import type { SessionSettings } from "./session_options.ts";

/**
 * Options of {@link loadModelFolder}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { type LoadModelOptions, loadModelFolder } from "./load_model_folder.ts";
 * const o: LoadModelOptions = { session: { executionProvider: "cuda", fallback: true } };
 * const m = await loadModelFolder("fixtures/models/tiny-sd", o);
 * assert.equal(m.records().unet.requestedProvider, "cuda"); // ran on cuda, or on cpu with a reason
 * await m.release();
 * ```
 */
export interface LoadModelOptions {
  /** Session settings for every component (provider, threads, ...). */
  session?: Partial<SessionSettings>;
  /** Another UNet file instead of `unet/model.onnx` (e.g. an fp16 export). */
  unet?: string;
  /** Load the VAE encoder when the folder has one (default true). */
  vaeEncoder?: boolean;
}

/**
 * A loaded model folder.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { loadModelFolder } from "./load_model_folder.ts";
 * const m = await loadModelFolder("fixtures/models/tiny-sd");
 * assert.ok(m.tokenizer !== undefined && m.textEncoder !== undefined); // a Stable Diffusion folder
 * const ids = m.tokenizer.encode("a cat");
 * const emb = await m.textEncoder.encode([ids]);
 * assert.deepEqual([emb.shape[1], m.records().unet.provider], [77, "cpu"]);
 * assert.equal(m.unusable.vae_encoder, undefined); // its VAE encoder fits
 * await m.release();
 * ```
 */
export interface LoadedModel {
  /** The folder's layout. */
  readonly folder: ModelFolder;
  /** The UNet. */
  readonly unet: OnnxUNet;
  /** The text encoder (absent in an unconditional folder such as `DDPMPipeline`). */
  readonly textEncoder?: OnnxTextEncoder;
  /**
   * The VAE encoder, when the folder has a usable one and it was asked for (see
   * {@link LoadedModel.unusable} for one the folder has but the pipelines cannot use).
   */
  readonly vaeEncoder?: OnnxVaeEncoder;
  /**
   * Components the folder has but that were not loaded because their IO does not fit, each with
   * the reason (the file named first). Only an optional part may be unusable: a VAE encoder from
   * diffusers' own `convert_stable_diffusion_checkpoint_to_onnx.py` outputs `latent_sample`
   * (sampled inside the graph), which text2img never needs; img2img and inpaint then fail with
   * this reason.
   */
  readonly unusable: Readonly<Partial<Record<ComponentName, string>>>;
  /** The VAE decoder (absent in a pixel-space folder such as `DDPMPipeline`). */
  readonly vaeDecoder?: OnnxVaeDecoder;
  /** `scheduler/scheduler_config.json`, parsed (for `X.fromConfig`). */
  readonly schedulerConfig: Readonly<Record<string, unknown>>;
  /** The tokenizer (absent with the text encoder). */
  readonly tokenizer?: ClipTokenizer;
  /** Each loaded component's session record (provider, settings, timing). */
  records(): Partial<Record<ComponentName, SessionRecord>> & { unet: SessionRecord };
  /** Frees every session. */
  release(): Promise<void>;
}

/** A fixed extent of `v` at `axis`, or undefined when symbolic/unknown. */
function fixed(v: ValueInfo, axis: number): number | undefined {
  const d = v.shape[axis];
  return typeof d === "number" && d > 0 ? d : undefined;
}

function mustAgree(
  a: { file: string; what: string; value: number | undefined },
  b: { file: string; what: string; value: number | undefined },
  meaning: string,
): void {
  if (a.value === undefined || b.value === undefined || a.value === b.value) return;
  throw new FileError(
    b.file,
    b.what,
    `${b.value} does not match ${a.value} of ${a.file} ${a.what} (${meaning})`,
  );
}

/** The checks that need two components (each only when both are present). */
function checkFit(m: Omit<LoadedModel, "records" | "release">): void {
  const te = m.textEncoder;
  const ehs = m.unet.session.input("encoder_hidden_states");
  if (te !== undefined && ehs !== undefined) {
    const hiddenOut = te.session.outputs.find((o) => o.name === "last_hidden_state")!;
    mustAgree(
      { file: te.path, what: "output 'last_hidden_state' axis 2", value: fixed(hiddenOut, 2) },
      { file: m.unet.path, what: "input 'encoder_hidden_states' axis 2", value: fixed(ehs, 2) },
      "the text embedding size the UNet attends to",
    );
  }
  if (te !== undefined && m.tokenizer !== undefined) {
    mustAgree(
      {
        file: `${m.tokenizer.info.folder}`,
        what: "model_max_length",
        value: m.tokenizer.modelMaxLength,
      },
      { file: te.path, what: "input 'input_ids' axis 1", value: fixed(te.input("input_ids"), 1) },
      "the token row length",
    );
  }
  if (m.vaeDecoder === undefined) return;
  const latent = m.vaeDecoder.input("latent_sample");
  mustAgree(
    { file: m.unet.path, what: "input 'sample' axis 1", value: fixed(m.unet.input("sample"), 1) },
    { file: m.vaeDecoder.path, what: "input 'latent_sample' axis 1", value: fixed(latent, 1) },
    "the latent channels",
  );
  if (m.vaeEncoder !== undefined) {
    const params = m.vaeEncoder.session.outputs.find((o) => o.name === "latent_parameters")!;
    const c = fixed(latent, 1);
    mustAgree(
      {
        file: m.vaeDecoder.path,
        what: "input 'latent_sample' axis 1 (times 2)",
        value: c === undefined ? undefined : 2 * c,
      },
      {
        file: m.vaeEncoder.path,
        what: "output 'latent_parameters' axis 1",
        value: fixed(params, 1),
      },
      "mean and log-variance of the latent channels",
    );
  }
}

/**
 * Opens the VAE encoder, or returns why its IO does not fit (the session released): only
 * img2img and inpaint use it, so a folder with an unusable one still runs text2img.
 */
async function openVaeEncoder(
  path: string,
  settings: Partial<SessionSettings> | undefined,
): Promise<OnnxVaeEncoder | string> {
  const session = await OnnxSession.create(path, settings);
  try {
    return new OnnxVaeEncoder(session);
  } catch (err) {
    await session.release();
    if (err instanceof FileError) return err.message;
    throw err;
  }
}

/**
 * Reads the folder (readModelFolder), opens and checks every component's session (the IO
 * check of each, then how they fit together), and reads the tokenizer. A component the folder
 * lacks (an unconditional `DDPMPipeline` has no text encoder, tokenizer or VAE) is left
 * undefined. A VAE encoder whose IO does not fit (diffusers' legacy `latent_sample` export) is
 * left undefined too, with the reason in `unusable.vae_encoder`: only img2img and inpaint need
 * it. If anything else fails, the sessions opened so far are released and the error names
 * the file.
 *
 * @throws {FileError} for a missing/malformed file or a component that does not fit.
 * @throws {ProviderUnavailableError} when the asked provider cannot run and no fallback was
 * asked for.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { loadModelFolder } from "./load_model_folder.ts";
 * const m = await loadModelFolder("fixtures/models/tiny-sd", { session: { intraOpNumThreads: 1 } });
 * assert.equal(typeof m.schedulerConfig["_class_name"], "string");
 * assert.equal(m.records().unet.settings.intraOpNumThreads, 1);
 * assert.deepEqual(m.unusable, {}); // every component fits
 * await m.release();
 * ```
 */
export async function loadModelFolder(
  path: string | ModelFolder,
  options: LoadModelOptions = {},
): Promise<LoadedModel> {
  const folder = typeof path === "string"
    ? await readModelFolder(path, { unet: options.unet })
    : path;
  const tokenizer = folder.tokenizerDir === undefined
    ? undefined
    : await ClipTokenizer.fromFolder(folder.tokenizerDir);
  const opened: { release(): Promise<void> }[] = [];
  const open = async <T extends { release(): Promise<void> }>(p: Promise<T>): Promise<T> => {
    const c = await p;
    opened.push(c);
    return c;
  };
  try {
    const s = options.session;
    const tePath = folder.components.text_encoder;
    const textEncoder = tePath === undefined
      ? undefined
      : await open(OnnxTextEncoder.load(tePath, s));
    const unet = await open(OnnxUNet.load(folder.components.unet, s));
    const decPath = folder.components.vae_decoder;
    const vaeDecoder = decPath === undefined
      ? undefined
      : await open(OnnxVaeDecoder.load(decPath, s));
    const encPath = folder.components.vae_encoder;
    const unusable: Partial<Record<ComponentName, string>> = {};
    let vaeEncoder: OnnxVaeEncoder | undefined;
    if (encPath !== undefined && (options.vaeEncoder ?? true)) {
      const enc = await openVaeEncoder(encPath, s);
      if (typeof enc === "string") unusable.vae_encoder = enc;
      else vaeEncoder = await open(Promise.resolve(enc));
    }
    const parts = {
      folder,
      unet,
      unusable,
      schedulerConfig: folder.schedulerConfig,
      ...(textEncoder === undefined ? {} : { textEncoder }),
      ...(vaeDecoder === undefined ? {} : { vaeDecoder }),
      ...(tokenizer === undefined ? {} : { tokenizer }),
      ...(vaeEncoder === undefined ? {} : { vaeEncoder }),
    };
    checkFit(parts);
    return {
      ...parts,
      records() {
        const r: Partial<Record<ComponentName, SessionRecord>> & { unet: SessionRecord } = {
          unet: unet.record(),
        };
        if (textEncoder !== undefined) r.text_encoder = textEncoder.record();
        if (vaeDecoder !== undefined) r.vae_decoder = vaeDecoder.record();
        if (vaeEncoder !== undefined) r.vae_encoder = vaeEncoder.record();
        return r;
      },
      async release() {
        for (const c of opened) await c.release();
      },
    };
  } catch (err) {
    for (const c of opened) await c.release().catch(() => {});
    throw err;
  }
}
