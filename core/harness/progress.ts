/**
 * A one-line progress display for long runs: on a terminal it redraws
 * `[3/11] ddpm-50 free run 23/50` in place; elsewhere (CI logs) it stays silent so logs keep
 * one line per case.
 *
 * @module
 */

/**
 * Receives progress events from the runner.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { ProgressSink } from "./progress.ts";
 * const events: string[] = [];
 * const sink: ProgressSink = {
 *   caseStart: (name, index, total) => events.push(`${index}/${total} ${name}`),
 *   phase: (phase, done, total) => events.push(`${phase} ${done}/${total}`),
 *   caseEnd: () => events.push("end"),
 * };
 * sink.caseStart("ddim-eta0", 1, 18);
 * sink.phase("free run", 20, 20);
 * sink.caseEnd();
 * assert.deepEqual(events, ["1/18 ddim-eta0", "free run 20/20", "end"]);
 * ```
 */
export interface ProgressSink {
  /** A case begins (1-based index of total). */
  caseStart(name: string, index: number, total: number): void;
  /** A phase of the case advanced: `done` of `total` model calls. */
  phase(phase: string, done: number, total: number): void;
  /** The case ended; the line is cleared before the verdict is printed. */
  caseEnd(): void;
}

/**
 * A sink that ignores everything.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { silentProgress, terminalProgress } from "./progress.ts";
 * silentProgress.caseStart("ddim-eta0", 1, 18); // prints nothing
 * assert.equal(terminalProgress(false), silentProgress); // what a CI log gets
 * ```
 */
export const silentProgress: ProgressSink = {
  caseStart() {},
  phase() {},
  caseEnd() {},
};

/**
 * A sink that redraws one status line on stderr when stderr is a terminal, else silent.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { terminalProgress } from "./progress.ts";
 * let screen = "";
 * const p = terminalProgress(true, (text) => (screen += text));
 * p.caseStart("ddim-eta0", 1, 11);
 * p.phase("free run", 20, 20);
 * p.caseEnd();
 * assert.ok(screen.includes("[1/11] ddim-eta0 free run [####################] 20/20"));
 * ```
 */
export function terminalProgress(
  isTerminal: boolean = Deno.stderr.isTerminal(),
  write: (text: string) => void = (t) => Deno.stderr.writeSync(new TextEncoder().encode(t)),
): ProgressSink {
  if (!isTerminal) return silentProgress;
  let prefix = "";
  let last = 0;
  return {
    caseStart(name, index, total) {
      prefix = `[${index}/${total}] ${name}`;
      write(`\r\x1b[2K${prefix}`);
    },
    phase(phase, done, total) {
      const now = performance.now();
      if (done < total && now - last < 50) return; // at most 20 redraws a second
      last = now;
      const width = 20;
      const filled = total > 0 ? Math.round((done / total) * width) : 0;
      write(
        `\r\x1b[2K${prefix} ${phase} [${"#".repeat(filled)}${
          ".".repeat(width - filled)
        }] ${done}/${total}`,
      );
    },
    caseEnd() {
      write("\r\x1b[2K");
    },
  };
}
