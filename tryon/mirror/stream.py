"""The mirror as MJPEG over HTTP, for a kiosk browser on the same machine.

A small threaded ``http.server`` bound to 127.0.0.1 only (no image leaves the machine):

- ``/``             a page that shows the stream full screen
- ``/stream.mjpg``  ``multipart/x-mixed-replace`` JPEG frames, as they are published
- ``/snapshot.jpg`` the latest frame

Frames are encoded once, when the first client asks for them, not per client.
"""

from __future__ import annotations

import logging
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import cv2
import numpy as np

log = logging.getLogger(__name__)

HOST = "127.0.0.1"
BOUNDARY = "tryonframe"

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>tryon mirror</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>html,body{margin:0;height:100%;background:#000}
img{width:100vw;height:100vh;object-fit:contain;display:block}</style></head>
<body><img src="/stream.mjpg" alt="tryon mirror"></body></html>
"""


class FrameHub:
    """The latest frame, its JPEG (encoded lazily, once) and a condition to wait on."""

    def __init__(self, quality: int = 80) -> None:
        self.quality = quality
        self._cond = threading.Condition()
        self._frame: np.ndarray | None = None
        self._jpeg: bytes | None = None
        self.seq = 0
        self.closed = False

    def publish(self, frame_bgr: np.ndarray) -> None:
        with self._cond:
            self._frame = frame_bgr
            self._jpeg = None
            self.seq += 1
            self._cond.notify_all()

    def close(self) -> None:
        with self._cond:
            self.closed = True
            self._cond.notify_all()

    def jpeg(self) -> tuple[bytes | None, int]:
        """(latest frame as JPEG or None, its sequence number)."""
        with self._cond:
            frame, seq, cached = self._frame, self.seq, self._jpeg
        if frame is None:
            return None, 0
        if cached is None:
            ok, buf = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, self.quality])
            cached = buf.tobytes() if ok else None
            with self._cond:
                if self.seq == seq:
                    self._jpeg = cached
        return cached, seq

    def wait_newer(self, seq: int, timeout: float) -> bool:
        """Wait until a frame newer than ``seq`` is published (False on timeout or close)."""
        with self._cond:
            self._cond.wait_for(lambda: self.seq > seq or self.closed, timeout)
            return self.seq > seq and not self.closed


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.0"

    def log_message(self, fmt, *args) -> None:  # the mirror's log, not stderr per request
        log.debug("http %s: " + fmt, self.address_string(), *args)

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        path = self.path.split("?", 1)[0]
        if path in ("/", "/index.html"):
            self._send(HTTPStatus.OK, "text/html; charset=utf-8", PAGE.encode())
        elif path == "/snapshot.jpg":
            data, _ = self.server.hub.jpeg()
            if data is None:
                self._send(HTTPStatus.SERVICE_UNAVAILABLE, "text/plain", b"no frame yet\n")
            else:
                self._send(HTTPStatus.OK, "image/jpeg", data)
        elif path == "/stream.mjpg":
            self._stream()
        else:
            self._send(HTTPStatus.NOT_FOUND, "text/plain", b"not found\n")

    def _send(self, status: HTTPStatus, ctype: str, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)

    def _stream(self) -> None:
        hub = self.server.hub
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", f"multipart/x-mixed-replace; boundary={BOUNDARY}")
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        seq = 0
        try:
            while not hub.closed:
                data, new_seq = hub.jpeg()
                if data is not None and new_seq != seq:
                    seq = new_seq
                    head = f"--{BOUNDARY}\r\nContent-Type: image/jpeg\r\nContent-Length: {len(data)}\r\n\r\n"
                    self.wfile.write(head.encode() + data + b"\r\n")
                    self.wfile.flush()
                hub.wait_newer(seq, timeout=1.0)
        except (BrokenPipeError, ConnectionResetError, TimeoutError):
            pass  # the browser went away


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    hub: FrameHub


class MjpegServer:
    """Serve published frames on http://127.0.0.1:PORT/ (port 0: any free port).
    ``close()`` stops it, safe twice; also a context manager."""

    def __init__(self, port: int, quality: int = 80) -> None:
        self.hub = FrameHub(quality)
        self._server = _Server((HOST, port), _Handler)
        self._server.hub = self.hub
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, name="tryon-mjpeg", daemon=True)
        self._thread.start()
        self._closed = False

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}/"

    def publish(self, frame_bgr: np.ndarray) -> None:
        self.hub.publish(frame_bgr)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self.hub.close()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=2.0)

    def __enter__(self) -> MjpegServer:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
