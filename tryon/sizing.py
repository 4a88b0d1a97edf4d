"""Size advice: the shopper's measured body against a garment's size chart.

What the camera can measure is the skeleton: BlazePose's world landmarks give segment lengths
in metres (:mod:`tryon.body.proportions`). This module adds the shopper's height, turns widths
into the girths size charts are written in, and says which size fits and how sure that is.

**Quantities** (all in cm; a chart may use any of them):

==================  =========================================================================
``height``          stature, from the landmark chain (below); needs the legs and feet in view
``shoulder_width``  between the BlazePose shoulder landmarks (joint centres: a few cm less
                    than a tape across the shoulders)
``hip_width``       between the hip landmarks (hip joint centres)
``torso_length``    mid-shoulders to mid-hips
``arm_length``      shoulder to wrist (upper arm + forearm)
``leg_length``      hip joint to ankle (thigh + shin), close to the inside leg
``chest``           chest girth, estimated as ``2.82 x shoulder_width``
``waist``           waist girth, estimated as ``3.75 x hip_width``
``hips``            hip girth, estimated as ``4.75 x hip_width``
==================  =========================================================================

The girth factors come from the MakeHuman base body the engine is rigged on (its mesh, cut at
chest, waist and hip level and measured around the convex hull like a tape, gives 2.58, 3.3
and 4.69 times its landmark widths) raised to an average adult build (chest/height of the
EN 13402 menswear tables at size M). A width says nothing about how much flesh is around the
bones, so girths carry an extra uncertainty (``DERIVED``).

**Height.** ``height = 1.118 x (|nose - mid-shoulders| + |mid-shoulders - mid-hips| +
|hip - knee| + |knee - ankle|)`` (3D distances between world landmarks, legs averaged over the
visible sides). A chain of segment lengths, unlike a vertical extent, does not shrink when the
shopper bends the knees or leans. The factor adds what the chain misses (the skull above the
nose and the ankle above the floor): it makes the formula return the MakeHuman base body's
height exactly, and agrees with Drillis & Contini's proportions (nose at 0.91 H, ankle at
0.04 H: the chain is 0.87 H measured vertically, about 3% more along the segments).

**Scale.** BlazePose's world landmarks are metric by the model's estimate only: from one camera
it cannot tell a tall person far away from a short one close by, and its scale leans toward an
average body (we assume 6% error, ``SCALE_SIGMA_MODEL``). A calibrated camera with the standing
spot's distance (:mod:`tryon.calibration`) gives the true scale from the keypoints' pixel
lengths at that distance (``SCALE_SIGMA_CALIBRATED``, 2.5%), as long as the shopper stands
there.

**Size chart format** (a manifest's ``"size_chart"``)::

    "size_chart": {
        "unit": "cm",                      # "cm", "mm" or "in"
        "sizes": {                         # smallest first
            "S": {"chest": [86, 94], "height": [156, 172]},
            "M": {"chest": [94, 102], "height": [166, 182]},
            "L": {"chest": [102, 110], "height": [174, 190]}
        },
        "weights": {"chest": 1.0, "height": 0.5}   # optional; 1.0 for a quantity not named
    }

A range is the body measurement that the size is made for (ranges may overlap). Items without
a chart use ``DEFAULT_CHARTS`` by category (typical unisex EU sizing; tops: chest and height,
bottoms: hips, waist and height); accessories have no sizes.

**How sure.** Each measured quantity is a normal distribution around the held value, with a
relative spread from landmark noise, its conversion, and the number of frames; the scale error
is shared by all quantities. A size's likelihood is the weighted product over the chart's
quantities of the probability that the true value lies in its range, averaged over the scale
error; ``confidence`` is the recommended size's share of all the sizes' likelihood, times the
share of the chart's weight that could be measured (legs out of view: no height, less sure).
"""

from __future__ import annotations

import json
import math
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
from scipy.special import ndtr

from tryon.body.proportions import TORSO, BodyMeasurements, measure
from tryon.catalog.categories import CATEGORIES
from tryon.frames import CameraIntrinsics
from tryon.pose.landmarks import L
from tryon.pose.types import Pose

#: Height = HEIGHT_FACTOR x the nose-shoulders-hips-knee-ankle chain (see the module docstring).
HEIGHT_FACTOR = 1.118

