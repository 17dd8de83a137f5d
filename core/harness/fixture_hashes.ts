/**
 * Guards against stale references: every fixture a case uses (model files, reference tensors,
 * input images) must still have the sha256 that fixtures/manifest.json recorded when the
 * references were made. A user's references (outside fixtures/) are checked against the
 * `manifest.json` beside them, written by `deno task refs --cases <dir>` or the capture helper,
 * which also lists the model files they were made from.
 *
 * @module
 */
import { dirname, relative, resolve, sep } from "node:path";

/** `path` relative to `base`, with forward slashes. */
function relativeTo(base: string, path: string): string {
  return relative(base, resolve(path)).split(sep).join("/");
}

/**
 * Thrown when a fixture's bytes differ from the manifest; says how to regenerate.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { FixtureHashError } from "./fixture_hashes.ts";
 * const e = new FixtureHashError("fixtures/models/tiny-sd/unet/model.onnx", "sha256 abc differs");
 * assert.equal(e.message, "fixtures/models/tiny-sd/unet/model.onnx: sha256 abc differs");
 * assert.equal(e.file, "fixtures/models/tiny-sd/unet/model.onnx");
 * ```
 */
export class FixtureHashError extends Error {
  /** The file whose hash is off. */
  readonly file: string;
  /**
   * Makes the `<file>: <problem>` message.
   *
   * @param file the fixture
   * @param problem what differs, with how to regenerate
   */
  constructor(file: string, problem: string) {
    super(`${file}: ${problem}`);
    this.name = "FixtureHashError";
    this.file = file;
  }
}

/**
 * The parsed manifest: file path (relative to the manifest's folder) to sha256.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { checkFixtureHashes, type FixtureManifest } from "./fixture_hashes.ts";
 * const empty: FixtureManifest = {
 *   path: "m.json", root: "/nowhere", sha256: new Map(), regenerate: "deno task refs",
 * };
 * assert.deepEqual(await checkFixtureHashes(empty, ["/elsewhere/model.onnx"]), []);
 * ```
 */
export interface FixtureManifest {
  /** The manifest file. */
  path: string;
  /** Folder the entries are relative to. */
  root: string;
  /** sha256 by relative path (`../` for files outside the folder). */
  sha256: Map<string, string>;
  /** The command that remakes the files and the manifest, for the messages. */
  regenerate: string;
}

/**
 * Reads fixtures/manifest.json (format of fixtures/gen/main.py) or a user's references manifest
 * (fixtures/gen/user_refs.py); its `regenerate` entry, when present, replaces the command the
 * messages suggest.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { type FixtureManifest, readFixtureManifest } from "./fixture_hashes.ts";
 * const m: FixtureManifest = await readFixtureManifest("fixtures/manifest.json");
 * assert.ok(m.sha256.has("models/tiny-sd/unet/model.onnx"));
 * assert.ok(m.root.endsWith("/fixtures"));
 * const mine = await readFixtureManifest("examples/your-model/cases/refs/manifest.json");
 * assert.equal(mine.regenerate, "deno task refs --cases examples/your-model/cases");
 * assert.ok(mine.sha256.has("sd2-ddim.onnx.safetensors"));
 * assert.ok(mine.sha256.has("../../model/onnx/unet/model.onnx")); // what the references were made from
 * ```
 */
export async function readFixtureManifest(
  path: string,
  regenerate = "deno task refs",
): Promise<FixtureManifest> {
  let json: unknown;
  try {
    json = JSON.parse(await Deno.readTextFile(path));
  } catch (err) {
    throw new FixtureHashError(
      path,
      `cannot read the manifest (${(err as Error).message}); regenerate with \`${regenerate}\``,
    );
  }
  const files = (json as { files?: unknown })?.files;
  if (!files || typeof files !== "object") {
    throw new FixtureHashError(path, "files: expected an object of path -> { sha256 }");
  }
  const sha256 = new Map<string, string>();
  for (const [file, entry] of Object.entries(files as Record<string, { sha256?: unknown }>)) {
    if (typeof entry?.sha256 !== "string") {
      throw new FixtureHashError(path, `files["${file}"].sha256: expected a hex string`);
    }
    sha256.set(file, entry.sha256);
  }
  const own = (json as { regenerate?: unknown }).regenerate;
  return {
    path,
    root: dirname(resolve(path)),
    sha256,
    regenerate: typeof own === "string" && own.length <= 200 ? own : regenerate,
  };
}

