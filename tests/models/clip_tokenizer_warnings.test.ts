import assert from "node:assert/strict";
import { join } from "node:path";
import { ClipTokenizer } from "../../core/models/clip_tokenizer.ts";
import { readTinyVocabReference, TINY_MERGES, TINY_VOCAB } from "./testing_folders.ts";

/** A temporary folder holding `files` (name -> text). */
async function withFolder(
  files: Record<string, string>,
  fn: (dir: string) => Promise<void>,
): Promise<void> {
  const dir = await Deno.makeTempDir();
  try {
    for (const [name, text] of Object.entries(files)) {
      await Deno.writeTextFile(join(dir, name), text);
    }
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

const VOCAB_FILES = {
  "vocab.json": JSON.stringify(TINY_VOCAB),
  "merges.txt": TINY_MERGES,
};

const assumedDefaults = (dir: string) =>
  `${dir}: no tokenizer_config.json or special_tokens_map.json: assumed transformers' ` +
  `CLIPTokenizer defaults: pad_token "<|endoftext|>" (SD 2.x models pad with "!"), ` +
  `model_max_length 77 (transformers would leave it unbounded)`;

Deno.test("reference variants: a warning exactly where transformers fell back to its default pad token", async () => {
  const ref = await readTinyVocabReference();
  const expected: Record<string, (dir: string) => string[]> = {
    // tokenizer_config.json {"model_max_length": 8}: transformers padded with its default
    default: (dir) => [
      `${dir}: tokenizer_config.json names no pad_token: assumed transformers' CLIPTokenizer ` +
      `default pad_token "<|endoftext|>" (SD 2.x models pad with "!")`,
    ],
    config_pad: () => [],
    map_pad: () => [],
  };
  assert.deepEqual(Object.keys(ref.configs), Object.keys(expected));
  for (const [name, c] of Object.entries(ref.configs)) {
    // the rule itself, from what the dumped files say: no pad_token in either file
    const named = ["tokenizer_config.json", "special_tokens_map.json"].some((f) =>
      c.files[f] !== undefined && JSON.parse(c.files[f]).pad_token !== undefined
    );
    await withFolder(c.files, async (dir) => {
      const tok = await ClipTokenizer.fromFolder(dir);
      assert.deepEqual(tok.warnings, expected[name](dir), name);
      assert.deepEqual(tok.info.warnings, tok.warnings);
      assert.equal(tok.warnings.length === 0, named, name);
      // what was assumed is what transformers used: ids unchanged
      assert.equal(tok.info.padToken, c.pad_token, name);
      assert.deepEqual(tok.encode(c.prompts[0].prompt), c.prompts[0].input_ids, name);
    });
  }
});

Deno.test("vocab.json + merges.txt only: one warning saying what was assumed", async () => {
  await withFolder(VOCAB_FILES, async (dir) => {
    const tok = await ClipTokenizer.fromFolder(dir);
    assert.deepEqual(tok.warnings, [assumedDefaults(dir)]);
    assert.deepEqual([tok.info.padToken, tok.modelMaxLength], ["<|endoftext|>", 77]);
  });
});

Deno.test("tokenizer.json only (an SD 2.x folder without its configs): the warning names the pad token it lost", async () => {
  const json = await Deno.readTextFile("fixtures/models/tiny-sd-v/tokenizer/tokenizer.json");
  await withFolder({ "tokenizer.json": json }, async (dir) => {
    const tok = await ClipTokenizer.fromFolder(dir);
    assert.equal(tok.info.source, "tokenizer.json");
    assert.deepEqual(tok.warnings, [assumedDefaults(dir)]);
    assert.equal(tok.info.padToken, "<|endoftext|>"); // the folder with its config pads with "!"
  });
  const full = await ClipTokenizer.fromFolder("fixtures/models/tiny-sd-v/tokenizer");
  assert.equal(full.info.padToken, "!");
  assert.deepEqual(full.warnings, []);
});

Deno.test("one file of the two: the warning names what the other would have said", async () => {
  const map = JSON.stringify({ pad_token: "t</w>" });
  await withFolder({ ...VOCAB_FILES, "special_tokens_map.json": map }, async (dir) => {
    const tok = await ClipTokenizer.fromFolder(dir);
    assert.deepEqual(tok.warnings, [
      `${dir}: no tokenizer_config.json: assumed model_max_length 77 ` +
      `(transformers would leave it unbounded)`,
    ]);
    assert.equal(tok.info.padToken, "t</w>");
  });
  const config = JSON.stringify({ pad_token: "t</w>" });
  await withFolder({ ...VOCAB_FILES, "tokenizer_config.json": config }, async (dir) => {
    const tok = await ClipTokenizer.fromFolder(dir);
    assert.deepEqual(tok.warnings, [
      `${dir}: tokenizer_config.json has no model_max_length: assumed model_max_length 77 ` +
      `(transformers would leave it unbounded)`,
    ]);
  });
});

Deno.test("the shipped tokenizer folders name everything: no warnings", async () => {
  for (const model of ["tiny-sd", "tiny-sd-v"]) {
    const tok = await ClipTokenizer.fromFolder(`fixtures/models/${model}/tokenizer`);
    assert.deepEqual(tok.warnings, [], model);
  }
});
