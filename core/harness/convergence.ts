/**
 * Empirical order of convergence of a sampler: its error against a converged solution falls as
 * `C * N^-p` with the step count N, so p is minus the slope of log(error) against log(N). The
 * local order between two step counts is that slope over the one interval; the fitted order is
 * the least-squares slope over the points of the asymptotic range (the usual definition, e.g.
 * Hairer, Norsett & Wanner, "Solving Ordinary Differential Equations I", section II.1's
 * precision-versus-work diagrams).
 *
 * @module
 */

/**
 * An error measured at a step count.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { ErrorPoint } from "./convergence.ts";
 * const p: ErrorPoint = { steps: 10, error: 1e-3 };
 * assert.equal(p.steps, 10);
 * ```
 */
export interface ErrorPoint {
  /** Step count. */
  steps: number;
  /** The error there (> 0 to take part in a fit). */
  error: number;
}

/**
 * The local order between consecutive points (sorted by steps): `-log(e2/e1) / log(n2/n1)`,
 * NaN where an error is not positive and finite.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { localOrders } from "./convergence.ts";
 * // error = 3 * N^-2: every local order is 2
 * const points = [10, 20, 50].map((steps) => ({ steps, error: 3 * steps ** -2 }));
 * assert.deepEqual(localOrders(points).map((p) => Math.round(p.order * 1e9) / 1e9), [2, 2]);
 * ```
 */
export function localOrders(
  points: readonly ErrorPoint[],
): { from: number; to: number; order: number }[] {
  const sorted = [...points].sort((a, b) => a.steps - b.steps);
  const out = [];
  for (let i = 1; i < sorted.length; i++) {
    const a = sorted[i - 1];
    const b = sorted[i];
    const ok = [a.error, b.error].every((e) => e > 0 && Number.isFinite(e));
    out.push({
      from: a.steps,
      to: b.steps,
      order: ok ? -Math.log(b.error / a.error) / Math.log(b.steps / a.steps) : NaN,
    });
  }
  return out;
}

/**
 * A fitted order and the points it was fitted on.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { OrderFit } from "./convergence.ts";
 * const f: OrderFit = { order: 2, from: 20, to: 100, points: 3 };
 * assert.equal(f.points, 3);
 * ```
 */
export interface OrderFit {
  /** Minus the least-squares slope of log(error) on log(steps). */
  order: number;
  /** The fit's smallest step count. */
  from: number;
  /** Its largest. */
  to: number;
  /** How many points it used. */
  points: number;
}

/**
 * Least-squares order over the asymptotic range: the points with at least `minSteps` steps and
 * an error above `floor` (below it the reference's own error or round-off dominates). Null when
 * fewer than two points remain.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { fitOrder } from "./convergence.ts";
 * // 5 * N^-3 from 20 steps on, a pre-asymptotic point at 5 and a floored one at 250
 * const points = [
 *   { steps: 5, error: 1 }, ...[20, 50, 100].map((steps) => ({ steps, error: 5 * steps ** -3 })),
 *   { steps: 250, error: 1e-9 },
 * ];
 * const fit = fitOrder(points, { minSteps: 20, floor: 1e-8 })!;
 * assert.deepEqual([Math.round(fit.order * 1e9) / 1e9, fit.from, fit.to, fit.points], [3, 20, 100, 3]);
 * assert.equal(fitOrder(points, { minSteps: 200, floor: 0 })?.points, undefined); // one point left
 * ```
 */
export function fitOrder(
  points: readonly ErrorPoint[],
  range: { minSteps: number; floor: number },
): OrderFit | null {
  const used = points.filter((p) =>
    p.steps >= range.minSteps && p.error > range.floor && Number.isFinite(p.error) && p.error > 0
  );
  if (used.length < 2) return null;
  const xs = used.map((p) => Math.log(p.steps));
  const ys = used.map((p) => Math.log(p.error));
  const mx = xs.reduce((a, b) => a + b) / xs.length;
  const my = ys.reduce((a, b) => a + b) / ys.length;
  let sxy = 0;
  let sxx = 0;
  for (let i = 0; i < xs.length; i++) {
    sxy += (xs[i] - mx) * (ys[i] - my);
    sxx += (xs[i] - mx) ** 2;
  }
  if (sxx === 0) return null; // every point at one step count
  const steps = used.map((p) => p.steps);
  return {
    order: -sxy / sxx,
    from: Math.min(...steps),
    to: Math.max(...steps),
    points: used.length,
  };
}
