/**
 * A throwaway unconditional (DDPMPipeline-layout) model folder for the digits tests: the
 * hand-built UNet fixtures/models-test/unet_unconditional.onnx (out_sample = sample + t, 3
 * channels) with a UNet config and a DDPM scheduler config (linear 1e-4..0.02, as
 * digits-ddpm's).
 *
 * @module
 */

/** Makes the folder in a new temporary directory; returns its path. */
export async function unconditionalFolder(sampleSize = 16): Promise<string> {
  const root = await Deno.makeTempDir({ prefix: "digits-uncond-" });
  const index = {
    _class_name: "DDPMPipeline",
    unet: ["diffusers", "UNet2DModel"],
    scheduler: ["diffusers", "DDPMScheduler"],
  };
  await Deno.writeTextFile(`${root}/model_index.json`, JSON.stringify(index));
  await Deno.mkdir(`${root}/unet`);
  await Deno.copyFile("fixtures/models-test/unet_unconditional.onnx", `${root}/unet/model.onnx`);
  await Deno.writeTextFile(
    `${root}/unet/config.json`,
    JSON.stringify({ in_channels: 3, out_channels: 3, sample_size: sampleSize }),
  );
  await Deno.mkdir(`${root}/scheduler`);
  await Deno.writeTextFile(
    `${root}/scheduler/scheduler_config.json`,
    JSON.stringify({
      _class_name: "DDPMScheduler",
      num_train_timesteps: 1000,
      beta_start: 0.0001,
      beta_end: 0.02,
      beta_schedule: "linear",
    }),
  );
  return root;
}
