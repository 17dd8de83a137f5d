import assert from "node:assert/strict";
import { runName, writeReportFiles } from "../../core/report/write_files.ts";

const bytes = (s: string) => new TextEncoder().encode(s);

Deno.test("writeReportFiles puts the pages it replaced back when a later page cannot be written", async () => {
  const dir = await Deno.makeTempDir();
  const out = `${dir}/out`;
  const first = runName();
  await writeReportFiles(out, first, new Map([[`images/${first}/a.png`, bytes("a")]]), [
    ["study.json", bytes("old json")],
    ["index.html", bytes("old page")],
  ]);
  await Deno.mkdir(`${out}/blocker.html`); // a folder where the next run wants a page
  const next = runName();
  await assert.rejects(
    writeReportFiles(out, next, new Map([[`images/${next}/b.png`, bytes("b")]]), [
      ["study.json", bytes("new json")],
      ["blocker.html", bytes("x")],
      ["index.html", bytes("new page")],
    ]),
  );
  assert.equal(await Deno.readTextFile(`${out}/study.json`), "old json");
  assert.equal(await Deno.readTextFile(`${out}/index.html`), "old page");
  assert.deepEqual([...Deno.readDirSync(`${out}/images`)].map((e) => e.name), [first]);
  assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["out"]);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("runName is unique per call and sorts by time", () => {
  const a = runName(new Date("2026-01-01T00:00:00Z"));
  const b = runName(new Date("2026-01-01T00:00:01Z"));
  assert.ok(a < b);
  assert.notEqual(runName(), runName());
});
