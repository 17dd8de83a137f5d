/**
 * The files a study was measured on, hashed and checked against the fixture manifest.
 *
 * @module
 */
import { relative, resolve, sep } from "node:path";
import { checkFixtureHashes, readFixtureManifest, sha256File } from "./fixture_hashes.ts";

/**
 * sha256 of each file given and of each model folder's `<component>/model.onnx`, after checking
 * those under the manifest's folder against it (a changed fixture is refused, as verify does):
 * what a study's figures were measured on. Missing paths and `null` are skipped (the loaders'
 * errors name them); `manifestPath` null or absent: nothing is checked.
 *
 * @throws {FixtureHashError} when a file under the manifest's folder differs from its entry.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { hashStudyInputs } from "./study_inputs.ts";
 * const h = await hashStudyInputs(["fixtures/models/digits-ddpm", null], "fixtures/manifest.json");
 * assert.deepEqual(Object.keys(h), ["fixtures/models/digits-ddpm/unet/model.onnx"]);
 * assert.match(h["fixtures/models/digits-ddpm/unet/model.onnx"], /^[0-9a-f]{64}$/);
 * ```
 */
export async function hashStudyInputs(
  paths: readonly (string | null)[],
  manifestPath: string | null,
): Promise<Record<string, string>> {
  const files: string[] = [];
  for (const p of paths) {
    // a missing path is left to the loaders, whose errors name it
    const stat = p === null ? null : await Deno.stat(p).catch(() => null);
    if (p === null || stat === null) continue;
    if (!stat.isDirectory) {
      files.push(p);
      continue;
    }
    const components = [];
    for await (const e of Deno.readDir(p)) if (e.isDirectory) components.push(e.name);
    for (const c of components.sort()) {
      const onnx = `${p}/${c}/model.onnx`;
      if (await Deno.stat(onnx).then((s) => s.isFile, () => false)) files.push(onnx);
    }
  }
  // no manifest there (a study outside the repository): nothing to check against
  const present = manifestPath !== null &&
    await Deno.stat(manifestPath).then(() => true, () => false);
  const manifest = present ? await readFixtureManifest(manifestPath!) : null;
  const checked = new Set(manifest ? await checkFixtureHashes(manifest, files) : []);
  const out: Record<string, string> = {};
  for (const f of files) {
    // a file the check hashed equals its manifest entry: not read a second time
    const rel = manifest && relative(manifest.root, resolve(f)).split(sep).join("/");
    out[f] = rel && checked.has(rel) ? manifest!.sha256.get(rel)! : await sha256File(f);
  }
  return out;
}
