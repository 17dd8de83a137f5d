import assert from "node:assert/strict";

async function cli(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  const cmd = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-read",
      "--allow-write",
      "--allow-env",
      "--allow-ffi",
      "--allow-sys",
      "core/cli.ts",
      ...args,
    ],
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
  assert.match(r.err, /bad\.json: format: expected "diffparity-results\/1", got "other"/);
  await Deno.remove(dir, { recursive: true });
});
