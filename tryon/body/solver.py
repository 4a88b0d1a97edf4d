"""The rig solve: a Pose (+ camera intrinsics + the shopper's proportions) -> a posed skeleton
in camera space whose skinning palette puts garments on the person in the image.

How a frame is solved (see the README's architecture section):

1. **Placement.** World landmarks are metric but hip-centred; the translation that puts
   them in front of the camera is solved by linear least squares so their projections
   match the 2D keypoints (``solve_translation``). Depth comes from this placement, not
   from BlazePose's per-point z, which is too coarse.
2. **Targets.** Each reliable keypoint is back-projected along its pixel ray to the depth
   of its placed world landmark: 2D-exact, 3D-plausible targets in camera metres.
3. **Bones, root to tips.** The pelvis and chest take full frames from the hip and
   shoulder lines; the spine and neck bones share the rotation between them (slerp).
   Clavicles and pelvis bones stretch to land the shoulders and hips exactly. Limbs use
   the shopper's held bone lengths: each child joint is placed on its keypoint's ray at
   that distance from its parent (the depth ambiguity resolved by the world landmark), so
   elbows, wrists, knees and ankles land on their keypoints without the limbs changing
   length from frame to frame. Rotations are relative to the bind pose, as a swing onto
   the bone's direction followed by a twist about it: from the elbow and knee hinges when
   they are bent, from the hand and the foot otherwise, spread over the twist segments.

Every transform maps bind model metres to camera metres; see :mod:`tryon.frames`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

from tryon.body.mannequin import FingerFrame, Mannequin, ring_finger
from tryon.body.rotations import axis_angle, cross3, frame, norm3, normalize, slerp, swing, twist_angle
from tryon.body.skeleton import BONE_INDEX, NUM_BONES
from tryon.frames import CameraIntrinsics, pixel_rays
from tryon.pose.face import (
    LEFT_EYE_CONTOUR,
    RIGHT_EYE_CONTOUR,
    FacePoint,
    HeadPose,
    canonical_face_model_cm,
)
from tryon.pose.hands import Hand
from tryon.pose.landmarks import L
from tryon.pose.types import Pose

#: Landmarks used to place the body in camera space.
PLACEMENT_LANDMARKS = np.array(
    [
        L.LEFT_SHOULDER,
        L.RIGHT_SHOULDER,
        L.LEFT_HIP,
        L.RIGHT_HIP,
        L.LEFT_ELBOW,
        L.RIGHT_ELBOW,
        L.LEFT_KNEE,
        L.RIGHT_KNEE,
        L.NOSE,
        L.LEFT_EAR,
        L.RIGHT_EAR,
        L.LEFT_WRIST,
        L.RIGHT_WRIST,
        L.LEFT_ANKLE,
        L.RIGHT_ANKLE,
    ],
    dtype=np.int64,
)

#: Limb segments whose 2D/world length ratio sets the limb scale.
LIMB_SEGMENTS = (
    (L.LEFT_SHOULDER, L.LEFT_ELBOW),
    (L.LEFT_ELBOW, L.LEFT_WRIST),
    (L.RIGHT_SHOULDER, L.RIGHT_ELBOW),
    (L.RIGHT_ELBOW, L.RIGHT_WRIST),
    (L.LEFT_HIP, L.LEFT_KNEE),
    (L.LEFT_KNEE, L.LEFT_ANKLE),
    (L.RIGHT_HIP, L.RIGHT_KNEE),
    (L.RIGHT_KNEE, L.RIGHT_ANKLE),
)

#: Share of the chest's rotation each spine bone takes (the rest is the pelvis's).
SPINE_BLEND = {"spine05": 0.15, "spine04": 0.35, "spine03": 0.55, "spine02": 0.8, "spine01": 1.0}
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


#: Share of a limb segment that must lie inside the frame (and on the person) for an
#: out-of-frame keypoint's direction to be taken from the image (see ``_image_support``).
MIN_SEEN_SHARE = 0.25


@dataclass(frozen=True)
class SolverOptions:
    """min_visibility : keypoints below this are not trusted for 2D placement.
    edge_margin_px : keypoints this close to the image border count as out of frame.
    reliable_margin : share of the image size near the border where a keypoint still places
        the body but is not trusted as seen (BlazePose pins out-of-frame joints to the edge).
    max_stretch : a limb may stretch this much beyond the shopper's length to reach a keypoint.
    min_depth_m : nearest the body may be placed to the camera.
    """

    min_visibility: float = 0.5
    edge_margin_px: float = 2.0
    reliable_margin: float = 0.02
    max_stretch: float = 1.2
    min_depth_m: float = 0.3

    def __post_init__(self) -> None:
        if not 0.0 <= self.min_visibility <= 1.0:
            raise ValueError(f"min_visibility must be in [0, 1], got {self.min_visibility}")
        if self.max_stretch < 1.0:
            raise ValueError(f"max_stretch must be >= 1, got {self.max_stretch}")


@dataclass(frozen=True)
class BodyShape:
    """The shopper's proportions relative to the mannequin.

    bone_scale : (J,) length factor per bone (1 = the mannequin's).
    girth : factor on every bone's thickness.
    """

    bone_scale: np.ndarray
    girth: float = 1.0

    @classmethod
    def mannequin(cls) -> BodyShape:
        return cls(np.ones(NUM_BONES), 1.0)


@dataclass(frozen=True)
class PosedBody:
    """A solved skeleton in camera space.

    rotations : (J, 3, 3) bind model -> camera rotation per bone.
    stretch : (J, 3, 3) the bone's scaling in the bind model frame (applied first).
    heads_cam_m : (J, 3) where each bone's head lands, camera metres.
    palette : (J, 3, 4) float32 affine map per bone, bind model metres -> camera metres:
        ``x -> heads[j] + rotations[j] @ stretch[j] @ (x - bind_head[j])``.
    landmarks_cam_m : (33, 3) the mannequin's landmark anchors, posed.
    bone_confidence : (J,) in [0, 1], how well the image supports each bone's pose.
    translation_m : (3,) camera position of the world landmarks' origin (hip centre).
    intrinsics : the camera the body was solved for.
    bind_heads_m : (J, 3) the bones' bind heads, model metres.
    finger_frames : ``"ring_finger.L"`` / ``".R"`` -> (3, 4) float64 bind model -> camera
        map of that finger (rigid), where the hand model found the hand; rings ride it.
    """

    rotations: np.ndarray
    stretch: np.ndarray
    heads_cam_m: np.ndarray
    palette: np.ndarray
    landmarks_cam_m: np.ndarray
    bone_confidence: np.ndarray
    translation_m: np.ndarray
    intrinsics: CameraIntrinsics
    bind_heads_m: np.ndarray
    finger_frames: dict[str, np.ndarray] = field(default_factory=dict)

    @classmethod
    def from_palette(cls, palette: np.ndarray, K: CameraIntrinsics, bind_heads_m: np.ndarray) -> PosedBody:
        """A body known by its palette alone (synthetic scenes, tests): rigid bones, every bone
        fully supported."""
        palette = np.asarray(palette, dtype=np.float32)
        J = len(palette)
        heads = np.einsum("jab,jb->ja", palette[:, :, :3].astype(np.float64), bind_heads_m) + palette[:, :, 3]
        return cls(
            rotations=palette[:, :, :3].astype(np.float64),
            stretch=np.tile(np.eye(3), (J, 1, 1)),
            heads_cam_m=heads,
            palette=palette,
            landmarks_cam_m=np.zeros((33, 3)),
            bone_confidence=np.ones(J),
            translation_m=np.zeros(3),
            intrinsics=K,
            bind_heads_m=np.asarray(bind_heads_m, dtype=np.float64),
        )

    def transform(self, bone: str | int) -> np.ndarray:
        """(3, 4) float32 bind model -> camera map of one bone."""
        return self.palette[bone if isinstance(bone, int) else BONE_INDEX[bone]]


def solve_translation(
    world_m: np.ndarray, keypoints_px: np.ndarray, weights: np.ndarray, K: CameraIntrinsics
) -> np.ndarray:
    """Translation t (3,) in camera metres so that ``project(world_m + t) ~ keypoints_px``.

    Linear least squares on ``(u - cx) (Z + tz) = fx (X + tx)`` and the same for v,
    weighted per point. Needs at least two points with weight > 0.
    """
    w = np.sqrt(np.clip(np.asarray(weights, dtype=np.float64), 0, None))
    X, Y, Z = (np.asarray(world_m, dtype=np.float64)[:, k] for k in range(3))
    du = keypoints_px[:, 0] - K.cx
    dv = keypoints_px[:, 1] - K.cy
    n = len(X)
    A = np.zeros((2 * n, 3))
    b = np.zeros(2 * n)
    A[:n, 0] = K.fx
    A[:n, 2] = -du
    b[:n] = du * Z - K.fx * X
    A[n:, 1] = K.fy
    A[n:, 2] = -dv
    b[n:] = dv * Z - K.fy * Y
    ww = np.concatenate([w, w])
    t, *_ = np.linalg.lstsq(A * ww[:, None], b * ww, rcond=None)
    return t


def point_on_ray(parent: np.ndarray, ray: np.ndarray, length: float, z_hint: float, max_stretch: float) -> np.ndarray:
    """The point on the camera ray ``s * ray`` (s > 0) at ``length`` from ``parent``.

    Of the two solutions, the one whose depth is nearest ``z_hint``. If the ray passes
    farther than ``length`` from the parent, the nearest ray point, as long as that needs
    no more than ``max_stretch`` times the length; beyond that, the point at that
    stretched length toward the ray (short of it).
    """
    d = ray / norm3(ray)
    b = float(np.dot(d, parent))
    c = float(np.dot(parent, parent)) - length * length
    disc = b * b - c
    if disc >= 0:
        root = np.sqrt(disc)
        cands = [s for s in (b - root, b + root) if s > 1e-3]
        if cands:
            s = min(cands, key=lambda s: abs(s * d[2] - z_hint))
            return s * d
    closest = max(b, 1e-3) * d
    gap = closest - parent
    dist = float(norm3(gap))
    if dist <= length * max_stretch or dist < 1e-9:
        return closest
    return parent + gap / dist * length * max_stretch


def face_alignment(bind_landmarks_m: np.ndarray) -> tuple[float, np.ndarray]:
    """(scale, offset): the canonical face model (centimetres) in the mannequin's bind frame,
    ``x_bind_m = scale * 0.01 * p_cm + offset``. Both frames are y-up, +z out of the face, +x
    the person's left, so only the size and the place are fitted (on the eyes, nose and mouth:
    sizes across the face, the place by their centroids)."""
    model = canonical_face_model_cm() * 0.01
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


#: Hand-model landmarks: wrist, index knuckle, ring finger knuckle and middle joint, little
#: finger knuckle.
_HAND_WRIST, _HAND_INDEX_MCP, _HAND_RING_MCP, _HAND_RING_PIP, _HAND_PINKY_MCP = 0, 5, 13, 14, 17


def ring_finger_frame(hand: Hand, wrist_depth_m: float, K: CameraIntrinsics, bind: FingerFrame) -> np.ndarray | None:
    """(3, 4) bind model -> camera metres map of a ring finger's first phalanx (rigid), from
    the hand model's landmarks: their pixels back-projected to the wrist's depth plus the hand's
    own relative depths (its metric world landmarks). None for a degenerate hand."""
    idx = [_HAND_WRIST, _HAND_INDEX_MCP, _HAND_RING_MCP, _HAND_RING_PIP, _HAND_PINKY_MCP]
    world = hand.world_m.astype(np.float64)
    z = np.maximum(wrist_depth_m + (world[idx, 2] - world[_HAND_WRIST, 2]), 0.05)
    wrist, index, knuckle, middle, little = pixel_rays(hand.landmarks_px[idx], K) * z[:, None]
    axis = middle - knuckle
    dorsal = bind.palm_sign * cross3(index - wrist, little - wrist)
    if norm3(axis) < 1e-4:
        return None
    axis = normalize(axis)
    dorsal = dorsal - axis * np.dot(dorsal, axis)
    if norm3(dorsal) < 1e-6:
        return None
    dorsal = normalize(dorsal)
    cam = np.stack([axis, dorsal, cross3(axis, dorsal)], axis=1)
    b = np.stack([bind.axis, bind.dorsal, cross3(bind.axis, bind.dorsal)], axis=1)
    R = cam @ b.T
    centre = 0.5 * (knuckle + middle)
    return np.concatenate([R, (centre - R @ bind.centre)[:, None]], axis=1)


def _smoothstep(x: float, lo: float, hi: float) -> float:
    t = min(max((x - lo) / (hi - lo), 0.0), 1.0)
    return t * t * (3 - 2 * t)


def _stretch_along(axis: np.ndarray, along: float, across: float) -> np.ndarray:
    """Scale ``along`` the unit bind-frame ``axis`` and ``across`` it."""
    a = normalize(axis)
    return across * np.eye(3) + (along - across) * np.outer(a, a)


class RigSolver:
    """Solves a Pose into a PosedBody for one mannequin. Stateless between frames."""

    def __init__(self, mannequin: Mannequin, options: SolverOptions | None = None) -> None:
        self.mannequin = mannequin
        self.options = options or SolverOptions()
        sk = mannequin.skeleton
        self._bind_heads = sk.heads
        self._bind_tails = sk.tails
        self._B = mannequin.landmarks.bind_m
        self._lm_bones = mannequin.landmarks.bones
        self._face_alignment = face_alignment(self._B)

    # -- helpers -------------------------------------------------------------------
    def _frame_pair(self, T: np.ndarray, a: int, b: int, c: int, d: int, e: int, f: int) -> np.ndarray:
        """Rotation taking the bind frame (x: B[a]-B[b], secondary: mid(B[c],B[d]) -> mid(B[e],B[f]))
        onto the same frame built from targets T."""
        B = self._B
        Fb = frame(B[a] - B[b], 0.5 * (B[e] + B[f]) - 0.5 * (B[c] + B[d]))
        Ft = frame(T[a] - T[b], 0.5 * (T[e] + T[f]) - 0.5 * (T[c] + T[d]))
        return Ft @ Fb.T

    def _head_pnp(
        self, pose: Pose, K: CameraIntrinsics, trust: np.ndarray, R0: np.ndarray, p0: np.ndarray, scale: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray] | None:
        """Refine the head bone's rotation and head (camera metres) from the guess ``R0, p0``
        so the mannequin's face anchors reproject onto the face keypoints; the head stays at
        the depth of ``p0``. None when too few face points are trusted or the fit is implausible."""
        idx = HEAD_POSE_LANDMARKS[trust[HEAD_POSE_LANDMARKS] >= 1.0]
        if len(idx) < 6:
            return None
        obj = (self._B[idx] - self._bind_heads[BONE_INDEX["head"]]) @ scale.T
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
        turn = np.degrees(np.arccos(np.clip((np.trace(R @ R0.T) - 1.0) / 2.0, -1.0, 1.0)))
        if turn > MAX_HEAD_REFINE_DEG:
            return None
        return R, t * (p0[2] / t[2])

    # -- the solve -----------------------------------------------------------------
    def solve(
        self,
        pose: Pose,
        K: CameraIntrinsics,
        shape: BodyShape | None = None,
        head_pose: HeadPose | None = None,
        hands: dict[str, Hand] | None = None,
    ) -> PosedBody:
        """head_pose : the face landmarker's head pose for this frame, if the engine ran it
        (sharper than the pose model's few face points for eyewear and earrings).
        hands : the hand model's hands by the person's side, for the ring fingers."""
        o = self.options
        shape = shape or BodyShape.mannequin()
        g = float(shape.girth)
        B = self._B
        bh = self._bind_heads
        J = NUM_BONES
        R = np.tile(np.eye(3), (J, 1, 1))
        S = np.tile(np.eye(3), (J, 1, 1))
        P = np.zeros((J, 3))
        conf = np.zeros(J)

        # 1. Placement and targets.
        margin = max(o.edge_margin_px, o.reliable_margin * max(pose.width, pose.height))
        reliable = pose.reliable(o.min_visibility, margin) & (pose.presence >= 0.8)
        usable = (pose.presence >= 0.5) & pose.in_frame(o.edge_margin_px)
        weights = np.zeros(33)
        weights[PLACEMENT_LANDMARKS] = np.where(reliable[PLACEMENT_LANDMARKS], pose.visibility[PLACEMENT_LANDMARKS], 0)
        if np.count_nonzero(weights) < 3:
            weights[PLACEMENT_LANDMARKS] = np.where(usable[PLACEMENT_LANDMARKS], 0.5, 0.05)
        t = solve_translation(pose.world_m, pose.keypoints_px, weights, K)
        hint = pose.world_m.astype(np.float64) + t
        hint[:, 2] = np.maximum(hint[:, 2], o.min_depth_m)
        rays = pixel_rays(pose.keypoints_px, K)
        T = np.where(usable[:, None], rays * hint[:, 2:3], hint)
        trust = np.where(reliable, 1.0, np.where(usable, 0.5, 0.0))
        self._presence = pose.presence
        self._pose = pose
        self._support: dict[tuple[int, int], float] = {}  # per limb segment, this frame

        limb_scale = self._limb_scale(T, pose.world_m, reliable)

        def place(bone: str, rot: np.ndarray, stretch: np.ndarray, head: np.ndarray, c: float) -> None:
            j = BONE_INDEX[bone]
            R[j], S[j], P[j], conf[j] = rot, stretch, head, c

        def carry(bone: str, parent: str) -> np.ndarray:
            """Where the parent's motion takes this bone's bind head."""
            j, p = BONE_INDEX[bone], BONE_INDEX[parent]
            return P[p] + R[p] @ S[p] @ (bh[j] - bh[p])

        def chain_scale(
            bones: list[str],
            end_bind: np.ndarray,
            target: np.ndarray,
            rots: list[np.ndarray],
            base: np.ndarray,
            held: float,
        ) -> float:
            """Length factor for a chain (spine, neck) whose end should reach ``target``.

            Each bone is scaled by (g, s, g) in model axes, so the end point is affine in s:
            solved in closed form, kept within 25% of ``held``."""
            pts = [bh[BONE_INDEX[b]] for b in bones] + [end_bind]
            e0 = base.copy()
            e1 = np.zeros(3)
            for k, rot in enumerate(rots):
                off = pts[k + 1] - pts[k]
                e0 += rot @ np.array([g * off[0], 0.0, g * off[2]])
                e1 += rot @ np.array([0.0, off[1], 0.0])
            s = float(np.dot(e1, target - e0) / max(np.dot(e1, e1), 1e-12))
            return float(np.clip(s, 0.75 * held, 1.25 * held))

        # 2. Pelvis: full frame from the hip line and the torso's up direction.
        R_root = self._frame_pair(
            T, L.LEFT_HIP, L.RIGHT_HIP, L.LEFT_HIP, L.RIGHT_HIP, L.LEFT_SHOULDER, L.RIGHT_SHOULDER
        )
        s_root = np.diag([g, shape.bone_scale[BONE_INDEX["root"]], g])
        mid_hip_b = 0.5 * (B[L.LEFT_HIP] + B[L.RIGHT_HIP])
        mid_hip_t = 0.5 * (T[L.LEFT_HIP] + T[L.RIGHT_HIP])
        root_head = mid_hip_t - R_root @ s_root @ (mid_hip_b - bh[0])
        place("root", R_root, s_root, root_head, min(trust[L.LEFT_HIP], trust[L.RIGHT_HIP]))

        # Pelvis bones stretch to land the hips exactly.
        for side, hip in (("L", L.LEFT_HIP), ("R", L.RIGHT_HIP)):
            bone = f"pelvis.{side}"
            head = carry(bone, "root")
            bind_vec = B[hip] - bh[BONE_INDEX[bone]]
            target_vec = T[hip] - head
            rot = swing(R_root @ bind_vec, target_vec) @ R_root
            along = norm3(target_vec) / max(norm3(bind_vec), 1e-9)
            place(bone, rot, _stretch_along(bind_vec, along, g), head, trust[hip])

        # 3. Spine: the chest's frame from the shoulder line, shared out along the spine.
        R_chest = self._frame_pair(
            T, L.LEFT_SHOULDER, L.RIGHT_SHOULDER, L.LEFT_HIP, L.RIGHT_HIP, L.LEFT_SHOULDER, L.RIGHT_SHOULDER
        )
        spine = list(SPINE_BLEND)
        spine_rots = [slerp(R_root, R_chest, w) for w in SPINE_BLEND.values()]
        mid_sh_b = 0.5 * (B[L.LEFT_SHOULDER] + B[L.RIGHT_SHOULDER])
        mid_sh_t = 0.5 * (T[L.LEFT_SHOULDER] + T[L.RIGHT_SHOULDER])
        base = carry("spine05", "root")
        held = float(shape.bone_scale[BONE_INDEX["spine03"]])
        s_spine = chain_scale(spine, mid_sh_b, mid_sh_t, spine_rots, base, held)
        torso_conf = min(trust[L.LEFT_SHOULDER], trust[L.RIGHT_SHOULDER])
        head = base
        for bone, rot in zip(spine, spine_rots):
            place(bone, rot, np.diag([g, s_spine, g]), head, torso_conf)
            nxt = spine.index(bone) + 1
            if nxt < len(spine):
                head = carry(spine[nxt], bone)

        # 4. Clavicles (with shoulder01) stretch to land the shoulders exactly.
        for side, sh in (("L", L.LEFT_SHOULDER), ("R", L.RIGHT_SHOULDER)):
            clav = f"clavicle.{side}"
            head = carry(clav, "spine01")
            bind_vec = B[sh] - bh[BONE_INDEX[clav]]
            target_vec = T[sh] - head
            rot = swing(R_chest @ bind_vec, target_vec) @ R_chest
            along = norm3(target_vec) / max(norm3(bind_vec), 1e-9)
            stretch = _stretch_along(bind_vec, along, g)
            place(clav, rot, stretch, head, trust[sh])
            place(f"shoulder01.{side}", rot, stretch, carry(f"shoulder01.{side}", clav), trust[sh])

        # 5. Arms and 6. legs.
        for side in ("L", "R"):
            self._solve_limb_arm(side, T, hint, rays, usable, trust, shape, limb_scale, R, S, P, place, carry)
            self._solve_limb_leg(side, T, hint, rays, usable, trust, shape, limb_scale, R, S, P, place, carry)

        # 7. Neck and head: the head's frame from the ears and the nose, refined so the face's
        # points (eyes, nose, mouth, ears) reproject onto their keypoints; or the face
        # landmarker's head pose when the engine ran it.
        face_ok = min(trust[L.LEFT_EAR], trust[L.RIGHT_EAR], trust[L.NOSE]) > 0
        s_head = np.eye(3) * shape.bone_scale[BONE_INDEX["head"]]
        head_target = None
        if face_ok:
            Fb = frame(B[L.LEFT_EAR] - B[L.RIGHT_EAR], B[L.NOSE] - 0.5 * (B[L.LEFT_EAR] + B[L.RIGHT_EAR]))
            Ft = frame(T[L.LEFT_EAR] - T[L.RIGHT_EAR], T[L.NOSE] - 0.5 * (T[L.LEFT_EAR] + T[L.RIGHT_EAR]))
            R_head = Ft @ Fb.T
            mid_ear_b = 0.5 * (B[L.LEFT_EAR] + B[L.RIGHT_EAR])
            mid_ear_t = 0.5 * (T[L.LEFT_EAR] + T[L.RIGHT_EAR])
            head_target = mid_ear_t - R_head @ s_head @ (mid_ear_b - bh[BONE_INDEX["head"]])
            refined = self._head_pnp(pose, K, trust, R_head, head_target, s_head)
            if refined is not None:
                R_head, head_target = refined
        else:
            R_head = R_chest
        # The neck follows the head the pose keypoints see, so the clothes at the neck do not
        # move when an item that runs the face mesh is put on or taken off; the head bone
        # (eyewear, hats, earrings) takes the face mesh's sharper pose when there is one.
        R_neck_head = R_head
        if head_pose is not None:
            depth = float(head_target[2]) if head_target is not None else float(carry("neck01", "spine01")[2])
            R_head, face_head = head_from_face(head_pose, s_head, self._face_alignment, bh[BONE_INDEX["head"]], depth)
        else:
            face_head = None
        neck = list(NECK_BLEND)
        neck_rots = [slerp(R_chest, R_neck_head, w) for w in NECK_BLEND.values()]
        base = carry("neck01", "spine01")
        held_neck = float(shape.bone_scale[BONE_INDEX["neck02"]])
        s_neck = held_neck
        if head_target is not None:
            # The neck's length such that its end (the head bone's head) reaches the head.
            s_neck = chain_scale(neck, bh[BONE_INDEX["head"]], head_target, neck_rots, base, held_neck)

        # The head is seen when the nose and one ear are (a head in profile hides the other).
        face_conf = min(trust[L.NOSE], max(trust[L.LEFT_EAR], trust[L.RIGHT_EAR]))
        if head_pose is not None:
            face_conf = max(face_conf, 1.0)
        head = base
        for bone, rot in zip(neck, neck_rots):
            place(bone, rot, np.diag([g, s_neck, g]), head, face_conf)
            nxt = neck.index(bone) + 1
            head = carry(neck[nxt], bone) if nxt < len(neck) else carry("head", bone)
        # The head is a rigid body seen directly: it lands on its ears even where the neck,
        # kept within its plausible length, cannot reach (hunched or twisted shoulders). Eyewear,
        # hats and earrings ride it.
        if face_head is not None:
            head = face_head
        elif face_ok:
            head = head_target
        place("head", R_head, s_head, head, face_conf)

        # Palette and posed landmarks.
        A = np.einsum("jab,jbc->jac", R, S)
        trans = P - np.einsum("jab,jb->ja", A, bh)
        palette = np.concatenate([A, trans[:, :, None]], axis=2).astype(np.float32)
        lm_A = palette[self._lm_bones]
        landmarks = np.einsum("lab,lb->la", lm_A[:, :, :3], B) + lm_A[:, :, 3]
        fingers = {}
        for side, hand in (hands or {}).items():
            s = "L" if side == "left" else "R"
            frame_map = ring_finger_frame(hand, float(P[BONE_INDEX[f"wrist.{s}"], 2]), K, ring_finger(s))
            if frame_map is not None:
                fingers[f"ring_finger.{s}"] = frame_map
        return PosedBody(
            rotations=R,
            stretch=S,
            heads_cam_m=P,
            palette=palette,
            landmarks_cam_m=landmarks,
            bone_confidence=conf,
            translation_m=t,
            intrinsics=K,
            bind_heads_m=bh,
            finger_frames=fingers,
        )

    # -- limbs ---------------------------------------------------------------------
    @staticmethod
    def _limb_scale(T: np.ndarray, world_m: np.ndarray, reliable: np.ndarray) -> float:
        """How much longer limbs are at the placed depth than BlazePose's world landmarks say.

        The placement fits the whole skeleton; BlazePose's world limbs tend to come out
        shorter than the keypoints imply. Held limb lengths are scaled by the median ratio
        (clamped) so a limb reaching toward the camera keeps its depth instead of being
        flattened into the image plane to reach its keypoint.
        """
        ratios = []
        for a, b in LIMB_SEGMENTS:
            if reliable[a] and reliable[b]:
                w = float(np.linalg.norm(world_m[a] - world_m[b]))
                if w > 0.05:
                    ratios.append(float(np.linalg.norm(T[a] - T[b])) / w)
        if not ratios:
            return 1.0
        return float(np.clip(np.median(ratios), 0.85, 1.3))

    def _end_point(
        self,
        start,
        idx: int,
        from_idx: int,
        length: float,
        hint,
        rays,
        usable,
        rest: np.ndarray | None = None,
        presence: float = 0.0,
    ) -> np.ndarray:
        """A limb segment's end: on landmark ``idx``'s ray at ``length`` from ``start`` (the
        depth ambiguity resolved by the world landmark). For a keypoint outside the frame,
        BlazePose's guess is poor (an upper-body shot's elbows are often put out to the
        sides): the direction leans toward ``rest``, a relaxed pose, trusting the world
        landmarks' direction from ``from_idx`` only as far as the model reports presence."""
        if usable[idx]:
            return point_on_ray(start, rays[idx], length, hint[idx, 2], self.options.max_stretch)
        guess = normalize(hint[idx] - hint[from_idx])
        if rest is not None:
            w = 0.5 * float(np.clip((presence - 0.2) / 0.6, 0.0, 1.0))
            guess = normalize(w * guess + (1.0 - w) * normalize(rest))
            seen = self._image_support(from_idx, idx)
            if seen > 0:  # the image shows the limb: lean toward its keypoint's ray
                on_ray = point_on_ray(start, rays[idx], length, hint[idx, 2], self.options.max_stretch) - start
                guess = normalize((1.0 - seen) * guess + seen * normalize(on_ray))
        return start + guess * length

    def _image_support(self, from_idx: int, idx: int) -> float:
        """How well the image shows the limb running from keypoint ``from_idx`` (seen) toward
        ``idx`` (out of frame or barely present), in [0, 1]: the share of the 2D segment
        inside the frame (from :data:`MIN_SEEN_SHARE`) times how much of that part lies on
        the person mask. Then the keypoint's direction is the image's, not a guess (an
        upper-body shot's arms running out of the bottom of the frame); a guess pointing off
        the person gets none. Continuous, so a limb does not flip between the two. Worked
        out once a frame per segment (the forearm's is asked twice)."""
        key = (from_idx, idx)
        if key not in self._support:
            self._support[key] = self._measure_support(from_idx, idx)
        return self._support[key]

    def _measure_support(self, from_idx: int, idx: int) -> float:
        pose = self._pose
        seg = pose.segmentation
        if seg is None or not (pose.presence[from_idx] >= 0.5 and pose.in_frame()[from_idx]):
            return 0.0
        a, b = pose.keypoints_px[from_idx].astype(np.float64), pose.keypoints_px[idx].astype(np.float64)
        w, h = pose.image_size
        s = np.linspace(0.2, 1.0, 17)
        pts = a + s[:, None] * (b - a)
        inside = (pts[:, 0] >= 0) & (pts[:, 0] < w) & (pts[:, 1] >= 0) & (pts[:, 1] < h)
        if not inside[0]:
            return 0.0
        pts = pts[inside]
        sx, sy = seg.shape[1] / w, seg.shape[0] / h
        cols = np.clip((pts[:, 0] * sx).astype(int), 0, seg.shape[1] - 1)
        rows = np.clip((pts[:, 1] * sy).astype(int), 0, seg.shape[0] - 1)
        on_person = seg[rows, cols]
        tail = on_person[-max(1, len(on_person) // 3) :].min()
        share = np.clip((inside.mean() - MIN_SEEN_SHARE) / 0.2, 0.0, 1.0)
        return float(share * np.clip((on_person.mean() - 0.5) / 0.3, 0.0, 1.0) * np.clip((tail - 0.2) / 0.3, 0.0, 1.0))

    # Each limb anchor rides the proximal bone of the segment it ends (the elbow keypoint
    # marks the end of the humerus, the knee the end of the femur...), so a segment's
    # transform alone decides where its end anchor lands: bind vectors run from the
    # segment's joint (bone head) to that anchor.

    def _solve_limb_arm(self, side, T, hint, rays, usable, trust, shape, limb_scale, R, S, P, place, carry):
        B, bh, g = self._B, self._bind_heads, float(shape.girth)
        left = side == "L"
        sh, el, wr = (
            (L.LEFT_SHOULDER, L.LEFT_ELBOW, L.LEFT_WRIST) if left else (L.RIGHT_SHOULDER, L.RIGHT_ELBOW, L.RIGHT_WRIST)
        )
        ix, pk = (L.LEFT_INDEX, L.LEFT_PINKY) if left else (L.RIGHT_INDEX, L.RIGHT_PINKY)
        i_ua, i_la, i_hand = (BONE_INDEX[f"{b}.{side}"] for b in ("upperarm01", "lowerarm01", "wrist"))
        ua_b = B[el] - bh[i_ua]  # shoulder joint -> elbow anchor
        fa_b = B[wr] - bh[i_la]  # elbow joint -> wrist anchor
        L_ua = norm3(ua_b) * shape.bone_scale[i_ua] * limb_scale
        L_fa = norm3(fa_b) * shape.bone_scale[i_la] * limb_scale
        head = carry(f"upperarm01.{side}", f"shoulder01.{side}")
        out = 1.0 if left else -1.0  # model +x is the mannequin's left
        R_chest = R[BONE_INDEX["spine01"]]
        rest_ua = R_chest @ np.array([0.25 * out, -1.0, 0.05])  # hanging, slightly out
        rest_fa = R_chest @ np.array([0.1 * out, -0.6, 0.8])  # forearm forward and down
        pres = self._presence
        elbow = self._end_point(head, el, sh, L_ua, hint, rays, usable, rest_ua, pres[el])
        ua_t = elbow - head
        R_parent = R[BONE_INDEX[f"clavicle.{side}"]]
        R_sw = swing(R_parent @ ua_b, ua_t) @ R_parent
        # A first guess of the forearm (from the elbow joint, the anchor's offset undone)
        # sets the elbow hinge before the upper arm is placed.
        elbow_joint = elbow - R_sw @ (B[el] - bh[i_la])
        fa_first = self._end_point(elbow_joint, wr, el, L_fa, hint, rays, usable, rest_fa, pres[wr]) - elbow_joint
        # Elbow hinge: the forearm's bend direction fixes the upper arm's twist when bent.
        bend_b = fa_b - normalize(ua_b) * np.dot(fa_b, normalize(ua_b))
        sin_bend = norm3(cross3(normalize(ua_t), normalize(fa_first)))
        w_hinge = _smoothstep(sin_bend, 0.2, 0.5)
        theta = twist_angle(ua_t, R_sw @ bend_b, fa_first) * w_hinge
        axis = normalize(ua_t)
        st_ua = _stretch_along(ua_b, norm3(ua_t) / norm3(ua_b), g)
        c_el = min(trust[sh], trust[el])
        R_ua2 = axis_angle(axis, theta) @ R_sw
        place(f"upperarm01.{side}", axis_angle(axis, 0.5 * theta) @ R_sw, st_ua, head, c_el)
        place(f"upperarm02.{side}", R_ua2, st_ua, carry(f"upperarm02.{side}", f"upperarm01.{side}"), c_el)

        # Forearm: swing onto the wrist, twist (pronation) from the hand's knuckle line,
        # spread over the two forearm bones and the hand.
        fa_head = carry(f"lowerarm01.{side}", f"upperarm02.{side}")
        fa_t = self._end_point(fa_head, wr, el, L_fa, hint, rays, usable, rest_fa, pres[wr]) - fa_head
        R_fsw = swing(R_ua2 @ fa_b, fa_t) @ R_ua2
        hand_ok = usable[ix] and usable[pk] and trust[wr] > 0
        theta_f = twist_angle(fa_t, R_fsw @ (B[ix] - B[pk]), T[ix] - T[pk]) if hand_ok else 0.0
        faxis = normalize(fa_t)
        st_fa = _stretch_along(fa_b, norm3(fa_t) / norm3(fa_b), g)
        c_wr = min(c_el, trust[wr])
        place(f"lowerarm01.{side}", axis_angle(faxis, theta_f / 3) @ R_fsw, st_fa, fa_head, c_wr)
        place(
            f"lowerarm02.{side}",
            axis_angle(faxis, 2 * theta_f / 3) @ R_fsw,
            st_fa,
            carry(f"lowerarm02.{side}", f"lowerarm01.{side}"),
            c_wr,
        )
        R_tw = axis_angle(faxis, theta_f) @ R_fsw
        # Hand: swing toward the knuckles' midpoint.
        hand_head = carry(f"wrist.{side}", f"lowerarm02.{side}")
        R_hand = R_tw
        if hand_ok:
            hb = 0.5 * (B[ix] + B[pk]) - bh[i_hand]
            ht = 0.5 * (T[ix] + T[pk]) - hand_head
            R_hand = swing(R_tw @ hb, ht) @ R_tw
        place(
            f"wrist.{side}",
            R_hand,
            np.eye(3) * shape.bone_scale[i_hand],
            hand_head,
            min(c_wr, min(trust[ix], trust[pk])),
        )

    def _solve_limb_leg(self, side, T, hint, rays, usable, trust, shape, limb_scale, R, S, P, place, carry):
        B, bh, g = self._B, self._bind_heads, float(shape.girth)
        left = side == "L"
        hp, kn, an = (L.LEFT_HIP, L.LEFT_KNEE, L.LEFT_ANKLE) if left else (L.RIGHT_HIP, L.RIGHT_KNEE, L.RIGHT_ANKLE)
        he, fi = (L.LEFT_HEEL, L.LEFT_FOOT_INDEX) if left else (L.RIGHT_HEEL, L.RIGHT_FOOT_INDEX)
        i_th, i_sh, i_ft = (BONE_INDEX[f"{b}.{side}"] for b in ("upperleg01", "lowerleg01", "foot"))
        th_b = B[kn] - bh[i_th]  # hip joint -> knee anchor
        sh_b = B[an] - bh[i_sh]  # knee joint -> ankle anchor
        L_th = norm3(th_b) * shape.bone_scale[i_th] * limb_scale
        L_sh = norm3(sh_b) * shape.bone_scale[i_sh] * limb_scale
        head = carry(f"upperleg01.{side}", f"pelvis.{side}")
        out = 1.0 if left else -1.0
        rest_th = R[BONE_INDEX["root"]] @ np.array([0.08 * out, -1.0, 0.0])  # standing
        rest_sh = R[BONE_INDEX["root"]] @ np.array([0.0, -1.0, -0.05])
        pres = self._presence
        knee = self._end_point(head, kn, hp, L_th, hint, rays, usable, rest_th, pres[kn])
        th_t = knee - head
        R_parent = R[BONE_INDEX["root"]]
        R_sw = swing(R_parent @ th_b, th_t) @ R_parent
        knee_joint = knee - R_sw @ (B[kn] - bh[i_sh])
        sh_first = self._end_point(knee_joint, an, kn, L_sh, hint, rays, usable, rest_sh, pres[an]) - knee_joint
        # Thigh twist: the knee points where the bent leg's hinge says, else where the foot points.
        foot_ok = usable[he] and usable[fi]
        fwd_b = np.array([0.0, 0.0, 1.0])
        sin_bend = norm3(cross3(normalize(th_t), normalize(sh_first)))
        w_hinge = _smoothstep(sin_bend, 0.25, 0.5)
        theta = 0.0
        if w_hinge > 0:
            knee_fwd = -(sh_first - normalize(th_t) * np.dot(sh_first, normalize(th_t)))
            theta = twist_angle(th_t, R_sw @ fwd_b, knee_fwd) * w_hinge
        if foot_ok and w_hinge < 1:
            theta += twist_angle(th_t, R_sw @ (B[fi] - B[he]), T[fi] - T[he]) * (1 - w_hinge) * 0.7
        axis = normalize(th_t)
        st_th = _stretch_along(th_b, norm3(th_t) / norm3(th_b), g)
        c_kn = min(trust[hp], trust[kn])
        R_th2 = axis_angle(axis, theta) @ R_sw
        place(f"upperleg01.{side}", axis_angle(axis, 0.5 * theta) @ R_sw, st_th, head, c_kn)
        place(f"upperleg02.{side}", R_th2, st_th, carry(f"upperleg02.{side}", f"upperleg01.{side}"), c_kn)

        sh_head = carry(f"lowerleg01.{side}", f"upperleg02.{side}")
        sh_t = self._end_point(sh_head, an, kn, L_sh, hint, rays, usable, rest_sh, pres[an]) - sh_head
        R_ssw = swing(R_th2 @ sh_b, sh_t) @ R_th2
        theta_s = 0.0
        if foot_ok:
            theta_s = float(np.clip(twist_angle(sh_t, R_ssw @ (B[fi] - B[he]), T[fi] - T[he]), -0.6, 0.6))
        saxis = normalize(sh_t)
        st_sh = _stretch_along(sh_b, norm3(sh_t) / norm3(sh_b), g)
        c_an = min(c_kn, trust[an])
        place(f"lowerleg01.{side}", axis_angle(saxis, 0.5 * theta_s) @ R_ssw, st_sh, sh_head, c_an)
        R_sh2 = axis_angle(saxis, theta_s) @ R_ssw
        place(f"lowerleg02.{side}", R_sh2, st_sh, carry(f"lowerleg02.{side}", f"lowerleg01.{side}"), c_an)

        # Foot: swing onto the toes, roll from the heel. A seen ankle places the foot on it
        # even where the shin, kept within its length, falls short: shoes sit on the feet.
        foot_head = carry(f"foot.{side}", f"lowerleg02.{side}")
        if trust[an] >= 1.0:
            j = int(self._lm_bones[an])
            posed_ankle = P[j] + R[j] @ S[j] @ (B[an] - bh[j])
            foot_head = foot_head + (T[an] - posed_ankle)
        R_foot = R_sh2
        if foot_ok:
            # The toe on its keypoint's ray at the foot's length from the ankle (the depth
            # ambiguity resolved by the world landmark, as for the limbs): BlazePose's foot
            # depths alone point feet at the camera too often, shortening them on screen.
            fb = B[fi] - bh[i_ft]
            L_foot = norm3(fb) * shape.bone_scale[i_ft]
            ft = self._end_point(foot_head, fi, an, L_foot, hint, rays, usable) - foot_head
            foot_scale = float(np.clip(norm3(ft) / max(L_foot, 1e-6), 1.0, self.options.max_stretch))
            R_foot = swing(R_sh2 @ fb, ft) @ R_sh2
            roll = twist_angle(ft, R_foot @ (B[he] - bh[i_ft]), T[he] - foot_head)
            R_foot = axis_angle(ft, float(np.clip(roll, -0.5, 0.5))) @ R_foot
            # Then the foot as a whole lands on its three keypoints (ankle, heel, toe) on
            # average, across the line of sight (BlazePose often puts the ankle on the hem).
            s_f = shape.bone_scale[i_ft] * foot_scale
            pts = [k for k in (an, he, fi) if trust[k] >= 1.0]
            if pts:
                res = np.mean([T[k] - (foot_head + R_foot @ (s_f * (B[k] - bh[i_ft]))) for k in pts], axis=0)
                view = normalize(foot_head)
                foot_head = foot_head + (res - view * np.dot(res, view))
        else:
            foot_scale = 1.0
        # A foot that looks longer than the held proportions allow (a shoe adds length) grows
        # with it, within the limbs' stretch limit, so a shoe covers the shoe it replaces.
        place(
            f"foot.{side}",
            R_foot,
            np.eye(3) * shape.bone_scale[i_ft] * foot_scale,
            foot_head,
            min(c_an, min(trust[he], trust[fi])),
        )
