/**
 * Writes a report folder as a whole: images of this run into `images/<run>/`, then each page
 * over its predecessor with `index.html` (the last page given) last, so the previous report
 * stays readable until it is replaced, and is put back if anything fails. Image folders of
 * earlier runs that the new pages do not show are removed afterwards; other files are left
 * alone. The verify report (`writeReport`) and the study pages are both written by it.
 *
 * @module
 */
import { basename, dirname, join } from "node:path";
import { writeNewFileFlushed } from "../tensor/atomic_write.ts";

/**
 * A run name for image folders: UTC time and a random suffix (`20260901T120000-1a2b3c`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { runName } from "./write_files.ts";
 * assert.match(runName(new Date("2026-09-01T12:00:00Z")), /^20260901T120000-[0-9a-f]{6}$/);
 * ```
 */
export function runName(now: Date = new Date()): string {
  const stamp = now.toISOString().replace(/[-:]/g, "").replace(/\..*$/, "");
  return `${stamp}-${crypto.randomUUID().slice(0, 6)}`;
}

async function exists(path: string): Promise<boolean> {
  return await Deno.lstat(path).then(() => true, () => false);
}

/**
 * Writes `pngs` (paths `images/<run>/...` relative to `outDir`) and `pages` (file names in
 * `outDir`, index.html last) as described in the module doc; afterwards removes the image
 * folders and loose PNGs under `images/` that `shown` (the image paths the pages show; default
 * the PNGs written now) does not name. Throws what the file system threw, with the previous
 * report put back as it was.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { runName, writeReportFiles } from "./write_files.ts";
 * const dir = await Deno.makeTempDir();
 * const run = runName();
 * const page = (s: string) => new TextEncoder().encode(s);
 * await writeReportFiles(`${dir}/out`, run, new Map([[`images/${run}/a.png`, new Uint8Array([1])]]), [
 *   ["index.html", page("<img src='a.png'>")],
 * ]);
 * assert.deepEqual(await Deno.readFile(`${dir}/out/images/${run}/a.png`), new Uint8Array([1]));
 * const next = runName();
 * await writeReportFiles(`${dir}/out`, next, new Map(), [["index.html", page("none")]]);
 * assert.equal(await Deno.stat(`${dir}/out/images/${run}`).catch(() => null), null); // not shown any more
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function writeReportFiles(
  outDir: string,
  run: string,
  pngs: ReadonlyMap<string, Uint8Array>,
  pages: readonly (readonly [string, Uint8Array])[],
  shown: Iterable<string> = pngs.keys(),
): Promise<void> {
  const tmp = join(
    dirname(outDir),
    `.${basename(outDir)}.tmp-${Deno.pid}-${crypto.randomUUID().slice(0, 8)}`,
  );
  const runDir = join(outDir, "images", run);
  const replaced: string[] = [];
  let movedImages = false;
  try {
    await Deno.mkdir(outDir, { recursive: true });
    await Deno.mkdir(join(tmp, "old"), { recursive: true });
    for (const [file, bytes] of pngs) {
      await Deno.mkdir(dirname(join(tmp, file)), { recursive: true });
      await writeNewFileFlushed(join(tmp, file), bytes);
    }
    for (const [name, bytes] of pages) await writeNewFileFlushed(join(tmp, name), bytes);
    if (pngs.size) {
      await Deno.mkdir(join(outDir, "images"), { recursive: true });
      await Deno.rename(join(tmp, "images", run), runDir);
      movedImages = true;
    }
    for (const [name] of pages) {
      const target = join(outDir, name);
      if (await exists(target)) await Deno.link(target, join(tmp, "old", name));
      await Deno.rename(join(tmp, name), target);
      replaced.push(name);
    }
  } catch (err) {
    for (const name of replaced.reverse()) {
      const old = join(tmp, "old", name);
      if (await exists(old)) await Deno.rename(old, join(outDir, name)).catch(() => {});
      else await Deno.remove(join(outDir, name)).catch(() => {});
    }
    if (movedImages) await Deno.remove(runDir, { recursive: true }).catch(() => {});
    await Deno.remove(tmp, { recursive: true }).catch(() => {});
    throw err;
  }
  await Deno.remove(tmp, { recursive: true }).catch(() => {});
  // Images of earlier reports that the new pages do not show.
  const kept = new Set(shown);
  const keptDirs = new Set([
    `images/${run}`,
    ...[...kept].map((f) => f.split("/").slice(0, 2).join("/")),
  ]);
  try {
    for await (const e of Deno.readDir(join(outDir, "images"))) {
      const rel = `images/${e.name}`;
      if (e.isDirectory && !keptDirs.has(rel)) {
        await Deno.remove(join(outDir, rel), { recursive: true }).catch(() => {});
      } else if (e.isFile && e.name.endsWith(".png") && !kept.has(rel)) {
        await Deno.remove(join(outDir, rel)).catch(() => {});
      }
    }
  } catch { /* no images folder */ }
}
