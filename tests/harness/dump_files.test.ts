import assert from "node:assert/strict";
import { fitDumpTensor, readDump, stepIndices } from "../../core/harness/dump_files.ts";
import { writeNpy } from "../../core/tensor/npy.ts";
import { writeSafetensors } from "../../core/tensor/safetensors.ts";
import { Tensor } from "../../core/tensor/tensor.ts";

Deno.test("readDump reads a folder of .npy files and a .safetensors file alike", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const x = new Tensor(new Float32Array([0.5, -1.25, 3]), [1, 3]);
    await Deno.mkdir(`${dir}/npy`);
    await writeNpy(`${dir}/npy/prev_sample.0.npy`, x);
    await writeNpy(`${dir}/npy/latents.npy`, x);
    await Deno.writeTextFile(`${dir}/npy/notes.txt`, "not a tensor");
    await writeSafetensors(`${dir}/d.safetensors`, { "prev_sample.0": x, latents: x }, {
      by: "a port",
    });
    for (const path of [`${dir}/npy/`, `${dir}/d.safetensors`]) {
      const dump = await readDump(path);
      assert.deepEqual(dump.names, ["latents", "prev_sample.0"], path);
      assert.deepEqual((await dump.tensor("prev_sample.0")).data, x.data, path);
    }
    assert.deepEqual((await readDump(`${dir}/d.safetensors`)).metadata.by, "a port");
    await assert.rejects(
      readDump(`${dir}/none`),
      new RegExp(`^FileError: ${dir}/none: cannot be read`),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("fitDumpTensor accepts a shape equal up to size-1 axes and names the dump otherwise", () => {
  const want = Tensor.zeros([1, 2, 3]);
  const ours = new Tensor(new Float32Array([1, 2, 3, 4, 5, 6]), [2, 3]);
  const fitted = fitDumpTensor(ours, want, "dump", "latents", "ref.safetensors");
  assert.deepEqual(fitted.shape, [1, 2, 3]);
  assert.deepEqual(fitted.data, ours.data);
  assert.equal(fitDumpTensor(want, want, "dump", "latents", "ref"), want);
  assert.throws(
    () => fitDumpTensor(Tensor.zeros([3, 2]), want, "dump", "latents", "ref.safetensors"),
    /^FileError: dump: latents: shape \[3, 2\] differs from the reference's \[1, 2, 3\] \(ref\.safetensors\)/,
  );
});

Deno.test("stepIndices takes canonical call indices of one family only", () => {
  assert.deepEqual(
    stepIndices([
      "model_output.3",
      "prev_sample.1",
      "prev_sample.0",
      "prev_sample.x",
      "prev_sample.01",
    ], "prev_sample"),
    [0, 1],
  );
});
