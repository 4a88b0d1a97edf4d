"""Which part of a garment moves, and how far: per-vertex tether radii (Unity Cloth's
``maxDistance``), and the cloth model of a garment's part.

A loose garment (one whose cloth bridges the legs: a skirt, a dress, a long coat; see
:func:`tryon.catalog.fit.looseness.measure_looseness`) is pinned to its skinned position
down to the hang line, a little below the hip joints (waistband, hips, everything above);
below it each vertex may leave its skinned position by a radius that grows with the drop
(``TETHER_GAIN`` metres per metre), up to ``MAX_TETHER_M`` at a long hem. Tight garments
(tops, jeans) are not simulated: their hems move a few millimetres at most, which the
frame cost does not buy.

Positions are bind model metres (y up); see :mod:`tryon.frames`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tryon.body.mannequin import Mannequin
from tryon.catalog.fit.looseness import Looseness, hang_height_m, measure_looseness, weld
from tryon.cloth.xpbd import ClothModel

#: Tether radius growth below the hang line, metres per metre of drop, and its cap.
TETHER_GAIN = 0.2
MAX_TETHER_M = 0.08
#: Particles closer to the body than this at bind sit on it: their half-space starts there.
BODY_MARGIN_M = 0.003


def tether_radii_m(positions_m: np.ndarray, hang_y_m: float, gain: float = TETHER_GAIN, max_m: float = MAX_TETHER_M):
    """(V,) radius per vertex: 0 above ``hang_y_m``, ``gain`` x the drop below it, at most ``max_m``."""
    drop = hang_y_m - np.asarray(positions_m, dtype=np.float64)[:, 1]
    return np.clip(gain * drop, 0.0, max_m)


def mesh_edges(faces: np.ndarray) -> np.ndarray:
    """(E, 2) int64 unique undirected edges of (F, 3) triangles."""
    f = np.asarray(faces, dtype=np.int64)
    e = np.concatenate([f[:, [0, 1]], f[:, [1, 2]], f[:, [2, 0]]])
    e.sort(axis=1)
    return np.unique(e, axis=0)


@dataclass(frozen=True)
class PartCloth:
    """The simulated share of one mesh part.

    particles : (N,) int64 one vertex of the part per particle (the loose ones and their
        pinned neighbours; vertices at one place, split by UV seams, are one particle).
    vertices, vertex_particle : (M,) the part's vertices that move with a particle, and its
        index in ``particles``. model : the cloth over the particles. loose_faces : (F,) bool, the part's
        faces with a loose vertex (drawn where they hang, not clipped to the person mask).
    looseness : the garment's measure.
    """

    particles: np.ndarray
    vertices: np.ndarray
    vertex_particle: np.ndarray
    model: ClothModel
    loose_faces: np.ndarray
    looseness: Looseness


def part_cloth(
    positions_m: np.ndarray, faces: np.ndarray, mannequin: Mannequin, looseness: Looseness | None = None
) -> PartCloth | None:
    """The cloth of a skinned part at bind ``positions_m`` (V, 3) with ``faces`` (F, 3), or
    None when the garment is not loose (it follows its skin alone)."""
    loose = looseness or measure_looseness(positions_m, faces, mannequin)
    if not loose.is_loose:
        return None
    pos = np.asarray(positions_m, dtype=np.float64)
    radius = tether_radii_m(pos, hang_height_m(mannequin))
    loose_faces = (radius[np.asarray(faces)] > 0).any(axis=1)
    welded, first = weld(pos)
    p = pos[first]
    free = radius[first] > 0
    if not free.any():
        return None
    edges = mesh_edges(welded[np.asarray(faces, dtype=np.int64)])
    edges = edges[edges[:, 0] != edges[:, 1]]
    touches = free[edges].any(axis=1)
    chosen = np.unique(np.concatenate([np.flatnonzero(free), edges[touches].ravel()]))  # welded ids
    local = np.full(len(p), -1, np.int64)
    local[chosen] = np.arange(len(chosen))
    from tryon.catalog.fit.anchors import body_tree

    gap, _ = body_tree().query(p[chosen])
    model = ClothModel.from_rest(
        p[chosen], local[edges[touches]], radius[first][chosen], body_gap_m=np.maximum(gap - BODY_MARGIN_M, 0.0)
    )
    vertices = np.flatnonzero(local[welded] >= 0)
    return PartCloth(first[chosen], vertices, local[welded[vertices]], model, loose_faces, loose)

