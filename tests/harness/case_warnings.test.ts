import assert from "node:assert/strict";
import { join } from "node:path";
import { defineCase } from "../../core/harness/case.ts";
import { loadCases } from "../../core/harness/cases_loader.ts";
import {
  mergeWarnings,
  samplerConfigWarnings,
  WARNING_MAX_LENGTH,
} from "../../core/harness/case_warnings.ts";
import { runCase } from "../../core/harness/runner.ts";
import { verify } from "../../core/harness/verify.ts";
import { caseLine } from "../../core/report/console.ts";
import { writeReport } from "../../core/report/write.ts";
import type { VerifyResult } from "../../core/results/schema.ts";
import { makeSampler } from "../../core/schedulers/samplers.ts";

const [guidance1] = await loadCases("cases", "guidance-1");
const SCHEDULER_CONFIG = "fixtures/models/tiny-sd/scheduler/scheduler_config.json";

Deno.test("a scheduler config override the sampler does not use: a warning in the line, results.json, index.html and junit", async () => {
  const c = defineCase({
    ...structuredClone(guidance1),
    name: "guidance-1-warned",
    sampler: { type: "DDIMScheduler", config: { skip_prk_steps: true, "<b>odd</b>": 1 } },
  });
  const lines: string[] = [];
  const result = await verify({
    cases: [c],
    onCase: (r) => lines.push(caseLine(r)),
    manifest: null,
  });
  const warnings = [
    `case 'guidance-1-warned' sampler.config: "skip_prk_steps" is not an option of ` +
    `DDIMScheduler; kept in extra, not used`,
    `case 'guidance-1-warned' sampler.config: unknown key "<b>odd</b>"; kept in extra, not used`,
  ];
  assert.equal(result.cases[0].status, "pass", result.cases[0].error ?? "");
  assert.deepEqual(result.cases[0].warnings, warnings);
  const [line] = lines;
  assert.match(line, /^PASS {2}guidance-1-warned /);
  assert.ok(
    line.endsWith(warnings.map((w) => `\n      warning: ${w}`).join("")),
    `the warnings end the verdict: ${line}`,
  );

  const out = await Deno.makeTempDir();
  try {
    await writeReport(result, out);
    const json: VerifyResult = JSON.parse(await Deno.readTextFile(`${out}/results.json`));
    assert.deepEqual(json.cases[0].warnings, warnings);
    const html = await Deno.readTextFile(`${out}/index.html`);
    assert.ok(
      html.includes(
        `<li>warning: case 'guidance-1-warned' sampler.config: &quot;skip_prk_steps&quot; is not an option of DDIMScheduler; kept in extra, not used</li>`,
      ),
    );
    assert.ok(html.includes("unknown key &quot;&lt;b&gt;odd&lt;/b&gt;&quot;"), "escaped");
    assert.ok(!html.includes("<b>odd</b>"));
    const junit = await Deno.readTextFile(`${out}/junit.xml`);
    assert.match(
      junit,
      /<system-out>warning: case 'guidance-1-warned' sampler\.config: &quot;skip_prk_steps&quot;/,
    );
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});

Deno.test("a model whose tokenizer folder lacks its configs: the tokenizer's warning in the case result", async () => {
  const root = await Deno.makeTempDir();
  try {
    const model = join(root, "tiny-sd");
    await Deno.mkdir(model);
    for (
      const part of ["scheduler", "text_encoder", "tokenizer", "unet", "vae_decoder", "vae_encoder"]
    ) {
      await Deno.mkdir(join(model, part));
      for (const e of Deno.readDirSync(`fixtures/models/tiny-sd/${part}`)) {
        if (e.name === "tokenizer_config.json" || e.name === "special_tokens_map.json") continue;
        await Deno.copyFile(`fixtures/models/tiny-sd/${part}/${e.name}`, join(model, part, e.name));
      }
    }
    for (const f of ["model_index.json", "build_info.json"]) {
      await Deno.copyFile(`fixtures/models/tiny-sd/${f}`, join(model, f));
    }
    const r = await runCase({ ...guidance1, model }, { manifest: null, keepImage: false });
    // tiny-sd pads with <|endoftext|>, what was assumed: the run still matches
    assert.equal(r.status, "pass", r.error ?? "");
    const tokenizer = join(model, "tokenizer");
    assert.deepEqual(r.warnings, [
      `${tokenizer}: no tokenizer_config.json or special_tokens_map.json: assumed ` +
      `transformers' CLIPTokenizer defaults: pad_token "<|endoftext|>" (SD 2.x models pad ` +
      `with "!"), model_max_length 77 (transformers would leave it unbounded)`,
    ]);
    assert.match(caseLine(r), /\n {6}warning: .*tokenizer: no tokenizer_config\.json/);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("shipped cases: swapping the scheduler class keeps quiet about the config's other options, as diffusers does", async () => {
  const config = JSON.parse(await Deno.readTextFile(SCHEDULER_CONFIG));
  for (const name of ["guidance-1", "pndm-plms", "img2img-euler", "ddpm-50", "compvis-plms"]) {
    const [c] = await loadCases("cases", name);
    const s = makeSampler(c.sampler, config, { steps: c.steps, source: SCHEDULER_CONFIG });
    assert.deepEqual(
      samplerConfigWarnings(c, config, SCHEDULER_CONFIG, s.configWarnings),
      [],
      name,
    );
  }
  // the file's own class lacking an option, and an unknown key, are kept, naming the file
  const own = { ...config, skip_prk_steps: true, some_future_option: 1 };
  const s = makeSampler({ type: "DDIMScheduler" }, own, { steps: 2, source: SCHEDULER_CONFIG });
  assert.deepEqual(samplerConfigWarnings(guidance1, own, SCHEDULER_CONFIG, s.configWarnings), [
    `${SCHEDULER_CONFIG}: "skip_prk_steps" is not an option of DDIMScheduler; kept in extra, not used`,
    `${SCHEDULER_CONFIG}: unknown key "some_future_option"; kept in extra, not used`,
  ]);
});

Deno.test("mergeWarnings deduplicates and caps", () => {
  const long = "w".repeat(WARNING_MAX_LENGTH + 10);
  const merged = mergeWarnings(["a", long], [long, "a", "b"]);
  assert.equal(merged.length, 3);
  assert.equal(merged[1].length, WARNING_MAX_LENGTH);
  assert.deepEqual([merged[0], merged[2]], ["a", "b"]);
});

Deno.test("a legacy export's derived geometry is a case warning: a text2img case without references runs and says what was assumed", async () => {
  const { makeLegacyFolder } = await import("../models/testing_folders.ts");
  const root = await makeLegacyFolder();
  try {
    const c = defineCase({
      name: "legacy-text2img",
      model: root,
      pipeline: "text2img",
      sampler: { type: "DDIMScheduler" },
      steps: 3,
      prompt: "a cat",
      guidanceScale: 1,
      seed: 0,
      height: 8,
      width: 8,
      references: { onnx: join(root, "no-ref.onnx.safetensors") },
    });
    const r = await runCase(c, { manifest: null });
    assert.equal(r.status, "noref", r.error ?? "");
    assert.ok(
      (r.warnings ?? []).some((w) => w.includes("unet") && /config\.json/.test(w)),
      `the geometry's assumptions are named: ${JSON.stringify(r.warnings)}`,
    );
    assert.match(caseLine(r), /\n {6}warning: .*config\.json/);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("precisionWarnings: a case whose precision is not its reference's sampler dtype is warned, both ways", async () => {
  const { precisionWarnings } = await import("../../core/harness/case_warnings.ts");
  const { readCaseReference } = await import("../../core/harness/references.ts");
  const ref = await readCaseReference("fixtures/refs/cases/fp16-sampler.onnx.safetensors");
  assert.deepEqual(precisionWarnings({ name: "a", precision: "float16" }, ref), []);
  assert.match(precisionWarnings({ name: "a" }, ref)[0], /ran in float16 .*case 'a' runs float32/);
  const f32 = { path: "r.safetensors", samplerDtype: "float32" as const };
  assert.deepEqual(precisionWarnings({ name: "a" }, f32), []);
  assert.match(
    precisionWarnings({ name: "a", precision: "float16" }, f32)[0],
    /^r\.safetensors: the reference's sampler ran in float32 .*set precision: "float32"/,
  );
});
