/**
 * The tensors another implementation dumps for `diffparity compare` (compare_dump.ts): which
 * names it may hold ({@link DUMP_LAYOUT}), reading one `.safetensors` file or a folder of `.npy`
 * files ({@link readDump}), and matching a dumped tensor to the reference's shape.
 *
 * @module
 */
import { readNpy } from "../tensor/npy.ts";
import { readSafetensors } from "../tensor/safetensors.ts";
import { FileError } from "../tensor/errors.ts";
import { Tensor } from "../tensor/tensor.ts";

/**
 * The tensors a dump may hold, by name (an `.npy` folder has `<name>.npy` for each), with what
 * each is and the comparison it joins. `<i>` is the model-call index from 0, as in the
 * reference's `timesteps`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { DUMP_LAYOUT } from "./dump_files.ts";
 * assert.deepEqual(DUMP_LAYOUT.map((e) => e.name), [
 *   "prev_sample.<i>", "model_output.<i>", "init_latents", "latents", "prompt_embeds", "image_u8", "timesteps",
 * ]);
 * ```
 */
export const DUMP_LAYOUT: readonly Readonly<{ name: string; what: string; comparison: string }>[] =
  Object.freeze([
    { name: "prev_sample.<i>", what: "latents after call i's step", comparison: "freeRunOnnx" },
    {
      name: "model_output.<i>",
      what: "guided model output of call i (after classifier-free guidance)",
      comparison: "replayModel",
    },
    { name: "init_latents", what: "latents entering call 0", comparison: "freeRunOnnx" },
    { name: "latents", what: "final latents (before VAE decoding)", comparison: "freeRunOnnx" },
    {
      name: "prompt_embeds",
      what: "text-encoder output given to the UNet",
      comparison: "replayModel",
    },
    { name: "image_u8", what: "decoded image [1, 3, H, W], 0..255", comparison: "image" },
    {
      name: "timesteps",
      what: "one timestep per call; must equal the reference's",
      comparison: "-",
    },
  ].map((e) => Object.freeze(e)));

/**
 * A dump's tensors by name, read lazily.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { Dump } from "./dump_files.ts";
 * const none: Pick<Dump, "names" | "metadata"> = { names: [], metadata: {} };
 * assert.equal(none.names.length, 0);
 * ```
 */
export interface Dump {
  /** The file or folder. */
  path: string;
  /** Its tensor names, sorted (a folder's `.npy` files without the extension). */
  names: string[];
  /** The safetensors metadata (empty for a folder). */
  metadata: Record<string, string>;
  /** One tensor, read when asked for. */
  tensor(name: string): Promise<Tensor>;
}

/**
 * Opens a dump: a `.safetensors` file, or a folder of `<tensor>.npy` files.
 *
 * @throws {FileError} naming `path` when it cannot be read.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { readDump } from "./dump_files.ts";
 * import { writeNpy } from "../tensor/npy.ts";
 * import { Tensor } from "../tensor/tensor.ts";
 * const dir = await Deno.makeTempDir();
 * await writeNpy(`${dir}/latents.npy`, new Tensor(new Float32Array([1, 2]), [1, 2]));
 * const dump = await readDump(dir);
 * assert.deepEqual(dump.names, ["latents"]);
 * assert.deepEqual([...(await dump.tensor("latents")).data], [1, 2]);
 * await assert.rejects(readDump(`${dir}/missing`), /expected a \.safetensors file or a folder of \.npy files/);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function readDump(path: string): Promise<Dump> {
  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(path);
  } catch (err) {
    throw new FileError(
      path,
      undefined,
      `cannot be read (${
        (err as Error).message
      }); expected a .safetensors file or a folder of .npy files`,
      { cause: err },
    );
  }
  if (info.isDirectory) {
    const names: string[] = [];
    for await (const e of Deno.readDir(path)) {
      if (e.isFile && e.name.endsWith(".npy")) names.push(e.name.slice(0, -".npy".length));
    }
    return {
      path,
      names: names.sort(),
      metadata: {},
      tensor: (name) => readNpy(`${path.replace(/\/+$/, "")}/${name}.npy`),
    };
  }
  const file = await readSafetensors(path);
  return {
    path,
    names: file.names(),
    metadata: file.metadata,
    tensor: (name) => Promise.resolve(file.tensor(name)),
  };
}

const squeeze = (shape: readonly number[]) => shape.filter((d) => d !== 1);

/**
 * `ours` in the reference's shape `want`: equal up to size-1 axes is accepted (a dump without
 * the batch axis).
 *
 * @throws {FileError} naming the dump and the tensor when the shapes differ otherwise.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { fitDumpTensor } from "./dump_files.ts";
 * import { Tensor } from "../tensor/tensor.ts";
 * const want = Tensor.zeros([1, 4, 2, 2]);
 * assert.deepEqual(fitDumpTensor(Tensor.zeros([4, 2, 2]), want, "d", "latents", "r").shape, [1, 4, 2, 2]);
 * assert.throws(() => fitDumpTensor(Tensor.zeros([4, 4]), want, "d", "latents", "r"), /^FileError: d: latents: shape \[4, 4\]/);
 * ```
 */
export function fitDumpTensor(
  ours: Tensor,
  want: Tensor,
  dump: string,
  name: string,
  ref: string,
): Tensor {
  const [a, b] = [squeeze(ours.shape), squeeze(want.shape)];
  if (a.length !== b.length || a.some((d, i) => d !== b[i])) {
    throw new FileError(
      dump,
      name,
      `shape [${ours.shape.join(", ")}] differs from the reference's [${
        want.shape.join(", ")
      }] (${ref})`,
    );
  }
  return ours.shape.length === want.shape.length && ours.shape.every((d, i) => d === want.shape[i])
    ? ours
    : new Tensor(ours.data, [...want.shape]);
}

/**
 * The call indices `<i>` of a family's names (`prev_sample.<i>`), sorted.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { stepIndices } from "./dump_files.ts";
 * assert.deepEqual(stepIndices(["prev_sample.10", "prev_sample.2", "latents", "prev_sample.02"], "prev_sample"), [2, 10]);
 * ```
 */
export function stepIndices(names: readonly string[], family: string): number[] {
  const re = new RegExp(`^${family}\\.(0|[1-9][0-9]*)$`);
  return names.flatMap((n) => {
    const m = re.exec(n);
    return m ? [Number(m[1])] : [];
  }).sort((a, b) => a - b);
}
