import assert from "node:assert/strict";
import { join } from "node:path";
import { ClipTokenizer } from "../../core/models/clip_tokenizer.ts";
import { ModelFileError } from "../../core/models/errors.ts";
import { readSafetensors } from "../../core/tensor/safetensors.ts";
import { writeTinyTokenizer } from "./testing_folders.ts";

async function withTiny(
  fn: (dir: string) => Promise<void>,
  config: Record<string, unknown> = {},
): Promise<void> {
  const dir = await Deno.makeTempDir();
  try {
    await writeTinyTokenizer(dir, config);
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("tiny tokenizer: BPE merges, lowercase, unknown symbols, truncation keeps the end token", async () => {
  await withTiny(async (dir) => {
    const tok = await ClipTokenizer.fromFolder(dir);
    assert.equal(tok.info.source, "vocab.json + merges.txt");
    assert.equal(tok.modelMaxLength, 8);
    // Expected ids from transformers' CLIPTokenizer on this vocabulary (testing_folders.ts).
    assert.deepEqual(tok.encode("a cat!"), [8, 3, 6, 7, 9, 9, 9, 9]);
    assert.deepEqual(tok.encode("CAT"), [8, 6, 9, 9, 9, 9, 9, 9]);
    assert.deepEqual(tok.encode("dog"), [8, 9, 9, 9, 9, 9, 9, 9]);
    assert.deepEqual(tok.encode("ca"), [8, 1, 3, 9, 9, 9, 9, 9]);
    assert.deepEqual(tok.encode("a a a a a a a a"), [8, 3, 3, 3, 3, 3, 3, 9]);
    assert.deepEqual(tok.encode(""), [8, 9, 9, 9, 9, 9, 9, 9]);
    assert.deepEqual(tok.textIds("a cat"), [3, 6]);
  });
});

Deno.test("the pad token comes from special_tokens_map.json, then tokenizer_config.json", async () => {
  await withTiny(async (dir) => {
    const tok = await ClipTokenizer.fromFolder(dir);
    assert.equal(tok.info.padToken, "t</w>");
    assert.deepEqual(tok.encode("ca"), [8, 1, 3, 9, 4, 4, 4, 4]);
    await Deno.writeTextFile(
      join(dir, "special_tokens_map.json"),
      JSON.stringify({ pad_token: { content: "c", lstrip: false } }),
    );
    const tok2 = await ClipTokenizer.fromFolder(dir);
    assert.equal(tok2.info.padId, 1);
    assert.deepEqual(tok2.encode("ca"), [8, 1, 3, 9, 1, 1, 1, 1]);
  }, { pad_token: "t</w>" });
});

Deno.test("tokenizer folder errors name the file and what it should hold", async () => {
  const empty = await Deno.makeTempDir();
  try {
    await assert.rejects(
      ClipTokenizer.fromFolder(empty),
      (e: unknown) =>
        e instanceof ModelFileError && e.file === empty &&
        /no tokenizer\.json, and no vocab\.json \+ merges\.txt to build one from/.test(e.message),
    );
  } finally {
    await Deno.remove(empty, { recursive: true });
  }
  await withTiny(async (dir) => {
    await assert.rejects(
      ClipTokenizer.fromFolder(dir),
      /tokenizer_config\.json: model_max_length: got 1e\+30 \(expected the row length, 77 for CLIP\)/,
    );
  }, { model_max_length: 1e30 });
  await withTiny(async (dir) => {
    await assert.rejects(
      ClipTokenizer.fromFolder(dir),
      /vocab\.json: pad_token: token "!" is not in the vocabulary/,
    );
  }, { pad_token: "!" });
  await withTiny(async (dir) => {
    await Deno.writeTextFile(join(dir, "merges.txt"), "#version: 0.2\nc a t\n");
    await assert.rejects(ClipTokenizer.fromFolder(dir), /merges\.txt: line 2: "c a t"/);
    await Deno.writeTextFile(join(dir, "vocab.json"), "[");
    await assert.rejects(ClipTokenizer.fromFolder(dir), /vocab\.json: not valid JSON/);
  });
  await withTiny(async (dir) => {
    await Deno.writeTextFile(
      join(dir, "special_tokens_map.json"),
      JSON.stringify({ bos_token: 5 }),
    );
    await assert.rejects(
      ClipTokenizer.fromFolder(dir),
      /special_tokens_map\.json: bos_token: expected a token string or \{"content": string\}, got 5/,
    );
  });
});

Deno.test("tiny-sd (vocab.json + merges.txt) gives the ids transformers gave the reference run", async () => {
  const refs = await readSafetensors("fixtures/refs/model_io/tiny-sd.safetensors");
  const prompts: string[] = JSON.parse(refs.metadata.prompts);
  const expected = refs.ints("text_encoder.input_ids");
  const tok = await ClipTokenizer.fromFolder("fixtures/models/tiny-sd/tokenizer");
  // the SD 1.x layout ships no tokenizer.json: the default path builds it
  assert.equal(tok.info.source, "vocab.json + merges.txt");
  assert.ok(prompts.length > 0);
  prompts.forEach((p, i) =>
    assert.deepEqual(tok.encode(p), expected.slice(i * 77, (i + 1) * 77), p)
  );
});

Deno.test("per-code-point lowercase: a word-final capital sigma becomes σ, as in `tokenizers`", async () => {
  // String.prototype.toLowerCase would give "ς" (Final_Sigma); `tokenizers` maps per char.
  const tok = await ClipTokenizer.fromFolder("fixtures/models/tiny-sd/tokenizer");
  assert.deepEqual(tok.textIds("ΣΑΣ"), tok.textIds("σασ"));
  assert.notDeepEqual(tok.textIds("ΣΑΣ"), tok.textIds("σας"));
});

interface BatteryEntry {
  name: string;
  prompt: string;
  [model: string]: unknown;
}

Deno.test("battery: ids equal diffusers' CLIPTokenizer on every prompt, both models, both paths", async () => {
  const battery = JSON.parse(await Deno.readTextFile("fixtures/refs/tokenizer/clip_prompts.json"));
  const prompts: BatteryEntry[] = battery.prompts;
  assert.ok(prompts.length >= 30, `only ${prompts.length} prompts`);
  // tiny-sd ships the SD 1.x layout (vocab.json + merges.txt), tiny-sd-v only tokenizer.json
  const tokenizers: [string, string, ClipTokenizer][] = [
    [
      "tiny-sd",
      "vocab.json + merges.txt",
      await ClipTokenizer.fromFolder("fixtures/models/tiny-sd/tokenizer"),
    ],
    [
      "tiny-sd-v",
      "tokenizer.json",
      await ClipTokenizer.fromFolder("fixtures/models/tiny-sd-v/tokenizer"),
    ],
  ];
  const mismatches: string[] = [];
  let compared = 0;
  for (const [model, source, tok] of tokenizers) {
    assert.equal(tok.info.source, source);
    for (const entry of prompts) {
      const expected = (entry[model] as { input_ids: number[] }).input_ids;
      const got = tok.encode(entry.prompt);
      compared++;
      if (JSON.stringify(got) !== JSON.stringify(expected)) {
        mismatches.push(
          `${model} (${source}) ${entry.name}: got ${got.join(",")}, want ${expected.join(",")}`,
        );
      }
    }
  }
  assert.equal(compared, 2 * prompts.length);
  assert.deepEqual(mismatches, []);
});
