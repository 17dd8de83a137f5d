import assert from "node:assert/strict";
import { resultsFromJson, resultsToJson } from "../../core/results/json.ts";

Deno.test("results.json keeps non-finite figures: Inf dB PSNR, -Inf, NaN survive the round trip", () => {
  const figures = { maxAbs: 0, rmse: 0, relL2: NaN, cosine: 1, maxUlp: 0, psnr: Infinity, ssim: 1 };
  const value = {
    worst: figures,
    tolerance: { psnrMin: -Infinity },
    perStep: [{ step: 0, ...figures }],
  };
  const text = resultsToJson(value);
  // plain JSON (JSON.parse reads it), the figures spelled out
  assert.equal(JSON.parse(text).worst.psnr, "Infinity");
  assert.equal(JSON.stringify({ psnr: Infinity }), '{"psnr":null}', "what plain JSON would lose");
  const back = resultsFromJson(text) as typeof value;
  assert.equal(back.worst.psnr, Infinity);
  assert.ok(Number.isNaN(back.worst.relL2));
  assert.equal(back.tolerance.psnrMin, -Infinity);
  assert.equal(back.perStep[0].psnr, Infinity);
});

Deno.test("only figure fields are revived: a prompt or name reading 'Infinity' stays a string", () => {
  const text = resultsToJson({ name: "Infinity", prompt: "NaN", timing: { totalMs: 12 } });
  assert.deepEqual(resultsFromJson(text), {
    name: "Infinity",
    prompt: "NaN",
    timing: { totalMs: 12 },
  });
});
