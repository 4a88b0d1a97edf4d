"""TryOnEngine: camera frames in, composited try-on frames out.

The stages, in the order a frame travels (each testable alone, see the README):

    frame -> pose (BlazePose) -> smoothing -> details (face mesh, hands: only for items that
          need them) -> rig solve -> items (skin / attach, hide what is not seen) -> lighting
          -> keep-out (hands, hair) -> render (moderngl, body occluder) -> composite -> FrameResult
"""

from __future__ import annotations

import functools
import logging
import os
import queue
import sys
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field

import cv2
import numpy as np

from tryon.body.mannequin import load_mannequin
from tryon.body.proportions import BodyMeasurements, ProportionTracker, body_shape, measure
from tryon.body.solver import PosedBody, RigSolver, SolverOptions
from tryon.catalog.catalog import Catalog
from tryon.catalog.item import Garment
from tryon.deform import SKINNING_METHODS, body_occluder, deform_item, part_visible
from tryon.details import NO_DETAILS, DetailOptions, Details, DetailTracker, needed
from tryon.frames import DEFAULT_HFOV_DEG, CameraIntrinsics
from tryon.image import as_bgr_uint8
from tryon.pose.filters import PoseSmoother, SmoothingOptions, TrackFader
from tryon.pose.landmarker import PoseEstimator, PoseOptions
from tryon.pose.types import Pose
from tryon.render.compositor import Compositor, Coverage
from tryon.render.keepout import KeepoutOptions, keepout_mask
from tryon.render.light_estimate import LightEstimator
from tryon.render.lighting import Lighting

log = logging.getLogger(__name__)

#: Python's thread switch interval while a pipelined stream runs, seconds.
PIPELINE_SWITCH_INTERVAL_S = 0.0002

STAGES = (
    "pose",
    "smoothing",
    "details",
    "rig_solve",
    "skinning",
    "lighting",
    "keepout",
    "render",
    "readback",
    "composite",
)


@dataclass(frozen=True)
class EngineOptions:
    """How the engine runs.

    hfov_deg : the camera's horizontal field of view when ``intrinsics`` is not given.
    lighting : "estimate" (light the items like the room, estimated from each frame), or a
        fixed :class:`~tryon.render.lighting.Lighting` (``Lighting.studio()``).
    intrinsics : a calibrated camera (rescaled if frames come at another size).
    mirror : flip the output horizontally (kiosk mirror view).
    occlusion : draw the posed body as a depth-only occluder, and let visible hands and hair
        come out in front of clothes (``keepout`` tunes the latter).
    skinning : "lbs" (linear blend) or "dqs" (dual quaternion).
    fade_in_ms, fade_out_ms : how fast items appear when the shopper is found and vanish
        when lost (streams only).
    render_samples : MSAA samples (0, 2, 4, 8); antialias : the compositor's edge-aware
        resolve instead (much cheaper on a CPU rasterizer).
    pin_threads : in pipelined streams, keep the pose thread on one CPU and the GL work on
        the others (Linux). None: only when the process has exactly two CPUs.
    details : when the face mesh and the hand model run (for eyewear, hats, earrings and
        rings; see :mod:`tryon.details`).
    part_fade_ms : how fast an item's part appears or vanishes as its body part comes into
        view or leaves it (streams; stills switch at once).
    """

    hfov_deg: float = DEFAULT_HFOV_DEG
    intrinsics: CameraIntrinsics | None = None
    mirror: bool = False
    occlusion: bool = True
    skinning: str = "lbs"
    lighting: Lighting | str = "estimate"
    fade_in_ms: float = 200.0
    fade_out_ms: float = 150.0
    pose: PoseOptions = field(default_factory=PoseOptions)
    smoothing: SmoothingOptions = field(default_factory=SmoothingOptions)
    solver: SolverOptions = field(default_factory=SolverOptions)
    render_samples: int = 0
    antialias: bool = True
    pin_threads: bool | None = None
    keepout: KeepoutOptions = field(default_factory=KeepoutOptions)
    details: DetailOptions = field(default_factory=DetailOptions)
    part_fade_ms: float = 120.0

    def __post_init__(self) -> None:
        if isinstance(self.lighting, str) and self.lighting != "estimate":
            raise ValueError(f"lighting must be 'estimate' or a Lighting, got {self.lighting!r}")
        if self.skinning not in SKINNING_METHODS:
            raise ValueError(f"skinning must be one of {SKINNING_METHODS}, got {self.skinning!r}")
        if not 1.0 < self.hfov_deg < 179.0:
            raise ValueError(f"hfov_deg must be in (1, 179), got {self.hfov_deg}")


