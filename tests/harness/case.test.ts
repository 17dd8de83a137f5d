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

Deno.test("defineCase merges given tolerances over the defaults bound by bound", () => {
  const c = defineCase({ ...base, tolerances: { freeRunTorch: { maxAbs: 0.5 } } });
  assert.deepEqual(c.tolerances.freeRunTorch, { maxAbs: 0.5, cosineMin: 0.99999 });
  assert.deepEqual(c.tolerances.freeRunOnnx, defaultTolerances.freeRunOnnx);
  const added = defineCase({ ...base, tolerances: { replayModel: { relL2: 1e-4 } } });
  assert.deepEqual(added.tolerances.replayModel, { maxAbs: 1e-5, relL2: 1e-4 });
  const same = defineCase({ ...base, tolerances: { image: {}, replayScheduler: undefined } });
  assert.deepEqual(same.tolerances, defineCase(base).tolerances);
});

Deno.test("defineCase drops a default bound given as null, and only that one", () => {
  const c = defineCase({
    ...base,
    tolerances: {
      freeRunTorch: { maxAbs: null, relL2: 1e-3 },
      image: { psnrMin: null, ssimMin: 0.99 },
    },
  });
  assert.deepEqual(c.tolerances.freeRunTorch, { relL2: 1e-3, cosineMin: 0.99999 });
  assert.deepEqual(c.tolerances.image, { ssimMin: 0.99 });
  assert.deepEqual(c.tolerances.freeRunOnnx, defaultTolerances.freeRunOnnx);
  // A defined case still passes validation (the loader re-validates what it imports).
  assert.doesNotThrow(() => defineCase(c));
});

