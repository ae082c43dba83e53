"""Model folders, named as AnimateDiff users already have them, so their files are found; the example
workflows' input clip, put into the input folder on first start."""
import os
import shutil

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


EXAMPLE_MEDIA = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "workflows", "media")


def install_example_inputs(log=print) -> list[str]:
    """Copy the clips the example workflows read (workflows/media/) into ComfyUI's input folder, each only
    when no file of that name is there: an artist's own file is never replaced. Returns what was copied.
    Written under a temporary name and renamed, so a failed copy leaves nothing half-written; a read-only
    input folder is reported and skipped (the templates then show their input as missing)."""
    copied = []
    try:
        names = sorted(n for n in os.listdir(EXAMPLE_MEDIA) if not n.startswith("."))
        folder = folder_paths.get_input_directory()
    except OSError:
        return copied
    for name in names:
        target = os.path.join(folder, name)
        if os.path.lexists(target):
            continue
        partial = os.path.join(folder, f".{name}.{os.getpid()}.partial")
        try:
            os.makedirs(folder, exist_ok=True)
            shutil.copyfile(os.path.join(EXAMPLE_MEDIA, name), partial)
            if os.path.lexists(target):  # appeared meanwhile (another ComfyUI on the same folder)
                os.remove(partial)
                continue
            os.replace(partial, target)
            copied.append(name)
        except OSError as e:
            log(f"[AnimateDiff-Lightning] could not put the example input {name} into {folder} ({e}); "
                "the example templates need a file named so there.")
            if os.path.exists(partial):
                os.remove(partial)
    return copied
