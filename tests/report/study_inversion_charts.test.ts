import assert from "node:assert/strict";
import {
  type ChartFrame,
  type ChartPoint,
  latentChart,
  nfeChart,
  psnrChart,
} from "../../core/report/study_inversion_charts.ts";

const point = (series: string, guidance: string, steps: number, psnr: number, latentMse: number) =>
  ({
    series,
    guidance,
    steps,
    psnr,
    latentMse,
    nfe: 2 * steps,
    title: `${series} ${steps}`,
  }) as ChartPoint;

const frame: ChartFrame = {
  panels: ["g 1", "g 7.5"],
  series: ["DDIM inversion", "EDICT"],
  cap: 150,
  ceiling: 44.7,
};
const points = [10, 25, 50].flatMap((n) => [
  point("DDIM inversion", "g 1", n, 30 + n / 10, 1e-2 / n),
  point("DDIM inversion", "g 7.5", n, 24, 5e-2),
  point("EDICT", "g 1", n, 150, 0),
  point("EDICT", "g 7.5", n, 150, 0),
]);

Deno.test("psnrChart: a panel per guidance, a line per method, the ceiling rule, the cap named", () => {
  const svg = psnrChart(frame, points);
  assert.equal(svg.match(/aria-label="line"/g)?.length, 1); // one line mark, faceted
  assert.ok(svg.includes(">g 1<") && svg.includes(">g 7.5<"));
  assert.match(svg, /VAE ceiling 44\.7 dB/);
  assert.match(svg, /exact shown at 150/);
  // a pixel model: no ceiling, no panels
  const pixel = psnrChart(
    { ...frame, panels: [], ceiling: null },
    points.map((p) => ({ ...p, guidance: "" })),
  );
  assert.doesNotMatch(pixel, /VAE ceiling/);
});

Deno.test("latentChart: a log axis with exact points drawn a decade below the smallest value", () => {
  const svg = latentChart(frame, points);
  // the smallest positive is 1e-2 / 50 = 2e-4: its decade 1e-4, one below 1e-5
  assert.match(svg, /exact shown at 1e-5/);
  assert.equal(latentChart(frame, points.map((p) => ({ ...p, latentMse: NaN }))), "");
});

Deno.test("nfeChart: dots per grid point, shaped by guidance; nothing without model evaluations", () => {
  const svg = nfeChart(frame, points);
  assert.match(svg, /NFE \(both passes\)/);
  assert.equal(svg.match(/<circle|<path[^>]*d="M/g) !== null, true);
  assert.equal(nfeChart(frame, points.map((p) => ({ ...p, nfe: 0 }))), "");
});
