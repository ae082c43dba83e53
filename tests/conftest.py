"""Boots a real ComfyUI host in-process (CPU) and makes this pack importable as `animatediff_lightning`."""
import importlib.util
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
COMFYUI_PATH = Path(os.environ.get("COMFYUI_PATH", ROOT / ".host" / "ComfyUI")).resolve()
CACHE = Path(os.environ.get("ADL_TEST_CACHE", ROOT / ".cache" / "test-models"))
# The project's shared reference data sits beside the checkout (../shared/reference), wherever it is cloned.
REFERENCE_DIR = Path(os.environ.get("ADL_REFERENCE_DIR", ROOT.parent / "shared" / "reference"))

os.environ.setdefault("HF_HUB_OFFLINE", "1")
if not (COMFYUI_PATH / "main.py").exists():
    raise RuntimeError(f"No ComfyUI at {COMFYUI_PATH}: run `make test` (it installs one) or set COMFYUI_PATH.")
if str(COMFYUI_PATH) not in sys.path:
    sys.path.insert(0, str(COMFYUI_PATH))
if str(ROOT / "tests") not in sys.path:
    sys.path.insert(0, str(ROOT / "tests"))

import comfy.options  # noqa: E402

comfy.options.enable_args_parsing(False)
import comfy.cli_args  # noqa: E402

comfy.cli_args.args.cpu = True
comfy.cli_args.args.disable_all_custom_nodes = True

if "animatediff_lightning" not in sys.modules:
    spec = importlib.util.spec_from_file_location(
        "animatediff_lightning", ROOT / "__init__.py", submodule_search_locations=[str(ROOT)])
    module = importlib.util.module_from_spec(spec)
    sys.modules["animatediff_lightning"] = module
    spec.loader.exec_module(module)

from animatediff_lightning.glue.folders import register_model_folders  # noqa: E402  (as comfy_entrypoint does)

register_model_folders()


import pytest  # noqa: E402
import comfy.model_management  # noqa: E402


@pytest.fixture(autouse=True)
def no_interrupt_left_over():
    """ComfyUI's interrupt flag is process-wide: a test that pressed Cancel (or failed before clearing it)
    must not stop the next one's sampling."""
    comfy.model_management.interrupt_current_processing(False)
    yield
    comfy.model_management.interrupt_current_processing(False)
