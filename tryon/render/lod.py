"""Levels of detail for items that are small on screen: fewer triangles, the same vertices.

A software rasterizer (llvmpipe) pays for every triangle (its setup and binning, and a 4x4
block shaded for each one that touches it), however few pixels it covers: a full outfit's
chain necklace (14,880 triangles) and glasses (4,800) took about a quarter of its render for
a few hundred pixels. When a mesh's edges are much shorter than a pixel where it is drawn,
its faces are merged by vertex clustering: the vertices are gathered in cubes of a side
``cell_m`` (in the draw's bind-pose model space, so the coarse mesh does not change from
frame to frame), each cube's vertices all replaced by one of them (the one nearest their
mean), and the faces left with three distinct corners kept (duplicates dropped, winding
kept). Only an index buffer changes: the coarse faces index the mesh's own vertices, so
whatever moves them (skinning, the cloth's particles, a jewelry chain's links) moves the
coarse mesh too, and every per-vertex attribute stays.

The cube's side is ``LOD_CELL_PX`` pixels at the draw's nearest point, rounded down to a
half-octave step (a power of the square root of two, in metres: a handful of levels, each made
once per mesh and kept).
"""

from __future__ import annotations

import math

import numpy as np

#: The clustering cube's side, pixels at the draw's nearest point (before rounding down).
LOD_CELL_PX = 0.7
#: Coarser levels are used only when the cube is this many times the mesh's median edge (a
#: mesh already as coarse as its pixels gains nothing) ...
MIN_CELL_OVER_EDGE = 1.0
#: ... and for meshes of at least this many faces.
MIN_FACES = 256


def median_edge_m(points_m: np.ndarray, faces: np.ndarray) -> float:
    """The median length of the faces' first edges (metres, in the points' space)."""
    if len(faces) == 0:
        return 0.0
    f = faces[:: max(1, len(faces) // 4096)]
    return float(np.median(np.linalg.norm(points_m[f[:, 1]] - points_m[f[:, 0]], axis=1)))


def level_for(edge_m: float, pixel_m: float, n_faces: int) -> int | None:
    """The level (the cube's side is ``cell_m(level)``) for a mesh of median edge ``edge_m``
    drawn where a pixel spans ``pixel_m`` metres; None: the mesh as it is."""
    if n_faces < MIN_FACES or edge_m <= 0.0 or pixel_m <= 0.0:
        return None
    level = math.floor(2.0 * math.log2(LOD_CELL_PX * pixel_m))
    if cell_m(level) < MIN_CELL_OVER_EDGE * edge_m:
        return None
    return level


def cell_m(level: int) -> float:
    """The clustering cube's side at a level, metres: half-octave steps."""
    return 2.0 ** (level / 2.0)


def cluster_faces(
    points_m: np.ndarray, faces: np.ndarray, cell_m: float, normals: np.ndarray | None = None
) -> np.ndarray:
    """(F', 3) int32: ``faces`` ((F, 3) indices into ``points_m`` (N, 3)) with the vertices of
    each ``cell_m`` cube replaced by the one nearest their mean; faces with a repeated corner,
    faces turned over by it (their normal against the original face's), and repeated faces (the
    same three corners in the same winding) dropped, the first kept. normals : (N, 3), when
    given only vertices whose normals point into the same octant are merged (the two sides of a
    thin tube or sheet keep their own vertices, and so their own normals)."""
    p = np.asarray(points_m, np.float64)
    keys = np.floor(p / cell_m).astype(np.int64)
    if normals is not None:
        octant = (np.asarray(normals) > 0) @ np.array([1, 2, 4])
        keys = np.column_stack([keys, octant])
    _, cluster = np.unique(keys, axis=0, return_inverse=True)
    cluster = cluster.ravel()
    n = int(cluster.max()) + 1
    counts = np.bincount(cluster, minlength=n).astype(np.float64)
    mean = np.stack([np.bincount(cluster, p[:, k], minlength=n) for k in range(3)], axis=1) / counts[:, None]
    dist = np.einsum("ij,ij->i", p - mean[cluster], p - mean[cluster])
    order = np.lexsort((dist, cluster))  # by cluster, nearest its mean first
    first = np.ones(len(order), bool)
    first[1:] = cluster[order[1:]] != cluster[order[:-1]]
    rep = np.empty(n, np.int64)
    rep[cluster[order[first]]] = order[first]
    faces = np.asarray(faces, np.int64)
    f = rep[cluster[faces]]
    before = np.cross(p[faces[:, 1]] - p[faces[:, 0]], p[faces[:, 2]] - p[faces[:, 0]])
    after = np.cross(p[f[:, 1]] - p[f[:, 0]], p[f[:, 2]] - p[f[:, 0]])
    ok = (f[:, 0] != f[:, 1]) & (f[:, 1] != f[:, 2]) & (f[:, 0] != f[:, 2])
    f = f[ok & (np.einsum("ij,ij->i", before, after) > 0)]
    if len(f) == 0:
        return f.astype(np.int32).reshape(0, 3)
    # each face turned to start at its smallest corner (its winding kept: a sheet's two sides
    # are two faces)
    turn = np.argmin(f, axis=1)
    rows = np.arange(len(f))[:, None]
    canon = f[rows, (turn[:, None] + np.arange(3)) % 3]
    _, keep = np.unique(canon, axis=0, return_index=True)
    return f[np.sort(keep)].astype(np.int32)
