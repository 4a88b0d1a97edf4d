"""The mirror's MJPEG server under load and with careless clients: a real server on 127.0.0.1,
real sockets, frames published by a thread as the mirror publishes them. Every wait is bounded.

The frames carry their sequence number in three flat grey blocks (base 16), so a reader can
tell which frame it got and how far behind it is."""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
import time

import cv2
import numpy as np
import pytest

from tryon.mirror.stream import BOUNDARY, MjpegServer

W, H = 320, 240
FPS = 15.0


def numbered_frame(seq: int, noise: np.ndarray) -> np.ndarray:
    frame = noise.copy()
    for k in range(3):
        frame[:32, 32 * k : 32 * (k + 1)] = ((seq >> (4 * (2 - k))) & 15) * 16 + 8
    return frame


def frame_number(jpeg: bytes) -> int:
    img = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_GRAYSCALE)
    assert img is not None and img.shape == (H, W)
    digits = [int(round((float(np.median(img[8:24, 32 * k + 8 : 32 * k + 24])) - 8) / 16)) for k in range(3)]
    return (digits[0] << 8) | (digits[1] << 4) | digits[2]


@contextlib.contextmanager
def serving(fps: float = FPS, **options):
    """(server, published) with a thread publishing numbered noisy frames at ``fps``;
    ``published()`` is the number of the last frame published."""
    server = MjpegServer(0, **options)
    noise = np.random.default_rng(0).integers(0, 256, (H, W, 3), np.uint8)  # about 50 KB a JPEG
    count = [0]
    stop = threading.Event()

    def publish():
        while not stop.is_set():
            count[0] += 1
            server.publish(numbered_frame(count[0], noise))
            stop.wait(1.0 / fps)

    thread = threading.Thread(target=publish, daemon=True)
    thread.start()
    try:
        yield server, lambda: count[0]
    finally:
        stop.set()
        thread.join(5)
        server.close()


def connect(port: int, rcvbuf: int | None = None, timeout: float = 20.0) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if rcvbuf is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    sock.settimeout(timeout)
    sock.connect(("127.0.0.1", port))
    return sock


