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


def _sphere_samples(n: int = 2048) -> tuple[np.ndarray, np.ndarray]:
    """Fibonacci sphere directions with equal solid angles."""
    i = np.arange(n) + 0.5
    phi = np.arccos(1 - 2 * i / n)
    theta = np.pi * (1 + 5**0.5) * i
    d = np.stack([np.cos(theta) * np.sin(phi), np.sin(theta) * np.sin(phi), np.cos(phi)], axis=1)
    return d, np.full(n, 4 * np.pi / n)


def gradient_sh(sky_rgb, ground_rgb, up_cam=(0.0, -1.0, 0.0)) -> np.ndarray:
    """SH (9, 3) of an environment blending from ``ground_rgb`` (below) to ``sky_rgb`` (above)."""
    d, w = _sphere_samples()
    t = 0.5 + 0.5 * (d @ np.asarray(up_cam, dtype=np.float64))
    rad = np.outer(1 - t, ground_rgb) + np.outer(t, sky_rgb)
    return sh_project(d, rad, w)


@dataclass(frozen=True)
class Lighting:
    """sh : (9, 3) radiance SH, linear RGB. key_direction : (3,) unit, towards the light,
    camera space. key_color : (3,) linear RGB radiance of the key light.
    env_strength : how much of the ambient light metals reflect."""

    sh: np.ndarray
    key_direction: np.ndarray
    key_color: np.ndarray
    env_strength: float = 1.0

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
    )
