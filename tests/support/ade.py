"""A fetched AnimateDiff-Evolved checkout, imported as the package ``ade_pack`` for the side-by-side harnesses
(bench_ade.py, profile_ade.py, parity_ade.py). ADE is never part of this project: the path is the user's."""
import importlib.util
import os
import sys


def load_pack(path: str, name: str):
    """The fetched pack at ``path`` imported as package ``name`` (once per process)."""
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, os.path.join(path, "__init__.py"),
                                                  submodule_search_locations=[path])
    pack = importlib.util.module_from_spec(spec)
    sys.modules[name] = pack
    spec.loader.exec_module(pack)
    return pack


def load_ade_pack(path: str):
    """ADE's package module (its NODE_CLASS_MAPPINGS and submodules under ``ade_pack.animatediff``)."""
    return load_pack(path, "ade_pack")
