import assert from "node:assert/strict";
import { roundTrip } from "../../../core/pipelines/inversion/round_trip.ts";
import type { StepRecord } from "../../../core/pipelines/types.ts";
import { DDIMScheduler } from "../../../core/schedulers/ddim.ts";
import { Tensor } from "../../../core/tensor/tensor.ts";
import { TorchGenerator } from "../../../core/tensor/torch_generator.ts";

/** A pixel-space stand-in: the noise prediction a smooth function of x and t. */
const unet = {
  calls: [] as number[],
  predict(x: Tensor, t: number) {
    this.calls.push(x.shape[0]);
    return Promise.resolve(new Tensor(x.data.map((v) => 0.2 * Math.sin(v) + 1e-4 * t), x.shape));
  },
};
/** A text stand-in that records the embeddings rows it was given. */
const textUnet = {
  rows: [] as number[],
  predict(x: Tensor, t: number, embeds?: Tensor) {
    this.rows.push(embeds!.shape[0]);
    return Promise.resolve(
      new Tensor(
        x.data.map((v, i) => 0.1 * v + 1e-4 * t + embeds!.data[i % embeds!.data.length]),
        x.shape,
      ),
    );
  },
};
const scheduler = () =>
  new DDIMScheduler({ clipSample: false, setAlphaToOne: false, stepsOffset: 1 });
const image = new Tensor(new Float32Array(16).map((_, i) => Math.cos(i) * 0.8), [1, 1, 4, 4]);

