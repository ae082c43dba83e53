"""`python path/to/this-pack render WORKFLOW.json --out DIR …`: the pack's command line (see glue/render.py).

The pack's folder name may contain dashes, so it runs as a folder (`python FOLDER`), not as `python -m`.
ComfyUI never imports this file.
"""
import importlib.util
import sys
from pathlib import Path

_spec = importlib.util.spec_from_file_location("adl_render", Path(__file__).resolve().parent / "glue" / "render.py")
_render = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = _render
_spec.loader.exec_module(_render)

if __name__ == "__main__":
    sys.exit(_render.main())
