/**
 * The CLIP tokenizer of a Stable Diffusion folder as a {@link PromptTokenizer}: token ids as
 * diffusers gets them from `CLIPTokenizer(prompt, padding="max_length",
 * max_length=tokenizer.model_max_length, truncation=True).input_ids`.
 *
 * Tokenization runs in `@huggingface/tokenizers` over the folder's `tokenizer.json`, or over
 * the equivalent built from `vocab.json` + `merges.txt` (clip_tokenizer_json.ts) when there is
 * no `tokenizer.json`. Truncation keeps the first `modelMaxLength - 2` tokens of the text
 * between the start and end tokens; padding appends the pad token of the folder's
 * `special_tokens_map.json` / `tokenizer_config.json` (`<|endoftext|>` for SD 1.x, `!` for
 * SD 2.x).
 *
 * @module
 */
import {
  LowercaseNormalizer,
  type Normalizer,
  SequenceNormalizer,
  Tokenizer,
} from "@huggingface/tokenizers";
import { join } from "node:path";
import {
  buildClipTokenizerJson,
  CLIP_SPECIAL_TOKENS,
  type ClipSpecialTokens,
  parseMerges,
} from "./clip_tokenizer_json.ts";
import { FileError } from "../tensor/errors.ts";
import type { PromptTokenizer } from "./types.ts";

/**
 * Where the vocabulary came from and which special tokens are used, for reports.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ClipTokenizer, type ClipTokenizerInfo } from "./clip_tokenizer.ts";
 * const tok = await ClipTokenizer.fromFolder("fixtures/models/tiny-sd/tokenizer");
 * const info: Readonly<ClipTokenizerInfo> = tok.info;
 * assert.equal(info.folder, "fixtures/models/tiny-sd/tokenizer");
 * assert.equal(info.modelMaxLength, 77);
 * assert.deepEqual(info.warnings, []); // its tokenizer_config.json names everything
 * ```
 */
export interface ClipTokenizerInfo {
  /** The folder. */
  folder: string;
  /** `tokenizer.json`, or `vocab.json + merges.txt` when it was built from those. */
  source: "tokenizer.json" | "vocab.json + merges.txt";
  /** The start token (`<|startoftext|>`). */
  bosToken: string;
  /** The start token's id. */
  bosId: number;
  /** The end token (`<|endoftext|>`). */
  eosToken: string;
  /** The end token's id. */
  eosId: number;
  /** The token that pads a row to `modelMaxLength`. */
  padToken: string;
  /** The pad token's id. */
  padId: number;
  /** The row length. */
  modelMaxLength: number;
  /** What was assumed because the folder does not say it (see {@link tokenizerWarnings}). */
  warnings: readonly string[];
}

/**
 * Lowercases one code point at a time, as the `tokenizers` library's `Lowercase` normalizer
 * (Rust `char::to_lowercase` per char). `String.prototype.toLowerCase`, which
 * `@huggingface/tokenizers` uses, also applies Unicode's context-dependent Final_Sigma rule
 * (word-final "Σ" -> "ς"), which `tokenizers` does not: "ΟΔΥΣΣΕΥΣ" must become "οδυσσευσ".
 */
class PerCodePointLowercase extends LowercaseNormalizer {
  override normalize(text: string): string {
    let out = "";
    for (const ch of text) out += ch.toLowerCase();
    return out;
  }
}

/** Replaces every Lowercase normalizer in `n` (nested in Sequences too); returns the new root. */
function perCodePointLowercase(n: Normalizer | null): Normalizer | null {
  if (n instanceof LowercaseNormalizer) return new PerCodePointLowercase(n.config);
  if (n instanceof SequenceNormalizer) {
    n.normalizers = n.normalizers.map((c) => perCodePointLowercase(c));
  }
  return n;
}

/** The CLIPTokenizer default row length (SD 1.x/2.x `tokenizer_config.json`). */
const DEFAULT_MAX_LENGTH = 77;

