import assert from "node:assert/strict";
import { join } from "node:path";
import { FileError } from "../../core/tensor/errors.ts";
import { providerAvailability } from "../../core/models/execution_provider.ts";
import { loadModelFolder } from "../../core/models/load_model_folder.ts";
import { readSafetensors } from "../../core/tensor/safetensors.ts";
import { Tensor } from "../../core/tensor/tensor.ts";
import {
  makeTestFolder,
  makeUnconditionalFolder,
  readTinyVocabReference,
} from "./testing_folders.ts";

async function withFolder(fn: (root: string) => Promise<void>): Promise<void> {
  const root = await makeTestFolder();
  try {
    await fn(root);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
}

/** The largest |a - b| over all elements (shapes must agree). */
function maxAbsDiff(a: Tensor, b: Tensor): number {
  assert.deepEqual(a.shape, b.shape);
  let m = 0;
  for (let i = 0; i < a.size; i++) m = Math.max(m, Math.abs(a.data[i] - b.data[i]));
  return m;
}

Deno.test("a test folder loads: checked components, tokenizer, scheduler config, records", async () => {
  await withFolder(async (root) => {
    const m = await loadModelFolder(root);
    try {
      assert.equal(m.schedulerConfig["_class_name"], "DDIMScheduler");
      assert.ok(m.tokenizer !== undefined && m.textEncoder !== undefined);
      const ids = m.tokenizer.encode("a cat!");
      // transformers' CLIPTokenizer on the same tokenizer folder (dump_tokenizer_tiny.py)
      const ref = (await readTinyVocabReference()).configs.default.prompts;
      assert.deepEqual(ids, ref.find((p) => p.prompt === "a cat!")?.input_ids);
      const h = await m.textEncoder.encode([ids]);
      assert.deepEqual(h.shape, [1, 8, 8]);
      const eps = await m.unet.predict(Tensor.zeros([1, 4, 2, 2]), 3, h);
      // out = sample + t + hidden[0, 0, 0] = 0 + 3 + 8 * 1 (the graphs of dump_test_graphs.py)
      assert.deepEqual([...eps.data], new Array(16).fill(11));
      assert.ok(m.vaeEncoder !== undefined);
      const r = m.records();
      assert.deepEqual(Object.keys(r).sort(), [
        "text_encoder",
        "unet",
        "vae_decoder",
        "vae_encoder",
      ]);
      assert.equal(r.unet.runs, 1);
      assert.equal(r.text_encoder?.provider, "cpu");
    } finally {
      await m.release();
    }
    const noEnc = await loadModelFolder(root, { vaeEncoder: false });
    assert.equal(noEnc.vaeEncoder, undefined);
    await noEnc.release();
  });
});

Deno.test("a DDPMPipeline folder loads with a UNet only: no text encoder, tokenizer or VAE", async () => {
  const root = await makeUnconditionalFolder();
  try {
    const m = await loadModelFolder(root);
    try {
      assert.deepEqual(
        [m.textEncoder, m.tokenizer, m.vaeDecoder, m.vaeEncoder],
        [undefined, undefined, undefined, undefined],
      );
      assert.equal(m.folder.className, "DDPMPipeline");
      assert.equal(m.schedulerConfig["_class_name"], "DDPMScheduler");
      assert.equal(m.unet.conditional, false);
      const out = await m.unet.predict(
        new Tensor(new Float32Array(12).fill(0.25), [1, 3, 2, 2]),
        9,
      );
      assert.deepEqual([...out.data], new Array(12).fill(9.25)); // sample + t
      assert.deepEqual(Object.keys(m.records()), ["unet"]);
      assert.equal(m.records().unet.runs, 1);
    } finally {
      await m.release();
    }
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("a component with the wrong IO fails the load, naming its file", async () => {
  await withFolder(async (root) => {
    await Deno.copyFile(
      "fixtures/models-test/unet_renamed_input.onnx",
      join(root, "unet", "model.onnx"),
    );
    await assert.rejects(
      loadModelFolder(root),
      (e: unknown) =>
        e instanceof FileError && e.file === join(root, "unet", "model.onnx") &&
        /input 'encoder_hidden_states': missing; the model has inputs \[sample, timestep, context\]/
          .test(e.message),
    );
  });
});

Deno.test("components that do not fit each other fail the load, naming both files", async () => {
  await withFolder(async (root) => {
    // tiny-sd-v's decoder takes 6 latent channels; the test UNet makes 4.
    const dec = join(root, "vae_decoder", "model.onnx");
    await Deno.copyFile("fixtures/models/tiny-sd-v/vae_decoder/model.onnx", dec);
    await assert.rejects(
      loadModelFolder(root, { vaeEncoder: false }),
      (e: unknown) =>
        e instanceof FileError && e.file === dec &&
        e.message ===
          `${dec}: input 'latent_sample' axis 1: 6 does not match 4 of ` +
            `${join(root, "unet", "model.onnx")} input 'sample' axis 1 (the latent channels)`,
    );
  });
  await withFolder(async (root) => {
    // tiny-sd's text encoder makes wider embeddings than the 8 the test UNet takes.
    await Deno.copyFile(
      "fixtures/models/tiny-sd/text_encoder/model.onnx",
      join(root, "text_encoder", "model.onnx"),
    );
    await assert.rejects(
      loadModelFolder(root),
      /input 'encoder_hidden_states' axis 2: 8 does not match (?!8 )\d+ of .*text_encoder\/model\.onnx output 'last_hidden_state' axis 2 \(the text embedding size the UNet attends to\)/,
    );
  });
});

Deno.test({
  name: "cuda with fallback: every component runs on CPU and says why",
  ignore: providerAvailability("cuda").usable,
  async fn() {
    await withFolder(async (root) => {
      await assert.rejects(
        loadModelFolder(root, { session: { executionProvider: "cuda" } }),
        /execution provider 'cuda' is unavailable/,
      );
      const m = await loadModelFolder(root, {
        session: { executionProvider: "cuda", fallback: true },
      });
      try {
        for (const r of Object.values(m.records())) {
          assert.equal(r?.requestedProvider, "cuda");
          assert.equal(r?.provider, "cpu");
          assert.match(r?.fallbackReason ?? "", /libonnxruntime_providers_cuda/);
        }
      } finally {
        await m.release();
      }
    });
  },
});

// Parity with Python onnxruntime (fixtures/gen/dump_model_io.py): same ONNX files, same
// onnxruntime version (1.30.0), same CPU, same session settings (1 thread, sequential, level
// "all"). Each output must be bit-identical: max |d| = 0.
for (
  const [name, folder, unet] of [
    ["tiny-sd", "fixtures/models/tiny-sd", undefined],
    [
      "tiny-sd-unet-fp16",
      "fixtures/models/tiny-sd",
      "fixtures/models/tiny-sd-unet-fp16/model.onnx",
    ],
    ["tiny-sd-v", "fixtures/models/tiny-sd-v", undefined],
  ] as const
) {
  Deno.test(`${name}: every component equals Python onnxruntime's output exactly`, async () => {
    const refs = await readSafetensors(`fixtures/refs/model_io/${name}.safetensors`);
    const m = await loadModelFolder(folder, { unet });
    try {
      const prompts: string[] = JSON.parse(refs.metadata.prompts);
      const { tokenizer, textEncoder, vaeDecoder } = m;
      assert.ok(tokenizer !== undefined && textEncoder !== undefined && vaeDecoder !== undefined);
      const ids = prompts.map((p) => tokenizer.encode(p));
      assert.deepEqual(ids.flat(), refs.ints("text_encoder.input_ids"), "token ids");
      const hidden = await textEncoder.encode(ids);
      const diffs: Record<string, number> = {
        text_encoder: maxAbsDiff(hidden, refs.tensor("text_encoder.last_hidden_state")),
      };
      const t = JSON.parse(refs.metadata.unet_timestep);
      assert.equal(t.dtype, m.unet.input("timestep").type === "float32" ? "float32" : t.dtype);
      const eps = await m.unet.predict(
        refs.tensor("unet.sample"),
        t.value,
        refs.tensor("text_encoder.last_hidden_state"),
      );
      diffs.unet = maxAbsDiff(eps, refs.tensor("unet.out_sample"));
      if (refs.has("vae_encoder.sample")) {
        const params = await m.vaeEncoder!.encode(refs.tensor("vae_encoder.sample"));
        diffs.vae_encoder = maxAbsDiff(params, refs.tensor("vae_encoder.latent_parameters"));
      }
      if (refs.has("vae_decoder.latent_sample")) {
        const img = await vaeDecoder.decode(refs.tensor("vae_decoder.latent_sample"));
        diffs.vae_decoder = maxAbsDiff(img, refs.tensor("vae_decoder.sample"));
      }
      for (const [component, d] of Object.entries(diffs)) {
        assert.equal(d, 0, `${name} ${component}: max |d| = ${d}`);
      }
    } finally {
      await m.release();
    }
  });
}
