/**
 * One onnxruntime-node inference session over one ONNX file: created on the asked execution
 * provider (or on CPU after a recorded fallback), with its input/output metadata, the settings
 * it ran with, the time of every run, and optionally where each node really ran.
 *
 * @module
 */
import * as ort from "onnxruntime-node";
import { join } from "node:path";
import { FileError } from "../tensor/errors.ts";
import type { OrtTensor } from "./ort_tensor.ts";
import {
  type ExecutionProviderName,
  explainProviderFailure,
  providerAvailability,
  ProviderUnavailableError,
} from "./execution_provider.ts";
import {
  resolveSessionSettings,
  type SessionSettings,
  toOrtSessionOptions,
} from "./session_options.ts";

/**
 * A graph input or output as the model declares it: onnxruntime's element type name
 * (`float32`, `float16`, `int64`, ...; `non-tensor` for sequences and maps) and the shape, with
 * symbolic extents as strings (`"batch"`) and unknown ones as `-1`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { OnnxSession, type ValueInfo } from "./onnx_session.ts";
 * const s = await OnnxSession.create("fixtures/models-test/vae_decoder.onnx");
 * const v: ValueInfo | undefined = s.input("latent_sample");
 * assert.equal(v?.type, "float32");
 * assert.equal(v?.shape.length, 4);
 * await s.release();
 * ```
 */
export interface ValueInfo {
  /** The graph name of the value. */
  readonly name: string;
  /** onnxruntime's element type name, or `non-tensor`. */
  readonly type: string;
  /** Extents: a number when fixed, a string when symbolic. */
  readonly shape: readonly (number | string)[];
}

/**
 * A plain record of a session, for reports: file, providers, fallback reason, settings,
 * placement and timing.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { OnnxSession, type SessionRecord } from "./onnx_session.ts";
 * const s = await OnnxSession.create("fixtures/models-test/vae_decoder.onnx");
 * const r: SessionRecord = s.record();
 * assert.deepEqual([r.file, r.provider, r.runs], ["fixtures/models-test/vae_decoder.onnx", "cpu", 0]);
 * await s.release();
 * ```
 */
export interface SessionRecord {
  /** The ONNX file. */
  file: string;
  /** The provider that was asked for. */
  requestedProvider: ExecutionProviderName;
  /** The provider the session was created on. */
  provider: ExecutionProviderName;
  /** Why it is not the requested one, after a fallback. */
  fallbackReason?: string;
  /** The settings the session was created with. */
  settings: SessionSettings;
  /** Nodes per onnxruntime provider name in the first profiled run, when checked. */
  placement?: Record<string, number>;
  /** onnxruntime-node's version. */
  onnxruntimeVersion: string;
  /** Number of runs so far. */
  runs: number;
  /** Milliseconds of the last run (absent before the first). */
  lastRunMs?: number;
  /** Milliseconds of all runs together. */
  totalRunMs: number;
  /** Milliseconds spent creating the session (loading the model). */
  loadMs: number;
}

function valueInfos(meta: readonly ort.InferenceSession.ValueMetadata[]): ValueInfo[] {
  return meta.map((m) =>
    m.isTensor
      ? { name: m.name, type: m.type, shape: Object.freeze([...m.shape]) }
      : { name: m.name, type: "non-tensor", shape: Object.freeze([]) }
  );
}

/**
 * An onnxruntime session with the provenance a report needs.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as ort from "onnxruntime-node";
 * import { OnnxSession } from "./onnx_session.ts";
 * const s = await OnnxSession.create("fixtures/models-test/vae_decoder.onnx");
 * const out = await s.run({
 *   latent_sample: new ort.Tensor("float32", new Float32Array(4), [1, 4, 1, 1]),
 * });
 * assert.deepEqual([s.provider, out.sample.dims], ["cpu", [1, 3, 2, 2]]);
 * assert.ok(s.lastRunMs !== undefined);
 * await s.release();
 * ```
 */
