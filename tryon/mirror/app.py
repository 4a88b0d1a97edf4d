"""The mirror app: a camera, the engine, touch-free buttons, size advice, snapshots.

One loop on the main thread: the engine's pipelined stream (``TryOnEngine.process_stream``,
the pose model one frame ahead on its own thread) yields composited, mirrored frames; each is
decorated with the interface and shown in a window and/or published to the MJPEG server.
The app never ends on its own: a camera that goes away shows "Camera unavailable,
retrying..." until it is back, and a frame that fails is logged and skipped.

Uses the engine's public API only (``process_stream``, ``set_items``; results' ``image``,
``pose``, ``timings_ms``, ``timestamp_ms``).

Over 600 lines: the loop, the camera's retries, the dwell presses, the slots and the
snapshots share the app's state; the drawing is in ``draw.py``/``ui.py``, the server in
``stream.py``.
"""

from __future__ import annotations

import contextlib
import datetime
import json
import logging
import os
import signal
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from tryon.mirror import draw
from tryon.mirror.ui import (
    KEY_ACTIONS,
    KEY_HELP,
    SLOTS,
    DwellOptions,
    DwellTracker,
    FpsMeter,
    Outfit,
    PresenceTimer,
    action_for_key,
    hands_in_display,
    key_name,
    layout_buttons,
    layout_geometry,
)
from tryon.sizing import SizeAdvice, SizeChart, SizeEstimator
from tryon.video import Camera, SourceError, open_source

log = logging.getLogger(__name__)

UNAVAILABLE = "Camera unavailable, retrying..."
#: Slots whose items come in sizes (the size card shows these).
SIZED_SLOTS = ("top", "bottom")


# -- frame sources ---------------------------------------------------------------------------------
class CameraFeed:
    """A live camera that may come and go: ``read()`` gives (frame, timestamp_ms), the frame
    None while the camera is unavailable (it is reopened every ``retry_s``). A camera that
    cannot be opened at all is retried the same way; bad frames count as unavailable."""

    def __init__(
        self, index: int, size: tuple[int, int] | None = None, retry_s: float = 1.0, factory: Callable = Camera
    ) -> None:
        self.index = index
        self.size = size
        self.retry_s = retry_s
        self.factory = factory
        self.fps = 30.0
        self.label = f"camera {index}"
        self._cam = None
        self._next_try = 0.0
        self._t0 = time.monotonic()

    def _ensure_open(self) -> None:
        now = time.monotonic()
        if self._cam is not None or now < self._next_try:
            return
        self._next_try = now + self.retry_s
        level = cv2.getLogLevel()
        cv2.setLogLevel(1)  # OpenCV's own complaint on every retry; ours is one clear line
        try:
            self._cam = self.factory(self.index, self.size, self.retry_s)
            self.fps = float(getattr(self._cam, "fps", 30.0) or 30.0)
        except (SourceError, OSError, cv2.error) as exc:
            log.debug("camera %d: %s", self.index, exc)
            self._cam = None
        finally:
            cv2.setLogLevel(level)

    def read(self) -> tuple[np.ndarray | None, int]:
        ts = int((time.monotonic() - self._t0) * 1000)
        self._ensure_open()
        if self._cam is None:
            return None, ts
        frame = self._cam.read()
        if not _good_frame(frame):
            return None, ts
        return frame, ts

    def close(self) -> None:
        if self._cam is not None:
            self._cam.close()
            self._cam = None


def _good_frame(frame) -> bool:
    return isinstance(frame, np.ndarray) and frame.ndim in (2, 3) and frame.size > 0 and frame.shape[0] > 8


