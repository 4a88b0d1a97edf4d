"""Particle chains for jewelry: a necklace's links, a pendant, an earring swing about where
the item hangs from.

A rigid item (it rides one bone) is cut into rigid pieces: the mesh's connected pieces (a
chain's links, a pendant, its bail), or for an item of a few pieces (a hoop earring) height
bands of each. Each piece is a particle at its centroid; pieces that touch (interlocking
links, the pendant on its bail) are joined by distance constraints; each particle may leave
its rigid position by a radius growing with its drop below the item's top (so the clasp at
the nape stays, the pendant swings most); and each piece may not go toward the body further
than its bind gap (its half-space, along the direction from the nearest body point). The
pieces move rigidly with their particle (translation); a hoop's bands bend it smoothly.

Positions are bind model metres (y up); see :mod:`tryon.frames`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree

from tryon.cloth.xpbd import ClothModel

#: Tether radius growth below the item's top, metres per metre of drop, and its cap.
JEWELRY_TETHER_GAIN = 0.4
MAX_JEWELRY_TETHER_M = 0.04
#: Pieces whose vertices come this close touch (interlocking links), metres.
TOUCH_M = 0.0015
#: An item of fewer pieces than this is cut into height bands (a hoop swings about its top).
MIN_PIECES = 4
BANDS_PER_PIECE = 4
BODY_MARGIN_M = 0.002


@dataclass(frozen=True)
class ChainCloth:
    """labels : (V,) int64, each vertex's piece (over the item's parts' vertices, concatenated
    in part order). follow, follow_w : (V, 2) the two pieces each vertex moves with and their
    weights (a piece of its own: weights 1, 0; a height band of a hoop: the two bands around
    it, so the hoop bends instead of parting). rest_centroids_m : (K, 3) bind model metres.
    model : the particles' cloth. away_bind : (K, 3) unit directions away from the body at
    bind (the half-spaces' normals)."""

    labels: np.ndarray
    follow: np.ndarray
    follow_w: np.ndarray
    rest_centroids_m: np.ndarray
    model: ClothModel
    away_bind: np.ndarray


def _pieces(positions_m: np.ndarray, faces: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(V,) piece labels, and (V, 2) pieces and weights each vertex follows."""
    n = len(positions_m)
    f = np.asarray(faces, dtype=np.int64)
    adj = sp.coo_matrix((np.ones(f.size), (f.ravel(), np.roll(f, 1, axis=1).ravel())), shape=(n, n))
    k, label = connected_components(adj, directed=False)
    if k >= MIN_PIECES:
        return label, np.stack([label, label], axis=1), np.stack([np.ones(n), np.zeros(n)], axis=1)
    # Few pieces: each in height bands; a vertex follows the two bands whose mean heights
    # bracket it (linear in height), so the piece bends smoothly.
    out = np.empty(n, np.int64)
    follow = np.empty((n, 2), np.int64)
    follow_w = np.empty((n, 2))
    next_label = 0
    for c in range(k):
        idx = np.flatnonzero(label == c)
        y = positions_m[idx, 1]
        cuts = np.quantile(y, np.linspace(0, 1, BANDS_PER_PIECE + 1)[1:-1])
        band = np.searchsorted(cuts, y)
        _, band = np.unique(band, return_inverse=True)
        nb = band.max() + 1
        centre_y = np.bincount(band, y, minlength=nb) / np.bincount(band, minlength=nb)
        hi = np.clip(np.searchsorted(centre_y, y), 1, max(nb - 1, 1))
        lo = hi - 1 if nb > 1 else hi * 0
        span = np.maximum(centre_y[hi] - centre_y[lo], 1e-9)
        t = np.clip((y - centre_y[lo]) / span, 0.0, 1.0) if nb > 1 else np.zeros(len(y))
        out[idx] = next_label + band
        follow[idx] = np.stack([next_label + lo, next_label + hi], axis=1)
        follow_w[idx] = np.stack([1.0 - t, t], axis=1)
        next_label += nb
    return out, follow, follow_w


def chain_cloth(positions_m: np.ndarray, faces: np.ndarray, body_vertices_m: np.ndarray) -> ChainCloth:
    """The particle chain of a rigid item at bind ``positions_m`` (V, 3) with ``faces``;
    ``body_vertices_m`` (B, 3) the mannequin's skin at bind (for the half-spaces)."""
    p = np.asarray(positions_m, dtype=np.float64)
    labels, follow, follow_w = _pieces(p, faces)
    k = labels.max() + 1
    counts = np.bincount(labels, minlength=k).astype(np.float64)
    centroids = np.stack([np.bincount(labels, p[:, a], minlength=k) for a in range(3)], axis=1) / counts[:, None]
    tree = cKDTree(p)
    pairs = tree.query_pairs(TOUCH_M, output_type="ndarray")
    edges = np.unique(np.sort(labels[pairs], axis=1), axis=0) if len(pairs) else np.zeros((0, 2), np.int64)
    edges = edges[edges[:, 0] != edges[:, 1]]
    if len(edges) == 0 or connected_components(
        sp.coo_matrix((np.ones(len(edges)), (edges[:, 0], edges[:, 1])), shape=(k, k)), directed=False
    )[0] > 1:
        # Pieces that do not touch (a gap in the mesh): join each to its nearest two by centroid.
        _, nn = cKDTree(centroids).query(centroids, k=min(3, k))
        extra = np.stack([np.repeat(np.arange(k), nn.shape[1] - 1), nn[:, 1:].ravel()], axis=1)
        edges = np.unique(np.sort(np.concatenate([edges, extra]), axis=1), axis=0)
        edges = edges[edges[:, 0] != edges[:, 1]]
    top = p[:, 1].max()
    radius = np.clip(JEWELRY_TETHER_GAIN * (top - centroids[:, 1]), 0.0, MAX_JEWELRY_TETHER_M)
    radius[radius < 1e-3] = 0.0
    gap, nearest = cKDTree(np.asarray(body_vertices_m, dtype=np.float64)).query(centroids)
    away = centroids - np.asarray(body_vertices_m, dtype=np.float64)[nearest]
    away /= np.maximum(np.linalg.norm(away, axis=1, keepdims=True), 1e-9)
    model = ClothModel.from_rest(centroids, edges, radius, body_gap_m=np.maximum(gap - BODY_MARGIN_M, 0.0))
    return ChainCloth(labels, follow, follow_w, centroids, model, away)
