import assert from "node:assert/strict";
import {
  buildClipTokenizerJson,
  CLIP_SPECIAL_TOKENS,
  CLIP_SPLIT_PATTERN,
  parseMerges,
} from "../../core/models/clip_tokenizer_json.ts";
import { TINY_MERGES, TINY_VOCAB } from "./testing_folders.ts";

Deno.test("parseMerges skips the version header and blank lines, refuses malformed lines", () => {
  assert.deepEqual(parseMerges(TINY_MERGES), ["c a", "ca t</w>"]);
  assert.deepEqual(parseMerges("i n\r\nt h\n\n"), ["i n", "t h"]);
  assert.throws(() => parseMerges("#version: 0.2\na b c\n"), {
    message: 'line 2: "a b c" (expected two symbols separated by one space)',
  });
  assert.throws(() => parseMerges("a  b"), /line 1/);
});

Deno.test("the built JSON is CLIP's pipeline, as transformers' CLIPTokenizer sets it up", () => {
  const json = buildClipTokenizerJson(TINY_VOCAB, parseMerges(TINY_MERGES));
  assert.deepEqual(json.normalizer, {
    type: "Sequence",
    normalizers: [
      { type: "NFC" },
      { type: "Replace", pattern: { Regex: "\\s+" }, content: " " },
      { type: "Lowercase" },
    ],
  });
  assert.deepEqual(json.pre_tokenizer, {
    type: "Sequence",
    pretokenizers: [
      {
        type: "Split",
        pattern: {
          Regex:
            "<\\|startoftext\\|>|<\\|endoftext\\|>|'s|'t|'re|'ve|'m|'ll|'d|[\\p{L}]+|[\\p{N}]|[^\\s\\p{L}\\p{N}]+",
        },
        behavior: "Removed",
        invert: true,
      },
      { type: "ByteLevel", add_prefix_space: false, trim_offsets: true, use_regex: true },
    ],
  });
  assert.equal(
    (json.pre_tokenizer as { pretokenizers: { pattern?: { Regex: string } }[] })
      .pretokenizers[0].pattern?.Regex,
    CLIP_SPLIT_PATTERN,
  );
  assert.deepEqual(json.post_processor, {
    type: "RobertaProcessing",
    sep: ["<|endoftext|>", 9],
    cls: ["<|startoftext|>", 8],
    trim_offsets: false,
    add_prefix_space: false,
  });
  const model = json.model as Record<string, unknown>;
  assert.equal(model.type, "BPE");
  assert.equal(model.end_of_word_suffix, "</w>");
  assert.equal(model.continuing_subword_prefix, "");
  assert.equal(model.unk_token, "<|endoftext|>");
  assert.deepEqual(model.merges, [["c", "a"], ["ca", "t</w>"]]);
  assert.deepEqual(
    (json.added_tokens as { id: number; content: string; special: boolean }[]).map((
      t,
    ) => [t.id, t.content, t.special]),
    [[8, "<|startoftext|>", true], [9, "<|endoftext|>", true]],
  );
});

Deno.test("the built JSON equals the fixture's tokenizer.json (saved by transformers)", async () => {
  const dir = "fixtures/models/tiny-sd/tokenizer";
  const vocab = JSON.parse(await Deno.readTextFile(`${dir}/vocab.json`));
  const merges = parseMerges(await Deno.readTextFile(`${dir}/merges.txt`));
  const saved = JSON.parse(await Deno.readTextFile(`${dir}/tokenizer.json`));
  assert.deepEqual(buildClipTokenizerJson(vocab, merges), saved);
});

Deno.test("a special token missing from the vocabulary is named", () => {
  assert.throws(
    () => buildClipTokenizerJson({ "a</w>": 0 }, [], CLIP_SPECIAL_TOKENS),
    { message: 'bos token "<|startoftext|>" is not in the vocabulary' },
  );
});
