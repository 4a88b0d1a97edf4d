"""Levels of detail: a dense item small on screen is drawn with fewer faces of its own vertices."""

import numpy as np
import pytest

from tryon.catalog.item import Material
from tryon.catalog.procedural import chain_necklace
from tryon.frames import CameraIntrinsics
from tryon.render import lod
from tryon.render.renderer import Draw, Renderer, RenderOptions

K = CameraIntrinsics.from_fov(640, 480, 60)


def _chain_draw(shift_m=(0.0, 0.0)) -> Draw:
    """The procedural chain necklace (7,440 vertices, 14,880 faces) hung 1.6 m in front of the
    camera, its front toward it, as the engine draws it (bind pose = model space)."""
    parts, _, _ = chain_necklace()
    p = parts[0]
    pos, nrm = p.positions.astype(np.float32), p.normals.astype(np.float32)
    # item (x left?, y up, z forward) to camera (x right, y down, z away): face the camera
    to_cam = np.array([[1.0, 0.0, 0.0], [0.0, -1.0, 0.0], [0.0, 0.0, -1.0]], np.float32)
    cam = pos @ to_cam.T + np.array([shift_m[0], shift_m[1], 1.6], np.float32)
    gold = Material("gold", base_color=(1.0, 0.766, 0.336, 1.0), metallic=1.0, roughness=0.25, fabric="metal")
    return Draw(
        key="chain",
        positions_cam_m=cam,
        normals_cam=nrm @ to_cam.T,
        faces=p.faces.astype(np.int32),
        material=gold,
        clip_to_person=False,
        keepout=False,
        model_positions_m=pos,
        model_normals=nrm,
    )


@pytest.fixture(scope="module")
def renderers():
    on, off = Renderer(RenderOptions(lod=True)), Renderer(RenderOptions(lod=False))
    yield on, off
    on.close()
    off.close()


def test_clustering_keeps_the_meshs_own_vertices_and_its_sides():
    """The coarse faces index the original vertices (whatever moves them moves the coarse mesh),
    none is turned over, none repeats, and a sheet's two sides stay two faces."""
    d = _chain_draw()
    faces = lod.cluster_faces(d.model_positions_m, d.faces, 0.0014, d.model_normals)
    assert 0 < len(faces) < 0.9 * len(d.faces)
    assert faces.min() >= 0 and faces.max() < len(d.model_positions_m)
    p = d.model_positions_m.astype(np.float64)
    n_face = np.cross(p[faces[:, 1]] - p[faces[:, 0]], p[faces[:, 2]] - p[faces[:, 0]])
    n_vert = d.model_normals[faces].sum(axis=1)
    assert (np.einsum("ij,ij->i", n_face, n_vert) > 0).mean() > 0.97  # wound as the surface faces
    assert len(np.unique(faces, axis=0)) == len(faces)
    sheet = np.array([[0.0, 0, 0], [1e-4, 0, 0], [0, 1e-4, 0], [1.0, 0, 0], [0, 1.0, 0]])
    two_sides = np.array([[0, 3, 4], [0, 4, 3], [1, 3, 4]])
    assert len(lod.cluster_faces(sheet, two_sides, 0.01)) == 2  # (1 merged into 0: a repeat)


def test_levels_only_for_meshes_finer_than_their_pixels():
    """A garment (3 cm edges) at a shopper's distance is drawn whole; a chain (1.2 mm edges)
    under pixels of 3.4 mm gets a level; a small mesh never does."""
    assert lod.level_for(0.032, 0.0034, 2408) is None
    level = lod.level_for(0.0012, 0.0034, 14880)
    assert level is not None and 0.0012 <= lod.cell_m(level) <= lod.LOD_CELL_PX * 0.0034
    assert lod.level_for(0.0012, 0.0034, 100) is None


def test_a_chain_far_away_looks_the_same_with_fewer_faces(renderers):
    """The chain at 1.6 m (640x480): drawn at a level of detail it covers the same pixels and
    has the same colour, within a few per cent, from far fewer faces; moving its vertices moves
    the coarse chain with them."""
    on, off = renderers
    d = _chain_draw()
    a, b = on.render_layers(K, [d]).bgra, off.render_layers(K, [d]).bgra
    mesh = on._meshes["chain"]
    (level, ibo), = mesh.lods.items()
    assert ibo.size // 12 < 0.9 * len(d.faces)
    cov_a, cov_b = a[..., 3] > 127, b[..., 3] > 127
    assert cov_b.sum() > 80  # (a thin gold line, about 45 x 38 px)
    assert abs(int(cov_a.sum()) - int(cov_b.sum())) < 0.05 * cov_b.sum()
    assert (cov_a & cov_b).sum() > 0.85 * cov_b.sum()
    both = cov_a & cov_b
    mean_a, mean_b = a[both][:, :3].mean(axis=0), b[both][:, :3].mean(axis=0)
    assert np.abs(mean_a - mean_b).max() < 6.0, (mean_a, mean_b)
    moved = on.render_layers(K, [_chain_draw(shift_m=(0.05, 0.0))]).bgra[..., 3] > 127
    shift_px = np.nonzero(moved)[1].mean() - np.nonzero(cov_a)[1].mean()
    assert abs(shift_px - 0.05 / 1.6 * K.fx) < 1.0
