/**
 * A user's own scheduler port, named by a case's `sampler.implementation`: the module is
 * imported and its class checked once per case; the loop, the replays and the comparisons then
 * run it in place of ours, against diffusers' references of the same `type`.
 *
 * @module
 */
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import type { SamplerSpec, SchedulerImplementation } from "../schedulers/samplers.ts";
import { FileError } from "../tensor/errors.ts";

/**
 * The class a sampler spec's `implementation` names (its `exportName`, else the export named
 * like the spec's `type`, else the default export), or undefined when the spec names none.
 *
 * @throws {FileError} naming the module when it cannot be imported, or the export when it is
 * missing or has no `fromConfig`.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { loadSchedulerImplementation } from "./scheduler_implementation.ts";
 * assert.equal(await loadSchedulerImplementation({ type: "DDIMScheduler" }), undefined);
 * const ours = await loadSchedulerImplementation({
 *   type: "DDIMScheduler",
 *   implementation: "core/schedulers/ddim.ts", // any module exporting a class with fromConfig
 * });
 * assert.equal(typeof ours?.fromConfig, "function");
 * await assert.rejects(
 *   loadSchedulerImplementation({ type: "DDIMScheduler", implementation: "core/schedulers/ddim.ts", exportName: "Nope" }),
 *   /core\/schedulers\/ddim\.ts: export 'Nope': missing/,
 * );
 * ```
 */
export async function loadSchedulerImplementation(
  spec: SamplerSpec,
): Promise<SchedulerImplementation | undefined> {
  const { implementation, exportName } = spec as { implementation?: string; exportName?: string };
  if (!implementation) return undefined;
  let module: Record<string, unknown>;
  try {
    module = await import(pathToFileURL(resolve(implementation)).href);
  } catch (err) {
    const reason = err instanceof Error ? err.message.split("\n")[0] : String(err);
    throw new FileError(implementation, undefined, `cannot import the module (${reason})`, {
      cause: err,
    });
  }
  const name = exportName ?? (spec.type in module ? spec.type : "default");
  const cls = module[name] as Partial<SchedulerImplementation> | undefined;
  if (cls === undefined) {
    throw new FileError(
      implementation,
      `export '${name}'`,
      `missing; the module exports ${Object.keys(module).join(", ") || "nothing"}`,
    );
  }
  if (typeof cls?.fromConfig !== "function") {
    throw new FileError(
      implementation,
      `export '${name}'`,
      "has no fromConfig(json, source?, math?): expected a class implementing the public " +
        "Scheduler contract (as DDIMScheduler does)",
    );
  }
  return cls as SchedulerImplementation;
}
