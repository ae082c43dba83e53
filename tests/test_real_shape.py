"""The identity/isolation guarantees again at the real SD1.5 and v2/Lightning shapes (fp16 files, as shipped)."""
import pytest
import torch

import comfy.model_management
from animatediff_lightning.glue.injection import KEY, MotionModuleSlot, apply_motion_module, load_motion_module_handle
from support.models import motion_module_file, real_motion_module_file
from support.sd15_models import sd15_model_patcher

FRAMES = 16


@pytest.fixture(scope="module")
def base():
    return sd15_model_patcher()


def forward(model, x, context):
    """One UNet evaluation through ComfyUI's model path (apply_model: input scaling, transformer_options)."""
    comfy.model_management.load_models_gpu([model])
    sigma = torch.full((x.shape[0],), 6.557213)
    with torch.no_grad():
        return model.model.apply_model(x, sigma, c_crossattn=context,
                                       transformer_options=dict(model.model_options["transformer_options"],
                                                                cond_or_uncond=[0]))


def test_real_shape_identity_isolation_and_unpatch(base):
    g = torch.Generator().manual_seed(0)
    x = torch.randn(FRAMES, 4, 8, 8, generator=g)
    context = torch.randn(FRAMES, 77, 768, generator=g)
    unet = base.model.diffusion_model
    tree, keys = repr(unet), list(unet.state_dict().keys())
    plain = forward(base, x, context)

    identity = apply_motion_module(base, load_motion_module_handle(str(motion_module_file(zero_proj_out=True))),
                                   animatediff_schedule=False)
    assert torch.equal(forward(identity, x, context), plain)
    slots = [m for m in unet.modules() if isinstance(m, MotionModuleSlot)]
    assert len(slots) == 21  # 8 down, 1 mid, 12 up
    # slots own no weights, and every UNet weight keeps its key while they are in
    assert list(unet.state_dict().keys()) == keys

    lightning = apply_motion_module(base, load_motion_module_handle(str(real_motion_module_file())),
                                    animatediff_schedule=False)
    moved = forward(lightning, x, context)
    assert torch.isfinite(moved).all() and not torch.equal(moved, plain)
    assert KEY not in base.injections
    assert torch.equal(forward(base, x, context), plain)  # the plain clone runs the plain UNet again
    comfy.model_management.unload_all_models()
    assert repr(unet) == tree and list(unet.state_dict().keys()) == keys