Deno.test("roundTrip: one call sequence over both passes; hooks see indices numbered on", async () => {
  const records: StepRecord[] = [];
  const out = await roundTrip({
    unet,
    scheduler: scheduler(),
    method: { method: "ddim" },
    steps: 5,
    image,
    generator: new TorchGenerator(0),
    hooks: { onStep: (r) => void records.push(r) },
  });
  assert.equal(out.inversionCalls, 5);
  assert.deepEqual(out.timesteps, [1, 201, 401, 601, 801, 801, 601, 401, 201, 1]);
  assert.deepEqual(records.map((r) => r.index), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  assert.deepEqual(records.map((r) => r.step), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  assert.equal(records[5].sample, records[4].prevSample); // sampling starts from the inversion's end
  assert.equal(out.inverted, records[4].prevSample);
  assert.equal(out.initLatents, image); // a pixel model inverts the image itself
  assert.equal(out.image, out.latents);
});

Deno.test("roundTrip: replay hooks reach the sampling pass by their global index; stopAfterCalls cuts either pass", async () => {
  const given: number[] = [];
  const zero = Tensor.zeros(image.shape);
  const out = await roundTrip({
    unet,
    scheduler: scheduler(),
    method: { method: "ddim" },
    steps: 3,
    image,
    generator: new TorchGenerator(0),
    hooks: {
      overrideModelOutput: (i) => (given.push(i), i === 4 ? zero : undefined),
      stopAfterCalls: 5,
    },
  });
  assert.deepEqual(given, [0, 1, 2, 3, 4]);
  assert.equal(out.timesteps.length, 5);
  const early = await roundTrip({
    unet,
    scheduler: scheduler(),
    method: { method: "ddim" },
    steps: 3,
    image,
    generator: new TorchGenerator(0),
    hooks: { stopAfterCalls: 2 },
  });
  assert.deepEqual([early.timesteps.length, early.inversionCalls], [2, 2]);
});

Deno.test("roundTrip: conditioning per method (negative-prompt: 1 row inverting, 2 sampling; tutorial: always 2)", async () => {
  const embeds = new Tensor(new Float32Array(2 * 3 * 4).map((_, i) => i * 1e-3), [2, 3, 4]);
  const encoder = {
    encode: (_img: Tensor) =>
      Promise.resolve(new Tensor(new Float32Array(32).fill(0.05), [1, 2, 4, 4])),
  };
  const run = async (method: "negative-prompt" | "tutorial" | "ddim", g: number, rows: number) => {
    textUnet.rows = [];
    await roundTrip({
      unet: textUnet,
      scheduler: scheduler(),
      method: { method },
      steps: 4,
      image: new Tensor(new Float32Array(3 * 16).fill(0.2), [1, 3, 4, 4]),
      vaeEncoder: encoder,
      scalingFactor: 0.5,
      generator: new TorchGenerator(0),
      prompt: { embeds: new Tensor(embeds.data.slice(0, rows * 12), [rows, 3, 4]) },
      guidanceScale: g,
    });
    return textUnet.rows;
  };
  assert.deepEqual(await run("negative-prompt", 7.5, 2), [1, 1, 1, 1, 2, 2, 2, 2]);
  assert.deepEqual(await run("tutorial", 1, 2), [2, 2, 2, 2, 2, 2]);
  assert.deepEqual(await run("ddim", 1, 1), [1, 1, 1, 1, 1, 1, 1, 1]);
  await assert.rejects(run("ddim", 7.5, 1), /roundTrip: prompt\.embeds: expected \[2, L, D\]/);
});

Deno.test("roundTrip: a latent model needs its scaling factor; a NaN names the pass's call", async () => {
  const encoder = { encode: () => Promise.resolve(Tensor.zeros([1, 2, 4, 4])) };
  await assert.rejects(
    roundTrip({
      unet,
      scheduler: scheduler(),
      method: { method: "ddim" },
      steps: 3,
      image: Tensor.zeros([1, 3, 4, 4]),
      vaeEncoder: encoder,
      generator: new TorchGenerator(0),
      prompt: { embeds: Tensor.zeros([1, 3, 4]) },
      guidanceScale: 1,
    }),
    /roundTrip: scalingFactor: expected the VAE's scaling_factor/,
  );
  const nan = {
    predict: (x: Tensor, t: number) =>
      Promise.resolve(new Tensor(x.data.map(() => (t === 334 ? NaN : 0)), x.shape)),
  };
  await assert.rejects(
    roundTrip({
      unet: nan,
      scheduler: scheduler(),
      method: { method: "ddim" },
      steps: 3,
      image,
      generator: new TorchGenerator(0),
    }),
    (err: Error) => err.name === "NonFiniteError" && /334/.test(err.message),
  );
});

Deno.test("roundTrip: the tutorial starts sampling part-way from inverted[-(startStep + 1)]", async () => {
  const records: StepRecord[] = [];
  const out = await roundTrip({
    unet,
    scheduler: scheduler(),
    method: { method: "tutorial" },
    steps: 6,
    startStep: 2,
    image,
    generator: new TorchGenerator(0),
    hooks: { onStep: (r) => void records.push(r) },
  });
  // invert: reversed [1, 167, 333, 499, 665, 831] from index 1, the last skipped: 4 calls
  assert.equal(out.inversionCalls, 4);
  assert.deepEqual(out.timesteps, [167, 333, 499, 665, 499, 333, 167, 1]);
  // the sampling pass starts at index 2 (t 499) from the latent made at t 333 (-(2 + 1))
  assert.equal(records[4].sample, records[1].prevSample);
  assert.equal(out.inverted, records[1].prevSample);
  assert.deepEqual(records.map((r) => r.step), [0, 1, 2, 3, 4, 5, 6, 7]);
  // a replay that stops inside the inversion samples nothing, and says where it stopped
  const early = await roundTrip({
    unet,
    scheduler: scheduler(),
    method: { method: "tutorial" },
    steps: 6,
    startStep: 2,
    image,
    generator: new TorchGenerator(0),
    hooks: { stopAfterCalls: 1 },
  });
  assert.deepEqual([early.timesteps.length, early.inverted === early.latents], [1, true]);
});

Deno.test("roundTrip: EDICT with replay hooks over both passes: the model sees the given inputs", async () => {
  const seen: number[][] = [];
  const recording = {
    predict(x: Tensor, t: number) {
      seen.push([...x.data]);
      return unet.predict(x, t);
    },
  };
  const given = new Tensor(new Float32Array(16).fill(0.25), image.shape);
  const out = await roundTrip({
    unet: recording,
    scheduler: scheduler(),
    method: { method: "edict", mixing: 0.9 },
    steps: 2,
    image,
    generator: new TorchGenerator(0),
    hooks: { overrideSample: (i) => (i === 1 || i === 5 ? given : undefined) },
  });
  assert.deepEqual([out.inversionCalls, out.timesteps.length], [4, 8]);
  // calls 1 (inversion) and 5 (sampling) ran on the given tensor, the others on EDICT's lanes
  assert.deepEqual([seen[1], seen[5]], [[...given.data], [...given.data]]);
  assert.notDeepEqual(seen[0], [...given.data]);
});
