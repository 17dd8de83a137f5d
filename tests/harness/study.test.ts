import assert from "node:assert/strict";
import { loadStudy } from "../../core/harness/cases_loader.ts";
import {
  defineStudy,
  type InversionStudySpec,
  type StudyMethodSpec,
  StudySpecError,
} from "../../core/harness/study.ts";

const base: InversionStudySpec = {
  name: "small",
  kind: "inversion",
  models: [{ model: "fixtures/models/digits-ddpm", images: 2 }],
  methods: [{ id: "ddim", spec: { method: "ddim" } }],
  steps: [10],
  guidance: [1],
  seed: 0,
};

Deno.test("defineStudy: checked, frozen, every bad field named", () => {
  const s = defineStudy(base);
  assert.ok(Object.isFrozen(s) && Object.isFrozen(s.models[0]));
  const bad: [Partial<InversionStudySpec> & Record<string, unknown>, RegExp][] = [
    [{ name: "Big Study" }, /study 'Big Study': name: expected lowercase/],
    [{ kind: "render" as "inversion" }, /kind: expected "inversion" or "samplers", got "render"/],
    [{ models: [] }, /models: expected at least one/],
    [
      { models: [{ model: "m", images: 0 }] },
      /models\[0\]\.images: expected a positive whole number/,
    ],
    [
      { methods: [{ id: "a", spec: { method: "ddim" } }, { id: "a", spec: { method: "edict" } }] },
      /methods\[1\] \(a\)\.id: 'a' is used twice/,
    ],
    [
      { methods: [{ id: "x", spec: { method: "fixed-point", iterations: 1, average: 3 } }] },
      /methods\[0\] \(x\)\.spec\.average: expected a whole number in 1\.\.2/,
    ],
    [{
      methods: [{
        id: "x",
        spec: { method: "ddim" },
        config: [] as unknown as Record<string, unknown>,
      }],
    }, /methods\[0\] \(x\)\.config: expected an object/],
    [{ steps: [10, 2.5] }, /steps: expected a list of positive whole numbers/],
    [
      { methods: [{ id: "t", spec: { method: "tutorial" } }], steps: [2, 10] },
      /steps: method 't' \(the tutorial's loop\) needs at least 3 steps/,
    ],
    [{ strps: {} }, /strps: not a field of an inversion study \(expected one of name, kind/],
    [
      { methods: [{ id: "x", spec: { method: "ddim" }, pixl: false } as StudyMethodSpec] },
      /methods\[0\] \(x\)\.pixl: not a field of a study method/,
    ],
    [
      { methods: [{ id: "x", spec: { method: "renoise" as "ddim" } }] },
      /spec\.method: expected one of .*, got "renoise"/,
    ],
    [{ guidance: [-1] }, /guidance: expected a list of numbers >= 0/],
    [
      { strips: { images: 1, steps: 50, guidance: [1] } },
      /strips\.steps: expected one of the study's steps/,
    ],
  ];
  for (const [patch, message] of bad) {
    assert.throws(
      () => defineStudy({ ...base, ...patch } as InversionStudySpec),
      (err: unknown) => {
        assert.ok(err instanceof StudySpecError);
        assert.match(err.message, message);
        return true;
      },
    );
  }
});

Deno.test("loadStudy: the shipped study; a file without a study is named", async () => {
  const s = await loadStudy("cases/inversion.study.ts", "inversion");
  assert.deepEqual([s.name, s.steps, s.guidance], ["inversion", [10, 25, 50, 100], [1, 3.5, 7.5]]);
  assert.ok(s.models.every((m) => m.images >= 16));
  const dir = await Deno.makeTempDir();
  await Deno.writeTextFile(`${dir}/x.study.ts`, "export default 3;\n");
  await assert.rejects(
    loadStudy(`${dir}/x.study.ts`),
    /x\.study\.ts: expected `export default defineStudy/,
  );
  await Deno.remove(dir, { recursive: true });
});
