/**
 * Session settings: the execution provider and the onnxruntime options that shape results and
 * timing, with deterministic defaults, validation and a plain record for reports.
 *
 * @module
 */
import type * as ort from "onnxruntime-node";
import { EXECUTION_PROVIDERS, type ExecutionProviderName } from "./execution_provider.ts";

/**
 * Everything that decides how an ONNX session runs. Defaults ({@link DEFAULT_SESSION_SETTINGS})
 * favour reproducibility: one intra-op and one inter-op thread, sequential execution, and
 * onnxruntime's default graph optimisation level (`all`, which Python onnxruntime uses too, so
 * references made there with one thread run the same kernels).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { resolveSessionSettings, type SessionSettings } from "./session_options.ts";
 * const s: Partial<SessionSettings> = { executionProvider: "cuda", fallback: true };
 * assert.equal(resolveSessionSettings(s).executionProvider, "cuda");
 * ```
 */
export interface SessionSettings {
  /** The provider to run on. */
  executionProvider: ExecutionProviderName;
  /** When the provider cannot run: true runs on CPU and records why; false fails. */
  fallback: boolean;
  /** Threads inside one operator (onnxruntime `intraOpNumThreads`; 0 lets it choose). */
  intraOpNumThreads: number;
  /** Threads across operators in `parallel` mode (onnxruntime `interOpNumThreads`). */
  interOpNumThreads: number;
  /** onnxruntime graph optimisation level. */
  graphOptimizationLevel: "disabled" | "basic" | "extended" | "all";
  /** Operator scheduling. */
  executionMode: "sequential" | "parallel";
  /** onnxruntime's log threshold for this session: 0 verbose ... 3 error, 4 fatal. */
  logSeverityLevel: 0 | 1 | 2 | 3 | 4;
  /**
   * Profile the first run and record on which provider each node ran (`OnnxSession.placement`).
   * Writes a temporary profile file (needs write permission to the temp folder).
   */
  checkPlacement: boolean;
  /**
   * WebGPU only: the tensor layout onnxruntime's WebGPU kernels use (its `preferredLayout`).
   * "default" leaves onnxruntime's choice (NHWC in onnxruntime-node 1.30.0, whose NHWC Conv
   * reads wrong channels when the input channel count is a multiple of 3 but not of 4);
   * "NCHW" avoids that bug.
   */
  webgpuLayout: "default" | "NCHW" | "NHWC";
}

/**
 * The defaults every session gets for the fields it does not set.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { DEFAULT_SESSION_SETTINGS } from "./session_options.ts";
 * assert.equal(DEFAULT_SESSION_SETTINGS.intraOpNumThreads, 1);
 * ```
 */
export const DEFAULT_SESSION_SETTINGS: Readonly<SessionSettings> = Object.freeze({
  executionProvider: "cpu",
  fallback: false,
  intraOpNumThreads: 1,
  interOpNumThreads: 1,
  graphOptimizationLevel: "all",
  executionMode: "sequential",
  logSeverityLevel: 3,
  checkPlacement: false,
  webgpuLayout: "default",
});

/**
 * Invalid session settings; the message names the field and what was expected.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { SessionSettingsError } from "./session_options.ts";
 * const e = new SessionSettingsError("intraOpNumThreads", "a whole number >= 0", -1);
 * assert.equal(e.message, "session settings: intraOpNumThreads: got -1 (expected a whole number >= 0)");
 * ```
 */
export class SessionSettingsError extends Error {
  /** The field at fault. */
  readonly field: string;

  /**
   * Makes the `session settings: <field>: got <value> (expected ...)` message.
   *
   * @param field the settings field at fault
   * @param expected what the field should hold
   * @param got the value that was given
   */
  constructor(field: string, expected: string, got: unknown) {
    super(
      `session settings: ${field}: got ${
        JSON.stringify(got) ?? String(got)
      } (expected ${expected})`,
    );
    this.name = "SessionSettingsError";
    this.field = field;
  }
}

const CHOICES = {
  executionProvider: EXECUTION_PROVIDERS,
  graphOptimizationLevel: ["disabled", "basic", "extended", "all"],
  executionMode: ["sequential", "parallel"],
  logSeverityLevel: [0, 1, 2, 3, 4],
  webgpuLayout: ["default", "NCHW", "NHWC"],
} as const;

/**
 * Fills `given` with the defaults and checks every field (unknown fields are errors too, so a
 * typo in a case file does not pass silently).
 *
 * @throws {SessionSettingsError} naming the first bad field.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { resolveSessionSettings } from "./session_options.ts";
 * const s = resolveSessionSettings({ intraOpNumThreads: 4 });
 * assert.deepEqual([s.intraOpNumThreads, s.executionProvider], [4, "cpu"]);
 * ```
 */
export function resolveSessionSettings(given: Partial<SessionSettings> = {}): SessionSettings {
  if (typeof given !== "object" || given === null || Array.isArray(given)) {
    throw new SessionSettingsError("(root)", "an object", given);
  }
  const known = Object.keys(DEFAULT_SESSION_SETTINGS);
  for (const key of Object.keys(given)) {
    if (!known.includes(key)) {
      throw new SessionSettingsError(key, `no such field; known: ${known.join(", ")}`, "(set)");
    }
  }
  const s: SessionSettings = { ...DEFAULT_SESSION_SETTINGS };
  for (const [key, value] of Object.entries(given) as [keyof SessionSettings, unknown][]) {
    if (value === undefined) continue;
    if (key === "fallback" || key === "checkPlacement") {
      if (typeof value !== "boolean") throw new SessionSettingsError(key, "true or false", value);
    } else if (key === "intraOpNumThreads" || key === "interOpNumThreads") {
      if (typeof value !== "number" || !Number.isInteger(value) || value < 0) {
        throw new SessionSettingsError(key, "a whole number >= 0", value);
      }
    } else {
      const choices: readonly unknown[] = CHOICES[key];
      if (!choices.includes(value)) {
        throw new SessionSettingsError(
          key,
          `one of ${choices.map((c) => JSON.stringify(c)).join(", ")}`,
          value,
        );
      }
    }
    (s as unknown as Record<string, unknown>)[key] = value;
  }
  return s;
}

/**
 * The onnxruntime-node session options for `settings`, on `provider` (which may differ from
 * `settings.executionProvider` after a fallback). `profilePrefix` turns profiling on.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { resolveSessionSettings, toOrtSessionOptions } from "./session_options.ts";
 * const o = toOrtSessionOptions(resolveSessionSettings(), "cpu");
 * assert.deepEqual([o.executionProviders, o.intraOpNumThreads], [["cpu"], 1]);
 * ```
 */
export function toOrtSessionOptions(
  settings: SessionSettings,
  provider: ExecutionProviderName,
  profilePrefix?: string,
): ort.InferenceSession.SessionOptions {
  const ep: ort.InferenceSession.ExecutionProviderConfig =
    provider === "webgpu" && settings.webgpuLayout !== "default"
      ? { name: "webgpu", preferredLayout: settings.webgpuLayout }
      : provider;
  const options: ort.InferenceSession.SessionOptions = {
    executionProviders: [ep],
    intraOpNumThreads: settings.intraOpNumThreads,
    interOpNumThreads: settings.interOpNumThreads,
    graphOptimizationLevel: settings.graphOptimizationLevel,
    executionMode: settings.executionMode,
    logSeverityLevel: settings.logSeverityLevel,
  };
  if (profilePrefix !== undefined) {
    options.enableProfiling = true;
    options.profileFilePrefix = profilePrefix;
  }
  return options;
}
