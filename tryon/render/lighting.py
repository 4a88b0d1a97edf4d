"""Scene lighting: order-2 spherical harmonics (ambient) plus one directional key light.

Directions are in camera space (x right, y down, z forward, see :mod:`tryon.frames`);
colours are linear RGB. ``sh`` holds radiance coefficients; the shader turns them into
irradiance (Ramamoorthi and Hanrahan, 2001).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

# Real SH basis constants, order L00, L1-1, L10, L11, L2-2, L2-1, L20, L21, L22.
_Y = (0.282095, 0.488603, 0.488603, 0.488603, 1.092548, 1.092548, 0.315392, 1.092548, 0.546274)


def sh_basis(dirs: np.ndarray) -> np.ndarray:
    """(N, 3) unit directions -> (N, 9) real SH basis values."""
    x, y, z = dirs[:, 0], dirs[:, 1], dirs[:, 2]
    return np.stack(
        [
            np.full_like(x, _Y[0]),
            _Y[1] * y,
            _Y[2] * z,
            _Y[3] * x,
            _Y[4] * x * y,
            _Y[5] * y * z,
            _Y[6] * (3 * z * z - 1),
            _Y[7] * x * z,
            _Y[8] * (x * x - y * y),
        ],
        axis=1,
    )


def sh_project(dirs: np.ndarray, radiance: np.ndarray, solid_angles: np.ndarray) -> np.ndarray:
    """Project radiance samples (N, 3) in directions (N, 3) with solid angles (N,) onto SH: (9, 3)."""
    return np.einsum("nk,nc,n->kc", sh_basis(dirs), radiance, solid_angles)


def sh_irradiance(sh: np.ndarray, normals: np.ndarray) -> np.ndarray:
    """Irradiance (N, 3) at unit normals (N, 3) from radiance SH (9, 3): the shader's formula."""
    c1, c2, c3, c4, c5 = 0.429043, 0.511664, 0.743125, 0.886227, 0.247708
    x, y, z = (normals[:, k : k + 1] for k in range(3))
    L = sh
    return (
        c1 * L[8] * (x * x - y * y)
        + c3 * L[6] * z * z
        + c4 * L[0]
        - c5 * L[6]
        + 2 * c1 * (L[4] * x * y + L[7] * x * z + L[5] * y * z)
        + 2 * c2 * (L[3] * x + L[1] * y + L[2] * z)
    )


@functools.lru_cache(maxsize=4)
def _sphere_samples(n: int = 2048) -> tuple[np.ndarray, np.ndarray]:
    """Fibonacci sphere directions with equal solid angles."""
    i = np.arange(n) + 0.5
    phi = np.arccos(1 - 2 * i / n)
    theta = np.pi * (1 + 5**0.5) * i
    d = np.stack([np.cos(theta) * np.sin(phi), np.sin(theta) * np.sin(phi), np.cos(phi)], axis=1)
    return d, np.full(n, 4 * np.pi / n)


def gradient_sh(sky_rgb, ground_rgb, up_cam=(0.0, -1.0, 0.0)) -> np.ndarray:
    """SH (9, 3) of an environment blending from ``ground_rgb`` (below) to ``sky_rgb`` (above).

    The radiance ``(1 - t) ground + t sky`` (t from the direction's height) is linear in the
    two colours, so its projection is ``outer(G, ground) + outer(S, sky)`` with the (9,) SH of
    the two blend weights found once per ``up_cam`` (a light estimate makes one per refresh)."""
    ground_w, sky_w = _gradient_weights(tuple(float(c) for c in up_cam))
    return np.outer(ground_w, np.asarray(ground_rgb, np.float64)) + np.outer(sky_w, np.asarray(sky_rgb, np.float64))


@functools.lru_cache(maxsize=8)
def _gradient_weights(up_cam: tuple[float, float, float]) -> tuple[np.ndarray, np.ndarray]:
    """(9,) SH of the ground's and the sky's blend weights, ``1 - t`` and ``t``, for ``up_cam``."""
    d, w = _sphere_samples()
    t = 0.5 + 0.5 * (d @ np.asarray(up_cam, dtype=np.float64))
    basis = sh_basis(d) * w[:, None]
    ground_w, sky_w = basis.T @ (1 - t), basis.T @ t
    ground_w.flags.writeable = sky_w.flags.writeable = False
    return ground_w, sky_w


@dataclass(frozen=True)
class Lighting:
    """sh : (9, 3) radiance SH, linear RGB. key_direction : (3,) unit, towards the light,
    camera space. key_color : (3,) linear RGB radiance of the key light.
    env_strength : how much of the ambient light metals reflect.
    environment : (h, w, 3) uint8 sRGB (R, G, B) picture of the surroundings for sharp
        reflections on metal, or None (the SH alone). Reflection direction ``r`` (camera
        space) looks up ``(u, v) = 0.5 + 0.5 * r.xy`` (row 0 at the top): a direction back at
        the camera sees the middle, grazing ones the edges. Brought to the SH's mean level
        when drawn, so it adds detail, not brightness."""

    sh: np.ndarray
    key_direction: np.ndarray
    key_color: np.ndarray
    env_strength: float = 1.0
    environment: np.ndarray | None = None

    @classmethod
    def studio(cls) -> Lighting:
        """A neutral shop light: bright soft sky from above and front, a key light from the
        upper front left of the shopper (upper right in the image). Computed once."""
        return _studio()


@functools.lru_cache(maxsize=1)
def _studio() -> Lighting:
    key = np.array([0.35, -0.6, -0.72])
    return Lighting(
        sh=gradient_sh(sky_rgb=(0.95, 0.95, 0.95), ground_rgb=(0.35, 0.33, 0.32)),
        key_direction=key / np.linalg.norm(key),
        key_color=np.array([2.2, 2.15, 2.1]),
        environment=studio_environment(),
    )


def studio_environment(width: int = 128, height: int = 96) -> np.ndarray:
    """A photo studio seen in a mirror ball: grey walls brightening upward, a darker floor,
    two softboxes high on either side and a strip light overhead. (h, w, 3) uint8 sRGB RGB."""
    y = np.linspace(0.0, 1.0, height)[:, None, None]
    wall = 150 + 60 * (1 - y)  # brighter toward the ceiling
    img = np.broadcast_to(wall, (height, width, 3)).copy()
    img[int(0.72 * height) :] = (70, 66, 62)  # the floor
    for cx in (0.2, 0.8):  # softboxes
        x0, x1 = int((cx - 0.09) * width), int((cx + 0.09) * width)
        img[int(0.18 * height) : int(0.5 * height), x0:x1] = 255
    img[int(0.04 * height) : int(0.09 * height), int(0.35 * width) : int(0.65 * width)] = 255  # strip light
    return np.ascontiguousarray(img.astype(np.uint8))
