"""One local HTTP server for the download tests: serves in-memory files on 127.0.0.1 with
HTTP Range, 404s, web pages, connections dropped mid-file, and a log of requests."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar


class FileServer(BaseHTTPRequestHandler):
    files: ClassVar[dict[str, bytes]] = {}  # URL path -> body
    pages: ClassVar[set[str]] = set()  # paths served as text/html (no Range)
    drops: ClassVar[dict[str, int]] = {}  # path -> responses still cut in the middle
    needs_query: ClassVar[dict[str, str]] = {}  # path -> text its query must hold, else 404
    requests: ClassVar[list[tuple[str, str | None]]] = []  # (path with query, Range header)

    def log_message(self, *args):  # keep pytest output clean
        pass

    def do_GET(self):
        FileServer.requests.append((self.path, self.headers.get("Range")))
        path, _, query = self.path.partition("?")
        body = self.files.get(path)
        if body is None or self.needs_query.get(path, "") not in query:
            self.send_error(404, "Not Found")
            return
        start, header = 0, self.headers.get("Range")
        if header and path not in self.pages:
            start = int(header.split("=")[1].split("-")[0])
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
        else:
            self.send_response(200)
        chunk = body[start:]
        kind = "text/html; charset=utf-8" if path in self.pages else "application/octet-stream"
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(chunk)))
        self.end_headers()
        if self.drops.get(path, 0) > 0:
            self.drops[path] -= 1
            self.wfile.write(chunk[: len(chunk) // 3])
            self.wfile.flush()
            self.connection.close()  # the connection drops mid-file
            return
        self.wfile.write(chunk)


@contextlib.contextmanager
def serving(files: dict[str, bytes] | None = None) -> Iterator[str]:
    """Start a fresh server (state reset, `files` served); yields its base URL."""
    FileServer.files, FileServer.pages, FileServer.drops = dict(files or {}), set(), {}
    FileServer.needs_query, FileServer.requests = {}, []
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), FileServer)
    thread = threading.Thread(target=httpd.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()


def folder_files(root: Path) -> dict[str, bytes]:
    """Every file directly in `root`, as URL path -> bytes."""
    return {f"/{p.name}": p.read_bytes() for p in sorted(root.iterdir()) if p.is_file()}
