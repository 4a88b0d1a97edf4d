"""The stabilize stage: a stream's smoothed Pose anchored to the image's own motion.

Runs after smoothing and before the rig solve, on the frame and the pose model's output:
:class:`~tryon.track.flow.RegionFlow` measures each body region's motion in the image,
:class:`~tryon.track.fusion.KeypointFusion` fuses it with the keypoints and world landmarks.
The Pose handed on keeps the smoothed visibility, presence and mask; its keypoints and world
landmarks are the fused ones. Stills pass through; nobody found, a gap in the stream or a
change of frame size restarts it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from tryon.pose.types import Pose
from tryon.track.flow import FlowOptions, RegionFlow, RegionMotion, fit_region_motion
from tryon.track.fusion import FusionOptions, KeypointFusion
from tryon.track.regions import NUM_REGIONS, assign_regions

_warm = False


def warm_up() -> None:
    """Loads the compiled loops (:mod:`tryon.track.kernels`, compiling them if numba's cache
    is missing) once per process, with the argument types the stage passes, so that a stream's
    first frame does not wait for them (about a second on a loaded machine)."""
    global _warm
    if _warm:
        return
    n = 4 * NUM_REGIONS
    before = np.stack([np.arange(n, dtype=np.float64), np.arange(n, dtype=np.float64) % 7], axis=1) * 10.0
    motion = fit_region_motion(before, before + 1.0, np.arange(n) % NUM_REGIONS, 1.0, 2, 1.0, 10.0)
    kp = np.stack([np.linspace(100.0, 300.0, 33), np.linspace(100.0, 400.0, 33)], axis=1)
    assign_regions(before, kp)
    world = np.zeros((33, 3))
    fusion = KeypointFusion()
    for m in (None, motion):
        fusion.update(kp, world, kp, world, np.ones(33), m, 1 / 30, np.ones(33, dtype=bool))
    _warm = True


@dataclass(frozen=True)
class StabilizeOptions:
    """The stabilize stage's settings. ``enabled=False`` hands the smoothed pose on unchanged.

    max_gap_ms : a longer gap between frames restarts the stage (nothing is carried over).
    """

    enabled: bool = True
    flow: FlowOptions = field(default_factory=FlowOptions)
    fusion: FusionOptions = field(default_factory=FusionOptions)
    max_gap_ms: float = 500.0

    def __post_init__(self) -> None:
        if self.max_gap_ms <= 0:
            raise ValueError(f"max_gap_ms must be > 0, got {self.max_gap_ms}")


class Stabilizer:
    """One stream's stabilize stage. ``stabilizer(frame_bgr, pose, raw_pose)`` -> Pose | None.

    After each call: ``last_motion`` (the regions' image motion, or None) and ``last_support``
    ((33,) in [0, 1]: how much of each point's motion the image measured; 0 where the smoothed
    pose was used).
    """

    def __init__(self, options: StabilizeOptions | None = None) -> None:
        self.options = options or StabilizeOptions()
        if self.options.enabled:
            warm_up()
        self.flow = RegionFlow(self.options.flow)
        self.fusion = KeypointFusion(self.options.fusion)
        self.reset()

    def reset(self) -> None:
        self.flow.reset()
        self.fusion.reset()
        self._last_ms: float | None = None
        self._size: tuple[int, int] | None = None
        self.last_motion: RegionMotion | None = None
        self.last_support = np.zeros(33)

    def __call__(
        self, frame_bgr: np.ndarray, pose: Pose | None, raw_pose: Pose | None = None, timestamp_ms: float | None = None
    ) -> Pose | None:
        """frame_bgr : (H, W, 3) uint8, the frame the poses were found in. pose : the smoothed
        Pose (None: nobody, the stage restarts). raw_pose : the pose model's own output for the
        frame (the measurement; the smoothed pose when not given). timestamp_ms : the stream's
        time (None: a still image, passed through)."""
        t_ms = timestamp_ms if timestamp_ms is not None else (None if pose is None else pose.timestamp_ms)
        if pose is None:
            self.reset()
            return None
        if not self.options.enabled or t_ms is None:
            return pose
        size = (frame_bgr.shape[1], frame_bgr.shape[0])
        if size != pose.image_size:
            raise ValueError(f"frame is {size[0]}x{size[1]} but the pose is for {pose.width}x{pose.height}")
        if (
            self._last_ms is not None
            and (t_ms - self._last_ms > self.options.max_gap_ms or t_ms <= self._last_ms)
            or self._size != size
        ):
            self.reset()
        dt_s = 0.0 if self._last_ms is None else (t_ms - self._last_ms) / 1000.0
        self._last_ms, self._size = t_ms, size
        measured = raw_pose if raw_pose is not None else pose

        prev = self.fusion.keypoints_px
        motion = self.flow(frame_bgr, pose.segmentation, prev if prev is not None else pose.keypoints_px)
        kp, world, support = self.fusion.update(
            measured.keypoints_px,
            measured.world_m,
            pose.keypoints_px,
            pose.world_m,
            pose.visibility,
            motion,
            dt_s,
            measured.in_frame(),
        )
        self.last_motion, self.last_support = motion, support
        return pose.with_arrays(keypoints_px=kp.astype(np.float32), world_m=world.astype(np.float32))
