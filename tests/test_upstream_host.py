"""Today's ComfyUI behaviour that the 0.3.75 host lacks, emulated on it (tests/support/upstream.py): the
pack must keep working when ComfyUI changes these, as upstream already has."""
import comfy.ops
import pytest
import torch

from animatediff_lightning.motion_modules import MotionModuleError, load_motion_module
from animatediff_lightning.motion_modules.loading import read_motion_module
from support.models import real_motion_module_file, tiny_motion_module_file
from support.upstream import DynamicVramOps

TINY = (32, 32, 64, 64)


def test_emulation_is_faithful_an_unloaded_module_has_no_linear_keys():
    layer = DynamicVramOps.Linear(4, 3)
    assert layer.weight is None and "weight" not in layer.state_dict()
    layer.load_state_dict({"weight": torch.ones(3, 4), "bias": torch.zeros(3)})
    assert layer(torch.ones(1, 4)).tolist() == [[4.0, 4.0, 4.0]]


@pytest.mark.parametrize("path", [lambda: tiny_motion_module_file("v2", channels=TINY), real_motion_module_file],
                         ids=["tiny", "real-shape"])
def test_motion_module_loads_with_layers_created_without_weights(path):
    """Dynamic VRAM (upstream default on NVIDIA): every file used to be refused as 'unexpected keys'."""
    file = str(path())
    lazy, _ = load_motion_module(file, ops=DynamicVramOps)
    eager, _ = load_motion_module(file, ops=comfy.ops.manual_cast)
    assert lazy.state_dict().keys() == eager.state_dict().keys()
    sd, _ = read_motion_module(file)
    for key, tensor in lazy.state_dict().items():  # the file's own tensors, assigned, not copies
        if key in sd:
            assert tensor.data_ptr() == sd[key].data_ptr() or torch.equal(tensor, sd[key]), key
    channels = lazy.down_blocks[0].motion_modules[0].temporal_transformer.proj_in.in_features
    x = torch.randn(8, channels, 4, 4)
    with torch.no_grad():
        a = lazy.down_blocks[0].motion_modules[0](x, frames=8)
        b = eager.down_blocks[0].motion_modules[0](x, frames=8)
    assert torch.equal(a, b)


def test_layers_that_never_take_their_weights_are_a_clear_error():
    class SwallowingOps(DynamicVramOps):
        class Linear(DynamicVramOps.Linear):
            def _load_from_state_dict(self, *args, **kwargs):
                pass  # a future host that loads weights some other way
    with pytest.raises(MotionModuleError, match=r"ComfyUI's layers .* did not take .* update AnimateDiff-Lightning"):
        load_motion_module(str(tiny_motion_module_file("v2", channels=TINY)), ops=SwallowingOps)
