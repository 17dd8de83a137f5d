/**
 * The inversion study's charts (core/report/study_inversion.ts draws them per model): mean PSNR
 * and mean latent MSE against steps, a line per method and a panel per guidance scale, and mean
 * PSNR against the model evaluations. Observable Plot, rendered server-side over linkedom's DOM
 * into inline SVG.
 *
 * @module
 */
import * as Plot from "@observablehq/plot";
import { fmt } from "../results/format.ts";
import { plotSvg } from "./chart.ts";

/**
 * One grid point of a model's charts: its method's series name, its guidance panel ("" without
 * guidance), and the cell's mean figures (an exact PSNR already at the cap).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { ChartPoint } from "./study_inversion_charts.ts";
 * const p: ChartPoint = { series: "DDIM inversion", guidance: "g 1", steps: 50, psnr: 39.9, latentMse: 9e-4, nfe: 100, title: "" };
 * assert.equal(p.nfe / p.steps, 2); // both passes
 * ```
 */
export interface ChartPoint {
  /** The method's name in the legend. */
  series: string;
  /** The guidance panel ("g 7.5"), or "" for a model without guidance. */
  guidance: string;
  /** Steps of each pass. */
  steps: number;
  /** Mean PSNR, dB (an exact cell at the study's cap). */
  psnr: number;
  /** Mean latent MSE. */
  latentMse: number;
  /** Mean model evaluations of both passes. */
  nfe: number;
  /** The tooltip. */
  title: string;
}

/**
 * What the charts of a model share: the guidance panels and methods (legend order) present, the
 * PSNR an exact cell is drawn at, and the model's mean VAE ceiling (none for a pixel model).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { ChartFrame } from "./study_inversion_charts.ts";
 * const f: ChartFrame = { panels: ["g 1", "g 7.5"], series: ["DDIM inversion"], cap: 150, ceiling: 44.7 };
 * assert.equal(f.panels.length, 2);
 * ```
 */
export interface ChartFrame {
  /** Guidance panels, in order ([] for a model without guidance). */
  panels: string[];
  /** Series names, in legend order. */
  series: string[];
  /** The PSNR exact cells are drawn at. */
  cap: number;
  /** The model's mean VAE ceiling, dB, or null (a pixel model). */
  ceiling: number | null;
}

/** Facet and colour options shared by the per-step charts of a model. */
function stepChartBase(frame: ChartFrame, points: readonly ChartPoint[]) {
  const panels = frame.panels.filter((g) => points.some((p) => p.guidance === g));
  const faceted = panels.length > 0;
  const steps = [...new Set(points.map((p) => p.steps))].sort((a, b) => a - b);
  const series = frame.series.filter((s) => points.some((p) => p.series === s));
  return {
    width: Math.min(960, 260 + 280 * Math.max(1, panels.length)),
    height: 240,
    marginLeft: 56,
    marginRight: 24,
    x: { type: "log" as const, label: "steps", ticks: steps, tickFormat: "d" },
    fx: faceted ? { domain: panels, label: null } : undefined,
    color: { legend: true, domain: series },
    fxChannel: faceted ? "guidance" : undefined,
  };
}

/**
 * Mean PSNR against steps (SVG): a line per method, a panel per guidance, the VAE ceiling as a
 * dashed rule.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { psnrChart } from "./study_inversion_charts.ts";
 * const p = (steps: number, psnr: number) => ({ series: "DDIM inversion", guidance: "g 1", steps, psnr, latentMse: 1e-3, nfe: 2 * steps, title: "" });
 * const svg = psnrChart({ panels: ["g 1"], series: ["DDIM inversion"], cap: 150, ceiling: 44.7 }, [p(10, 31), p(50, 40)]);
 * assert.match(svg, /^<figure|^<svg/);
 * assert.match(svg, /VAE ceiling 44\.7 dB/);
 * ```
 */
export function psnrChart(frame: ChartFrame, points: readonly ChartPoint[]): string {
  const { fxChannel, ...base } = stepChartBase(frame, points);
  const capped = points.some((p) => p.psnr >= frame.cap);
  const ceiling = frame.ceiling === null ? null : Math.min(frame.ceiling, frame.cap);
  const rows = [...points].sort((a, b) => a.steps - b.steps);
  const common = { x: "steps", y: "psnr", stroke: "series", fx: fxChannel };
  return plotSvg({
    ...base,
    y: {
      label: `mean PSNR, dB${capped ? ` (exact shown at ${frame.cap})` : ""}`,
      grid: true,
    },
    marks: [
      ...(ceiling === null ? [] : [
        Plot.ruleY([ceiling], { stroke: "#888", strokeDasharray: "5 3" }),
        Plot.text([ceiling], {
          y: (d: number) => d,
          text: () => `VAE ceiling ${ceiling.toFixed(1)} dB`,
          frameAnchor: "right",
          dy: -6,
          fill: "#666",
        }),
      ]),
      Plot.line(rows, { ...common, z: "series" }),
      Plot.dot(rows, { ...common, r: 2.5, title: "title" }),
    ],
  });
}

