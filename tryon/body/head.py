"""The neck and the head.

The head's frame comes from the ears and the nose, refined (:func:`head_pnp`) so the
mannequin's face anchors (eyes, nose, mouth, ears) reproject onto their keypoints; or, when
the engine ran the face landmarker, from its head pose (:func:`head_from_face`), sharper for
eyewear, hats and earrings. The neck bones share the rotation from the chest to the head the
pose keypoints see (:data:`NECK_BLEND`) and stretch so the neck ends at the head; the head, a
rigid body seen directly, lands on its ears even where the neck cannot reach.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from tryon.body import solve_kernel as k
from tryon.body.context import BindPose, FrameContext, PoseBuffer
from tryon.body.skeleton import BONE_INDEX
from tryon.body.torso import chain_scale, frame_pair, place_chain
from tryon.frames import CM_TO_M, CameraIntrinsics
from tryon.pose.face import (
    LEFT_EYE_CONTOUR,
    RIGHT_EYE_CONTOUR,
    FacePoint,
    HeadPose,
    canonical_face_model_cm,
)
from tryon.pose.landmarks import L
from tryon.pose.types import Pose

#: The face keypoints the head's rotation is fitted on (ears, eyes, nose, mouth).
HEAD_POSE_LANDMARKS = np.array(
    [
        L.NOSE,
        L.LEFT_EYE_INNER,
        L.LEFT_EYE,
        L.LEFT_EYE_OUTER,
        L.RIGHT_EYE_INNER,
        L.RIGHT_EYE,
        L.RIGHT_EYE_OUTER,
        L.LEFT_EAR,
        L.RIGHT_EAR,
        L.MOUTH_LEFT,
        L.MOUTH_RIGHT,
    ],
    dtype=np.int64,
)
#: The face-point fit needs at least this many trusted face keypoints.
MIN_HEAD_POSE_POINTS = 6
#: The face-point fit may turn the head this far from the ear/nose estimate, degrees.
MAX_HEAD_REFINE_DEG = 50.0
#: BlazePose face keypoints and the face-mesh landmarks at the same places (the eyes' centres
#: are their contours' means), for aligning the canonical face with the mannequin's head.
FACE_MESH_EQUIVALENTS = {
    L.NOSE: (FacePoint.NOSE_TIP,),
    L.LEFT_EYE_INNER: (FacePoint.LEFT_EYE_INNER,),
    L.LEFT_EYE: LEFT_EYE_CONTOUR,
    L.LEFT_EYE_OUTER: (FacePoint.LEFT_EYE_OUTER,),
    L.RIGHT_EYE_INNER: (FacePoint.RIGHT_EYE_INNER,),
    L.RIGHT_EYE: RIGHT_EYE_CONTOUR,
    L.RIGHT_EYE_OUTER: (FacePoint.RIGHT_EYE_OUTER,),
    L.MOUTH_LEFT: (FacePoint.MOUTH_LEFT,),
    L.MOUTH_RIGHT: (FacePoint.MOUTH_RIGHT,),
}
#: Share of the head's rotation each neck bone takes (the rest is the chest's).
NECK_BLEND = {"neck01": 0.3, "neck02": 0.55, "neck03": 0.8}
_NECK_BLEND = np.array(list(NECK_BLEND.values()), dtype=np.float64)


def face_alignment(bind_landmarks_m: np.ndarray) -> tuple[float, np.ndarray]:
    """(scale, offset): the canonical face model (centimetres) in the mannequin's bind frame,
    ``x_bind_m = scale * 0.01 * p_cm + offset``. Both frames are y-up, +z out of the face, +x
    the person's left, so only the size and the place are fitted (on the eyes, nose and mouth:
    sizes across the face, the place by their centroids)."""
    model = canonical_face_model_cm() * CM_TO_M
    canon = np.array([model[list(v)].mean(axis=0) for v in FACE_MESH_EQUIVALENTS.values()])
    bind = bind_landmarks_m[list(FACE_MESH_EQUIVALENTS)]
    cc, bc = canon - canon.mean(axis=0), bind - bind.mean(axis=0)
    scale = float(np.sqrt((bc[:, :2] ** 2).sum() / (cc[:, :2] ** 2).sum()))
    return scale, bind.mean(axis=0) - scale * canon.mean(axis=0)


def head_from_face(
    head_pose: HeadPose, scale: np.ndarray, alignment: tuple[float, np.ndarray], bind_head: np.ndarray, depth_m: float
) -> tuple[np.ndarray, np.ndarray]:
    """The head bone's rotation and head (camera metres) from the face landmarker's head pose,
    slid along its ray to ``depth_m`` (the body's depth: the face fit's distance assumes an
    average face size)."""
    a, offset = alignment
    R = head_pose.rotation
    origin = head_pose.translation_m * (depth_m / max(float(head_pose.translation_m[2]), 1e-6))
    # the canonical origin (bind: ``offset``) lands on ``origin``
    return R, origin - R @ scale @ (offset - bind_head)


def head_pnp(
    pose: Pose,
    K: CameraIntrinsics,
    reliable: np.ndarray,
    bind: BindPose,
    R0: np.ndarray,
    p0: np.ndarray,
    scale: np.ndarray,
) -> tuple[np.ndarray, np.ndarray] | None:
    """Refine the head bone's rotation and head (camera metres) from the guess ``R0, p0``
    so the mannequin's face anchors reproject onto the face keypoints; the head stays at
    the depth of ``p0``, from the ``reliable`` (33,) bool face points. None when too few are
    reliable or the fit is implausible."""
    idx = HEAD_POSE_LANDMARKS[reliable[HEAD_POSE_LANDMARKS]]
    if len(idx) < MIN_HEAD_POSE_POINTS:
        return None
    obj = (bind.anchors_m[idx] - bind.head("head")) @ scale.T
    img = pose.keypoints_px[idx].astype(np.float64)
    try:
        ok, rvec, tvec = cv2.solvePnP(
            obj,
            img,
            K.matrix,
            None,
            cv2.Rodrigues(R0)[0],
            p0.reshape(3, 1).astype(np.float64),
            useExtrinsicGuess=True,
            flags=cv2.SOLVEPNP_ITERATIVE,
        )
    except cv2.error:
        return None
    t = tvec.reshape(3)
    if not ok or not np.isfinite(t).all() or t[2] <= 0:
        return None
    R = cv2.Rodrigues(rvec)[0]
    cos_turn = (float(np.einsum("ij,ij->", R, R0)) - 1.0) / 2.0  # trace(R @ R0.T)
    turn = math.degrees(math.acos(min(max(cos_turn, -1.0), 1.0)))
    if turn > MAX_HEAD_REFINE_DEG:
        return None
    return R, t * (p0[2] / t[2])


def solve_neck_and_head(
    ctx: FrameContext,
    bones: PoseBuffer,
    R_chest: np.ndarray,
    head_pose: HeadPose | None,
    alignment: tuple[float, np.ndarray],
) -> None:
    """Place the neck bones and the head. ``R_chest`` : the chest's frame (from the shoulder
    line); ``head_pose`` : the face landmarker's, if the engine ran it; ``alignment`` : the
    canonical face in the bind frame (:func:`face_alignment`)."""
    T, B, trust = ctx.targets_cam_m, ctx.bind.anchors_m, ctx.trust
    bind_head = ctx.bind.head("head")
    face_ok = bool(ctx.usable[L.LEFT_EAR] and ctx.usable[L.RIGHT_EAR] and ctx.usable[L.NOSE])
    s_head = np.eye(3) * ctx.shape.scale("head")
    head_target = None
    if face_ok:
        # x along the ear line, y toward the nose from the ears' midpoint
        R_head = frame_pair(ctx, L.LEFT_EAR, L.RIGHT_EAR, L.LEFT_EAR, L.RIGHT_EAR, L.NOSE, L.NOSE)
        mid_ear_b = 0.5 * (B[L.LEFT_EAR] + B[L.RIGHT_EAR])
        mid_ear_t = 0.5 * (T[L.LEFT_EAR] + T[L.RIGHT_EAR])
        head_target = mid_ear_t - R_head @ s_head @ (mid_ear_b - bind_head)
        refined = head_pnp(ctx.pose, ctx.intrinsics, ctx.reliable, ctx.bind, R_head, head_target, s_head)
        if refined is not None:
            R_head, head_target = refined
    else:
        R_head = R_chest
    # The neck follows the head the pose keypoints see, so the clothes at the neck do not
    # move when an item that runs the face mesh is put on or taken off; the head bone
    # (eyewear, hats, earrings) takes the face mesh's sharper pose when there is one.
    R_neck_head = R_head
    neck = list(NECK_BLEND)
    base = bones.carry(neck[0])
    face_head = None
    if head_pose is not None:
        depth = float(head_target[2]) if head_target is not None else float(base[2])
        R_head, face_head = head_from_face(head_pose, s_head, alignment, bind_head, depth)
    neck_rots = k.slerp_many(np.ascontiguousarray(R_chest), np.ascontiguousarray(R_neck_head), _NECK_BLEND)
    held_neck = float(ctx.shape.scale("neck02"))
    s_neck = held_neck
    if head_target is not None:
        # The neck's length such that its end (the head bone's head) reaches the head.
        s_neck = chain_scale(ctx, neck, bind_head, head_target, neck_rots, base, held_neck)

    # The head is seen when the nose and one ear are (a head in profile hides the other).
    face_conf = min(trust[L.NOSE], max(trust[L.LEFT_EAR], trust[L.RIGHT_EAR]))
    if head_pose is not None:
        face_conf = max(face_conf, 1.0)
    place_chain(bones, neck, neck_rots, s_neck, ctx.girth, face_conf)
    # The head is a rigid body seen directly: it lands on its ears even where the neck,
    # kept within its plausible length, cannot reach (hunched or twisted shoulders). Eyewear,
    # hats and earrings ride it.
    head = bones.carry("head")
    if face_head is not None:
        head = face_head
    elif face_ok:
        head = head_target
    bones.place("head", R_head, s_head, head, face_conf)


assert BONE_INDEX["head"] > BONE_INDEX["neck03"], "the head is placed after the neck"
