"""Model folders, named as AnimateDiff users already have them, so their files are found."""
import os

import folder_paths

MOTION_MODULES = "animatediff_models"
MOTION_LORAS = "animatediff_motion_lora"


def register_model_folders() -> None:
    for name in (MOTION_MODULES, MOTION_LORAS):
        default = os.path.join(folder_paths.models_dir, name)
        if default not in folder_paths.folder_names_and_paths.get(name, ([], set()))[0]:
            folder_paths.add_model_folder_path(name, default)
        # A folder name new to ComfyUI starts with no extensions (which lists every file): add ours.
        folder_paths.folder_names_and_paths[name][1].update(folder_paths.supported_pt_extensions)


def missing_file_message(folder: str, name: str) -> str:
    paths = folder_paths.get_folder_paths(folder)
    return (f"'{name}' is not in models/{folder} (looked in: {', '.join(paths)}). Put the file there and "
            "press R in ComfyUI to refresh the list, or pick another file.")
