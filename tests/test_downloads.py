"""Downloads against a local stand-in for the Hub (``HF_ENDPOINT``): integrity, resume, errors, node, CLI."""
import hashlib
import os
import random
import subprocess
import sys

import pytest

import comfy.model_management
import comfy.utils
import folder_paths
from huggingface_hub import constants
from animatediff_lightning.glue import downloads
from animatediff_lightning.glue.downloads import DownloadError, download, known_file, known_files, select
from conftest import ROOT
from support.fake_hub import FakeHub

LIGHTNING = "ByteDance/AnimateDiff-Lightning"
FILE_4 = "animatediff_lightning_4step_comfyui.safetensors"
SIZE = 3 * 1024 * 1024 + 123


def content(seed=0, size=SIZE) -> bytes:
    return random.Random(seed).randbytes(size)


@pytest.fixture
def hub(monkeypatch):
    with FakeHub() as h:
        monkeypatch.setenv("HF_ENDPOINT", h.url)
        monkeypatch.setenv("HF_HUB_OFFLINE", "0")
        monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
        yield h


def listed(folder) -> list:
    """What a ComfyUI model loader would list in ``folder``."""
    return folder_paths.filter_files_extensions(os.listdir(folder), folder_paths.supported_pt_extensions)


class Stop(Exception):
    pass


def test_known_files_list():
    files = known_files()
    assert [f.filename for f in files.values() if f.repo == LIGHTNING] == [
        f"animatediff_lightning_{n}step_comfyui.safetensors" for n in (1, 2, 4, 8)]
    loras = [f for f in files.values() if f.repo == "guoyww/animatediff"]
    assert len(loras) == 8 and all(f.folder == "animatediff_motion_lora" and f.filename.startswith("v2_lora_")
                                   for f in loras)
    assert {f.folder for f in files.values() if f.repo == LIGHTNING} == {"animatediff_models"}
    assert [f.id for f in select(steps=[4, 8], loras=["panleft", "ZoomIn"])] == [
        "lightning_4step", "lightning_8step", "motion_lora_PanLeft", "motion_lora_ZoomIn"]
    assert len(select(loras=["all"])) == 8


@pytest.mark.parametrize("bad", ["../../etc/passwd", FILE_4, LIGHTNING, "https://example.com/x.safetensors",
                                 "lightning_4step/..", "", None])
def test_only_known_ids(bad):
    with pytest.raises(DownloadError, match="unknown file id"):
        known_file(bad)


def test_unknown_steps_or_lora():
    with pytest.raises(DownloadError, match="1, 2, 4 and 8"):
        select(steps=[3])
    with pytest.raises(DownloadError, match="unknown Motion LoRA"):
        select(loras=["Spin"])


def test_good_file_lands(hub, tmp_path):
    data = content()
    hub.add(LIGHTNING, FILE_4, data)
    seen = []
    result = download(known_file("lightning_4step"), tmp_path / "animatediff_models",
                      lambda done, total: seen.append((done, total)))
    assert result.status == "downloaded" and result.path.read_bytes() == data
    assert result.sha256 == hashlib.sha256(data).hexdigest() and result.resumed_from == 0
    assert os.listdir(result.path.parent) == [FILE_4]
    assert seen[-1] == (SIZE, SIZE)
    assert [r[0] for r in hub.requests] == ["HEAD", "GET"] and hub.requests[1][2] is None
    assert "verified" in result.message()
    again = download(known_file("lightning_4step"), tmp_path / "animatediff_models")
    assert again.status == "present" and len(hub.requests) == 2  # an installed file is left alone


def test_connection_cut_midway_resumes_and_completes(hub, tmp_path, monkeypatch):
    monkeypatch.setattr(constants, "DOWNLOAD_CHUNK_SIZE", 256 * 1024)  # bytes reach the file before the cut
    data = content(1)
    hub.add(LIGHTNING, FILE_4, data, cut_first_get_at=1_000_000)
    result = download(known_file("lightning_4step"), tmp_path)
    assert result.path.read_bytes() == data
    gets = [r for r in hub.requests if r[0] == "GET"]
    assert len(gets) == 2 and gets[0][2] is None
    assert gets[1][2].startswith("bytes=") and 0 < int(gets[1][2][6:-1]) <= 1_000_000


