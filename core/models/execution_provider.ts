/**
 * Execution providers of onnxruntime-node: which ones this install can run, and why one cannot.
 *
 * onnxruntime-node 1.30 lists its providers with `listSupportedBackends()` (`cpu` and `webgpu`
 * are bundled in the npm package; `cuda` and `tensorrt` need shared libraries that the
 * package's postinstall script downloads, which Deno does not run). Being listed is not being
 * usable: WebGPU also needs a GPU adapter (on Linux, a Vulkan driver), CUDA a CUDA 12 runtime.
 * Those are only known when a session is created, so {@link OnnxSession} (onnx_session.ts)
 * turns a failed creation into a {@link ProviderUnavailableError} as well.
 *
 * @module
 */
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import * as ort from "onnxruntime-node";
import type { ExecutionProviderName } from "./provider_names.ts";

export { EXECUTION_PROVIDERS, type ExecutionProviderName } from "./provider_names.ts";

/**
 * onnxruntime's own name of each provider, as it appears in profiles and logs.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ORT_PROVIDER_NAMES } from "./execution_provider.ts";
 * assert.equal(ORT_PROVIDER_NAMES.cuda, "CUDAExecutionProvider");
 * ```
 */
export const ORT_PROVIDER_NAMES: Readonly<Record<ExecutionProviderName, string>> = Object.freeze({
  cpu: "CPUExecutionProvider",
  webgpu: "WebGpuExecutionProvider",
  cuda: "CUDAExecutionProvider",
});

/**
 * What this install can say about one provider before a session is tried.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { providerAvailability } from "./execution_provider.ts";
 * const a = providerAvailability("cpu");
 * assert.deepEqual([a.listed, a.usable, a.missingFiles], [true, true, []]);
 * ```
 */
export interface ProviderAvailability {
  /** The provider asked about. */
  readonly name: ExecutionProviderName;
  /** Listed by onnxruntime-node's `listSupportedBackends()` on this platform. */
  readonly listed: boolean;
  /** Shipped inside the npm package (no download needed). */
  readonly bundled: boolean;
  /** Shared libraries the provider loads that are not in onnxruntime-node's binding folder. */
  readonly missingFiles: readonly string[];
  /**
   * False when it certainly cannot run; true means "worth trying": a session creation can still
   * fail (no GPU adapter, no CUDA runtime).
   */
  readonly usable: boolean;
  /** Why it cannot run, when `usable` is false. */
  readonly reason?: string;
}

/**
 * A provider that was asked for cannot run here. `provider` names it, `reason` says what is
 * missing; the message says both and how to get it or how to fall back.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ProviderUnavailableError } from "./execution_provider.ts";
 * const e = new ProviderUnavailableError("cuda", "libonnxruntime_providers_cuda.so is missing");
 * assert.equal(e.provider, "cuda");
 * assert.ok(e.message.startsWith("execution provider 'cuda'"));
 * ```
 */
export class ProviderUnavailableError extends Error {
  /** The provider that was asked for. */
  readonly provider: ExecutionProviderName;
  /** What is missing. */
  readonly reason: string;

  /**
   * Says which provider cannot run and why.
   *
   * @param provider the provider that cannot run
   * @param reason what is missing, in a sentence
   * @param options `cause`: the onnxruntime error, if any
   */
  constructor(provider: ExecutionProviderName, reason: string, options?: { cause?: unknown }) {
    super(
      `execution provider '${provider}' is unavailable: ${reason} ` +
        `(pass fallback: true to run on 'cpu' instead and record why)`,
      options,
    );
    this.name = "ProviderUnavailableError";
    this.provider = provider;
    this.reason = reason;
  }
}

/**
 * The folder holding onnxruntime-node's native binding and shared libraries for this platform
 * (`.../onnxruntime-node/bin/napi-v6/<os>/<arch>`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ortBindingDir } from "./execution_provider.ts";
 * assert.equal(ortBindingDir().includes("onnxruntime-node"), true);
 * ```
 */
export function ortBindingDir(): string {
  const os = Deno.build.os === "windows" ? "win32" : Deno.build.os;
  const arch = Deno.build.arch === "x86_64" ? "x64" : "arm64";
  return join(ortPackageDir(), "bin", "napi-v6", os, arch);
}

