/**
 * The versions of the runtime pieces a result records: Deno, V8 and onnxruntime-node.
 *
 * @module
 */

/**
 * `{ deno, v8, "onnxruntime-node" }` (onnxruntime-node absent when it cannot be loaded).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { runtimeVersions } from "./runtime_versions.ts";
 * const v = await runtimeVersions();
 * assert.equal(v.deno, Deno.version.deno);
 * assert.match(v["onnxruntime-node"], /^\d+\.\d+\.\d+/);
 * ```
 */
export async function runtimeVersions(): Promise<Record<string, string>> {
  const out: Record<string, string> = { deno: Deno.version.deno, v8: Deno.version.v8 };
  try {
    const ort = await import("onnxruntime-node");
    const v = (ort as { env?: { versions?: Record<string, string> } }).env?.versions;
    if (v?.common) out["onnxruntime-node"] = v.common;
  } catch { /* reported as absent */ }
  return out;
}
