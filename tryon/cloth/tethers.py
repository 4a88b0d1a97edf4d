"""Which part of a garment moves, and how far: per-vertex tether radii (Unity Cloth's
``maxDistance``), and the cloth model of a garment's part.

A loose garment (one whose cloth bridges the legs: a skirt, a dress, a long coat; see
:func:`tryon.catalog.fit.looseness.measure_looseness`) is pinned to its skinned position
down to the hang line, a little below the hip joints (waistband, hips, everything above);
below it each vertex may leave its skinned position by a radius that grows with the drop
(``TETHER_GAIN`` metres per metre), up to ``MAX_TETHER_M`` at a long hem.

Tops and jackets (:func:`top_part_cloth`) swing less: pinned at the shoulders, the collar and
the chest, their trunk's cloth is free below the lower ribs (radius growing with the drop
toward the hem) and their sleeves beyond the upper arm (growing along the arm toward the
cuff); each radius is capped by how far the cloth stands off the body there (a fitted tee's
hem a few millimetres, an open jacket's fronts two centimetres or more). Jeans and other
tight bottoms are not simulated.

Positions are bind model metres (y up); see :mod:`tryon.frames`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from tryon.body.mannequin import Mannequin
from tryon.catalog.fit.looseness import Looseness, hang_height_m, measure_looseness, weld
from tryon.cloth.colliders import GARMENT_CAPSULES, TOP_CAPSULES, capsule_slack_m
from tryon.cloth.drape import drape_reach_m, hang_edges, rest_drape_m
from tryon.cloth.xpbd import ClothModel, ClothParams

#: Tether radius growth below the hang line, metres per metre of drop, and its cap.
TETHER_GAIN = 0.2
MAX_TETHER_M = 0.08
#: Particles closer to the body than this at bind sit on it: their half-space starts there.
BODY_MARGIN_M = 0.003
#: Tops (categories with ``hem_swings``): the radius's growth (metres per metre below the
#: pin line, or along the arm past SLEEVE_PIN_M from the shoulder joint), the cap as a share
#: of the cloth's gap to the body at the hem or cuff, and the cap's bounds.
TOP_TETHER_GAIN = 0.15
SLEEVE_PIN_M = 0.12
TOP_GAP_SHARE = 0.7
TOP_MIN_CAP_M = 0.003
TOP_MAX_CAP_M = 0.03
#: A top's vertices with a smaller radius than this stay skinned: a pixel is about 4 mm at
#: 2 m in a 640-pixel frame, and each particle costs frame time.
TOP_MIN_FREE_M = 0.004


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
    away_bind, away_bone : (N, 3) unit directions away from the body at bind (the nearest
        skin point's normal) and (N,) the bone each turns with, for the half-spaces; None:
        the Draw's normals are used (a skirt's outside faces the way out; a top's cuffs,
        rims and lining do not).
    drape_reach_m : (N,) how far each particle's target may be draped over the legs (a
        loose garment's; :func:`tryon.cloth.drape.drape_reach_m`); None: not draped (tops).
        drape_slack_m : (N,) how far the legs drape each particle at bind (taken off: the
        cloth at rest is not draped). hang : how a push hangs down the cloth (its edges both
        ways, their factors and costs: :func:`tryon.cloth.drape.hang_edges`); None: not draped.
    """

    particles: np.ndarray
    vertices: np.ndarray
    vertex_particle: np.ndarray
    model: ClothModel
    loose_faces: np.ndarray
    looseness: Looseness
    away_bind: np.ndarray | None = None
    away_bone: np.ndarray | None = None
    drape_reach_m: np.ndarray | None = None
    drape_slack_m: np.ndarray | None = None
    hang: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None


