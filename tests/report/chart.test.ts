import assert from "node:assert/strict";
import { stepErrorChart } from "../../core/report/chart.ts";

Deno.test("stepErrorChart draws one path per series with a legend", () => {
  const svg = stepErrorChart([
    {
      label: "vs onnx",
      points: [{ step: 0, value: 0 }, { step: 1, value: 1e-7 }, { step: 2, value: 2e-7 }],
    },
    {
      label: "vs torch",
      points: [{ step: 0, value: 1e-6 }, { step: 1, value: 3e-6 }, { step: 2, value: 5e-6 }],
    },
  ], "max |d|");
  assert.equal((svg.match(/<path /g) ?? []).length >= 2, true);
  assert.match(svg, /vs onnx/);
  assert.match(svg, /vs torch/);
  assert.match(svg, /exact shown at 1e-10/);
});

Deno.test("stepErrorChart of no points is empty", () => {
  assert.equal(stepErrorChart([{ label: "x", points: [] }], "y"), "");
});
