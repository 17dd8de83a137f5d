/**
 * What each Stable Diffusion component must declare for the pipelines to feed it: optimum's
 * input/output names (`optimum-cli export onnx`), ranks and element types. Checked once when a
 * model is loaded, before the first step, so a wrong export fails with the file and the input
 * named instead of deep inside a run.
 *
 * @module
 */
import { FileError } from "../tensor/errors.ts";
import type { ValueInfo } from "./onnx_session.ts";

/**
 * The components of an optimum Stable Diffusion folder that core/models runs.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { type ComponentName, COMPONENT_SPECS } from "./model_io.ts";
 * const c: ComponentName = "unet";
 * assert.equal(COMPONENT_SPECS[c].inputs[0].name, "sample");
 * ```
 */
export type ComponentName = "text_encoder" | "unet" | "vae_encoder" | "vae_decoder";

/**
 * One value a component must have (or, when `optional`, may lack).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { ValueSpec } from "./model_io.ts";
 * const s: ValueSpec = { name: "sample", types: ["float32"], ranks: [4], meaning: "latents" };
 * assert.ok(s.ranks.includes(4));
 * assert.equal(s.optional, undefined); // required
 * ```
 */
export interface ValueSpec {
  /** optimum's name. */
  readonly name: string;
  /** Accepted onnxruntime element types. */
  readonly types: readonly string[];
  /** Accepted ranks. */
  readonly ranks: readonly number[];
  /** What it holds, for messages (e.g. `[batch, channels, height, width] latents`). */
  readonly meaning: string;
  /**
   * An input the component may lack (a UNet's `encoder_hidden_states`: an unconditional model
   * has none); when present it is checked like any other.
   */
  readonly optional?: boolean;
}

/**
 * The inputs a component must have (and no other; `optional` ones may be absent) and the
 * outputs it must have (others are ignored).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { COMPONENT_SPECS } from "./model_io.ts";
 * assert.deepEqual(COMPONENT_SPECS.unet.inputs.map((s) => s.name), ["sample", "timestep", "encoder_hidden_states"]);
 * assert.deepEqual(COMPONENT_SPECS.unet.inputs.map((s) => s.optional ?? false), [false, false, true]);
 * ```
 */
export interface ComponentSpec {
  /** The inputs, all fed by the pipeline when present (`optional` ones may be absent). */
  readonly inputs: readonly ValueSpec[];
  /** Required outputs. */
  readonly outputs: readonly ValueSpec[];
}

const FLOAT = ["float32", "float16"] as const;

/**
 * The IO every component must declare (names as optimum's exporter writes them; diffusers'
 * `OnnxStableDiffusionPipeline` and optimum's `ORTModelUnet`/`ORTModelVaeEncoder`/... feed them).
 * A UNet's `encoder_hidden_states` is optional: an unconditional pixel-space UNet (diffusers'
 * `DDPMPipeline`, exported by optimum) has only `sample` and `timestep`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { COMPONENT_SPECS } from "./model_io.ts";
 * assert.equal(COMPONENT_SPECS.vae_decoder.outputs[0].name, "sample");
 * assert.equal(COMPONENT_SPECS.unet.inputs[2].optional, true);
 * ```
 */
export const COMPONENT_SPECS: Readonly<Record<ComponentName, ComponentSpec>> = Object.freeze({
  text_encoder: {
    inputs: [{
      name: "input_ids",
      types: ["int32", "int64"],
      ranks: [2],
      meaning: "[batch, 77] token ids",
    }],
    outputs: [{
      name: "last_hidden_state",
      types: FLOAT,
      ranks: [3],
      meaning: "[batch, tokens, hidden] embeddings",
    }],
  },
  unet: {
    inputs: [
      {
        name: "sample",
        types: FLOAT,
        ranks: [4],
        meaning: "[batch, channels, height, width] latents",
      },
      {
        name: "timestep",
        types: ["int64", "int32", "float32", "float16", "float64"],
        ranks: [0, 1],
        meaning: "the timestep, a scalar or [1] / [batch]",
      },
      {
        name: "encoder_hidden_states",
        types: FLOAT,
        ranks: [3],
        meaning: "[batch, tokens, hidden] text embeddings",
        optional: true,
      },
    ],
    outputs: [{
      name: "out_sample",
      types: FLOAT,
      ranks: [4],
      meaning: "[batch, channels, height, width] model output",
    }],
  },
  vae_encoder: {
    inputs: [{
      name: "sample",
      types: FLOAT,
      ranks: [4],
      meaning: "[batch, 3, height, width] image",
    }],
    outputs: [{
      name: "latent_parameters",
      types: FLOAT,
      ranks: [4],
      meaning: "[batch, 2*channels, h, w] latent mean and log-variance",
    }],
  },
  vae_decoder: {
    inputs: [{
      name: "latent_sample",
      types: FLOAT,
      ranks: [4],
      meaning: "[batch, channels, h, w] latents",
    }],
    outputs: [{
      name: "sample",
      types: FLOAT,
      ranks: [4],
      meaning: "[batch, 3, height, width] image",
    }],
  },
});

/**
 * Why a VAE encoder with diffusers' legacy output is refused (the problem part of the message
 * {@link checkComponentIO} throws for it). diffusers' own
 * `scripts/convert_stable_diffusion_checkpoint_to_onnx.py` exports the encoder as
 * `encode(sample).latent_dist.sample()` with the single output `latent_sample`: the latent is
 * drawn inside the graph, from torch's RNG at export time, so no generator of the case can
 * reproduce it. Only img2img and inpaint encode an image; text2img never runs the encoder.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { LEGACY_VAE_ENCODER } from "./model_io.ts";
 * assert.match(LEGACY_VAE_ENCODER, /^diffusers' legacy ONNX export/);
 * assert.match(LEGACY_VAE_ENCODER, /img2img\/inpaint need optimum's 'latent_parameters'/);
 * ```
 */