def part_cloth(
    positions_m: np.ndarray,
    faces: np.ndarray,
    mannequin: Mannequin,
    looseness: Looseness | None = None,
    normals: np.ndarray | None = None,
) -> PartCloth | None:
    """The cloth of a skinned part at bind ``positions_m`` (V, 3) with ``faces`` (F, 3), or
    None when the garment is not loose (it follows its skin alone). With its bind
    ``normals`` (V, 3) its targets are draped over the legs (:mod:`tryon.cloth.drape`)."""
    loose = looseness or measure_looseness(positions_m, faces, mannequin)
    if not loose.is_loose:
        return None
    pos = np.asarray(positions_m, dtype=np.float64)
    radius = tether_radii_m(pos, hang_height_m(mannequin))
    loose_faces = (radius[np.asarray(faces)] > 0).any(axis=1)
    cloth = _cloth_over(pos, faces, radius, loose, loose_faces, mannequin, GARMENT_CAPSULES)
    if cloth is None:
        return None
    if normals is None:
        return cloth
    bind = pos[cloth.particles]
    return replace(
        cloth,
        drape_reach_m=drape_reach_m(bind, thigh_reach_m(mannequin)),
        drape_slack_m=rest_drape_m(bind, np.asarray(normals, np.float64)[cloth.particles], cloth.model, mannequin),
        hang=hang_edges(bind, cloth.model.edges, thigh_reach_m(mannequin)),
    )


_ARM_PREFIXES = ("upperarm01", "upperarm02", "lowerarm01", "lowerarm02", "wrist")


def top_tether_radii_m(positions_m: np.ndarray, skin, mannequin: Mannequin) -> np.ndarray:
    """(V,) radius per vertex of a top at bind: 0 at the shoulders, collar and chest; below
    the lower ribs (the spine02 joint's height) TOP_TETHER_GAIN x the drop; on the sleeves
    (vertices that ride the arm's bones) TOP_TETHER_GAIN x the distance along the arm past
    SLEEVE_PIN_M; each capped by TOP_GAP_SHARE x the cloth's gap to the body at the hem (the
    lowest tenth of the trunk's cloth) or at the cuffs (the outermost tenth of the sleeves)."""
    from tryon.body.skeleton import BONE_INDEX
    from tryon.catalog.fit.anchors import body_tree

    p = np.asarray(positions_m, dtype=np.float64)
    skel = mannequin.skeleton
    dominant = skin.bones[np.arange(len(p)), np.argmax(skin.weights, axis=1)]
    gap = body_tree().query(p)[0]
    radius = np.zeros(len(p))

    def cap(far: np.ndarray) -> float:
        return float(np.clip(TOP_GAP_SHARE * np.median(gap[far]), TOP_MIN_CAP_M, TOP_MAX_CAP_M))

    arm = np.zeros(len(p), bool)
    along = np.zeros(len(p))
    for s in ("L", "R"):
        mine = np.isin(dominant, [BONE_INDEX[f"{b}.{s}"] for b in _ARM_PREFIXES])
        if not mine.any():
            continue
        shoulder, elbow, wrist = (skel.head(f"{b}.{s}") for b in ("upperarm01", "lowerarm01", "wrist"))
        q = p[mine]
        best = np.full(len(q), np.inf)
        dist_along = np.zeros(len(q))
        start = 0.0
        for a, b in ((shoulder, elbow), (elbow, wrist)):
            ab = b - a
            t = np.clip((q - a) @ ab / max(ab @ ab, 1e-12), 0.0, 1.0)
            d = np.linalg.norm(q - (a + t[:, None] * ab), axis=1)
            closer = d < best
            best[closer] = d[closer]
            dist_along[closer] = start + t[closer] * np.linalg.norm(ab)
            start += float(np.linalg.norm(ab))
        arm |= mine
        along[mine] = dist_along
    if arm.any():
        far = arm & (along >= np.quantile(along[arm], 0.9))
        radius[arm] = np.clip(TOP_TETHER_GAIN * (along[arm] - SLEEVE_PIN_M), 0.0, cap(far))
    trunk = ~arm
    if trunk.any():
        pin_y = float(skel.head("spine02")[1])
        far = trunk & (p[:, 1] <= np.quantile(p[trunk, 1], 0.1))
        radius[trunk] = np.clip(TOP_TETHER_GAIN * (pin_y - p[trunk, 1]), 0.0, cap(far))
    radius[radius < TOP_MIN_FREE_M] = 0.0
    return radius


