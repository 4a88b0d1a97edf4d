"""The mirror as MJPEG over HTTP, for a kiosk browser on the same machine.

The standard library's threaded ``http.server`` (a thread a client), bound to 127.0.0.1 only
(no image leaves the machine):

- ``/``             a page that shows the stream full screen
- ``/stream.mjpg``  ``multipart/x-mixed-replace`` JPEG frames, as they are published
- ``/snapshot.jpg`` the latest frame

Many, slow and careless clients:

- A frame is encoded once, when the first client asks for it (not per client, and not at all
  while nobody watches), and its multipart chunk is shared by every reader. There is no
  per-client queue: a reader is sent the newest frame whenever it is ready for one, so a slow
  reader has frames dropped instead of a growing backlog (its socket's send buffer is kept to
  SEND_BUFFER_BYTES), and the others do not wait for it.
- A listen backlog of LISTEN_BACKLOG: a hundred readers connecting at once are all accepted.
- A request head (request line and headers) must arrive whole within ``request_timeout_s``,
  or the connection is closed; a request line without an HTTP version (HTTP/0.9) or otherwise
  malformed is answered 400, an oversized line or header 414/431, a method other than GET
  501, and closed.
- A reader that takes no bytes for ``stall_timeout_s`` is dropped. Past ``max_clients``
  connections at once, a request is read and answered 503 (a reply sent before reading would
  be lost to the reset that closing an unread socket sends); past twice that, a connection is
  closed at once.
- A client that goes away, or any error on a connection, is one line in the log (debug for a
  disconnect), never a traceback.
"""

from __future__ import annotations

import io
import logging
import socket
import sys
import threading
import time
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import cv2
import numpy as np

log = logging.getLogger(__name__)

HOST = "127.0.0.1"
BOUNDARY = "tryonframe"
#: The listen backlog (the kernel caps it at net.core.somaxconn).
LISTEN_BACKLOG = 256
#: Connections served at once; the next ones are answered 503 (and past twice as many, closed).
MAX_CLIENTS = 256
#: A stream socket's send buffer (the kernel doubles it): about one frame in flight for a slow
#: reader, so what it is sent next is the newest frame, not a queue of old ones.
SEND_BUFFER_BYTES = 128 * 1024
#: Seconds a client has to send its whole request head.
REQUEST_TIMEOUT_S = 5.0
#: Seconds a reader may take no bytes at all before it is dropped.
STALL_TIMEOUT_S = 30.0

