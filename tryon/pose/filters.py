"""Temporal smoothing of poses: a vectorised One Euro filter, per landmark group.

The One Euro filter (Casiez, Roussel, Vogel, CHI 2012) is a low-pass filter whose cutoff
rises with speed: heavy smoothing while the shopper stands still (no jitter), light
smoothing on fast moves (little lag). Each landmark group (face, torso, arms, hands,
legs, feet) has its own ``min_cutoff`` (Hz) and ``beta``; points the model marks as
barely visible are smoothed harder. A gap in the track resets the filters.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from tryon.jit import compiled
from tryon.pose.landmarks import GROUPS, NUM_LANDMARKS, TORSO
from tryon.pose.types import Pose


@compiled
def _one_euro_step(x, prev_x, prev_dx, dt, min_cutoff, beta, d_cutoff, out_x, out_dx):
    """One step of :class:`OneEuroFilter` over (n, d) points, float64, in one pass (the
    vectorised steps' arithmetic, in their order): the speed estimate ``out_dx`` low-passed at
    ``d_cutoff``; each point's cutoff ``min_cutoff + beta * |out_dx|``; ``out_x`` low-passed
    at it."""
    n, d = x.shape
    a_d = 1.0 / (1.0 + (1.0 / (2.0 * math.pi * d_cutoff)) / dt)
    for i in range(n):
        sq = 0.0
        for k in range(d):
            dx = (x[i, k] - prev_x[i, k]) / dt
            v = prev_dx[i, k] + a_d * (dx - prev_dx[i, k])
            out_dx[i, k] = v
            sq = v * v if k == 0 else sq + v * v
        cutoff = min_cutoff[i] + beta[i] * math.sqrt(sq)
        a = 1.0 / (1.0 + (1.0 / (2.0 * math.pi * cutoff)) / dt)
        for k in range(d):
            out_x[i, k] = prev_x[i, k] + a * (x[i, k] - prev_x[i, k])


@compiled
def _blend_f32(prev, cur, a, out):
    """``out = prev + a * (cur - prev)``, float32 (2-D), in one pass."""
    for i in range(prev.shape[0]):
        for j in range(prev.shape[1]):
            out[i, j] = prev[i, j] + a * (cur[i, j] - prev[i, j])


class OneEuroFilter:
    """One Euro filter over ``n`` points of dimension ``d``, each with its own parameters.

    min_cutoff : (n,) Hz, the cutoff at rest. beta : (n,), cutoff gain per unit of speed
    (speed in the signal's units per second, measured as the norm over ``d``).
    d_cutoff : Hz, cutoff of the speed estimate.
    """

    def __init__(self, min_cutoff: np.ndarray, beta: np.ndarray, d_cutoff: float = 1.0) -> None:
        self.min_cutoff = np.asarray(min_cutoff, dtype=np.float64)
        self.beta = np.asarray(beta, dtype=np.float64)
        self.d_cutoff = float(d_cutoff)
        self.reset()

    def reset(self) -> None:
        self._x: np.ndarray | None = None
        self._dx: np.ndarray | None = None
        self._t: float | None = None

    def __call__(self, x: np.ndarray, t_s: float, cutoff_scale: np.ndarray | None = None) -> np.ndarray:
        """Filter ``x`` : (n, d) observed at time ``t_s`` (seconds). Returns the smoothed (n, d).

        cutoff_scale : optional (n,) factor on the min cutoff (< 1 smooths harder).
        """
        x = np.ascontiguousarray(x, dtype=np.float64)
        if self._x is None or self._t is None or t_s <= self._t:
            self._x, self._dx, self._t = x.copy(), np.zeros_like(x), t_s
            return x.copy()
        dt = t_s - self._t
        self._t = t_s
        min_cutoff = self.min_cutoff if cutoff_scale is None else self.min_cutoff * cutoff_scale
        x_s, dx_s = np.empty_like(x), np.empty_like(x)
        _one_euro_step(x, self._x, self._dx, dt, np.ascontiguousarray(min_cutoff), self.beta, self.d_cutoff, x_s, dx_s)
        self._x, self._dx = x_s, dx_s
        return x_s.copy()


@dataclass(frozen=True)
class GroupParams:
    """One Euro parameters for a landmark group: ``min_cutoff`` in Hz, ``beta`` per unit/s."""

    min_cutoff: float
    beta: float


def _default_image_params() -> dict[str, GroupParams]:
    # Keypoints are filtered in units of the image height (so the same numbers fit any
    # resolution). Feet and hands are the noisiest points: smoothed hardest.
    return {
        "face": GroupParams(1.5, 4.0),
        "torso": GroupParams(1.2, 3.0),
        "arms": GroupParams(1.5, 5.0),
        "hands": GroupParams(1.0, 4.0),
        "legs": GroupParams(1.2, 3.0),
        "feet": GroupParams(0.7, 2.0),
    }


def _default_world_params() -> dict[str, GroupParams]:
    # World landmarks in metres.
    return {
        "face": GroupParams(1.0, 6.0),
        "torso": GroupParams(0.8, 4.0),
        "arms": GroupParams(1.2, 6.0),
        "hands": GroupParams(0.8, 4.0),
        "legs": GroupParams(0.8, 4.0),
        "feet": GroupParams(0.5, 2.0),
    }


@dataclass(frozen=True)
class SmoothingOptions:
    """Smoothing settings. ``enabled=False`` passes poses through unchanged.

    image_params, world_params : per-group One Euro parameters for keypoints (image
        heights) and world landmarks (metres).
    centre_params, centre_d_cutoff : One Euro for the keypoints' centre (the trunk's corners
        averaged, in image heights); ``image_params`` then smooth each keypoint's offset from
        it. A sway moves the centre: it follows within a fraction of a frame, while the
        offsets, where the model's noise is, are smoothed hard. None: one filter per point.
    mask_time_constant_ms : time constant of the segmentation mask's exponential average
        (0 disables it); damps mask flicker.
    max_gap_ms : a longer gap between poses restarts the filters instead of gliding.
    min_visibility_scale : cutoff factor for a point of visibility 0 (1 at visibility 1).
    """

    enabled: bool = True
    image_params: dict[str, GroupParams] = field(default_factory=_default_image_params)
    centre_params: GroupParams | None = field(default_factory=lambda: GroupParams(2.0, 20.0))
    centre_d_cutoff: float = 3.0
    world_params: dict[str, GroupParams] = field(default_factory=_default_world_params)
    mask_time_constant_ms: float = 40.0
    max_gap_ms: float = 500.0
    min_visibility_scale: float = 0.3

    def __post_init__(self) -> None:
        for params in (self.image_params, self.world_params):
            missing = set(GROUPS) - set(params)
            if missing:
                raise ValueError(f"smoothing parameters missing for groups: {sorted(missing)}")
            for name, p in params.items():
                if p.min_cutoff <= 0 or p.beta < 0:
                    raise ValueError(f"group {name!r}: min_cutoff must be > 0 and beta >= 0, got {p}")
        c = self.centre_params
        if c is not None and (c.min_cutoff <= 0 or c.beta < 0 or self.centre_d_cutoff <= 0):
            raise ValueError(f"centre: min_cutoff and d_cutoff must be > 0 and beta >= 0, got {c}")


def _per_point(params: dict[str, GroupParams]) -> tuple[np.ndarray, np.ndarray]:
    min_cutoff = np.ones(NUM_LANDMARKS)
    beta = np.zeros(NUM_LANDMARKS)
    for group, idx in GROUPS.items():
        min_cutoff[list(idx)] = params[group].min_cutoff
        beta[list(idx)] = params[group].beta
    return min_cutoff, beta


class PoseSmoother:
    """Smooths a stream of poses: keypoints, world landmarks, visibility and mask."""

    def __init__(self, options: SmoothingOptions | None = None) -> None:
        self.options = options or SmoothingOptions()
        self._image = OneEuroFilter(*_per_point(self.options.image_params))
        self._world = OneEuroFilter(*_per_point(self.options.world_params))
        c = self.options.centre_params
        self._centre = (
            OneEuroFilter(np.array([c.min_cutoff]), np.array([c.beta]), self.options.centre_d_cutoff)
            if c is not None
            else None
        )
        self._mask: np.ndarray | None = None
        self._vis: np.ndarray | None = None
        self._pres: np.ndarray | None = None
        self._last_ms: float | None = None

    def reset(self) -> None:
        self._image.reset()
        self._world.reset()
        if self._centre is not None:
            self._centre.reset()
        self._mask = None
        self._vis = None
        self._pres = None
        self._last_ms = None

    def __call__(self, pose: Pose | None, timestamp_ms: float | None = None) -> Pose | None:
        """Smooth one pose of a stream. ``None`` (nobody) resets the filters and returns None."""
        if pose is None:
            self.reset()
            return None
        if not self.options.enabled:
            return pose
        t_ms = pose.timestamp_ms if timestamp_ms is None else timestamp_ms
        if t_ms is None:
            return pose  # a still image: nothing to smooth against
        if self._last_ms is not None and (t_ms - self._last_ms > self.options.max_gap_ms or t_ms <= self._last_ms):
            self.reset()
        dt_ms = None if self._last_ms is None else t_ms - self._last_ms
        self._last_ms = t_ms
        t_s = t_ms / 1000.0

        o = self.options
        scale = o.min_visibility_scale + (1.0 - o.min_visibility_scale) * np.clip(pose.visibility, 0, 1)
        height = float(pose.height)
        kp = pose.keypoints_px / height
        if self._centre is None:
            kp = self._image(kp, t_s, scale) * height
        else:
            # The body's centre (the trunk's corners, averaged: four times steadier than one
            # point) follows quickly; each point's offset from it is smoothed per group.
            w = np.clip(pose.visibility[TORSO], 0.05, 1.0)[:, None]
            centre = (kp[TORSO] * w).sum(axis=0, keepdims=True) / w.sum()
            centre_s = self._centre(centre, t_s)
            kp = (self._image(kp - centre, t_s, scale) + centre_s) * height
        world = self._world(pose.world_m, t_s, scale)

        vis = pose.visibility
        pres = pose.presence
        mask = pose.segmentation
        if dt_ms is not None and self._vis is not None:
            a = 1.0 - math.exp(-dt_ms / 60.0)
            vis = self._vis + a * (vis - self._vis)
            # Presence of points outside the frame flickers; the solver blends an unseen limb
            # between the model's guess and a relaxed pose by it, so it is held a little longer
            # (90 ms; at 250 ms sleeves arrived six frames late as the arms came into view).
            ap = 1.0 - math.exp(-dt_ms / 90.0)
            pres = self._pres + ap * (pres - self._pres)
            if (
                mask is not None
                and self._mask is not None
                and self._mask.shape == mask.shape
                and o.mask_time_constant_ms > 0
            ):
                am = 1.0 - math.exp(-dt_ms / o.mask_time_constant_ms)
                if mask.dtype == np.float32 and mask.ndim == 2 and self._mask.dtype == np.float32:
                    blended = np.empty_like(mask)
                    _blend_f32(np.ascontiguousarray(self._mask), np.ascontiguousarray(mask), np.float32(am), blended)
                    mask = blended
                else:
                    mask = self._mask + np.float32(am) * (mask - self._mask)
        self._vis = vis
        self._pres = pres
        self._mask = mask
        return pose.with_arrays(
            keypoints_px=kp.astype(np.float32),
            world_m=world.astype(np.float32),
            visibility=np.asarray(vis, dtype=np.float32),
            presence=np.asarray(pres, dtype=np.float32),
            segmentation=mask,
        )


class TrackFader:
    """Fades items in when the shopper is found and out when lost, instead of popping.

    ``update(found, t_ms)`` returns the opacity in [0, 1] to draw items with.
    """

    def __init__(self, fade_in_ms: float = 200.0, fade_out_ms: float = 150.0) -> None:
        if fade_in_ms < 0 or fade_out_ms < 0:
            raise ValueError("fade times must be >= 0")
        self.fade_in_ms = fade_in_ms
        self.fade_out_ms = fade_out_ms
        self.opacity = 0.0
        self._last_ms: float | None = None

    def reset(self) -> None:
        self.opacity = 0.0
        self._last_ms = None

    def update(self, found: bool, t_ms: float | None) -> float:
        if t_ms is None or self._last_ms is None or t_ms <= self._last_ms:
            dt = None
        else:
            dt = t_ms - self._last_ms
        self._last_ms = t_ms
        if dt is None:
            self.opacity = 1.0 if found else 0.0
            return self.opacity
        span = self.fade_in_ms if found else self.fade_out_ms
        step = 1.0 if span <= 0 else dt / span
        target = 1.0 if found else 0.0
        if self.opacity < target:
            self.opacity = min(target, self.opacity + step)
        else:
            self.opacity = max(target, self.opacity - step)
        return self.opacity
