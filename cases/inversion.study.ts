import { defineStudy } from "../case.ts";

/**
 * The inversion fidelity study (docs/inversion.md): every method at 10, 25, 50 and 100 steps,
 * guidance 1, 3.5 and 7.5 on digits-sd (pixel-space digits-ddpm has no guidance), over 16
 * held-out digits of each model taken class by class. `deno task study inversion` runs it: 1856
 * round trips, 5 min 18 s on 2 idle CPU cores.
 */
export default defineStudy({
  name: "inversion",
  kind: "inversion",
  description: "image -> invert -> sample back -> decode, per method, steps and guidance",
  models: [
    { model: "fixtures/models/digits-sd", images: 16, prompt: "a handwritten digit {k}" },
    { model: "fixtures/models/digits-ddpm", images: 16 },
  ],
  methods: [
    { id: "ddim", spec: { method: "ddim" } },
    { id: "negative-prompt", spec: { method: "negative-prompt" } },
    { id: "tutorial", spec: { method: "tutorial" } },
    { id: "fixed-point", spec: { method: "fixed-point", iterations: 2 } },
    { id: "edict", spec: { method: "edict" } },
    { id: "edict-f64", spec: { method: "edict", arithmetic: "float64" } },
    { id: "edict-p0.8", spec: { method: "edict", mixing: 0.8 } },
    // digits-ddpm's scheduler config is DDPMScheduler's, with clip_sample true; both DDIM
    // schedulers keep it (DDIMInverseScheduler.from_config too), so x0 is clipped to [-1, 1] at
    // every step and the round trip is no longer an inverse. The same methods without clipping:
    { id: "ddim-noclip", spec: { method: "ddim" }, config: { clip_sample: false }, text: false },
    {
      id: "fixed-point-noclip",
      spec: { method: "fixed-point", iterations: 2 },
      config: { clip_sample: false },
      text: false,
    },
  ],
  steps: [10, 25, 50, 100],
  guidance: [1, 3.5, 7.5],
  seed: 0,
  strips: { images: 4, steps: 50, guidance: [1, 7.5] },
});