@dataclass
class FrameResult:
    """One processed frame.

    image : (H, W, 3) uint8 BGR, the composited frame (mirrored if the engine mirrors).
    pose : the (smoothed) Pose, or None when nobody was found.
    garment_alpha : (H, W) float32 in [0, 1], where the rendered items cover the frame
        (built on first access from the compact ``coverage``).
    body : the solved skeleton in camera space, or None.
    measurements : the shopper's held measurements (cm), or None.
    details : the face mesh, head pose and hands found for the worn items (empty when none
        needed them).
    timings_ms : milliseconds per stage (``STAGES``) and "total".
    opacity : how visible the items were drawn (fading on track loss).
    """

    image: np.ndarray
    pose: Pose | None
    coverage: Coverage
    body: PosedBody | None = None
    measurements: BodyMeasurements | None = None
    timings_ms: dict[str, float] = field(default_factory=dict)
    timestamp_ms: int | None = None
    opacity: float = 0.0
    details: Details = NO_DETAILS

    @functools.cached_property
    def garment_alpha(self) -> np.ndarray:
        return self.coverage.to_float()


def _parse_item_spec(spec: str | Garment) -> tuple[str | Garment, str | None]:
    if isinstance(spec, Garment):
        return spec, None
    item_id, _, variant = str(spec).partition(":")
    return item_id, variant or None