export class OnnxSession {
  /** The ONNX file. */
  readonly path: string;
  /** The provider that was asked for. */
  readonly requestedProvider: ExecutionProviderName;
  /** The provider the session really runs on (differs from the asked one after a fallback). */
  readonly provider: ExecutionProviderName;
  /** Why `provider` is not `requestedProvider`, after a fallback. */
  readonly fallbackReason?: string;
  /** The resolved settings the session was created with. */
  readonly settings: Readonly<SessionSettings>;
  /** The graph inputs, as declared. */
  readonly inputs: readonly ValueInfo[];
  /** The graph outputs, as declared. */
  readonly outputs: readonly ValueInfo[];
  /** Milliseconds spent creating the session (loading and optimising the model). */
  readonly loadMs: number;
  /** Milliseconds of the last `run`, `undefined` before the first. */
  lastRunMs?: number;
  /** Sum of all runs' milliseconds. */
  totalRunMs = 0;
  /** Number of runs. */
  runs = 0;
  /**
   * Nodes of the optimised graph per onnxruntime provider name (e.g.
   * `{ CPUExecutionProvider: 12 }`), read from the profile of the first run when
   * `settings.checkPlacement` is set; `undefined` otherwise. A GPU session whose nodes partly
   * fell back to CPU shows both providers here.
   */
  placement?: Record<string, number>;
  /**
   * The same nodes per onnxruntime provider name and then per operator type (e.g.
   * `{ WebGpuExecutionProvider: { Conv: 27, ... }, CPUExecutionProvider: { Gather: 29, ... } }`),
   * so that a check can tell shape arithmetic kept on CPU from compute that fell back to it;
   * filled with `placement`.
   */
  placementOps?: Record<string, Record<string, number>>;
  /** Called after every run with its milliseconds (for harness timing). */
  onRun?: (ms: number) => void;

  #session: ort.InferenceSession;
  #profileDir?: string;

  private constructor(
    path: string,
    session: ort.InferenceSession,
    settings: SessionSettings,
    provider: ExecutionProviderName,
    fallbackReason: string | undefined,
    loadMs: number,
    profileDir: string | undefined,
  ) {
    this.path = path;
    this.#session = session;
    this.settings = Object.freeze({ ...settings });
    this.requestedProvider = settings.executionProvider;
    this.provider = provider;
    if (fallbackReason !== undefined) this.fallbackReason = fallbackReason;
    this.inputs = Object.freeze(valueInfos(session.inputMetadata));
    this.outputs = Object.freeze(valueInfos(session.outputMetadata));
    this.loadMs = loadMs;
    this.#profileDir = profileDir;
  }

  /**
   * Creates a session for the ONNX file at `path`.
   *
   * The asked provider is checked first ({@link providerAvailability}); if it certainly cannot
   * run, or onnxruntime fails to start it, the result is a {@link ProviderUnavailableError}
   * naming the provider and what is missing, unless `fallback` is set: then the session runs on
   * CPU and `fallbackReason` says why.
   *
   * @throws {FileError} when the file is missing or onnxruntime cannot load it.
   * @throws {ProviderUnavailableError} when the provider cannot run and `fallback` is false.
   * @throws {SessionSettingsError} for invalid settings.
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { OnnxSession } from "./onnx_session.ts";
   * const s = await OnnxSession.create("fixtures/models-test/unet_int64.onnx", {
   *   executionProvider: "cuda",
   *   fallback: true,
   * });
   * // On a machine without CUDA: the CPU, with the reason recorded.
   * assert.ok(s.provider === "cuda" || (s.provider === "cpu" && s.fallbackReason !== undefined));
   * await s.release();
   * ```
   */
  static async create(path: string, settings?: Partial<SessionSettings>): Promise<OnnxSession> {
    const resolved = resolveSessionSettings(settings);
    try {
      const info = await Deno.stat(path);
      if (!info.isFile) {
        throw new FileError(path, undefined, "is not a file (expected an ONNX model file)");
      }
    } catch (err) {
      if (err instanceof FileError) throw err;
      throw new FileError(path, undefined, "file not found (expected an ONNX model file)", {
        cause: err,
      });
    }
    const asked = resolved.executionProvider;
    let failure: ProviderUnavailableError | undefined;
    const availability = providerAvailability(asked);
    if (!availability.usable) {
      failure = new ProviderUnavailableError(asked, availability.reason ?? "not usable");
    } else {
      try {
        return await OnnxSession.#open(path, resolved, asked, undefined);
      } catch (err) {
        if (err instanceof FileError || asked === "cpu") throw err;
        const message = err instanceof Error ? err.message : String(err);
        failure = new ProviderUnavailableError(asked, explainProviderFailure(asked, message), {
          cause: err,
        });
      }
    }
    if (!resolved.fallback) throw failure;
    return await OnnxSession.#open(path, resolved, "cpu", failure.reason);
  }

