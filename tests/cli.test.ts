import assert from "node:assert/strict";
import { writeReport } from "../core/report/write.ts";
import { sampleResult } from "./report/fixtures_results.ts";
import {
  readSafetensors,
  type SafetensorsInput,
  writeSafetensors,
} from "../core/tensor/safetensors.ts";

const ALL = ["--allow-read", "--allow-write", "--allow-env", "--allow-ffi", "--allow-sys"];

function cli(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  return cliWith(ALL, ...args);
}

async function cliWith(
  permissions: string[],
  ...args: string[]
): Promise<{ code: number; out: string; err: string }> {
  const cmd = new Deno.Command(Deno.execPath(), {
    args: ["run", ...permissions, "core/cli.ts", ...args],
    stdout: "piped",
    stderr: "piped",
  });
  const { code, stdout, stderr } = await cmd.output();
  return { code, out: new TextDecoder().decode(stdout), err: new TextDecoder().decode(stderr) };
}

Deno.test("cli verify --filter runs the matching case, writes the report and exits 0", async () => {
  const out = await Deno.makeTempDir();
  const r = await cli("verify", "--filter", "guidance-1", "--out", out);
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /^PASS {2}guidance-1 /m);
  assert.match(r.out, /^1 passed, 0 failed · report: /m);
  assert.ok((await Deno.stat(`${out}/index.html`)).isFile);
  const file = JSON.parse(await Deno.readTextFile(`${out}/results.json`)).cases[0].images[0].file;
  assert.match(file, /^images\/[^/]+\/guidance-1\.png$/);
  assert.ok((await Deno.stat(`${out}/${file}`)).isFile);
  assert.doesNotMatch(await Deno.readTextFile(`${out}/results.json`), /data:/);
  await Deno.remove(out, { recursive: true });
});

Deno.test("cli verify with a filter that matches nothing exits 2 and says so", async () => {
  const r = await cli(
    "verify",
    "--filter",
    "no-such-case",
    "--out",
    "/tmp/diffparity-never-written",
  );
  assert.equal(r.code, 2);
  assert.match(r.err, /no case matches --filter "no-such-case"/);
  assert.equal(
    await Deno.stat("/tmp/diffparity-never-written").catch(() => null),
    null,
    "nothing written",
  );
});

