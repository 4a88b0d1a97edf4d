"""Item geometry helpers for the fit: RawPart lists moved, mirrored and cut.

Positions are (V, 3) in whatever frame the caller is in (the fit works in model metres on
the bind-pose mannequin: y up, +z front, +x the mannequin's left; :mod:`tryon.frames`).
"""

from __future__ import annotations

import numpy as np

from tryon.body.rotations import normalize
from tryon.catalog.assets import RawPart


def all_points(parts: list[RawPart]) -> np.ndarray:
    return np.concatenate([p.positions for p in parts]).astype(np.float64)


def transform_parts(parts: list[RawPart], R: np.ndarray, s: float = 1.0, t=(0.0, 0.0, 0.0)) -> list[RawPart]:
    """x -> s R x + t on positions (normals rotated; winding kept when det(R) > 0)."""
    out = []
    flip = np.linalg.det(R) < 0
    for p in parts:
        pos = (p.positions @ R.T) * s + np.asarray(t)
        nrm = None if p.normals is None else normalize(p.normals @ R.T)
        faces = p.faces[:, ::-1] if flip else p.faces
        out.append(RawPart(pos, faces, nrm, p.uvs, p.material, p.name))
    return out


def mirror_x(parts: list[RawPart]) -> list[RawPart]:
    return transform_parts(parts, np.diag([-1.0, 1.0, 1.0]))


def select_part(p: RawPart, keep_vertices: np.ndarray) -> RawPart | None:
    """The part's faces whose corners are all in ``keep_vertices`` (V,) bool, or None."""
    keep = keep_vertices[p.faces].all(axis=1)
    return keep_faces(p, keep) if keep.any() else None


def keep_faces(p: RawPart, keep: np.ndarray) -> RawPart:
    """The part with only the faces ``keep`` (F,) bool, unused vertices dropped."""
    faces = p.faces[keep]
    used = np.unique(faces)
    remap = -np.ones(len(p.positions), np.int64)
    remap[used] = np.arange(len(used))
    return RawPart(
        p.positions[used],
        remap[faces],
        None if p.normals is None else p.normals[used],
        None if p.uvs is None else p.uvs[used],
        p.material,
        p.name,
    )
