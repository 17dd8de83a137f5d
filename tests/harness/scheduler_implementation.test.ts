import assert from "node:assert/strict";
import { defineCase } from "../../core/harness/case.ts";
import { loadCases } from "../../core/harness/cases_loader.ts";
import { runCase } from "../../core/harness/runner.ts";
import { loadSchedulerImplementation } from "../../core/harness/scheduler_implementation.ts";
import { caseLine } from "../../core/report/console.ts";

const DDIM = new URL("../../core/schedulers/ddim.ts", import.meta.url).href;
const TENSOR = new URL("../../core/tensor/tensor.ts", import.meta.url).href;

/**
 * A user's port of DDIM, as another project would write it: its own class over the public
 * Scheduler contract (here delegating to ours), optionally off by a relative 2^-20 from step
 * `badFrom` on, as a subtle port bug would be.
 */
function portSource(badFrom: number | null): string {
  return `
import { DDIMScheduler } from ${JSON.stringify(DDIM)};
import { Tensor } from ${JSON.stringify(TENSOR)};
export class MyDDIM {
  #inner; #steps = 0;
  constructor(inner) { this.#inner = inner; }
  static fromConfig(json, source, math) { return new MyDDIM(DDIMScheduler.fromConfig(json, source, math)); }
  get initNoiseSigma() { return this.#inner.initNoiseSigma; }
  get timesteps() { return this.#inner.timesteps; }
  get configWarnings() { return this.#inner.configWarnings; }
  setTimesteps(n) { this.#steps = 0; this.#inner.setTimesteps(n); }
  scaleModelInput(x, t) { return this.#inner.scaleModelInput(x, t); }
  addNoise(x, n, t) { return this.#inner.addNoise(x, n, t); }
  step(out, t, x, opts) {
    const r = this.#inner.step(out, t, x, opts);
    const i = this.#steps++;
    if (${badFrom === null ? "false" : `i >= ${badFrom}`}) {
      return { ...r, prevSample: new Tensor(r.prevSample.data.map((v) => Math.fround(v * (1 + 2 ** -20))), r.prevSample.shape) };
    }
    return r;
  }
}
`;
}

async function portCase(badFrom: number | null) {
  const dir = await Deno.makeTempDir();
  const module = `${dir}/my_ddim.js`;
  await Deno.writeTextFile(module, portSource(badFrom));
  const [shipped] = await loadCases("cases", "ddim-eta0");
  const c = defineCase({
    ...structuredClone(shipped),
    name: "my-ddim-port",
    sampler: { type: "DDIMScheduler", implementation: module, exportName: "MyDDIM" },
    references: shipped.references,
  });
  return { c, dir, module };
}

Deno.test("a user's faithful DDIM port runs in the loop, replays and comparisons against diffusers: PASS at 0", async () => {
  const { c, dir, module } = await portCase(null);
  try {
    const r = await runCase(c);
    assert.equal(r.status, "pass", caseLine(r));
    assert.equal(r.sampler, `DDIMScheduler (${module})`);
    const worst = Object.fromEntries(r.comparisons.map((x) => [x.kind, x.worst.maxAbs]));
    assert.equal(worst.freeRunOnnx, 0);
    assert.equal(worst.replayScheduler, 0);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a user's port with a bug from step 5 on fails the scheduler replay at step 5, and only from there", async () => {
  const { c, dir } = await portCase(5);
  try {
    const r = await runCase(c);
    assert.equal(r.status, "fail");
    const sched = r.comparisons.find((x) => x.kind === "replayScheduler")!;
    assert.equal(sched.pass, false);
    assert.deepEqual(
      sched.perStep.filter((s) => s.maxUlp > 0).map((s) => s.step)[0],
      5,
      "the first step off is the first buggy one",
    );
    assert.ok(sched.perStep.slice(0, 5).every((s) => s.maxUlp === 0), "steps 0-4 are exact");
    assert.match(sched.failures[0], /^maxUlp \d+ > 0 .*at step 5 \(t=/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a sampler implementation that cannot be used is an error naming the module and export", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await assert.rejects(
      loadSchedulerImplementation({ type: "DDIMScheduler", implementation: `${dir}/none.ts` }),
      /none\.ts: cannot import the module/,
    );
    await Deno.writeTextFile(`${dir}/plain.js`, "export const DDIMScheduler = 42;\n");
    await assert.rejects(
      loadSchedulerImplementation({ type: "DDIMScheduler", implementation: `${dir}/plain.js` }),
      /plain\.js: export 'DDIMScheduler': has no fromConfig/,
    );
    assert.throws(
      () =>
        defineCase({
          name: "x",
          model: "m",
          pipeline: "text2img",
          sampler: { type: "DDIMScheduler", implementation: 3 as unknown as string },
          steps: 2,
          prompt: "",
          guidanceScale: 1,
          seed: 0,
        }),
      /sampler\.implementation: expected the path of a TypeScript module/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
