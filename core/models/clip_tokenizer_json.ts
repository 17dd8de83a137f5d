/**
 * Builds the `tokenizer.json` of a CLIP tokenizer from `vocab.json` + `merges.txt`, for
 * tokenizer folders that lack one. The pipeline is the one transformers' `CLIPTokenizer`
 * (transformers 5, backed by the `tokenizers` library) sets up in its constructor:
 *
 * - normalizer: NFC, then every whitespace run to one space, then lowercase;
 * - pre-tokenizer: keep the matches of CLIP's regex (special tokens, English contractions,
 *   letter runs, single digits, other non-space runs), then byte-level mapping without a
 *   prefix space (with `tokenizers`' default GPT-2 split, which leaves CLIP's pieces whole);
 * - model: byte-level BPE, no continuing-subword prefix, `</w>` appended to each word's last
 *   symbol, `<|endoftext|>` for unknown symbols;
 * - post-processor: `<|startoftext|>` ... `<|endoftext|>` (RoBERTa-style template).
 *
 * @module
 */

/**
 * CLIP's pre-tokenizer pattern (transformers `CLIPTokenizer.__init__`, from OpenAI's
 * `simple_tokenizer.py` regex).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { CLIP_SPLIT_PATTERN } from "./clip_tokenizer_json.ts";
 * assert.ok(CLIP_SPLIT_PATTERN.startsWith("<\\|startoftext\\|>"));
 * assert.deepEqual("a cat's".match(new RegExp(CLIP_SPLIT_PATTERN, "gu")), ["a", "cat", "'s"]);
 * ```
 */
export const CLIP_SPLIT_PATTERN: string = String
  .raw`<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+`;

/**
 * The special tokens a CLIP tokenizer needs.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { CLIP_SPECIAL_TOKENS, type ClipSpecialTokens } from "./clip_tokenizer_json.ts";
 * const t: ClipSpecialTokens = { bos: "<|startoftext|>", eos: "<|endoftext|>", unk: "<|endoftext|>" };
 * assert.equal(t.bos, CLIP_SPECIAL_TOKENS.bos);
 * ```
 */
export interface ClipSpecialTokens {
  /** Start of text. */
  bos: string;
  /** End of text. */
  eos: string;
  /** Stands for symbols missing from the vocabulary. */
  unk: string;
  /**
   * The padding token, when the folder names one: transformers registers it as a special token
   * too, so it is split out of prompt text before BPE (SD 2.x pads with `!`).
   */
  pad?: string;
}

/**
 * CLIPTokenizer's defaults.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { CLIP_SPECIAL_TOKENS } from "./clip_tokenizer_json.ts";
 * assert.equal(CLIP_SPECIAL_TOKENS.eos, "<|endoftext|>");
 * ```
 */
export const CLIP_SPECIAL_TOKENS: Readonly<ClipSpecialTokens> = Object.freeze({
  bos: "<|startoftext|>",
  eos: "<|endoftext|>",
  unk: "<|endoftext|>",
});

/**
 * The merge rules of a `merges.txt`: one `left right` pair a line; the `#version` header and
 * blank lines are skipped.
 *
 * @throws {Error} naming the line that is not two symbols separated by one space.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseMerges } from "./clip_tokenizer_json.ts";
 * assert.deepEqual(parseMerges("#version: 0.2\ni n\nt h</w>\n"), ["i n", "t h</w>"]);
 * ```
 */
export function parseMerges(text: string): string[] {
  const merges: string[] = [];
  const lines = text.split("\n");
  lines.forEach((raw, i) => {
    const line = raw.replace(/\r$/, "");
    if (line === "" || (i === 0 && line.startsWith("#version"))) return;
    const parts = line.split(" ");
    if (parts.length !== 2 || parts[0] === "" || parts[1] === "") {
      throw new Error(
        `line ${i + 1}: ${JSON.stringify(line)} (expected two symbols separated by one space)`,
      );
    }
    merges.push(line);
  });
  return merges;
}

/**
 * The `tokenizer.json` object (as the `tokenizers` library serialises it) of a CLIP tokenizer
 * with this vocabulary and these merges.
 *
 * @param vocab token -> id, as `vocab.json`
 * @param merges merge rules `left right`, in priority order (see {@link parseMerges}); written
 * as `[left, right]` pairs, as `tokenizers` >= 0.20 saves them
 * @param special the special tokens (default {@link CLIP_SPECIAL_TOKENS}); bos, eos and pad
 * become added special tokens, as transformers' `CLIPTokenizer` registers them
 * @throws {Error} naming a special token that is not in `vocab`.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { buildClipTokenizerJson } from "./clip_tokenizer_json.ts";
 * const json = buildClipTokenizerJson({ "a</w>": 0, "<|startoftext|>": 1, "<|endoftext|>": 2 }, []);
 * assert.equal((json.model as { type: string }).type, "BPE");
 * ```
 */
export function buildClipTokenizerJson(
  vocab: Readonly<Record<string, number>>,
  merges: readonly string[],
  special: ClipSpecialTokens = CLIP_SPECIAL_TOKENS,
): Record<string, unknown> {
  const idOf = (role: string, token: string): number => {
    const id = vocab[token];
    if (typeof id !== "number") {
      throw new Error(`${role} token ${JSON.stringify(token)} is not in the vocabulary`);
    }
    return id;
  };
  const bos = idOf("bos", special.bos);
  const eos = idOf("eos", special.eos);
  idOf("unk", special.unk);
  const specials = new Map([[special.bos, bos], [special.eos, eos]]);
  // a pad token missing from the vocabulary is the caller's error to report (ClipTokenizer names
  // the file and field)
  const pad = special.pad === undefined ? undefined : vocab[special.pad];
  if (typeof pad === "number") specials.set(special.pad!, pad);
  const added = [...specials.entries()]
    .sort((a, b) => a[1] - b[1])
    .map(([content, id]) => ({
      id,
      content,
      single_word: false,
      lstrip: false,
      rstrip: false,
      normalized: false,
      special: true,
    }));
  return {
    version: "1.0",
    truncation: null,
    padding: null,
    added_tokens: added,
    normalizer: {
      type: "Sequence",
      normalizers: [
        { type: "NFC" },
        { type: "Replace", pattern: { Regex: String.raw`\s+` }, content: " " },
        { type: "Lowercase" },
      ],
    },
    pre_tokenizer: {
      type: "Sequence",
      pretokenizers: [
        {
          type: "Split",
          pattern: { Regex: CLIP_SPLIT_PATTERN },
          behavior: "Removed",
          invert: true,
        },
        { type: "ByteLevel", add_prefix_space: false, trim_offsets: true, use_regex: true },
      ],
    },
    post_processor: {
      type: "RobertaProcessing",
      sep: [special.eos, eos],
      cls: [special.bos, bos],
      trim_offsets: false,
      add_prefix_space: false,
    },
    decoder: { type: "ByteLevel", add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: {
      type: "BPE",
      dropout: null,
      unk_token: special.unk,
      continuing_subword_prefix: "",
      end_of_word_suffix: "</w>",
      fuse_unk: false,
      byte_fallback: false,
      ignore_merges: false,
      vocab,
      merges: merges.map((m) => m.split(" ")),
    },
  };
}
