"""The shopper's proportions: segment lengths from world landmarks, held steady over time.

BlazePose's world landmarks are metric but noisy from frame to frame, and left and right
limbs differ by centimetres. The tracker takes each segment's median over a window of
frames (left and right pooled), so garments keep one size instead of breathing, and turns
the result into a :class:`~tryon.body.solver.BodyShape` relative to the mannequin.
"""

from __future__ import annotations

import bisect
import math
from collections import deque
from dataclasses import dataclass

import numpy as np

from tryon.body.mannequin import Mannequin
from tryon.body.rotations import clamp
from tryon.body.skeleton import BONE_NAMES
from tryon.body.solver import BodyShape
from tryon.body.targets import row_norms
from tryon.pose.landmarks import L

#: segment -> pairs of landmark indices (one per side, or one for a central segment).
SEGMENTS: dict[str, tuple[tuple[int, int], ...]] = {
    "shoulder_width": ((L.LEFT_SHOULDER, L.RIGHT_SHOULDER),),
    "hip_width": ((L.LEFT_HIP, L.RIGHT_HIP),),
    "upper_arm": ((L.LEFT_SHOULDER, L.LEFT_ELBOW), (L.RIGHT_SHOULDER, L.RIGHT_ELBOW)),
    "forearm": ((L.LEFT_ELBOW, L.LEFT_WRIST), (L.RIGHT_ELBOW, L.RIGHT_WRIST)),
    "thigh": ((L.LEFT_HIP, L.LEFT_KNEE), (L.RIGHT_HIP, L.RIGHT_KNEE)),
    "shin": ((L.LEFT_KNEE, L.LEFT_ANKLE), (L.RIGHT_KNEE, L.RIGHT_ANKLE)),
    "foot": ((L.LEFT_HEEL, L.LEFT_FOOT_INDEX), (L.RIGHT_HEEL, L.RIGHT_FOOT_INDEX)),
}
#: Segments measured between midpoints: torso = mid-shoulders to mid-hips.
TORSO = "torso_length"
ALL_SEGMENTS = (*SEGMENTS, TORSO)

#: Which segment's ratio scales which bones' length.
BONE_SEGMENT: dict[str, str] = {}
for _name in BONE_NAMES:
    _base = _name.split(".")[0]
    if _base in ("upperarm01", "upperarm02"):
        BONE_SEGMENT[_name] = "upper_arm"
    elif _base in ("lowerarm01", "lowerarm02", "wrist"):
        BONE_SEGMENT[_name] = "forearm"
    elif _base in ("upperleg01", "upperleg02"):
        BONE_SEGMENT[_name] = "thigh"
    elif _base in ("lowerleg01", "lowerleg02"):
        BONE_SEGMENT[_name] = "shin"
    elif _base == "foot":
        BONE_SEGMENT[_name] = "foot"
    else:
        BONE_SEGMENT[_name] = TORSO

RATIO_RANGE = (0.7, 1.4)
GIRTH_RANGE = (0.8, 1.3)


#: Every segment's landmark pairs in one table (pair k belongs to segment ``_PAIR_SEGMENT[k]``).
_PAIR_SEGMENT = [name for name, pairs in SEGMENTS.items() for _ in pairs]
_PAIR_A = np.array([a for pairs in SEGMENTS.values() for a, _ in pairs])
_PAIR_B = np.array([b for pairs in SEGMENTS.values() for _, b in pairs])
_TORSO_ENDS = [L.LEFT_SHOULDER, L.RIGHT_SHOULDER, L.LEFT_HIP, L.RIGHT_HIP]


def measure(world_m: np.ndarray, visibility: np.ndarray, min_visibility: float = 0.6) -> dict[str, float]:
    """Segment lengths in metres from one frame; a segment is absent when its ends are not visible.
    A two-sided segment is the mean of the sides seen."""
    world_m = np.asarray(world_m)
    seen = ((visibility[_PAIR_A] >= min_visibility) & (visibility[_PAIR_B] >= min_visibility)).tolist()
    lengths = row_norms(world_m[_PAIR_A] - world_m[_PAIR_B]).tolist()
    sums: dict[str, list[float]] = {}
    for name, ok, v in zip(_PAIR_SEGMENT, seen, lengths):
        if ok:
            sums.setdefault(name, []).append(v)
    out = {name: sum(vals) / len(vals) for name, vals in sums.items()}
    if np.all(visibility[_TORSO_ENDS] >= min_visibility):
        mid_sh = 0.5 * (world_m[L.LEFT_SHOULDER] + world_m[L.RIGHT_SHOULDER])
        mid_hip = 0.5 * (world_m[L.LEFT_HIP] + world_m[L.RIGHT_HIP])
        out[TORSO] = float(np.linalg.norm(mid_sh - mid_hip))
    return out


