import assert from "node:assert/strict";
import {
  type BetaOption,
  type SchedulerConfig,
  schedulerSpec,
} from "../../core/schedulers/config.ts";
import { EulerDiscreteScheduler } from "../../core/schedulers/euler_discrete.ts";
import { karrasSigmas, respaceSigmas } from "../../core/schedulers/sigmas.ts";
import { LMSDiscreteScheduler } from "../../core/schedulers/lms_discrete.ts";
import {
  EXTRA_SIGMA_FIELDS,
  type ExtraSigmaOptions,
  SigmaScheduler,
} from "../../core/schedulers/sigma_scheduler.ts";
import { Tensor } from "../../core/tensor/tensor.ts";

const f = Math.fround;

type ProbeConfig =
  & Pick<
    SchedulerConfig,
    BetaOption | "useKarrasSigmas" | "timestepSpacing" | "stepsOffset" | "predictionType"
  >
  & ExtraSigmaOptions;
const PROBE_SPEC = schedulerSpec<ProbeConfig>("Probe", {
  useKarrasSigmas: false,
  useExponentialSigmas: false,
  useBetaSigmas: false,
  timestepSpacing: "linspace",
  stepsOffset: 0,
  predictionType: "epsilon",
}, EXTRA_SIGMA_FIELDS);

/** A sigma scheduler whose sigmas are the training table at its timesteps (no interpolation). */
class Probe extends SigmaScheduler<ProbeConfig> {
  constructor(config: Partial<ProbeConfig> = {}) {
    super(PROBE_SPEC, { numTrainTimesteps: 10, ...config });
    this.setTimesteps(10);
  }
  setTimesteps(numInferenceSteps: number): void {
    const start = this.startSchedule(numInferenceSteps);
    const sigmas = start.timesteps.map((t) => start.table[t]);
    const spaced = respaceSigmas(this.config, sigmas, start.timesteps, start.table);
    this.setSchedule(spaced.timesteps, spaced.sigmas, 0.25);
  }
  take(t: number): number {
    const index = this.currentStepIndex(t, "Probe.step");
    this.steps.advance();
    return index;
  }
  x0(x: number[], out: number[], sigma: number, epsilonSigma?: number): number[] {
    return [
      ...this.predictOriginal(Float32Array.from(x), Float32Array.from(out), sigma, epsilonSigma),
    ];
  }
}

Deno.test("the schedule: spaced timesteps, the sigmas and the final sigma, numInferenceSteps", () => {
  const p = new Probe();
  p.setTimesteps(4);
  assert.deepEqual(p.timesteps, [9, 6, 3, 0]); // linspace(0, 9, 4) reversed
  assert.equal(p.numInferenceSteps, 4);
  const table = p.alphasCumprod.map((a) => Math.sqrt(f(f(1 - a) / a)));
  assert.deepEqual([...p.sigmas], [table[9], table[6], table[3], table[0], f(0.25)]);
  assert.throws(() => p.setTimesteps(0), /num_inference_steps must be a positive integer/);
});

Deno.test("the step index: found from the first timestep, advanced per step, reset by setTimesteps", () => {
  const p = new Probe();
  p.setTimesteps(4);
  assert.equal(p.stepIndex, null);
  assert.equal(p.take(6), 1); // the first step starts where its timestep is
  assert.equal(p.take(123), 2); // later steps go on from the index, whatever the timestep
  assert.equal(p.take(0), 3);
  assert.throws(() => p.take(0), /Probe\.step: step 4 is past the end of the schedule \(4 steps\)/);
  p.setTimesteps(4);
  assert.equal(p.stepIndex, null);
  p.setBeginIndex(2);
  assert.equal(p.beginIndex, 2);
  assert.equal(p.take(9), 2); // the begin index wins over the timestep
  p.setTimesteps(4);
  assert.equal(p.beginIndex, null);
  assert.throws(() => p.take(5), /Probe: timestep 5 is not in the schedule/);
  assert.equal(p.indexForTimestep(3), 2);
});

