"""A fetched AnimateDiff-Evolved checkout, imported as the package ``ade_pack`` for the side-by-side harnesses
(bench_ade.py, profile_ade.py, parity_ade.py). ADE is never part of this project: the path is the user's."""
import importlib.util
import os
import sys


def load_ade_pack(path: str):
    """ADE's package module (its NODE_CLASS_MAPPINGS and submodules under ``ade_pack.animatediff``)."""
    if "ade_pack" in sys.modules:
        return sys.modules["ade_pack"]
    spec = importlib.util.spec_from_file_location("ade_pack", os.path.join(path, "__init__.py"),
                                                  submodule_search_locations=[path])
    pack = importlib.util.module_from_spec(spec)
    sys.modules["ade_pack"] = pack
    spec.loader.exec_module(pack)
    return pack
