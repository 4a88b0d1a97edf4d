"""Light the garments like the room: an estimate of the scene's light from the camera frame.

Two cues, both cheap (about a millisecond on a 64-pixel-wide copy of the frame):

- **colour and level** of the room's light: the frame's mean linear colour (gray world) and
  its log-average luminance (the photographic "key"). A dim, warm room has a dark,
  orange-tinted frame; its chromaticity tints the light (partly: cameras white-balance, and a
  big coloured wall is not a coloured light) and its key, relative to a mid-grey scene,
  scales it, compressed and capped above (a white studio backdrop is not a brighter room).
- **direction** of the dominant light: how the shopper's own shading varies with the posed
  body's surface normals. At each front-facing vertex of the posed proxy body inside the
  person mask, the frame's luminance is divided by the median of its body region (so shirt,
  trousers and skin of different colours compare), and ``1 + d . n`` is fitted by least
  squares: ``d`` points toward the light, its length says how directional the light is.

The result is a :class:`~tryon.render.lighting.Lighting` (SH ambient plus a key light, camera
space), smoothed over time so the garment does not flicker with the video.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from tryon.frames import CameraIntrinsics, project, px_to_index
from tryon.image import shrink, srgb8_to_linear
from tryon.render.lighting import Lighting, gradient_sh

#: Log-average linear luminance of an "ordinarily lit" frame: the studio light's level.
REFERENCE_LUMINANCE = 0.18
#: People (clothes and skin) average darker than a mid-grey scene: their key, scaled by
#: this, compares with REFERENCE_LUMINANCE.
PERSON_TO_SCENE = 1.5
#: How strongly the light follows the frame's key and colour cast (1 = fully).
LEVEL_EXPONENT = 0.85
COLOR_ADAPTATION = 0.6
WORK_WIDTH = 64
#: Width the frame is averaged down to for the estimates, px.
SHADING_WIDTH = 200
#: Width of the reflection picture taken from the frame, px.
ENVIRONMENT_WIDTH = 96


@dataclass(frozen=True)
class LightEstimateOptions:
    """time_constant_ms : smoothing of the estimate over a stream. min_scale, max_scale :
    bounds on the light level relative to the studio light. max_directional : cap on how
    much of the light the key light carries. interval_ms : in a stream, the estimate is
    refreshed at most this often (a room's light changes slowly; between refreshes the last
    Lighting is reused, reflections included; 200 ms, was 100: the estimate costs 2-3 ms, and
    the 500 ms smoothing spans both)."""

    time_constant_ms: float = 500.0
    min_scale: float = 0.25
    max_scale: float = 1.15
    max_directional: float = 0.8
    interval_ms: float = 200.0


@dataclass(frozen=True)
class LightEstimate:
    """color : (3,) linear RGB chromaticity of the room's light (mean 1). scale : level
    relative to the studio light. direction : (3,) unit vector toward the dominant light,
    camera space. directional : share of the light the key light carries, in [0, 1]."""

    color: np.ndarray
    scale: float
    direction: np.ndarray
    directional: float

    def lighting(self, environment: np.ndarray | None = None) -> Lighting:
        # At scale 1 and a half-directional light this is the studio light, tinted.
        studio = Lighting.studio()
        s = self.scale
        amb = (1.3 - 0.6 * self.directional) * s
        sky = self.color * 0.95 * amb
        ground = self.color * 0.35 * amb
        key = self.color * 2.2 * s * (0.5 + self.directional)

        d = self.direction / max(float(np.linalg.norm(self.direction)), 1e-9)
        return Lighting(
            sh=gradient_sh(sky, ground),
            key_direction=d,
            key_color=key,
            env_strength=studio.env_strength,
            environment=environment if environment is not None else studio.environment,
        )


def environment_from_frame(frame_bgr: np.ndarray, width: int = ENVIRONMENT_WIDTH) -> np.ndarray:
    """The camera frame, small and softened, as the picture metals reflect (see
    :class:`~tryon.render.lighting.Lighting`): what is behind the camera is unknown, and the
    room in front of it is the best guess of its colours and contrast. (h, w, 3) uint8 RGB."""
    h, w = frame_bgr.shape[:2]
    small = shrink(frame_bgr, (width, max(1, round(h * width / w))))  # (INTER_AREA: 3x slower)
    small = cv2.GaussianBlur(small, (3, 3), 0)
    return np.ascontiguousarray(small[:, ::-1, ::-1])  # mirrored (a reflection), RGB


def estimate_color_and_level(frame_bgr: np.ndarray, mask: np.ndarray | None = None) -> tuple[np.ndarray, float]:
    """The light's chromaticity (3,) linear RGB with mean 1, and its level.

    Colour: gray-world over the *room* (the person left out: a pink shirt is not pink light),
    on the pixels bright enough to show the light's colour; trusted in proportion to how much
    lit room the frame shows (a black backdrop says nothing: neutral). Level: the larger of
    the log-average linear luminance of the whole frame and of the person (scaled up: people
    are darker than a mid-grey scene). Dark clothes or a black backdrop alone do not make the
    room dim; a dim room darkens both."""
    h, w = frame_bgr.shape[:2]
    sh = max(1, round(h * WORK_WIDTH / w))
    small = shrink(frame_bgr, (WORK_WIDTH, sh))  # (INTER_AREA: 3x slower)
    rgb = srgb8_to_linear(small[:, :, ::-1]).reshape(-1, 3).astype(np.float64)
    lum = rgb @ np.array([0.2126, 0.7152, 0.0722])
    log_lum = np.log(1e-4 + lum)
    key = float(np.exp(log_lum.mean()))
    room = np.ones(len(rgb), bool)
    if mask is not None:
        person = cv2.resize(mask, (WORK_WIDTH, sh), interpolation=cv2.INTER_AREA).reshape(-1) > 0.5
        if person.sum() >= 20:
            key = max(key, float(np.exp(log_lum[person].mean())) * PERSON_TO_SCENE)
            room = ~person
    lit = room & (lum > 0.02)
    if lit.sum() < 8:
        return np.ones(3), key
    mean = rgb[lit].mean(axis=0) + 1e-6
    colour = mean / mean.mean()
    trust = min(1.0, lit.mean() / 0.3)  # a third of the frame showing lit room: full trust
    return 1.0 + trust * (colour - 1.0), key


def _over_group_median(values: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """Each value over its group's median (at least 1e-6), for (N,) values and (N,) int group
    labels: one sort for all the groups (a median per body region cost ten numpy calls each)."""
    order = np.lexsort((values, groups))
    g, v = groups[order], values[order]
    starts = np.flatnonzero(np.concatenate([[True], g[1:] != g[:-1]]))
    counts = np.diff(np.append(starts, len(g)))
    median = (v[starts + (counts - 1) // 2] + v[starts + counts // 2]) / 2  # np.median's
    out = np.empty_like(values)
    out[order] = v / np.repeat(np.maximum(median, 1e-6), counts)
    return out


def estimate_direction(
    frame_bgr: np.ndarray,
    mask: np.ndarray | None,
    positions_cam_m: np.ndarray,
    normals_cam: np.ndarray,
    regions: np.ndarray,
    K: CameraIntrinsics,
) -> tuple[np.ndarray, float]:
    """Unit direction toward the dominant light (camera space) and its strength in [0, 1].

    frame_bgr : the camera frame, at the intrinsics' size or scaled down (the shading is what
    counts, not the texture: ~200 px wide is plenty). positions_cam_m, normals_cam : (P, 3) the
    posed body's vertices. regions : (P,) int body region of each vertex (whose median
    luminance normalises it)."""
    w, h = K.width, K.height
    toward_camera = np.einsum("ij,ij->i", normals_cam, -positions_cam_m) > 0.2 * np.linalg.norm(positions_cam_m, axis=1)
    px = project(positions_cam_m, K)
    inside = toward_camera & (px[:, 0] >= 0) & (px[:, 0] < w - 1) & (px[:, 1] >= 0) & (px[:, 1] < h - 1)
    if inside.sum() < 30:
        return np.array([0.0, 0.0, -1.0]), 0.0
    gray = cv2.cvtColor(frame_bgr, cv2.COLOR_BGR2GRAY)
    sh, sw = gray.shape
    uv = np.round(px[inside]).astype(int)
    sv, su = px_to_index(px[inside], (w, h), gray.shape)
    lum = srgb8_to_linear(gray[sv, su])
    keep = np.ones(len(uv), bool)
    if mask is not None:
        mv, mu = px_to_index(uv, (w, h), mask.shape)
        keep &= mask[mv, mu] > 0.7
    keep &= (lum > 0.002) & (lum < 0.98)  # not crushed shadows or clipped highlights
    n = normals_cam[inside][keep]
    lum = lum[keep]
    reg = regions[inside][keep]
    if len(lum) < 30:
        return np.array([0.0, 0.0, -1.0]), 0.0
    rel = np.clip(_over_group_median(lum, reg), 0.0, 3.0)
    # rel ~ c + d . n  (c absorbs the region's mean shading); least squares on [1, n].
    A = np.concatenate([np.ones((len(n), 1)), n], axis=1)
    coef, *_ = np.linalg.lstsq(A, rel, rcond=None)
    d = coef[1:] / max(coef[0], 1e-3)
    strength = float(np.linalg.norm(d))
    if strength < 1e-6:
        return np.array([0.0, 0.0, -1.0]), 0.0
    return d / strength, float(min(strength, 1.0))


class LightEstimator:
    """Per-stream light estimate; ``update`` returns the Lighting to render with."""

    def __init__(self, options: LightEstimateOptions | None = None) -> None:
        self.options = options or LightEstimateOptions()
        self.reset()

    def reset(self) -> None:
        self.current: LightEstimate | None = None
        self._last_ms: float | None = None
        self._lighting: Lighting | None = None

    def update(
        self,
        frame_bgr: np.ndarray,
        timestamp_ms: float | None = None,
        mask: np.ndarray | None = None,
        body: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
        K: CameraIntrinsics | None = None,
    ) -> Lighting:
        """Estimate from one frame. body : (positions_cam_m, normals_cam, regions) of the posed
        proxy body, for the direction; without it the direction stays the studio's."""
        o = self.options
        if (
            self._lighting is not None
            and timestamp_ms is not None
            and self._last_ms is not None
            and 0 <= timestamp_ms - self._last_ms < o.interval_ms
        ):
            return self._lighting
        h, w = frame_bgr.shape[:2]
        s = min(1.0, SHADING_WIDTH / w)  # every estimate works on the frame averaged down
        small = shrink(frame_bgr, (max(1, round(w * s)), max(1, round(h * s))))
        color, key = estimate_color_and_level(small, mask)

        color = 1.0 + COLOR_ADAPTATION * (color - 1.0)
        scale = float(np.clip((key / REFERENCE_LUMINANCE) ** LEVEL_EXPONENT, o.min_scale, o.max_scale))
        direction, strength = Lighting.studio().key_direction, 0.5
        if body is not None and K is not None:
            d, strength_now = estimate_direction(small, mask, *body, K)
            if strength_now > 0:
                direction, strength = d, strength_now
        strength = min(strength, o.max_directional)
        new = LightEstimate(color.astype(np.float64), scale, np.asarray(direction, np.float64), strength)
        prev = self.current
        if prev is not None and timestamp_ms is not None and self._last_ms is not None and timestamp_ms > self._last_ms:
            a = 1.0 - math.exp(-(timestamp_ms - self._last_ms) / o.time_constant_ms)
            d = prev.direction + a * (new.direction - prev.direction)
            new = LightEstimate(
                prev.color + a * (new.color - prev.color),
                prev.scale + a * (new.scale - prev.scale),
                d / max(float(np.linalg.norm(d)), 1e-9),
                prev.directional + a * (new.directional - prev.directional),
            )
        self.current = new
        self._last_ms = timestamp_ms
        self._lighting = new.lighting(environment_from_frame(small))
        return self._lighting
