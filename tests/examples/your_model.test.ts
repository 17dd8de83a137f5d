/**
 * examples/your-model: a model diffparity did not build (SD 2.1-shaped, made by
 * fixtures/gen/build_user_model.py as a user's diffusers folder and its ONNX export), with
 * references made by `deno task refs --cases examples/your-model/cases` (diffusers' own pipelines
 * over the diffusers folder and the export) and by the capture helper around the user's own
 * pipeline code (examples/your-model/capture.py), guarded by the user's manifest beside them.
 */
import assert from "node:assert/strict";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";

const EXAMPLE = "examples/your-model";
const ALL = ["--allow-read", "--allow-write", "--allow-env", "--allow-ffi", "--allow-sys"];

async function cli(...args: string[]): Promise<{ code: number; out: string }> {
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["run", ...ALL, "core/cli.ts", ...args],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder();
  return { code, out: text.decode(stdout) + text.decode(stderr) };
}

async function copyTree(from: string, to: string): Promise<void> {
  await Deno.mkdir(to, { recursive: true });
  for await (const e of Deno.readDir(from)) {
    if (e.isDirectory) await copyTree(`${from}/${e.name}`, `${to}/${e.name}`);
    else if (e.isFile) await Deno.copyFile(`${from}/${e.name}`, `${to}/${e.name}`);
  }
}

/** The example copied elsewhere, its case files pointing at the copy (a user's own folder). */
async function relocated(): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "diffparity-your-model-" });
  await copyTree(EXAMPLE, dir);
  const caseTs = pathToFileURL(resolve("case.ts")).href;
  for await (const e of Deno.readDir(`${dir}/cases`)) {
    if (!e.name.endsWith(".case.ts")) continue;
    const path = `${dir}/cases/${e.name}`;
    const text = (await Deno.readTextFile(path)).replace("../../../case.ts", caseTs)
      .replaceAll(`"${EXAMPLE}/`, `"${dir}/`);
    await Deno.writeTextFile(path, text);
  }
  return dir;
}

Deno.test("examples/your-model: references from `deno task refs --cases` and from the capture helper verify green", async () => {
  const out = await Deno.makeTempDir();
  const r = await cli("--cases", `${EXAMPLE}/cases`, "verify", "--out", out);
  assert.equal(r.code, 0, r.out);
  // made by dump_cases.py from the diffusers folder: every step, both backends
  assert.match(
    r.out,
    /^PASS {2}sd2-ddim +vs onnx 0 \(<= 1e-5\) · vs torch [^ ]+ \(<= 0\.001\) .* sched 0 ulp/m,
  );
  assert.match(r.out, /^PASS {2}sd2-euler +vs onnx 0 /m);
  // captured around OnnxStableDiffusionPipeline and StableDiffusionPipeline by capture.py
  assert.match(r.out, /^PASS {2}sd2-ort-pndm +vs onnx 0 .* sched 0 ulp/m);
  // the published SD 2.1 scheduler config carries a PNDM key: reported, not silently dropped
  assert.match(
    r.out,
    /warning: examples\/your-model\/model\/onnx\/scheduler\/scheduler_config\.json: "skip_prk_steps" is not an option of DDIMScheduler/,
  );
  assert.match(r.out, /^3 passed, 0 failed · report: /m);
  await Deno.remove(out, { recursive: true });
});

