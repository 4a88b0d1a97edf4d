"""Import MakeHuman clothes (``.mhclo`` + ``.obj``) onto the mannequin, with skin weights.

A ``.mhclo`` ties every clothing vertex to three mannequin vertices (barycentric weights
plus an offset), so the garment is fitted exactly and its skin weights are the same mix
of those vertices' weights. MakeHuman outfits are one mesh holding top and bottom as
separate pieces; ``piece="top"`` keeps the connected pieces that ride mostly on the upper
body, ``"bottom"`` the others, ``"all"`` the whole outfit (the import pipeline takes the
category's: :func:`piece_for`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

from tryon.body import makehuman as mh
from tryon.body.mannequin import Mannequin, SkinWeights, load_mannequin, vertex_normals
from tryon.body.skeleton import BONE_NAMES
from tryon.catalog.categories import Category, lookup
from tryon.catalog.fit.rigging import for_garment
from tryon.catalog.item import Attachment, Garment, Material, MeshPart
from tryon.frames import MAKEHUMAN_UNIT_M
from tryon.image import srgb_to_linear

LOWER_BODY_BONES = frozenset(
    i
    for i, n in enumerate(BONE_NAMES)
    if n == "root" or n.split(".")[0] in ("pelvis", "upperleg01", "upperleg02", "lowerleg01", "lowerleg02", "foot")
)
PIECES = ("top", "bottom", "all")
#: The outfit piece a garment of each body half keeps (see categories.BODY_HALVES).
PIECE_OF_HALF = {"upper": "top", "lower": "bottom", None: "all"}


def piece_for(kind: Category) -> str:
    """The piece of a MakeHuman outfit a garment of category ``kind`` keeps."""
    return PIECE_OF_HALF[kind.body_half]


def fitted_vertices(clothes: mh.MhClothes, mannequin: Mannequin) -> tuple[np.ndarray, SkinWeights]:
    """Clothing vertices on the mannequin (N, 3) model metres, and their transferred skin."""
    n_body = len(mannequin.full_positions_dm)
    if clothes.ref_verts.max() >= n_body or clothes.ref_verts.min() < 0:
        raise mh.MakeHumanFormatError(
            f"{clothes.name}: refers to body vertex {int(clothes.ref_verts.max())}; the hm08 body has {n_body}"
        )
    positions = clothes.fit(mannequin.full_positions_dm) * MAKEHUMAN_UNIT_M
    dense = mannequin.full_skin.to_dense()  # (19158, J)
    mixed = np.einsum("nk,nkj->nj", clothes.ref_weights, dense[clothes.ref_verts])
    return positions, SkinWeights.from_dense(mixed)


def _piece_mask(tri_v: np.ndarray, skin: SkinWeights, n_vertices: int, piece: str) -> np.ndarray:
    """(F,) bool: the triangles of connected pieces that belong to ``piece``."""
    if piece == "all":
        return np.ones(len(tri_v), bool)
    adj = sp.coo_matrix(
        (np.ones(tri_v.size), (tri_v.ravel(), np.roll(tri_v, 1, axis=1).ravel())), shape=(n_vertices, n_vertices)
    )
    _, label = connected_components(adj, directed=False)
    lower = np.isin(skin.bones, list(LOWER_BODY_BONES))
    lower_share = (skin.weights * lower).sum(axis=1)
    n_labels = label.max() + 1
    share = np.bincount(label, weights=lower_share, minlength=n_labels) / np.maximum(
        np.bincount(label, minlength=n_labels), 1
    )
    is_top_label = share < 0.5
    keep_label = is_top_label if piece == "top" else ~is_top_label
    keep = keep_label[label[tri_v[:, 0]]]
    if not keep.any():
        raise mh.MakeHumanFormatError(
            f"the garment has no {piece} piece (its pieces ride on the other half of the body)"
        )
    return keep


def _build_part(
    positions, normals_v, tri_v, tri_vt, obj, skin, material: int, bone: str | None, kind: Category
) -> MeshPart:
    """One render vertex per (position, uv) pair; normals from the position topology, so UV
    seams do not show as shading seams."""
    has_uv = len(obj.uvs) > 0 and (tri_vt >= 0).all()
    pairs = np.stack([tri_v.ravel(), tri_vt.ravel() if has_uv else np.zeros(tri_v.size, np.int64)], axis=1)
    uniq, inverse = np.unique(pairs, axis=0, return_inverse=True)
    src = uniq[:, 0]
    uvs = None
    if has_uv:
        uv = obj.uvs[uniq[:, 1]]
        uvs = np.stack([uv[:, 0], 1.0 - uv[:, 1]], axis=1).astype(np.float32)  # OBJ v-up -> glTF v-down
    part_skin = None
    if bone is None:
        faces = inverse.reshape(-1, 3)
        part_skin = for_garment(skin.take(src), positions[src], faces, kind)
    return MeshPart(
        positions=positions[src].astype(np.float32),
        normals=normals_v[src],
        faces=inverse.reshape(-1, 3).astype(np.int32),
        uvs=uvs,
        material=material,
        skin=part_skin,
        bone=bone,
    )


def _material(name: str, color_srgb, roughness: float) -> Material:
    color = (0.8, 0.8, 0.8) if color_srgb is None else color_srgb
    return Material(
        name=name, base_color=np.array([*srgb_to_linear(np.asarray(color)), 1.0], np.float32), roughness=roughness
    )


def import_makehuman_clothes(
    mhclo_path: str | Path,
    *,
    item_id: str,
    name: str,
    category: str,
    piece: str = "all",
    base_color_srgb: tuple[float, float, float] | None = None,
    bottom_color_srgb: tuple[float, float, float] | None = None,
    roughness: float = 0.85,
    mannequin: Mannequin | None = None,
) -> Garment:
    """Fit a MakeHuman garment to the mannequin and rig it.

    Clothes come back skinned. ``bottom_color_srgb`` (with ``piece="all"``): the outfit's
    lower pieces get their own material (dungarees over a T-shirt). Rigid categories: shoes
    split into a left and a right part riding the feet (a category with a ``right_bone``),
    the others ride their category's bone; their fitted bind positions are already on the
    mannequin."""
    kind = lookup(category)
    if piece not in PIECES:
        raise ValueError(f"piece must be one of {PIECES}, got {piece!r}")
    mhclo_path = Path(mhclo_path)
    mannequin = mannequin or load_mannequin()
    clothes = mh.read_mhclo(mhclo_path)
    obj_path = mhclo_path.parent / clothes.obj_file
    if obj_path.resolve().parent != mhclo_path.resolve().parent:
        raise mh.MakeHumanFormatError(f"{mhclo_path.name}: obj_file {clothes.obj_file!r} must sit beside the .mhclo")
    if not obj_path.is_file():
        raise mh.MakeHumanFormatError(f"{mhclo_path.name}: the mesh {clothes.obj_file!r} is missing")
    obj = mh.read_obj(obj_path)
    if len(obj.positions) != len(clothes.ref_verts):
        raise mh.MakeHumanFormatError(
            f"{mhclo_path.name}: fits {len(clothes.ref_verts)} vertices but {obj_path.name} has {len(obj.positions)}"
        )
    positions, skin = fitted_vertices(clothes, mannequin)
    keep = _piece_mask(obj.tri_v, skin, len(positions), piece)
    tri_v, tri_vt = obj.tri_v[keep], obj.tri_vt[keep]

    # Outward-facing winding (MakeHuman's is counter-clockwise seen from outside; check).
    normals_v = vertex_normals(positions, tri_v)
    centre = positions[np.unique(tri_v)].mean(axis=0)
    if np.mean(np.einsum("ij,ij->i", normals_v[tri_v[:, 0]], positions[tri_v[:, 0]] - centre)) < 0:
        tri_v, tri_vt = tri_v[:, ::-1], tri_vt[:, ::-1]
        normals_v = -normals_v

    materials = [_material(clothes.name, base_color_srgb, roughness)]
    groups: list[tuple[np.ndarray, int, str | None]] = []
    attachment = None
    if kind.is_rigid:
        attachment = Attachment(kind.bone)
        if kind.right_bone is not None:  # a pair: each side on its own bone
            side_left = positions[tri_v[:, 0], 0] > 0  # +x is the mannequin's left
            groups = [(side_left, 0, kind.bone), (~side_left, 0, kind.right_bone)]
        else:
            groups = [(np.ones(len(tri_v), bool), 0, kind.bone)]
    elif bottom_color_srgb is not None and piece == "all":
        top_tris = _upper_piece(tri_v, positions)
        if top_tris is not None:
            materials.append(_material(clothes.name + " (lower)", bottom_color_srgb, roughness))
            groups = [(top_tris, 0, None), (~top_tris, 1, None)]
    if not groups:
        groups = [(np.ones(len(tri_v), bool), 0, None)]
    parts = [
        _build_part(positions, normals_v, tri_v[sel], tri_vt[sel], obj, skin, mat, bone, kind)
        for sel, mat, bone in groups
        if sel.any()
    ]
    return Garment(
        id=item_id,
        name=name,
        category=category,
        parts=parts,
        materials=materials,
        attachment=attachment,
        clip_to_person=kind.clip_to_person,
        manifest={"makehuman": {"name": clothes.name, "uuid": clothes.uuid, "piece": piece}},
    )


def _upper_piece(tri_v: np.ndarray, positions: np.ndarray) -> np.ndarray | None:
    """(F,) bool: the triangles of the outfit's upper piece, when it has two main pieces (a
    T-shirt under dungarees, a jacket over trousers): of the two largest connected pieces the
    higher one, small pieces (buttons, buckles) going with the nearest main piece."""
    n = len(positions)
    adj = sp.coo_matrix((np.ones(tri_v.size), (tri_v.ravel(), np.roll(tri_v, 1, axis=1).ravel())), shape=(n, n))
    _, label = connected_components(adj, directed=False)
    used = np.unique(tri_v)
    sizes = np.bincount(label[used], minlength=label.max() + 1)
    big = np.argsort(-sizes)[:2]
    if len(big) < 2 or sizes[big[1]] < 0.1 * sizes[big[0]]:
        return None
    heights = [positions[label == c, 1].mean() for c in big]
    upper, lower = (big[0], big[1]) if heights[0] > heights[1] else (big[1], big[0])
    centres = {c: positions[label == c].mean(axis=0) for c in (upper, lower)}
    comp_centre = {c: positions[label == c].mean(axis=0) for c in np.unique(label[used])}
    is_upper = {
        c: np.linalg.norm(p - centres[upper]) < np.linalg.norm(p - centres[lower]) for c, p in comp_centre.items()
    }
    is_upper[upper], is_upper[lower] = True, False
    return np.array([is_upper[c] for c in label[tri_v[:, 0]]])
