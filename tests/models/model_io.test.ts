import assert from "node:assert/strict";
import { FileError } from "../../core/tensor/errors.ts";
import { checkComponentIO, COMPONENT_SPECS } from "../../core/models/model_io.ts";
import { OnnxSession } from "../../core/models/onnx_session.ts";

const GRAPHS = "fixtures/models-test";

async function declared(file: string) {
  const s = await OnnxSession.create(`${GRAPHS}/${file}`);
  await s.release();
  return { path: s.path, inputs: s.inputs, outputs: s.outputs };
}

function rejectsWith(fn: () => void, message: string): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof FileError, String(e));
    assert.equal(e.message, message);
    return true;
  });
}

Deno.test("the specs use optimum's names", () => {
  assert.deepEqual(COMPONENT_SPECS.unet.inputs.map((s) => s.name), [
    "sample",
    "timestep",
    "encoder_hidden_states",
  ]);
  assert.deepEqual(COMPONENT_SPECS.text_encoder.inputs.map((s) => s.name), ["input_ids"]);
  assert.deepEqual(COMPONENT_SPECS.vae_encoder.outputs.map((s) => s.name), ["latent_parameters"]);
  assert.deepEqual(COMPONENT_SPECS.vae_decoder.inputs.map((s) => s.name), ["latent_sample"]);
});

Deno.test("the well-formed test graphs pass", async () => {
  const ok: [Parameters<typeof checkComponentIO>[0], string][] = [
    ["unet", "unet_int64.onnx"],
    ["unet", "unet_int32.onnx"],
    ["unet", "unet_float.onnx"],
    ["unet", "unet_scalar_timestep.onnx"],
    ["unet", "unet_fixed2_timestep.onnx"],
    ["unet", "unet_fp16.onnx"],
    ["text_encoder", "text_encoder_int32.onnx"],
    ["text_encoder", "text_encoder_int64.onnx"],
    ["vae_encoder", "vae_encoder.onnx"],
    ["vae_decoder", "vae_decoder.onnx"],
  ];
  for (const [component, file] of ok) {
    const d = await declared(file);
    checkComponentIO(component, d.path, d.inputs, d.outputs);
  }
});

Deno.test("a renamed input: names the file, the missing input and the inputs the model has", async () => {
  const d = await declared("unet_renamed_input.onnx");
  rejectsWith(
    () => checkComponentIO("unet", d.path, d.inputs, d.outputs),
    `${GRAPHS}/unet_renamed_input.onnx: input 'encoder_hidden_states': missing; the model has ` +
      "inputs [sample, timestep, context]; expected optimum's names (encoder_hidden_states: " +
      "[batch, tokens, hidden] text embeddings)",
  );
});

Deno.test("a wrong rank names the input, its shape and the expected rank", async () => {
  const d = await declared("unet_wrong_rank.onnx");
  // The graph's input and output are both rank 3: both are reported in one message.
  rejectsWith(
    () => checkComponentIO("unet", d.path, d.inputs, d.outputs),
    `${GRAPHS}/unet_wrong_rank.onnx: 2 problems: input 'sample': rank 3 [batch, 4, height]; ` +
      "expected rank 4 ([batch, channels, height, width] latents); output 'out_sample': rank 3 " +
      "[batch, 4, height]; expected rank 4 ([batch, channels, height, width] model output)",
  );
});

Deno.test("a wrong dtype names the input, its type and the accepted types", async () => {
  const d = await declared("unet_wrong_dtype.onnx");
  rejectsWith(
    () => checkComponentIO("unet", d.path, d.inputs, d.outputs),
    `${GRAPHS}/unet_wrong_dtype.onnx: 2 problems: input 'sample': element type float64; ` +
      "expected float32 or float16 ([batch, channels, height, width] latents); output " +
      "'out_sample': element type float64; expected float32 or float16 ([batch, channels, " +
      "height, width] model output)",
  );
});

Deno.test("an extra required input and a renamed output are reported", async () => {
  const extra = await declared("unet_extra_input.onnx");
  rejectsWith(
    () => checkComponentIO("unet", extra.path, extra.inputs, extra.outputs),
    `${GRAPHS}/unet_extra_input.onnx: input 'timestep_cond': the pipeline does not feed it; a ` +
      "unet must have exactly the inputs [sample, timestep, encoder_hidden_states] (extra " +
      "inputs such as SDXL's text_embeds/time_ids or LCM's timestep_cond are not supported)",
  );
  const out = await declared("unet_renamed_output.onnx");
  rejectsWith(
    () => checkComponentIO("unet", out.path, out.inputs, out.outputs),
    `${GRAPHS}/unet_renamed_output.onnx: output 'out_sample': missing; the model has outputs ` +
      "[noise_pred]; expected optimum's names (out_sample: [batch, channels, height, width] " +
      "model output)",
  );
});

Deno.test("a component given the wrong file says what it expected", async () => {
  const d = await declared("vae_decoder.onnx");
  assert.throws(
    () => checkComponentIO("text_encoder", d.path, d.inputs, d.outputs),
    /vae_decoder\.onnx: 2 problems: input 'input_ids': missing; the model has inputs \[latent_sample\]/,
  );
});

Deno.test("an old VAE-encoder export (latent_sample) is explained", () => {
  rejectsWith(
    () =>
      checkComponentIO(
        "vae_encoder",
        "m/vae_encoder/model.onnx",
        [{ name: "sample", type: "float32", shape: ["b", 3, "h", "w"] }],
        [{ name: "latent_sample", type: "float32", shape: ["b", 4, "h", "w"] }],
      ),
    "m/vae_encoder/model.onnx: output 'latent_sample': diffusers' legacy ONNX export " +
      "(scripts/convert_stable_diffusion_checkpoint_to_onnx.py) samples the latent inside the " +
      "graph; img2img/inpaint need optimum's 'latent_parameters' (mean and log-variance) so " +
      "the pipeline draws the sample with the case's generator (re-export with " +
      "`optimum-cli export onnx`)",
  );
});

Deno.test("a UNet without encoder_hidden_states (unconditional) passes; a renamed one does not", async () => {
  const d = await declared("unet_unconditional.onnx");
  assert.deepEqual(d.inputs.map((i) => i.name), ["sample", "timestep"]);
  checkComponentIO("unet", d.path, d.inputs, d.outputs);
  assert.equal(COMPONENT_SPECS.unet.inputs.find((s) => s.optional)?.name, "encoder_hidden_states");
  // Without encoder_hidden_states, an unknown input is still reported as the renamed one.
  const extra = [...d.inputs, { name: "class_labels", type: "int64", shape: ["batch"] }];
  rejectsWith(
    () => checkComponentIO("unet", d.path, extra, d.outputs),
    `${GRAPHS}/unet_unconditional.onnx: input 'encoder_hidden_states': missing; the model has ` +
      "inputs [sample, timestep, class_labels]; expected optimum's names (encoder_hidden_states: " +
      "[batch, tokens, hidden] text embeddings)",
  );
  // The other inputs stay required.
  rejectsWith(
    () => checkComponentIO("unet", d.path, d.inputs.slice(0, 1), d.outputs),
    `${GRAPHS}/unet_unconditional.onnx: input 'timestep': missing; the model has inputs ` +
      "[sample]; expected optimum's names (timestep: the timestep, a scalar or [1] / [batch])",
  );
});