/**
 * What a tokenizer folder leaves to defaults, as warnings naming the folder and the files: the
 * pad token when neither `special_tokens_map.json` nor `tokenizer_config.json` names one
 * (transformers' `CLIPTokenizer` then pads with `<|endoftext|>`, where SD 2.x models pad with
 * `!`), and `model_max_length` when `tokenizer_config.json` lacks it (77 is assumed;
 * transformers would leave the length unbounded, so diffusers' `padding="max_length"` fails).
 * Empty when the folder names both, as `save_pretrained` writes it.
 *
 * @param folder the tokenizer folder, for the messages
 * @param config the `tokenizer_config.json` object, or undefined when the file is missing
 * @param map the `special_tokens_map.json` object, or undefined when the file is missing
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { tokenizerWarnings } from "./clip_tokenizer.ts";
 * assert.deepEqual(tokenizerWarnings("tok", { model_max_length: 77, pad_token: "!" }, undefined), []);
 * assert.deepEqual(tokenizerWarnings("tok", undefined, undefined), [
 *   'tok: no tokenizer_config.json or special_tokens_map.json: assumed transformers\' ' +
 *   'CLIPTokenizer defaults: pad_token "<|endoftext|>" (SD 2.x models pad with "!"), ' +
 *   "model_max_length 77 (transformers would leave it unbounded)",
 * ]);
 * assert.match(tokenizerWarnings("tok", { model_max_length: 77 }, {})[0], /names no pad_token/);
 * ```
 */
export function tokenizerWarnings(
  folder: string,
  config: Readonly<Record<string, unknown>> | undefined,
  map: Readonly<Record<string, unknown>> | undefined,
): string[] {
  const pad = `pad_token ${JSON.stringify(CLIP_SPECIAL_TOKENS.eos)} (SD 2.x models pad with "!")`;
  const length = `model_max_length ${DEFAULT_MAX_LENGTH} (transformers would leave it unbounded)`;
  if (config === undefined && map === undefined) {
    return [
      `${folder}: no tokenizer_config.json or special_tokens_map.json: assumed transformers' ` +
      `CLIPTokenizer defaults: ${pad}, ${length}`,
    ];
  }
  const named = (o: Readonly<Record<string, unknown>> | undefined, key: string) =>
    o?.[key] !== undefined && o?.[key] !== null;
  const out: string[] = [];
  if (!named(map, "pad_token") && !named(config, "pad_token")) {
    const files = [config && "tokenizer_config.json", map && "special_tokens_map.json"]
      .filter(Boolean).join(" and ");
    out.push(
      `${folder}: ${files} names no pad_token: assumed transformers' CLIPTokenizer default ${pad}`,
    );
  }
  if (!named(config, "model_max_length")) {
    out.push(
      `${folder}: ${
        config ? "tokenizer_config.json has no model_max_length" : "no tokenizer_config.json"
      }: assumed ${length}`,
    );
  }
  return out;
}

async function readJson(
  path: string,
  required: boolean,
): Promise<Record<string, unknown> | undefined> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (err) {
    if (!required && err instanceof Deno.errors.NotFound) return undefined;
    throw new FileError(path, undefined, `cannot read it (${(err as Error).message})`, {
      cause: err,
    });
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new FileError(path, undefined, `not valid JSON (${(err as Error).message})`, {
      cause: err,
    });
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new FileError(path, undefined, "expected a JSON object");
  }
  return value as Record<string, unknown>;
}

async function fileExists(path: string): Promise<boolean> {
  try {
    return (await Deno.stat(path)).isFile;
  } catch {
    return false;
  }
}

/** A special token as transformers saves it: a string or `{ "content": string, ... }`. */
function tokenText(file: string, key: string, value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === "string") return value;
  if (typeof value === "object" && typeof (value as { content?: unknown }).content === "string") {
    return (value as { content: string }).content;
  }
  throw new FileError(
    file,
    key,
    `expected a token string or {"content": string}, got ${JSON.stringify(value)}`,
  );
}

/**
 * A CLIP tokenizer producing fixed-length id rows.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ClipTokenizer } from "./clip_tokenizer.ts";
 * const tok = await ClipTokenizer.fromFolder("fixtures/models/tiny-sd/tokenizer");
 * const ids = tok.encode("a photo of a cat");
 * assert.deepEqual([ids.length, ids[0]], [77, 49406]);
 * ```
 */
