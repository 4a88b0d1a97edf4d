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
points at its particle.

**Links turn** along the chain: a piece whose longest axis runs between two of the pieces it
touches (a chain's link, between the links before and after it) is turned, about its
centre, as the segment between those two particles turns from where the rigid item has it,
and moved with its particle; a swinging chain's links follow its curve instead of keeping
the rest pose's angles. Other pieces (a jump ring) move with their particle (translation).

Positions are bind model metres (y up); see :mod:`tryon.frames`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import breadth_first_order, connected_components
from scipy.spatial import cKDTree

from tryon.body.mannequin import Mannequin
from tryon.catalog.fit.looseness import weld
from tryon.cloth.colliders import JEWELRY_CAPSULES, capsule_slack_m
from tryon.cloth.xpbd import ClothModel, ClothParams

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
#: A link turns along its chain when its longest axis and the segment between its two
#: neighbours along that axis are this close to parallel at bind (cosine), and that axis is
#: this many times its piece's middle extent (an oval link; a round ring has no axis).
LINK_ALIGN_COS = 0.8
#: The half-spaces' normal: the skin's normals averaged over this many nearest vertices.
AWAY_NEIGHBOURS = 32
#: Jacobi passes over the links' distance constraints a substep (a chain barely stretches).
CHAIN_PASSES = 1
#: ... and after the tethers and collisions (the links close up last).
CHAIN_FINAL_PASSES = 32
LINK_ELONGATION = 1.2


@dataclass(frozen=True)
class ChainCloth:
    """labels : (V,) int64, each vertex's piece (over the item's parts' vertices, concatenated
    in part order). rest_centroids_m : (K, 3) bind model metres. model : the particles'
    cloth. away_bind : (K, 3) unit directions away from the body at bind (the half-spaces'
    normals). pendant : (K,) bool, pieces that turn about their pivot. parent : (K,) int64,
    the piece a pendant hangs from (-1: the item's own attachment, or not a pendant).
    pivot_vertex : (K,) int64, the vertex a pendant turns about (its top; -1 for others).
    link_prev, link_next : (K,) int64, the pieces whose particles' segment a link turns with
    (-1 for pieces that do not turn that way)."""

    labels: np.ndarray
    rest_centroids_m: np.ndarray
    model: ClothModel
    away_bind: np.ndarray
    pendant: np.ndarray
    parent: np.ndarray
    pivot_vertex: np.ndarray
    link_prev: np.ndarray
    link_next: np.ndarray

    @property
    def links(self) -> np.ndarray:
        """(L,) the pieces that turn along the chain."""
        return np.flatnonzero(self.link_next >= 0)


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


def chain_cloth(
    positions_m: np.ndarray, faces: np.ndarray, body_vertices_m: np.ndarray, mannequin: Mannequin | None = None
) -> ChainCloth:
    """The particle chain of a rigid item at bind ``positions_m`` (V, 3) with ``faces``;
    ``body_vertices_m`` (B, 3) the mannequin's skin at bind (for the half-spaces); with the
    ``mannequin``, the half-spaces face along its skin's averaged normal, and each piece may
    stay as deep in the chest's and neck's capsules as it is at bind (a link at the nape
    inside the chest's round cap)."""
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
    if mannequin is not None:
        # The skin's normal averaged around the nearest point: in the cleavage the direction
        # to the nearest point (on a breast's side) would forbid the front links' swing.
        _, around = cKDTree(np.asarray(mannequin.positions_m, np.float64)).query(centroids, k=AWAY_NEIGHBOURS)
        away = np.asarray(mannequin.normals, dtype=np.float64)[around].mean(axis=1)
    else:
        away = centroids - np.asarray(body_vertices_m, dtype=np.float64)[nearest]
    away /= np.maximum(np.linalg.norm(away, axis=1, keepdims=True), 1e-9)
    edges = _along_the_chain(edges, centroids)
    model = ClothModel.from_rest(centroids, edges, radius, body_gap_m=np.maximum(gap - BODY_MARGIN_M, 0.0))
    if mannequin is not None:
        slack = capsule_slack_m(mannequin, JEWELRY_CAPSULES, centroids, ClothParams().collision_margin_m)
        model = replace(model, capsule_slack_m=slack)
    model = replace(model, constraint_passes=CHAIN_PASSES, final_passes=CHAIN_FINAL_PASSES)
    prev, nxt = _link_neighbours(p, labels, centroids, edges, pendant, parent)
    return ChainCloth(labels, centroids, model, away, pendant, parent, np.where(pendant, top_vertex, -1), prev, nxt)


def _along_the_chain(edges: np.ndarray, centroids: np.ndarray) -> np.ndarray:
    """(E, 2) the edges in breadth-first order from the topmost piece (the clasp): the order
    the final Gauss-Seidel passes close the chain up in, from where it is held."""
    if len(edges) == 0:
        return edges
    k = len(centroids)
    graph = sp.coo_matrix((np.ones(len(edges)), (edges[:, 0], edges[:, 1])), shape=(k, k))
    order = np.full(k, k, np.int64)
    seen = breadth_first_order(graph, int(np.argmax(centroids[:, 1])), directed=False, return_predecessors=False)
    order[seen] = np.arange(len(seen))
    a, b = order[edges[:, 0]], order[edges[:, 1]]
    rank = np.minimum(a, b) * (k + 1) + np.maximum(a, b)
    return edges[np.argsort(rank, kind="stable")]


def _link_neighbours(p, labels, centroids, edges, pendant, parent) -> tuple[np.ndarray, np.ndarray]:
    """(K,), (K,) each link's neighbours before and after it along its longest axis (see
    ChainCloth), -1 for pieces that are not links: pendants, what a pendant hangs from,
    round pieces, pieces without a neighbour on each side along their axis."""
    k = len(centroids)
    prev = np.full(k, -1, np.int64)
    nxt = np.full(k, -1, np.int64)
    hung_from = set(parent[pendant & (parent >= 0)].tolist())
    for piece in range(k):
        if pendant[piece] or piece in hung_from:
            continue
        others = edges[(edges == piece).any(axis=1)].ravel()
        others = others[others != piece]
        if len(others) < 2:
            continue
        c = p[labels == piece] - centroids[piece]
        w, vec = np.linalg.eigh(c.T @ c)
        if w[2] < (LINK_ELONGATION**2) * max(w[1], 1e-18):
            continue
        along = (centroids[others] - centroids[piece]) @ vec[:, 2]
        before, after = others[np.argmin(along)], others[np.argmax(along)]
        seg = centroids[after] - centroids[before]
        if along.min() >= 0 or along.max() <= 0 or abs(seg @ vec[:, 2]) < LINK_ALIGN_COS * np.linalg.norm(seg):
            continue
        prev[piece], nxt[piece] = before, after
    return prev, nxt


def rotations_between(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(K, 3, 3) the smallest rotations turning directions ``a`` (K, 3) onto ``b`` (K, 3)."""
    a = a / np.maximum(np.sqrt(np.einsum("ij,ij->i", a, a)), 1e-12)[:, None]
    b = b / np.maximum(np.sqrt(np.einsum("ij,ij->i", b, b)), 1e-12)[:, None]
    # R = I + [v]x + [v]x^2 / (1 + c), v = a x b, c = a . b, written out ([v]x^2 = v v^T - |v|^2 I)
    v0 = a[:, 1] * b[:, 2] - a[:, 2] * b[:, 1]
    v1 = a[:, 2] * b[:, 0] - a[:, 0] * b[:, 2]
    v2 = a[:, 0] * b[:, 1] - a[:, 1] * b[:, 0]
    c = np.einsum("ij,ij->i", a, b)
    s = 1.0 / np.maximum(1.0 + c, 1e-9)  # a and b opposite: not met (a pendant swings < 90 degrees)
    vv = v0 * v0 + v1 * v1 + v2 * v2
    r = np.empty((len(a), 3, 3))
    r[:, 0, 0] = 1.0 + (v0 * v0 - vv) * s
    r[:, 1, 1] = 1.0 + (v1 * v1 - vv) * s
    r[:, 2, 2] = 1.0 + (v2 * v2 - vv) * s
    r[:, 0, 1] = -v2 + v0 * v1 * s
    r[:, 1, 0] = v2 + v0 * v1 * s
    r[:, 0, 2] = v1 + v0 * v2 * s
    r[:, 2, 0] = -v1 + v0 * v2 * s
    r[:, 1, 2] = -v0 + v1 * v2 * s
    r[:, 2, 1] = v0 + v1 * v2 * s
    return r