Deno.test("scaleModelInput divides by (sigma^2 + 1)^0.5 in float32 at the current step", () => {
  const p = new Probe();
  p.setTimesteps(4);
  const x = new Tensor(new Float32Array([1, -2.5]), [1, 2]);
  const sigma = p.sigmas[1];
  const denom = f(Math.sqrt(f(f(sigma * sigma) + 1)));
  assert.deepEqual([...p.scaleModelInput(x, 6).data], [1, -2.5].map((v) => f(v / denom)));
  assert.equal(p.stepIndex, 1);
});

Deno.test("addNoise: the sigma of the timestep, or of the begin / step index once one is set", () => {
  const p = new Probe();
  p.setTimesteps(4);
  const x0 = new Tensor(new Float32Array([1, 2, 3, 4]), [2, 2]);
  const noise = new Tensor(new Float32Array([0.5, -0.5, 1, 2]), [2, 2]);
  const s = p.sigmas;
  const mix = (sig: number[]) => [1, 2, 3, 4].map((v, i) => f(v + f(noise.data[i] * sig[i >> 1])));
  assert.deepEqual([...p.addNoise(x0, noise, [9, 3]).data], mix([s[0], s[2]]));
  p.setBeginIndex(1);
  assert.deepEqual([...p.addNoise(x0, noise, [9, 3]).data], mix([s[1], s[1]]));
  p.take(9);
  assert.deepEqual([...p.addNoise(x0, noise, 9).data], mix([s[2], s[2]]));
});

Deno.test("initNoiseSigma is max(sigmas) for linspace/trailing, (max^2 + 1)^0.5 otherwise", () => {
  const linspace = new Probe();
  const max = Math.max(...linspace.sigmas);
  assert.equal(linspace.initNoiseSigma, max);
  assert.equal(new Probe({ timestepSpacing: "trailing" }).initNoiseSigma, max);
  assert.equal(
    new Probe({ timestepSpacing: "leading" }).initNoiseSigma,
    f(Math.sqrt(f(f(max * max) + 1))),
  );
});

Deno.test("predictOriginal: diffusers' x0 for epsilon (with Euler's sigma_hat), v_prediction and sample", () => {
  const x = [1.5, -0.25];
  const out = [0.3, 0.7];
  const sigma = f(2.5);
  const hat = f(3);
  assert.deepEqual(new Probe().x0(x, out, sigma), x.map((v, i) => f(v - f(sigma * f(out[i])))));
  assert.deepEqual(new Probe().x0(x, out, sigma, hat), x.map((v, i) => f(v - f(hat * f(out[i])))));
  const s2p1 = f(f(sigma * sigma) + 1);
  const cOut = f(-sigma / f(Math.sqrt(s2p1)));
  assert.deepEqual(
    new Probe({ predictionType: "v_prediction" }).x0(x, out, sigma),
    x.map((v, i) => f(f(f(out[i]) * cOut) + f(v / s2p1))),
  );
  assert.deepEqual(new Probe({ predictionType: "sample" }).x0(x, out, sigma), out.map(f));
});

/** One `set_timesteps` of fixtures/refs/sigmas/karras.json (fixtures/gen/dump_karras_sigmas.py). */
interface KarrasRun {
  steps: number;
  sigma_min: number;
  sigma_max: number;
  /** float64, what diffusers' `_convert_to_karras` returned */
  karras: number[];
  /** float64, the correctly rounded power of the same base */
  karras_exact: number[];
  /** indices where `karras` is not `karras_exact` (numpy's AVX-512 `pow`) */
  karras_not_exact: number[];
  /** float32 `scheduler.sigmas` and `scheduler.timesteps` */
  sigmas: number[];
  timesteps: number[];
}

interface KarrasConfig {
  name: string;
  class_name: "EulerDiscreteScheduler" | "LMSDiscreteScheduler";
  config: Record<string, unknown>;
  runs: KarrasRun[];
}

