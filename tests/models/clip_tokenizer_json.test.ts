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

interface TokenizerJsonReference {
  source: string;
  tokenizer_json: Record<string, unknown> & { model: Record<string, unknown> };
  model_vocab: { size: number };
  model_merges: { count: number; first: string[][]; last: string[][] };
}

Deno.test("built from tiny-sd's vocab.json + merges.txt, it is the tokenizer.json transformers builds", async () => {
  // fixtures/gen/dump_tokenizer_json.py: transformers' tokenizer.json for the same SD 1.x folder,
  // without its vocabulary and merges (checked there to be vocab.json and merges.txt).
  const ref: TokenizerJsonReference = JSON.parse(
    await Deno.readTextFile("fixtures/refs/tokenizer_json/tiny-sd.json"),
  );
  const vocab = JSON.parse(await Deno.readTextFile(`${ref.source}/vocab.json`));
  const merges = parseMerges(await Deno.readTextFile(`${ref.source}/merges.txt`));
  const built = buildClipTokenizerJson(vocab, merges);
  const { vocab: builtVocab, merges: builtMerges, ...builtModel } = built.model as Record<
    string,
    unknown
  >;
  assert.deepEqual({ ...built, model: builtModel }, ref.tokenizer_json);
  assert.equal(Object.keys(builtVocab as object).length, ref.model_vocab.size);
  const pairs = builtMerges as string[][];
  assert.equal(pairs.length, ref.model_merges.count);
  assert.deepEqual(pairs.slice(0, ref.model_merges.first.length), ref.model_merges.first);
  assert.deepEqual(pairs.slice(-ref.model_merges.last.length), ref.model_merges.last);
});

Deno.test("a special token missing from the vocabulary is named", () => {
  assert.throws(
    () => buildClipTokenizerJson({ "a</w>": 0 }, [], CLIP_SPECIAL_TOKENS),
    { message: 'bos token "<|startoftext|>" is not in the vocabulary' },
  );
});
