import assert from "node:assert/strict";
import { FileError } from "../../core/tensor/errors.ts";
import { OnnxUNet, timestepShape } from "../../core/models/onnx_unet.ts";
import { Tensor } from "../../core/tensor/tensor.ts";

const GRAPHS = "fixtures/models-test";

/** sample [B,4,2,2] with dyadic values i/4, and encoder_hidden_states [B,3,8] whose [b,0,0] is
 * 0.5 for b = 0 and -0.25 for b = 1. */
function inputs(batch: number): { sample: Tensor; hidden: Tensor } {
  const sample = new Tensor(Float32Array.from({ length: batch * 16 }, (_, i) => i / 4), [
    batch,
    4,
    2,
    2,
  ]);
  const hidden = Tensor.zeros([batch, 3, 8]);
  hidden.data[0] = 0.5;
  if (batch > 1) hidden.data[24] = -0.25;
  return { sample, hidden };
}

/** The test graphs compute out[b] = sample[b] + t + hidden[b, 0, 0] (dump_test_graphs.py). */
function expected(sample: Tensor, t: number, hidden: Tensor): number[] {
  const per = sample.size / sample.shape[0];
  return [...sample.data].map((x, i) => x + t + hidden.data[Math.floor(i / per) * 24]);
}

Deno.test("timestepShape follows the declared rank and extent", () => {
  assert.deepEqual(timestepShape([]), []);
  assert.deepEqual(timestepShape(["steps"]), [1]);
  assert.deepEqual(timestepShape([-1]), [1]);
  assert.deepEqual(timestepShape([1]), [1]);
  assert.deepEqual(timestepShape([2]), [2]);
});

Deno.test("int64, int32, float and 0-d timesteps are fed in the declared dtype and shape", async () => {
  const cases: [string, number, number][] = [
    // [file, t given, t the graph sees]: integer dtypes truncate as numpy's cast
    ["unet_int64.onnx", 981, 981],
    ["unet_int64.onnx", 500.75, 500],
    ["unet_int32.onnx", 981, 981],
    ["unet_int32.onnx", 500.75, 500],
    ["unet_float.onnx", 500.75, 500.75],
    ["unet_scalar_timestep.onnx", 21, 21],
  ];
  for (const [file, t, seen] of cases) {
    const unet = await OnnxUNet.load(`${GRAPHS}/${file}`);
    try {
      const { sample, hidden } = inputs(2);
      const out = await unet.predict(sample, t, hidden);
      assert.deepEqual(out.shape, [2, 4, 2, 2], file);
      assert.deepEqual([...out.data], expected(sample, seen, hidden), `${file} t=${t}`);
    } finally {
      await unet.release();
    }
  }
});

Deno.test("a fixed [2] timestep gets the value twice", async () => {
  const unet = await OnnxUNet.load(`${GRAPHS}/unet_fixed2_timestep.onnx`);
  try {
    const { sample, hidden } = inputs(2);
    const out = await unet.predict(sample, 7, hidden);
    assert.deepEqual([...out.data], expected(sample, 7, hidden));
  } finally {
    await unet.release();
  }
});

Deno.test("fp16 UNet: float32 in, float16 through the graph, float32 out", async () => {
  const unet = await OnnxUNet.load(`${GRAPHS}/unet_fp16.onnx`);
  try {
    assert.equal(unet.input("sample").type, "float16");
    const { sample, hidden } = inputs(2);
    const out = await unet.predict(sample, 21, hidden);
    // Every value here is exact in binary16 (multiples of 1/4 below 32; spacing there <= 1/64).
    assert.deepEqual([...out.data], expected(sample, 21, hidden));
    // 0.1 is rounded to binary16 on the way in; 981 + 0.0999755859375 rounds to 981 in binary16
    // (spacing 0.5 in [512, 1024)).
    const tiny = new Tensor(new Float32Array(16).fill(0.1), [1, 4, 2, 2]);
    const out2 = await unet.predict(tiny, 981, Tensor.zeros([1, 3, 8]));
    assert.deepEqual([...out2.data], new Array(16).fill(981));
  } finally {
    await unet.release();
  }
});

