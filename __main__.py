"""`python path/to/this-pack render WORKFLOW.json --out DIR …`: the pack's command line (see workflow_files/render.py).

The pack's folder name may contain dashes, so it runs as a folder (`python FOLDER`), not as `python -m`: the
folder is registered as the package `adl_pack` (its __init__ imports nothing heavy) and workflow_files.render imported
from it. ComfyUI never imports this file.
"""
import importlib
import importlib.util
import sys
from pathlib import Path

_root = Path(__file__).resolve().parent
_spec = importlib.util.spec_from_file_location("adl_pack", _root / "__init__.py", submodule_search_locations=[str(_root)])
_pack = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = _pack
_spec.loader.exec_module(_pack)
_render = importlib.import_module("adl_pack.workflow_files.render")

if __name__ == "__main__":
    sys.exit(_render.main())
