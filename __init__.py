"""AnimateDiff-Lightning for ComfyUI: few-step motion modules, injected through the ModelPatcher.

ComfyUI loads the nodes through `comfy_entrypoint` (V3 schema). Nothing heavy happens at import.
"""
WEB_DIRECTORY = "./js"


async def comfy_entrypoint():
    from .glue.host_surface import check_at_start

    check_at_start()  # one log line per ComfyUI internal that changed; those nodes then refuse to run
    from .glue.folders import install_example_inputs, register_model_folders
    from .glue.routes import register_routes
    from .nodes import LightningExtension

    register_model_folders()
    install_example_inputs()
    register_routes()

    return LightningExtension()
