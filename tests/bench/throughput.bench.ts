/**
 * `deno task bench`: speed figures and ratios (never timed tests).
 * - TorchGenerator.randn on an SD 1.5-sized latent (4x64x64) against plain Math.random
 *   Box–Muller (the cost of bit-exactness with torch);
 * - one DDIM / DDPM / Euler step on 4x64x64 latents;
 * - the UNet of fixtures/models/tiny-sd on the CPU provider, batch 2 (CFG) vs batch 1;
 * - a whole ddim-eta0 text2img free run on tiny-sd.
 */
import { DDIMScheduler } from "../../core/schedulers/ddim.ts";
import { DDPMScheduler } from "../../core/schedulers/ddpm.ts";
import { EulerDiscreteScheduler } from "../../core/schedulers/euler_discrete.ts";
import { loadModelFolder } from "../../core/models/load_model_folder.ts";
import { samplerRun } from "../pipelines/_standins.ts";
import { text2img } from "../../core/pipelines/text2img.ts";
import { TorchGenerator } from "../../core/tensor/torch_generator.ts";
import { Tensor } from "../../core/tensor/tensor.ts";

const SHAPE = [1, 4, 64, 64];
const SIZE = 4 * 64 * 64;
const sd = { betaSchedule: "scaled_linear" as const, betaStart: 0.00085, betaEnd: 0.012 };

Deno.bench(
  "randn 4x64x64: TorchGenerator (bit-exact torch)",
  { group: "randn", baseline: true },
  () => {
    new TorchGenerator(0).randn(SHAPE);
  },
);
Deno.bench("randn 4x64x64: Math.random Box-Muller (not reproducible)", { group: "randn" }, () => {
  const out = new Float32Array(SIZE);
  for (let i = 0; i < SIZE; i += 2) {
    const r = Math.sqrt(-2 * Math.log(1 - Math.random()));
    const th = 2 * Math.PI * Math.random();
    out[i] = r * Math.cos(th);
    out[i + 1] = r * Math.sin(th);
  }
});

const sample = new TorchGenerator(1).randn(SHAPE);
const eps = new TorchGenerator(2).randn(SHAPE);
const ddim = new DDIMScheduler(sd);
ddim.setTimesteps(50);
const ddpm = new DDPMScheduler(sd);
ddpm.setTimesteps(50);
const euler = new EulerDiscreteScheduler(sd);
euler.setTimesteps(50);
Deno.bench("step 4x64x64: DDIM eta 0", { group: "step", baseline: true }, () => {
  ddim.step(eps, ddim.timesteps[10], sample);
});
Deno.bench("step 4x64x64: DDIM eta 1 (draws noise)", { group: "step" }, () => {
  ddim.step(eps, ddim.timesteps[10], sample, { eta: 1, generator: new TorchGenerator(3) });
});
Deno.bench("step 4x64x64: DDPM (draws noise)", { group: "step" }, () => {
  ddpm.step(eps, ddpm.timesteps[10], sample, { generator: new TorchGenerator(3) });
});
Deno.bench("step 4x64x64: Euler", { group: "step" }, () => {
  euler.setTimesteps(50);
  euler.step(eps, euler.timesteps[0], sample);
});

const model = await loadModelFolder("fixtures/models/tiny-sd", { vaeEncoder: false });
const latent1 = new TorchGenerator(4).randn([1, 4, 16, 16]);
const latent2 = new Tensor(new Float32Array([...latent1.data, ...latent1.data]), [2, 4, 16, 16]);
const embeds1 = await model.textEncoder!.encode([model.tokenizer!.encode("a cat")]);
const embeds2 = await model.textEncoder!.encode([
  model.tokenizer!.encode(""),
  model.tokenizer!.encode("a cat"),
]);
Deno.bench("tiny-sd UNet, CPU provider: batch 1", { group: "unet", baseline: true }, async () => {
  await model.unet.predict(latent1, 500, embeds1);
});
Deno.bench("tiny-sd UNet, CPU provider: batch 2 (CFG)", { group: "unet" }, async () => {
  await model.unet.predict(latent2, 500, embeds2);
});
Deno.bench("tiny-sd text2img, DDIM 20 steps, CFG, decode", { group: "pipeline" }, async () => {
  await text2img({
    unet: model.unet,
    ...samplerRun(DDIMScheduler.fromConfig(model.schedulerConfig), 0),
    prompt: { tokenizer: model.tokenizer!, textEncoder: model.textEncoder!, prompt: "a cat" },
    steps: 20,
    guidanceScale: 7.5,
    latentShape: [1, 4, 16, 16],
    vaeDecoder: model.vaeDecoder,
    scalingFactor: 0.18215,
  });
});