Deno.test("examples/your-model: a model changed after its references, or references without a manifest, are refused", async () => {
  const dir = await relocated();
  const out = `${dir}/reports`;
  const verifyDdim = (...extra: string[]) =>
    cli("--cases", `${dir}/cases`, "verify", "--out", out, "--filter", "sd2-ddim", ...extra);
  // relocated as a whole (the manifest's paths are relative to it): still green
  const moved = await verifyDdim();
  assert.equal(moved.code, 0, moved.out);
  assert.match(moved.out, /^PASS {2}sd2-ddim /m);

  const config = `${dir}/model/onnx/scheduler/scheduler_config.json`;
  const original = await Deno.readTextFile(config);
  await Deno.writeTextFile(config, original.replace('"steps_offset": 1', '"steps_offset": 0'));
  const stale = await verifyDdim();
  assert.equal(stale.code, 1, stale.out);
  assert.match(
    stale.out,
    /^ERROR sd2-ddim .*scheduler_config\.json: sha256 [0-9a-f]{12}… differs from .*cases\/refs\/manifest\.json .*: the file changed since the references were made; regenerate them with `deno task refs --cases examples\/your-model\/cases`/m,
  );
  await Deno.writeTextFile(config, original);

  await Deno.remove(`${dir}/cases/refs/manifest.json`);
  const unguarded = await verifyDdim();
  assert.equal(unguarded.code, 1, unguarded.out);
  assert.match(
    unguarded.out,
    /^ERROR sd2-ddim .*sd2-ddim\.(onnx|torch)\.safetensors: no .*cases\/refs\/manifest\.json records its sha256: references made by `deno task refs --cases <your cases folder>` or by the capture helper/m,
  );
  const skipped = await verifyDdim("--no-hash-check");
  assert.equal(skipped.code, 0, skipped.out);
  // run refuses the same way, and takes --no-hash-check too
  const run = (...extra: string[]) => cli("--cases", `${dir}/cases`, "run", "sd2-ddim", ...extra);
  assert.match((await run()).out, /^ERROR sd2-ddim .*records its sha256/m);
  const ran = await run("--no-hash-check");
  assert.equal(ran.code, 0, ran.out);
  assert.match(ran.out, /^PASS {2}sd2-ddim /m);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("examples/your-model: the user's manifest lists every reference and every file they were made from", async () => {
  const manifest = JSON.parse(await Deno.readTextFile(`${EXAMPLE}/cases/refs/manifest.json`));
  const listed = Object.keys(manifest.files);
  for (const name of ["sd2-ddim", "sd2-euler", "sd2-ort-pndm"]) {
    for (const backend of ["onnx", "torch"]) {
      assert.ok(listed.includes(`${name}.${backend}.safetensors`), `${name}.${backend}`);
    }
  }
  for (const f of ["../../model/onnx/unet/model.onnx", "../../model/diffusers/unet/config.json"]) {
    assert.ok(listed.includes(f), f);
  }
  assert.equal(manifest.regenerate, "deno task refs --cases examples/your-model/cases");
});

Deno.test("examples/your-model: a torch reference with every step (a capture) is compared step by step", async () => {
  const { loadCases } = await import("../../core/harness/cases_loader.ts");
  const { runCase } = await import("../../core/harness/runner.ts");
  const { readCaseReference } = await import("../../core/harness/references.ts");
  const [dumped, captured] = await loadCases(`${EXAMPLE}/cases`, /^sd2-(ort-pndm|ddim)$/);
  for (const c of [captured, dumped]) {
    const r = await runCase(c, {});
    const torch = r.comparisons.find((x) => x.kind === "freeRunTorch")!;
    const ref = await readCaseReference(c.references.torch, { prompt: false });
    // the capture keeps every step of the PyTorch run; the dumper's torch file the final latents
    assert.equal(torch.perStep.length, ref.steps, c.name);
    // PNDM's 12 steps make 13 model calls (PLMS' extra call at the start)
    assert.equal(ref.steps, c === captured ? 13 : 0, c.name);
    if (c === captured) {
      // the last step's latents are the final latents: the worst is at least that step's
      const last = torch.perStep[12].maxAbs;
      assert.ok(torch.worst.maxAbs >= last && last > 0);
    }
  }
});

Deno.test("examples/ stays under 2.5 MB (its tracked files travel to the GPU machine with fixtures/)", async () => {
  const { stdout } = await new Deno.Command("git", { args: ["ls-files", "-z", "examples"] })
    .output();
  const files = new TextDecoder().decode(stdout).split("\0").filter((f) => f !== "");
  let total = 0;
  for (const f of files) total += (await Deno.stat(f)).size;
  console.log(`examples/: ${files.length} tracked files, ${(total / 1e6).toFixed(2)} MB`);
  assert.ok(files.length > 0 && total < 2.5e6, `${(total / 1e6).toFixed(2)} MB`);
});