/**
 * The manifest that guards a user's reference file: `manifest.json` in its folder.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { userManifestPath } from "./fixture_hashes.ts";
 * assert.equal(userManifestPath("my-cases/refs/a.onnx.safetensors"), "my-cases/refs/manifest.json");
 * ```
 */
export function userManifestPath(reference: string): string {
  return `${dirname(reference)}/manifest.json`;
}

/**
 * The sha256 of a file, as lowercase hex.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { sha256File } from "./fixture_hashes.ts";
 * assert.equal((await sha256File("deno.json")).length, 64);
 * ```
 */
export async function sha256File(path: string): Promise<string> {
  const bytes = await Deno.readFile(path);
  return sha256Hex(bytes);
}

/**
 * The sha256 of bytes, as lowercase hex.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { sha256Hex } from "./fixture_hashes.ts";
 * const empty = await sha256Hex(new Uint8Array());
 * assert.equal(empty, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
 * ```
 */
export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>);
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * Options of {@link checkFixtureHashes}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { checkFixtureHashes, type FixtureCheckOptions, readFixtureManifest } from "./fixture_hashes.ts";
 * const m = await readFixtureManifest("fixtures/manifest.json");
 * // a golden reference (our own run) under fixtures/ is not in the manifest: let it through
 * const goldens: FixtureCheckOptions = { unlistedOk: (f) => Promise.resolve(f.endsWith("mine.onnx.safetensors")) };
 * assert.deepEqual(await checkFixtureHashes(m, ["fixtures/refs/cases/mine.onnx.safetensors"], goldens), []);
 * ```
 */
export interface FixtureCheckOptions {
  /**
   * Called for a file inside the manifest's folder that the manifest does not list: true lets
   * it through unchecked (a golden reference, our own run), false makes it an error as usual.
   */
  unlistedOk?: (file: string) => Promise<boolean>;
}

/**
 * Checks each file that lies inside the manifest's folder against its recorded sha256, and each
 * file outside it that the manifest lists (`../model/unet/model.onnx`: what a user's references
 * were made from). Returns the files checked (relative to the manifest folder).
 *
 * @throws {FixtureHashError} for a file that changed or is missing from the manifest.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { checkFixtureHashes, readFixtureManifest } from "./fixture_hashes.ts";
 * const m = await readFixtureManifest("fixtures/manifest.json");
 * const checked = await checkFixtureHashes(m, ["fixtures/models/tiny-sd/unet/model.onnx", "/elsewhere/x"]);
 * assert.deepEqual(checked, ["models/tiny-sd/unet/model.onnx"]); // files outside fixtures/ are skipped
 * ```
 */
export async function checkFixtureHashes(
  manifest: FixtureManifest,
  files: readonly string[],
  options: FixtureCheckOptions = {},
): Promise<string[]> {
  const checked: string[] = [];
  for (const file of files) {
    const rel = relativeTo(manifest.root, file);
    const want = manifest.sha256.get(rel);
    if (want === undefined && (rel.startsWith("..") || rel.startsWith("/"))) continue;
    const shown = relativeTo(Deno.cwd(), file);
    if (want === undefined && await options.unlistedOk?.(file)) continue;
    if (want === undefined) {
      const exists = await Deno.stat(file).then(() => true, () => false);
      throw new FixtureHashError(
        shown,
        exists
          ? `not listed in ${manifest.path}; regenerate the references with \`${manifest.regenerate}\``
          : `missing, and not listed in ${manifest.path}: no reference has been made for it ` +
            `(\`${manifest.regenerate}\` writes the references of every case)`,
      );
    }
    let got: string;
    try {
      got = await sha256File(file);
    } catch {
      throw new FixtureHashError(
        shown,
        `missing (listed in ${manifest.path}); regenerate with \`${manifest.regenerate}\``,
      );
    }
    if (got !== want) {
      throw new FixtureHashError(
        shown,
        `sha256 ${got.slice(0, 12)}… differs from ${manifest.path} (${
          want.slice(0, 12)
        }…): the file changed since the references were made; regenerate them with \`${manifest.regenerate}\` (or restore the file with git)`,
      );
    }
    checked.push(rel);
  }
  return checked;
}
