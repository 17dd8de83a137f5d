import assert from "node:assert/strict";
import { NonFiniteError, PipelineInputError } from "../../core/pipelines/errors.ts";
import { finishPipeline, maybeDecode } from "../../core/pipelines/result.ts";
import { unscaleLatents } from "../../core/pipelines/vae.ts";
import { Tensor } from "../../core/tensor/tensor.ts";
import { StandInVaeDecoder } from "./_standins.ts";
import { assertBitEqual } from "./_refs.ts";

const Z = new Tensor(Float32Array.from({ length: 16 }, (_, i) => i / 8 - 1), [1, 4, 2, 2]);

Deno.test("maybeDecode decodes latents / scaling_factor when a decoder is given, nothing otherwise", async () => {
  assert.deepEqual(await maybeDecode(undefined, undefined, Z, 3), { decodeMs: 0 });
  const decoder = new StandInVaeDecoder(4);
  const { image } = await maybeDecode(decoder, 0.18215, Z, 3);
  assertBitEqual(decoder.inputs[0], unscaleLatents(Z, 0.18215), "decoder input");
  assert.deepEqual(image?.shape, [1, 3, 8, 8]);
  await assert.rejects(
    () => maybeDecode(decoder, undefined, Z, 3),
    (e: unknown) => e instanceof PipelineInputError && e.field === "scalingFactor",
  );
});

Deno.test("a non-finite decoded image is reported after the last step, as tensor 'image'", async () => {
  const nanDecoder = {
    decode: (z: Tensor) => {
      const out = Tensor.zeros([1, 3, z.shape[2], z.shape[3]]);
      out.data[1] = NaN;
      return Promise.resolve(out);
    },
  };
  await assert.rejects(
    () => maybeDecode(nanDecoder, 1, Z, 12),
    (e: unknown) =>
      e instanceof NonFiniteError && e.stepIndex === 12 && e.tensor === "image" &&
      e.elementIndex === 1,
  );
});

Deno.test("finishPipeline assembles the result with timings and optional parts", async () => {
  const embeds = Tensor.zeros([2, 3, 2]);
  const r = await finishPipeline({}, {
    prompt: { embeds, inputIds: [[1], [2]], encoderMs: 4 },
    initLatents: Z,
    timesteps: [981, 961],
    latents: Z,
    loopMs: 10,
    modelMs: 7,
    noise: Z,
  });
  assert.equal(r.promptEmbeds, embeds);
  assert.deepEqual(r.inputIds, [[1], [2]]);
  assert.deepEqual(r.timing, {
    encodePromptMs: 4,
    encodeImageMs: 0,
    loopMs: 10,
    modelMs: 7,
    decodeMs: 0,
  });
  assert.equal(r.noise, Z);
  assert.ok(!("image" in r) && !("imageLatents" in r) && !("keepMask" in r));
});