/** The onnxruntime-node package folder (the one holding package.json). */
function ortPackageDir(): string {
  const require = createRequire(import.meta.url);
  return dirname(dirname(require.resolve("onnxruntime-node"))); // <pkg>/dist/index.js
}

/** Shared libraries each provider loads at session creation, named as on this platform. */
function providerLibraries(name: ExecutionProviderName): string[] {
  if (name !== "cuda") return [];
  const [pre, ext] = Deno.build.os === "windows" ? ["", ".dll"] : ["lib", ".so"];
  return [`${pre}onnxruntime_providers_shared${ext}`, `${pre}onnxruntime_providers_cuda${ext}`];
}

function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * What onnxruntime-node says about `name` on this machine, without creating a session.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { providerAvailability } from "./execution_provider.ts";
 * const cuda = providerAvailability("cuda");
 * assert.equal(cuda.name, "cuda");
 * if (!cuda.usable) assert.ok(cuda.reason !== undefined && cuda.reason.length > 0); // says what is missing
 * ```
 */
export function providerAvailability(name: ExecutionProviderName): ProviderAvailability {
  const listedEntry = ort.listSupportedBackends().find((b) => b.name === name);
  if (listedEntry === undefined) {
    return {
      name,
      listed: false,
      bundled: false,
      missingFiles: [],
      usable: false,
      reason: `onnxruntime-node ${ort.env.versions.node} does not list it for ` +
        `${Deno.build.os}/${Deno.build.arch} (listSupportedBackends() gives ` +
        `${ort.listSupportedBackends().map((b) => b.name).join(", ")})`,
    };
  }
  const dir = ortBindingDir();
  const missingFiles = providerLibraries(name).filter((f) => !exists(join(dir, f)));
  if (missingFiles.length > 0) {
    return {
      name,
      listed: true,
      bundled: listedEntry.bundled,
      missingFiles,
      usable: false,
      reason: `${missingFiles.join(" and ")} ${missingFiles.length > 1 ? "are" : "is"} not in ` +
        `${dir}; they are not shipped in the npm package and onnxruntime-node's postinstall ` +
        `(which downloads them) does not run under Deno: run \`node ${
          join(ortPackageDir(), "script", "install.js")
        } --onnxruntime-node-install=cuda12\` once, with a CUDA 12 runtime and cuDNN 9 installed`,
    };
  }
  return { name, listed: true, bundled: listedEntry.bundled, missingFiles, usable: true };
}

/**
 * Explains an onnxruntime error raised while creating a session on `provider`, with a hint at
 * what is usually missing.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { explainProviderFailure } from "./execution_provider.ts";
 * const ort = "/src/webgpu_context.cc:136 Initialize() adapter_ok was false. " +
 *   "Failed to get a WebGPU adapter: No supported adapters";
 * assert.match(explainProviderFailure("webgpu", ort), /^onnxruntime could not start WebGPU \(Failed to get/);
 * ```
 */
export function explainProviderFailure(
  provider: ExecutionProviderName,
  ortMessage: string,
): string {
  const lastLine = ortMessage.split("\n").map((l) => l.trim()).filter((l) => l !== "").pop() ??
    ortMessage;
  // onnxruntime's ORT_ENFORCE text: "<file>:<line> <function> <condition> was false. <message>"
  const gist = lastLine.replace(/^\S+:\d+ .*? was false\. (?=\S)/, "");
  if (provider === "webgpu") {
    return `onnxruntime could not start WebGPU (${gist}); it needs a GPU adapter: ` +
      `on Linux a Vulkan loader (libvulkan.so.1) and a driver, a GPU's or Mesa's lavapipe ` +
      `software driver (Debian 12: \`apt-get install -t bookworm-backports ` +
      `mesa-vulkan-drivers libvulkan1\`, Mesa 25)`;
  }
  if (provider === "cuda") {
    return `onnxruntime could not start CUDA (${gist}); it needs an NVIDIA GPU with a ` +
      `CUDA 12 runtime and cuDNN 9 on the library path`;
  }
  return `onnxruntime could not create a session on '${provider}' (${gist})`;
}
