import assert from "node:assert/strict";
import { clampF32, torchLinspaceF32, torchQuantileF32 } from "../../core/numerics/torch.ts";
import { readSafetensors } from "../../core/tensor/safetensors.ts";
import { maxUlpDistance } from "../schedulers/replay_util.ts";
import { torchLinspaceF64 } from "../../core/numerics/torch.ts";

function bitEqual(a: Float32Array, b: Float32Array): boolean {
  return a.length === b.length && maxUlpDistance(a, b).maxUlp === 0;
}

const REFS = "fixtures/refs/schedulers/ddpm";
const common = await readSafetensors(`${REFS}/common.safetensors`);

Deno.test("clampF32 propagates NaN and lets the upper bound win", () => {
  assert.ok(Number.isNaN(clampF32(NaN, -1, 1)));
  assert.equal(clampF32(5, 2, 1), 1);
  assert.equal(clampF32(-5, -1, 1), -1);
  assert.equal(clampF32(0.25, -1, 1), 0.25);
});

Deno.test("torchLinspaceF32 is bit-exact with torch.linspace (float32, CPU)", () => {
  const args = JSON.parse(common.metadata.linspace_args) as [number, number, number][];
  assert.ok(args.length >= 8);
  args.forEach(([start, end, steps], i) => {
    const ours = torchLinspaceF32(start, end, steps);
    const ref = common.tensor(`linspace.${i}`).data;
    assert.ok(bitEqual(ours, ref), `linspace(${start}, ${end}, ${steps})`);
  });
});

Deno.test("torchQuantileF32 is bit-exact with torch.quantile (linear)", () => {
  const qs = JSON.parse(common.metadata.quantile_q) as number[];
  qs.forEach((q, i) => {
    const values = common.tensor(`quantile.${i}.values`).data;
    const ref = common.tensor(`quantile.${i}.result`).data[0];
    assert.equal(torchQuantileF32(values, q), ref, `case ${i} (n ${values.length}, q ${q})`);
  });
  assert.ok(Number.isNaN(torchQuantileF32(new Float32Array([1, NaN, 2]), 0.5)));
  assert.throws(() => torchQuantileF32(new Float32Array(0), 0.5), RangeError);
});

Deno.test("torchLinspaceF64 is torch.linspace's fused multiply-add, not start + i * step", () => {
  // LDM's betas: 0.00085 ** 0.5 .. 0.012 ** 0.5 over 1000 steps (checked bit for bit against the
  // original's alphas_cumprod in compvis_plms.test.ts); here the halves' formulas
  const v = torchLinspaceF64(1, 2, 5);
  assert.deepEqual(Array.from(v), [1, 1.25, 1.5, 1.75, 2]);
  const w = torchLinspaceF64(0.1, 0.7, 7);
  assert.equal(w[6], 0.7); // the second half counts back from `end`
  assert.equal(w[0], 0.1);
  assert.deepEqual(Array.from(torchLinspaceF64(3, 9, 1)), [3]);
  assert.throws(() => torchLinspaceF64(0, 1, -1), /non-negative integer/);
});
