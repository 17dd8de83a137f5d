import assert from "node:assert/strict";
import { unconditionalFolder } from "./harness/_digits_folders.ts";

async function study(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  const cmd = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-read",
      "--allow-write",
      "--allow-env",
      "--allow-ffi",
      "--allow-sys",
      "core/cli.ts",
      "study",
      "digits",
      ...args,
    ],
    stdout: "piped",
    stderr: "piped",
  });
  const { code, stdout, stderr } = await cmd.output();
  return { code, out: new TextDecoder().decode(stdout), err: new TextDecoder().decode(stderr) };
}

Deno.test("cli study digits: prints the figures and targets, writes the page and grids, exits 1 on a missed target", async () => {
  const root = await unconditionalFolder();
  const out = await Deno.makeTempDir();
  try {
    const r = await study(
      "--sd-model",
      "fixtures/models/tiny-sd",
      "--ddpm-model",
      root,
      "--digits",
      "0,7",
      "--seeds",
      "0-1",
      "--steps",
      "2",
      "--samples",
      "10",
      "--ddpm-steps",
      "3",
      "--ddim-steps",
      "2",
      "--out",
      out,
    );
    // random weights: the prompted images are no digits, so the accuracy target is missed
    assert.equal(r.code, 1, r.err);
    assert.match(r.out, /fixtures\/models\/tiny-sd \(128x128\): accuracy 97\.2% \(175\/180\)/);
    assert.match(r.out, /^ {2}guidance 5: accuracy [\d.]+% \(\d\/4\)/m);
    assert.match(r.out, /^ {2}guidance 1: accuracy /m);
    assert.match(
      r.out,
      /^ {2}DDPMScheduler 3 steps: smallest class \d [\d.]+%, mean top probability/m,
    );
    assert.match(r.out, /^ {2}DDIMScheduler 2 steps: /m);
    assert.match(r.out, /FAIL {2}digits prompted, guidance 5: accuracy [\d.]+ \(>= 0\.8\)/);
    assert.match(r.err, /guidance 5: 4\/4 images/); // progress on stderr
    const html = await Deno.readTextFile(`${out}/index.html`);
    const grids = [...html.matchAll(/src="(images\/[^"]+\.png)"/g)].map((m) => m[1]);
    assert.equal(grids.length, 4);
    for (const g of grids) assert.ok((await Deno.stat(`${out}/${g}`)).size > 0);
  } finally {
    await Deno.remove(root, { recursive: true });
    await Deno.remove(out, { recursive: true });
  }
});

Deno.test("cli study digits: a missing model folder or a bad list exits 2 naming it", async () => {
  const missing = await study(
    "--only",
    "sd",
    "--sd-model",
    "no/such-model",
    "--out",
    "/nonexistent/x",
  );
  assert.equal(missing.code, 2);
  assert.match(missing.err, /error: no\/such-model: no such folder/);
  const bad = await study("--digits", "7-3");
  assert.equal(bad.code, 2);
  assert.match(bad.err, /--digits: "7-3" is not a list of integers such as 0-9 or 1,7/);
  const only = await study("--only", "both");
  assert.notEqual(only.code, 0);
  assert.match(only.err, /Allowed choices are sd, ddpm/);
});

Deno.test("cli study digits: out-of-range options and a model the classifier cannot score exit 2", async () => {
  const digit = await study("--digits", "3,12");
  assert.equal(digit.code, 2);
  assert.match(digit.err, /--digits: 12 is out of range \(0 to 9\)/);
  const seeds = await study("--seeds", "0-99999999");
  assert.equal(seeds.code, 2);
  assert.match(seeds.err, /--seeds: "0-99999999" lists more than 1000 values/);
  const threads = await study("--threads", "99999");
  assert.equal(threads.code, 2);
  assert.match(threads.err, /--threads: "99999" is not an integer from 1 to \d+/);
  const root = await unconditionalFolder(12); // 12x12 pixels: not a multiple of the 8x8 grid
  try {
    const r = await study("--only", "ddpm", "--ddpm-model", root, "--out", "/nonexistent/x");
    assert.equal(r.code, 2, r.err);
    assert.ok(r.err.includes(`error: ${root}: image size: 12x12 pixels cannot be pooled`), r.err);
    assert.doesNotMatch(r.err, /Uncaught|at async/);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