Deno.test("defineCase leaves the defaults untouched", () => {
  const before = JSON.stringify(defaultTolerances);
  defineCase({ ...base, tolerances: { freeRunTorch: { maxAbs: null, cosineMin: 0.5 } } });
  assert.equal(JSON.stringify(defaultTolerances), before);
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
  [
    "eta for a sampler without it",
    { sampler: { type: "CompVisPLMS" }, eta: 0.5 },
    /eta: CompVisPLMS has no eta \(it would be ignored\); samplers that take it: DDIMScheduler, LabmlDDIM/,
  ],
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
  [
    "tolerance bound name",
    { tolerances: { freeRunTorch: { maxabs: 1 } } as never },
    /tolerances\.freeRunTorch\.maxabs: unknown bound; expected maxAbs, maxUlp, rmse, relL2, cosineMin, psnrMin, ssimMin/,
  ],
  [
    "a bound the comparison does not measure",
    { tolerances: { freeRunOnnx: { psnrMin: 40 } } },
    /tolerances\.freeRunOnnx\.psnrMin: not measured by this comparison; expected one of maxAbs, maxUlp, rmse, relL2, cosineMin/,
  ],
  [
    "a comparison left with no bound",
    { tolerances: { freeRunTorch: { maxAbs: null, cosineMin: null } } },
    /tolerances\.freeRunTorch: no bound left after merging \(a comparison with no bound can never fail\)/,
  ],
  [
    "negative tolerance bound",
    { tolerances: { replayModel: { maxAbs: -1 } } },
    /tolerances\.replayModel\.maxAbs: expected a finite number >= 0, or null/,
  ],
  [
    "infinite tolerance bound",
    { tolerances: { image: { psnrMin: Infinity } } },
    /tolerances\.image\.psnrMin: expected a finite number >= 0, or null.*got Infinity/,
  ],
  [
    "NaN tolerance bound",
    { tolerances: { freeRunOnnx: { rmse: NaN } } },
    /tolerances\.freeRunOnnx\.rmse: expected a finite number >= 0, or null.*got NaN/,
  ],
  [
    "string tolerance bound",
    { tolerances: { freeRunOnnx: { maxAbs: "1e-5" } } as never },
    /tolerances\.freeRunOnnx\.maxAbs: expected a finite number >= 0, or null.*got "1e-5"/,
  ],
  [
    "tolerance that is not an object",
    { tolerances: { freeRunOnnx: 1e-5 } as never },
    /tolerances\.freeRunOnnx: expected an object of bounds/,
  ],
  [
    "tolerances that are not an object",
    { tolerances: "tight" as never },
    /tolerances: expected an object of comparison -> bounds/,
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

Deno.test("defineCase: precision float16 is validated against the pipeline, sampler and eta", () => {
  const base = {
    name: "h",
    model: "m",
    pipeline: "text2img" as const,
    sampler: { type: "DDIMScheduler" as const },
    steps: 2,
    prompt: "",
    guidanceScale: 7.5,
    seed: 0,
  };
  assert.equal(defineCase({ ...base, precision: "float16" }).precision, "float16");
  assert.equal(defineCase(base).precision, undefined); // not filled in: float32
  const field = (f: string) => (e: unknown) => e instanceof CaseError && e.field === f;
  assert.throws(() => defineCase({ ...base, precision: "bf16" as "float16" }), field("precision"));
  assert.throws(
    () =>
      defineCase({ ...base, precision: "float16", sampler: { type: "EulerDiscreteScheduler" } }),
    /case 'h': precision: EulerDiscreteScheduler has no float16 sampler mode; samplers that have one: DDIMScheduler, PNDMScheduler/,
  );
  assert.throws(
    () => defineCase({ ...base, precision: "float16", eta: 0.5 }),
    /case 'h': precision: the float16 sampler mode runs eta 0 only; got eta 0.5/,
  );
  assert.throws(
    () => defineCase({ ...base, precision: "float16", pipeline: "img2img", image: "i.png" }),
    /case 'h': precision: the float16 sampler mode runs text2img only; got 'img2img'/,
  );
  assert.throws(
    () =>
      defineCase({
        ...base,
        precision: "float16",
        sampler: { type: "DDIMScheduler", implementation: "./mine.ts" },
      }),
    /precision: float16 runs our own scheduler ports only/,
  );
});

Deno.test("defineCase: an unconditional case needs no prompt, and refuses one naming the field", () => {
  const uncond: CaseSpec = {
    name: "digits",
    model: "fixtures/models/digits-ddpm",
    pipeline: "unconditional",
    sampler: { type: "DDIMScheduler" },
    steps: 50,
    eta: 0,
    seed: 0,
    useClippedModelOutput: true,
  };
  const c = defineCase(uncond);
  assert.deepEqual([c.pipeline, c.prompt, c.guidanceScale, c.useClippedModelOutput], [
    "unconditional",
    undefined,
    undefined,
    true,
  ]);
  const refused: [Record<string, unknown>, RegExp][] = [
    [{ prompt: "a cat" }, /case 'digits': prompt: pipeline 'unconditional' takes no prompt/],
    [
      { guidanceScale: 7.5 },
      /case 'digits': guidanceScale: pipeline 'unconditional' takes no prompt/,
    ],
    [{ height: 16 }, /case 'digits': height: pipeline 'unconditional' takes the image size from/],
    [
      { sampler: { type: "EulerDiscreteScheduler" } },
      /case 'digits': sampler\.type: pipeline 'unconditional' runs/,
    ],
    [
      { sampler: { type: "DDPMScheduler" } },
      /case 'digits': useClippedModelOutput: DDIMPipeline's option/,
    ],
    [
      { precision: "float16" },
      /case 'digits': precision: the float16 sampler mode runs text2img only/,
    ],
  ];
  for (const [patch, message] of refused) {
    assert.throws(() => defineCase({ ...uncond, ...patch } as CaseSpec), (err: unknown) => {
      assert.ok(err instanceof CaseError);
      assert.match(err.message, message);
      return true;
    });
  }
  // a prompt kind still needs its prompt, and has no useClippedModelOutput
  const noPrompt = { ...base, prompt: undefined } as unknown as CaseSpec;
  assert.throws(() => defineCase(noPrompt), /case 'ddim-test': prompt: expected a string/);
  assert.throws(
    () => defineCase({ ...base, useClippedModelOutput: true } as unknown as CaseSpec),
    /case 'ddim-test': useClippedModelOutput: DDIMPipeline's option \(pipeline 'unconditional'\)/,
  );
});
