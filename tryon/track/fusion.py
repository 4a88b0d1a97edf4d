"""Image motion and keypoints fused: a Kalman filter per keypoint (image px) and per world
landmark (metres) whose motion model is the measured image motion and whose measurement is
the pose model's output.

- **Image.** Each keypoint is moved by the image motion of its regions (the prediction),
  then drawn toward the pose model's keypoint by the usual Kalman gain. While the image
  shows no motion the prediction is certain and the gain falls: a still body stays still
  whatever the keypoints do (they are averaged, not followed). A moving body is carried by
  the image at the image's pace, so nothing trails. A keypoint that jumps where the image
  shows no motion (beyond ``gate`` standard deviations) is not believed; if it insists for
  ``max_rejected_frames`` the filter re-locks onto it (the flow may have lost the limb).
- **World.** World landmarks are hip-centred, so the image's motion of a point *relative to
  the hips* is what may change them: it sets their process noise. Swaying, stepping or
  standing still leaves the world landmarks (and with them the body's depth and rotation,
  which the rig solver takes from them) averaged and held; an arm that moves lets its world
  landmarks follow the model.

Where the image motion was not measured (too few features: motion blur, occlusion, a bare
wall of a shirt), a point falls back to the smoothed pose and its filter restarts there.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from tryon.pose.landmarks import GROUPS, NUM_LANDMARKS, L
from tryon.track.flow import RegionMotion
from tryon.track.kernels import fuse
from tryon.track.regions import MEMBERSHIP, body_scale_px

#: Frames per second the per-frame noise figures are stated at.
REFERENCE_FPS = 30.0


def _default_keypoint_sigma() -> dict[str, float]:
    # the pose model's noise on a keypoint, as a share of the body's scale (shoulder width)
    return {"face": 0.02, "torso": 0.02, "arms": 0.03, "hands": 0.04, "legs": 0.03, "feet": 0.04}


def _default_world_sigma() -> dict[str, float]:
    # the pose model's noise on a world landmark, metres
    return {"face": 0.02, "torso": 0.015, "arms": 0.025, "hands": 0.03, "legs": 0.025, "feet": 0.03}


@dataclass(frozen=True)
class FusionOptions:
    """How image motion and keypoints are weighed.

    keypoint_sigma : per landmark group, the keypoints' noise as a share of the body's scale
        (:func:`tryon.track.regions.body_scale_px`); a point of visibility v counts as
        ``1 / sqrt(max(v, 0.05))`` times noisier, one outside the picture (the model's guess)
        ``sqrt(outside_factor)`` times more.
    still_sigma : motion the flow cannot see (per frame at 30 fps, share of the body's scale).
    motion_sigma : share of a point's measured motion (px) that may be wrong.
    measurement_lag_frames : the pose model's keypoints trail a moving body (MediaPipe's own
        tracking smooths them): their noise grows by this many frames of the point's motion.
    consistency, consistency_alpha : a point whose innovations run (running mean, weight of
        the newest ``consistency_alpha``) above ``consistency`` times their expected square
        has its image motion trusted less, until they do not.
    unmeasured_sigma : where the image motion is unknown a point moves as the smoothed pose
        does, this uncertain (per frame, share of the body's scale).
    consistency_clip, held_below, held_alpha : a point the image shows moving less than
        ``held_below`` (share of the body's scale, a frame) is held: one frame's disagreement
        counts at most ``consistency_clip`` toward the running mean, whose newest frame weighs
        ``held_alpha`` (not ``consistency_alpha``), so neither lone keypoint spikes nor the pose
        model's wandering for a few frames are taken for drift, and only a lasting offset is
        followed (a 3 sigma offset within about half a second).
    with_body_below, with_body_groups, held_consistency : a point of these landmark groups
        whose image motion differs from the hips' by less than ``with_body_below`` (share of
        the body's scale, a frame) moves with the body as the image shows it (held, or carried
        by a sway): a lasting disagreement with its keypoint is the pose model's (its reading
        of a still trunk wanders in plateaus of up to a second, 2-3 sigma off) and raises its
        prediction's uncertainty only beyond ``held_consistency`` (inf: never; the gate's
        re-lock still follows a jump that stays). Arms and legs articulate on their own and
        keep ``consistency``.
    held_flow_share : share of a held point's image-motion variance added to its prediction's
        each frame (its features' noise does not accumulate as a moving point's errors do).
    gate : innovations beyond this many standard deviations are rejected ...
    max_rejected_frames : ... until they have persisted this many frames (then re-locked).
    world_sigma_m : per group, world landmarks' noise (metres).
    world_still_sigma_m : world motion unseen in the image (per frame at 30 fps, metres).
    world_motion_sigma : share of a point's image motion relative to the hips (in metres at
        the body's scale) by which its world landmark may change.
    """

    keypoint_sigma: dict[str, float] = field(default_factory=_default_keypoint_sigma)
    still_sigma: float = 0.0002
    motion_sigma: float = 0.02
    measurement_lag_frames: float = 1.0
    consistency: float = 1.5
    consistency_alpha: float = 0.3
    consistency_clip: float = 2.0
    held_below: float = 0.001
    held_alpha: float = 0.1
    held_consistency: float = math.inf
    with_body_below: float = 0.01
    with_body_groups: tuple[str, ...] = ("face", "torso")
    held_flow_share: float = 0.1
    outside_factor: float = 25.0
    unmeasured_sigma: float = 0.01
    gate: float = 8.0
    max_rejected_frames: int = 5
    world_sigma_m: dict[str, float] = field(default_factory=_default_world_sigma)
    world_still_sigma_m: float = 0.0003
    world_motion_sigma: float = 2.0

    def __post_init__(self) -> None:
        for name in ("keypoint_sigma", "world_sigma_m"):
            table = getattr(self, name)
            missing = set(GROUPS) - set(table)
            if missing:
                raise ValueError(f"{name} missing for groups: {sorted(missing)}")
            if any(v <= 0 for v in table.values()):
                raise ValueError(f"{name} must be > 0, got {table}")
        unknown = set(self.with_body_groups) - set(GROUPS)
        if unknown:
            raise ValueError(f"with_body_groups has unknown groups: {sorted(unknown)}")
        if self.gate <= 0 or self.max_rejected_frames < 0:
            raise ValueError("gate must be > 0 and max_rejected_frames >= 0")


def _per_point(table: dict[str, float]) -> np.ndarray:
    out = np.ones(NUM_LANDMARKS)
    for group, idx in GROUPS.items():
        out[list(idx)] = table[group]
    return out


_HIPS_INDEX = np.array([L.LEFT_HIP, L.RIGHT_HIP])
_TORSO_EDGES = np.array(
    [
        (L.LEFT_SHOULDER, L.RIGHT_SHOULDER),
        (L.LEFT_HIP, L.RIGHT_HIP),
        (L.LEFT_SHOULDER, L.LEFT_HIP),
        (L.RIGHT_SHOULDER, L.RIGHT_HIP),
    ]
)


class KeypointFusion:
    """The per-point filters of one stream (image keypoints and world landmarks).

    ``update`` returns (keypoints_px (33, 2), world_m (33, 3), support (33,)): the fused
    pose and how much of each point's motion the image measured (0: the smoothed pose).
    After it, ``last_with_body`` (33,) bool: the points the image showed moving with the body
    (see ``FusionOptions.with_body_below``).
    """

    def __init__(self, options: FusionOptions | None = None) -> None:
        self.options = options or FusionOptions()
        self._sigma = _per_point(self.options.keypoint_sigma)
        self._world_sigma = _per_point(self.options.world_sigma_m)
        self._with_body_points = np.zeros(NUM_LANDMARKS, dtype=bool)
        for g in self.options.with_body_groups:
            self._with_body_points[list(GROUPS[g])] = True
        self.reset()

    def reset(self) -> None:
        self._x: np.ndarray | None = None  # (33, 2) image px
        self._p: np.ndarray | None = None  # (33,) px^2, per axis
        self._xw: np.ndarray | None = None  # (33, 3) world m
        self._pw: np.ndarray | None = None  # (33,) m^2, per axis
        self._rejected = np.zeros(NUM_LANDMARKS, dtype=np.int64)
        self._nis = np.ones(NUM_LANDMARKS)  # innovations' running normalized square
        self._s = np.zeros(NUM_LANDMARKS)  # last innovation variance, px^2 per axis
        self._rejected_w = np.zeros(NUM_LANDMARKS, dtype=np.int64)
        self.last_rejected = np.zeros(NUM_LANDMARKS, dtype=bool)
        self.last_suspect = np.zeros(NUM_LANDMARKS, dtype=bool)
        self.last_with_body = np.zeros(NUM_LANDMARKS, dtype=bool)
        self._d = np.zeros((NUM_LANDMARKS, 2))  # last frame's image motion, px
        self._fallback = np.zeros((NUM_LANDMARKS, 2))  # last frame's smoothed keypoints, px
        self._has_fallback = False
        self._z = np.zeros((NUM_LANDMARKS, 2))  # last frame's measured keypoints, px
        self._has_z = False

    @property
    def keypoints_px(self) -> np.ndarray | None:
        """(33, 2) image px: the fused keypoints of the last frame (None before the first)."""
        return None if self._x is None else self._x.copy()

    def update(
        self,
        measured_px: np.ndarray,
        measured_world_m: np.ndarray,
        fallback_px: np.ndarray,
        fallback_world_m: np.ndarray,
        visibility: np.ndarray,
        motion: RegionMotion | None,
        dt_s: float,
        in_frame: np.ndarray | None = None,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """One frame. measured_* : the pose model's keypoints (33, 2) px and world landmarks
        (33, 3) m for this frame, unsmoothed (the filter is the smoother); fallback_* : the
        smoothed pose's, taken where the image motion is unknown. visibility : (33,) in [0, 1].
        motion : the regions' image motion since the last frame (None: unknown everywhere).
        dt_s : seconds since the last frame. in_frame : (33,) bool, the keypoint lies in the
        picture (None: all do)."""
        o = self.options
        z = np.asarray(measured_px, dtype=np.float64)
        zw = np.asarray(measured_world_m, dtype=np.float64)
        scale = body_scale_px(z if self._x is None else self._x)
        vis_factor = 1.0 / np.maximum(np.asarray(visibility, dtype=np.float64), 0.05)
        if in_frame is not None:  # a point outside the picture is the model's guess
            vis_factor[~np.asarray(in_frame, bool)] *= o.outside_factor
        r = (self._sigma * scale) ** 2 * vis_factor
        rw = self._world_sigma**2 * vis_factor
        frames = max(dt_s * REFERENCE_FPS, 1e-3)

        if self._x is None:
            self._x, self._p = np.asarray(fallback_px, np.float64).copy(), r.copy()
            self._xw, self._pw = np.asarray(fallback_world_m, np.float64).copy(), rw.copy()
            self._fallback = self._x.copy()
            self._has_fallback = True
            self.last_rejected = np.zeros(NUM_LANDMARKS, dtype=bool)
            self.last_with_body = np.zeros(NUM_LANDMARKS, dtype=bool)
            return self._x.copy(), self._xw.copy(), np.zeros(NUM_LANDMARKS)
        if motion is None:
            motion_d = np.zeros((NUM_LANDMARKS, 4))
        else:
            # (33, 4): each point's image motion dx, dy (px), its standard error and support
            motion_d = motion.displacement_table(
                self._x, MEMBERSHIP, None if in_frame is None else ~np.asarray(in_frame, bool)
            )
        fb = np.ascontiguousarray(fallback_px, np.float64)
        fbw = np.ascontiguousarray(fallback_world_m, np.float64)
        zw = np.ascontiguousarray(zw)
        # the per-point predict (by the image's motion), gate and update, image and world, in
        # one compiled pass (:func:`tryon.track.kernels.fuse`)
        fuse(
            self._x, self._p, self._xw, self._pw, self._rejected, self._rejected_w, self._nis, self._s,
            self._d, self._z, self._has_z, self._fallback, self._has_fallback,
            np.ascontiguousarray(z), zw, fb, fbw, r, rw, motion_d, float(scale), float(frames), _TORSO_EDGES,
            _HIPS_INDEX, o.still_sigma, o.motion_sigma, o.measurement_lag_frames, o.consistency,
            o.consistency_alpha, o.consistency_clip, o.held_below, o.held_alpha, o.held_consistency,
            o.with_body_below, self._with_body_points, o.held_flow_share, o.unmeasured_sigma, o.gate,
            o.max_rejected_frames,
            o.world_still_sigma_m, o.world_motion_sigma, self.last_suspect, self.last_rejected, self.last_with_body,
        )  # fmt: skip
        self._has_z = self._has_fallback = True
        return self._x.copy(), self._xw.copy(), motion_d[:, 3].copy()