#: Relative error of each measured quantity for one person (landmark placement), before scale.
MEASURED: dict[str, float] = {
    "height": 0.02,
    "shoulder_width": 0.035,
    "hip_width": 0.05,
    "torso_length": 0.04,
    "arm_length": 0.04,
    "leg_length": 0.03,
}
#: Girths: quantity -> (measured width, factor, extra relative error of the conversion).
DERIVED: dict[str, tuple[str, float, float]] = {
    "chest": ("shoulder_width", 2.82, 0.04),
    "waist": ("hip_width", 3.75, 0.08),
    "hips": ("hip_width", 4.75, 0.05),
}
QUANTITIES = (*MEASURED, *DERIVED)

#: Per-frame jitter of a quantity (relative); it averages out over frames.
FRAME_SIGMA = 0.06
SCALE_SIGMA_MODEL = 0.06
SCALE_SIGMA_CALIBRATED = 0.025
#: Frames needed before any advice.
MIN_FRAMES = 15
#: Widths are only sampled when the shopper faces the camera within this yaw.
MAX_YAW_DEG = 35.0
#: A calibrated scale this far from the model's is taken as "not standing on the spot".
CALIBRATED_RATIO_RANGE = (0.8, 1.25)
#: Below this confidence the advice says plainly that it is a rough guess.
UNSURE_BELOW = 0.35

UNITS_TO_CM = {"cm": 1.0, "mm": 0.1, "in": 2.54}
#: A size chart file nested deeper than this is refused before it is parsed.
MAX_CHART_NESTING = 32

#: Typical unisex EU sizing (body measurements, cm), in the manifest's ``size_chart`` format.
DEFAULT_TOP_CHART: dict = {
    "unit": "cm",
    "sizes": {
        "XS": {"chest": [78, 86], "height": [150, 166]},
        "S": {"chest": [86, 94], "height": [156, 172]},
        "M": {"chest": [94, 102], "height": [166, 182]},
        "L": {"chest": [102, 110], "height": [174, 190]},
        "XL": {"chest": [110, 118], "height": [180, 196]},
        "XXL": {"chest": [118, 128], "height": [184, 202]},
    },
    "weights": {"chest": 1.0, "height": 0.5},
}
DEFAULT_BOTTOM_CHART: dict = {
    "unit": "cm",
    "sizes": {
        "XS": {"hips": [82, 90], "waist": [62, 70], "height": [150, 166]},
        "S": {"hips": [90, 98], "waist": [70, 78], "height": [156, 172]},
        "M": {"hips": [98, 106], "waist": [78, 86], "height": [166, 182]},
        "L": {"hips": [106, 114], "waist": [86, 94], "height": [174, 190]},
        "XL": {"hips": [114, 122], "waist": [94, 104], "height": [180, 196]},
        "XXL": {"hips": [122, 132], "waist": [104, 116], "height": [184, 202]},
    },
    "weights": {"hips": 1.0, "waist": 0.5, "height": 0.25},
}


# -- size charts ---------------------------------------------------------------------------
@dataclass(frozen=True)
class SizeChart:
    """A size chart in cm. sizes : names, smallest first. ranges : size -> quantity ->
    (low, high). weights : quantity -> weight. source : where it came from (for messages)."""

    sizes: tuple[str, ...]
    ranges: dict[str, dict[str, tuple[float, float]]]
    weights: dict[str, float]
    source: str = "manifest"

    @classmethod
    def from_dict(cls, data: Mapping, source: str = "manifest") -> SizeChart:
        """Parse the manifest format (see the module docstring); ValueError names what is wrong."""
        if not isinstance(data, Mapping) or not isinstance(data.get("sizes"), Mapping) or not data["sizes"]:
            raise ValueError("a size chart needs a non-empty 'sizes' mapping")
        unit = data.get("unit", "cm")
        if unit not in UNITS_TO_CM:
            raise ValueError(f"size chart unit must be one of {sorted(UNITS_TO_CM)}, got {unit!r}")
        k = UNITS_TO_CM[unit]
        ranges: dict[str, dict[str, tuple[float, float]]] = {}
        for size, spec in data["sizes"].items():
            if not isinstance(spec, Mapping) or not spec:
                raise ValueError(f"size {size!r}: expected quantity -> [low, high]")
            ranges[str(size)] = {}
            for q, bounds in spec.items():
                if q not in QUANTITIES:
                    raise ValueError(f"size {size!r}: unknown quantity {q!r} (known: {', '.join(QUANTITIES)})")
                try:
                    lo, hi = (float(v) * k for v in bounds)
                except (TypeError, ValueError):
                    raise ValueError(f"size {size!r}: {q} must be two numbers [low, high], got {bounds!r}") from None
                if not (math.isfinite(lo) and math.isfinite(hi)):
                    raise ValueError(f"size {size!r}: {q} range must be finite numbers, got {list(bounds)}")
                if not 0 < lo < hi:
                    raise ValueError(f"size {size!r}: {q} range must be 0 < low < high, got {list(bounds)}")
                ranges[str(size)][q] = (lo, hi)
        weights = {q: 1.0 for spec in ranges.values() for q in spec}
        raw_weights = data.get("weights") or {}
        if not isinstance(raw_weights, Mapping):
            raise ValueError("a size chart's 'weights' must map quantities to numbers")
        for q, w in raw_weights.items():
            if q in weights:
                try:
                    weights[q] = float(w)
                except (TypeError, ValueError):
                    raise ValueError(f"weight of {q!r} must be a number, got {w!r}") from None
                if not math.isfinite(weights[q]):
                    raise ValueError(f"weight of {q!r} must be a finite number, got {w!r}")
        if not any(w > 0 for w in weights.values()):
            raise ValueError("a size chart needs a quantity with a positive weight")
        return cls(tuple(ranges), ranges, weights, source)

    @property
    def quantities(self) -> tuple[str, ...]:
        return tuple(self.weights)

    @classmethod
    def from_json(cls, text: str, source: str = "size chart") -> SizeChart:
        """A chart from JSON text (see :meth:`from_dict`); ValueError in plain words for text that
        is not JSON, is nested too deeply to read, or holds NaN / Infinity."""
        return cls.from_dict(read_chart_json(text), source)


