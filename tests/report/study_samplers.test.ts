import assert from "node:assert/strict";
import {
  errorChart,
  renderSamplerStudyHtml,
  samplerStudyLines,
} from "../../core/report/study_samplers.ts";
import type { SamplerStudyResult, SamplerStudyRow } from "../../core/results/study_samplers.ts";

const q = (accuracy: number | null) => ({
  accuracy,
  histogram: [2, 0, 0, 0, 0, 0, 0, 0, 0, 0],
  meanTop: 0.75,
});
const row = (id: string, rmse: (number | null)[], stochastic = false): SamplerStudyRow => ({
  id,
  label: `${id} <label>`,
  order: stochastic ? null : 2,
  stochastic,
  end: "final",
  points: rmse.map((e, i) => ({
    steps: [10, 20][i],
    nfe: [10, 20][i],
    ms: 5,
    rmse: e,
    maxAbs: e === null ? null : 2 * e,
    quality: e !== null && Number.isNaN(e) ? null : q(0.5),
  })),
  fit: null,
  local: [],
});

const result: SamplerStudyResult = {
  format: "diffparity-study-samplers/1",
  study: "s",
  file: "s.study.ts",
  versions: {},
  inputs: {},
  config: { timestep_spacing: "trailing" },
  steps: [10, 20],
  fit: { minSteps: 10, floorFactor: 10, exactFloor: 1e-5 },
  noiseSeed: 1,
  warnings: [],
  ms: 2000,
  models: [{
    model: "fixtures/models/digits-sd",
    prompt: "a handwritten digit {k}",
    guidance: 5,
    seeds: 2,
    shape: [4, 8, 8],
    reference: {
      label: "Heun",
      steps: 1000,
      nfe: 1999,
      ms: 1,
      quality: q(1),
      floor: 1e-4,
      check: {
        label: "LMS",
        steps: 1000,
        nfe: 1000,
        ms: 1,
        maxAbs: 3e-3,
        rmse: 1e-5,
        tolerance: 1e-4,
        pass: false,
      },
    },
    rows: [
      row("good", [1e-2, 2.5e-3]),
      row("blew-up", [NaN, 1e-3]),
      row("sde", [null, null], true),
    ],
  }],
};

Deno.test("samplerStudyLines: a non-converged reference is flagged, NaN and stochastic points shown as such", () => {
  const lines = samplerStudyLines(result);
  assert.ok(
    lines.some((l) =>
      /check LMS 1000 steps: max \|d\| 3\.0e-3 > \(NOT CONVERGED\) 0\.0001/.test(l)
    ),
  );
  assert.ok(lines.some((l) => /^blew-up .* NaN +1\.0e-3 /.test(l)), lines.join("\n"));
  assert.ok(lines.some((l) => /^sde +- +- +- +- +- +\| 50% +50%/.test(l)), lines.join("\n"));
  assert.ok(lines.every((l) => !l.includes("undefined")));
});

Deno.test("renderSamplerStudyHtml: escapes labels, charts the finite points, names the reference and its check", () => {
  const html = renderSamplerStudyHtml(result);
  assert.match(html, /good &lt;label&gt;/);
  assert.match(html, /NOT CONVERGED/);
  assert.match(html, /<div class="chart"><(figure|svg)/);
  assert.ok(!html.includes("undefined"));
  // the stochastic row is in the quality table but not in the error table or the chart
  assert.equal(errorChart([result.models[0].rows[2]], [1e-4]), "");
});