def mannequin_measurements(mannequin: Mannequin) -> dict[str, float]:
    """The same segments on the mannequin's bind landmarks (metres)."""
    return measure(mannequin.landmarks.bind_m, np.ones(33))


@dataclass(frozen=True)
class BodyMeasurements:
    """The shopper's held measurements in centimetres (None where never seen) and how many
    frames support them."""

    shoulder_width_cm: float | None
    hip_width_cm: float | None
    torso_length_cm: float | None
    upper_arm_cm: float | None
    forearm_cm: float | None
    thigh_cm: float | None
    shin_cm: float | None
    foot_cm: float | None
    frames: int

    @classmethod
    def from_metres(cls, m: dict[str, float], frames: int) -> BodyMeasurements:
        def cm(k: str) -> float | None:
            return round(m[k] * 100.0, 1) if k in m else None

        return cls(
            shoulder_width_cm=cm("shoulder_width"),
            hip_width_cm=cm("hip_width"),
            torso_length_cm=cm(TORSO),
            upper_arm_cm=cm("upper_arm"),
            forearm_cm=cm("forearm"),
            thigh_cm=cm("thigh"),
            shin_cm=cm("shin"),
            foot_cm=cm("foot"),
            frames=frames,
        )


def body_shape(measured: dict[str, float], reference: dict[str, float]) -> BodyShape:
    """Bone length factors and girth relative to the mannequin; unmeasured segments borrow
    the mean ratio of the measured ones (a tall shopper is tall everywhere)."""
    ratios = {k: measured[k] / reference[k] for k in measured if k in reference and reference[k] > 0}
    ratios = {k: clamp(v, *RATIO_RANGE) for k, v in ratios.items()}
    length_keys = [k for k in ratios if k not in ("shoulder_width", "hip_width")]
    default = float(np.mean([ratios[k] for k in length_keys])) if length_keys else 1.0
    scale = np.array([ratios.get(BONE_SEGMENT[name], default) for name in BONE_NAMES])
    widths = [ratios[k] for k in ("shoulder_width", "hip_width") if k in ratios]
    girth = clamp(float(np.mean(widths)), *GIRTH_RANGE) if widths else 1.0
    head = BONE_NAMES.index("head")
    scale[head] = float(np.sqrt(scale[head]))  # heads vary less than bodies
    return BodyShape(bone_scale=scale, girth=girth)


class RunningMedian:
    """The median of the last ``window`` values, kept sorted as they come and go (the same
    value ``np.median`` gives over them, without sorting the window every frame)."""

    def __init__(self, window: int) -> None:
        self._recent: deque[float] = deque(maxlen=window)
        self._sorted: list[float] = []

    def __len__(self) -> int:
        return len(self._recent)

    def clear(self) -> None:
        self._recent.clear()
        self._sorted.clear()

    def append(self, value: float) -> None:
        if len(self._recent) == self._recent.maxlen:
            del self._sorted[bisect.bisect_left(self._sorted, self._recent[0])]
        self._recent.append(value)
        bisect.insort(self._sorted, value)

    def median(self) -> float:
        s, n = self._sorted, len(self._sorted)
        return s[n // 2] if n % 2 else (s[n // 2 - 1] + s[n // 2]) / 2


class ProportionTracker:
    """Running medians of the shopper's segments over the last ``window`` frames."""

    def __init__(self, mannequin: Mannequin, window: int = 90) -> None:
        self.reference = mannequin_measurements(mannequin)
        self.window = window
        self._samples: dict[str, RunningMedian] = {k: RunningMedian(window) for k in ALL_SEGMENTS}
        self._frames = 0
        self._held: dict[str, float] | None = None  # medians, until the next update

    def reset(self) -> None:
        for d in self._samples.values():
            d.clear()
        self._frames = 0
        self._held = None

    def update(self, world_m: np.ndarray, visibility: np.ndarray) -> None:
        """One frame's world landmarks; a segment that is not a finite length is left out."""
        for k, v in measure(world_m, visibility).items():
            if math.isfinite(v):
                self._samples[k].append(v)
        self._frames += 1
        self._held = None

    def held(self) -> dict[str, float]:
        if self._held is None:
            self._held = {k: d.median() for k, d in self._samples.items() if len(d)}
        return dict(self._held)

    def shape(self) -> BodyShape:
        return body_shape(self.held(), self.reference)

    def measurements(self) -> BodyMeasurements:
        return BodyMeasurements.from_metres(self.held(), self._frames)