def read_chart_json(text: str) -> dict:
    """The JSON object of a size chart file, read without trusting it: ValueError (plain words)
    for invalid JSON, nesting deeper than a chart ever has (checked before parsing, so a file
    nested a hundred thousand deep never reaches the recursive parser), NaN or Infinity."""
    depth = deepest = 0
    for ch in text:  # brackets inside strings count too: an upper bound, fine for a chart
        if ch in "[{":
            depth += 1
            if depth > MAX_CHART_NESTING:
                raise ValueError(f"it is nested more than {MAX_CHART_NESTING} levels deep; a size chart has 4")
            deepest = max(deepest, depth)
        elif ch in "]}":
            depth -= 1

    def no_constant(word: str) -> float:
        raise ValueError(f"it holds {word}, which is not a number a size chart can use")

    try:
        data = json.loads(text, parse_constant=no_constant)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}") from None
    except RecursionError:
        raise ValueError("it is nested too deeply to read") from None
    if not isinstance(data, dict):
        raise ValueError("a size chart is a JSON object with a 'sizes' entry")
    return data


DEFAULT_CHARTS: dict[str, SizeChart] = {
    "top": SizeChart.from_dict(DEFAULT_TOP_CHART, "default chart for tops"),
    "bottom": SizeChart.from_dict(DEFAULT_BOTTOM_CHART, "default chart for bottoms"),
}


def chart_for(manifest: Mapping, category: str | None = None) -> SizeChart | None:
    """The item's own ``size_chart``, else the default for its category (``Category.size_chart``),
    else None (one size).

    A malformed chart raises ValueError (catalog tools should refuse it; the mirror warns and
    falls back to the default)."""
    if manifest.get("size_chart"):
        return SizeChart.from_dict(manifest["size_chart"], f"size chart of {manifest.get('id', 'the item')}")
    kind = CATEGORIES.get(category or manifest.get("category", ""))
    family = None if kind is None else kind.size_chart
    return DEFAULT_CHARTS.get(family) if family else None


# -- measuring -----------------------------------------------------------------------------
def height_from_world(world_m: np.ndarray, visibility: np.ndarray, min_visibility: float = 0.6) -> float | None:
    """Stature in metres from one frame's world landmarks (see the module docstring), or None
    when the nose, shoulders, hips, or both legs down to the ankle are not visible."""
    w = np.asarray(world_m, dtype=np.float64)
    ok = np.asarray(visibility) >= min_visibility
    core = [L.NOSE, L.LEFT_SHOULDER, L.RIGHT_SHOULDER, L.LEFT_HIP, L.RIGHT_HIP]
    if not ok[core].all():
        return None
    legs = []
    for hip, knee, ankle in ((L.LEFT_HIP, L.LEFT_KNEE, L.LEFT_ANKLE), (L.RIGHT_HIP, L.RIGHT_KNEE, L.RIGHT_ANKLE)):
        if ok[knee] and ok[ankle]:
            legs.append(np.linalg.norm(w[hip] - w[knee]) + np.linalg.norm(w[knee] - w[ankle]))
    if not legs:
        return None
    mid_sh = 0.5 * (w[L.LEFT_SHOULDER] + w[L.RIGHT_SHOULDER])
    mid_hip = 0.5 * (w[L.LEFT_HIP] + w[L.RIGHT_HIP])
    chain = np.linalg.norm(w[L.NOSE] - mid_sh) + np.linalg.norm(mid_sh - mid_hip) + float(np.mean(legs))
    return float(HEIGHT_FACTOR * chain)


