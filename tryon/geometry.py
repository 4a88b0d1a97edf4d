"""Triangle-mesh maths shared by the body, the catalog and the renderer (no GL, no catalog)."""

from __future__ import annotations

import numpy as np


def vertex_normals(positions: np.ndarray, faces: np.ndarray, dtype=np.float32) -> np.ndarray:
    """Area-weighted unit vertex normals of a triangle mesh.

    positions : (V, 3) any float, any frame; faces : (F, 3) vertex indices.
    Returns (V, 3) ``dtype`` (float32 for the frame path and stored geometry; pass float64 to
    keep full precision for further maths), in the positions' frame. Vertices on no face (or
    only on zero-area faces) get (0, 0, 1).
    """
    p = np.asarray(positions, dtype=np.float64)
    f = np.asarray(faces, dtype=np.int64).reshape(-1, 3)
    fn = np.cross(p[f[:, 1]] - p[f[:, 0]], p[f[:, 2]] - p[f[:, 0]])  # |fn| = 2 * area
    out = np.zeros_like(p)
    for c in range(3):
        for k in range(3):
            out[:, c] += np.bincount(f[:, k], weights=fn[:, c], minlength=len(p))
    length = np.linalg.norm(out, axis=1)
    ok = length > 1e-30
    out[ok] /= length[ok, None]
    out[~ok] = (0.0, 0.0, 1.0)
    return out.astype(dtype, copy=False)
