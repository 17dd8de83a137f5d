import assert from "node:assert/strict";
import { ModelFileError } from "../../core/models/errors.ts";

Deno.test("ModelFileError reads file: field: problem and keeps file, field and cause", () => {
  const cause = new Error("inner");
  const e = new ModelFileError("m/model_index.json", "unet", "expected [library, class]", {
    cause,
  });
  assert.equal(e.name, "ModelFileError");
  assert.equal(e.message, "m/model_index.json: unet: expected [library, class]");
  assert.equal(e.file, "m/model_index.json");
  assert.equal(e.field, "unet");
  assert.equal(e.cause, cause);
  const whole = new ModelFileError("m", undefined, "not a folder");
  assert.equal(whole.message, "m: not a folder");
  assert.equal(whole.field, undefined);
});