Deno.test("cli verify exits 1 when a case fails", async () => {
  const dir = await Deno.makeTempDir();
  const src = await Deno.readTextFile("cases/guidance-1.case.ts");
  await Deno.writeTextFile(
    `${dir}/tight.case.ts`,
    src.replace('from "../case.ts"', `from "${new URL("../case.ts", import.meta.url).href}"`)
      .replace("seed: 8,", "seed: 8,\n  tolerances: { freeRunTorch: { maxAbs: 1e-12 } },"),
  );
  const r = await cli("--cases", dir, "verify", "--out", `${dir}/reports`);
  assert.equal(r.code, 1, r.out + r.err);
  assert.match(r.out, /^FAIL {2}guidance-1 .*FAIL/m);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("cli rejects an unknown execution provider with the allowed ones", async () => {
  const r = await cli("verify", "--ep", "tpu");
  assert.notEqual(r.code, 0);
  assert.match(r.err, /Allowed choices are cpu, webgpu, cuda/);
});

Deno.test("cli list prints every case, and cases-json exports them", async () => {
  const list = await cli("list");
  assert.equal(list.code, 0, list.err);
  assert.match(list.out, /^ddim-eta0 +text2img +DDIMScheduler/m);
  const json = await cli("cases-json");
  assert.equal(json.code, 0);
  const parsed = JSON.parse(json.out);
  assert.equal(parsed.cases.length, list.out.trim().split("\n").length);
});

Deno.test("cli report re-renders index.html and refuses a file that is not a results.json", async () => {
  const dir = await Deno.makeTempDir();
  await Deno.writeTextFile(`${dir}/bad.json`, JSON.stringify({ format: "other" }));
  const r = await cli("report", "--results", `${dir}/bad.json`, "--out", `${dir}/index.html`);
  assert.equal(r.code, 2);
  assert.match(r.err, /bad\.json: format: expected "diffparity-results\/2", got "other"/);
  await Deno.writeTextFile(`${dir}/old.json`, JSON.stringify({ format: "diffparity-results/1" }));
  const old = await cli("report", "--results", `${dir}/old.json`, "--out", `${dir}/index.html`);
  assert.equal(old.code, 2);
  assert.match(
    old.err,
    /^error: .*old\.json: written in the older format "diffparity-results\/1" .*run `deno task verify` again/,
  );
  assert.doesNotMatch(old.err, /\n\s+at /, "no stack trace");
  assert.equal(await Deno.stat(`${dir}/index.html`).catch(() => null), null, "nothing written");
  await Deno.remove(dir, { recursive: true });
});

Deno.test("cli report re-renders index.html from a results.json, images included", async () => {
  const dir = await Deno.makeTempDir();
  const result = sampleResult();
  result.cases[0].images = [{ label: "ours", png: new Uint8Array([0x89, 0x50, 0x4e, 0x47]) }];
  const written = await writeReport(result, `${dir}/reports`);
  const r = await cliWith(
    ["--allow-read", "--allow-write"],
    "report",
    "--results",
    `${dir}/reports/results.json`,
    "--out",
    `${dir}/page.html`,
  );
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /^wrote .*page\.html\n/);
  assert.match(r.out, /^PASS {2}ddim-eta0 /m);
  assert.ok(
    (await Deno.readTextFile(`${dir}/page.html`)).includes(
      `<img src="reports/${written.cases[0].images![0].file}"`,
    ),
  );
  await Deno.remove(dir, { recursive: true });
});

Deno.test("cli list and cases-json need read and write permissions only", async () => {
  const dir = await Deno.makeTempDir();
  const caseTs = new URL("../core/harness/case.ts", import.meta.url).href;
  await Deno.writeTextFile(
    `${dir}/light.case.ts`,
    `import { defineCase } from "${caseTs}";
export default defineCase({
  name: "light-ddim",
  description: "a light case",
  model: "fixtures/models/tiny-sd",
  pipeline: "text2img",
  sampler: { type: "DDIMScheduler" },
  steps: 4,
  prompt: "a cat",
  guidanceScale: 1,
  seed: 1,
});
`,
  );
  const rw = ["--allow-read", "--allow-write"];
  const list = await cliWith(rw, "--cases", dir, "list");
  assert.equal(list.code, 0, list.err);
  assert.match(
    list.out,
    /^light-ddim +text2img +DDIMScheduler +fixtures\/models\/tiny-sd +a light case$/m,
  );
  const json = await cliWith(rw, "--cases", dir, "cases-json");
  assert.equal(json.code, 0, json.err);
  assert.equal(JSON.parse(json.out).cases[0].name, "light-ddim");
  await Deno.remove(dir, { recursive: true });
});

Deno.test("cli run prints the verdict line, then every comparison per step", async () => {
  const r = await cli("run", "guidance-1");
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /^PASS {2}guidance-1 +vs onnx 0 \(<= 1e-5\)[^\n]*\nprovider: cpu\n/);
  assert.match(r.out, /\nreplayScheduler: /);
});

