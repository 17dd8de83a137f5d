/**
 * A one-line progress display for long runs: on a terminal it redraws
 * `[3/11] ddpm-50 free run 23/50` in place; elsewhere (CI logs) it stays silent so logs keep
 * one line per case.
 *
 * @module
 */

/** Receives progress events from the runner. */
export interface ProgressSink {
  /** A case begins (1-based index of total). */
  caseStart(name: string, index: number, total: number): void;
  /** A phase of the case advanced: `done` of `total` model calls. */
  phase(phase: string, done: number, total: number): void;
  /** The case ended; the line is cleared before the verdict is printed. */
  caseEnd(): void;
}

/** A sink that ignores everything. */
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
 * import { terminalProgress } from "./progress.ts";
 * const p = terminalProgress();
 * p.caseStart("ddim-eta0", 1, 11);
 * p.phase("free run", 5, 20);
 * p.caseEnd();
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
