import assert from "node:assert/strict";
import {
  DEFAULT_SESSION_SETTINGS,
  resolveSessionSettings,
  SessionSettingsError,
  toOrtSessionOptions,
} from "../../core/models/session_options.ts";

Deno.test("defaults are deterministic: one thread each, sequential, onnxruntime's 'all'", () => {
  assert.deepEqual(resolveSessionSettings(), {
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
  assert.ok(Object.isFrozen(DEFAULT_SESSION_SETTINGS));
});

Deno.test("given fields override the defaults; undefined keeps the default", () => {
  const s = resolveSessionSettings({
    executionProvider: "cuda",
    fallback: true,
    intraOpNumThreads: 4,
    graphOptimizationLevel: undefined,
  });
  assert.equal(s.executionProvider, "cuda");
  assert.equal(s.fallback, true);
  assert.equal(s.intraOpNumThreads, 4);
  assert.equal(s.graphOptimizationLevel, "all");
});

Deno.test("bad settings name the field and what was expected", () => {
  const cases: [unknown, RegExp][] = [
    [
      { executionProvider: "tpu" },
      /executionProvider: got "tpu" \(expected one of "cpu", "webgpu", "cuda"\)/,
    ],
    [{ intraOpNumThreads: 1.5 }, /intraOpNumThreads: got 1.5 \(expected a whole number >= 0\)/],
    [{ interOpNumThreads: -1 }, /interOpNumThreads: got -1/],
    [{ fallback: "yes" }, /fallback: got "yes" \(expected true or false\)/],
    [{ logSeverityLevel: 7 }, /logSeverityLevel: got 7/],
    [{ threads: 2 }, /threads: .*no such field; known: executionProvider/],
    [null, /\(root\): got null \(expected an object\)/],
  ];
  for (const [given, message] of cases) {
    assert.throws(
      () => resolveSessionSettings(given as never),
      (e: unknown) => e instanceof SessionSettingsError && message.test(e.message),
      JSON.stringify(given),
    );
  }
});

Deno.test("toOrtSessionOptions maps every setting and turns profiling on only when asked", () => {
  const s = resolveSessionSettings({ intraOpNumThreads: 2, executionMode: "parallel" });
  assert.deepEqual(toOrtSessionOptions(s, "webgpu"), {
    executionProviders: ["webgpu"],
    intraOpNumThreads: 2,
    interOpNumThreads: 1,
    graphOptimizationLevel: "all",
    executionMode: "parallel",
    logSeverityLevel: 3,
  });
  const p = toOrtSessionOptions(s, "cpu", "/tmp/x/profile");
  assert.equal(p.enableProfiling, true);
  assert.equal(p.profileFilePrefix, "/tmp/x/profile");
});

Deno.test("webgpuLayout becomes the WebGPU provider's preferredLayout, and only there", () => {
  const nchw = resolveSessionSettings({ webgpuLayout: "NCHW" });
  assert.deepEqual(toOrtSessionOptions(nchw, "webgpu").executionProviders, [
    { name: "webgpu", preferredLayout: "NCHW" },
  ]);
  assert.deepEqual(toOrtSessionOptions(nchw, "cpu").executionProviders, ["cpu"]);
  assert.deepEqual(toOrtSessionOptions(resolveSessionSettings(), "webgpu").executionProviders, [
    "webgpu",
  ]);
  assert.throws(
    () => resolveSessionSettings({ webgpuLayout: "nchw" as never }),
    /webgpuLayout: got "nchw" \(expected one of "default", "NCHW", "NHWC"\)/,
  );
});
