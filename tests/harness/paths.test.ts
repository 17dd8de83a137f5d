import assert from "node:assert/strict";
import { dirname, join, relative, resolve, toFileUrl } from "../../core/harness/paths.ts";

Deno.test("paths resolve against the working directory and round-trip through relative", () => {
  assert.equal(resolve("a/b", "/base"), "/base/a/b");
  assert.equal(resolve("/abs", "/base"), "/abs");
  assert.equal(relative(resolve("fixtures/models")), "fixtures/models");
  assert.equal(relative("/repo/fixtures/a", "/repo"), "fixtures/a");
  assert.equal(dirname("reports/index.html"), "reports");
  assert.equal(join("reports", "x", "..", "results.json"), "reports/results.json");
  assert.equal(toFileUrl("/tmp/a b.ts"), "file:///tmp/a%20b.ts");
});
