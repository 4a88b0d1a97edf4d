"""How loose a fitted garment is, measured from its mesh on the mannequin; and the skin
weights of loose garments, spread so they hang as one piece.

A skirt, a dress or a long coat bridges the legs: below the crotch its cloth crosses the
body's midline (x = 0) in front and behind, where trousers split into two tubes. The share
of the height below the crotch where some edge of the mesh crosses the midline is
``bridges_legs``; with it, how far the cloth stands off the body there (``mean_gap_m``).

Such cloth must not follow one thigh or the other (skinned from the nearest body vertices,
a skirt's left half rides the left thigh, its right half the right, and a stride tears it
between the legs). :func:`spread_leg_weights` moves the leg bones' share onto the pelvis and
both thighs alike, more the lower and further out the cloth, and smooths the result over
the mesh.

Positions are bind model metres on the mannequin (y up, +x the body's left).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import scipy.sparse as sp

from tryon.body.mannequin import Mannequin, SkinWeights
from tryon.body.skeleton import BONE_INDEX, BONE_NAMES

#: Height bands (metres) the midline test is made in.
BAND_M = 0.02
#: A garment is loose when its cloth bridges the legs over at least this share of its height
#: below the crotch, and reaches at least MIN_DROP_M below it.
LOOSE_BRIDGE_SHARE = 0.5
MIN_DROP_M = 0.06
#: The hang line (where a loose garment's free cloth starts) this far above the crotch.
HANG_ABOVE_CROTCH_M = 0.04
#: Share of the leg bones' weight kept on the thighs (both alike) at the hem, the rest on
#: the pelvis; at the hang line the thighs keep HIP_THIGH_SHARE.
HEM_THIGH_SHARE = 0.3
HIP_THIGH_SHARE = 0.5
#: Laplacian smoothing passes over the spread weights.
SMOOTH_PASSES = 6

_LEG_PREFIXES = ("upperleg01", "upperleg02", "lowerleg01", "lowerleg02", "foot")


@dataclass(frozen=True)
class Looseness:
    """bridges_legs : [0, 1] share of the garment's height below the crotch where it crosses
    the body's midline (a skirt ~1, trousers 0; 0 for a garment that ends above it).
    mean_gap_m : mean distance of its vertices below the crotch from the body surface.
    drop_m : how far it reaches below the crotch (0 if it does not)."""

    bridges_legs: float
    mean_gap_m: float
    drop_m: float

    @property
    def is_loose(self) -> bool:
        """Hangs as one piece around both legs (skirt, dress, long coat)."""
        return self.bridges_legs >= LOOSE_BRIDGE_SHARE and self.drop_m >= MIN_DROP_M

    def to_manifest(self) -> dict:
        return {k: round(float(v), 4) for k, v in asdict(self).items()} | {"loose": bool(self.is_loose)}


_CROTCH: dict[int, tuple[Mannequin, float]] = {}


def crotch_height_m(mannequin: Mannequin) -> float:
    """The crotch's height on the mannequin: its lowest body vertex on the midline."""
    hit = _CROTCH.get(id(mannequin))
    if hit is None or hit[0] is not mannequin:
        p = mannequin.positions_m
        mid = p[(np.abs(p[:, 0]) < 0.01) & (p[:, 1] < mannequin.skeleton.head("spine04")[1])]
        hit = _CROTCH[id(mannequin)] = (mannequin, float(mid[:, 1].min()))
    return hit[1]


def hang_height_m(mannequin: Mannequin) -> float:
    """Where a loose garment's free cloth starts (see HANG_ABOVE_CROTCH_M)."""
    return crotch_height_m(mannequin) + HANG_ABOVE_CROTCH_M


def measure_looseness(positions_m: np.ndarray, faces: np.ndarray, mannequin: Mannequin) -> Looseness:
    """The looseness of a garment fitted on the mannequin: ``positions_m`` (V, 3) bind model
    metres, ``faces`` (F, 3)."""
    p = np.asarray(positions_m, dtype=np.float64)
    crotch = crotch_height_m(mannequin)
    low = p[:, 1].min() if len(p) else crotch
    drop = max(0.0, crotch - low)
    if drop < BAND_M:
        return Looseness(0.0, 0.0, drop)
    f = np.asarray(faces, dtype=np.int64)
    e = np.concatenate([f[:, [0, 1]], f[:, [1, 2]], f[:, [2, 0]]])
    a, b = p[e[:, 0]], p[e[:, 1]]
    crosses = (a[:, 0] * b[:, 0]) <= 0.0
    y_mid = 0.5 * (a[:, 1] + b[:, 1])
    edges_below = y_mid < crotch
    n_bands = int(np.ceil(drop / BAND_M))
    band = np.clip(((crotch - y_mid) / BAND_M).astype(np.int64), 0, n_bands - 1)
    has_cloth = np.bincount(band[edges_below], minlength=n_bands) > 0
    bridged = np.bincount(band[edges_below & crosses], minlength=n_bands) > 0
    share = float(bridged[has_cloth].mean()) if has_cloth.any() else 0.0
    from tryon.catalog.fit.anchors import body_tree

    below = p[p[:, 1] < crotch]
    gap = float(body_tree().query(below)[0].mean()) if len(below) else 0.0
    return Looseness(share, gap, drop)