def facing_yaw_deg(world_m: np.ndarray, a: int = L.LEFT_SHOULDER, b: int = L.RIGHT_SHOULDER) -> float:
    """How far the line a-b is turned out of the image plane (0: facing the camera)."""
    d = np.asarray(world_m[a], dtype=np.float64) - np.asarray(world_m[b], dtype=np.float64)
    return float(np.degrees(np.arctan2(abs(d[2]), math.hypot(d[0], d[1]) + 1e-9)))


#: Segments compared in pixels and in world metres for the calibrated scale.
_SCALE_PAIRS = (
    (L.LEFT_SHOULDER, L.LEFT_HIP),
    (L.RIGHT_SHOULDER, L.RIGHT_HIP),
    (L.LEFT_HIP, L.LEFT_KNEE),
    (L.RIGHT_HIP, L.RIGHT_KNEE),
    (L.LEFT_KNEE, L.LEFT_ANKLE),
    (L.RIGHT_KNEE, L.RIGHT_ANKLE),
)


def metric_scale_sample(pose: Pose, intrinsics: CameraIntrinsics, distance_m: float) -> float | None:
    """True metres per world-landmark metre in one frame, for a shopper standing at
    ``distance_m`` (camera depth) from a calibrated camera: the reliable torso and leg
    segments' pixel lengths back-projected at that depth, over their lengths in the image
    plane of the world landmarks (camera-aligned axes). None if too little is visible."""
    K = intrinsics
    if (K.width, K.height) != tuple(pose.image_size):
        K = K.scaled_to(*pose.image_size)
    ok = pose.reliable(0.6)
    metric = world = 0.0
    for a, b in _SCALE_PAIRS:
        if ok[a] and ok[b]:
            du = (pose.keypoints_px[a] - pose.keypoints_px[b]).astype(np.float64)
            metric += distance_m * math.hypot(du[0] / K.fx, du[1] / K.fy)
            world += float(np.linalg.norm((pose.world_m[a] - pose.world_m[b])[:2]))
    if world < 0.3:  # less than a torso's worth of segments
        return None
    return metric / world


# -- the shopper ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Shopper:
    """What is known of the shopper's body. values_cm : every measured and derived quantity
    (cm, scale applied). samples : frames behind each measured quantity. frames : frames seen.
    calibrated : the scale comes from a calibrated camera. scale_sigma : its relative error."""

    values_cm: dict[str, float]
    samples: dict[str, int]
    frames: int
    calibrated: bool = False
    scale_sigma: float = SCALE_SIGMA_MODEL
    notes: tuple[str, ...] = ()

    @classmethod
    def from_measurements(
        cls,
        m: BodyMeasurements,
        height_cm: float | None = None,
        scale: float = 1.0,
        calibrated: bool = False,
        notes: tuple[str, ...] = (),
    ) -> Shopper:
        """From the engine's held measurements (``FrameResult.measurements``) and a height."""

        def add(a: float | None, b: float | None) -> float | None:
            return None if a is None or b is None else a + b

        measured = {
            "height": height_cm,
            "shoulder_width": m.shoulder_width_cm,
            "hip_width": m.hip_width_cm,
            "torso_length": m.torso_length_cm,
            "arm_length": add(m.upper_arm_cm, m.forearm_cm),
            "leg_length": add(m.thigh_cm, m.shin_cm),
        }
        values = {k: v * scale for k, v in measured.items() if v is not None}
        return cls(
            with_girths(values),
            dict.fromkeys(values, m.frames),
            m.frames,
            calibrated,
            SCALE_SIGMA_CALIBRATED if calibrated else SCALE_SIGMA_MODEL,
            notes,
        )

    def sigma(self, quantity: str) -> float:
        """Relative error of one quantity, excluding the shared scale error."""
        base = DERIVED[quantity][0] if quantity in DERIVED else quantity
        n = max(1, self.samples.get(base, self.frames))
        s = math.hypot(MEASURED[base], FRAME_SIGMA / math.sqrt(n))
        return math.hypot(s, DERIVED[quantity][2]) if quantity in DERIVED else s


