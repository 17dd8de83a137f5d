import assert from "node:assert/strict";
import { join } from "node:path";
import { ClipTokenizer } from "../../core/models/clip_tokenizer.ts";
import { parseMerges } from "../../core/models/clip_tokenizer_json.ts";
import { FileError } from "../../core/tensor/errors.ts";
import { readSafetensors } from "../../core/tensor/safetensors.ts";
import {
  readTinyVocabReference,
  TINY_MERGES,
  TINY_VOCAB,
  writeTinyTokenizer,
} from "./testing_folders.ts";

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

Deno.test("tiny tokenizer: ids equal transformers' CLIPTokenizer (fixtures/refs/tokenizer/tiny_vocab.json)", async () => {
  const ref = await readTinyVocabReference();
  // the dumped folder is the one writeTinyTokenizer writes
  assert.deepEqual(ref.vocab, TINY_VOCAB);
  assert.equal(ref.merges, TINY_MERGES);
  assert.deepEqual(Object.keys(ref.configs), ["default", "config_pad", "map_pad"]);
  let compared = 0;
  for (const [name, c] of Object.entries(ref.configs)) {
    const config = JSON.parse(c.files["tokenizer_config.json"]);
    const map = c.files["special_tokens_map.json"];
    await withTiny(async (dir) => {
      if (map !== undefined) await Deno.writeTextFile(join(dir, "special_tokens_map.json"), map);
      for (const [file, text] of Object.entries(c.files)) {
        const ours = await Deno.readTextFile(join(dir, file));
        if (file.endsWith(".json")) assert.deepEqual(JSON.parse(ours), JSON.parse(text), file);
        else assert.equal(ours, text, file);
      }
      const tok = await ClipTokenizer.fromFolder(dir);
      assert.equal(tok.info.source, "vocab.json + merges.txt");
      assert.equal(tok.modelMaxLength, ref.model_max_length);
      assert.deepEqual(
        [tok.info.padToken, tok.info.padId, tok.info.bosId, tok.info.eosId],
        [c.pad_token, c.pad_token_id, c.bos_token_id, c.eos_token_id],
        name,
      );
      for (const p of c.prompts) {
        compared++;
        const got = { input_ids: tok.encode(p.prompt), text_ids: tok.textIds(p.prompt) };
        const want = { input_ids: p.input_ids, text_ids: p.text_ids };
        // with a pad token of its own (config_pad, map_pad) transformers splits it out of the
        // text before BPE: "a cat!" with pad "c" -> a</w>, c, a, t</w>, !</w>
        assert.deepEqual(got, want, `${name}: ${JSON.stringify(p.prompt)}`);
      }
    }, config);
  }
  assert.ok(compared >= 40, `only ${compared} prompts`);
});

