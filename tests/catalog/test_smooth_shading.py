"""Smooth shading on the bundled low-poly garments (issue 14, "shape shading"): the stored
normals are smooth vertex normals (the importer's ``tryon.catalog.bake.smooth_normals``), so a
2.4k-triangle sleeve or a 728-triangle skirt is shaded as a curved surface, not in facets:
the normals at a triangle's corners differ from its face normal, and vertices split by a UV
seam share one normal (no shading edge along the seam)."""

from __future__ import annotations

import numpy as np
import pytest

from tryon.catalog.catalog import Catalog
from tryon.catalog.fit.looseness import weld
from tryon.geometry import vertex_normals

LOW_POLY = ("charcoal-skirt", "navy-longsleeve", "blue-jeans", "white-tee", "emerald-maxi-dress", "olive-jacket")


@pytest.fixture(scope="module")
def catalog():
    return Catalog()


def _unit(v):
    v = np.asarray(v, np.float64)
    return v / np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-20)


@pytest.mark.parametrize("item_id", LOW_POLY)
def test_low_poly_garments_are_shaded_smooth(catalog, item_id):
    part = catalog.get(item_id).parts[0]
    assert len(part.faces) < 6000  # low-poly: the case smooth normals are for
    n = _unit(part.normals)
    corners = part.positions[part.faces].astype(np.float64)
    face_n = _unit(np.cross(corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0]))
    off_face = np.degrees(np.arccos(np.clip(np.abs(np.einsum("fij,fj->fi", n[part.faces], face_n)), 0, 1)))
    # flat shading would put every corner on its face's normal (0 degrees)
    assert np.median(off_face) > 3.0, f"corners {np.median(off_face):.1f} degrees off their faces: flat-shaded?"
    # the stored normals are the welded mesh's smooth vertex normals (but at creases)
    welded, first = weld(part.positions, 1e-4)
    smooth = vertex_normals(part.positions[first].astype(np.float32), welded[part.faces].astype(np.int32))
    agree = np.degrees(np.arccos(np.clip(np.abs(np.einsum("ij,ij->i", n, _unit(smooth)[welded])), 0, 1)))
    assert np.mean(agree < 2.0) > 0.75, f"only {np.mean(agree < 2.0):.0%} of the normals are smooth vertex normals"
    # vertices split by a UV seam share their normal (creases over 60 degrees excepted)
    seam = first[welded] != np.arange(len(welded))
    if seam.any():
        dev = np.degrees(np.arccos(np.clip(np.einsum("ij,ij->i", n[seam], n[first[welded[seam]]]), -1, 1)))
        assert np.mean(dev < 1.0) > 0.95, f"{np.mean(dev >= 1.0):.0%} of the seam's vertices show an edge"
