import assert from "node:assert/strict";
import {
  alphasFromBetas,
  betasForAlphaBar,
  rescaleZeroTerminalSnr,
} from "../../core/schedulers/betas.ts";
import { cumprodF32, torchLinspaceF32 } from "../../core/numerics/torch.ts";
import { readSafetensors } from "../../core/tensor/safetensors.ts";
import { maxUlpDistance } from "./replay_util.ts";

const REFS = "fixtures/refs/schedulers/ddpm";
const common = await readSafetensors(`${REFS}/common.safetensors`);

function bitEqual(a: Float32Array, b: Float32Array): boolean {
  return a.length === b.length && maxUlpDistance(a, b).maxUlp === 0;
}

Deno.test("betasForAlphaBar matches diffusers for the cosine, exp and laplace transforms", () => {
  for (const kind of ["cosine", "exp", "laplace"] as const) {
    for (const n of [1000, 37]) {
      const ours = betasForAlphaBar(n, 0.999, kind);
      const ref = common.tensor(`betas_for_alpha_bar.${kind}.${n}`).data;
      const d = maxUlpDistance(ours, ref);
      assert.equal(d.maxUlp, 0, `${kind} ${n}: index ${d.index}: ${d.ours} vs ${d.reference}`);
    }
  }
});

Deno.test("rescaleZeroTerminalSnr and cumprodF32 match diffusers/torch bit for bit", async () => {
  const cases: [string, Float32Array][] = [
    ["linear", torchLinspaceF32(0.0001, 0.02, 1000)],
    ["cosine", betasForAlphaBar(1000)],
  ];
  for (const [name, betas] of cases) {
    const ours = rescaleZeroTerminalSnr(betas);
    const ref = common.tensor(`rescale_zero_terminal_snr.${name}`).data;
    assert.ok(bitEqual(ours, ref), name);
    assert.equal(ours[999], 1);
  }
  // cumprod keeps a double accumulator (torch's acc_type<float> on CPU): diffusers'
  // alphas_cumprod of the default DDIM config, where a float32 running product drifts away
  const ref = await readSafetensors("fixtures/refs/schedulers/ddim/default_10.safetensors");
  const alphas = alphasFromBetas(torchLinspaceF32(0.0001, 0.02, 1000));
  const ours = cumprodF32(alphas);
  assert.ok(bitEqual(ours, ref.tensor("alphas_cumprod").data));
  let running = 1;
  let differs = 0;
  for (let i = 0; i < alphas.length; i++) {
    running = Math.fround(running * alphas[i]);
    if (running !== ours[i]) differs++;
  }
  assert.ok(differs > 100, `a float32 running product differs at only ${differs} places`);
});
