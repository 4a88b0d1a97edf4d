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
from tryon.render.types import Draw
from tryon.wrinkles import joint_bends, wrinkle_strength

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


#: A rigid part is drawn only while the image supports its bone this well (see
#: ``PosedBody.bone_confidence``: 1 when its keypoints are seen in the frame, 0.5 when only
#: guessed at the edge or hidden, 0 when outside): shoes need their feet, a watch its wrist.
MIN_PART_CONFIDENCE = 0.75


def part_visible(item: Garment, part_index: int, body: PosedBody) -> bool:
    """Whether the body part a rigid item's part rides is seen in this frame: shoes vanish
    when the feet leave the frame, a ring when its hand is hidden. Clothes always draw (the
    person mask clips them to what the camera sees)."""
    if not item.is_rigid:
        return True
    bone = item.parts[part_index].bone or item.attachment.bone
    if _finger_frame(item, bone, body) is not None:  # placed by the hand model, which found it
        return True
    return bool(body.bone_confidence[BONE_INDEX[bone]] >= MIN_PART_CONFIDENCE)


#: Jewelry made of wire (``Category.thin_wire``): seen from afar its wire is thinner than a
#: pixel and would vanish in the anti-aliasing. Its surface is pushed out along the normals
#: until the wire is at least MIN_WIRE_PX wide on screen (the design's wire radius taken as
#: WIRE_RADIUS_M); near the camera nothing changes.
MIN_WIRE_PX = 1.6
WIRE_RADIUS_M = 0.001


def thicken_wire(positions: np.ndarray, normals: np.ndarray, fx_px: float) -> np.ndarray:
    """(V, 3) camera metres: ``positions`` grown along ``normals`` so a wire of radius
    WIRE_RADIUS_M spans at least MIN_WIRE_PX at its depth (focal length ``fx_px``)."""
    grow = np.maximum(0.0, 0.5 * MIN_WIRE_PX * positions[:, 2] / fx_px - WIRE_RADIUS_M)
    return positions + normals * grow[:, None]


def _finger_frame(item: Garment, bone: str, body: PosedBody) -> np.ndarray | None:
    """(3, 4) the hand model's frame of the finger the item rides (``Category.finger``, on
    the side of ``bone``), or None (no finger, or the hand model did not find it)."""
    finger = item.kind.finger
    return None if finger is None else body.finger_frames.get(f"{finger}.{bone[-1]}")


def _part_transform(item: Garment, bone: str, body: PosedBody) -> np.ndarray:
    """(3, 4) bind -> camera map a rigid part rides: its bone's, or for a ring the finger the
    hand model found."""
    finger = _finger_frame(item, bone, body)
    return finger if finger is not None else body.palette[BONE_INDEX[bone]].astype(np.float64)


def deform_item(
    item: Garment,
    body: PosedBody,
    variant: str | None = None,
    method: str = "lbs",
    opacity: float | list[float] = 1.0,
    wrinkles: bool = True,
    bends: np.ndarray | None = None,
) -> list[Draw]:
    """One Draw per part of ``item``, posed on ``body`` (keys ``"<id>/<k>"``). opacity : one
    for the item, or one per part (parts at 0 are not drawn). A loose garment's part (a
    skirt, a dress: :mod:`tryon.cloth`) comes as two Draws sharing its vertices: its tight
    faces clipped to the person mask, its hanging faces (``"<id>/<k>/loose"``) not.
    wrinkles : give skinned parts this pose's fold strength (:mod:`tryon.wrinkles`).
    bends : ``joint_bends(body)`` if the caller has it already (one per frame for the outfit)."""
    from tryon.cloth.stage import garment_part_cloth, split_loose

    materials = item.materials_for(variant)
    opacities = [opacity] * len(item.parts) if np.isscalar(opacity) else list(opacity)
    if not wrinkles or item.is_rigid:
        bends = None
    elif bends is None:
        bends = joint_bends(body)
    draws = []
    for k, (part, material) in enumerate(zip(item.parts, materials)):
        if opacities[k] <= 0:
            continue
        if item.is_rigid:
            bone = part.bone or item.attachment.bone
            transform = _compose(_part_transform(item, bone, body), np.asarray(item.attachment.offset, np.float64))
            pos, nrm = rigid_transform(part.positions, transform, part.normals)
            if item.kind.thin_wire and nrm is not None:
                pos = thicken_wire(pos, nrm, body.intrinsics.fx)
        else:
            pos, nrm = skin_positions(part.positions, part.normals, part.skin, body, method)
        fold, axes = wrinkle_strength(part, body, bends) if bends is not None else (None, None)
        draw = Draw(
            key=f"{item.id}/{k}",
            positions_cam_m=pos,
            normals_cam=nrm,
            faces=part.faces,
            uvs=part.uvs,
            material=material,
            clip_to_person=item.clip_to_person,
            opacity=float(opacities[k]),
            keepout=item.keepout,
            depth_bias_m=item.layer_bias_m,
            model_positions_m=part.positions,
            model_normals=part.normals,
            ao=part.ao,
            wrinkle=fold,
            wrinkle_axis=axes,
        )
        cloth = None if item.is_rigid else garment_part_cloth(item, k)
        draws += [draw] if cloth is None else split_loose(draw, cloth.loose_faces)
    return draws


#: Occluder regions (see tryon.body.mannequin.bone_region) that only occlude when the image
#: shows their joints: a limb guessed from outside the frame would cut false holes.
GATED_REGIONS = (2, 3, 4, 5, 6, 7, 8, 9)
#: The legs' occluder regions: left out under a skirt or dress (the legs are inside it).
LEG_REGIONS = (6, 7, 8, 9)


def _region_bone_lists(occ) -> dict[int, list[int]]:
    """The occluder's ``region_bones`` as Python lists (kept with it)."""
    kept = occ.__dict__.get("_region_bone_lists")
    if kept is None:
        kept = occ.__dict__["_region_bone_lists"] = {r: b.tolist() for r, b in occ.region_bones.items()}
    return kept


def body_occluder(
    mannequin: Mannequin, body: PosedBody, min_confidence: float = 0.75, skip_regions: tuple[int, ...] = ()
) -> Draw:
    """The posed mannequin's low-poly proxy body, drawn depth-only as the occluder.

    Limbs whose bones the image does not support (``body.bone_confidence`` below
    ``min_confidence``) are left out, and ``skip_regions`` (e.g. LEG_REGIONS); the torso and
    head always occlude."""
    occ = mannequin.occluder
    pos, nrm = linear_blend_skinning(occ.positions_m, occ.skin, body.palette, occ.normals)
    confidence = body.bone_confidence.tolist()
    dropped = tuple(
        region
        for region in GATED_REGIONS
        if region in skip_regions
        or not (bones := _region_bone_lists(occ).get(region))
        or min(confidence[b] for b in bones) < min_confidence
    )
    if not dropped:
        return Draw(key="__body__", positions_cam_m=pos, normals_cam=nrm, faces=occ.faces)
    key = "__body__/-" + "".join(str(r) for r in dropped)
    return Draw(key=key, positions_cam_m=pos, normals_cam=nrm, faces=occ.faces_without(dropped))
