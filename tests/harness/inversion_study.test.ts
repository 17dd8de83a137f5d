import assert from "node:assert/strict";
import { runInversionStudy } from "../../core/harness/inversion_study.ts";
import { defineStudy } from "../../core/harness/study.ts";

// The shapes of the study on both trained models at one small grid point: what the full study
// (`deno task study inversion`) shows at every point, here on 2 images and 10 steps.
Deno.test("inversion study: EDICT float64 at the round-off floor on both models; guidance 7.5 costs DDIM fidelity", async () => {
  const study = defineStudy({
    name: "small",
    kind: "inversion",
    models: [
      { model: "fixtures/models/digits-sd", images: 2, prompt: "a handwritten digit {k}" },
      { model: "fixtures/models/digits-ddpm", images: 2 },
    ],
    methods: [
      { id: "ddim", spec: { method: "ddim" } },
      { id: "npi", spec: { method: "negative-prompt" } },
      { id: "edict64", spec: { method: "edict", arithmetic: "float64" } },
    ],
    steps: [10],
    guidance: [1, 7.5],
    seed: 0,
    strips: { images: 1, steps: 10, guidance: [7.5] },
  });
  const lines: string[] = [];
  const r = await runInversionStudy(study, { onProgress: (l) => lines.push(l) });
  const cell = (model: string, method: string, g: number | null) =>
    r.cells.find((c) => c.model === model && c.method === method && c.guidance === g)!;
  // the grid: text model x 3 methods x 2 guidance, pixel model x 2 methods (no prompt: no npi)
  assert.equal(r.cells.length, 6 + 2);
  for (const [model, g] of [["digits-sd", 1], ["digits-sd", 7.5], ["digits-ddpm", null]] as const) {
    assert.ok(cell(model, "edict64", g).mean.latentMse <= 1e-9, `${model} g ${g}`);
  }
  // EDICT reaches the VAE ceiling; DDIM at guidance 7.5 is far below its guidance-1 figure
  const sd = r.models.find((m) => m.name === "digits-sd")!;
  assert.ok(Math.abs(cell("digits-sd", "edict64", 7.5).mean.psnr - sd.meanCeilingPsnr) < 1e-6);
  assert.ok(cell("digits-sd", "ddim", 7.5).mean.psnr < cell("digits-sd", "ddim", 1).mean.psnr - 3);
  // negative-prompt inversion at 7.5 reconstructs as DDIM without guidance: uncond == cond
  const { ms: _a, ...npi } = cell("digits-sd", "npi", 7.5).mean;
  const { ms: _b, ...ddim } = cell("digits-sd", "ddim", 1).mean;
  assert.deepEqual(npi, ddim);
  assert.equal(cell("digits-sd", "ddim", 7.5).mean.nfe, 20); // the guidance batch counts as one
  assert.deepEqual(r.strips.map((s) => s.tiles.map((t) => t.label)), [
    ["original", "VAE ceiling", "ddim", "npi", "edict64"],
    ["original", "ddim", "edict64"],
  ]);
  assert.match(lines[lines.length - 1], /study small: 16\/16 round trips · done/);
  assert.match(r.inputs["fixtures/models/digits-sd/unet/model.onnx"], /^[0-9a-f]{64}$/);
});

Deno.test("inversion study: a method's config overrides the model's scheduler config", async () => {
  const study = defineStudy({
    name: "clip",
    kind: "inversion",
    models: [{ model: "fixtures/models/digits-ddpm", images: 1 }],
    methods: [
      { id: "as-is", spec: { method: "ddim" } },
      { id: "noclip", spec: { method: "ddim" }, config: { clip_sample: false } },
    ],
    steps: [25],
    guidance: [1],
    seed: 0,
  });
  const r = await runInversionStudy(study);
  // digits-ddpm's config clips x0 (DDPMScheduler's clip_sample true): the round trip breaks
  assert.ok(
    r.cells[1].mean.psnr > r.cells[0].mean.psnr + 10,
    JSON.stringify(r.cells.map((c) => c.mean.psnr)),
  );
  assert.equal(r.methods[1].label, "DDIM inversion, clip_sample false");
});
