import assert from "node:assert/strict";
import { parseHTML } from "linkedom";
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

/** The part of linkedom's DOM the test reads (Deno has no DOM types). */
interface Node {
  parentElement: Node | null;
  textContent: string | null;
  getAttribute(name: string): string | null;
  querySelector(selector: string): Node | null;
  querySelectorAll(selector: string): Iterable<Node>;
}

/** The (x, y) pixel position of an element: its own coordinates plus its groups' translations. */
function position(el: Node, x: number, y: number): [number, number] {
  for (let g = el.parentElement; g; g = g.parentElement) {
    const m = /translate\(([-\d.e]+),\s*([-\d.e]+)\)/.exec(g.getAttribute("transform") ?? "");
    if (m) [x, y] = [x + Number(m[1]), y + Number(m[2])];
  }
  return [x, y];
}

Deno.test("stepErrorChart puts each point where the step and log-value scales say", () => {
  const onnx = [0, 1e-7, 0, 1e-8, 1e-9]; // exact matches are drawn at the floor, 1e-10
  const torch = [1e-5, 1e-6, 1e-5, 1e-6, 1e-5];
  const html = stepErrorChart([
    { label: "vs onnx", points: onnx.map((value, step) => ({ step, value })) },
    { label: "vs torch", points: torch.map((value, step) => ({ step, value })) },
  ], "max |d|");
  // The chart's frame: 520 x 200 with a 56 px left margin; Plot's default margins for a
  // bottom x axis and a left y axis: 20 right, 20 top, 30 bottom. Domains are the data's
  // extents: steps 0..4 and values 1e-10..1e-5 (five decades of 30 px each).
  const px = (step: number) => 56 + (step / 4) * (520 - 20 - 56);
  const py = (value: number) => 200 - 30 - ((Math.log10(value) + 10) / 5) * (200 - 30 - 20);
  // Two known points: onnx's 1e-7 at step 1, and its exact match at step 0 (bottom left).
  assert.deepEqual([px(1), py(1e-7)], [167, 80]);
  assert.deepEqual([px(0), py(1e-10)], [56, 170]);
  const { document } = parseHTML(
    `<!DOCTYPE html><html><body>${html}</body></html>`,
  ) as unknown as { document: Node };
  // The legend's swatches give each series' colour.
  const colour = new Map<string, string>();
  for (const swatch of document.querySelectorAll("span")) {
    const fill = swatch.querySelector("svg")?.getAttribute("fill");
    if (fill) colour.set(swatch.textContent!.trim(), fill);
  }
  assert.deepEqual([...colour.keys()].sort(), ["vs onnx", "vs torch"]);
  const near = (got: [number, number], want: [number, number], what: string) =>
    assert.ok(
      Math.abs(got[0] - want[0]) < 1e-6 && Math.abs(got[1] - want[1]) < 1e-6,
      `${what}: drawn at (${got}), expected (${want})`,
    );
  const circles = [...document.querySelectorAll("circle")];
  assert.equal(circles.length, 10, "one dot per point");
  let checked = 0;
  for (const [label, values] of [["vs onnx", onnx], ["vs torch", torch]] as const) {
    const want = values.map((v, step): [number, number] => [px(step), py(Math.max(v, 1e-10))]);
    const dots = circles.filter((c) => c.getAttribute("stroke") === colour.get(label));
    assert.equal(dots.length, values.length, label);
    dots.forEach((c, i) => {
      const at = position(c, Number(c.getAttribute("cx")), Number(c.getAttribute("cy")));
      near(at, want[i], `${label} dot ${i}`);
      checked++;
    });
    const lines = [...document.querySelectorAll("path")].filter((p) =>
      p.getAttribute("stroke") === colour.get(label)
    );
    assert.equal(lines.length, 1, `${label}: one line`);
    const vertices = [...lines[0].getAttribute("d")!.matchAll(/[ML]([-\d.e]+),([-\d.e]+)/g)];
    assert.equal(vertices.length, values.length, `${label}: line vertices`);
    vertices.forEach((m, i) => {
      near(position(lines[0], Number(m[1]), Number(m[2])), want[i], `${label} vertex ${i}`);
      checked++;
    });
  }
  assert.equal(checked, 20);
});
