import assert from "node:assert/strict";
import { quadQags } from "../../core/numerics/quadpack.ts";

// scipy.integrate.quad's outputs for these integrands, dumped by
// fixtures/gen/dump_schedulers_pndm_lms_euler.py (QUAD_CASES).
const QUAD_CASES = "fixtures/refs/schedulers/lms_discrete/quad_cases.json";

interface QuadCase {
  name: string;
  a: number;
  b: number;
  epsabs: number;
  epsrel: number;
  limit: number;
  result: number;
  abserr: number;
  ier: number;
  neval: number;
  last: number;
}

// The integrands of QUAD_CASES in fixtures/gen/dump_schedulers_pndm_lms_euler.py.
const INTEGRANDS: Record<string, (x: number) => number> = {
  cubic: (x) => x * x * x - 2.0 * x + 1.0,
  rational: (x) => 1.0 / (1.0 + x * x),
  inv_sqrt: (x) => 1.0 / Math.sqrt(x),
  sqrt: (x) => Math.sqrt(x),
  kink: (x) => Math.abs(x - 1.0 / 3.0),
  sqrt_kink: (x) => Math.sqrt(Math.abs(x - 0.3)),
  inv_sqrt_reversed: (x) => 1.0 / Math.sqrt(x),
  inv_sqrt_limit5: (x) => 1.0 / Math.sqrt(x),
  spike: (x) => 1.0 / (1e-4 + (x - 0.5) * (x - 0.5)),
};

Deno.test("quadQags returns scipy.integrate.quad's doubles: bisection, extrapolation, limits", async () => {
  const json = JSON.parse(await Deno.readTextFile(QUAD_CASES));
  const cases = json.cases as QuadCase[];
  assert.equal(cases.length, Object.keys(INTEGRANDS).length);
  for (const c of cases) {
    const r = quadQags(INTEGRANDS[c.name], c.a, c.b, c);
    assert.deepEqual(
      { result: r.result, abserr: r.abserr, ier: r.ier, neval: r.neval, last: r.last },
      { result: c.result, abserr: c.abserr, ier: c.ier, neval: c.neval, last: c.last },
      c.name,
    );
  }
  assert.throws(() => quadQags((x) => x, 0, 1, { limit: 0 }), /limit must be a positive integer/);
});

Deno.test("quadQags against closed forms: within its error estimate, which is honest", () => {
  const cases: [string, (x: number) => number, number, number, number][] = [
    ["x^2 on [0, 3]", (x) => x * x, 0, 3, 9],
    ["1/sqrt(x) on [0, 1] (endpoint singularity)", (x) => 1 / Math.sqrt(x), 0, 1, 2],
    ["1/(1+x^2) on [0, 1]", (x) => 1 / (1 + x * x), 0, 1, Math.PI / 4],
    ["log(x) on [0, 1]", (x) => Math.log(x), 0, 1, -1],
    ["|x - 1/3| on [0, 1]", (x) => Math.abs(x - 1 / 3), 0, 1, 5 / 18],
    ["sin on [0, pi]", Math.sin, 0, Math.PI, 2],
    ["exp on [1, 0] (reversed)", Math.exp, 1, 0, 1 - Math.E],
  ];
  for (const [name, f, a, b, exact] of cases) {
    const r = quadQags(f, a, b);
    assert.equal(r.ier, 0, name);
    assert.ok(Math.abs(r.result - exact) <= Math.max(r.abserr, 4e-16 * Math.abs(exact)), name);
    assert.ok(Math.abs(r.result - exact) <= 1.49e-8 * Math.abs(exact), name);
  }
});
