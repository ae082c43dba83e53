"""A fetched Advanced-ControlNet checkout, imported as the package ``acn_pack`` for the side-by-side harness
(parity_acn.py). ACN is never part of this project: the path is the user's.

Importing it runs its ``__init__``: it puts ACN's outer-sample wrapper into the process-wide "DinkLink" dict
(an attribute of ``comfy.hooks``) that AnimateDiff-Evolved reads when it samples, exactly as when both are in
ComfyUI's custom_nodes. It patches nothing of ComfyUI's."""
from .ade import load_pack


def load_acn_pack(path: str):
    """ACN's package module; its nodes (comfy_api ``io.ComfyNode`` classes) are under ``acn_pack.adv_control``."""
    return load_pack(path, "acn_pack")


def acn_nodes(path: str) -> dict:
    """node_id -> node class, as ACN's extension lists them."""
    import asyncio
    pack = load_acn_pack(path)
    nodes = []
    if hasattr(pack, "comfy_entrypoint"):
        async def listed():
            return await (await pack.comfy_entrypoint()).get_node_list()
        nodes = asyncio.run(listed())
    out = {n.define_schema().node_id: n for n in nodes}
    mappings = getattr(pack, "NODE_CLASS_MAPPINGS", None)  # older ACN (classic nodes)
    if mappings:
        out.update(mappings)
    return out
