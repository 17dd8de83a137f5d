import assert from "node:assert/strict";
import { FileError } from "../../core/tensor/errors.ts";
import { OnnxTextEncoder } from "../../core/models/onnx_text_encoder.ts";

const GRAPHS = "fixtures/models-test";

// The test graphs compute last_hidden_state[b, l, d] = ids[b, l] * (d + 1), D = 8
// (dump_test_graphs.py).
function expected(ids: number[][]): number[] {
  return ids.flat().flatMap((id) => [1, 2, 3, 4, 5, 6, 7, 8].map((k) => id * k));
}

Deno.test("token ids are fed as the declared int32 or int64", async () => {
  const ids = [[49406, 320, 1125, 49407], [49406, 49407, 49407, 49407]];
  for (
    const [file, type] of [["text_encoder_int32.onnx", "int32"], [
      "text_encoder_int64.onnx",
      "int64",
    ]]
  ) {
    const te = await OnnxTextEncoder.load(`${GRAPHS}/${file}`);
    try {
      assert.equal(te.input("input_ids").type, type);
      const h = await te.encode(ids);
      assert.deepEqual(h.shape, [2, 4, 8]);
      assert.deepEqual([...h.data], expected(ids));
      assert.equal(typeof te.lastRunMs, "number");
    } finally {
      await te.release();
    }
  }
});

Deno.test("ragged, empty or non-integer rows are refused with the file named", async () => {
  const te = await OnnxTextEncoder.load(`${GRAPHS}/text_encoder_int32.onnx`);
  try {
    await assert.rejects(
      te.encode([[1, 2], [3]]),
      (e: unknown) =>
        e instanceof FileError &&
        e.message ===
          `${GRAPHS}/text_encoder_int32.onnx: input 'input_ids': got 2 rows of lengths [2, 1] ` +
            "(expected one or more rows of equal length)",
    );
    await assert.rejects(te.encode([]), /got 0 rows/);
    await assert.rejects(te.encode([[1.5]]), /expected whole token ids >= 0/);
  } finally {
    await te.release();
  }
});

Deno.test("a UNet file is not a text encoder", async () => {
  await assert.rejects(
    OnnxTextEncoder.load(`${GRAPHS}/unet_int64.onnx`),
    /unet_int64\.onnx: 2 problems: input 'input_ids': missing; the model has inputs \[sample, timestep, encoder_hidden_states\]/,
  );
});
