"""A test-only custom node for tests/check_converter.py: saves an IMAGE batch as float32 safetensors under the
output folder, so the frames of two runs are compared exactly, not after 8-bit rounding. Loaded only into the
harness's server (ComfyServer extra_custom_nodes); never part of the pack."""
import os

import folder_paths
from safetensors.torch import save_file


class SaveImageTensor:
    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {"images": ("IMAGE", {"tooltip": "The frames to save as they are (float32)."}),
                             "filename_prefix": ("STRING", {"default": "tensors", "tooltip": "Path under output."})}}

    RETURN_TYPES = ()
    OUTPUT_NODE = True
    FUNCTION = "save"
    CATEGORY = "testing"
    DESCRIPTION = "Saves an IMAGE batch losslessly (float32 safetensors), for the converter check."

    def save(self, images, filename_prefix):
        name = filename_prefix + ".safetensors"
        path = os.path.join(folder_paths.get_output_directory(), name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        save_file({"images": images.detach().float().cpu().contiguous()}, path)
        return {"ui": {"tensors": [{"filename": name}]}}


NODE_CLASS_MAPPINGS = {"ADLTest_SaveImageTensor": SaveImageTensor}
