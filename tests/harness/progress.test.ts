import assert from "node:assert/strict";
import { silentProgress, terminalProgress } from "../../core/harness/progress.ts";

Deno.test("terminalProgress is silent when stderr is not a terminal", () => {
  assert.equal(terminalProgress(false, () => assert.fail("wrote")), silentProgress);
});

Deno.test("terminalProgress redraws one line with a bar and clears it at the end", () => {
  const out: string[] = [];
  const p = terminalProgress(true, (t) => out.push(t));
  p.caseStart("ddpm-50", 3, 11);
  p.phase("free run", 50, 50);
  p.caseEnd();
  assert.equal(out[0], "\r\x1b[2K[3/11] ddpm-50");
  assert.equal(out[1], `\r\x1b[2K[3/11] ddpm-50 free run [${"#".repeat(20)}] 50/50`);
  assert.equal(out[2], "\r\x1b[2K");
});