  static async #open(
    path: string,
    settings: SessionSettings,
    provider: ExecutionProviderName,
    fallbackReason: string | undefined,
  ): Promise<OnnxSession> {
    const profileDir = settings.checkPlacement ? await Deno.makeTempDir() : undefined;
    const options = toOrtSessionOptions(
      settings,
      provider,
      profileDir === undefined ? undefined : join(profileDir, "profile"),
    );
    const start = performance.now();
    let session: ort.InferenceSession;
    try {
      session = await ort.InferenceSession.create(path, options);
    } catch (err) {
      if (profileDir !== undefined) await Deno.remove(profileDir, { recursive: true });
      const message = err instanceof Error ? err.message : String(err);
      if (provider !== "cpu" && !/Load model from .* failed/.test(message)) throw err;
      throw new FileError(
        path,
        undefined,
        `onnxruntime cannot load it (${message.trim()}); expected an ONNX model file`,
        { cause: err },
      );
    }
    const loadMs = performance.now() - start;
    return new OnnxSession(path, session, settings, provider, fallbackReason, loadMs, profileDir);
  }

  /**
   * Runs the model on `feeds` (one onnxruntime tensor per graph input) and returns every
   * output. Records `lastRunMs`, `totalRunMs`, `runs`, calls `onRun`, and after the first run
   * of a `checkPlacement` session fills `placement`.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import * as ort from "onnxruntime-node";
   * import { OnnxSession } from "./onnx_session.ts";
   * const s = await OnnxSession.create("fixtures/models-test/vae_decoder.onnx");
   * const times: number[] = [];
   * s.onRun = (ms) => times.push(ms);
   * await s.run({ latent_sample: new ort.Tensor("float32", new Float32Array(4), [1, 4, 1, 1]) });
   * assert.equal(times.length, 1);
   * await s.release();
   * ```
   */
  async run(feeds: Record<string, OrtTensor>): Promise<Record<string, OrtTensor>> {
    this.#checkFeeds(feeds);
    const start = performance.now();
    let result: ort.InferenceSession.OnnxValueMapType;
    try {
      result = await this.#session.run(feeds as Record<string, ort.Tensor>);
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      throw new FileError(this.path, "run", `onnxruntime failed: ${message.trim()}`, {
        cause: err,
      });
    }
    const ms = performance.now() - start;
    this.lastRunMs = ms;
    this.totalRunMs += ms;
    this.runs += 1;
    if (this.#profileDir !== undefined) await this.#readPlacement();
    this.onRun?.(ms);
    return result as Record<string, OrtTensor>;
  }

  /** Checks each feed against the declared input: present, same element type, rank, extents. */
  #checkFeeds(feeds: Record<string, OrtTensor>): void {
    for (const name of Object.keys(feeds)) {
      if (this.input(name) === undefined) {
        throw new FileError(
          this.path,
          `input '${name}'`,
          `fed but not declared; the model has inputs [${
            this.inputs.map((v) => v.name).join(", ")
          }]`,
        );
      }
    }
    for (const v of this.inputs) {
      const feed = feeds[v.name];
      const declared = `${v.type} [${v.shape.join(", ")}]`;
      if (feed === undefined) {
        throw new FileError(this.path, `input '${v.name}'`, `not fed (expected ${declared})`);
      }
      const fits = feed.type === v.type && feed.dims.length === v.shape.length &&
        v.shape.every((d, i) => typeof d !== "number" || d < 0 || d === feed.dims[i]);
      if (!fits) {
        throw new FileError(
          this.path,
          `input '${v.name}'`,
          `got ${feed.type} [${feed.dims.join(", ")}]; the model declares ${declared}`,
        );
      }
    }
  }

  /** Ends profiling, counts nodes per provider in the profile, removes the profile folder. */
  async #readPlacement(): Promise<void> {
    const dir = this.#profileDir!;
    this.#profileDir = undefined;
    try {
      await this.#session.endProfiling();
      const counts: Record<string, number> = {};
      const ops: Record<string, Record<string, number>> = {};
      for await (const entry of Deno.readDir(dir)) {
        if (!entry.isFile || !entry.name.endsWith(".json")) continue;
        const events = JSON.parse(await Deno.readTextFile(join(dir, entry.name)));
        const seen = new Set<string>();
        for (const e of Array.isArray(events) ? events : []) {
          const provider = e?.args?.provider;
          if (e?.cat !== "Node" || typeof provider !== "string" || seen.has(e.name)) continue;
          seen.add(e.name);
          counts[provider] = (counts[provider] ?? 0) + 1;
          const op = typeof e.args.op_name === "string" ? e.args.op_name : "(unknown)";
          const perOp = ops[provider] ??= {};
          perOp[op] = (perOp[op] ?? 0) + 1;
        }
      }
      this.placement = counts;
      this.placementOps = ops;
    } finally {
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  }

  /**
   * The declared input called `name`, or `undefined`.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { OnnxSession } from "./onnx_session.ts";
   * const s = await OnnxSession.create("fixtures/models-test/unet_int32.onnx");
   * assert.equal(s.input("timestep")?.type, "int32");
   * assert.equal(s.input("no_such_input"), undefined);
   * await s.release();
   * ```
   */
  input(name: string): ValueInfo | undefined {
    return this.inputs.find((v) => v.name === name);
  }

  /**
   * A plain record of this session for reports.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { DEFAULT_SESSION_SETTINGS } from "./session_options.ts";
   * import { OnnxSession } from "./onnx_session.ts";
   * const s = await OnnxSession.create("fixtures/models-test/unet_int64.onnx");
   * assert.deepEqual(s.record().settings, DEFAULT_SESSION_SETTINGS);
   * await s.release();
   * ```
   */
  record(): SessionRecord {
    const r: SessionRecord = {
      file: this.path,
      requestedProvider: this.requestedProvider,
      provider: this.provider,
      settings: { ...this.settings },
      onnxruntimeVersion: ort.env.versions.node ?? "unknown",
      runs: this.runs,
      totalRunMs: this.totalRunMs,
      loadMs: this.loadMs,
    };
    if (this.fallbackReason !== undefined) r.fallbackReason = this.fallbackReason;
    if (this.placement !== undefined) r.placement = { ...this.placement };
    if (this.lastRunMs !== undefined) r.lastRunMs = this.lastRunMs;
    return r;
  }

  /**
   * Frees the native session (and any unread profile).
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import * as ort from "onnxruntime-node";
   * import { OnnxSession } from "./onnx_session.ts";
   * const s = await OnnxSession.create("fixtures/models-test/vae_decoder.onnx");
   * const feeds = () => ({
   *   latent_sample: new ort.Tensor("float32", new Float32Array(4), [1, 4, 1, 1]),
   * });
   * await s.run(feeds());
   * await s.release();
   * await assert.rejects(() => s.run(feeds())); // released: no more runs
   * ```
   */
  async release(): Promise<void> {
    await this.#session.release();
    if (this.#profileDir !== undefined) {
      await Deno.remove(this.#profileDir, { recursive: true }).catch(() => {});
      this.#profileDir = undefined;
    }
  }
}
