/**
 * Finds and imports case files (`*.case.ts`), checking that each default-exports a case made
 * by `defineCase` and that names are unique; and study files (`*.study.ts`, `defineStudy`).
 *
 * @module
 */
import { type Case, CaseError, defaultReferences, defineCase } from "./case.ts";
import { relative, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { defineStudy, type Study, StudySpecError } from "./study.ts";
import type { InversionStudySpec } from "./study.ts";
import type { SamplerStudySpec } from "./sampler_study_spec.ts";

/**
 * Imports every `*.case.ts` under `dir` (sorted by file name) and returns their cases.
 * `filter`, when given, keeps cases whose name matches it (a RegExp, or a substring).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { loadCases } from "./cases_loader.ts";
 * const cases = await loadCases("cases", /^ddim-eta/);
 * assert.deepEqual(cases.map((c) => c.name), ["ddim-eta0", "ddim-eta05"]);
 * assert.equal((await loadCases("cases", "ddim-eta")).length, 3); // a substring: v-ddim-eta0 too
 * ```
 */
export async function loadCases(dir: string, filter?: string | RegExp): Promise<Case[]> {
  const root = resolve(dir);
  let entries: string[];
  try {
    entries = [];
    for await (const e of Deno.readDir(root)) {
      if (e.isFile && e.name.endsWith(".case.ts")) entries.push(e.name);
    }
  } catch (err) {
    throw new CaseError("<all>", "cases folder", `cannot read ${root}: ${(err as Error).message}`);
  }
  entries.sort();
  const cases: Case[] = [];
  const seen = new Map<string, string>();
  for (const file of entries) {
    const path = `${root}/${file}`;
    let mod: Record<string, unknown>;
    try {
      mod = await import(pathToFileURL(path).href);
    } catch (err) {
      if (err instanceof CaseError) {
        throw new CaseError(
          err.caseName,
          err.field,
          `${err.message.split(": ").slice(2).join(": ")} (in ${dir}/${file})`,
        );
      }
      throw new CaseError("<unnamed>", file, `cannot import: ${(err as Error).message}`);
    }
    let c = mod.default as Case | undefined;
    if (!c || typeof c !== "object" || typeof c.name !== "string" || !c.references) {
      throw new CaseError("<unnamed>", file, "expected `export default defineCase({...})`");
    }
    // Re-validate: a hand-built object must pass the same checks.
    defineCase(c);
    c = besideCases(c, dir);
    const prior = seen.get(c.name);
    if (prior) throw new CaseError(c.name, "name", `used by both ${prior} and ${file}`);
    seen.set(c.name, file);
    cases.push(c);
  }
  if (filter === undefined || filter === "") return cases;
  const re = typeof filter === "string" ? null : filter;
  return cases.filter((c) => (re ? re.test(c.name) : c.name.includes(filter as string)));
}

/**
 * A user's references live beside their cases: a case on a model outside fixtures/ that names no
 * references of its own gets `<dir>/refs/<name>.{onnx,torch}.safetensors` instead of the
 * project default (fixtures/refs/cases/, for the shipped models).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { besideCases } from "./cases_loader.ts";
 * import { defineCase } from "./case.ts";
 * const c = defineCase({
 *   name: "mine", model: "my-export", pipeline: "text2img", sampler: { type: "DDIMScheduler" },
 *   steps: 4, prompt: "a cat", guidanceScale: 7.5, seed: 0,
 * });
 * assert.equal(besideCases(c, "my-cases").references.onnx, "my-cases/refs/mine.onnx.safetensors");
 * const shipped = { ...c, model: "fixtures/models/tiny-sd" };
 * assert.equal(besideCases(shipped, "my-cases"), shipped); // a shipped model: the project default
 * ```
 */
export function besideCases(c: Case, dir: string): Case {
  const projectDefault = defaultReferences(c.name);
  const own = c.references.onnx !== projectDefault.onnx ||
    c.references.torch !== projectDefault.torch;
  if (own || isShippedModel(c.model)) return c;
  const references = defaultReferences(c.name, `${dir.replace(/\/+$/, "")}/refs`);
  return Object.freeze({ ...c, references: Object.freeze(references) });
}

/**
 * Whether a model folder is one of the project's (under fixtures/), whose references
 * `deno task refs` makes; any other is a user's.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { isShippedModel } from "./cases_loader.ts";
 * assert.equal(isShippedModel("fixtures/models/tiny-sd"), true);
 * assert.equal(isShippedModel("examples/your-model/model/onnx"), false);
 * ```
 */
export function isShippedModel(model: string): boolean {
  return !relative(resolve("fixtures"), resolve(model)).startsWith("..");
}

/**
 * Imports a study file (`export default defineStudy({...})`) and checks it again; with `kind`,
 * a study of another kind is refused, naming the command that runs it.
 *
 * @throws {StudySpecError} naming the file when it cannot be imported or holds no study, or the
 * study's first bad field.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { loadStudy } from "./cases_loader.ts";
 * const s = await loadStudy("cases/inversion.study.ts");
 * assert.equal(s.kind, "inversion");
 * await assert.rejects(loadStudy("cases/inversion.study.ts", "samplers"), /kind: expected "samplers"/);
 * await assert.rejects(loadStudy("cases/no-such.study.ts"), /cases\/no-such\.study\.ts: cannot import/);
 * ```
 */
export async function loadStudy<K extends Study["kind"] = Study["kind"]>(
  path: string,
  kind?: K,
): Promise<Extract<Study, { kind: K }>> {
  // a study error names the file it came from
  const named = (err: StudySpecError) =>
    new StudySpecError(err.study, err.field, `${err.problem} (in ${path})`);
  let mod: Record<string, unknown>;
  try {
    mod = await import(pathToFileURL(resolve(path)).href);
  } catch (err) {
    if (err instanceof StudySpecError) throw named(err);
    throw new StudySpecError("(unnamed)", path, `cannot import: ${(err as Error).message}`);
  }
  const study = mod.default as InversionStudySpec | SamplerStudySpec | undefined;
  if (!study || typeof study !== "object" || typeof study.name !== "string") {
    throw new StudySpecError("(unnamed)", path, "expected `export default defineStudy({...})`");
  }
  let checked: Study;
  try {
    // checked again: the file may not have called defineStudy
    checked = study.kind === "samplers"
      ? defineStudy(study)
      : defineStudy(study as InversionStudySpec);
  } catch (err) {
    throw err instanceof StudySpecError ? named(err) : err;
  }
  if (kind !== undefined && checked.kind !== kind) {
    throw named(
      new StudySpecError(
        checked.name,
        "kind",
        `expected "${kind}", got "${checked.kind}" (run it with \`deno task study ${checked.kind}\`)`,
      ),
    );
  }
  return checked as Extract<Study, { kind: K }>;
}
