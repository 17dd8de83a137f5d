import assert from "node:assert/strict";
import { besideCases, loadCases } from "../../core/harness/cases_loader.ts";
import { CaseError, defineCase } from "../../core/harness/case.ts";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";

const caseModule = pathToFileURL(resolve("core/harness/case.ts")).href;

async function tempCases(files: Record<string, string>): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "diffparity-cases-" });
  for (const [name, text] of Object.entries(files)) {
    await Deno.writeTextFile(`${dir}/${name}`, text);
  }
  return dir;
}

function caseFile(name: string, extra = ""): string {
  return `import { defineCase } from "${caseModule}";
export default defineCase({ name: "${name}", model: "m", pipeline: "text2img",
  sampler: { type: "DDIMScheduler" }, steps: 2, prompt: "p", guidanceScale: 1, seed: 0 ${extra} });`;
}

Deno.test("the shipped cases load, with unique names and existing model folders", async () => {
  const cases = await loadCases("cases");
  assert.ok(cases.length >= 11, `expected at least 11 shipped cases, found ${cases.length}`);
  for (const c of cases) {
    const stat = await Deno.stat(c.model).catch(() => null);
    assert.ok(stat?.isDirectory, `case ${c.name}: model folder ${c.model} is missing`);
  }
});

Deno.test("loadCases filters by substring and sorts by file name", async () => {
  const dir = await tempCases({
    "b.case.ts": caseFile("beta"),
    "a.case.ts": caseFile("alpha"),
    "notes.ts": "",
  });
  assert.deepEqual((await loadCases(dir)).map((c) => c.name), ["alpha", "beta"]);
  assert.deepEqual((await loadCases(dir, "bet")).map((c) => c.name), ["beta"]);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("loadCases rejects duplicate names, naming both files", async () => {
  const dir = await tempCases({ "a.case.ts": caseFile("same"), "b.case.ts": caseFile("same") });
  await assert.rejects(loadCases(dir), (err: unknown) => {
    assert.ok(err instanceof CaseError);
    assert.match(err.message, /case 'same': name: used by both a\.case\.ts and b\.case\.ts/);
    return true;
  });
  await Deno.remove(dir, { recursive: true });
});

Deno.test("loadCases rejects a file without a defineCase default export", async () => {
  const dir = await tempCases({ "x.case.ts": "export const y = 1;" });
  await assert.rejects(loadCases(dir), /x\.case\.ts: expected `export default defineCase/);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("loadCases reports an invalid field with the file name", async () => {
  const dir = await tempCases({ "bad.case.ts": caseFile("bad", ", steps: -3") });
  await assert.rejects(
    loadCases(dir),
    /case 'bad': steps: expected a positive integer \(in .*bad\.case\.ts\)/,
  );
  await Deno.remove(dir, { recursive: true });
});

Deno.test("a user's case (model outside fixtures/, another cases folder) keeps its references beside it", async () => {
  const dir = await tempCases({
    "mine.case.ts": caseFile("mine"),
    "shipped.case.ts": caseFile("shipped").replace(
      'model: "m"',
      'model: "fixtures/models/tiny-sd"',
    ),
    "own.case.ts": caseFile("own", ', references: { onnx: "x/own.onnx.safetensors" }'),
  });
  const [mine, own, shipped] = await loadCases(dir);
  assert.deepEqual(mine.references, {
    onnx: `${dir}/refs/mine.onnx.safetensors`,
    torch: `${dir}/refs/mine.torch.safetensors`,
  });
  assert.ok(Object.isFrozen(mine) && Object.isFrozen(mine.references));
  // a shipped model keeps the project's references; references the case names stay its own
  assert.equal(shipped.references.onnx, "fixtures/refs/cases/shipped.onnx.safetensors");
  assert.deepEqual(own.references, {
    onnx: "x/own.onnx.safetensors",
    torch: "fixtures/refs/cases/own.torch.safetensors",
  });
  await Deno.remove(dir, { recursive: true });
  // a user's case kept in the project's cases/ folder too (`deno task refs --cases cases`)
  const c = defineCase({
    name: "x",
    model: "/elsewhere/export",
    pipeline: "text2img",
    sampler: { type: "DDIMScheduler" },
    steps: 2,
    prompt: "",
    guidanceScale: 1,
    seed: 0,
  });
  assert.equal(besideCases(c, "cases/").references.onnx, "cases/refs/x.onnx.safetensors");
  assert.equal(besideCases(c, "my/").references.onnx, "my/refs/x.onnx.safetensors");
});

Deno.test("torchModel must be a non-empty path", () => {
  assert.throws(
    () =>
      defineCase({
        name: "x",
        model: "m",
        torchModel: "",
        pipeline: "text2img",
        sampler: { type: "DDIMScheduler" },
        steps: 2,
        prompt: "",
        guidanceScale: 1,
        seed: 0,
      }),
    /case 'x': torchModel: expected the path of a diffusers pipeline folder/,
  );
});