def top_part_cloth(positions_m: np.ndarray, faces: np.ndarray, skin, mannequin: Mannequin) -> PartCloth | None:
    """The cloth of a top's or jacket's part (hems, fronts and sleeve ends swing; see
    :func:`top_tether_radii_m`), or None when nothing of it is free. Its faces stay clipped
    to the person (``loose_faces`` all False): it hangs on the body, not around the legs."""
    from tryon.catalog.fit.anchors import body_tree

    pos = np.asarray(positions_m, dtype=np.float64)
    radius = top_tether_radii_m(pos, skin, mannequin)
    looseness = measure_looseness(pos, faces, mannequin)
    cloth = _cloth_over(pos, faces, radius, looseness, np.zeros(len(faces), bool), mannequin, TOP_CAPSULES)
    if cloth is None:
        return None
    # Half-spaces along the skin's normal under each particle, from its signed gap (a cuff
    # that sits in the wrist's skin at bind may go no deeper than it is skinned).
    p = pos[cloth.particles]
    _, nearest = body_tree().query(p)
    away = np.asarray(mannequin.normals, dtype=np.float64)[nearest]
    away /= np.maximum(np.linalg.norm(away, axis=1, keepdims=True), 1e-9)
    gap = np.einsum("ij,ij->i", p - np.asarray(body_tree().data)[nearest], away)
    model = replace(cloth.model, body_gap_m=np.maximum(gap - BODY_MARGIN_M, 0.0))
    bone = skin.bones[cloth.particles, np.argmax(skin.weights[cloth.particles], axis=1)]
    return replace(cloth, model=model, away_bind=away, away_bone=np.asarray(bone, np.int64))


def thigh_reach_m(mannequin: Mannequin) -> float:
    """The bind height (model y, metres) below which a striding thigh can reach cloth: the
    hip joints'."""
    return float(mannequin.skeleton.head("upperleg01.L")[1])


def _cloth_over(
    pos: np.ndarray,
    faces: np.ndarray,
    radius: np.ndarray,
    loose: Looseness,
    loose_faces: np.ndarray,
    mannequin: Mannequin | None = None,
    capsules: tuple[str, ...] = (),
) -> PartCloth | None:
    """The particles of the vertices with a radius (and their pinned neighbours), welded.
    With a ``mannequin``, vertices below its hip joints (:func:`thigh_reach_m`) are particles
    too, and all of those collide: a pinned one stays skinned until a striding thigh pushes
    it out (collisions win over the tethers); each no deeper in the ``capsules`` than at
    bind (:func:`tryon.cloth.colliders.capsule_slack_m`)."""
    welded, first = weld(pos)
    p = pos[first]
    r = radius[first]
    free = r > 0
    if not free.any():
        return None
    edges = mesh_edges(welded[np.asarray(faces, dtype=np.int64)])
    edges = edges[edges[:, 0] != edges[:, 1]]
    touches = free[edges].any(axis=1)
    low = p[:, 1] < (thigh_reach_m(mannequin) if mannequin is not None else -np.inf)
    chosen = np.unique(np.concatenate([np.flatnonzero(free | low), edges[touches].ravel()]))  # welded ids
    local = np.full(len(p), -1, np.int64)
    local[chosen] = np.arange(len(chosen))
    from tryon.catalog.fit.anchors import body_tree

    gap, _ = body_tree().query(p[chosen])
    model = ClothModel.from_rest(
        p[chosen],
        local[edges[touches]],
        r[chosen],
        body_gap_m=np.maximum(gap - BODY_MARGIN_M, 0.0),
        collides=free[chosen] | low[chosen],
    )
    if mannequin is not None:
        slack = capsule_slack_m(mannequin, capsules, p[chosen], ClothParams().collision_margin_m)
        model = replace(model, capsule_slack_m=slack)
    vertices = np.flatnonzero(local[welded] >= 0)
    return PartCloth(first[chosen], vertices, local[welded[vertices]], model, loose_faces, loose)