def with_girths(values_cm: dict[str, float]) -> dict[str, float]:
    """Measured quantities plus the girths derived from them (``DERIVED``)."""
    out = dict(values_cm)
    for q, (base, factor, _) in DERIVED.items():
        if base in values_cm:
            out[q] = values_cm[base] * factor
    return out


@dataclass(frozen=True)
class SizeAdvice:
    """The advice for one chart.

    size : the recommended size, or None when there is not enough to go on.
    confidence : [0, 1], how sure (see the module docstring). probabilities : size -> share.
    runner_up : the next likeliest size. message : plain words for the shopper (why no size,
    or what would make it surer), "" when there is nothing to say. missing : chart quantities
    that could not be measured. calibrated : the scale came from a calibrated camera.
    """

    size: str | None
    confidence: float
    probabilities: dict[str, float] = field(default_factory=dict)
    runner_up: str | None = None
    message: str = ""
    used: tuple[str, ...] = ()
    missing: tuple[str, ...] = ()
    calibrated: bool = False
    outside_chart: bool = False

    @property
    def unsure(self) -> bool:
        return self.size is None or self.confidence < UNSURE_BELOW

    @property
    def headline(self) -> str:
        """A short line: "M", "M or L", or "?"."""
        if self.size is None:
            return "?"
        if self.unsure and self.runner_up:
            return f"{self.size} or {self.runner_up}"
        return self.size


def _scale_grid(sigma: float, n: int = 15) -> tuple[np.ndarray, np.ndarray]:
    z = np.linspace(-2.5, 2.5, n)
    w = np.exp(-0.5 * z * z)
    return 1.0 + sigma * z, w / w.sum()


