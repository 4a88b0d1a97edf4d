"""Particle chains for jewelry: a necklace's links, a pendant, an earring swing about where
they hang from.

A rigid item (it rides one bone) is cut into rigid pieces: the mesh's connected pieces (a
chain's links, a jump ring, a pendant; vertices at one place count as joined, so a
flat-shaded stone is one piece). Each piece is a particle at its centroid; pieces that touch
(interlocking links, the pendant on its ring) are joined by distance constraints; each
particle may leave its rigid position by a radius growing with its drop below the item's top
(so the clasp at the nape stays and the front swings most), and may not go toward the body
further than its bind gap (its half-space, along the direction from the nearest body point).

**Pendants** rotate: a piece that hangs below the pieces it touches (a stone on its ring), or an
item of fewer than MIN_PIECES pieces (a hoop earring, each hoop from its top), swings about
its pivot (its top point). Its particle is pulled toward where it would hang from its
parent's simulated place (the parent's last shift; the item's own pivot stays on the ear),
within PENDANT_SWING x its hang length; the piece is then turned about its pivot so that it
points at its particle. Other pieces move with their particle (translation).

Positions are bind model metres (y up); see :mod:`tryon.frames`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree

from tryon.catalog.fit.looseness import weld
from tryon.cloth.xpbd import ClothModel

#: Tether radius growth below the item's top, metres per metre of drop, and its cap.
JEWELRY_TETHER_GAIN = 0.4
MAX_JEWELRY_TETHER_M = 0.04
#: Pieces whose vertices come this close touch (interlocking links), metres.
TOUCH_M = 0.0015
#: An item of fewer pieces than this is a set of pendants (each hoop swings about its top).
MIN_PIECES = 4
BODY_MARGIN_M = 0.002
#: A pendant's particle may leave where it would hang by this share of its hang length (the
#: pivot to its centroid): about 35 degrees of swing.
PENDANT_SWING = 0.6
#: A pendant's centroid is at least this far below those of the pieces it touches, metres.
HANG_BELOW_M = 0.002


@dataclass(frozen=True)
class ChainCloth:
    """labels : (V,) int64, each vertex's piece (over the item's parts' vertices, concatenated
    in part order). rest_centroids_m : (K, 3) bind model metres. model : the particles'
    cloth. away_bind : (K, 3) unit directions away from the body at bind (the half-spaces'
    normals). pendant : (K,) bool, pieces that turn about their pivot. parent : (K,) int64,
    the piece a pendant hangs from (-1: the item's own attachment, or not a pendant).
    pivot_vertex : (K,) int64, the vertex a pendant turns about (its top; -1 for others)."""

    labels: np.ndarray
    rest_centroids_m: np.ndarray
    model: ClothModel
    away_bind: np.ndarray
    pendant: np.ndarray
    parent: np.ndarray
    pivot_vertex: np.ndarray


def _pieces(positions_m: np.ndarray, faces: np.ndarray) -> tuple[int, np.ndarray]:
    """The number of pieces and (V,) each vertex's piece: connected through the faces, and
    vertices at the same place (a flat-shaded stone's corners) joined."""
    n = len(positions_m)
    welded, _ = weld(positions_m)
    f = welded[np.asarray(faces, dtype=np.int64)]
    m = welded.max() + 1
    adj = sp.coo_matrix((np.ones(f.size), (f.ravel(), np.roll(f, 1, axis=1).ravel())), shape=(m, m))
    k, label = connected_components(adj, directed=False)
    return k, label[welded] if n else np.zeros(0, np.int64)


def chain_cloth(positions_m: np.ndarray, faces: np.ndarray, body_vertices_m: np.ndarray) -> ChainCloth:
    """The particle chain of a rigid item at bind ``positions_m`` (V, 3) with ``faces``;
    ``body_vertices_m`` (B, 3) the mannequin's skin at bind (for the half-spaces)."""
    p = np.asarray(positions_m, dtype=np.float64)
    k, labels = _pieces(p, faces)
    counts = np.bincount(labels, minlength=k).astype(np.float64)
    centroids = np.stack([np.bincount(labels, p[:, a], minlength=k) for a in range(3)], axis=1) / counts[:, None]
    top = p[:, 1].max()
    radius = np.clip(JEWELRY_TETHER_GAIN * (top - centroids[:, 1]), 0.0, MAX_JEWELRY_TETHER_M)
    radius[radius < 1e-3] = 0.0
    # Each piece's top vertex (a pendant's pivot).
    order = np.lexsort((-p[:, 1], labels))
    first = np.searchsorted(labels[order], np.arange(k))
    top_vertex = order[first]
    pendant = np.zeros(k, bool)
    parent = np.full(k, -1, np.int64)
    if k < MIN_PIECES:
        edges = np.zeros((0, 2), np.int64)  # separate pendants (a pair of hoops): no links
        pendant[:] = True
    else:
        pairs = cKDTree(p).query_pairs(TOUCH_M, output_type="ndarray")
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
        # A piece that hangs below every piece it touches is a pendant (a stone on its ring,
        # its tip touching the link above too); it hangs from the nearest of them.
        for piece in range(k):
            others = edges[(edges == piece).any(axis=1)].ravel()
            others = others[others != piece]
            if len(others) and (centroids[others, 1] > centroids[piece, 1] + HANG_BELOW_M).all():
                dist = np.linalg.norm(centroids[others] - centroids[piece], axis=1)
                pendant[piece], parent[piece] = True, others[np.argmin(dist)]
    hang = np.linalg.norm(centroids - p[top_vertex], axis=1)
    radius[pendant] = PENDANT_SWING * hang[pendant]
    gap, nearest = cKDTree(np.asarray(body_vertices_m, dtype=np.float64)).query(centroids)
    away = centroids - np.asarray(body_vertices_m, dtype=np.float64)[nearest]
    away /= np.maximum(np.linalg.norm(away, axis=1, keepdims=True), 1e-9)
    model = ClothModel.from_rest(centroids, edges, radius, body_gap_m=np.maximum(gap - BODY_MARGIN_M, 0.0))
    return ChainCloth(labels, centroids, model, away, pendant, parent, np.where(pendant, top_vertex, -1))


def rotations_between(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(K, 3, 3) the smallest rotations turning directions ``a`` (K, 3) onto ``b`` (K, 3)."""
    a = a / np.maximum(np.linalg.norm(a, axis=1, keepdims=True), 1e-12)
    b = b / np.maximum(np.linalg.norm(b, axis=1, keepdims=True), 1e-12)
    v = np.cross(a, b)
    c = np.einsum("ij,ij->i", a, b)
    vx = np.zeros((len(a), 3, 3))
    vx[:, 0, 1], vx[:, 0, 2], vx[:, 1, 2] = -v[:, 2], v[:, 1], -v[:, 0]
    vx[:, 1, 0], vx[:, 2, 0], vx[:, 2, 1] = v[:, 2], -v[:, 1], v[:, 0]
    scale = 1.0 / np.maximum(1.0 + c, 1e-9)  # a and b opposite: not met (a pendant swings < 90 degrees)
    return np.eye(3)[None] + vx + np.einsum("kij,kjl->kil", vx, vx) * scale[:, None, None]