Deno.test("cli: no reference (noref, exit 0), --update-goldens without and with --yes, a golden caught regression", async () => {
  const dir = await Deno.makeTempDir();
  const caseTs = new URL("../case.ts", import.meta.url).href;
  const onnx = `${dir}/refs/mine.onnx.safetensors`;
  await Deno.writeTextFile(
    `${dir}/mine.case.ts`,
    `import { defineCase } from "${caseTs}";
export default defineCase({
  name: "mine", model: "fixtures/models/tiny-sd", pipeline: "text2img",
  sampler: { type: "DDIMScheduler" }, steps: 6, prompt: "a cat", guidanceScale: 7.5, seed: 3,
  references: { onnx: "${onnx}", torch: "${dir}/refs/mine.torch.safetensors" },
});
`,
  );
  const out = `${dir}/reports`;
  // 1. No reference: one NOREF line saying how to make references; not a failure.
  const none = await cli("--cases", dir, "verify", "--out", out);
  assert.equal(none.code, 0, none.out + none.err);
  assert.match(
    none.out,
    /^NOREF mine {15}no reference \(.*mine\.onnx\.safetensors does not exist\): free run only: 6 model calls, no NaN\/Inf, /m,
  );
  assert.match(
    none.out,
    /^ {6}make references with `deno task refs` \(shipped models\) or `deno task verify --filter mine --update-goldens --yes`/m,
  );
  assert.match(none.out, /^0 passed, 0 failed, 1 without reference · report: /m);
  const results = JSON.parse(await Deno.readTextFile(`${out}/results.json`));
  assert.deepEqual([results.cases[0].status, results.noReference], ["noref", 1]);
  assert.match(
    await Deno.readTextFile(`${out}/junit.xml`),
    /<skipped message="no reference: .*mine\.onnx\.safetensors does not exist/,
  );
  assert.match(await Deno.readTextFile(`${out}/index.html`), /badge noref/);
  const run = await cli("--cases", dir, "run", "mine");
  assert.equal(run.code, 0, run.out + run.err);
  assert.match(run.out, /^ {2}step {3}5 t= {3}1 {2}unet /m);

  // 2. --update-goldens without --yes: says what it would write, writes nothing, exits 2.
  const dry = await cli("--cases", dir, "verify", "--out", out, "--update-goldens");
  assert.equal(dry.code, 2, dry.out + dry.err);
  assert.match(dry.out, /^would write golden .*mine\.onnx\.safetensors \(case mine: /m);
  assert.match(dry.err, /nothing written: add --yes/);
  assert.equal(await Deno.stat(`${dir}/refs`).catch(() => null), null);
  const dryRun = await cli("--cases", dir, "run", "mine", "--update-golden");
  assert.equal(dryRun.code, 2);
  assert.equal(await Deno.stat(`${dir}/refs`).catch(() => null), null);

  // 3. With --yes: the golden is written, and the run compares against it, marked golden.
  const gold = await cli("--cases", dir, "verify", "--out", out, "--update-goldens", "--yes");
  assert.equal(gold.code, 0, gold.out + gold.err);
  assert.match(gold.out, /^wrote golden .*mine\.onnx\.safetensors \(case mine: 6 model calls, /m);
  assert.match(gold.out, /^PASS {2}mine {15}vs onnx 0 \(<= 1e-5\) · image Inf dB/m);
  assert.match(
    gold.out,
    /^ {6}reference: golden \(our own earlier run, not diffusers\), written .* on cpu; vs torch skipped \(a golden has no torch side\)$/m,
  );
  assert.match(gold.out, /^1 passed, 0 failed · report: /m);
  const later = await cli("--cases", dir, "verify", "--out", out);
  assert.equal(later.code, 0, later.out + later.err);
  const goldenResults = JSON.parse(await Deno.readTextFile(`${out}/results.json`));
  assert.deepEqual([goldenResults.cases[0].status, goldenResults.cases[0].reference], [
    "pass",
    "golden",
  ]);
  assert.match(await Deno.readTextFile(`${out}/index.html`), /golden \(our own earlier run/);

  // 4. The golden tampered at step 3: the regression is caught at that step.
  const file = await readSafetensors(onnx);
  const tensors: Record<string, SafetensorsInput> = {};
  for (const name of file.names()) {
    const info = file.info(name);
    if (info.dtype !== "F32") {
      tensors[name] = { dtype: info.dtype, shape: info.shape, data: file.raw(name) };
      continue;
    }
    const t = file.tensor(name);
    if (name === "prev_sample.3") t.data[0] += 0.01;
    tensors[name] = t;
  }
  await writeSafetensors(onnx, tensors, file.metadata);
  const caught = await cli("--cases", dir, "verify", "--out", out);
  assert.equal(caught.code, 1, caught.out + caught.err);
  assert.match(caught.out, /^FAIL {2}mine .*vs onnx 0\.01\d* \(<= 1e-5\) FAIL/m);
  assert.match(
    caught.out,
    /^ {6}freeRunOnnx: maxAbs 0\.01\d* > 1e-5 \(\d+x\) at step 3 \(t=\d+\)/m,
  );
  await Deno.remove(dir, { recursive: true });
});

Deno.test("cli compare: a port's .npy dump with prev_sample.7 perturbed exits 1 naming step 7; unperturbed exits 0", async () => {
  const REF = "fixtures/refs/cases/ddim-eta0.onnx.safetensors";
  const ref = await readSafetensors(REF);
  const dir = await Deno.makeTempDir({ prefix: "port-dump-" });
  const { writeNpy } = await import("../core/tensor/npy.ts");
  for (const name of ref.names()) {
    if (/^(prev_sample|model_output)\.\d+$|^latents$/.test(name)) {
      await writeNpy(`${dir}/${name}.npy`, ref.tensor(name));
    }
  }
  const good = await cli("compare", dir, REF);
  assert.equal(good.code, 0, good.out + good.err);
  assert.match(good.out, /^PASS {2}port-dump-\S+ +vs onnx 0 \(<= 1e-5\) · model 0 \(<= 1e-5\)$/m);
  assert.match(good.out, /every compared tensor within tolerance/);
  const x = ref.tensor("prev_sample.7");
  x.data[100] += 1e-4;
  await writeNpy(`${dir}/prev_sample.7.npy`, x);
  const out = `${dir}/report`;
  const bad = await cli("compare", dir, REF, "--out", out);
  assert.equal(bad.code, 1, bad.out + bad.err);
  assert.match(bad.out, /^FAIL {2}port-dump-\S+ +vs onnx .* FAIL · model 0 \(<= 1e-5\)$/m);
  assert.match(bad.out, /freeRunOnnx: maxAbs \S+ > 1e-5 \(\S+x\) at step 7 \(t=601\)$/m);
  assert.match(bad.out, /first failing step: prev_sample 7 \(t=601\): maxAbs /);
  assert.match(bad.out, /prev_sample\.7 differs while model_output\.7 matches: the sampler step/);
  assert.match(bad.out, /^0 passed, 1 failed · report: /m);
  const results = JSON.parse(await Deno.readTextFile(`${out}/results.json`));
  assert.equal(results.cases[0].status, "fail");
  assert.equal(results.cases[0].comparisons[0].worst.step, 7);
  const loose = await cli("compare", dir, REF, "--tolerance-max-abs", "1e-3");
  assert.equal(loose.code, 0, loose.out + loose.err);
  const ulp = await cli("compare", dir, REF, "--tolerance-max-abs", "1", "--max-ulp", "0");
  assert.equal(ulp.code, 1);
  assert.match(ulp.out, /maxUlp \S+ > 0 at step 7 \(t=601\)/);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("cli compare: an empty dump, a missing reference and a bad bound exit 2 with the file named", async () => {
  const dir = await Deno.makeTempDir();
  const empty = await cli("compare", dir, "fixtures/refs/cases/ddim-eta0.onnx.safetensors");
  assert.equal(empty.code, 2);
  assert.match(empty.err, new RegExp(`^error: ${dir}: holds no prev_sample\\.<i>`));
  assert.doesNotMatch(empty.err, /at .*\.ts:\d+/); // no stack trace
  await writeSafetensors(`${dir}/ours.safetensors`, {
    latents: (await readSafetensors("fixtures/refs/cases/ddim-eta0.onnx.safetensors")).tensor(
      "latents",
    ),
  });
  const noRef = await cli("compare", `${dir}/ours.safetensors`, `${dir}/none.safetensors`);
  assert.equal(noRef.code, 2);
  assert.match(noRef.err, /none\.safetensors: reference file missing/);
  const bad = await cli("compare", `${dir}/ours.safetensors`, "x", "--max-ulp", "lots");
  assert.equal(bad.code, 2);
  assert.match(bad.err, /--max-ulp: "lots" is not a finite number >= 0/);
  await Deno.remove(dir, { recursive: true });
});