class LoopingFeed:
    """A video file (or an image, or a folder of images) played like a camera: looping
    forever, paced to its frame rate (``pace``), optionally resized to ``size``.
    SourceError from the constructor for an input that cannot be read."""

    def __init__(self, path: str | Path, size: tuple[int, int] | None = None, pace: bool = True) -> None:
        self.path = Path(path)
        self.size = size
        self.pace = pace
        source = open_source(self.path)  # raises SourceError with one clear line
        self.fps = float(getattr(source, "fps", 30.0) or 30.0)
        self.label = str(self.path)
        self._still = None
        if getattr(source, "is_still", False):
            frame, _ = next(iter(source))
            self._still = frame
            source.close()
            source = None
        self._source = source
        self._iter = iter(source) if source is not None else None
        self.frame_index = -1  # index of the last frame read within the file
        self._n = 0
        self._t0: float | None = None

    def _next_frame(self) -> np.ndarray:
        if self._still is not None:
            self.frame_index = 0
            return self._still
        for _ in range(2):
            try:
                frame, _ = next(self._iter)
                self.frame_index += 1
                return frame
            except StopIteration:
                if self._source is not None:
                    self._source.close()
                self._source = None
                self._source = open_source(self.path)
                self._iter = iter(self._source)
                self.frame_index = -1
        raise SourceError(f"{self.path} has no readable frames")

    def read(self) -> tuple[np.ndarray | None, int]:
        try:
            frame = self._next_frame()
        except (SourceError, OSError, cv2.error) as exc:  # the file went away or went bad
            log.warning("%s: %s", self.path, exc)
            time.sleep(0.05)
            return None, round(self._n * 1000.0 / self.fps)
        if self.size is not None and (frame.shape[1], frame.shape[0]) != tuple(self.size):
            frame = cv2.resize(frame, tuple(self.size), interpolation=cv2.INTER_AREA)
        ts = round(self._n * 1000.0 / self.fps)
        if self.pace:
            now = time.monotonic()
            if self._t0 is None:
                self._t0 = now
            wait = self._t0 + ts / 1000.0 - now
            if wait > 0:
                time.sleep(wait)
            elif wait < -0.5:  # far behind (slow machine): do not try to catch up
                self._t0 = now - ts / 1000.0
        self._n += 1
        return frame, ts

    def close(self) -> None:
        if self._source is not None:
            self._source.close()


# -- display ---------------------------------------------------------------------------------------
class Window:
    """An OpenCV window (needs a display). ``poll_key`` returns a waitKeyEx code or -1."""

    def __init__(self, title: str = "tryon mirror", fullscreen: bool = False) -> None:
        self.title = title
        self.fullscreen = fullscreen
        cv2.namedWindow(title, cv2.WINDOW_NORMAL | cv2.WINDOW_KEEPRATIO | cv2.WINDOW_GUI_NORMAL)
        self._size: tuple[int, int] | None = None

    def show(self, image: np.ndarray) -> None:
        size = (image.shape[1], image.shape[0])
        if size != self._size:
            self._size = size
            if not self.fullscreen:
                cv2.resizeWindow(self.title, *size)
            self._apply_fullscreen()
        cv2.imshow(self.title, image)

    def _apply_fullscreen(self) -> None:
        mode = cv2.WINDOW_FULLSCREEN if self.fullscreen else cv2.WINDOW_NORMAL
        cv2.setWindowProperty(self.title, cv2.WND_PROP_FULLSCREEN, mode)

    def toggle_fullscreen(self) -> None:
        self.fullscreen = not self.fullscreen
        self._apply_fullscreen()
        if not self.fullscreen and self._size:
            cv2.resizeWindow(self.title, *self._size)

    def poll_key(self) -> int:
        return cv2.waitKeyEx(1)

    def closed(self) -> bool:
        try:
            return cv2.getWindowProperty(self.title, cv2.WND_PROP_VISIBLE) < 1
        except cv2.error:
            return True

    def close(self) -> None:
        with contextlib.suppress(cv2.error):
            cv2.destroyWindow(self.title)
            cv2.waitKey(1)


# -- the app ---------------------------------------------------------------------------------------
@dataclass
class MirrorConfig:
    """How the mirror behaves (the ``tryon mirror`` options).

    snapshots : folder for photos (created when the first is saved). save_raw : also save the
    raw camera frame beside each photo (off: photos are the composited, mirrored image only).
    snapshot_delay_s : the countdown before a photo. max_frames : stop after this many shown
    frames (tests). script : {frame number: [key names]} pressed at those frames (tests, demos).
    screenshot : save the last shown frame (with the interface) there on exit.
    """

    snapshots: Path = field(default_factory=lambda: Path.home() / "Pictures" / "tryon")
    save_raw: bool = False
    dwell: DwellOptions = field(default_factory=DwellOptions)
    idle_after_s: float = 1.5
    reset_after_s: float = 10.0
    snapshot_delay_s: float = 3.0
    toast_s: float = 2.0
    hint_s: float = 6.0
    advice_every_s: float = 0.5
    overlay: bool = False
    max_frames: int | None = None
    script: dict[int, list[str]] = field(default_factory=dict)
    screenshot: Path | None = None
    unavailable_size: tuple[int, int] = (1280, 720)