/**
 * Mean latent MSE against steps on a log axis (SVG; "" when no point has a finite figure); zeros
 * (exact) are drawn a decade below the smallest value, which the axis label names.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { latentChart } from "./study_inversion_charts.ts";
 * const p = (steps: number, latentMse: number) => ({ series: "EDICT", guidance: "", steps, psnr: 150, latentMse, nfe: 4 * steps, title: "" });
 * const svg = latentChart({ panels: [], series: ["EDICT"], cap: 150, ceiling: null }, [p(10, 0), p(50, 1e-12)]);
 * assert.match(svg, /exact shown at 1e-13/);
 * ```
 */
export function latentChart(frame: ChartFrame, points: readonly ChartPoint[]): string {
  const { fxChannel, ...base } = stepChartBase(frame, points);
  const finite = points.filter((p) => Number.isFinite(p.latentMse) && p.latentMse >= 0);
  if (!finite.length) return "";
  const positive = finite.map((p) => p.latentMse).filter((x) => x > 0);
  const lowest = positive.length ? Math.min(...positive) : 1e-6;
  const floor = 10 ** (Math.floor(Math.log10(lowest)) - 1);
  const zeros = finite.some((p) => p.latentMse === 0);
  const rows = finite.map((p) => ({ ...p, latentMse: Math.max(p.latentMse, floor) }))
    .sort((a, b) => a.steps - b.steps);
  const common = { x: "steps", y: "latentMse", stroke: "series", fx: fxChannel };
  return plotSvg({
    ...base,
    y: {
      type: "log",
      tickFormat: (x: number) => fmt(x),
      label: `mean latent MSE${zeros ? ` (exact shown at ${fmt(floor)})` : ""}`,
      grid: true,
    },
    marks: [
      Plot.line(rows, { ...common, z: "series" }),
      Plot.dot(rows, { ...common, r: 2.5, title: "title" }),
    ],
  });
}

/**
 * Mean PSNR against NFE on a log axis (SVG; "" without points): a dot per grid point, coloured by
 * method, shaped by guidance, a faint line through each method's step counts.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { nfeChart } from "./study_inversion_charts.ts";
 * const p = (steps: number, psnr: number) => ({ series: "fixed-point", guidance: "g 1", steps, psnr, latentMse: 1e-4, nfe: 4 * steps, title: "" });
 * const svg = nfeChart({ panels: ["g 1"], series: ["fixed-point"], cap: 150, ceiling: 44.7 }, [p(10, 42), p(25, 44)]);
 * assert.match(svg, /NFE \(both passes\)/);
 * assert.equal(nfeChart({ panels: [], series: [], cap: 150, ceiling: null }, []), "");
 * ```
 */
export function nfeChart(frame: ChartFrame, points: readonly ChartPoint[]): string {
  const rows = points.filter((p) => p.nfe > 0).sort((a, b) => a.steps - b.steps);
  if (!rows.length) return "";
  const series = frame.series.filter((s) => rows.some((p) => p.series === s));
  const panels = frame.panels.filter((g) => rows.some((p) => p.guidance === g));
  const capped = rows.some((p) => p.psnr >= frame.cap);
  return plotSvg({
    width: 640,
    height: 260,
    marginLeft: 56,
    marginRight: 24,
    x: { type: "log", label: "NFE (both passes)", grid: true },
    y: { label: `mean PSNR, dB${capped ? ` (exact shown at ${frame.cap})` : ""}`, grid: true },
    color: { legend: true, domain: series },
    ...(panels.length ? { symbol: { legend: true, domain: panels } } : {}),
    marks: [
      Plot.line(rows, {
        x: "nfe",
        y: "psnr",
        stroke: "series",
        z: (p: ChartPoint) => `${p.series} ${p.guidance}`,
        strokeOpacity: 0.35,
      }),
      Plot.dot(rows, {
        x: "nfe",
        y: "psnr",
        stroke: "series",
        symbol: panels.length ? "guidance" : undefined,
        r: 3.5,
        title: "title",
      }),
    ],
  });
}
