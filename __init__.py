"""AnimateDiff-Lightning for ComfyUI: few-step motion modules, injected through the ModelPatcher.

ComfyUI loads the nodes through `comfy_entrypoint` (V3 schema). Nothing heavy happens at import.
"""
WEB_DIRECTORY = "./js"


async def comfy_entrypoint():
    from .nodes import LightningExtension

    return LightningExtension()