export const LEGACY_VAE_ENCODER = "diffusers' legacy ONNX export " +
  "(scripts/convert_stable_diffusion_checkpoint_to_onnx.py) samples the latent inside the " +
  "graph; img2img/inpaint need optimum's 'latent_parameters' (mean and log-variance) so the " +
  "pipeline draws the sample with the case's generator (re-export with `optimum-cli export onnx`)";

function list(values: readonly ValueInfo[]): string {
  return `[${values.map((v) => v.name).join(", ")}]`;
}

function shapeText(shape: readonly (number | string)[]): string {
  return `[${shape.join(", ")}]`;
}

function checkValue(
  kind: "input" | "output",
  spec: ValueSpec,
  declared: readonly ValueInfo[],
  problems: [string, string][],
): void {
  const found = declared.find((v) => v.name === spec.name);
  const field = `${kind} '${spec.name}'`;
  if (found === undefined) {
    problems.push([
      field,
      `missing; the model has ${kind}s ${list(declared)}; expected optimum's names ` +
      `(${spec.name}: ${spec.meaning})`,
    ]);
    return;
  }
  if (!spec.types.includes(found.type)) {
    problems.push([
      field,
      `element type ${found.type}; expected ${spec.types.join(" or ")} (${spec.meaning})`,
    ]);
  }
  if (found.type !== "non-tensor" && !spec.ranks.includes(found.shape.length)) {
    problems.push([
      field,
      `rank ${found.shape.length} ${shapeText(found.shape)}; expected rank ` +
      `${spec.ranks.join(" or ")} (${spec.meaning})`,
    ]);
  }
}

/**
 * Checks a component's declared inputs and outputs against {@link COMPONENT_SPECS}: every
 * required input and output present with an accepted element type and rank, and no input the
 * pipeline would not feed. An optional input (a UNet's `encoder_hidden_states`) may be absent,
 * unless the model has an input the pipeline does not know: that is most likely the optional
 * one renamed (e.g. `context`), and is reported as it missing.
 *
 * @param component which component `file` is
 * @param file the ONNX file, for messages
 * @param inputs the declared inputs (`OnnxSession.inputs`)
 * @param outputs the declared outputs (`OnnxSession.outputs`)
 * @throws {FileError} naming the file, the input or output, what it has and what was
 * expected (all problems of the file in one message).
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { FileError } from "../tensor/errors.ts";
 * import { checkComponentIO } from "./model_io.ts";
 * assert.throws(
 *   () =>
 *     checkComponentIO(
 *       "vae_decoder",
 *       "m/vae_decoder/model.onnx",
 *       [{ name: "z", type: "float32", shape: [1, 4, 8, 8] }],
 *       [{ name: "sample", type: "float32", shape: [1, 3, 64, 64] }],
 *     ),
 *   (e) =>
 *     e instanceof FileError &&
 *     e.message.startsWith("m/vae_decoder/model.onnx: input 'latent_sample': missing"),
 * );
 * // An unconditional UNet (no encoder_hidden_states) passes.
 * const io = (name: string) => ({ name, type: "float32", shape: ["b", 3, "h", "w"] });
 * const unetInputs = [io("sample"), { ...io("timestep"), shape: [1] }];
 * assert.doesNotThrow(() => checkComponentIO("unet", "u.onnx", unetInputs, [io("out_sample")]));
 * ```
 */
export function checkComponentIO(
  component: ComponentName,
  file: string,
  inputs: readonly ValueInfo[],
  outputs: readonly ValueInfo[],
): void {
  const spec = COMPONENT_SPECS[component];
  const problems: [string, string][] = [];
  const fed = spec.inputs.map((s) => s.name);
  const unknown = inputs.some((v) => !fed.includes(v.name));
  for (const s of spec.inputs) {
    // An absent optional input is fine, unless an unknown input may be it renamed.
    if (s.optional && !unknown && !inputs.some((v) => v.name === s.name)) continue;
    checkValue("input", s, inputs, problems);
  }
  // An unknown input next to a missing one is most likely a rename, which the "missing"
  // message already shows (it lists the model's inputs); flag extras only when none is missing.
  const allPresent = fed.every((n) => inputs.some((i) => i.name === n));
  for (const v of inputs) {
    if (!fed.includes(v.name) && allPresent) {
      problems.push([
        `input '${v.name}'`,
        `the pipeline does not feed it; a ${component} must have exactly the inputs ` +
        `[${fed.join(", ")}] (extra inputs such as SDXL's text_embeds/time_ids or LCM's ` +
        `timestep_cond are not supported)`,
      ]);
    }
  }
  for (const s of spec.outputs) {
    if (
      component === "vae_encoder" && s.name === "latent_parameters" &&
      outputs.some((o) => o.name === "latent_sample") &&
      !outputs.some((o) => o.name === s.name)
    ) {
      problems.push([
        "output 'latent_sample'",
        LEGACY_VAE_ENCODER,
      ]);
      continue;
    }
    checkValue("output", s, outputs, problems);
  }
  if (problems.length === 1) throw new FileError(file, problems[0][0], problems[0][1]);
  if (problems.length > 1) {
    throw new FileError(
      file,
      undefined,
      `${problems.length} problems: ` + problems.map(([f, p]) => `${f}: ${p}`).join("; "),
    );
  }
}
