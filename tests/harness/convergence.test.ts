import assert from "node:assert/strict";
import { fitOrder, localOrders } from "../../core/harness/convergence.ts";

const near = (a: number, b: number, tol = 1e-9) => Math.abs(a - b) <= tol;

Deno.test("localOrders: the slope of a power law C * N^-p between every pair of step counts", () => {
  for (const p of [1, 2, 3, 0.5]) {
    const points = [5, 10, 20, 50, 100, 250].map((steps) => ({ steps, error: 7 * steps ** -p }));
    for (const l of localOrders(points)) {
      assert.ok(near(l.order, p), `${l.from}-${l.to}: ${l.order}`);
    }
  }
  // order of the input does not matter; a zero or NaN error gives NaN there
  const shuffled = localOrders([{ steps: 20, error: 0.01 }, { steps: 10, error: 0.04 }]);
  assert.deepEqual([shuffled[0].from, shuffled[0].to], [10, 20]);
  assert.ok(near(shuffled[0].order, 2));
  assert.ok(Number.isNaN(localOrders([{ steps: 10, error: 0 }, { steps: 20, error: 1 }])[0].order));
});

Deno.test("fitOrder: least squares over the range, points below the floor or before minSteps left out", () => {
  // 2 * N^-2 with multiplicative noise exp(+-0.1): the fit stays near 2
  const noisy = [20, 50, 100, 250].map((steps, i) => ({
    steps,
    error: 2 * steps ** -2 * Math.exp(i % 2 ? 0.1 : -0.1),
  }));
  const fit = fitOrder(noisy, { minSteps: 20, floor: 0 })!;
  assert.ok(Math.abs(fit.order - 2) < 0.2, String(fit.order));
  assert.deepEqual([fit.from, fit.to, fit.points], [20, 250, 4]);
  // a floor that leaves one point: no fit; NaN and infinite errors never count
  assert.equal(fitOrder(noisy, { minSteps: 20, floor: 1e-3 }), null);
  const bad = [{ steps: 20, error: NaN }, { steps: 50, error: Infinity }, {
    steps: 100,
    error: 1e-3,
  }];
  assert.equal(fitOrder(bad, { minSteps: 1, floor: 0 }), null);
  // two points at one step count: no slope
  assert.equal(
    fitOrder([{ steps: 10, error: 1 }, { steps: 10, error: 2 }], { minSteps: 1, floor: 0 }),
    null,
  );
});
