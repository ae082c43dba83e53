"""A stand-in for the Hugging Face Hub on 127.0.0.1, for download tests (point ``HF_ENDPOINT`` at ``url``).

It serves what huggingface_hub asks of ``/<repo>/resolve/<revision>/<file>``: HEAD with the headers its
``get_hf_file_metadata`` reads (``X-Repo-Commit``, ``X-Linked-Etag`` = the content's sha256 as for LFS
files, ``X-Linked-Size``), and GET with ``Range: bytes=N-`` answered 206 + ``Content-Range``. Per file it
can advertise a wrong hash, cut the first GET after some bytes (the connection closes mid-body), ignore
Range headers, refuse with an HTTP status, or trickle (``seconds_per_chunk``). Every request is logged as
(method, path, Range header).
"""
from __future__ import annotations

import hashlib
import re
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable, Optional
from urllib.parse import unquote

COMMIT = "0123456789abcdef0123456789abcdef01234567"
_RESOLVE = re.compile(r"^/(?P<repo>[^/]+/[^/]+)/resolve/(?P<revision>[^/]+)/(?P<filename>[^?]+)")


@dataclass
class HubFile:
    content: bytes
    advertised_sha256: str
    cut_first_get_at: Optional[int] = None
    ignore_range: bool = False
    status: Optional[int] = None
    seconds_per_chunk: float = 0.0  # a slow link: a pause after each 64 KiB, so a UI can be seen mid-download
    after_chunk: Optional[Callable[[int], None]] = None  # called with the bytes sent so far (a Cancel mid-way)
    gets: int = 0


class FakeHub:
    def __init__(self):
        self.files: dict[tuple[str, str, str], HubFile] = {}
        self.requests: list[tuple[str, str, Optional[str]]] = []
        hub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_HEAD(self):
                hub._serve(self, body=False)

            def do_GET(self):
                hub._serve(self, body=True)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05},
                                       daemon=True)

    def __enter__(self) -> "FakeHub":
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()

    def add(self, repo: str, filename: str, content: bytes, revision: str = "main",
            advertised_sha256: Optional[str] = None, **options) -> HubFile:
        f = HubFile(content, advertised_sha256 or hashlib.sha256(content).hexdigest(), **options)
        self.files[(repo, revision, filename)] = f
        return f

    def _serve(self, handler: BaseHTTPRequestHandler, body: bool) -> None:
        self.requests.append((handler.command, handler.path, handler.headers.get("Range")))
        m = _RESOLVE.match(handler.path)
        f = self.files.get((unquote(m["repo"]), unquote(m["revision"]), unquote(m["filename"]))) if m else None
        if f is None or f.status:
            handler.send_response(f.status if f else 404)
            handler.send_header("X-Error-Code", "EntryNotFound" if f is None else "Refused")
            handler.send_header("X-Error-Message", "refused by the fake Hub" if f else "Entry not found")
            handler.send_header("Content-Length", "0")
            handler.end_headers()
            return
        size = len(f.content)
        start = 0
        match = re.match(r"bytes=(\d+)-$", handler.headers.get("Range") or "")
        if body and match and not f.ignore_range:
            start = int(match.group(1))
            handler.send_response(206)
            handler.send_header("Content-Range", f"bytes {start}-{size - 1}/{size}")
        else:
            handler.send_response(200)
        handler.send_header("Content-Type", "application/octet-stream")
        handler.send_header("Content-Length", str(size - start))
        handler.send_header("Accept-Ranges", "bytes")
        handler.send_header("X-Repo-Commit", COMMIT)
        handler.send_header("X-Linked-Etag", f'"{f.advertised_sha256}"')
        handler.send_header("X-Linked-Size", str(size))
        handler.send_header("ETag", '"0000000000000000000000000000000000000000"')  # a git blob id, as the Hub
        handler.end_headers()
        if not body:
            return
        f.gets += 1
        end = size
        if f.cut_first_get_at is not None and f.gets == 1:
            end = min(size, start + f.cut_first_get_at)
        view = memoryview(f.content)
        try:
            for i in range(start, end, 64 * 1024):
                handler.wfile.write(view[i:min(i + 64 * 1024, end)])
                if f.after_chunk or f.seconds_per_chunk:
                    handler.wfile.flush()
                if f.after_chunk:
                    f.after_chunk(min(i + 64 * 1024, end))
                if f.seconds_per_chunk:
                    time.sleep(f.seconds_per_chunk)
            handler.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            pass
        if end < size:
            handler.close_connection = True
