import assert from "node:assert/strict";
import { join } from "node:path";
import * as ort from "onnxruntime-node";
import {
  EXECUTION_PROVIDERS,
  explainProviderFailure,
  ORT_PROVIDER_NAMES,
  ortBindingDir,
  providerAvailability,
  ProviderUnavailableError,
} from "../../core/models/execution_provider.ts";

const CUDA_LIB = Deno.build.os === "windows"
  ? "onnxruntime_providers_cuda.dll"
  : "libonnxruntime_providers_cuda.so";

function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

Deno.test("ortBindingDir holds onnxruntime's shared library", () => {
  const names = [...Deno.readDirSync(ortBindingDir())].map((e) => e.name);
  assert.ok(names.some((n) => n.startsWith("onnxruntime_binding")), names.join(", "));
});

Deno.test("cpu is listed, bundled and usable", () => {
  const cpu = providerAvailability("cpu");
  assert.deepEqual(cpu, {
    name: "cpu",
    listed: true,
    bundled: true,
    missingFiles: [],
    usable: true,
  });
});

Deno.test("availability follows onnxruntime-node's listSupportedBackends", () => {
  const listed = new Map(ort.listSupportedBackends().map((b) => [b.name, b.bundled]));
  for (const name of EXECUTION_PROVIDERS) {
    const a = providerAvailability(name);
    assert.equal(a.listed, listed.has(name), name);
    if (a.listed) assert.equal(a.bundled, listed.get(name), name);
    else assert.match(a.reason ?? "", /does not list it/);
  }
});

Deno.test({
  name: "cuda without its provider libraries: not usable, and the reason names the files",
  ignore: exists(join(ortBindingDir(), CUDA_LIB)),
  fn() {
    const cuda = providerAvailability("cuda");
    assert.equal(cuda.usable, false);
    assert.ok(cuda.missingFiles.includes(CUDA_LIB), cuda.missingFiles.join(", "));
    assert.match(cuda.reason ?? "", /postinstall/);
    assert.match(cuda.reason ?? "", /--onnxruntime-node-install=cuda12/);
  },
});

Deno.test("ProviderUnavailableError names the provider, the reason and the fallback option", () => {
  const e = new ProviderUnavailableError("webgpu", "no adapter");
  assert.equal(e.name, "ProviderUnavailableError");
  assert.equal(e.provider, "webgpu");
  assert.equal(e.reason, "no adapter");
  assert.equal(
    e.message,
    "execution provider 'webgpu' is unavailable: no adapter " +
      "(pass fallback: true to run on 'cpu' instead and record why)",
  );
});

Deno.test("explainProviderFailure keeps onnxruntime's last line and says what is needed", () => {
  const w = explainProviderFailure(
    "webgpu",
    "/src/webgpu_context.cc:136 ...\nFailed to get a WebGPU adapter: No supported adapters\n",
  );
  assert.match(w, /\(Failed to get a WebGPU adapter: No supported adapters\)/);
  assert.match(w, /Vulkan/);
  assert.match(w, /apt-get install -t bookworm-backports mesa-vulkan-drivers libvulkan1/);
  assert.match(explainProviderFailure("cuda", "x"), /CUDA 12/);
  assert.equal(ORT_PROVIDER_NAMES.cpu, "CPUExecutionProvider");
});

Deno.test("explainProviderFailure drops the source location of onnxruntime's ORT_ENFORCE text", () => {
  // The message onnxruntime-node 1.30.0 gives on a machine with no Vulkan driver.
  const ortMessage = "/onnxruntime_src/onnxruntime/core/providers/webgpu/webgpu_context.cc:136 " +
    "onnxruntime::webgpu::WebGpuContext::Initialize(const onnxruntime::webgpu::" +
    "WebGpuContextConfig&)::<lambda()> adapter_result.status == wgpu::RequestAdapterStatus::" +
    "Success was false. Failed to get a WebGPU adapter: No supported adapters";
  const w = explainProviderFailure("webgpu", ortMessage);
  assert.ok(
    w.startsWith(
      "onnxruntime could not start WebGPU (Failed to get a WebGPU adapter: No supported " +
        "adapters); it needs a GPU adapter",
    ),
    w,
  );
  // Text without that shape is kept whole.
  assert.match(explainProviderFailure("cuda", "a.cc:1 no was in it"), /\(a\.cc:1 no was in it\)/);
});