@dataclass
class _Toast:
    message: str
    until: float
    color: tuple = draw.GOOD


class MirrorApp:
    """The kiosk loop. ``engine`` is a :class:`~tryon.TryOnEngine` made with
    ``EngineOptions(mirror=True)`` (or anything with its ``process_stream`` / ``set_items``);
    ``feed`` a :class:`CameraFeed` or :class:`LoopingFeed`; ``window`` a :class:`Window` or
    None (headless); ``server`` an :class:`~tryon.mirror.stream.MjpegServer` or None;
    ``charts`` item id -> its size chart (None: no sizes); ``undistort`` frame -> frame."""

    def __init__(
        self,
        engine,
        feed,
        outfit: Outfit,
        config: MirrorConfig | None = None,
        window: Window | None = None,
        server=None,
        sizer: SizeEstimator | None = None,
        charts: dict[str, SizeChart | None] | None = None,
        undistort: Callable[[np.ndarray], np.ndarray] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.engine = engine
        self.feed = feed
        self.outfit = outfit
        self.config = config or MirrorConfig()
        self.window = window
        self.server = server
        self.sizer = sizer or SizeEstimator()
        self.charts = charts or {}
        self.undistort = undistort
        self.clock = clock
        self.dwell = DwellTracker(self.config.dwell)
        self.presence = PresenceTimer(self.config.idle_after_s, self.config.reset_after_s)
        self.fps = FpsMeter()
        self.frames = 0
        self.snapshots: list[Path] = []
        self.last_display: np.ndarray | None = None
        self._backdrop: np.ndarray | None = None  # the last camera frame shown, behind messages
        self.last_result = None
        self.overlay = self.config.overlay
        self.help = False
        self.stopped = threading.Event()
        self._restart = False
        self._raw: deque = deque(maxlen=8)  # (timestamp_ms, raw frame) for --save-raw
        self._buttons = []
        self._hands = []
        self._idle = True
        self._toast: _Toast | None = None
        self._photo_at: float | None = None
        self._flash_until = 0.0
        self._hint_until = 0.0
        self._advice: dict[str, SizeAdvice] = {}
        self._advice_at = -1e9
        self._outage_logged = False
        self._errors = 0
        self._last_error_log = -1e9
        self._t_start = clock()

    # -- the loop ----------------------------------------------------------------------------------
    def stop(self) -> None:
        self.stopped.set()

    def run(self) -> int:
        """Run until quit (key, window closed, signal, ``max_frames``). Returns the exit code (0)."""
        restore = self._install_signals()
        try:
            self.engine.set_items(self.outfit.specs())
            while not self.stopped.is_set():
                frame, ts = self.feed.read()
                if frame is None:
                    self._show_unavailable()
                    continue
                self._outage_logged = False
                self._run_stream(self._prepare(frame, ts))
        finally:
            restore()
            self._finish()
        return 0

    def _install_signals(self) -> Callable[[], None]:
        if threading.current_thread() is not threading.main_thread():
            return lambda: None
        old = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
        for s in old:
            signal.signal(s, lambda *_: self.stop())

        def restore() -> None:
            for s, h in old.items():
                signal.signal(s, h)

        return restore

    def _prepare(self, frame: np.ndarray, ts: int) -> tuple[np.ndarray, int]:
        if self.config.save_raw:
            self._raw.append((ts, frame))
        if self.undistort is not None:
            frame = self.undistort(frame)
        return frame, ts

    def _frames(self, first: tuple[np.ndarray, int]) -> Iterator[tuple[np.ndarray, int]]:
        """The engine's input (read on its pose thread): frames until the camera goes away,
        the app stops, or a restart is asked for."""
        yield first
        while not self.stopped.is_set() and not self._restart:
            frame, ts = self.feed.read()
            if frame is None:
                return
            yield self._prepare(frame, ts)

    def _run_stream(self, first: tuple[np.ndarray, int]) -> None:
        self._restart = False
        try:
            with contextlib.closing(self.engine.process_stream(self._frames(first), fps=self.feed.fps)) as stream:
                for result in stream:
                    self._on_result(result)
                    if self.stopped.is_set() or self._restart:
                        break
        except Exception:  # one frame's failure must not close the mirror
            self._log_error("frame processing failed; going on with the next frames")
            time.sleep(0.05)

    def _log_error(self, message: str) -> None:
        self._errors += 1
        now = self.clock()
        if now - self._last_error_log > 5.0:
            self._last_error_log = now
            log.exception("%s (%d so far)", message, self._errors)

    # -- one frame ---------------------------------------------------------------------------------
    def _on_result(self, result) -> None:
        now = self.clock()
        self.last_result = result
        self.fps.tick(now)
        try:
            self._interact(result, now)
            image = self.compose(result, now)
        except Exception:
            self._log_error("drawing the interface failed")
            image = result.image
        self._backdrop = image
        self._present(image)

    def _interact(self, result, now: float) -> None:
        pose = result.pose
        state = self.presence.update(pose is not None, now)
        if state.reset_due:
            self.reset_session()
        if state.arrived:
            self._hint_until = now + self.config.hint_s
        self._idle = state.idle
        self.sizer.update(pose)
        h, w = result.image.shape[:2]
        self._hands = hands_in_display(pose, (w, h), mirrored=True) if pose is not None else []
        self._buttons = layout_buttons(w, h, self.outfit)
        if not self._idle:
            for bid in self.dwell.update(self._buttons, self._hands, now):
                self.perform(bid)
            self._buttons = layout_buttons(w, h, self.outfit)
        if self._photo_at is not None and now >= self._photo_at:
            self._photo_at = None
            self.snapshot(result)
        if now - self._advice_at >= self.config.advice_every_s:
            self._advice_at = now
            self._advice = self.size_advice()

    def _present(self, image: np.ndarray) -> None:
        self.last_display = image
        if self.server is not None:
            self.server.publish(image)
        if self.window is not None:
            self.window.show(image)
            code = self.window.poll_key()
            name = key_name(code)
            if name is not None:
                self.on_key(name)
            if self.window.closed():
                self.stop()
        for name in self.config.script.get(self.frames, ()):
            self.on_key(name)
        self.frames += 1
        if self.config.max_frames is not None and self.frames >= self.config.max_frames:
            self.stop()

    def _show_unavailable(self) -> None:
        if not self._outage_logged:
            self._outage_logged = True
            log.warning("%s (%s)", UNAVAILABLE, getattr(self.feed, "label", "camera"))
        now = self.clock()
        if self._backdrop is not None:
            image = self._backdrop.copy()
        else:
            w, h = self.config.unavailable_size
            image = np.full((h, w, 3), 24, np.uint8)
        draw.draw_unavailable(image, now - self._t_start, getattr(self.feed, "label", ""))
        if self.overlay or self.help:
            self._draw_overlays(image, None, now)
        self._present(image)
        time.sleep(0.05)

    # -- actions -----------------------------------------------------------------------------------
    def on_key(self, name: str) -> None:
        action = action_for_key(name, KEY_ACTIONS)
        if action is not None:
            self.perform(action)

    def perform(self, action: str) -> None:
        """Do what a button or key asks: next/prev/colour/toggle/photo/slot:<name>/
        slot-next/slot-prev/overlay/help/fullscreen/reset/quit."""
        o = self.outfit
        changed = False
        if action == "quit":
            self.stop()
        elif action == "photo":
            self.request_photo()
        elif action in ("next", "prev"):
            changed = o.step_item(+1 if action == "next" else -1) is not None
        elif action == "colour":
            changed = o.has_variants() and o.next_variant() is not None
        elif action == "toggle":
            o.toggle_slot()
            changed = True
        elif action.startswith("slot:"):
            o.select_slot(action[5:])
        elif action in ("slot-next", "slot-prev"):
            o.cycle_slot(+1 if action == "slot-next" else -1)
        elif action == "overlay":
            self.overlay = not self.overlay
        elif action == "help":
            self.help = not self.help
        elif action == "fullscreen" and self.window is not None:
            self.window.toggle_fullscreen()
        elif action == "reset":
            self.reset_session()
        if changed:
            self.apply_outfit()

    def apply_outfit(self) -> None:
        """Give the engine the outfit's items; an item that fails to load is taken off."""
        try:
            self.engine.set_items(self.outfit.specs())
        except Exception as exc:  # a broken item: say so, wear the rest
            log.warning("cannot wear %s: %s", self.outfit.specs(), exc)
            self.outfit.worn.pop(self.outfit.active, None)
            self._toast = _Toast("Item unavailable", self.clock() + self.config.toast_s, draw.WARN)
            with contextlib.suppress(Exception):
                self.engine.set_items(self.outfit.specs())
        self._advice_at = -1e9

    def reset_session(self) -> None:
        """The shopper left: default outfit, forget measurements and dwell, restart tracking."""
        self.outfit.reset()
        self.apply_outfit()
        self.sizer.reset()
        self.dwell.reset()
        self._photo_at = None
        self._advice = {}
        self._restart = True

    def request_photo(self) -> None:
        delay = self.config.snapshot_delay_s
        if delay <= 0:
            if self.last_result is not None:
                self.snapshot(self.last_result)
        elif self._photo_at is None:
            self._photo_at = self.clock() + delay

    def snapshot(self, result) -> Path | None:
        """Save the composited, mirrored frame (the raw camera frame beside it only with
        ``save_raw``). Shows "Saved" (or why not); never raises."""
        stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S-%f")[:-3]
        folder = Path(self.config.snapshots).expanduser()
        path = folder / f"tryon-{stamp}.jpg"
        try:
            folder.mkdir(parents=True, exist_ok=True)
            _write_jpeg(path, result.image)
            if self.config.save_raw:
                raw = next((f for ts, f in reversed(self._raw) if ts == result.timestamp_ms), None)
                if raw is not None:
                    _write_jpeg(folder / f"tryon-{stamp}-raw.jpg", raw)
        except (OSError, cv2.error) as exc:
            log.warning("cannot save the photo to %s: %s", folder, exc)
            self._toast = _Toast("Could not save the photo", self.clock() + self.config.toast_s, draw.WARN)
            return None
        self.snapshots.append(path)
        print(f"snapshot saved: {path}", flush=True)
        now = self.clock()
        self._toast = _Toast("Saved", now + self.config.toast_s)
        self._flash_until = now + 0.15
        return path

    # -- size advice -------------------------------------------------------------------------------
    def size_advice(self) -> dict[str, SizeAdvice]:
        """Advice for each worn item that comes in sizes, by slot."""
        out = {}
        for slot in SIZED_SLOTS:
            choice = self.outfit.worn.get(slot)
            chart = self.charts.get(choice.item_id) if choice else None
            if chart is not None:
                out[slot] = self.sizer.advise(chart)
        return out

    def _card_rows(self) -> tuple[list[tuple[str, str, float, bool]], str]:
        rows, notes = [], []
        for slot, advice in self._advice.items():
            rows.append((slot.capitalize(), advice.headline, advice.confidence, advice.unsure))
            if advice.message:
                notes.append(advice.message)
        note = notes[0] if notes else ""
        if rows and not note and not any(a.calibrated for a in self._advice.values()):
            note = "Camera estimate: try it on to be sure"
        return rows, note

    # -- drawing -----------------------------------------------------------------------------------
    def compose(self, result, now: float) -> np.ndarray:
        """The displayed frame: the engine's image with the interface drawn on a copy."""
        image = result.image.copy()
        h, w = image.shape[:2]
        lay = layout_geometry(w, h)
        if self._idle:
            draw.draw_idle(image, now - self._t_start)
        else:
            for b in self._buttons:
                draw.draw_button(image, b, self.dwell.progress(b.id), self.dwell.hovered(b.id, now))
            for hand in self._hands:
                under = next((b for b in self._buttons if b.enabled and b.contains(hand.x, hand.y)), None)
                draw.draw_hand(image, hand, self.dwell.progress(under.id) if under else 0.0)
            rows, note = self._card_rows()
            draw.draw_size_card(image, lay.card, rows, note)
            if now < self._hint_until:
                draw.draw_hint(image, "Hold a hand over a button for a second", lay)
        if self._photo_at is not None:
            draw.draw_countdown(image, self._photo_at - now)
        if now < self._flash_until:
            cv2.addWeighted(image, 0.4, np.full_like(image, 255), 0.6, 0, dst=image)
        if self._toast is not None:
            if now < self._toast.until:
                draw.draw_toast(image, self._toast.message, color=self._toast.color)
            else:
                self._toast = None
        self._draw_overlays(image, result, now)
        return image

    def _draw_overlays(self, image: np.ndarray, result, now: float) -> None:
        h, w = image.shape[:2]
        lay = layout_geometry(w, h)
        size = max(10, int(min(w, h) * 0.024))
        x = lay.margin * 2 + lay.column_w
        stats_w, stats_h = 0, 0
        if self.overlay:
            lines = [f"{self.fps.fps:5.1f} fps   frame {self.frames}"]
            if result is not None and result.timings_ms:
                t = result.timings_ms
                lines.append(f"total {t.get('total', 0):.1f} ms")
                stages = [(k, v) for k, v in t.items() if k != "total" and v >= 0.05]
                for i in range(0, len(stages), 3):
                    lines.append("  ".join(f"{k} {v:.1f}" for k, v in stages[i : i + 3]))
            lines.append("items: " + (", ".join(self.outfit.specs()) or "none"))
            shopper = self.sizer.shopper()
            known = {k: shopper.values_cm[k] for k in ("height", "chest", "hips") if k in shopper.values_cm}
            if known:
                tag = "calibrated" if shopper.calibrated else "uncalibrated"
                lines.append(", ".join(f"{k} {v:.0f}" for k, v in known.items()) + f" cm ({tag})")
            stats_w, stats_h = draw.draw_panel_lines(image, lines, x, lay.top, size)
        if self.help:
            lines = ["Keys"] + [f"{k}: {v}" for k, v in KEY_HELP]
            help_w, help_h = draw.panel_lines_size(lines, size)
            hx, hy = x, lay.top + (stats_h + lay.margin if stats_h else 0)
            if stats_h and hy + help_h > h - lay.margin:  # no room below the stats: beside them
                hx, hy = x + stats_w + lay.margin, lay.top
            draw.draw_panel_lines(image, lines, hx, hy, size)

    # -- the end -----------------------------------------------------------------------------------
    def _finish(self) -> None:
        if self.config.screenshot is not None and self.last_display is not None:
            path = Path(self.config.screenshot)
            path.parent.mkdir(parents=True, exist_ok=True)
            cv2.imwrite(str(path), self.last_display)
        for closer in (self.window, self.server, self.feed):
            if closer is not None:
                with contextlib.suppress(Exception):
                    closer.close()
        elapsed = max(1e-6, self.clock() - self._t_start)
        print(f"mirror: {self.frames} frames in {elapsed:.1f} s ({self.frames / elapsed:.1f} fps)", flush=True)


def _write_jpeg(path: Path, image: np.ndarray, quality: int = 92) -> None:
    """Write atomically: a photo is either whole or absent."""
    ok, buf = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise OSError(f"cannot encode {path.name}")
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(buf.tobytes())
    os.replace(tmp, path)


def load_script(path: str | Path) -> dict[int, list[str]]:
    """Scripted key presses: a JSON list of {"frame": N, "key": "s"} -> {N: ["s"]}. Key
    names as the key help writes them, in any case ("Right", "esc", "S"); an unknown one is
    an error naming the known ones."""
    from tryon.mirror.ui import KEY_ACTIONS

    try:
        events = json.loads(Path(path).read_text())
        out: dict[int, list[str]] = {}
        for e in events:
            out.setdefault(int(e["frame"]), []).append(str(e["key"]))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"cannot read the script {path}: {exc}") from None
    unknown = sorted({k for keys in out.values() for k in keys if k.strip().lower() not in KEY_ACTIONS})
    if unknown:
        raise ValueError(f"the script {path} presses unknown keys {unknown}; known: {', '.join(KEY_ACTIONS)}")
    return out


__all__ = ["CameraFeed", "LoopingFeed", "MirrorApp", "MirrorConfig", "SLOTS", "UNAVAILABLE", "Window", "load_script"]
