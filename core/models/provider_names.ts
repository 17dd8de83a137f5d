/**
 * The names of the execution providers a run can ask for. A light module (no onnxruntime), so
 * that the CLI can offer the choices without loading native code.
 *
 * @module
 */

/**
 * The execution providers a run can ask for.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { EXECUTION_PROVIDERS, type ExecutionProviderName } from "./provider_names.ts";
 * const ep: ExecutionProviderName = "cpu";
 * assert.ok(EXECUTION_PROVIDERS.includes(ep));
 * ```
 */
export type ExecutionProviderName = "cpu" | "webgpu" | "cuda";

/**
 * Every {@link ExecutionProviderName}, in order of preference for no one: CPU first because it
 * is always there.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { EXECUTION_PROVIDERS } from "./provider_names.ts";
 * assert.deepEqual(EXECUTION_PROVIDERS, ["cpu", "webgpu", "cuda"]);
 * ```
 */
export const EXECUTION_PROVIDERS: readonly ExecutionProviderName[] = Object.freeze([
  "cpu",
  "webgpu",
  "cuda",
]);
