import assert from "node:assert/strict";
import {
  checkFixtureHashes,
  FixtureHashError,
  readFixtureManifest,
  sha256Hex,
} from "../../core/harness/fixture_hashes.ts";

/**
 * What travels to a GPU machine: the tracked files plus the Deno + onnxruntime-node runtime,
 * compressed: 43,944,172 bytes with xz -9 as `.ci/travel-size.sh` measured it (2026-12-03: deno
 * 2.9.6, onnxruntime-node 1.30.0 linux-x64). The limit is 64 MiB.
 */
const TRAVEL_LIMIT_BYTES = 64 * 1024 * 1024;
const RUNTIME_XZ_BYTES = 43_944_172;

/** Every file under `dir`; `withGen` also walks fixtures/gen (the dumper's sources). */
async function fixtureFiles(
  dir = "fixtures",
  withGen = false,
  out: string[] = [],
): Promise<string[]> {
  for await (const e of Deno.readDir(dir)) {
    const p = `${dir}/${e.name}`;
    // dot-prefixed folders: the temporary output of a build or training still running
    if (e.isDirectory && e.name.startsWith(".")) continue;
    if (e.isDirectory && (withGen || p !== "fixtures/gen")) await fixtureFiles(p, withGen, out);
    else if (e.isFile) out.push(p);
  }
  return out;
}

Deno.test("sha256Hex equals the FIPS 180-2 test vector for 'abc'", async () => {
  assert.equal(
    await sha256Hex(new TextEncoder().encode("abc")),
    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
  );
});

Deno.test("every committed fixture matches fixtures/manifest.json, and none is unlisted", async () => {
  const manifest = await readFixtureManifest("fixtures/manifest.json");
  const skip = new Set(["fixtures/manifest.json", "fixtures/README.md", "fixtures/cases.json"]);
  const files = (await fixtureFiles()).filter((f) => !skip.has(f) && !f.includes("__pycache__"));
  const checked = await checkFixtureHashes(manifest, files);
  assert.equal(checked.length, files.length);
  const listed = [...manifest.sha256.keys()].map((k) => `fixtures/${k}`);
  const missing = listed.filter((f) => !files.includes(f));
  assert.deepEqual(missing, [], "files listed in the manifest but absent");
});

Deno.test("the tracked files and the compressed runtime fit the 64 MiB that travels to a GPU machine", async () => {
  const git = await new Deno.Command("git", { args: ["ls-files", "-z"], stdout: "piped" }).output();
  assert.ok(git.success, "git ls-files failed: the budget is measured over the tracked files");
  const files = new TextDecoder().decode(git.stdout).split("\0").filter((f) => f !== "");
  let tracked = 0;
  let fixtures = 0;
  for (const f of files) {
    const size = (await Deno.lstat(f).catch(() => ({ size: 0 }))).size;
    tracked += size;
    if (f.startsWith("fixtures/")) fixtures += size;
  }
  const mib = (b: number) => `${(b / 1048576).toFixed(2)} MiB`;
  console.log(
    `tracked ${mib(tracked)} (fixtures/ ${mib(fixtures)}) + runtime ${mib(RUNTIME_XZ_BYTES)} = ` +
      `${mib(tracked + RUNTIME_XZ_BYTES)} of ${mib(TRAVEL_LIMIT_BYTES)}`,
  );
  assert.ok(
    tracked + RUNTIME_XZ_BYTES < TRAVEL_LIMIT_BYTES,
    `${
      mib(tracked + RUNTIME_XZ_BYTES)
    } travels; make room (fixtures/models/README.md says where it goes)`,
  );
});

Deno.test("a changed file is named with both hashes and the way to regenerate", async () => {
  const manifest = await readFixtureManifest("fixtures/manifest.json");
  const tampered = { ...manifest, sha256: new Map(manifest.sha256) };
  tampered.sha256.set("images/mask.png", "f".repeat(64));
  await assert.rejects(
    checkFixtureHashes(tampered, ["fixtures/images/mask.png"]),
    (err: unknown) => {
      assert.ok(err instanceof FixtureHashError);
      assert.match(
        err.message,
        /^fixtures\/images\/mask\.png: sha256 [0-9a-f]{12}… differs from fixtures\/manifest\.json \(ffffffffffff…\).*deno task refs/,
      );
      return true;
    },
  );
});

Deno.test("files outside the manifest's folder that it does not list (a user's own export) are not checked", async () => {
  const manifest = await readFixtureManifest("fixtures/manifest.json");
  assert.deepEqual(await checkFixtureHashes(manifest, ["deno.json", "/tmp"]), []);
});

Deno.test("an unlisted fixture and an unreadable manifest are errors", async () => {
  const manifest = await readFixtureManifest("fixtures/manifest.json");
  const without = { ...manifest, sha256: new Map() };
  await assert.rejects(
    checkFixtureHashes(without, ["fixtures/images/mask.png"]),
    /not listed in fixtures\/manifest\.json/,
  );
  // a case with no reference yet: the file is missing, and the message says so
  await assert.rejects(
    checkFixtureHashes(manifest, ["fixtures/refs/cases/my-new-case.onnx.safetensors"]),
    /my-new-case\.onnx\.safetensors: missing, and not listed in fixtures\/manifest\.json: no reference has been made/,
  );
  await assert.rejects(
    readFixtureManifest("fixtures/nope.json"),
    /fixtures\/nope\.json: cannot read the manifest/,
  );
});

Deno.test("a user's manifest checks the files it lists outside its folder and names its own command", async () => {
  const dir = await Deno.makeTempDir({ prefix: "diffparity-user-refs-" });
  await Deno.mkdir(`${dir}/refs`);
  await Deno.writeTextFile(`${dir}/model.onnx`, "the model the references were made from");
  await Deno.writeTextFile(`${dir}/other.onnx`, "not listed");
  await Deno.writeTextFile(`${dir}/refs/a.onnx.safetensors`, "a reference");
  const listed = {
    "a.onnx.safetensors": { sha256: await sha256Hex(new TextEncoder().encode("a reference")) },
    "../model.onnx": { sha256: "0".repeat(64) },
  };
  await Deno.writeTextFile(
    `${dir}/refs/manifest.json`,
    JSON.stringify({ regenerate: "deno task refs --cases my-cases", files: listed }),
  );
  const manifest = await readFixtureManifest(`${dir}/refs/manifest.json`);
  assert.equal(manifest.regenerate, "deno task refs --cases my-cases");
  // listed and inside: checked; unlisted and outside: skipped
  assert.deepEqual(
    await checkFixtureHashes(manifest, [`${dir}/refs/a.onnx.safetensors`, `${dir}/other.onnx`]),
    ["a.onnx.safetensors"],
  );
  // listed outside: checked, and the message says how to remake the references
  await assert.rejects(
    checkFixtureHashes(manifest, [`${dir}/model.onnx`]),
    /model\.onnx: sha256 [0-9a-f]{12}… differs from .*refs\/manifest\.json \(000000000000…\): the file changed since the references were made; regenerate them with `deno task refs --cases my-cases`/,
  );
  await Deno.remove(dir, { recursive: true });
});
