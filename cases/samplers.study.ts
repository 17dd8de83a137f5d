import { defineStudy } from "../case.ts";

const KARRAS = { use_karras_sigmas: true };
// DPM-Solver, UniPC and DEIS on linspace timesteps, ending at sigma(0): diffusers gives their
// models integer timesteps, which only a timestep grid keeps exact (Karras and exponential sigmas
// round or truncate the timestep of each sigma)
const TO_SIGMA_MIN = { final_sigmas_type: "sigma_min" };
// DDIM and PNDM step from t to t - 1000/N: trailing timesteps are exactly that far apart
const TRAILING = { timestep_spacing: "trailing" };

/**
 * The sampler accuracy study (issue 11): every deterministic sampler against a converged solution
 * of the probability-flow ODE at 5, 10, 20, 50, 100 and 250 steps, on Gaussian data (whose
 * solution is exact) and on both trained digit models, with the digit classifier's verdict on
 * every sampler's images, stochastic ones included. `deno task study samplers` runs it.
 *
 * Every sampler integrates the same ODE from t = 999 and is compared with the reference at
 * sigma(0), the smallest training sigma: DDIM and PNDM (trailing timesteps, `set_alpha_to_one`
 * false), DPM-Solver, UniPC and DEIS (linspace timesteps, `final_sigmas_type` "sigma_min") end
 * there; Euler, Heun, LMS (Karras sigmas over the model's whole range) and KDPM2 jump from there to
 * 0 in their last step, so the model input of that step is compared. The reference and its check
 * (Heun and LMS with Karras sigmas) give the model the exact timestep of each sigma; every
 * sampler starts from the same variance-preserving noise (see sampler_study.ts' startScale).
 */
export default defineStudy({
  name: "samplers",
  kind: "samplers",
  description: "final-latent error against a converged ODE solution, digit quality and cost, " +
    "per sampler and step count",
  models: [
    {
      model: "gaussian-sd",
      // Stable Diffusion's training schedule over latents of digits-sd's shape
      gaussian: {
        mean: 0.5,
        std: 0.5,
        shape: [4, 8, 8],
        scheduler: { beta_schedule: "scaled_linear", beta_start: 0.00085, beta_end: 0.012 },
      },
    },
    { model: "fixtures/models/digits-sd", prompt: "a handwritten digit {k}", guidance: 5 },
    { model: "fixtures/models/digits-ddpm" },
  ],
  config: { clip_sample: false, timestep_spacing: "linspace", set_alpha_to_one: false },
  samplers: [
    {
      id: "ddim",
      spec: { type: "DDIMScheduler", config: TRAILING },
      order: 1,
      end: "final",
      note: "trailing timesteps: each step goes to t - 1000/N, the next timestep (with linspace " +
        "timesteps diffusers' DDIM steps to t - 1000/N but evaluates the next step at another t)",
    },
    {
      id: "pndm",
      spec: { type: "PNDMScheduler", config: { ...TRAILING, skip_prk_steps: true } },
      order: 4,
      end: "final",
      note: "PLMS: a 4-step linear multistep on DDIM's transfer (Liu et al. 2022), lower orders " +
        "for its first steps",
    },
    {
      id: "compvis-plms",
      spec: { type: "CompVisPLMS" },
      order: 4,
      end: "final",
      note: "its own grid, 1 + k * 1000/N: it starts at t = 1 + (N-1) * 1000/N, not 999, so its " +
        "start moves with N (an O(1/N) error whatever its order)",
    },
    {
      id: "labml-quad",
      spec: { type: "LabmlDDIM", discretize: "quad" },
      order: 1,
      end: "final",
      note: "quadratic grid up to t = 0.8 T: it starts near t = 801, not at the reference's 999",
    },
    {
      id: "dpmpp-2m",
      spec: { type: "DPMSolverMultistepScheduler", config: TO_SIGMA_MIN },
      order: 2,
      end: "final",
    },
    {
      id: "dpmpp-3m",
      spec: { type: "DPMSolverMultistepScheduler", config: { ...TO_SIGMA_MIN, solver_order: 3 } },
      order: 3,
      end: "final",
    },
    {
      id: "dpm-singlestep",
      spec: { type: "DPMSolverSinglestepScheduler", config: TO_SIGMA_MIN },
      order: 2,
      end: "final",
      note: "solver_order 2, diffusers' default",
    },
    {
      id: "unipc-2",
      spec: { type: "UniPCMultistepScheduler", config: TO_SIGMA_MIN },
      order: 3,
      end: "final",
      note: "bh2, solver_order 2: UniP-2 with the UniC corrector, order p + 1 = 3 (Zhao et al. " +
        "2023, Theorem 3.1)",
    },
    {
      id: "unipc-3",
      spec: { type: "UniPCMultistepScheduler", config: { ...TO_SIGMA_MIN, solver_order: 3 } },
      order: 4,
      end: "final",
      note: "bh2, solver_order 3 with the corrector: order 4 in theory",
    },
    {
      id: "deis",
      spec: { type: "DEISMultistepScheduler", config: { solver_order: 3 } },
      order: 3,
      end: "final",
      note: "solver_order 3; DEIS always ends at sigma(0)",
    },
    {
      id: "euler",
      spec: { type: "EulerDiscreteScheduler", config: KARRAS },
      order: 1,
      end: "last-step",
    },
    {
      id: "heun",
      spec: { type: "HeunDiscreteScheduler", config: KARRAS },
      order: 2,
      end: "last-step",
    },
    {
      id: "lms",
      spec: { type: "LMSDiscreteScheduler", config: KARRAS },
      order: 4,
      end: "last-step",
      note: "step(order=4), diffusers' default",
    },
    {
      id: "kdpm2",
      spec: { type: "KDPM2DiscreteScheduler" },
      order: 2,
      end: "last-step",
      note: "linspace sigmas: with Karras sigmas diffusers rounds its timesteps",
    },
    {
      id: "dpmpp-2m-karras",
      spec: { type: "DPMSolverMultistepScheduler", config: KARRAS },
      order: 2,
      end: "last-step",
      note: "as shipped: diffusers rounds the timesteps of DPM-Solver's Karras sigmas, so the " +
        "model sees t up to 0.5 away from each sigma's, whatever the steps",
    },
    { id: "ddpm", spec: { type: "DDPMScheduler" }, stochastic: true },
    { id: "ddim-eta1", spec: { type: "DDIMScheduler" }, eta: 1, stochastic: true },
    { id: "euler-a", spec: { type: "EulerAncestralDiscreteScheduler" }, stochastic: true },
    {
      id: "dpmpp-sde",
      spec: {
        type: "DPMSolverMultistepScheduler",
        config: { ...KARRAS, algorithm_type: "sde-dpmsolver++" },
      },
      stochastic: true,
    },
  ],
  steps: [5, 10, 20, 50, 100, 250],
  seeds: 20,
  reference: {
    spec: { type: "HeunDiscreteScheduler", config: KARRAS },
    steps: 1000,
    end: "last-step",
    check: {
      spec: { type: "LMSDiscreteScheduler", config: KARRAS },
      steps: 1000,
      end: "last-step",
      tolerance: 1e-4,
    },
  },
  fit: { minSteps: 20, floorFactor: 10 },
});