class MjpegReader:
    """Parts of /stream.mjpg read off one socket."""

    def __init__(self, port: int, rcvbuf: int | None = None, timeout: float = 20.0) -> None:
        self.sock = connect(port, rcvbuf, timeout)
        self.sock.sendall(b"GET /stream.mjpg HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        self.file = self.sock.makefile("rb")
        status = self.file.readline()
        assert status.startswith(b"HTTP/1.0 200"), status
        while self.file.readline() not in (b"\r\n", b""):
            pass

    def next_jpeg(self, resync: bool = False) -> bytes:
        """The next part's JPEG; ``resync``: skip to the next part boundary first (after bytes
        were taken off the socket directly)."""
        boundary = f"--{BOUNDARY}\r\n".encode()
        if resync:
            self.file = self.sock.makefile("rb")
            for _ in range(100_000):
                if self.file.readline() == boundary:
                    break
        else:
            assert self.file.readline() == boundary
        length = None
        while (line := self.file.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode().partition(":")
            if name.lower() == "content-length":
                length = int(value)
        assert length is not None
        data = self._read(length)
        assert self._read(2) == b"\r\n"
        return data

    def _read(self, n: int) -> bytes:
        chunks, left = [], n
        while left:
            chunk = self.file.read(left)
            assert chunk, "the server closed the stream"
            chunks.append(chunk)
            left -= len(chunk)
        return b"".join(chunks)

    def close(self) -> None:
        self.file.close()
        self.sock.close()


def exchange(port: int, request: bytes, timeout: float = 10.0) -> tuple[bytes, float]:
    """(what the server sent until it closed, seconds it took); at most ``timeout`` seconds
    and 1 MB (a server that keeps the connection open fails the caller's assertions)."""
    sock = connect(port, timeout=timeout)
    t0 = time.monotonic()
    with contextlib.suppress(OSError):
        sock.sendall(request)
    got = b""
    with contextlib.suppress(ConnectionResetError, TimeoutError):
        while len(got) < 1_000_000 and (left := timeout - (time.monotonic() - t0)) > 0:
            sock.settimeout(left)
            if not (chunk := sock.recv(65536)):
                break
            got += chunk
    sock.close()
    return got, time.monotonic() - t0


# -- bad requests ------------------------------------------------------------------------------
BAD_REQUESTS = {
    "no version": (b"GET /\r\n", b"HTTP/1.0 400"),
    "no version, stream": (b"GET /stream.mjpg\r\n\r\n", b"HTTP/1.0 400"),
    "garbage": (b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03 hello\r\n\r\n", b"HTTP/1.0 400"),
    "four words": (b"GET / HTTP/1.1 extra\r\n\r\n", b"HTTP/1.0 400"),
    "bad version": (b"GET / HTTP/x.y\r\n\r\n", b"HTTP/1.0 400"),
    "HTTP/2": (b"GET / HTTP/2.0\r\n\r\n", b"HTTP/1.0 505"),
    "huge request line": (b"GET /" + b"a" * 70_000 + b" HTTP/1.1\r\n\r\n", b"HTTP/1.0 414"),
    "huge header": (b"GET / HTTP/1.1\r\nX-Big: " + b"b" * 70_000 + b"\r\n\r\n", b"HTTP/1.0 431"),
    "too many headers": (b"GET / HTTP/1.1\r\n" + b"X-A: 1\r\n" * 120 + b"\r\n", b"HTTP/1.0 431"),
    "POST": (b"POST / HTTP/1.1\r\nContent-Length: 0\r\n\r\n", b"HTTP/1.0 501"),
}


@pytest.mark.parametrize("name", BAD_REQUESTS)
def test_bad_requests_are_answered_at_once(name):
    request, status = BAD_REQUESTS[name]
    with serving(fps=5) as (server, _):
        reply, seconds = exchange(server.port, request)
        assert reply.startswith(status), reply[:80]
        assert seconds < 2.0
        ok, _ = exchange(server.port, b"GET / HTTP/1.1\r\n\r\n")  # the server goes on
        assert ok.startswith(b"HTTP/1.0 200") and b"stream.mjpg" in ok


def test_requests_that_never_finish_are_closed_after_the_request_timeout():
    with serving(fps=5, request_timeout_s=1.0) as (server, _):
        # a request line without its end, and a head trickled in a byte at a time (slowloris)
        reply, seconds = exchange(server.port, b"GET /")
        assert reply == b"" and 0.8 < seconds < 4.0
        sock = connect(server.port, timeout=10)
        t0 = time.monotonic()
        sock.sendall(b"GET / HTTP/1.1\r\n")
        closed = False
        with contextlib.suppress(OSError):
            for _ in range(40):
                sock.sendall(b"X")
                time.sleep(0.2)
                sock.setblocking(False)
                with contextlib.suppress(BlockingIOError):
                    if sock.recv(100) == b"":
                        closed = True
                        break
                sock.setblocking(True)
        seconds = time.monotonic() - t0
        sock.close()
        assert (closed or seconds < 8.0) and 0.8 < seconds < 4.0, (closed, seconds)
        ok, _ = exchange(server.port, b"GET /snapshot.jpg HTTP/1.1\r\n\r\n")
        assert ok.startswith(b"HTTP/1.0 200") and b"image/jpeg" in ok


def test_more_clients_than_allowed_get_503_and_the_rest_are_served():
    with serving(fps=10, max_clients=3) as (server, _):
        readers = [MjpegReader(server.port) for _ in range(3)]
        try:
            for r in readers:
                r.next_jpeg()
            reply, seconds = exchange(server.port, b"GET / HTTP/1.1\r\n\r\n")
            assert reply.startswith(b"HTTP/1.0 503") and b"too many" in reply and seconds < 2.0
            assert all(frame_number(r.next_jpeg()) > 0 for r in readers)
            # past twice the limit (three more that say nothing yet) a connection is closed at once
            idle = [connect(server.port) for _ in range(3)]
            time.sleep(0.3)
            reply, seconds = exchange(server.port, b"GET / HTTP/1.1\r\n\r\n")
            assert reply == b"" and seconds < 2.0
            for sock in idle:
                sock.close()
            assert all(frame_number(r.next_jpeg()) > 0 for r in readers)
        finally:
            for r in readers:
                r.close()


# -- clients going away -------------------------------------------------------------------------
def test_client_disconnects_are_one_log_line_and_no_traceback(capfd, caplog):
    caplog.set_level(logging.DEBUG, logger="tryon.mirror.stream")
    with serving(fps=30) as (server, _):
        for k in range(12):
            path = ("/stream.mjpg", "/snapshot.jpg", "/")[k % 3]
            sock = connect(server.port)
            sock.sendall(f"GET {path} HTTP/1.1\r\n\r\n".encode())
            if k % 2:
                sock.recv(10)
            # a reset, not a polite close: the server's next write fails
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
            sock.close()
        for _ in range(4):  # connected, then gone without a word
            connect(server.port).close()
        deadline = time.monotonic() + 10
        while server.client_count and time.monotonic() < deadline:
            time.sleep(0.05)
        assert server.client_count == 0
        reader = MjpegReader(server.port)  # still serving
        assert frame_number(reader.next_jpeg()) > 0
        reader.close()
    err = capfd.readouterr().err
    assert "Traceback" not in err and "BrokenPipe" not in err and "ConnectionReset" not in err, err
    assert all(r.exc_info is None and r.levelno < logging.WARNING for r in caplog.records), [
        r.getMessage() for r in caplog.records
    ]
    assert any("client gone" in r.getMessage() for r in caplog.records)


# -- load ----------------------------------------------------------------------------------------
@pytest.mark.slow
def test_a_hundred_concurrent_readers_all_get_frames(monkeypatch):
    n, frames_each = 100, 3
    got = [0] * n
    failures: list[str] = []
    encodes = [0]
    imencode = cv2.imencode

    def counted_imencode(*args, **kwargs):
        encodes[0] += 1
        return imencode(*args, **kwargs)

    monkeypatch.setattr(cv2, "imencode", counted_imencode)
    with serving() as (server, published):
        start = threading.Barrier(n)

        def read(k: int) -> None:
            try:
                start.wait(10)
                reader = MjpegReader(server.port, timeout=30)
                seen = {frame_number(reader.next_jpeg()) for _ in range(frames_each)}
                got[k] = len(seen)
                reader.close()
            except Exception as exc:  # noqa: BLE001 (recorded and asserted below)
                failures.append(f"{k}: {exc!r}")

        threads = [threading.Thread(target=read, args=(k,), daemon=True) for k in range(n)]
        t0 = time.monotonic()
        for t in threads:
            t.start()
        for t in threads:
            t.join(max(0.1, 60 - (time.monotonic() - t0)))
        assert not failures, failures[:5]
        assert got == [frames_each] * n  # each read three different frames
        assert 0 < encodes[0] <= published()  # each frame encoded once, not once per reader


@pytest.mark.slow
def test_fifty_slow_readers_are_held_and_a_fast_reader_keeps_its_rate():
    with serving() as (server, published):
        slow = [MjpegReader(server.port, rcvbuf=4096, timeout=30) for _ in range(50)]
        try:
            stop = threading.Event()
            slow_bytes = [0] * len(slow)

            def trickle() -> None:  # each slow reader takes 512 bytes every 0.2 s (2.5 KB/s)
                while not stop.is_set():
                    for k, r in enumerate(slow):
                        slow_bytes[k] += len(r.sock.recv(512))
                    stop.wait(0.2)

            trickler = threading.Thread(target=trickle, daemon=True)
            trickler.start()
            time.sleep(2.0)
            fast = MjpegReader(server.port)
            t0, first = time.monotonic(), published()
            numbers = []
            while time.monotonic() - t0 < 4.0:
                numbers.append(frame_number(fast.next_jpeg()))
            n_published = published() - first
            fast.close()
            stop.set()
            trickler.join(10)
            assert not trickler.is_alive()
            # the fast reader sees most frames, in order, while fifty readers lag
            assert numbers == sorted(numbers) and len(set(numbers)) >= 0.5 * n_published, (len(numbers), n_published)
            assert min(slow_bytes) > 0
            # ... and none of the fifty was reset or closed: each still receives
            assert all(len(r.sock.recv(512)) > 0 for r in slow)
            # the slow readers were held, and what one is sent once it reads again is a recent frame
            # (frames were dropped for it, not queued)
            lags = [published() - frame_number(slow[0].next_jpeg(resync=k == 0)) for k in range(6)]
            assert lags[-1] <= 8, lags
        finally:
            for r in slow:
                with contextlib.suppress(OSError):
                    r.close()
