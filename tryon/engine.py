"""TryOnEngine: camera frames in, composited try-on frames out. It wires the stages, and
nothing else: each stage lives in its own module (see the README's architecture section).

The stages, in the order a frame travels (``STAGES``; each testable alone):

    frame -> pose (BlazePose) -> details (face mesh, hands: only for items that need them)
          -> smoothing -> stabilize (anchored to the image's motion) -> rig solve -> items
          (skin / attach, hide what is not seen) -> cloth (loose garments and jewelry swing:
          tryon.cloth) -> lighting -> keep-out (hands, hair) -> render (moderngl, body
          occluder) -> cleanup (the shopper's own clothes the items leave uncovered: clean
          plate / inpainting) -> composite -> FrameResult

Two threads in a pipelined stream. The pose thread runs :meth:`TryOnEngine._analyze` (the
models alone: pose, and the face and hand models' inference) and hands a :class:`FrameAnalysis`
to the GL thread, which runs :meth:`TryOnEngine._finish`: a sequence of small steps (smoothing,
stabilize and the details' smoothing first), each filling in the frame's :class:`FrameScene`
and timing itself on the frame's :class:`~tryon.timing.StageTimer`. The split keeps the pose
thread's core to the pose model alone: on two cores the GL thread has the other one, and a
stream runs at the bare model's pace as long as the GL thread's work per frame fits in it.

Adding a stage: a model run on the image is a call in ``_analyze`` whose output is a new
typed field of :class:`FrameAnalysis` (give it a
default, in :mod:`tryon.engine_records`); a GL-side stage (e.g. cloth after skinning,
shadows around the render, a clean-up before compositing) is a new ``_step`` method called
in order in ``_finish``, reading and writing :class:`FrameScene` fields. Name its timing in ``STAGES``.

The options, the result and the two per-frame records live in :mod:`tryon.engine_records`
(re-exported here); this module holds the wiring alone.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Iterable, Iterator, Sequence

import numpy as np

from tryon import runtime
from tryon.body.mannequin import load_mannequin
from tryon.body.proportions import ProportionTracker, body_shape, measure
from tryon.body.solver import PosedBody, RigSolver
from tryon.catalog.catalog import Catalog
from tryon.catalog.item import Garment
from tryon.cloth.stage import ClothStage, garment_part_cloth
from tryon.deform import LEG_REGIONS, body_occluder, deform_item
from tryon.details import DetailTracker, needed
from tryon.engine_records import (  # re-exported: tryon.engine.* stays public
    ANALYSIS_STAGES,
    DRAW_STAGES,
    STAGES,
    EngineOptions,
    FrameAnalysis,
    FrameResult,
    FrameScene,
    WornItem,
)
from tryon.frames import CameraIntrinsics
from tryon.image import as_bgr_uint8
from tryon.ownclothes import OwnClothesRemover
from tryon.pose.filters import PoseSmoother
from tryon.pose.landmarker import PoseEstimator
from tryon.presentation import ItemPresentation
from tryon.render.camera_match import CameraMatcher
from tryon.render.compositor import Compositor
from tryon.render.keepout import keepout_mask
from tryon.render.light_estimate import LightEstimator
from tryon.render.shadows import darken
from tryon.render.types import Draw
from tryon.timing import StageTimer, StreamClock, check_timestamp_ms
from tryon.track import Stabilizer
from tryon.wrinkles import joint_bends

__all__ = [
    "ANALYSIS_STAGES",
    "DRAW_STAGES",
    "STAGES",
    "EngineOptions",
    "FrameAnalysis",
    "FrameResult",
    "FrameScene",
    "TryOnEngine",
    "WornItem",
]

log = logging.getLogger(__name__)

#: Kept for callers of the engine's old name for it; the value lives in :mod:`tryon.runtime`.
PIPELINE_SWITCH_INTERVAL_S = runtime.PIPELINE_SWITCH_INTERVAL_S



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

    The outfit may be changed from any thread while a stream runs (``set_items``, ``wear``,
    ``take_off``, ``toggle``): it is an immutable tuple swapped whole under a lock, and each
    frame takes one snapshot of it.
    """

    def __init__(
        self,
        items: Sequence[str | Garment] = (),
        catalog: Catalog | str | None = None,
        options: EngineOptions | None = None,
    ) -> None:
        self.options = options or EngineOptions()
        o = self.options
        self.catalog = catalog if isinstance(catalog, Catalog) else Catalog(catalog)
        self.mannequin = load_mannequin()
        self.solver = RigSolver(self.mannequin, o.solver)
        self.estimator = PoseEstimator(o.pose)
        self.smoother = PoseSmoother(o.smoothing)
        self.stabilizer = Stabilizer(o.stabilize)
        self.proportions = ProportionTracker(self.mannequin)
        self.presentation = ItemPresentation(o.fade_in_ms, o.fade_out_ms, o.part_fade_ms)
        self.light = LightEstimator()
        self.camera_matcher = CameraMatcher(o.camera)
        self.detail_tracker = DetailTracker(o.details)
        self.clock = StreamClock()
        self.cloth = ClothStage(self.mannequin, o.cloth) if o.cloth is not None else None
        self._items_lock = threading.Lock()
        self._items: tuple[WornItem, ...] = ()
        self.set_items(items)
        self._renderer = None
        self.compositor = Compositor(antialias=o.antialias)
        self._broken_items: set[str] = set()  # item ids already warned about as not drawable
        self._cloth_failed: set[str] = set()  # item ids whose cloth failed (warned once, drawn skinned)
        self.own_clothes = OwnClothesRemover(self.mannequin, o.own_clothes)
        self._closed = False

    # -- items (any thread) ----------------------------------------------------------
    @property
    def items(self) -> list[Garment]:
        return [worn.garment for worn in self._items]

    @property
    def worn(self) -> tuple[WornItem, ...]:
        """The outfit now: (garment, variant) pairs, a snapshot."""
        return self._items

    def set_items(self, items: Sequence[str | Garment]) -> None:
        """Replace what the shopper wears. Unknown ids raise KeyError naming the catalog's items."""
        resolved = tuple(self._resolve(spec) for spec in items)
        with self._items_lock:
            self._items = resolved

    def wear(self, spec: str | Garment) -> None:
        """Put on one more item (``"id"``, ``"id:variant"`` or a Garment); one already worn with
        the same id is replaced (e.g. another colourway)."""
        worn = self._resolve(spec)
        with self._items_lock:
            self._items = (*(w for w in self._items if w.garment.id != worn.garment.id), worn)

    def take_off(self, item_id: str) -> None:
        """Take an item off (nothing happens if it is not worn)."""
        with self._items_lock:
            self._items = tuple(w for w in self._items if w.garment.id != item_id)

    def toggle(self, spec: str | Garment) -> bool:
        """Put the item on if it is off, take it off if it is on; returns whether it is now worn."""
        item_id = spec.id if isinstance(spec, Garment) else _parse_item_spec(spec)[0]
        with self._items_lock:
            kept = tuple(w for w in self._items if w.garment.id != item_id)
            if len(kept) < len(self._items):
                self._items = kept
                return False
        self.wear(spec)  # resolved outside the lock: loading an item can take a while
        return True

    def _resolve(self, spec: str | Garment) -> WornItem:
        item, variant = _parse_item_spec(spec)
        garment = item if isinstance(item, Garment) else self.catalog.get(item)
        if variant is not None:
            garment.materials_for(variant)  # raises KeyError for an unknown colourway
        return WornItem(garment, variant)

    # -- GL --------------------------------------------------------------------------
    def _gl(self):
        if self._renderer is None:
            from tryon.render.renderer import Renderer, RenderOptions

            o = self.options
            self._renderer = Renderer(
                RenderOptions(
                    samples=o.render_samples,
                    fabric=o.fabric,
                    ambient_occlusion=o.ambient_occlusion,
                    wrinkles=o.wrinkles,
                )
            )
        return self._renderer

    def intrinsics_for(self, width: int, height: int) -> CameraIntrinsics:
        K = self.options.intrinsics
        if K is None:
            return CameraIntrinsics.from_fov(width, height, self.options.hfov_deg)
        return K if (K.width, K.height) == (width, height) else K.scaled_to(width, height)

    # -- one frame -------------------------------------------------------------------
    def reset(self) -> None:
        """Start a new stream: forget tracking, smoothing, proportions and fading."""
        self.estimator.reset_stream()
        self.smoother.reset()
        self.stabilizer.reset()
        self.proportions.reset()
        self.presentation.reset()
        self.light.reset()
        self.camera_matcher.reset()
        self.detail_tracker.reset()
        self.clock.reset()
        if self.cloth is not None:
            self.cloth.reset()
        self.own_clothes.reset()

    def process(self, frame, timestamp_ms: int | None = None) -> FrameResult:
        """Process one frame. Without ``timestamp_ms`` it is a still image (no tracking or
        smoothing); with it, one frame of a stream (timestamps in ms, increasing).

        Raises ValueError for frames that are not images (see :func:`tryon.image.as_bgr_uint8`)
        and for timestamps that are not a time (NaN, infinite, not a number, beyond
        ``tryon.timing.MAX_TIMESTAMP_MS``); the stream goes on with the next frame. A timestamp
        that goes back is taken as just after the last one (see :class:`~tryon.timing.StreamClock`).
        """
        self._check_open()
        return self._finish(self._analyze(frame, timestamp_ms))

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError("this TryOnEngine is closed (close() or its with-block ended); make a new one")

    def _analyze(self, frame, timestamp_ms: int | None) -> FrameAnalysis:
        """The pose thread's stages: frame check, BlazePose, the detail models (face mesh,
        hands, only for the items that need them). Thread-safe against ``_finish`` (they share
        no state), so a stream runs them on another thread.

        Only the models run here: the pose model alone fills this thread's core, and every
        other stage (smoothing and stabilizing included) runs on the GL thread, so the
        stream keeps the pose model's pace (see :mod:`tryon.runtime`)."""
        timer = StageTimer()
        frame = as_bgr_uint8(frame)
        frame_ts = None if timestamp_ms is None else check_timestamp_ms(timestamp_ms)
        timestamp_ms = None if frame_ts is None else self.clock(frame_ts)
        items = self._items  # one snapshot for the whole frame
        K = self.intrinsics_for(frame.shape[1], frame.shape[0])
        timer.mark()
        if timestamp_ms is None:
            raw = self.estimator.detect(frame)
        else:
            raw = self.estimator.detect_for_video(frame, timestamp_ms)
        timer.lap("pose")
        face, hands = needed([w.garment.category for w in items], self.options.details)
        observed = self.detail_tracker.observe(frame, raw, timestamp_ms, face, hands)
        timer.lap("details")
        return FrameAnalysis(frame, timestamp_ms, K, items, raw, observed, timer, frame_ts)

    def _finish(self, a: FrameAnalysis) -> FrameResult:
        """The GL thread's stages, in order; each step fills in the frame's scene."""
        scene = self._step_track(a)
        self._step_solve(a, scene)
        if scene.body is None or not a.items or scene.opacity <= 0:
            if self.cloth is not None and scene.body is None:
                self.cloth.reset()  # the shopper is gone: the cloth starts again where they come back
            return self._passthrough(a, scene)
        self._step_skin(a, scene)
        self._step_cloth(a, scene)
        self._step_light(a, scene)
        self._step_keepout(a, scene)
        self._step_render(a, scene)
        self._step_cleanup(a, scene)
        self._step_shadows(a, scene)
        self._step_camera_match(a, scene)
        return self._step_composite(a, scene)

    # -- the GL thread's steps -------------------------------------------------------
    def _step_track(self, a: FrameAnalysis) -> FrameScene:
        """smoothing, stabilize, details: the pose smoothed and anchored to the image's motion
        (a still: the raw pose), then the detail models' landmarks smoothed and carried by it."""
        ts = a.timestamp_ms
        a.timer.mark()
        pose = a.raw_pose if ts is None else self.smoother(a.raw_pose, ts)
        a.timer.lap("smoothing")
        if ts is not None:
            pose = self.stabilizer(a.frame, pose, a.raw_pose, ts)
        a.timer.lap("stabilize")
        details = self.detail_tracker.resolve(a.observed, pose, a.intrinsics, ts, a.frame.shape[0])
        a.timer.lap("details")
        return FrameScene(pose=pose, details=details)

    def _step_solve(self, a: FrameAnalysis, scene: FrameScene) -> None:
        """rig_solve: the outfit's opacity, the skeleton (or the last one while fading out)."""
        pose, ts = scene.pose, a.timestamp_ms
        scene.opacity = self.presentation.outfit_opacity(pose is not None, ts)
        a.timer.mark()
        solved = None
        if pose is not None:
            if ts is None:
                shape = body_shape(measure(pose.world_m, pose.visibility), self.proportions.reference)
            else:
                self.proportions.update(pose.world_m, pose.visibility)
                shape = self.proportions.shape()
            solved = self.solver.solve(pose, a.intrinsics, shape, scene.details.head_pose, scene.details.hands)
        scene.body = self.presentation.body_to_draw(solved, scene.opacity, a.intrinsics)
        a.timer.lap("rig_solve")
        if ts is not None and pose is not None:
            scene.measurements = self.proportions.measurements()

    def _step_skin(self, a: FrameAnalysis, scene: FrameScene) -> None:
        """skinning: each item deformed onto the body (parts faded in and out), the occluder."""
        a.timer.mark()
        body = scene.body
        garments = [w.garment for w in a.items]
        opacities = self.presentation.part_opacities(garments, body, scene.opacity, a.timestamp_ms)
        bends = self._bends(body)
        for worn, part_opacity in zip(a.items, opacities):
            scene.draws += self._item_draws(worn, body, part_opacity, bends)
        if self.options.occlusion:
            # The legs hang inside a skirt or dress: they must not cut holes in it.
            loose = any(garment_part_cloth(g, k) is not None for g in garments for k in range(len(g.parts)))
            scene.occluder = body_occluder(self.mannequin, body, skip_regions=LEG_REGIONS if loose else ())
        a.timer.lap("skinning")

    def _bends(self, body: PosedBody) -> np.ndarray | None:
        """The joints' bends for the wrinkles, once for the outfit (None: off, or each item
        tries on its own and is skipped if it fails)."""
        if not self.options.wrinkles:
            return None
        try:
            return joint_bends(body)
        except Exception:  # noqa: BLE001 - the items report it one by one
            return None

    def _item_draws(
        self, worn: WornItem, body: PosedBody, part_opacity: list[float], bends: np.ndarray | None = None
    ) -> list[Draw]:
        """One item's draws on the body; a broken item (its deformation fails, or gives
        non-finite vertices) is skipped with a warning (once per item), never blanking the
        others."""
        try:
            o = self.options
            draws = deform_item(worn.garment, body, worn.variant, o.skinning, part_opacity, o.wrinkles, bends)
            problem = next((p for d in draws if (p := d.problem()) is not None), None)
        except Exception as exc:  # noqa: BLE001 - one item's bug must not take the outfit down
            draws, problem = [], f"{type(exc).__name__}: {exc}"
        if problem is None:
            return draws
        if worn.garment.id not in self._broken_items:
            self._broken_items.add(worn.garment.id)
            log.warning("not drawing item %r: %s (the other items are drawn)", worn.garment.id, problem)
        return []

    def _step_cloth(self, a: FrameAnalysis, scene: FrameScene) -> None:
        """cloth: loose garments and swinging jewelry simulated from their skinned positions
        (streams only; stills are drawn as skinned)."""
        if self.cloth is not None and a.timestamp_ms is not None:
            out: list[Draw] = []
            for worn in a.items:
                prefix = worn.garment.id + "/"
                mine = [d for d in scene.draws if d.key.startswith(prefix)]
                try:
                    out += self.cloth.apply(worn.garment, mine, scene.body, a.timestamp_ms)
                except Exception as exc:  # noqa: BLE001 - the cloth must never stop the stream
                    if worn.garment.id not in self._cloth_failed:
                        self._cloth_failed.add(worn.garment.id)
                        name = type(exc).__name__
                        log.warning("item %r drawn without cloth motion: %s: %s", worn.garment.id, name, exc)
                    out += mine
            scene.draws = out
        a.timer.lap("cloth")

    def _step_light(self, a: FrameAnalysis, scene: FrameScene) -> None:
        """lighting: fixed, or estimated from the frame and the posed body."""
        lighting = self.options.lighting
        if isinstance(lighting, str):  # "estimate"
            occ = scene.occluder or body_occluder(self.mannequin, scene.body)
            mask = scene.pose.segmentation if scene.pose is not None else None
            regions = self.mannequin.occluder.regions
            lighting = self.light.update(
                a.frame, a.timestamp_ms, mask, (occ.positions_cam_m, occ.normals_cam, regions), a.intrinsics
            )
        scene.lighting = lighting
        a.timer.lap("lighting")

    def _step_keepout(self, a: FrameAnalysis, scene: FrameScene) -> None:
        """keepout: visible hands and hair that come out in front of clothes (raw pose)."""
        if scene.pose is not None and self.options.occlusion:
            pose = a.raw_pose if a.raw_pose is not None else scene.pose
            scene.keepout = keepout_mask(a.frame, pose, self.options.keepout)
        a.timer.lap("keepout")

    def _step_render(self, a: FrameAnalysis, scene: FrameScene) -> None:
        """render + readback: the items drawn over the body occluder, read back."""
        renderer = self._gl()
        mask = scene.pose.segmentation if scene.pose is not None else None
        o = self.options
        margin = o.shadow.margin_px if o.contact_shadows and scene.occluder is not None else 0
        scene.layer = renderer.render_items(
            a.intrinsics,
            scene.draws,
            scene.occluder,
            mask,
            scene.lighting,
            scene.keepout,
            depth_margin_px=margin,
            depth_step_px=o.shadow.step_px,
        )
        elapsed_ms = a.timer.lap("readback")
        a.timer.record("render", renderer.last_draw_ms)
        a.timer.record("readback", elapsed_ms - renderer.last_draw_ms)

    def _step_cleanup(self, a: FrameAnalysis, scene: FrameScene) -> None:
        """cleanup: the shopper's own clothes beside and under the items replaced by what is
        behind them (streams: the clean plate, else inpainting; stills: inpainting)."""
        if scene.pose is not None and self.options.own_clothes.enabled:
            items = []
            for worn in a.items:
                prefix = f"{worn.garment.id}/"
                parts = [d.positions_cam_m for d in scene.draws if d.key.startswith(prefix)]
                if parts:
                    items.append((worn.garment, np.concatenate(parts)))
            occ = scene.occluder  # the proxy already posed (all its vertices, whatever it draws)
            posed = (occ.positions_cam_m, occ.normals_cam) if occ is not None else None
            scene.cleanup = self.own_clothes.apply(
                a.frame, scene.pose, scene.body, items, scene.keepout, scene.opacity, a.timestamp_ms is not None, posed
            )
        a.timer.lap("cleanup")

    def _step_shadows(self, a: FrameAnalysis, scene: FrameScene) -> None:
        """shadows: the items' contact shadows on the shopper (the cleaned frame, if any) and on
        each other; not on hands and hair in front of the clothes."""
        depth = self._gl().last_scene_depth
        if self.options.contact_shadows and depth is not None and scene.layer is not None:
            base = scene.cleanup.image if scene.cleanup is not None else a.frame
            mask = scene.pose.segmentation if scene.pose is not None else None  # (resized under the box)
            frame, scene.layer, _ = darken(
                base, scene.layer, depth, scene.lighting, a.intrinsics, mask, self.options.shadow, scene.keepout
            )
            scene.shaded_frame = frame if frame is not base else None
        a.timer.lap("shadows")

    def _step_camera_match(self, a: FrameAnalysis, scene: FrameScene) -> None:
        """camera_match: the items given the frame's noise, softness, motion blur and tone."""
        matcher = self.camera_matcher
        pose = a.raw_pose if a.raw_pose is not None else scene.pose
        if self.options.camera_match and scene.layer is not None:
            mask = scene.pose.segmentation if scene.pose is not None else None
            matcher.update(a.frame, a.timestamp_ms, mask)
            motion = None
            if pose is not None:
                motion = matcher.motion(pose.keypoints_px, pose.reliable(), a.timestamp_ms)
            scene.layer = matcher.apply(scene.layer, motion, a.timestamp_ms)
        a.timer.lap("camera_match")

    def _step_composite(self, a: FrameAnalysis, scene: FrameScene) -> FrameResult:
        """composite: the read-back items over the frame (cleaned and shaded, if it was)."""
        frame = scene.cleanup.image if scene.cleanup is not None else a.frame
        if scene.shaded_frame is not None:
            frame = scene.shaded_frame
        comp = self.compositor.composite(frame, scene.layer, self.options.mirror)
        a.timer.lap("composite")
        return self._result(a, scene, comp.image, comp.coverage, scene.opacity)

    def _passthrough(self, a: FrameAnalysis, scene: FrameScene) -> FrameResult:
        """Nothing to draw: the frame as it came (mirrored if the engine mirrors)."""
        comp = self.compositor.passthrough(a.frame, self.options.mirror)
        if a.timestamp_ms is not None:  # the clean plate learns from frames it leaves alone
            a.timer.mark()
            self.own_clothes.observe(a.frame, scene.pose)
            a.timer.lap("cleanup")
        a.timer.skip(DRAW_STAGES)
        return self._result(a, scene, comp.image, comp.coverage, 0.0)

    @staticmethod
    def _result(a: FrameAnalysis, scene: FrameScene, image, coverage, opacity: float) -> FrameResult:
        return FrameResult(
            image=image,
            pose=scene.pose,
            coverage=coverage,
            body=scene.body,
            measurements=scene.measurements,
            timings_ms=a.timer.finish(),
            timestamp_ms=a.frame_timestamp_ms,
            opacity=opacity,
            details=scene.details,
        )

    # -- streams ---------------------------------------------------------------------
    def process_stream(self, frames: Iterable, fps: float = 30.0, pipelined: bool = True) -> Iterator[FrameResult]:
        """Process a stream, in order, one result per valid frame.

        ``frames`` yields frames (timestamps made from ``fps``) or ``(frame, timestamp_ms)``
        pairs. Frames that are not images are skipped with a warning: a live loop does not
        die of one bad frame. ``pipelined``: run the pose model on its own thread, one frame
        ahead of the rest (MediaPipe releases the GIL), so throughput approaches the pose
        model's alone; ``False`` runs every stage in turn on this thread. Each result's
        ``timestamp_ms`` says which frame it is (a skipped frame has none).

        Unless ``EngineOptions.tune_runtime`` is False, the stream runs inside
        :func:`tryon.runtime.tuned` (BLAS threads, switch interval, OpenCV threads, CPU
        affinity), all put back when the stream ends or is closed, and freed memory is handed
        back to the system then (:func:`tryon.runtime.trim_malloc`).
        """
        self._check_open()
        self.reset()
        stamped = self._stamped(frames, fps)
        o = self.options
        tuning = runtime.StreamTuning.for_stream(pipelined, o.pin_threads) if o.tune_runtime else runtime.StreamTuning()
        try:
            with runtime.tuned(tuning):
                if not pipelined:
                    for frame, ts, i in stamped:
                        try:
                            yield self._finish(self._analyze(frame, ts))
                        except ValueError as exc:
                            log.warning("skipping frame %d: %s", i, exc)
                    return
                yield from self._pipelined(stamped, tuning.pose_cpus)
        finally:
            if o.tune_runtime:
                runtime.trim_malloc()  # what the stream's threads freed goes back to the system

    @staticmethod
    def _stamped(frames: Iterable, fps: float):
        for i, entry in enumerate(frames):
            if isinstance(entry, tuple) and len(entry) == 2:
                frame, ts = entry
            else:
                frame, ts = entry, round(i * 1000.0 / fps)
            yield frame, ts, i  # checked with the frame, on the pose thread

    def _pipelined(self, stamped, pose_cpus: frozenset[int] | None) -> Iterator[FrameResult]:
        done = object()
        analyzed: queue.Queue = queue.Queue(maxsize=1)  # one frame ahead: low latency
        stop = threading.Event()

        def pose_worker() -> None:
            # MediaPipe's graph threads, created from this thread, inherit its affinity.
            runtime.pin_current_thread(pose_cpus)
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
        worker.start()
        try:
            while True:
                item = analyzed.get()
                if item is done:
                    break
                if isinstance(item, BaseException):
                    raise item
                yield self._finish(item)
        finally:
            stop.set()
            while worker.is_alive():  # unblock a worker waiting to put
                try:
                    analyzed.get(timeout=0.05)
                except queue.Empty:
                    pass
            worker.join()

    # -- lifetime --------------------------------------------------------------------
    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self.estimator.close()
        self.detail_tracker.close()
        if self._renderer is not None:
            self._renderer.close()
        if self.options.tune_runtime:
            runtime.trim_malloc()  # the graphs' and GL's freed memory goes back to the system

    def __enter__(self) -> TryOnEngine:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