export class ClipTokenizer implements PromptTokenizer {
  /** The fixed row length. */
  readonly modelMaxLength: number;
  /** Provenance and special tokens. */
  readonly info: Readonly<ClipTokenizerInfo>;
  /**
   * What was assumed because the folder does not say it (`info.warnings`; see
   * {@link tokenizerWarnings}).
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { ClipTokenizer } from "./clip_tokenizer.ts";
   * const tok = await ClipTokenizer.fromFolder("fixtures/models/tiny-sd-v/tokenizer");
   * assert.deepEqual(tok.warnings, []); // its tokenizer_config.json pads with "!"
   * ```
   */
  get warnings(): readonly string[] {
    return this.info.warnings;
  }
  #tokenizer: Tokenizer;

  /**
   * Wraps a `tokenizer.json` object; use {@link ClipTokenizer.fromFolder} to read a folder.
   *
   * @param tokenizerJson a `tokenizer.json` object
   * @param info the special tokens and row length (ids must match `tokenizerJson`); `warnings`
   * defaults to none
   * @param config the `tokenizer_config.json` object, passed to `@huggingface/tokenizers`
   */
  constructor(
    tokenizerJson: object,
    info: Omit<ClipTokenizerInfo, "warnings"> & { warnings?: readonly string[] },
    config: object = {},
  ) {
    this.#tokenizer = new Tokenizer(tokenizerJson, config);
    this.#tokenizer.normalizer = perCodePointLowercase(this.#tokenizer.normalizer);
    this.modelMaxLength = info.modelMaxLength;
    this.info = Object.freeze({ ...info, warnings: Object.freeze([...(info.warnings ?? [])]) });
  }

