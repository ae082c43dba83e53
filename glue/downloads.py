"""Fetch the known Lightning motion modules and Motion LoRAs from the Hugging Face Hub, verified.

Only files listed in ``known_files.json`` (repo, revision, file name, target folder) are ever fetched, by id.
For each: ask the Hub (``HF_ENDPOINT``, default https://huggingface.co) for the file's metadata, which
advertises its sha256 (the LFS ETag); stream the bytes into ``<name>.<sha prefix>.partial`` in the target
folder while hashing them; install under the real name (``os.replace``) only when the sha256 matches. The
``.partial`` suffix is no model extension, so ComfyUI's loaders never list a half-downloaded file, and an
interrupted download resumes from the partial file (HTTP Range) next time. A mismatch deletes it.

huggingface_hub does the HTTP (metadata, redirects, retries, resuming within one call); its
``hf_hub_download`` is not used because it neither checks the sha256 of what it downloaded nor (since 1.x)
resumes across runs. Nothing here runs at import: ComfyUI imports this module through the download node, and
``python glue/downloads.py --steps 4 8`` runs it as a script (stdlib + huggingface_hub only, no ComfyUI).
"""
from __future__ import annotations

import argparse
import contextlib
import glob
import hashlib
import json
import logging
import os
import re
import shutil
import sys
import time
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Callable, Optional
from urllib.parse import quote

KNOWN_FILES = Path(__file__).with_name("known_files.json")
PARTIAL_SUFFIX = ".partial"  # never one of ComfyUI's model extensions
DEFAULT_ENDPOINT = "https://huggingface.co"
LORA_NAMES = ("PanLeft", "PanRight", "ZoomIn", "ZoomOut", "TiltUp", "TiltDown", "RollingClockwise",
              "RollingAnticlockwise")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
log = logging.getLogger("animatediff_lightning.downloads")

Progress = Callable[[int, Optional[int]], None]  # (bytes so far, total or None); may raise to stop


class DownloadError(RuntimeError):
    """A download that could not be done; the message says what to do instead."""


@dataclass(frozen=True)
class KnownFile:
    id: str
    repo: str
    revision: str
    filename: str
    folder: str                      # ComfyUI model folder name, e.g. "animatediff_models"
    description: str = ""
    sha256: Optional[str] = None     # optional pin, checked against the Hub's advertised hash too

    def url(self, endpoint: Optional[str] = None) -> str:
        return (f"{endpoint or hub_endpoint()}/{self.repo}/resolve/{quote(self.revision, safe='')}/"
                f"{quote(self.filename)}")


@dataclass(frozen=True)
class DownloadResult:
    file: KnownFile
    path: Path
    status: str                      # "downloaded" or "present"
    size: int
    sha256: Optional[str] = None     # verified hash (None when the file was already there)
    resumed_from: int = 0

    def message(self) -> str:
        if self.status == "present":
            return f"{self.file.filename} is already in {self.path.parent} ({self.size / 1e6:.1f} MB); left as is."
        resumed = f", resumed at {self.resumed_from / 1e6:.1f} MB" if self.resumed_from else ""
        return (f"{self.file.filename}: {self.size / 1e6:.1f} MB downloaded{resumed}, sha256 {self.sha256} "
                f"verified, installed in {self.path.parent}. Press R in ComfyUI to refresh the model lists.")


def hub_endpoint() -> str:
    return (os.environ.get("HF_ENDPOINT") or DEFAULT_ENDPOINT).rstrip("/")


@lru_cache(maxsize=1)
def known_files() -> dict[str, KnownFile]:
    entries = json.loads(KNOWN_FILES.read_text(encoding="utf-8"))["files"]
    return {e["id"]: KnownFile(**e) for e in entries}


def known_file(file_id: str) -> KnownFile:
    """The entry with exactly this id; anything else (a path, a URL, a repo) is refused."""
    entry = known_files().get(file_id) if isinstance(file_id, str) else None
    if entry is None:
        raise DownloadError(f"unknown file id {str(file_id)[:80]!r}; known ids: {', '.join(known_files())}")
    return entry