Deno.test("each call's time is recorded", async () => {
  const unet = await OnnxUNet.load(`${GRAPHS}/unet_int64.onnx`);
  try {
    assert.equal(unet.lastRunMs, undefined);
    const { sample, hidden } = inputs(1);
    await unet.predict(sample, 1, hidden);
    assert.equal(typeof unet.lastRunMs, "number");
    assert.equal(unet.session.runs, 1);
    assert.equal(unet.record().provider, "cpu");
  } finally {
    await unet.release();
  }
});

Deno.test("graphs that do not fit a UNet fail at load, naming file and input", async () => {
  const bad: [string, RegExp][] = [
    [
      "unet_renamed_input.onnx",
      /input 'encoder_hidden_states': missing; the model has inputs \[sample, timestep, context\]/,
    ],
    ["unet_wrong_rank.onnx", /input 'sample': rank 3 \[batch, 4, height\]; expected rank 4/],
    ["unet_wrong_dtype.onnx", /input 'sample': element type float64; expected float32 or float16/],
    ["unet_extra_input.onnx", /input 'timestep_cond': the pipeline does not feed it/],
    ["vae_decoder.onnx", /input 'sample': missing; the model has inputs \[latent_sample\]/],
  ];
  for (const [file, message] of bad) {
    await assert.rejects(
      OnnxUNet.load(`${GRAPHS}/${file}`),
      (e: unknown) =>
        e instanceof FileError && e.file === `${GRAPHS}/${file}` && message.test(e.message),
      file,
    );
  }
});

Deno.test("a sample whose channels do not fit the declared 4 is refused before running", async () => {
  const unet = await OnnxUNet.load(`${GRAPHS}/unet_int64.onnx`);
  try {
    await assert.rejects(
      unet.predict(Tensor.zeros([1, 3, 2, 2]), 1, Tensor.zeros([1, 3, 8])),
      /input 'sample': got float32 \[1, 3, 2, 2\]; the model declares float32 \[batch, 4, height, width\]/,
    );
  } finally {
    await unet.release();
  }
});

Deno.test("an unconditional UNet: out_sample = sample + t, no embeddings fed", async () => {
  const unet = await OnnxUNet.load(`${GRAPHS}/unet_unconditional.onnx`);
  try {
    assert.equal(unet.conditional, false);
    assert.deepEqual(unet.session.inputs.map((i) => i.name), ["sample", "timestep"]);
    const sample = new Tensor(Float32Array.from({ length: 24 }, (_, i) => i / 4), [2, 3, 2, 2]);
    for (const [t, seen] of [[981, 981], [500.75, 500]]) {
      const out = await unet.predict(sample, t);
      assert.deepEqual(out.shape, [2, 3, 2, 2]);
      assert.deepEqual([...out.data], [...sample.data].map((x) => x + seen), `t=${t}`);
    }
  } finally {
    await unet.release();
  }
});

Deno.test("embeddings for an unconditional UNet, or none for a conditional one, are refused", async () => {
  const uncond = await OnnxUNet.load(`${GRAPHS}/unet_unconditional.onnx`);
  const cond = await OnnxUNet.load(`${GRAPHS}/unet_int64.onnx`);
  try {
    assert.equal(cond.conditional, true);
    await assert.rejects(
      uncond.predict(Tensor.zeros([1, 3, 2, 2]), 1, Tensor.zeros([1, 3, 8])),
      (e: unknown) =>
        e instanceof FileError && e.file === `${GRAPHS}/unet_unconditional.onnx` &&
        e.field === "input 'encoder_hidden_states'" &&
        /text embeddings were given, but this UNet has no such input \(an unconditional UNet: inputs \[sample, timestep\]\)/
          .test(e.message),
    );
    await assert.rejects(
      cond.predict(Tensor.zeros([1, 4, 2, 2]), 1),
      (e: unknown) =>
        e instanceof FileError && e.file === `${GRAPHS}/unet_int64.onnx` &&
        e.field === "input 'encoder_hidden_states'" &&
        /no text embeddings were given, but this UNet is text-conditioned/.test(e.message),
    );
    // Refused before running: no session run was counted.
    assert.deepEqual([uncond.session.runs, cond.session.runs], [0, 0]);
  } finally {
    await uncond.release();
    await cond.release();
  }
});