def weld(positions_m: np.ndarray, tol_m: float = 1e-6) -> tuple[np.ndarray, np.ndarray]:
    """Vertices at the same place (UV seams split a mesh into sheets) as one: (V,) int64 the
    welded index of each vertex, and (U,) int64 one vertex per welded index."""
    key = np.round(np.asarray(positions_m, dtype=np.float64) / tol_m).astype(np.int64)
    _, first, inverse = np.unique(key, axis=0, return_index=True, return_inverse=True)
    return inverse.ravel(), first


def _leg_columns() -> tuple[dict[str, list[int]], int, int, int]:
    sides = {
        s: [BONE_INDEX[f"{pre}.{s}"] for pre in _LEG_PREFIXES if f"{pre}.{s}" in BONE_INDEX] for s in ("L", "R")
    }
    return sides, BONE_INDEX["root"], BONE_INDEX["upperleg01.L"], BONE_INDEX["upperleg01.R"]


def spread_leg_weights(
    skin: SkinWeights, positions_m: np.ndarray, faces: np.ndarray, mannequin: Mannequin
) -> SkinWeights:
    """Skin weights for loose cloth: below the hang line the leg bones' share goes to the
    pelvis and to both thighs equally (HIP_THIGH_SHARE at the hang line, HEM_THIGH_SHARE at
    the hem; knees, shins and feet never move it), smoothed over the mesh; above it, the
    weights are kept."""
    p = np.asarray(positions_m, dtype=np.float64)
    welded, first = weld(p)
    faces = welded[np.asarray(faces, dtype=np.int64)]
    p = p[first]
    dense = skin.to_dense()[first]
    sides, root, thigh_l, thigh_r = _leg_columns()
    legs = sides["L"] + sides["R"]
    leg_share = dense[:, legs].sum(axis=1)
    hang = hang_height_m(mannequin)
    low = p[:, 1].min()
    depth = np.clip((hang - p[:, 1]) / max(hang - low, 1e-6), 0.0, 1.0)  # 0 at the hang line, 1 at the hem
    affected = (p[:, 1] < hang + 0.05) & (leg_share > 0)
    thigh_share = HIP_THIGH_SHARE + (HEM_THIGH_SHARE - HIP_THIGH_SHARE) * depth
    spread = dense.copy()
    spread[:, legs] = 0.0
    spread[:, thigh_l] += 0.5 * thigh_share * leg_share
    spread[:, thigh_r] += 0.5 * thigh_share * leg_share
    spread[:, root] += (1.0 - thigh_share) * leg_share
    # Blend in over the 5 cm above the hang line, so the waistband keeps its own weights.
    blend = np.clip((hang + 0.05 - p[:, 1]) / 0.05, 0.0, 1.0)[:, None] * affected[:, None]
    out = dense * (1.0 - blend) + spread * blend
    # Smooth over the mesh (below the hang line only): no seam between cloth that rode the
    # left thigh and cloth that rode the right.
    f = np.asarray(faces, dtype=np.int64)
    n = len(p)
    rows = np.concatenate([f[:, 0], f[:, 1], f[:, 2], f[:, 1], f[:, 2], f[:, 0]])
    cols = np.concatenate([f[:, 1], f[:, 2], f[:, 0], f[:, 0], f[:, 1], f[:, 2]])
    adj = sp.coo_matrix((np.ones(len(rows)), (rows, cols)), shape=(n, n)).tocsr()
    adj.data[:] = 1.0
    deg = np.asarray(adj.sum(axis=1)).ravel()
    smooth_w = blend * (deg > 0)[:, None]
    for _ in range(SMOOTH_PASSES):
        avg = (adj @ out) / np.maximum(deg, 1.0)[:, None]
        out = out * (1.0 - 0.5 * smooth_w) + avg * (0.5 * smooth_w)
    return SkinWeights.from_dense(out[welded])


def leg_bone_names() -> tuple[str, ...]:
    """The bones whose share a loose garment spreads (both legs)."""
    sides, *_ = _leg_columns()
    return tuple(BONE_NAMES[i] for i in sides["L"] + sides["R"])