def select(ids=(), steps=(), loras=()) -> list[KnownFile]:
    """Entries for ids, Lightning step counts (1, 2, 4, 8) and Motion LoRA names (or "all"), in that order."""
    chosen = [known_file(i) for i in ids]
    for n in steps:
        if f"lightning_{n}step" not in known_files():
            raise DownloadError(f"no Lightning file for {n} steps; the released ones are 1, 2, 4 and 8 steps")
        chosen.append(known_file(f"lightning_{n}step"))
    by_name = {name.lower(): name for name in LORA_NAMES}
    for name in loras:
        names = LORA_NAMES if name.lower() == "all" else [by_name.get(name.lower().replace("v2_lora_", ""))]
        if None in names:
            raise DownloadError(f"unknown Motion LoRA {name!r}; known: {', '.join(LORA_NAMES)} (or all)")
        chosen += [known_file(f"motion_lora_{n}") for n in names]
    return list(dict.fromkeys(chosen))


def manual_message(entry: KnownFile, folder: Path, reason: str) -> str:
    return (f"Could not download {entry.filename} ({reason}). Download it by hand from {entry.url()} "
            f"and put it in {folder}.")


def _reason(error: BaseException) -> str:
    name = type(error).__name__
    if name == "OfflineModeIsEnabled":
        return "Hub access is switched off: HF_HUB_OFFLINE is set"
    status = getattr(getattr(error, "response", None), "status_code", None)
    text = str(error).splitlines()[0][:200] if str(error) else name
    return f"the Hub answered HTTP {status}: {text}" if status else f"no connection to the Hub: {name}: {text}"


class _HashingWriter:
    """The file object huggingface_hub's ``http_get`` writes into: hashes and counts every byte on the way."""

    def __init__(self, fh, resume: int, total: Optional[int], progress: Optional[Progress]):
        self.fh, self.total, self.progress = fh, total, progress
        self.aborted: Optional[BaseException] = None
        self._rehash(resume)

    def _rehash(self, size: int) -> None:
        self.hasher, self.done = hashlib.sha256(), 0
        self.fh.seek(0)
        while self.done < size:
            block = self.fh.read(min(8 << 20, size - self.done))
            if not block:
                break
            self.hasher.update(block)
            self.done += len(block)
        self.fh.seek(self.done)
        self.fh.truncate(self.done)

    def write(self, data) -> int:
        self.fh.write(data)
        self.hasher.update(data)
        self.done += len(data)
        if self.progress is not None:
            try:
                self.progress(self.done, self.total)
            except BaseException as e:  # an interrupt from the UI or a test: not a network error
                self.aborted = e
                raise
        return len(data)

    def tell(self) -> int:
        return self.fh.tell()

    def seek(self, offset: int, whence: int = 0) -> int:
        return self.fh.seek(offset, whence)

    def truncate(self, size: Optional[int] = None) -> int:
        # http_get rewinds and truncates when the server ignores the Range header: start the hash over.
        self._rehash(self.fh.tell() if size is None else size)
        return self.done

    def flush(self) -> None:
        self.fh.flush()


