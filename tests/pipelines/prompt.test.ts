import assert from "node:assert/strict";
import { PipelineInputError } from "../../core/pipelines/errors.ts";
import { encodePrompt, promptEmbeddings } from "../../core/pipelines/prompt.ts";
import { Tensor } from "../../core/tensor/tensor.ts";
import { StandInTextEncoder, StandInTokenizer } from "./_standins.ts";

Deno.test("encodePrompt with guidance: one encoder call per prompt (positive first), embeds = cat([negative, positive])", async () => {
  const tok = new StandInTokenizer(6);
  const te = new StandInTextEncoder(3);
  const out = await encodePrompt(tok, te, "cat", "dog", true);
  assert.deepEqual(te.calls, [[tok.encode("cat")], [tok.encode("dog")]]);
  assert.deepEqual(out.inputIds, [tok.encode("dog"), tok.encode("cat")]);
  assert.deepEqual(out.embeds.shape, [2, 6, 3]);
  const neg = await new StandInTextEncoder(3).encode([tok.encode("dog")]);
  const pos = await new StandInTextEncoder(3).encode([tok.encode("cat")]);
  assert.deepEqual([...out.embeds.data], [...neg.data, ...pos.data]);
});

Deno.test("encodePrompt: the default negative prompt is the empty string; no guidance encodes the prompt alone", async () => {
  const tok = new StandInTokenizer(4);
  const te = new StandInTextEncoder(2);
  const cfg = await encodePrompt(tok, te, "a", undefined, true);
  assert.deepEqual(cfg.inputIds[0], [49406, 49407, 49407, 49407]);
  const te1 = new StandInTextEncoder(2);
  const one = await encodePrompt(tok, te1, "a", "ignored", false);
  assert.equal(te1.calls.length, 1);
  assert.deepEqual(one.embeds.shape, [1, 4, 2]);
  assert.deepEqual(one.inputIds, [tok.encode("a")]);
});

Deno.test("encodePrompt names the field when the tokenizer or the encoder misbehave", async () => {
  const te = new StandInTextEncoder(2);
  const shortTok = { modelMaxLength: 5, encode: () => [1, 2, 3] };
  await assert.rejects(
    () => encodePrompt(shortTok, te, "x", "", true),
    (e: unknown) =>
      e instanceof PipelineInputError && e.field === "prompt" && /3 ids/.test(e.message),
  );
  const badEncoder = { encode: () => Promise.resolve(Tensor.zeros([1, 3, 2])) };
  await assert.rejects(
    () => encodePrompt(new StandInTokenizer(4), badEncoder, "x", "", false),
    (e: unknown) => e instanceof PipelineInputError && /\[1, 4, D\]/.test(e.message),
  );
  await assert.rejects(
    () => encodePrompt(new StandInTokenizer(4), te, 5 as unknown as string, "", false),
    PipelineInputError,
  );
});

Deno.test("promptEmbeddings checks the batch of given embeddings against the guidance scale", async () => {
  const two = Tensor.zeros([2, 77, 8]);
  assert.equal((await promptEmbeddings({ embeds: two }, 7.5)).embeds, two);
  await assert.rejects(
    () => promptEmbeddings({ embeds: two }, 1),
    (e: unknown) => e instanceof PipelineInputError && e.field === "prompt.embeds",
  );
  await assert.rejects(() => promptEmbeddings({ embeds: two }, NaN), /guidanceScale/);
  const te = new StandInTextEncoder(2);
  const enc = await promptEmbeddings(
    { tokenizer: new StandInTokenizer(4), textEncoder: te, prompt: "p", negativePrompt: "n" },
    3,
  );
  assert.deepEqual(enc.embeds.shape, [2, 4, 2]);
});
