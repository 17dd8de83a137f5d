import assert from "node:assert/strict";
import { IN_MEMORY, TensorFileError } from "../../core/tensor/errors.ts";

Deno.test("TensorFileError names the file and the field, and keeps the cause", () => {
  const cause = new Error("EOF");
  const e = new TensorFileError("a.safetensors", "header", "truncated (expected 8 bytes)", {
    cause,
  });
  assert.equal(e.message, "a.safetensors: header: truncated (expected 8 bytes)");
  assert.equal(e.name, "TensorFileError");
  assert.equal(e.file, "a.safetensors");
  assert.equal(e.field, "header");
  assert.equal(e.cause, cause);
  assert.equal(new TensorFileError(IN_MEMORY, undefined, "empty").message, "<bytes>: empty");
});
