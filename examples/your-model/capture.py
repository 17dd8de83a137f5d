"""References made outside diffparity, with the capture helper: what a user runs in their own Python.

    ~/.cache/diffparity/refs-venv/bin/python examples/your-model/capture.py
    deno task refs --cases examples/your-model/cases --manifest-only   # record their sha256
    deno task verify --cases examples/your-model/cases

Runs two pipelines the way a user's own code would, each under
`capture(pipe, "<file>", ...)` from fixtures/gen/diffparity_capture.py, for the case
cases/sd2-ort-pndm.case.ts (PNDMScheduler, which SD pipelines and optimum default to, with the
export's scheduler config: skip_prk_steps, v-prediction; 12 steps):

- the ONNX export through diffusers' OnnxStableDiffusionPipeline (the onnxruntime pipeline that
  optimum's ORTStableDiffusionPipeline grew from), its networks onnxruntime sessions fed the
  dtypes and ranks the graphs declare, as optimum's ORT models do -> refs/sd2-ort-pndm.onnx.safetensors;
- the diffusers folder through StableDiffusionPipeline.from_pretrained (PyTorch, float32, CPU)
  -> refs/sd2-ort-pndm.torch.safetensors.

Both start from the same initial latents: `randn_tensor` with a torch.Generator("cpu") seeded
with the case seed, as StableDiffusionPipeline draws them (OnnxStableDiffusionPipeline would draw
with numpy unless given `latents`). One onnxruntime thread and one torch thread, so that sums
run in one order.
"""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

import numpy as np
import torch

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1] / "fixtures" / "gen"))

from diffparity_capture import capture  # noqa: E402

CASE = {"name": "sd2-ort-pndm", "prompt": "a watercolor painting of a lighthouse at dawn",
        "negative_prompt": "blurry", "steps": 12, "guidance_scale": 7.5, "seed": 7}
EXPORT = HERE / "model" / "onnx"
DIFFUSERS = HERE / "model" / "diffusers"
REFS = HERE / "cases" / "refs"


def onnx_pipeline():
    """OnnxStableDiffusionPipeline over the export, PNDM from the export's scheduler config."""
    import onnxruntime as ort
    from diffusers import OnnxStableDiffusionPipeline, PNDMScheduler
    from diffusers.pipelines.onnx_utils import ORT_TO_NP_TYPE, OnnxRuntimeModel
    from transformers import CLIPTokenizer

    class DeclaredIO(OnnxRuntimeModel):
        """Feeds each input in the dtype and rank the graph declares (the pipeline passes int32
        ids and a [1] timestep; this export takes int64 ids and a float32 scalar timestep)."""

        def __call__(self, **kwargs):
            feeds = {}
            for i in self.model.get_inputs():
                v = np.asarray(kwargs[i.name]).astype(ORT_TO_NP_TYPE[i.type], copy=False)
                feeds[i.name] = v.reshape(()) if len(i.shape) == 0 else v
            return self.model.run(None, feeds)

    def session(component: str):
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = 1
        opts.inter_op_num_threads = 1
        return DeclaredIO(ort.InferenceSession(str(EXPORT / component / "model.onnx"), sess_options=opts,
                                               providers=["CPUExecutionProvider"]))

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pipe = OnnxStableDiffusionPipeline(
            vae_encoder=None, vae_decoder=session("vae_decoder"), text_encoder=session("text_encoder"),
            tokenizer=CLIPTokenizer.from_pretrained(str(EXPORT / "tokenizer")), unet=session("unet"),
            scheduler=PNDMScheduler.from_pretrained(str(EXPORT / "scheduler")),
            safety_checker=None, feature_extractor=None, requires_safety_checker=False)
    pipe.set_progress_bar_config(disable=True)
    return pipe


def torch_pipeline():
    from diffusers import PNDMScheduler, StableDiffusionPipeline
    from diffusers.utils import logging
    from transformers.utils import logging as transformers_logging

    logging.disable_progress_bar()
    transformers_logging.disable_progress_bar()

    pipe = StableDiffusionPipeline.from_pretrained(str(DIFFUSERS), safety_checker=None, requires_safety_checker=False)
    pipe.scheduler = PNDMScheduler.from_config(pipe.scheduler.config)
    pipe.set_progress_bar_config(disable=True)
    return pipe


def main() -> None:
    from diffusers.utils.torch_utils import randn_tensor

    torch.set_num_threads(1)
    warnings.filterwarnings("ignore")
    shape = (1, 4, 8, 8)  # unet sample_size 8: 32x32 images through the factor-4 VAE
    args = dict(negative_prompt=CASE["negative_prompt"], num_inference_steps=CASE["steps"],
                guidance_scale=CASE["guidance_scale"])

    pipe = onnx_pipeline()
    generator = torch.Generator("cpu").manual_seed(CASE["seed"])
    latents = randn_tensor(shape, generator=generator, dtype=torch.float32)
    # OnnxStableDiffusionPipeline sizes latents as height // 8 whatever the VAE factor
    with capture(pipe, REFS / f"{CASE['name']}.onnx.safetensors", backend="onnx", case=CASE["name"]):
        pipe(CASE["prompt"], height=shape[2] * 8, width=shape[3] * 8, latents=latents.numpy(),
             output_type="np", **args)

    pipe = torch_pipeline()
    generator = torch.Generator("cpu").manual_seed(CASE["seed"])
    with torch.no_grad(), capture(pipe, REFS / f"{CASE['name']}.torch.safetensors", backend="torch",
                                  case=CASE["name"]):
        pipe(CASE["prompt"], height=shape[2] * 4, width=shape[3] * 4, generator=generator,
             output_type="np", **args)
    print(f"wrote {REFS}/{CASE['name']}.{{onnx,torch}}.safetensors")


if __name__ == "__main__":
    main()
