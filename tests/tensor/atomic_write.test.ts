import assert from "node:assert/strict";
import { writeFileAtomic, writeTextFileAtomic } from "../../core/tensor/atomic_write.ts";
import { FileError } from "../../core/tensor/errors.ts";

function entries(dir: string): string[] {
  return [...Deno.readDirSync(dir)].map((e) => e.name).sort();
}

Deno.test("writeFileAtomic creates parent folders and leaves only the target", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/a/b/out.bin`;
  await writeFileAtomic(path, new Uint8Array([1, 2, 3]));
  assert.deepEqual(await Deno.readFile(path), new Uint8Array([1, 2, 3]));
  assert.deepEqual(entries(`${dir}/a/b`), ["out.bin"]);
});

Deno.test("writeFileAtomic replaces an existing file whole", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/out.bin`;
  await Deno.writeFile(path, new Uint8Array(1000).fill(7));
  const big = new Uint8Array(3 * 1024 * 1024).map((_, i) => i & 0xff);
  await writeFileAtomic(path, big);
  assert.deepEqual(await Deno.readFile(path), big);
  await writeFileAtomic(path, new Uint8Array([9]));
  assert.deepEqual(await Deno.readFile(path), new Uint8Array([9]));
  assert.deepEqual(entries(dir), ["out.bin"]);
});

Deno.test("a failed write throws FileError, keeps the old content, leaves no temp file", async () => {
  const dir = await Deno.makeTempDir();
  // The target is a non-empty folder: the rename must fail after the temp file was written.
  await Deno.mkdir(`${dir}/target`);
  await Deno.writeTextFile(`${dir}/target/keep.txt`, "kept");
  await assert.rejects(
    writeFileAtomic(`${dir}/target`, new Uint8Array([1])),
    (e: unknown) =>
      e instanceof FileError && e.file === `${dir}/target` &&
      e.message.startsWith(`${dir}/target: cannot write the file`),
  );
  assert.deepEqual(entries(dir), ["target"]);
  assert.equal(await Deno.readTextFile(`${dir}/target/keep.txt`), "kept");
  // The parent is a file: the folder cannot be created.
  await Deno.writeTextFile(`${dir}/plain`, "x");
  await assert.rejects(
    writeFileAtomic(`${dir}/plain/child.bin`, new Uint8Array([1])),
    (e: unknown) => e instanceof FileError && e.file === `${dir}/plain/child.bin`,
  );
  assert.deepEqual(entries(dir), ["plain", "target"]);
});

Deno.test("writeTextFileAtomic writes UTF-8", async () => {
  const dir = await Deno.makeTempDir();
  await writeTextFileAtomic(`${dir}/t.json`, '{"é":"✓"}');
  assert.deepEqual(
    await Deno.readFile(`${dir}/t.json`),
    new Uint8Array([0x7b, 0x22, 0xc3, 0xa9, 0x22, 0x3a, 0x22, 0xe2, 0x9c, 0x93, 0x22, 0x7d]),
  );
});
