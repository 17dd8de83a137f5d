import assert from "node:assert/strict";
import { CaseError, defaultTolerances, defineCase } from "../../core/harness/case.ts";
import type { CaseSpec } from "../../core/harness/case.ts";

const base: CaseSpec = {
  name: "ddim-test",
  model: "fixtures/models/tiny-sd",
  pipeline: "text2img",
  sampler: { type: "DDIMScheduler" },
  steps: 10,
  prompt: "a cat",
  guidanceScale: 7.5,
  seed: 0,
};

Deno.test("defineCase fills reference paths and default tolerances", () => {
  const c = defineCase(base);
  assert.equal(c.references.onnx, "fixtures/refs/cases/ddim-test.onnx.safetensors");
  assert.equal(c.references.torch, "fixtures/refs/cases/ddim-test.torch.safetensors");
  assert.deepEqual(c.tolerances.replayScheduler, defaultTolerances.replayScheduler);
  assert.ok(Object.isFrozen(c) && Object.isFrozen(c.sampler));
});

Deno.test("defineCase keeps given tolerances over the defaults", () => {
  const c = defineCase({ ...base, tolerances: { freeRunTorch: { maxAbs: 0.5 } } });
  assert.deepEqual(c.tolerances.freeRunTorch, { maxAbs: 0.5 });
  assert.deepEqual(c.tolerances.freeRunOnnx, defaultTolerances.freeRunOnnx);
});

const bad: [string, Partial<CaseSpec> & Record<string, unknown>, RegExp][] = [
  ["name", { name: "Bad Name" }, /case 'Bad Name': name: expected lowercase/],
  [
    "pipeline",
    { pipeline: "video" as never },
    /pipeline: expected one of text2img, img2img, inpaint/,
  ],
  [
    "sampler",
    { sampler: { type: "Heun" } as never },
    /sampler\.type: expected one of DDIMScheduler/,
  ],
  [
    "labml discretize",
    { sampler: { type: "LabmlDDIM", discretize: "cubic" } as never },
    /sampler\.discretize/,
  ],
  ["steps", { steps: 0 }, /steps: expected a positive integer/],
  ["eta", { eta: -1 }, /eta: expected a number >= 0/],
  ["seed", { seed: 1.5 }, /seed: expected a non-negative safe integer/],
  ["height", { height: 30 }, /height: expected a positive multiple of 8/],
  ["img2img without image", { pipeline: "img2img" }, /image: required by pipeline 'img2img'/],
  [
    "inpaint without mask",
    { pipeline: "inpaint", image: "x.png" },
    /mask: required by pipeline 'inpaint'/,
  ],
  [
    "strength",
    { pipeline: "img2img", image: "x.png", strength: 1.5 },
    /strength: expected a number in \(0, 1\]/,
  ],
  [
    "tolerance kind",
    { tolerances: { freeRun: { maxAbs: 1 } } as never },
    /tolerances\.freeRun: unknown comparison/,
  ],
];
for (const [what, patch, message] of bad) {
  Deno.test(`defineCase rejects a bad ${what} naming the case and field`, () => {
    assert.throws(() => defineCase({ ...base, ...patch } as CaseSpec), (err: unknown) => {
      assert.ok(err instanceof CaseError);
      assert.match(err.message, message);
      return true;
    });
  });
}