def test_interrupted_download_resumes_next_time(hub, tmp_path, monkeypatch):
    monkeypatch.setattr(constants, "DOWNLOAD_CHUNK_SIZE", 256 * 1024)
    data = content(2)
    hub.add(LIGHTNING, FILE_4, data)

    def stop_after_1mb(done, total):
        if done >= 1024 * 1024:
            raise Stop()

    with pytest.raises(Stop):
        download(known_file("lightning_4step"), tmp_path, stop_after_1mb)
    assert not (tmp_path / FILE_4).exists() and listed(tmp_path) == []
    (partial,) = tmp_path.glob(f"{FILE_4}.*.partial")
    kept = partial.stat().st_size
    assert kept >= 1024 * 1024 and partial.read_bytes() == data[:kept]
    result = download(known_file("lightning_4step"), tmp_path)
    assert result.path.read_bytes() == data and result.resumed_from == kept
    assert hub.requests[-1] == ("GET", hub.requests[-1][1], f"bytes={kept}-")
    assert os.listdir(tmp_path) == [FILE_4]


def test_server_ignoring_range_restarts_the_hash(hub, tmp_path):
    data = content(3)
    hub.add(LIGHTNING, FILE_4, data, ignore_range=True)
    sha = hashlib.sha256(data).hexdigest()
    (tmp_path / f"{FILE_4}.{sha[:12]}.partial").write_bytes(data[:500_000])
    result = download(known_file("lightning_4step"), tmp_path)
    assert result.path.read_bytes() == data and hub.requests[-1][2] == "bytes=500000-"


def test_sha256_mismatch_installs_nothing(hub, tmp_path):
    data = content(4)
    wrong = hashlib.sha256(b"something else").hexdigest()
    hub.add(LIGHTNING, FILE_4, data, advertised_sha256=wrong)
    with pytest.raises(DownloadError) as e:
        download(known_file("lightning_4step"), tmp_path)
    message = str(e.value)
    assert FILE_4 in message and wrong in message and hashlib.sha256(data).hexdigest() in message
    assert "Nothing was installed" in message
    assert os.listdir(tmp_path) == []


def test_corrupt_partial_is_rejected_then_a_fresh_try_works(hub, tmp_path):
    data = content(5)
    hub.add(LIGHTNING, FILE_4, data)
    sha = hashlib.sha256(data).hexdigest()
    (tmp_path / f"{FILE_4}.{sha[:12]}.partial").write_bytes(b"\0" * 100_000)  # not the file's first bytes
    with pytest.raises(DownloadError, match="Nothing was installed"):
        download(known_file("lightning_4step"), tmp_path)
    assert os.listdir(tmp_path) == []
    assert download(known_file("lightning_4step"), tmp_path).path.read_bytes() == data


def test_offline_gives_the_manual_message(tmp_path, monkeypatch):
    monkeypatch.delenv("HF_ENDPOINT", raising=False)
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    with pytest.raises(DownloadError) as e:
        download(known_file("lightning_4step"), tmp_path / "animatediff_models")
    message = str(e.value)
    assert "HF_HUB_OFFLINE" in message
    assert f"https://huggingface.co/{LIGHTNING}/resolve/main/{FILE_4}" in message
    assert str(tmp_path / "animatediff_models") in message and FILE_4 in message


