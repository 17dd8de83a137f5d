import assert from "node:assert/strict";
import * as light from "../case.ts";
import * as full from "../mod.ts";

Deno.test("case.ts re-exports defineCase and its values from the same module as mod.ts", () => {
  assert.equal(light.defineCase, full.defineCase);
  assert.equal(light.CaseError, full.CaseError);
  assert.equal(light.defaultTolerances, full.defaultTolerances);
});

Deno.test("case.ts's module graph holds local modules only (no npm package, no onnxruntime)", async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", "case.ts"],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.ok(out.success, new TextDecoder().decode(out.stderr));
  const graph = JSON.parse(new TextDecoder().decode(out.stdout)) as {
    modules: { specifier: string }[];
  };
  const specifiers = graph.modules.map((m) => m.specifier);
  assert.ok(specifiers.some((s) => s.endsWith("/core/harness/case.ts")), specifiers.join("\n"));
  assert.deepEqual(specifiers.filter((s) => !s.startsWith("file:")), []);
  // the pipeline-kind table that defineCase reads reaches core/pipelines (plain TypeScript) and
  // the model interfaces (types only); no model runtime
  assert.deepEqual(specifiers.filter((s) => /onnxruntime|\/models\/(?!types\.ts$)/.test(s)), []);
});

Deno.test("every case file imports with --allow-read alone (no ffi, so no onnxruntime)", async () => {
  const script = await Deno.makeTempFile({ suffix: ".ts" });
  try {
    const cases: string[] = [];
    for await (const e of Deno.readDir("cases")) {
      if (e.name.endsWith(".case.ts")) {
        cases.push(new URL(`../cases/${e.name}`, import.meta.url).href);
      }
    }
    assert.ok(cases.length > 0);
    await Deno.writeTextFile(
      script,
      `import { defineCase } from ${
        JSON.stringify(new URL("../case.ts", import.meta.url).href)
      };\n` +
        `const names = [];\n` +
        `for (const url of ${
          JSON.stringify(cases.sort())
        }) names.push((await import(url)).default.name);\n` +
        `console.log(typeof defineCase, names.length);\n`,
    );
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--allow-read", "--no-prompt", script],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stderr = new TextDecoder().decode(out.stderr);
    assert.ok(out.success, stderr);
    assert.equal(new TextDecoder().decode(out.stdout).trim(), `function ${cases.length}`);
  } finally {
    await Deno.remove(script);
  }
});
