import { DDIMScheduler } from "../../../core/schedulers/ddim.ts";

/**
 * Stable Diffusion 1.5's published scheduler_config.json (PNDM, scaled_linear, steps_offset 1,
 * set_alpha_to_one false, clip_sample false) as a DDIMScheduler: the config the digits-sd model
 * ships and the inversion methods run with.
 */
export const SD15_CONFIG = {
  _class_name: "PNDMScheduler",
  beta_schedule: "scaled_linear",
  beta_start: 0.00085,
  beta_end: 0.012,
  num_train_timesteps: 1000,
  set_alpha_to_one: false,
  skip_prk_steps: true,
  steps_offset: 1,
  clip_sample: false,
};

/** A fresh DDIMScheduler of {@link SD15_CONFIG}. */
export const sd15 = (): DDIMScheduler => DDIMScheduler.fromConfig(SD15_CONFIG);