  /**
   * Reads a transformers CLIP tokenizer folder: `tokenizer.json`, or `vocab.json` +
   * `merges.txt`; plus the optional `tokenizer_config.json` (`model_max_length`, special
   * tokens) and `special_tokens_map.json` (special tokens; it wins over the config, as in
   * transformers' `from_pretrained`). What the folder leaves to defaults (no pad token, no
   * `model_max_length`, or neither file) is in {@link ClipTokenizer.warnings}.
   *
   * @param folder the tokenizer folder
   * @param prefer `vocab` builds from `vocab.json` + `merges.txt` even when `tokenizer.json`
   * exists (to compare both paths)
   * @throws {FileError} naming the missing or malformed file and what it should hold.
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { ClipTokenizer } from "./clip_tokenizer.ts";
   * const tok = await ClipTokenizer.fromFolder("fixtures/models/tiny-sd/tokenizer", "vocab");
   * assert.equal(tok.info.source, "vocab.json + merges.txt");
   * assert.deepEqual(tok.warnings, []);
   * ```
   */
  static async fromFolder(
    folder: string,
    prefer: "tokenizer.json" | "vocab" = "tokenizer.json",
  ): Promise<ClipTokenizer> {
    const configPath = join(folder, "tokenizer_config.json");
    const mapPath = join(folder, "special_tokens_map.json");
    const configJson = await readJson(configPath, false);
    const mapJson = await readJson(mapPath, false);
    const warnings = tokenizerWarnings(folder, configJson, mapJson);
    const config = configJson ?? {};
    const map = mapJson ?? {};
    const pick = (key: string, fallback: string): string =>
      tokenText(mapPath, key, map[key]) ?? tokenText(configPath, key, config[key]) ?? fallback;
    const special: ClipSpecialTokens & { pad: string } = {
      bos: pick("bos_token", CLIP_SPECIAL_TOKENS.bos),
      eos: pick("eos_token", CLIP_SPECIAL_TOKENS.eos),
      unk: pick("unk_token", CLIP_SPECIAL_TOKENS.unk),
      pad: pick("pad_token", CLIP_SPECIAL_TOKENS.eos),
    };
    const maxLength = config["model_max_length"] ?? DEFAULT_MAX_LENGTH;
    if (
      typeof maxLength !== "number" || !Number.isInteger(maxLength) || maxLength < 2 ||
      maxLength > 1e6
    ) {
      throw new FileError(
        configPath,
        "model_max_length",
        `got ${JSON.stringify(maxLength)} (expected the row length, 77 for CLIP)`,
      );
    }

    const jsonPath = join(folder, "tokenizer.json");
    const vocabPath = join(folder, "vocab.json");
    const mergesPath = join(folder, "merges.txt");
    const hasJson = await fileExists(jsonPath);
    const hasVocab = (await fileExists(vocabPath)) && (await fileExists(mergesPath));
    let tokenizerJson: Record<string, unknown>;
    let source: ClipTokenizerInfo["source"];
    if (hasJson && !(prefer === "vocab" && hasVocab)) {
      tokenizerJson = (await readJson(jsonPath, true))!;
      source = "tokenizer.json";
    } else if (hasVocab) {
      const vocab = (await readJson(vocabPath, true))!;
      for (const [token, id] of Object.entries(vocab)) {
        if (typeof id !== "number" || !Number.isInteger(id) || id < 0) {
          throw new FileError(
            vocabPath,
            JSON.stringify(token),
            `id ${JSON.stringify(id)} (expected a whole number >= 0)`,
          );
        }
      }
      let merges: string[];
      try {
        merges = parseMerges(await Deno.readTextFile(mergesPath));
      } catch (err) {
        throw new FileError(mergesPath, undefined, (err as Error).message, { cause: err });
      }
      try {
        tokenizerJson = buildClipTokenizerJson(vocab as Record<string, number>, merges, special);
      } catch (err) {
        throw new FileError(vocabPath, undefined, (err as Error).message, { cause: err });
      }
      source = "vocab.json + merges.txt";
    } else {
      throw new FileError(
        folder,
        undefined,
        "no tokenizer.json, and no vocab.json + merges.txt to build one from (expected a CLIP " +
          "tokenizer folder as transformers' save_pretrained writes it)",
      );
    }

    let tokenizer: Tokenizer;
    try {
      tokenizer = new Tokenizer(tokenizerJson, config);
    } catch (err) {
      throw new FileError(
        source === "tokenizer.json" ? jsonPath : vocabPath,
        undefined,
        `@huggingface/tokenizers cannot use it (${(err as Error).message})`,
        { cause: err },
      );
    }
    const idOf = (key: string, token: string): number => {
      const id = tokenizer.token_to_id(token);
      if (id === undefined) {
        throw new FileError(
          source === "tokenizer.json" ? jsonPath : vocabPath,
          key,
          `token ${JSON.stringify(token)} is not in the vocabulary`,
        );
      }
      return id;
    };
    const info: ClipTokenizerInfo = {
      folder,
      source,
      bosToken: special.bos,
      bosId: idOf("bos_token", special.bos),
      eosToken: special.eos,
      eosId: idOf("eos_token", special.eos),
      padToken: special.pad,
      padId: idOf("pad_token", special.pad),
      modelMaxLength: maxLength,
      warnings,
    };
    return new ClipTokenizer(tokenizerJson, info, config);
  }

  /**
   * The ids of `prompt` between the start and end tokens, without truncation or padding.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { ClipTokenizer } from "./clip_tokenizer.ts";
   * const tok = await ClipTokenizer.fromFolder("fixtures/models/tiny-sd/tokenizer");
   * assert.deepEqual(tok.textIds("a cat"), [320, 2368]);
   * ```
   */
  textIds(prompt: string): number[] {
    return this.#tokenizer.encode(prompt, { add_special_tokens: false }).ids;
  }

  /**
   * `[bos, ...text ids (at most modelMaxLength - 2), eos, pad, pad, ...]`, `modelMaxLength`
   * long, as CLIPTokenizer with `padding="max_length", truncation=True`.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { ClipTokenizer } from "./clip_tokenizer.ts";
   * const tok = await ClipTokenizer.fromFolder("fixtures/models/tiny-sd/tokenizer");
   * assert.deepEqual(tok.encode("").slice(0, 3), [49406, 49407, 49407]);
   * ```
   */
  encode(prompt: string): number[] {
    const { bosId, eosId, padId } = this.info;
    const text = this.textIds(prompt).slice(0, this.modelMaxLength - 2);
    const ids = [bosId, ...text, eosId];
    while (ids.length < this.modelMaxLength) ids.push(padId);
    return ids;
  }
}
