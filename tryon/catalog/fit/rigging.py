"""Rigging: skin weights for fitted clothes, from the body they were fitted to.

Weights are on the reduced skeleton (:data:`tryon.body.skeleton.BONE_NAMES`); positions in
model metres on the bind-pose mannequin.
"""

from __future__ import annotations

import numpy as np

from tryon.body.mannequin import Mannequin, SkinWeights, load_mannequin
from tryon.body.skeleton import BONE_NAMES
from tryon.catalog.categories import Category
from tryon.catalog.fit.anchors import body_tree

LEG_BONES = frozenset(
    i
    for i, n in enumerate(BONE_NAMES)
    if n.split(".")[0] in ("upperleg01", "upperleg02", "lowerleg01", "lowerleg02", "foot")
)


def transfer_weights(positions_m: np.ndarray, mannequin: Mannequin | None = None, k: int = 4) -> SkinWeights:
    """Skin weights from the nearest body vertices (inverse-distance mix of ``k``)."""
    m = mannequin or load_mannequin()
    tree = body_tree()
    d, idx = tree.query(np.asarray(positions_m, dtype=np.float64), k=k)
    w = 1.0 / np.maximum(d, 1e-4) ** 2
    w /= w.sum(axis=1, keepdims=True)
    dense = m.skin.to_dense()
    mixed = np.einsum("vk,vkj->vj", w, dense[idx])
    return SkinWeights.from_dense(mixed)


def pelvis_bound(skin: SkinWeights) -> SkinWeights:
    """The same weights with every leg bone's share moved onto the root (pelvis)."""
    dense = skin.to_dense()
    legs = sorted(LEG_BONES)
    dense[:, BONE_NAMES.index("root")] += dense[:, legs].sum(axis=1)
    dense[:, legs] = 0.0
    return SkinWeights.from_dense(dense)


def for_category(skin: SkinWeights, kind: Category) -> SkinWeights:
    """``skin`` as the category wears it: a garment that ends at the hips (``body_half``
    "upper") has its cloth there follow the pelvis, not the thighs (else a seated or striding
    shopper's hem is dragged down between the legs)."""
    return pelvis_bound(skin) if kind.body_half == "upper" else skin


def for_garment(
    skin: SkinWeights, positions_m: np.ndarray, faces: np.ndarray, kind: Category, mannequin: Mannequin | None = None
) -> SkinWeights:
    """``skin`` as the category wears it (:func:`for_category`), and for loose cloth (a skirt,
    a dress, a long coat: it bridges the legs, see :mod:`tryon.catalog.fit.looseness`) the
    legs' share spread over the pelvis and both thighs, so it hangs as one piece."""
    from tryon.catalog.fit.looseness import measure_looseness, spread_leg_weights

    skin = for_category(skin, kind)
    m = mannequin or load_mannequin()
    if kind.body_half != "upper" and measure_looseness(positions_m, faces, m).is_loose:
        skin = spread_leg_weights(skin, positions_m, faces, m)
    return skin


def rig(
    positions_m: np.ndarray, kind: Category, mannequin: Mannequin | None = None, faces: np.ndarray | None = None
) -> SkinWeights:
    """Skin weights for fitted clothes of category ``kind`` at ``positions_m`` (V, 3) (with
    ``faces``, loose cloth is recognised and spread: :func:`for_garment`)."""
    skin = transfer_weights(positions_m, mannequin)
    if faces is None:
        return for_category(skin, kind)
    return for_garment(skin, positions_m, faces, kind, mannequin)