def test_no_network_and_hub_refusing(hub, tmp_path, monkeypatch):
    hub.add(LIGHTNING, FILE_4, content(), status=403)
    with pytest.raises(DownloadError, match=r"HTTP 403.*by hand from http://127\.0\.0\.1:\d+/ByteDance"):
        download(known_file("lightning_4step"), tmp_path)
    from support.server import free_port
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{free_port()}")  # nothing listens there
    with pytest.raises(DownloadError, match=r"no connection to the Hub.*put it in"):
        download(known_file("lightning_4step"), tmp_path)
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("bar", ["host", "upstream"], ids=["host ProgressBar", "throttled ProgressBar (0.33)"])
def test_node_progress_in_bytes_and_interrupt(hub, tmp_path, monkeypatch, bar):
    """The node's bar counts bytes and ComfyUI's Cancel stops the download whenever it comes, whether or not the
    host hands that chunk's progress to the UI (0.33 throttles the hook: at most every 100 ms / 0.5 %)."""
    from animatediff_lightning.nodes.download import DownloadModels
    from support.upstream import throttled_progress_bar_class

    if bar == "upstream":
        monkeypatch.setattr(comfy.utils, "ProgressBar", throttled_progress_bar_class())
    monkeypatch.setattr(constants, "DOWNLOAD_CHUNK_SIZE", 256 * 1024)
    monkeypatch.setitem(folder_paths.folder_names_and_paths, "animatediff_models",
                        ([str(tmp_path)], set(folder_paths.supported_pt_extensions)))
    data = content(6)
    cancel = [True]

    def press_cancel(sent: int):  # the artist's Cancel, once, while the file is a third of the way through
        if cancel and sent >= 1024 * 1024:
            cancel.clear()
            comfy.model_management.interrupt_current_processing(True)

    # a link slow enough (20 ms per 64 KiB) that the Hub is never far ahead of what the node has read
    hub.add(LIGHTNING, FILE_4, data, after_chunk=press_cancel, seconds_per_chunk=0.02)
    updates = []
    monkeypatch.setattr(comfy.utils, "PROGRESS_BAR_HOOK", lambda value, total, preview, node_id=None:
                        updates.append((value, total)))
    state = DownloadModels.fingerprint_inputs(file="lightning_4step")
    with pytest.raises(comfy.model_management.InterruptProcessingException):
        DownloadModels.execute(file="lightning_4step")
    assert listed(tmp_path) == []
    assert not cancel and updates and updates[-1][0] < SIZE
    comfy.model_management.interrupt_current_processing(False)
    updates.clear()
    output = DownloadModels.execute(file="lightning_4step")
    assert (tmp_path / FILE_4).read_bytes() == data and output.result[0] == str(tmp_path / FILE_4)
    ranges = [r for method, _path, r in hub.requests if method == "GET"]
    assert ranges[0] is None and ranges[-1] and int(ranges[-1].split("=")[1].rstrip("-")) > 0  # resumed
    assert updates[0][0] > 0 and updates[-1] == (SIZE, SIZE)  # from the partial file to the last byte
    assert all(total == SIZE for _, total in updates)
    assert DownloadModels.fingerprint_inputs(file="lightning_4step") != state


def run_cli(*args, **env):
    return subprocess.run([sys.executable, str(ROOT / "glue" / "downloads.py"), *args], capture_output=True,
                          text=True, timeout=120, env=dict(os.environ, **env), cwd="/")


def test_cli_downloads_steps_and_loras(hub, tmp_path):
    hub.add(LIGHTNING, "animatediff_lightning_8step_comfyui.safetensors", content(7))
    hub.add("guoyww/animatediff", "v2_lora_PanLeft.ckpt", content(8, 200_000))
    done = run_cli("--models-dir", str(tmp_path), "--steps", "8", "--loras", "PanLeft",
                   HF_ENDPOINT=hub.url, HF_HUB_OFFLINE="0")
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "animatediff_models" / "animatediff_lightning_8step_comfyui.safetensors").read_bytes() \
        == content(7)
    assert (tmp_path / "animatediff_motion_lora" / "v2_lora_PanLeft.ckpt").read_bytes() == content(8, 200_000)
    assert done.stdout.count("verified") == 2


def test_cli_offline_message_and_exit_code(tmp_path):
    done = run_cli("--models-dir", str(tmp_path), "--steps", "4", HF_HUB_OFFLINE="1", HF_ENDPOINT="")
    assert done.returncode == 1
    assert f"https://huggingface.co/{LIGHTNING}/resolve/main/{FILE_4}" in done.stderr
    assert str(tmp_path / "animatediff_models") in done.stderr
    assert run_cli("--list").stdout.count("\n") == 12
    assert run_cli("--steps", "3").returncode == 2


def test_nothing_downloads_at_import():
    code = ("import sys, runpy; sys.argv = ['x']; import glue.downloads as d; "
            "assert 'huggingface_hub' not in sys.modules, 'imported at import time'")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert downloads.KNOWN_FILES.is_file()
