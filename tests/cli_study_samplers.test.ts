import assert from "node:assert/strict";

async function study(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  const cmd = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "core/cli.ts", "study", "samplers", ...args],
    stdout: "piped",
    stderr: "piped",
  });
  const { code, stdout, stderr } = await cmd.output();
  return { code, out: new TextDecoder().decode(stdout), err: new TextDecoder().decode(stderr) };
}

/** A study file of Gaussian data only (closed-form solution: no model, no reference run). */
async function gaussianStudy(dir: string, extra = ""): Promise<string> {
  const file = `${dir}/g.study.ts`;
  const caseTs = new URL("../case.ts", import.meta.url).href;
  await Deno.writeTextFile(
    file,
    `import { defineStudy } from "${caseTs}";
export default defineStudy({
  name: "g", kind: "samplers",
  models: [{ model: "gauss", gaussian: { mean: 0.5, std: 0.5, shape: [1, 2, 2],
    scheduler: { beta_schedule: "scaled_linear", beta_start: 0.00085, beta_end: 0.012 } } }],
  config: { clip_sample: false, timestep_spacing: "trailing", set_alpha_to_one: false },
  samplers: [
    { id: "ddim", spec: { type: "DDIMScheduler" }, order: 1 },
    { id: "euler-a", spec: { type: "EulerAncestralDiscreteScheduler" }, stochastic: true },
  ],
  steps: [10, 20, 40], seeds: 2, fit: { minSteps: 10, floorFactor: 10 },${extra}
});
`,
  );
  return file;
}

Deno.test("cli study samplers: prints the table with the fitted order, writes study.json and the page", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const r = await study(await gaussianStudy(dir), "--out", `${dir}/out`);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /gauss \(Gaussian data, mean 0\.5, std 0\.5; 2 seeds\)/);
    assert.match(r.out, /reference exact \(closed form\)/);
    // DDIM is first order: its fitted order over 10..40 steps is near 1
    const ddim = r.out.split("\n").find((l) => l.startsWith("ddim"))!;
    const fitted = Number(ddim.split(/\s+/)[2]);
    assert.ok(Math.abs(fitted - 1) < 0.3, ddim);
    assert.match(r.err, /study samplers: 6\/6 runs/);
    const json = JSON.parse(await Deno.readTextFile(`${dir}/out/study.json`));
    assert.equal(json.format, "diffparity-study-samplers/1");
    assert.equal(json.models[0].rows[1].points[0].rmse, null); // stochastic: no trajectory error
    const html = await Deno.readTextFile(`${dir}/out/index.html`);
    assert.match(html, /<svg/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("cli study samplers: a bad study file, an inversion study or an unknown sampler id exits 2 naming it", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const bad = await study(await gaussianStudy(dir, " seeds: 0,"));
    assert.equal(bad.code, 2);
    assert.match(
      bad.err,
      /study 'g': seeds: expected a positive whole number \(in .*g\.study\.ts\)/,
    );
    const inversion = await study("cases/inversion.study.ts");
    assert.equal(inversion.code, 2);
    assert.match(inversion.err, /kind: expected "samplers", got "inversion"/);
    const unknown = await study(
      await gaussianStudy(dir),
      "--samplers",
      "nope",
      "--out",
      `${dir}/o`,
    );
    assert.equal(unknown.code, 2);
    assert.match(unknown.err, /'nope' is not one of the study's \(ddim, euler-a\)/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
