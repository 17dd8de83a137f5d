/**
 * Static SVG charts of per-step errors, drawn with Observable Plot over linkedom's DOM so they
 * embed in the HTML report with no script.
 *
 * @module
 */
import * as Plot from "@observablehq/plot";
import { parseHTML } from "linkedom";

/**
 * An Observable Plot chart as SVG text (a `<figure>` when it has a legend), rendered over
 * linkedom's DOM: what every chart of the reports is drawn with.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as Plot from "@observablehq/plot";
 * import { plotSvg } from "./chart.ts";
 * assert.match(plotSvg({ marks: [Plot.dot([{ x: 1, y: 2 }], { x: "x", y: "y" })] }), /^<svg/);
 * ```
 */
export function plotSvg(options: Plot.PlotOptions): string {
  const dom = parseHTML("<!DOCTYPE html><html><body></body></html>") as unknown as {
    document: Plot.PlotOptions["document"];
  };
  const chart = Plot.plot({ ...options, document: dom.document });
  return (chart as unknown as { outerHTML: string }).outerHTML;
}

/**
 * One series of a step chart: a label and (step, value) points.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { StepSeries } from "./chart.ts";
 * const s: StepSeries = { label: "vs onnx", points: [{ step: 0, value: 1e-7 }] };
 * assert.equal(s.points.length, 1);
 * ```
 */
export interface StepSeries {
  /** Legend label. */
  label: string;
  /** Points; zeros are drawn at `floor`. */
  points: { step: number; value: number }[];
}

/**
 * An SVG line chart (log y axis) of per-step error series. Values <= `floor` (exact matches)
 * are drawn at `floor`, and the axis label says so.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { stepErrorChart } from "./chart.ts";
 * const points = [{ step: 0, value: 0 }, { step: 1, value: 1e-7 }];
 * const svg = stepErrorChart([{ label: "vs onnx", points }], "max |d|");
 * assert.ok(svg.startsWith("<svg") || svg.startsWith("<figure"));
 * assert.match(svg, /exact shown at 1e-10/);
 * assert.equal(stepErrorChart([{ label: "none", points: [] }], "max |d|"), "");
 * ```
 */
export function stepErrorChart(series: StepSeries[], yLabel: string, floor = 1e-10): string {
  const rows = series.flatMap((s) =>
    s.points.map((p) => ({
      series: s.label,
      step: p.step,
      value: Number.isFinite(p.value) ? Math.max(p.value, floor) : NaN,
    }))
  );
  if (rows.length === 0) return "";
  return plotSvg({
    width: 520,
    height: 200,
    marginLeft: 56,
    y: { type: "log", label: `${yLabel} (exact shown at ${floor})`, grid: true },
    x: { label: "step", tickFormat: "d" },
    color: { legend: true },
    marks: [
      Plot.line(rows, { x: "step", y: "value", stroke: "series" }),
      Plot.dot(rows, { x: "step", y: "value", stroke: "series", r: 2 }),
    ],
  });
}