def recommend(shopper: Shopper, chart: SizeChart, min_frames: int = MIN_FRAMES) -> SizeAdvice:
    """The size that fits the shopper best by ``chart``, with how sure it is."""
    if shopper.frames < min_frames:
        return SizeAdvice(None, 0.0, message="Hold still a moment: measuring...", calibrated=shopper.calibrated)
    used = tuple(q for q in chart.quantities if q in shopper.values_cm and chart.weights[q] > 0)
    missing = tuple(q for q in chart.quantities if q not in shopper.values_cm and chart.weights[q] > 0)
    if not used:
        return SizeAdvice(None, 0.0, message="Stand facing the mirror, shoulders and hips in view", missing=missing)
    scales, scale_w = _scale_grid(shopper.scale_sigma)
    log_like = np.zeros((len(chart.sizes), len(scales)))
    for q in used:
        x = shopper.values_cm[q] * scales  # (S,) the value under each scale hypothesis
        sd = shopper.sigma(q) * x
        for i, size in enumerate(chart.sizes):
            lo, hi = chart.ranges[size].get(q, (None, None))
            if lo is None:
                continue  # this size does not constrain q
            p = ndtr((hi - x) / sd) - ndtr((lo - x) / sd)
            log_like[i] += chart.weights[q] * np.log(np.maximum(p, 1e-12))
    like = np.exp(log_like) @ scale_w
    total = float(like.sum())
    probs = like / total if total > 0 else np.full(len(chart.sizes), 1.0 / len(chart.sizes))
    order = np.argsort(-probs)
    best, second = int(order[0]), (int(order[1]) if len(order) > 1 else None)
    coverage = sum(chart.weights[q] for q in used) / sum(w for w in chart.weights.values() if w > 0)
    confidence = float(probs[best]) * coverage
    # The best size's own likelihood, at the held scale: tiny means the body is off the chart.
    fit = float(np.exp(log_like[best, len(scales) // 2] / sum(chart.weights[q] for q in used)))
    outside = fit < 0.05
    notes = list(shopper.notes)
    if outside:
        confidence = min(confidence, 0.2)
        edge = "smaller" if best == 0 else "larger" if best == len(chart.sizes) - 1 else "between"
        notes.insert(0, f"Your measures look {edge} than this chart's sizes")
    if "height" in missing:
        notes.insert(0, "Step back so your feet are in view for a surer size")
    message = notes[0] if notes else ""
    return SizeAdvice(
        size=chart.sizes[best],
        confidence=round(confidence, 3),
        probabilities={s: round(float(p), 3) for s, p in zip(chart.sizes, probs)},
        runner_up=chart.sizes[second] if second is not None else None,
        message=message,
        used=used,
        missing=missing,
        calibrated=shopper.calibrated,
        outside_chart=outside,
    )


class SizeEstimator:
    """Holds the shopper's measurements over a stream of poses and gives size advice.

    Feed every frame's pose (``FrameResult.pose``; None when nobody is there). Segment
    lengths are medians over the last ``window`` frames; shoulder and hip widths only from
    frames where the shopper faces the camera (``MAX_YAW_DEG``). ``intrinsics`` and
    ``standing_distance_m`` (from :mod:`tryon.calibration`) give the true metric scale.
    """

    def __init__(
        self,
        window: int = 150,
        min_frames: int = MIN_FRAMES,
        intrinsics: CameraIntrinsics | None = None,
        standing_distance_m: float | None = None,
    ) -> None:
        self.window = window
        self.min_frames = min_frames
        self.intrinsics = intrinsics
        self.standing_distance_m = standing_distance_m
        self._samples: dict[str, deque] = {}
        self._scale: deque = deque(maxlen=window)
        self.frames = 0

    def reset(self) -> None:
        """Forget the shopper (a new session)."""
        self._samples.clear()
        self._scale.clear()
        self.frames = 0

    def _add(self, key: str, value: float) -> None:
        self._samples.setdefault(key, deque(maxlen=self.window)).append(value)

    def update(self, pose: Pose | None) -> None:
        """Take one frame's pose into account."""
        if pose is None:
            return
        vis = np.where(pose.reliable(0.6), pose.visibility, 0.0)
        segs = measure(pose.world_m, vis)
        if not segs:
            return
        self.frames += 1
        facing = facing_yaw_deg(pose.world_m) <= MAX_YAW_DEG
        for k, v in segs.items():
            if k in ("shoulder_width", "hip_width") and not facing:
                continue
            self._add(k, v)
        h = height_from_world(pose.world_m, vis)
        if h is not None:
            self._add("height", h)
        if self.intrinsics is not None and self.standing_distance_m:
            s = metric_scale_sample(pose, self.intrinsics, self.standing_distance_m)
            if s is not None:
                self._scale.append(s)

    def held(self) -> dict[str, float]:
        """Median of each quantity, in metres."""
        return {k: float(np.median(d)) for k, d in self._samples.items() if d}

    def measurements(self) -> BodyMeasurements:
        """The held segments as the engine reports them (cm)."""
        return BodyMeasurements.from_metres({k: v for k, v in self.held().items() if k != "height"}, self.frames)

    def height_cm(self) -> float | None:
        h = self.held().get("height")
        return None if h is None else round(100.0 * h, 1)

    def scale(self) -> tuple[float, bool, tuple[str, ...]]:
        """(metric scale factor, calibrated?, notes)."""
        if self.intrinsics is None or not self.standing_distance_m:
            return 1.0, False, ()
        if len(self._scale) < max(3, self.min_frames // 3):
            return 1.0, False, ("Stand on the marked spot for a calibrated size",)
        s = float(np.median(self._scale))
        lo, hi = CALIBRATED_RATIO_RANGE
        if not lo <= s <= hi:
            return 1.0, False, ("Stand on the marked spot for a calibrated size",)
        return s, True, ()

    def shopper(self) -> Shopper:
        scale, calibrated, notes = self.scale()
        held = self.held()
        counts = {k: len(d) for k, d in self._samples.items()}
        values = {
            "height": held.get("height"),
            "shoulder_width": held.get("shoulder_width"),
            "hip_width": held.get("hip_width"),
            "torso_length": held.get(TORSO),
        }
        for name, parts in (("arm_length", ("upper_arm", "forearm")), ("leg_length", ("thigh", "shin"))):
            if all(p in held for p in parts):
                values[name] = sum(held[p] for p in parts)
                counts[name] = min(counts[p] for p in parts)
        counts["torso_length"] = counts.get(TORSO, 0)
        cm = {k: 100.0 * v * scale for k, v in values.items() if v is not None}
        return Shopper(
            with_girths(cm),
            {k: counts.get(k, 0) for k in cm},
            self.frames,
            calibrated,
            SCALE_SIGMA_CALIBRATED if calibrated else SCALE_SIGMA_MODEL,
            notes,
        )

    def advise(self, chart: SizeChart) -> SizeAdvice:
        return recommend(self.shopper(), chart, self.min_frames)
