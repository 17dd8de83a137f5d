import assert from "node:assert/strict";
import { indexForTimestep } from "../../core/schedulers/step_index.ts";

Deno.test("indexForTimestep takes the second match, and names who asked when missing", () => {
  assert.equal(indexForTimestep([999, 500, 500, 0], 500, "t"), 2);
  assert.equal(indexForTimestep([999, 500, 0], 500, "t"), 1);
  assert.throws(
    () => indexForTimestep([999, 0], 3, "who"),
    /who: timestep 3 is not in the schedule/,
  );
});