class _Terminal:
    """Progress lines in the terminal: at every 10% and at least every 15 s."""

    def __init__(self, name: str):
        self.name, self.next_pct, self.last, self.start = name, 10, time.monotonic(), time.monotonic()

    def __call__(self, done: int, total: Optional[int]) -> None:
        now = time.monotonic()
        pct = 100 * done // total if total else None
        if (pct is not None and pct >= self.next_pct) or now - self.last >= 15:
            rate = done / max(now - self.start, 1e-6) / 1e6
            where = f"{pct}% " if pct is not None else ""
            log.info("%s: %s%.1f / %s MB (%.1f MB/s)", self.name, where, done / 1e6,
                     f"{total / 1e6:.1f}" if total else "?", rate)
            self.last = now
            if pct is not None:
                self.next_pct = (pct // 10 + 1) * 10


@contextlib.contextmanager
def _locked_partial(path: Path):
    """The partial file, opened for update and locked so two downloads never write into it at once."""
    fh = os.fdopen(os.open(path, os.O_RDWR | os.O_CREAT | getattr(os, "O_BINARY", 0), 0o644), "r+b")
    try:
        try:
            import fcntl
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except ImportError:  # pragma: no cover - Windows: no lock; the sha256 check still guards the result
            pass
        except OSError:
            raise DownloadError(f"{path.name} is being downloaded by another process right now; wait for it.")
        yield fh
    finally:
        fh.close()


def download(entry: KnownFile, folder, progress: Optional[Progress] = None) -> DownloadResult:
    """Fetch ``entry`` into ``folder`` (created if needed), verified; an existing file is left alone."""
    folder = Path(folder)
    dest = folder / entry.filename
    if dest.is_file():
        return DownloadResult(entry, dest, "present", dest.stat().st_size)
    from huggingface_hub import constants, get_hf_file_metadata
    from huggingface_hub.file_download import http_get
    from huggingface_hub.utils import build_hf_headers

    url = entry.url()
    if constants.is_offline_mode():
        raise DownloadError(manual_message(entry, folder, "Hub access is switched off: HF_HUB_OFFLINE is set"))
    try:
        meta = get_hf_file_metadata(url, token=False)  # public files: never send a token anywhere
    except Exception as e:
        raise DownloadError(manual_message(entry, folder, _reason(e))) from e
    sha = (meta.etag or "").lower()
    if not _SHA256.match(sha):
        raise DownloadError(manual_message(
            entry, folder, f"the Hub advertises no sha256 for it (ETag {meta.etag!r}), so it cannot be verified; "
                           "nothing was downloaded"))
    if entry.sha256 and entry.sha256.lower() != sha:
        raise DownloadError(manual_message(
            entry, folder, f"the Hub advertises sha256 {sha}, but the known-files list pins {entry.sha256}; "
                           "nothing was downloaded"))
    size = meta.size
    folder.mkdir(parents=True, exist_ok=True)
    partial = folder / f"{entry.filename}.{sha[:12]}{PARTIAL_SUFFIX}"
    for stale in folder.glob(f"{glob.escape(entry.filename)}.*{PARTIAL_SUFFIX}"):
        if stale != partial:  # a partial of another revision's content can never complete
            stale.unlink(missing_ok=True)
    terminal = _Terminal(entry.filename)

    def report(done: int, total: Optional[int]) -> None:
        terminal(done, total)
        if progress is not None:
            progress(done, total)

    with _locked_partial(partial) as fh:
        if dest.is_file():  # another process finished it while we waited
            return DownloadResult(entry, dest, "present", dest.stat().st_size)
        resume = fh.seek(0, os.SEEK_END)
        if size is not None and resume > size:
            resume = 0
        if size is not None and shutil.disk_usage(folder).free < size - resume:
            raise DownloadError(f"{entry.filename} needs {(size - resume) / 1e6:.0f} MB free in {folder}.")
        writer = _HashingWriter(fh, resume, size, report)
        log.info("%s: %s %s (%s MB) into %s", entry.filename, "resuming at %.1f MB of" % (resume / 1e6)
                 if resume else "downloading", url, f"{size / 1e6:.1f}" if size else "?", folder)
        if progress is not None:
            progress(resume, size)
        try:
            if size is None or resume < size:
                http_get(meta.location, writer, resume_size=resume, headers=build_hf_headers(token=False),
                         expected_size=size, displayed_filename=entry.filename)
        except BaseException as e:
            if e is writer.aborted or not isinstance(e, Exception):
                log.info("%s: stopped at %.1f MB; the next download resumes from there.", entry.filename,
                         writer.done / 1e6)
                raise
            raise DownloadError(manual_message(
                entry, folder, f"{_reason(e)}; the {writer.done / 1e6:.1f} MB received are kept in {partial.name} "
                               "and the next try resumes from there")) from e
        fh.flush()
        os.fsync(fh.fileno())
        digest, received = writer.hasher.hexdigest(), writer.done
    if digest != sha or (size is not None and received != size):
        partial.unlink(missing_ok=True)
        raise DownloadError(
            f"{entry.filename}: the {received} bytes received have sha256 {digest}, but the Hub advertises "
            f"{sha} ({size} bytes) for {entry.repo} at revision {entry.revision}. Nothing was installed and the "
            f"partial download was deleted. Try again, or download it by hand from {url} and put it in {folder}.")
    os.chmod(partial, 0o644)
    os.replace(partial, dest)
    log.info("%s: sha256 verified, installed as %s", entry.filename, dest)
    return DownloadResult(entry, dest, "downloaded", received, digest, resume)


# --- inside ComfyUI -------------------------------------------------------------------------------------

def comfy_target_folder(folder_name: str) -> Path:
    """Where ComfyUI's ``models/<folder_name>`` is (the default path when registered, else the first)."""
    import folder_paths
    default = os.path.join(folder_paths.models_dir, folder_name)
    paths = folder_paths.get_folder_paths(folder_name) if folder_name in folder_paths.folder_names_and_paths else []
    return Path(default if default in paths or not paths else paths[0])


def comfy_file_state(file_id: str):
    """What the download node's cache key depends on: whether (and which) file is installed."""
    entry = known_file(file_id)
    path = comfy_target_folder(entry.folder) / entry.filename
    return (file_id, path.stat().st_size, path.stat().st_mtime) if path.is_file() else (file_id, None)


def comfy_download(file_id: str) -> DownloadResult:
    """The download node's work: progress in bytes on the node's bar, stoppable with ComfyUI's Cancel."""
    import comfy.model_management
    import comfy.utils

    entry = known_file(file_id)
    bar = comfy.utils.ProgressBar(1)

    def progress(done: int, total: Optional[int]) -> None:
        comfy.model_management.throw_exception_if_processing_interrupted()
        bar.update_absolute(done, total or max(done, 1))

    return download(entry, comfy_target_folder(entry.folder), progress)


# --- command line ---------------------------------------------------------------------------------------

def _default_models_dir() -> Optional[Path]:
    pack = Path(__file__).resolve().parents[1]
    return pack.parent.parent / "models" if pack.parent.name == "custom_nodes" else None


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="python glue/downloads.py",
        description="Download AnimateDiff-Lightning motion modules and v2 Motion LoRAs from the Hugging Face Hub "
                    "into ComfyUI's model folders, verified against the sha256 the Hub advertises.")
    parser.add_argument("ids", nargs="*", help="known file ids (see --list)")
    parser.add_argument("--steps", nargs="*", type=int, default=[], help="Lightning step counts: 1 2 4 8")
    parser.add_argument("--loras", nargs="*", default=[], help=f"Motion LoRAs: {' '.join(LORA_NAMES)}, or all")
    parser.add_argument("--models-dir", type=Path, default=_default_models_dir(),
                        help="ComfyUI's models folder (default: ../../models when this pack is in custom_nodes)")
    parser.add_argument("--list", action="store_true", help="list the known files and exit")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    if args.list:
        for f in known_files().values():
            print(f"{f.id:30} {f.repo}/{f.filename} -> models/{f.folder}  ({f.description})")
        return 0
    try:
        entries = select(args.ids, args.steps, args.loras)
    except DownloadError as e:
        parser.error(str(e))
    if not entries:
        parser.error("nothing to download: give --steps, --loras or file ids (see --list)")
    if args.models_dir is None:
        parser.error("--models-dir is needed (ComfyUI's models folder) when the pack is not in custom_nodes")
    failed = 0
    for entry in entries:
        try:
            print(download(entry, args.models_dir / entry.folder).message(), flush=True)
        except DownloadError as e:
            failed += 1
            print(f"ERROR: {e}", file=sys.stderr, flush=True)
        except KeyboardInterrupt:
            print(f"\nStopped; run the same command again to resume {entry.filename}.", file=sys.stderr)
            return 130
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
