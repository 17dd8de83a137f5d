/**
 * Path helpers that need no @std/path (JSR is unreachable): resolve against the working
 * directory and turn paths into file URLs for dynamic import.
 *
 * @module
 */
import * as nodePath from "node:path";
import { pathToFileURL } from "node:url";

/**
 * The absolute form of `path` (relative paths resolve against `base`, default the cwd).
 *
 * @example
 * ```ts
 * import { resolve } from "./paths.ts";
 * resolve("fixtures/models/tiny-sd"); // "/…/fixtures/models/tiny-sd"
 * ```
 */
export function resolve(path: string, base: string = Deno.cwd()): string {
  return nodePath.resolve(base, path);
}

/**
 * A `file://` URL string for `path`, for `import()`.
 *
 * @example
 * ```ts
 * import { toFileUrl } from "./paths.ts";
 * toFileUrl("/tmp/a.case.ts"); // "file:///tmp/a.case.ts"
 * ```
 */
export function toFileUrl(path: string): string {
  return pathToFileURL(resolve(path)).href;
}

/**
 * `path` relative to `base` (default the cwd), with forward slashes.
 *
 * @example
 * ```ts
 * import { relative } from "./paths.ts";
 * relative("/repo/fixtures/a", "/repo"); // "fixtures/a"
 * ```
 */
export function relative(path: string, base: string = Deno.cwd()): string {
  return nodePath.relative(base, resolve(path)).split(nodePath.sep).join("/");
}

/**
 * The folder part of a path.
 *
 * @example
 * ```ts
 * import { dirname } from "./paths.ts";
 * dirname("reports/index.html"); // "reports"
 * ```
 */
export function dirname(path: string): string {
  return nodePath.dirname(path);
}

/**
 * Joins path segments.
 *
 * @example
 * ```ts
 * import { join } from "./paths.ts";
 * join("reports", "results.json"); // "reports/results.json"
 * ```
 */
export function join(...parts: string[]): string {
  return nodePath.join(...parts);
}
