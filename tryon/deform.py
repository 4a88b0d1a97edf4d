"""The items stage: catalog items deformed onto a posed body, ready to draw.

Skinned items (clothes) go through linear blend skinning (or dual quaternions) with the
body's palette; rigid items (shoes, glasses, jewelry) ride their bone's transform. The
posed mannequin itself is the depth-only occluder.
"""

from __future__ import annotations

import numpy as np

from tryon.body.mannequin import Mannequin
from tryon.body.skeleton import BONE_INDEX
from tryon.body.skinning import dual_quaternion_skinning, linear_blend_skinning, rigid_transform
from tryon.body.solver import PosedBody
from tryon.catalog.item import Garment
from tryon.render.renderer import Draw

SKINNING_METHODS = ("lbs", "dqs")


def _compose(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(3, 4) affine maps: a after b."""
    return np.concatenate([a[:, :3] @ b[:, :3], (a[:, :3] @ b[:, 3] + a[:, 3])[:, None]], axis=1)


def skin_positions(positions, normals, skin, body: PosedBody, method: str = "lbs"):
    """Posed (V, 3) positions and normals in camera metres for skinned geometry."""
    if method == "lbs":
        return linear_blend_skinning(positions, skin, body.palette, normals)
    if method == "dqs":
        # palette x = heads + R S (x - b): a stretch about the bind head, then a rigid motion.
        b = body.bind_heads_m
        S = body.stretch
        stretch = np.concatenate([S, (b - np.einsum("jab,jb->ja", S, b))[:, :, None]], axis=2)
        trans = body.heads_cam_m - np.einsum("jab,jb->ja", body.rotations, b)
        return dual_quaternion_skinning(positions, skin, body.rotations, trans, stretch, normals)
    raise ValueError(f"skinning must be one of {SKINNING_METHODS}, got {method!r}")


def deform_item(
    item: Garment, body: PosedBody, variant: str | None = None, method: str = "lbs", opacity: float = 1.0
) -> list[Draw]:
    """One Draw per part of ``item``, posed on ``body``."""
    materials = item.materials_for(variant)
    draws = []
    for k, (part, material) in enumerate(zip(item.parts, materials)):
        if item.is_rigid:
            transform = _compose(
                body.palette[BONE_INDEX[part.bone or item.attachment.bone]].astype(np.float64),
                np.asarray(item.attachment.offset, np.float64),
            )

            pos, nrm = rigid_transform(part.positions, transform, part.normals)
        else:
            pos, nrm = skin_positions(part.positions, part.normals, part.skin, body, method)
        draws.append(
            Draw(
                key=f"{item.id}/{k}",
                positions_cam_m=pos,
                normals_cam=nrm,
                faces=part.faces,
                uvs=part.uvs,
                material=material,
                clip_to_person=item.clip_to_person,
                opacity=opacity,
                keepout=item.keepout,
            )
        )
    return draws


#: Occluder regions (see tryon.body.mannequin.bone_region) that only occlude when the image
#: shows their joints: a limb guessed from outside the frame would cut false holes.
GATED_REGIONS = (2, 3, 4, 5, 6, 7, 8, 9)


def body_occluder(mannequin: Mannequin, body: PosedBody, min_confidence: float = 0.75) -> Draw:
    """The posed mannequin's low-poly proxy body, drawn depth-only as the occluder.

    Limbs whose bones the image does not support (``body.bone_confidence`` below
    ``min_confidence``) are left out; the torso and head always occlude."""
    occ = mannequin.occluder
    pos, nrm = linear_blend_skinning(occ.positions_m, occ.skin, body.palette, occ.normals)
    keep_regions = []
    for region in GATED_REGIONS:
        bones = np.unique(occ.skin.bones[occ.regions == region, 0])
        if len(bones) and body.bone_confidence[bones].min() >= min_confidence:
            keep_regions.append(region)
    dropped = sorted(set(GATED_REGIONS) - set(keep_regions))
    if not dropped:
        return Draw(key="__body__", positions_cam_m=pos, normals_cam=nrm, faces=occ.faces)
    face_region = occ.regions[occ.faces].max(axis=1)  # a face between regions goes with the limb
    faces = occ.faces[~np.isin(face_region, dropped)]
    key = "__body__/-" + "".join(str(r) for r in dropped)
    return Draw(key=key, positions_cam_m=pos, normals_cam=nrm, faces=faces)
