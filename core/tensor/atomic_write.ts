/**
 * Atomic file writes: the bytes go to a temporary file in the destination folder, which is
 * then renamed over the destination, so readers never see a half-written file.
 *
 * @module
 */
import { basename, dirname, join } from "node:path";
import { FileError } from "./errors.ts";

/**
 * Writes `bytes` to `path` atomically: parent folders are created, the data is written and
 * flushed to a temporary file next to `path`, then renamed onto `path`. On failure the
 * temporary file is removed, `path` is left as it was, and a {@link FileError} naming
 * `path` is thrown.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { writeFileAtomic } from "./atomic_write.ts";
 * const dir = await Deno.makeTempDir();
 * await writeFileAtomic(`${dir}/sub/out.bin`, new Uint8Array([1, 2, 3]));
 * assert.equal((await Deno.readFile(`${dir}/sub/out.bin`)).length, 3);
 * ```
 */
export async function writeFileAtomic(path: string, bytes: Uint8Array): Promise<void> {
  const dir = dirname(path);
  const tmp = join(dir, `.${basename(path)}.tmp-${Deno.pid}-${crypto.randomUUID().slice(0, 8)}`);
  try {
    await Deno.mkdir(dir, { recursive: true });
    await writeNewFileFlushed(tmp, bytes);
    await Deno.rename(tmp, path);
  } catch (err) {
    await Deno.remove(tmp).catch(() => {});
    const reason = err instanceof Error ? err.message : String(err);
    throw new FileError(path, undefined, `cannot write the file (${reason})`, {
      cause: err,
    });
  }
}

/**
 * Writes `text` as UTF-8 to `path` atomically, as {@link writeFileAtomic}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { writeTextFileAtomic } from "./atomic_write.ts";
 * const dir = await Deno.makeTempDir();
 * await writeTextFileAtomic(`${dir}/a.json`, JSON.stringify({ ok: true }));
 * assert.equal(await Deno.readTextFile(`${dir}/a.json`), '{"ok":true}');
 * ```
 */
export async function writeTextFileAtomic(path: string, text: string): Promise<void> {
  await writeFileAtomic(path, new TextEncoder().encode(text));
}

/**
 * Creates `path` (which must not exist) with `bytes` and flushes it to disk: the step before
 * an atomic rename.
 *
 * @throws the file system's error when `path` exists or cannot be written.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { writeNewFileFlushed } from "./atomic_write.ts";
 * const path = `${await Deno.makeTempDir()}/new.bin`;
 * await writeNewFileFlushed(path, new Uint8Array([7]));
 * assert.deepEqual(await Deno.readFile(path), new Uint8Array([7]));
 * await assert.rejects(() => writeNewFileFlushed(path, new Uint8Array([8])));
 * ```
 */
export async function writeNewFileFlushed(path: string, bytes: Uint8Array): Promise<void> {
  const file = await Deno.open(path, { write: true, createNew: true });
  try {
    let written = 0;
    while (written < bytes.length) written += await file.write(bytes.subarray(written));
    await file.syncData();
  } finally {
    file.close();
  }
}