class TryOnEngine:
    """The try-on pipeline.

    >>> engine = TryOnEngine(items=["tshirt-navy"])        # doctest: +SKIP
    >>> result = engine.process(frame_bgr)                  # a still image
    >>> result = engine.process(frame_bgr, timestamp_ms=t)  # one frame of a stream

    items : catalog ids (``"id"`` or ``"id:variant"`` for a colourway) or Garment objects.
    catalog : a Catalog or a folder; defaults to the bundled ``garments/``.
    Owns a GL context and MediaPipe graphs: call ``close()`` (or use ``with``).
    """

    def __init__(
        self,
        items: Sequence[str | Garment] = (),
        catalog: Catalog | str | None = None,
        options: EngineOptions | None = None,
    ) -> None:
        self.options = options or EngineOptions()
        self.catalog = catalog if isinstance(catalog, Catalog) else Catalog(catalog)
        self.mannequin = load_mannequin()
        self.solver = RigSolver(self.mannequin, self.options.solver)
        self.estimator = PoseEstimator(self.options.pose)
        self.smoother = PoseSmoother(self.options.smoothing)
        self.proportions = ProportionTracker(self.mannequin)
        self.fader = TrackFader(self.options.fade_in_ms, self.options.fade_out_ms)
        self.light = LightEstimator()
        self.details = DetailTracker(self.options.details)
        self._part_opacity: dict[tuple[str, int], float] = {}
        self._last_ms: int | None = None
        self._items: list[tuple[Garment, str | None]] = []
        self.set_items(items)
        self._renderer = None
        self.compositor = Compositor(antialias=self.options.antialias)
        self._last_body: PosedBody | None = None
        self._closed = False

    # -- items -----------------------------------------------------------------------
    @property
    def items(self) -> list[Garment]:
        return [g for g, _ in self._items]

    def set_items(self, items: Sequence[str | Garment]) -> None:
        """Replace what the shopper wears. Unknown ids raise KeyError naming the catalog's items."""
        resolved = [self._resolve(spec) for spec in items]
        self._items = resolved

    def wear(self, spec: str | Garment) -> None:
        """Put on one more item (``"id"``, ``"id:variant"`` or a Garment); one already worn with
        the same id is replaced (e.g. another colourway)."""
        garment, variant = self._resolve(spec)
        items = [(g, v) for g, v in self._items if g.id != garment.id]
        self._items = items + [(garment, variant)]

    def take_off(self, item_id: str) -> None:
        """Take an item off (nothing happens if it is not worn)."""
        self._items = [(g, v) for g, v in self._items if g.id != item_id]

    def toggle(self, spec: str | Garment) -> bool:
        """Put the item on if it is off, take it off if it is on; returns whether it is now worn."""
        item_id = spec.id if isinstance(spec, Garment) else _parse_item_spec(spec)[0]
        if any(g.id == item_id for g, _ in self._items):
            self.take_off(item_id)
            return False
        self.wear(spec)
        return True

    def _resolve(self, spec: str | Garment) -> tuple[Garment, str | None]:
        item, variant = _parse_item_spec(spec)
        garment = item if isinstance(item, Garment) else self.catalog.get(item)
        if variant is not None:
            garment.materials_for(variant)  # raises KeyError for an unknown colourway
        return garment, variant

    # -- GL --------------------------------------------------------------------------
    def _gl(self):
        if self._renderer is None:
            from tryon.render.renderer import Renderer, RenderOptions

            self._renderer = Renderer(RenderOptions(samples=self.options.render_samples))
        return self._renderer

    def intrinsics_for(self, width: int, height: int) -> CameraIntrinsics:
        K = self.options.intrinsics
        if K is None:
            return CameraIntrinsics.from_fov(width, height, self.options.hfov_deg)
        return K if (K.width, K.height) == (width, height) else K.scaled_to(width, height)

    # -- the stages ------------------------------------------------------------------
    def reset(self) -> None:
        """Start a new stream: forget tracking, smoothing, proportions and fading."""
        self.estimator.reset_stream()
        self.smoother.reset()
        self.proportions.reset()
        self.fader.reset()
        self.light.reset()
        self.details.reset()
        self._part_opacity.clear()
        self._last_ms = None
        self._last_body = None

    def process(self, frame, timestamp_ms: int | None = None) -> FrameResult:
        """Process one frame. Without ``timestamp_ms`` it is a still image (no tracking or
        smoothing); with it, one frame of a stream (timestamps in ms, increasing).

        Raises ValueError for frames that are not images (see :func:`tryon.image.as_bgr_uint8`).
        """
        self._check_open()
        return self._finish(*self._analyze(frame, timestamp_ms))

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError("this TryOnEngine is closed (close() or its with-block ended); make a new one")

    def _analyze(self, frame, timestamp_ms: int | None):
        """The pose stages: frame check, BlazePose, smoothing. Thread-safe against
        ``_finish`` (they share no state), so a stream can run them on another thread."""
        t_start = time.perf_counter()
        frame = as_bgr_uint8(frame)
        timings: dict[str, float] = {}
        t0 = time.perf_counter()
        if timestamp_ms is None:
            raw = self.estimator.detect(frame)
        else:
            raw = self.estimator.detect_for_video(frame, int(timestamp_ms))
        t1 = time.perf_counter()
        timings["pose"] = (t1 - t0) * 1e3
        pose = self.smoother(raw, timestamp_ms) if timestamp_ms is not None else raw
        t2 = time.perf_counter()
        timings["smoothing"] = (t2 - t1) * 1e3
        face, hands = needed([g.category for g, _ in self._items], self.options.details)
        K = self.intrinsics_for(frame.shape[1], frame.shape[0])
        details = self.details.update(frame, pose, K, timestamp_ms, face, hands)
        timings["details"] = (time.perf_counter() - t2) * 1e3
        return frame, pose, details, timestamp_ms, timings, t_start, raw

    def _finish(
        self,
        frame: np.ndarray,
        pose: Pose | None,
        details: Details,
        timestamp_ms: int | None,
        timings: dict[str, float],
        t_start: float,
        raw_pose: Pose | None = None,
    ) -> FrameResult:
        """The GL thread's stages. ``raw_pose``: the frame's unsmoothed pose, for what is
        drawn from the image itself (hands and hair keep-out must not trail a moving hand)."""
        h, w = frame.shape[:2]
        K = self.intrinsics_for(w, h)
        opacity = 1.0 if timestamp_ms is None else self.fader.update(pose is not None, timestamp_ms)
        if timestamp_ms is None and pose is None:
            opacity = 0.0

        t0 = time.perf_counter()
        body = None
        if pose is not None:
            if timestamp_ms is None:
                shape = body_shape(measure(pose.world_m, pose.visibility), self.proportions.reference)
            else:
                self.proportions.update(pose.world_m, pose.visibility)
                shape = self.proportions.shape()
            body = self.solver.solve(pose, K, shape, details.head_pose, details.hands)
            self._last_body = body
        elif opacity > 0 and self._last_body is not None and self._last_body.intrinsics == K:
            body = self._last_body  # fading out where the shopper was last seen
        if pose is None and opacity == 0:
            self._last_body = None
        timings["rig_solve"] = (time.perf_counter() - t0) * 1e3

        measurements = self.proportions.measurements() if timestamp_ms is not None and pose is not None else None
        if body is None or not self._items or opacity <= 0:
            comp = self.compositor.passthrough(frame, self.options.mirror)
            for k in ("skinning", "lighting", "keepout", "render", "readback", "composite"):
                timings[k] = 0.0
            timings["total"] = (time.perf_counter() - t_start) * 1e3
            return FrameResult(comp.image, pose, comp.coverage, body, measurements, timings, timestamp_ms, 0.0, details)

        t0 = time.perf_counter()
        draws = []
        part_fade = self._part_fade_step(timestamp_ms)
        for garment, variant in self._items:
            draws += deform_item(
                garment, body, variant, self.options.skinning, self._part_opacities(garment, body, part_fade, opacity)
            )
        occluder = body_occluder(self.mannequin, body) if self.options.occlusion else None
        t1 = time.perf_counter()
        timings["skinning"] = (t1 - t0) * 1e3

        mask = pose.segmentation if pose is not None else None
        lighting = self.options.lighting
        if isinstance(lighting, str):  # "estimate"
            occ = occluder or body_occluder(self.mannequin, body)
            lighting = self.light.update(
                frame, timestamp_ms, mask, (occ.positions_cam_m, occ.normals_cam, self.mannequin.occluder.regions), K
            )
        t_light = time.perf_counter()
        timings["lighting"] = (t_light - t1) * 1e3
        t1 = t_light
        keepout = None
        if pose is not None and self.options.occlusion:
            keepout = keepout_mask(frame, raw_pose if raw_pose is not None else pose, self.options.keepout)

        t_keep = time.perf_counter()
        timings["keepout"] = (t_keep - t1) * 1e3
        t1 = t_keep
        renderer = self._gl()
        layer = renderer.render_items(K, draws, occluder, mask, lighting, keepout)
        t2 = time.perf_counter()
        timings["render"] = renderer.last_draw_ms
        timings["readback"] = (t2 - t1) * 1e3 - renderer.last_draw_ms
        comp = self.compositor.composite(frame, layer, self.options.mirror)
        t3 = time.perf_counter()
        timings["composite"] = (t3 - t2) * 1e3
        timings["total"] = (t3 - t_start) * 1e3
        return FrameResult(comp.image, pose, comp.coverage, body, measurements, timings, timestamp_ms, opacity, details)

    def _part_fade_step(self, timestamp_ms: int | None) -> float | None:
        """How far a part's opacity moves toward shown/hidden this frame (None: at once)."""
        last, self._last_ms = self._last_ms, timestamp_ms
        if timestamp_ms is None or last is None or timestamp_ms <= last:
            return None
        return min(1.0, (timestamp_ms - last) / max(self.options.part_fade_ms, 1e-3))

    def _part_opacities(self, item: Garment, body: PosedBody, step: float | None, opacity: float) -> list[float]:
        """Each part's opacity: the item's fade times whether its body part is seen (faded)."""
        out = []
        for k in range(len(item.parts)):
            target = 1.0 if part_visible(item, k, body) else 0.0
            key = (item.id, k)
            now = self._part_opacity.get(key, target) if step is not None else target
            now = now + float(np.clip(target - now, -step, step)) if step is not None else target
            self._part_opacity[key] = now
            out.append(now * opacity)
        return out

    def process_stream(self, frames: Iterable, fps: float = 30.0, pipelined: bool = True) -> Iterator[FrameResult]:
        """Process a stream, in order, one result per valid frame.

        ``frames`` yields frames (timestamps made from ``fps``) or ``(frame, timestamp_ms)``
        pairs. Frames that are not images are skipped with a warning: a live loop does not
        die of one bad frame. ``pipelined``: run the pose model on its own thread, one frame
        ahead of the rest (MediaPipe releases the GIL), so throughput approaches the pose
        model's alone; ``False`` runs every stage in turn on this thread. Each result's
        ``timestamp_ms`` says which frame it is (a skipped frame has none).
        """
        self._check_open()
        self.reset()
        stamped = self._stamped(frames, fps)
        if not pipelined:
            for frame, ts, i in stamped:
                try:
                    yield self._finish(*self._analyze(frame, ts))
                except ValueError as exc:
                    log.warning("skipping frame %d: %s", i, exc)
            return
        yield from self._pipelined(stamped)

    @staticmethod
    def _stamped(frames: Iterable, fps: float):
        for i, entry in enumerate(frames):
            if isinstance(entry, tuple) and len(entry) == 2:
                frame, ts = entry
            else:
                frame, ts = entry, round(i * 1000.0 / fps)
            yield frame, int(ts), i

    def _pinning(self) -> tuple[set[int] | None, set[int] | None]:
        """CPU sets for the pose thread and this (render) thread, or (None, None).

        On two cores, llvmpipe's rasterizer threads preempt the pose model unless the two
        stages keep to their own core (measured: engine/pose ratio ~0.83 -> ~0.94)."""
        choice = self.options.pin_threads
        if choice is False or not hasattr(os, "sched_setaffinity"):
            return None, None
        cpus = sorted(os.sched_getaffinity(0))
        if len(cpus) < 2 or (choice is None and len(cpus) != 2):
            return None, None
        return {cpus[0]}, set(cpus[1:])

    def _pipelined(self, stamped) -> Iterator[FrameResult]:
        done = object()
        analyzed: queue.Queue = queue.Queue(maxsize=1)  # one frame ahead: low latency
        stop = threading.Event()

        pose_cpus, render_cpus = self._pinning()
        main_affinity = os.sched_getaffinity(0) if pose_cpus else None

        def pose_worker() -> None:
            if pose_cpus:
                # MediaPipe's graph threads, created from this thread, inherit this too.
                os.sched_setaffinity(0, pose_cpus)
            try:
                for frame, ts, i in stamped:
                    if stop.is_set():
                        break
                    try:
                        item = self._analyze(frame, ts)
                    except ValueError as exc:
                        log.warning("skipping frame %d: %s", i, exc)
                        continue
                    while not stop.is_set():
                        try:
                            analyzed.put(item, timeout=0.1)
                            break
                        except queue.Full:
                            continue
            except BaseException as exc:  # hand the failure to the consumer
                analyzed.put(exc)
            finally:
                analyzed.put(done)

        worker = threading.Thread(target=pose_worker, name="tryon-pose", daemon=True)
        if render_cpus:
            os.sched_setaffinity(0, render_cpus)
        # The pose thread needs the GIL for a moment after each inference; with Python's default
        # 5 ms switch interval it would wait behind this thread's Python work (measured: the
        # pose model 22 -> 40 ms a frame against a busy Python thread; 23 ms at 0.2 ms).
        switch = sys.getswitchinterval()
        sys.setswitchinterval(min(switch, PIPELINE_SWITCH_INTERVAL_S))
        # OpenCV's own worker threads would float onto the pose model's core; each stage's
        # small images are worked on the thread that asks.
        cv_threads = cv2.getNumThreads()
        if pose_cpus:
            cv2.setNumThreads(1)
        worker.start()
        try:
            while True:
                item = analyzed.get()
                if item is done:
                    break
                if isinstance(item, BaseException):
                    raise item
                yield self._finish(*item)
        finally:
            stop.set()
            while worker.is_alive():  # unblock a worker waiting to put
                try:
                    analyzed.get(timeout=0.05)
                except queue.Empty:
                    pass
            worker.join()
            sys.setswitchinterval(switch)
            cv2.setNumThreads(cv_threads)
            if main_affinity:
                os.sched_setaffinity(0, main_affinity)

    # -- lifetime --------------------------------------------------------------------
    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self.estimator.close()
        self.details.close()
        if self._renderer is not None:
            self._renderer.close()

    def __enter__(self) -> TryOnEngine:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