async function karrasReference(): Promise<KarrasConfig[]> {
  const path = new URL("../../fixtures/refs/sigmas/karras.json", import.meta.url);
  return JSON.parse(await Deno.readTextFile(path)).configs;
}

const F64_BOX = new Float64Array(1);
const I64_BOX = new BigInt64Array(F64_BOX.buffer);

/** float64 ulp distance of two finite numbers of the same sign. */
function ulp64(a: number, b: number): number {
  F64_BOX[0] = a;
  const ia = I64_BOX[0];
  F64_BOX[0] = b;
  const ib = I64_BOX[0];
  return Number(ia > ib ? ia - ib : ib - ia);
}

Deno.test("Karras sigmas and timesteps equal diffusers' after set_timesteps (Euler, LMS), bit for bit", async () => {
  const configs = await karrasReference();
  assert.ok(configs.length >= 10);
  let runs = 0;
  for (const c of configs) {
    assert.equal(c.config.use_karras_sigmas, true, c.name);
    for (const r of c.runs) {
      const s = c.class_name === "LMSDiscreteScheduler"
        ? LMSDiscreteScheduler.fromConfig(c.config, c.name)
        : EulerDiscreteScheduler.fromConfig(c.config, c.name);
      assert.equal(s.constructor.name, c.class_name);
      s.setTimesteps(r.steps);
      const what = `${c.name}, ${r.steps} steps`;
      // deepEqual is strict (Object.is): every float32 bit for bit
      assert.deepEqual([...s.sigmas], r.sigmas, `${what}: sigmas`);
      assert.deepEqual(s.timesteps, r.timesteps, `${what}: timesteps`);
      runs++;
    }
  }
  assert.equal(runs, 24);
});

Deno.test("karrasSigmas is the correctly rounded power; numpy's AVX-512 pow is 1 ulp off on the recorded values", async () => {
  let values = 0;
  let offByOne = 0;
  for (const c of await karrasReference()) {
    for (const r of c.runs) {
      const what = `${c.name}, ${r.steps} steps`;
      const ours = Array.from(karrasSigmas(r.sigma_min, r.sigma_max, r.steps));
      // bit for bit with the exact rounding of diffusers' own base (Fraction arithmetic)
      assert.deepEqual(ours, r.karras_exact, what);
      // and with diffusers' float64 except where numpy's SVML pow is not correctly rounded
      const differ = ours.flatMap((v, i) => (v === r.karras[i] ? [] : [i]));
      assert.deepEqual(differ, r.karras_not_exact, `${what}: indices that differ from numpy`);
      for (const i of differ) assert.equal(ulp64(ours[i], r.karras[i]), 1, `${what}: [${i}]`);
      // float32, as the schedulers keep them: no difference left
      assert.deepEqual(ours.map(f), r.karras.map(f), `${what}: float32`);
      values += ours.length;
      offByOne += differ.length;
    }
  }
  assert.equal(values, 368);
  // measured with numpy 2.4 on an AVX-512 CPU: 21 values; 0 where numpy dispatches to libm pow
  console.log(`karrasSigmas: ${offByOne} of ${values} float64 values 1 ulp from numpy's`);
});

Deno.test("LMS and Euler are sigma schedulers; the sigma-spacing options are read and checked", () => {
  for (const cls of [LMSDiscreteScheduler, EulerDiscreteScheduler]) {
    const s = cls.fromConfig({ use_exponential_sigmas: true }, "s.json");
    assert.ok(s instanceof SigmaScheduler, cls.name);
    assert.equal(s.config.useExponentialSigmas, true);
    assert.equal(s.toDiffusersConfig().use_beta_sigmas, false);
    assert.throws(
      () => cls.fromConfig({ use_karras_sigmas: true, use_exponential_sigmas: true }, "s.json"),
      /^RangeError: s\.json: only one of "use_beta_sigmas", "use_exponential_sigmas", "use_karras_sigmas"/,
    );
  }
  assert.throws(
    () => new Probe({ useBetaSigmas: true }),
    /new Probe\(\): "use_beta_sigmas": not supported/,
  );
});
