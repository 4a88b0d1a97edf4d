"""The engine's records: its options, what it returns a frame, and the two per-frame records
passed between its stages (:class:`FrameAnalysis` from the pose thread to the GL thread,
:class:`FrameScene` filled in by the GL thread's steps), with the names of the timed stages.

Kept apart from :mod:`tryon.engine`, which wires the stages; both are public through it.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np

from tryon.body.proportions import BodyMeasurements
from tryon.body.solver import PosedBody, SolverOptions
from tryon.catalog.item import Garment
from tryon.cloth.stage import ClothOptions
from tryon.deform import SKINNING_METHODS
from tryon.details import NO_DETAILS, DetailObservation, DetailOptions, Details
from tryon.frames import DEFAULT_HFOV_DEG, CameraIntrinsics
from tryon.ownclothes import Cleanup, OwnClothesOptions
from tryon.pose.filters import SmoothingOptions
from tryon.pose.landmarker import PoseOptions
from tryon.pose.types import Pose
from tryon.render.camera_match import CameraMatchOptions
from tryon.render.compositor import Coverage
from tryon.render.keepout import KeepoutOptions
from tryon.render.lighting import Lighting
from tryon.render.shadows import ShadowOptions
from tryon.render.types import Draw, ItemLayer
from tryon.timing import StageTimer
from tryon.track import StabilizeOptions

#: The timed stages, pose thread first (``FrameResult.timings_ms`` has each, plus "total").
#: "details" is timed on both threads (the models on the pose thread, their smoothing on the
#: GL thread), the sum reported.
ANALYSIS_STAGES = ("pose", "details")
TRACK_STAGES = ("smoothing", "stabilize")
DRAW_STAGES = (
    "skinning",
    "cloth",
    "lighting",
    "keepout",
    "render",
    "readback",
    "cleanup",
    "shadows",
    "camera_match",
    "composite",
)
STAGES = (*ANALYSIS_STAGES, *TRACK_STAGES, "rig_solve", *DRAW_STAGES)
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
    stabilize : the stabilize stage (streams): keypoints and world landmarks anchored to the
        shopper's own image motion (:mod:`tryon.track`); ``StabilizeOptions(enabled=False)``
        turns it off (the smoothed pose is solved as it is).
    tune_runtime : streams tune the process's threads for their duration (BLAS threads,
        switch interval, OpenCV threads, CPU affinity; see :mod:`tryon.runtime`), restored
        when the stream ends, and freed memory is trimmed back to the system when a stream
        ends and when the engine closes. False leaves the host process alone.
    cloth : secondary motion in streams (skirts, dresses and long coats hang and swing,
        necklaces and earrings sway; see :mod:`tryon.cloth`), or None: everything follows
        its skin or bone rigidly.
    own_clothes : the shopper's own clothes where the items leave them uncovered (a wide
        coat's sides, a real shoe's sole) replaced by what is behind them: a clean plate learnt
        in streams, inpainting where none is known (see :mod:`tryon.ownclothes`).
        ``OwnClothesOptions(enabled=False)`` turns it off.
    fabric : each material's fabric relief and sheen (:mod:`tryon.render.fabric`).
    ambient_occlusion : the items' occlusion baked at import (armpits, collars, waistbands).
    wrinkles : folds where the shopper's elbows, shoulders, knees, hips and waist bend.
    contact_shadows : the items shade the shopper and each other from the key light
        (:mod:`tryon.render.shadows`; ``shadow`` tunes it).
    camera_match : the items take the camera's noise, softness, motion blur and tone
        (:mod:`tryon.render.camera_match`; ``camera`` says which of these).
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
    stabilize: StabilizeOptions = field(default_factory=StabilizeOptions)
    solver: SolverOptions = field(default_factory=SolverOptions)
    render_samples: int = 0
    antialias: bool = True
    pin_threads: bool | None = None
    keepout: KeepoutOptions = field(default_factory=KeepoutOptions)
    details: DetailOptions = field(default_factory=DetailOptions)
    part_fade_ms: float = 120.0
    tune_runtime: bool = True
    cloth: ClothOptions | None = field(default_factory=ClothOptions)
    own_clothes: OwnClothesOptions = field(default_factory=OwnClothesOptions)
    fabric: bool = True
    ambient_occlusion: bool = True
    wrinkles: bool = True
    contact_shadows: bool = True
    shadow: ShadowOptions = field(default_factory=ShadowOptions)
    camera_match: bool = True
    camera: CameraMatchOptions = field(default_factory=CameraMatchOptions)

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
    pose : the (smoothed, stabilized) Pose, or None when nobody was found.
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


class WornItem(NamedTuple):
    """An item as worn: the catalog item and its colourway (None: the item's default)."""

    garment: Garment
    variant: str | None


@dataclass
class FrameAnalysis:
    """What the pose thread hands the GL thread for one frame: the models' outputs, nothing
    filtered (the filters run on the GL thread, see :meth:`TryOnEngine._finish`).

    frame : (H, W, 3) uint8 BGR, the checked camera frame.
    timestamp_ms : the stream's clock for this frame (ms, strictly increasing: what every
        stage uses; see :class:`~tryon.timing.StreamClock`), or None for a still image.
    frame_timestamp_ms : the caller's own timestamp for the frame (``FrameResult.timestamp_ms``);
        the same as ``timestamp_ms`` unless the caller's clock went back.
    intrinsics : the camera for this frame's size (computed once per frame, here).
    items : the outfit as it was when this frame was analysed (one snapshot: a change of
        items mid-stream takes effect from a whole frame on, never halfway through one).
    raw_pose : the frame's pose as the model gave it (unsmoothed): the GL thread smooths and
        stabilizes it, and draws from it directly what must not trail (hands and hair
        keep-out); None when nobody was found.
    observed : what the face and hand models saw (:class:`~tryon.details.DetailObservation`).
    timer : the frame's stage timer (pose-thread stages recorded).

    New pose-side stages add their output as a typed field with a default here.
    """

    frame: np.ndarray
    timestamp_ms: int | None
    intrinsics: CameraIntrinsics
    items: tuple[WornItem, ...]
    raw_pose: Pose | None
    observed: DetailObservation
    timer: StageTimer
    frame_timestamp_ms: int | None = None


@dataclass
class FrameScene:
    """What the GL thread builds for one frame, step by step (see ``TryOnEngine._finish``).

    pose : the smoothed and stabilized pose the body is solved from (a still: the raw pose),
    None when nobody was found; details : the face mesh, head pose and hands the worn items
    need (smoothed, carried between the models' runs).
    opacity : the outfit's opacity this frame (fading); body : the solved skeleton in camera
    space (or the last one while fading out), None when there is nothing to dress.
    measurements : the shopper's held measurements (cm) in a stream, or None.
    draws : the deformed meshes to draw (camera metres); occluder : the posed body drawn
    depth-only, or None; lighting : the items' light; keepout : (h, w) float32 soft mask of
    hands and hair in front of clothes at the segmentation's size, or None; layer : the
    rendered items, read back. cleanup : the frame with the shopper's own clothes removed
    where the items leave them uncovered, or None (off, or nothing to remove). shaded_frame :
    the frame (cleaned, if it was) with the items' contact shadows, or None (none cast).

    New GL-side stages add their output as a typed field with a default here.
    """

    pose: Pose | None
    details: Details
    opacity: float = 0.0
    body: PosedBody | None = None
    measurements: BodyMeasurements | None = None
    draws: list[Draw] = field(default_factory=list)
    occluder: Draw | None = None
    lighting: Lighting | None = None
    keepout: np.ndarray | None = None
    layer: ItemLayer | None = None
    cleanup: Cleanup | None = None
    shaded_frame: np.ndarray | None = None
