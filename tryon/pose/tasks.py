"""Running MediaPipe Tasks models: the one place that creates them, keeps their native noise
quiet and keeps a stream's timestamps acceptable to them.

Every model of the project (BlazePose in :mod:`tryon.pose.landmarker`, the face mesh in
:mod:`tryon.pose.face`, the hand model in :mod:`tryon.pose.hands`) runs through a
:class:`TaskRunner`.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
from collections.abc import Callable
from typing import Any

import cv2
import numpy as np

from tryon.timing import check_timestamp_ms


@contextlib.contextmanager
def quiet_native_stderr():
    """Silence C++ logging on file descriptor 2 for the duration (MediaPipe's graph start-up
    and first frame print harmless warnings there). ``TRYON_MEDIAPIPE_LOGS=1`` keeps them."""
    if os.environ.get("TRYON_MEDIAPIPE_LOGS") == "1":
        yield
        return
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):
        yield
        return
    try:
        with open(os.devnull, "wb") as devnull:
            os.dup2(devnull.fileno(), 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def mp_image(frame_bgr: np.ndarray):
    """A (H, W, 3) uint8 BGR frame as MediaPipe's SRGB ``mp.Image`` (a copy)."""
    import mediapipe as mp

    return mp.Image(image_format=mp.ImageFormat.SRGB, data=cv2.cvtColor(frame_bgr, cv2.COLOR_BGR2RGB))


class TaskRunner:
    """A MediaPipe Tasks model in both running modes: one instance per mode, created on first
    use (``create(video: bool)``), native start-up noise silenced until the model is warm,
    stream timestamps kept increasing. ``close()`` is idempotent.

    name : how errors name the model ("PoseEstimator is closed").
    warm_when : whether a result shows the model past its first (noisy) run; by default any
        result does (BlazePose's noise lasts until it first finds someone).
    """

    def __init__(
        self, name: str, create: Callable[[bool], Any], warm_when: Callable[[Any], bool] | None = None
    ) -> None:
        self.name = name
        self._create = create
        self._warm_when = warm_when
        self._image = None
        self._video = None
        self._last_ts: int | None = None
        self._lock = threading.Lock()
        self._closed = False
        self._warmed: set = set()

    def _task(self, video: bool):
        with self._lock:
            if self._closed:
                raise RuntimeError(f"{self.name} is closed")
            if video and self._video is None:
                with quiet_native_stderr():
                    self._video = self._create(True)
            if not video and self._image is None:
                with quiet_native_stderr():
                    self._image = self._create(False)
            return self._video if video else self._image

    def run(self, image, timestamp_ms: int | None):
        """``detect`` (``timestamp_ms`` None) or ``detect_for_video`` on an ``mp.Image``.
        ValueError for a timestamp that is not a time (see :func:`tryon.timing.check_timestamp_ms`)."""
        video = timestamp_ms is not None
        task = self._task(video)
        quiet = quiet_native_stderr() if task not in self._warmed else contextlib.nullcontext()
        with quiet:
            if not video:
                result = task.detect(image)
            else:
                ts = check_timestamp_ms(timestamp_ms)  # MediaPipe fails on ones out of range
                if self._last_ts is not None and ts <= self._last_ts:
                    # MediaPipe refuses non-increasing timestamps; a live loop must not die of it.
                    ts = self._last_ts + 1
                result = task.detect_for_video(image, ts)
                self._last_ts = ts  # only once MediaPipe took it
        if self._warm_when is None or self._warm_when(result):
            self._warmed.add(task)
        return result

    def reset_stream(self) -> None:
        """Forget the stream: the next video frame starts a fresh tracker."""
        with self._lock:
            if self._video is not None:
                self._warmed.discard(self._video)
                self._video.close()
                self._video = None
            self._last_ts = None

    def close(self) -> None:
        with self._lock:
            for task in (self._image, self._video):
                if task is not None:
                    task.close()
            self._image = self._video = None
            self._warmed.clear()
            self._closed = True