Deno.test("tokenizer folder errors name the file and what it should hold", async () => {
  const empty = await Deno.makeTempDir();
  try {
    await assert.rejects(
      ClipTokenizer.fromFolder(empty),
      (e: unknown) =>
        e instanceof FileError && e.file === empty &&
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

interface Battery {
  tokenizers: Record<
    string,
    { pad_token: string; pad_token_id: number; bos_token_id: number; eos_token_id: number }
  >;
  prompts: BatteryEntry[];
}

type BatteryKey = "input_ids" | "untruncated_ids" | "fast_input_ids" | "slow_input_ids";

/**
 * The ids `key` of one prompt for `model`, as the tokenizer gave them. The battery stores them
 * compactly (fixtures/gen/dump_tokenizer.py's expand_ids does the same): fast / slow ids equal to
 * input_ids are left out, and `<key>_pad` copies of the pad id follow the stored ids.
 */
function batteryIds(
  battery: Battery,
  model: string,
  entry: BatteryEntry,
  key: BatteryKey,
): number[] {
  const rec = entry[model] as Record<string, number[] | number | undefined>;
  const k = rec[key] === undefined && key !== "untruncated_ids" ? "input_ids" : key;
  const ids = rec[k] as number[];
  const pad = (rec[`${k}_pad`] as number | undefined) ?? 0;
  return [...ids, ...new Array<number>(pad).fill(battery.tokenizers[model].pad_token_id)];
}

/** The battery's ids for `model` that `tok` does not reproduce (fixtures/gen/dump_tokenizer.py). */
function batteryMismatches(battery: Battery, model: string, tok: ClipTokenizer): string[] {
  const info = battery.tokenizers[model];
  assert.deepEqual(
    [tok.info.padToken, tok.info.padId, tok.info.bosId, tok.info.eosId],
    [info.pad_token, info.pad_token_id, info.bos_token_id, info.eos_token_id],
    model,
  );
  const mismatches: string[] = [];
  for (const entry of battery.prompts) {
    const expected = batteryIds(battery, model, entry, "input_ids");
    const got = tok.encode(entry.prompt);
    if (JSON.stringify(got) !== JSON.stringify(expected)) {
      mismatches.push(
        `${model} (${tok.info.source}) ${entry.name}: got ${got.join(",")}, want ${
          expected.join(",")
        }`,
      );
    }
  }
  return mismatches;
}

const readBattery = async (): Promise<Battery> =>
  JSON.parse(await Deno.readTextFile("fixtures/refs/tokenizer/clip_prompts.json"));

Deno.test("battery: ids equal diffusers' CLIPTokenizer on every prompt, both models, both paths", async () => {
  const battery = await readBattery();
  const prompts = battery.prompts;
  assert.ok(prompts.length >= 30, `only ${prompts.length} prompts`);
  // tiny-sd ships the SD 1.x layout (vocab.json + merges.txt) over the full CLIP vocabulary,
  // tiny-sd-v only tokenizer.json over a shortened one (its "!" pad is a special token there)
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
  assert.deepEqual(Object.keys(battery.tokenizers), tokenizers.map(([model]) => model));
  const mismatches: string[] = [];
  for (const [model, source, tok] of tokenizers) {
    assert.equal(tok.info.source, source);
    mismatches.push(...batteryMismatches(battery, model, tok));
  }
  assert.deepEqual(mismatches, []);
});

Deno.test("the full CLIP vocabulary through tokenizer.json: transformers' own file for tiny-sd gives the battery's ids", async () => {
  // tiny-sd-v's tokenizer.json holds a shortened vocabulary; the tokenizer.json path over all
  // 49408 ids is tested here: fixtures/refs/tokenizer_json/tiny-sd.json is the tokenizer.json
  // transformers writes for tiny-sd's folder without its vocab and merges (dump_tokenizer_json.py
  // checked those are vocab.json and merges.txt), put back together with them.
  const ref = JSON.parse(await Deno.readTextFile("fixtures/refs/tokenizer_json/tiny-sd.json"));
  const vocab = JSON.parse(await Deno.readTextFile(`${ref.source}/vocab.json`));
  const merges = parseMerges(await Deno.readTextFile(`${ref.source}/merges.txt`));
  assert.equal(Object.keys(vocab).length, 49408);
  const tokenizerJson = {
    ...ref.tokenizer_json,
    model: { ...ref.tokenizer_json.model, vocab, merges: merges.map((m) => m.split(" ")) },
  };
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(join(dir, "tokenizer.json"), JSON.stringify(tokenizerJson));
    await Deno.copyFile(
      `${ref.source}/tokenizer_config.json`,
      join(dir, "tokenizer_config.json"),
    );
    const tok = await ClipTokenizer.fromFolder(dir);
    assert.equal(tok.info.source, "tokenizer.json");
    assert.deepEqual(batteryMismatches(await readBattery(), "tiny-sd", tok), []);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("tiny-sd-v's vocabulary is CLIP's cut after its first merges: tiny-sd's ids, BOS and EOS last", async () => {
  // fixtures/gen/tiny_sd_vocab.py: 256 byte symbols, the same with "</w>", the first N merges
  // joined, <|startoftext|>, <|endoftext|> (the full vocabulary: N = 48894)
  const short = JSON.parse(
    await Deno.readTextFile("fixtures/models/tiny-sd-v/tokenizer/tokenizer.json"),
  ).model as { vocab: Record<string, number>; merges: string[][] };
  const full: Record<string, number> = JSON.parse(
    await Deno.readTextFile("fixtures/models/tiny-sd/tokenizer/vocab.json"),
  );
  const fullMerges = parseMerges(
    await Deno.readTextFile("fixtures/models/tiny-sd/tokenizer/merges.txt"),
  );
  const n = short.merges.length;
  const size = 512 + n + 2;
  const info = JSON.parse(await Deno.readTextFile("fixtures/models/tiny-sd-v/build_info.json"));
  assert.deepEqual([info.vocabulary.merges, info.vocabulary.ids], [n, size]);
  assert.deepEqual(short.merges.map((m) => m.join(" ")), fullMerges.slice(0, n));
  assert.equal(Object.keys(short.vocab).length, size);
  assert.deepEqual(
    [short.vocab["<|startoftext|>"], short.vocab["<|endoftext|>"]],
    [size - 2, size - 1],
  );
  for (const [token, id] of Object.entries(short.vocab)) {
    if (id < size - 2) assert.equal(full[token], id, token);
  }
  const tok = await ClipTokenizer.fromFolder("fixtures/models/tiny-sd-v/tokenizer");
  assert.deepEqual([tok.info.bosId, tok.info.eosId, tok.info.padId], [size - 2, size - 1, 0]);
  // common words are whole tokens; a word outside the vocabulary splits into its pieces
  assert.deepEqual(tok.textIds("a photo of the"), [
    full["a</w>"],
    full["pho"],
    full["to</w>"],
    full["of</w>"],
    full["the</w>"],
  ]);
});