_DISCONNECTS = (ConnectionError, TimeoutError)

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>tryon mirror</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>html,body{margin:0;height:100%;background:#000}
img{width:100vw;height:100vh;object-fit:contain;display:block}</style></head>
<body><img src="/stream.mjpg" alt="tryon mirror"></body></html>
"""


class FrameHub:
    """The latest frame, its JPEG and multipart chunk (encoded once, lazily, by whichever
    reader asks first), and a condition to wait on for a newer one."""

    def __init__(self, quality: int = 80) -> None:
        self.quality = quality
        self._cond = threading.Condition()
        self._encode_lock = threading.Lock()  # one encoder at a time: the others reuse its work
        self._frame: np.ndarray | None = None
        self._encoded: tuple[bytes, bytes] | None = None  # (jpeg, multipart chunk) of _encoded_seq
        self._encoded_seq = 0
        self.seq = 0
        self.closed = False

    def publish(self, frame_bgr: np.ndarray) -> None:
        with self._cond:
            self._frame = frame_bgr
            self.seq += 1
            self._cond.notify_all()

    def close(self) -> None:
        with self._cond:
            self.closed = True
            self._cond.notify_all()

    def latest(self) -> tuple[tuple[bytes, bytes] | None, int]:
        """((JPEG bytes, multipart chunk) of the newest frame, or None when there is none or it
        could not be encoded; its sequence number, 0 before the first frame)."""
        with self._cond:
            if self._frame is None or self._encoded_seq == self.seq:
                return self._encoded, self.seq
        with self._encode_lock:
            with self._cond:
                if self._encoded_seq == self.seq:  # encoded while this reader waited
                    return self._encoded, self.seq
                frame, seq = self._frame, self.seq
            try:
                ok, buf = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, self.quality])
            except cv2.error:
                ok = False
            encoded = None
            if ok:
                jpeg = buf.tobytes()
                head = f"--{BOUNDARY}\r\nContent-Type: image/jpeg\r\nContent-Length: {len(jpeg)}\r\n\r\n"
                encoded = (jpeg, head.encode() + jpeg + b"\r\n")
            else:
                log.warning("mjpeg: a frame of shape %s could not be encoded", getattr(frame, "shape", None))
            with self._cond:
                if self.seq == seq:
                    self._encoded, self._encoded_seq = encoded, seq
        return encoded, seq

    def jpeg(self) -> tuple[bytes | None, int]:
        """(latest frame as JPEG or None, its sequence number)."""
        encoded, seq = self.latest()
        return (encoded[0] if encoded else None), seq

    def wait_newer(self, seq: int, timeout: float) -> bool:
        """Wait until a frame newer than ``seq`` is published (False on timeout or close)."""
        with self._cond:
            self._cond.wait_for(lambda: self.seq > seq or self.closed, timeout)
            return self.seq > seq and not self.closed


class _HeadReader(io.RawIOBase):
    """A socket's bytes, as long as a deadline allows: a request head trickled in more slowly
    ends in TimeoutError (which ``http.server`` answers by closing the connection)."""

    def __init__(self, sock: socket.socket, deadline: float) -> None:
        self._sock, self._deadline = sock, deadline

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        left = self._deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("the request head did not arrive in time")
        self._sock.settimeout(left)
        return self._sock.recv_into(buffer)


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.0"
    default_request_version = "HTTP/1.0"  # an error reply before the version is read has a status line
    server_version = "tryon-mirror"
    sys_version = ""

    def setup(self) -> None:
        super().setup()
        deadline = time.monotonic() + self.server.request_timeout_s
        self.rfile = io.BufferedReader(_HeadReader(self.connection, deadline))

    def log_message(self, fmt, *args) -> None:  # the mirror's log, not stderr per request
        log.debug("mjpeg %s: " + fmt, self.address_string(), *args)

    def parse_request(self) -> bool:
        words = self.raw_requestline.decode("iso-8859-1").split()
        if len(words) != 3 or not words[2].startswith("HTTP/"):
            # HTTP/0.9 ("GET /") or garbage: http.server would wait for headers that never come
            self.command, self.request_version = None, self.default_request_version
            self.requestline = self.raw_requestline.decode("iso-8859-1").rstrip("\r\n")[:200]
            self.close_connection = True
            self.send_error(HTTPStatus.BAD_REQUEST, "Bad request line: want METHOD PATH HTTP/1.x")
            return False
        if not super().parse_request():
            return False
        self.connection.settimeout(self.server.stall_timeout_s)  # from now on: writes
        return True

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        try:
            self._route(self.path.split("?", 1)[0])
        except _DISCONNECTS as exc:
            log.debug("mjpeg %s: client gone (%s)", self.address_string(), type(exc).__name__)
            self.close_connection = True

    def _route(self, path: str) -> None:
        if self.server.is_overflow(self.request):
            self._send(HTTPStatus.SERVICE_UNAVAILABLE, "text/plain", b"too many viewers now\n")
        elif path in ("/", "/index.html"):
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
        self._write(body)

    def _write(self, data: bytes) -> None:
        """All of ``data``, however slowly the client takes it (TimeoutError when it takes
        nothing for the stall timeout: the socket's timeout holds for each send)."""
        view = memoryview(data)
        while view:
            view = view[self.connection.send(view) :]

    def _stream(self) -> None:
        hub = self.server.hub
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SEND_BUFFER_BYTES)
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", f"multipart/x-mixed-replace; boundary={BOUNDARY}")
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        seq = 0
        while not hub.closed:
            encoded, newest = hub.latest()
            if newest == seq:
                hub.wait_newer(seq, timeout=1.0)
                continue
            seq = newest  # frames published while the last one was being sent are skipped
            if encoded is not None:
                self._write(encoded[1])


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = LISTEN_BACKLOG

    def __init__(self, address, hub: FrameHub, request_timeout_s: float, stall_timeout_s: float, max_clients: int):
        self.hub = hub
        self.request_timeout_s = request_timeout_s
        self.stall_timeout_s = stall_timeout_s
        self.max_clients = max_clients
        self._clients: dict[socket.socket, bool] = {}  # connection -> past max_clients (answered 503)
        self._clients_lock = threading.Lock()
        super().__init__(address, _Handler)

    @property
    def client_count(self) -> int:
        with self._clients_lock:
            return len(self._clients)

    def process_request(self, request, client_address) -> None:
        with self._clients_lock:
            count = len(self._clients)
            refused = count >= 2 * self.max_clients
            if not refused:
                self._clients[request] = count >= self.max_clients
        if refused:
            log.debug("mjpeg %s: %d connections already, closed", client_address[0], count)
            super().shutdown_request(request)
            return
        super().process_request(request, client_address)

    def is_overflow(self, request) -> bool:
        """Whether this connection came past ``max_clients`` (it gets a 503)."""
        with self._clients_lock:
            return self._clients.get(request, False)

    def shutdown_request(self, request) -> None:
        with self._clients_lock:
            self._clients.pop(request, None)
        super().shutdown_request(request)

    def drop_clients(self) -> None:
        """Cut every open connection (their threads then end)."""
        with self._clients_lock:
            clients = list(self._clients)
        for sock in clients:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def handle_error(self, request, client_address) -> None:
        """One log line, never socketserver's traceback on stderr."""
        exc = sys.exc_info()[1]
        if isinstance(exc, _DISCONNECTS):
            log.debug("mjpeg %s: client gone (%s)", client_address[0], type(exc).__name__)
        else:
            log.warning("mjpeg %s: %s: %s", client_address[0], type(exc).__name__, exc)


class MjpegServer:
    """Serve published frames on http://127.0.0.1:PORT/ (port 0: any free port).
    ``close()`` stops it and drops its clients, safe twice; also a context manager.

    request_timeout_s : seconds a client has to send its request head.
    stall_timeout_s : seconds a reader may take nothing before it is dropped.
    max_clients : connections at once; more are answered 503."""

    def __init__(
        self,
        port: int,
        quality: int = 80,
        *,
        request_timeout_s: float = REQUEST_TIMEOUT_S,
        stall_timeout_s: float = STALL_TIMEOUT_S,
        max_clients: int = MAX_CLIENTS,
    ) -> None:
        self.hub = FrameHub(quality)
        self._server = _Server((HOST, port), self.hub, request_timeout_s, stall_timeout_s, max_clients)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.1,), name="tryon-mjpeg", daemon=True
        )
        self._thread.start()
        self._closed = False

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}/"

    @property
    def client_count(self) -> int:
        """Connections open now."""
        return self._server.client_count

    def publish(self, frame_bgr: np.ndarray) -> None:
        self.hub.publish(frame_bgr)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self.hub.close()
        self._server.shutdown()
        self._server.server_close()
        self._server.drop_clients()
        self._thread.join(timeout=2.0)

    def __enter__(self) -> MjpegServer:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
