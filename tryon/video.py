"""Frame sources (video files, image files, image folders, cameras) and video output.

Every source yields ``(frame_bgr, timestamp_ms)``; a still image yields one frame with
timestamp None. A camera that stops delivering is reopened, not fatal: its ``read()``
returns None while it is gone.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np

log = logging.getLogger(__name__)

# FFmpeg prints its own complaints about unreadable files to stderr; ours are clearer.
os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".webp", ".tif", ".tiff"}
VIDEO_SUFFIXES = {".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg"}


class SourceError(ValueError):
    """An input that cannot be opened or read."""


def read_image(path: str | Path) -> np.ndarray:
    path = Path(path)
    if not path.is_file():
        raise SourceError(f"input not found: {path}")
    img = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if img is None:
        raise SourceError(f"cannot read {path} as an image")
    return img


class VideoFile:
    """Frames of a video file with their timestamps (ms from the file's frame rate)."""

    is_still = False

    def __init__(self, path: str | Path, max_frames: int | None = None) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            raise SourceError(f"input not found: {self.path}")
        self._cap = cv2.VideoCapture(str(self.path))
        if not self._cap.isOpened():
            raise SourceError(f"cannot open {self.path} as a video")
        fps = self._cap.get(cv2.CAP_PROP_FPS)
        self.fps = float(fps) if fps and fps > 0 else 30.0
        self.frame_count = int(self._cap.get(cv2.CAP_PROP_FRAME_COUNT))
        ok, first = self._cap.read()
        if not ok or first is None:
            self._cap.release()
            raise SourceError(f"{self.path} has no readable frames")
        self._first = first
        self.size = (first.shape[1], first.shape[0])
        self.max_frames = max_frames

    def __iter__(self) -> Iterator[tuple[np.ndarray, int]]:
        i = 0
        frame = self._first
        while frame is not None and (self.max_frames is None or i < self.max_frames):
            yield frame, round(i * 1000.0 / self.fps)
            i += 1
            ok, frame = self._cap.read()
            if not ok:
                frame = None

    def close(self) -> None:
        self._cap.release()


class ImageFiles:
    """One image, or every image in a folder (sorted by name), as a stream at ``fps``."""

    def __init__(self, path: str | Path, fps: float = 30.0, max_frames: int | None = None) -> None:
        self.path = Path(path)
        if self.path.is_dir():
            self.files = sorted(p for p in self.path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
            if not self.files:
                raise SourceError(f"no images ({', '.join(sorted(IMAGE_SUFFIXES))}) in folder {self.path}")
            self.is_still = False
        else:
            self.files = [self.path]
            self.is_still = True
        first = read_image(self.files[0])
        self.size = (first.shape[1], first.shape[0])
        self.fps = fps
        self.max_frames = max_frames

    def __iter__(self) -> Iterator[tuple[np.ndarray, int | None]]:
        for i, f in enumerate(self.files[: self.max_frames]):
            try:
                img = read_image(f)
            except SourceError as exc:
                log.warning("skipping %s", exc)
                continue
            yield img, (None if self.is_still else round(i * 1000.0 / self.fps))

    def close(self) -> None:
        pass


class Camera:
    """A live camera. ``read()`` returns a frame, or None while the camera is unavailable
    (it is reopened every ``retry_s`` seconds); it never raises."""

    is_still = False

    def __init__(self, index: int = 0, size: tuple[int, int] | None = None, retry_s: float = 1.0) -> None:
        self.index = index
        self.requested_size = size
        self.retry_s = retry_s
        self._cap = None
        self._next_try = 0.0
        self.fps = 30.0
        self.failures = 0
        self._t0 = time.monotonic()
        self._open()
        if self._cap is None:
            raise SourceError(f"cannot open camera {index} (is it connected, and free?)")

    def _open(self) -> None:
        cap = cv2.VideoCapture(self.index)
        if cap is None or not cap.isOpened():
            self._cap = None
            return
        if self.requested_size:
            cap.set(cv2.CAP_PROP_FRAME_WIDTH, self.requested_size[0])
            cap.set(cv2.CAP_PROP_FRAME_HEIGHT, self.requested_size[1])
        fps = cap.get(cv2.CAP_PROP_FPS)
        self.fps = float(fps) if fps and fps > 0 else 30.0
        self._cap = cap

    @property
    def connected(self) -> bool:
        return self._cap is not None

    def read(self) -> np.ndarray | None:
        now = time.monotonic()
        if self._cap is None:
            if now >= self._next_try:
                self._next_try = now + self.retry_s
                self._open()
            if self._cap is None:
                return None
        try:
            ok, frame = self._cap.read()
        except cv2.error as exc:  # a driver error mid-stream
            log.warning("camera %d: %s", self.index, exc)
            ok, frame = False, None
        if not ok or frame is None:
            self.failures += 1
            self._cap.release()
            self._cap = None
            self._next_try = now + self.retry_s
            return None
        return frame

    def timestamp_ms(self) -> int:
        return int((time.monotonic() - self._t0) * 1000)

    def __iter__(self) -> Iterator[tuple[np.ndarray | None, int]]:
        while True:
            yield self.read(), self.timestamp_ms()

    def close(self) -> None:
        if self._cap is not None:
            self._cap.release()
            self._cap = None


def open_source(spec: str | Path, max_frames: int | None = None):
    """A video file, an image, or a folder of images."""
    path = Path(spec)
    if not path.exists():
        raise SourceError(f"input not found: {path}")
    if path.is_dir() or path.suffix.lower() in IMAGE_SUFFIXES:
        return ImageFiles(path, max_frames=max_frames)
    return VideoFile(path, max_frames=max_frames)


def letterbox(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """``image`` scaled to fit ``size`` = (w, h) px, aspect kept, centred on black."""
    w, h = size
    s = min(w / image.shape[1], h / image.shape[0])
    nw, nh = max(1, round(image.shape[1] * s)), max(1, round(image.shape[0] * s))
    out = np.zeros((h, w, 3), np.uint8)
    x, y = (w - nw) // 2, (h - nh) // 2
    out[y : y + nh, x : x + nw] = cv2.resize(image, (nw, nh), interpolation=cv2.INTER_AREA)
    return out


class VideoWriter:
    """MP4 output (``mp4v``), created on the first frame; a later frame of another size is
    fitted into that size (letterboxed) rather than dropped."""

    def __init__(self, path: str | Path, fps: float) -> None:
        self.path = Path(path)
        self.fps = fps
        self._writer = None
        self.frames = 0

    def write(self, frame: np.ndarray) -> None:
        if self._writer is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            h, w = frame.shape[:2]
            self._writer = cv2.VideoWriter(str(self.path), cv2.VideoWriter_fourcc(*"mp4v"), self.fps, (w, h))
            if not self._writer.isOpened():
                raise SourceError(f"cannot write video {self.path}")
            self._size = (w, h)
        if (frame.shape[1], frame.shape[0]) != self._size:
            frame = letterbox(frame, self._size)
        self._writer.write(frame)
        self.frames += 1

    def close(self) -> None:
        if self._writer is not None:
            self._writer.release()
            self._writer = None
