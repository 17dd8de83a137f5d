import assert from "node:assert/strict";
import { FileError, IN_MEMORY } from "../../core/tensor/errors.ts";

Deno.test("FileError names the file and the field, and keeps the cause", () => {
  const cause = new Error("EOF");
  const e = new FileError("a.safetensors", "header", "truncated (expected 8 bytes)", {
    cause,
  });
  assert.equal(e.message, "a.safetensors: header: truncated (expected 8 bytes)");
  assert.equal(e.name, "FileError");
  assert.equal(e.file, "a.safetensors");
  assert.equal(e.field, "header");
  assert.equal(e.cause, cause);
  assert.equal(new FileError(IN_MEMORY, undefined, "empty").message, "<bytes>: empty");
});

Deno.test("FileError reads file: field: problem for model files and keeps file, field and cause", () => {
  const cause = new Error("inner");
  const e = new FileError("m/model_index.json", "unet", "expected [library, class]", {
    cause,
  });
  assert.equal(e.name, "FileError");
  assert.equal(e.message, "m/model_index.json: unet: expected [library, class]");
  assert.equal(e.file, "m/model_index.json");
  assert.equal(e.field, "unet");
  assert.equal(e.cause, cause);
  const whole = new FileError("m", undefined, "not a folder");
  assert.equal(whole.message, "m: not a folder");
  assert.equal(whole.field, undefined);
});
