"""The rig solve: a Pose (+ camera intrinsics + the shopper's proportions) -> a posed skeleton
in camera space whose skinning palette puts garments on the person in the image.

How a frame is solved (see the README's architecture section):

1. **Context.** One :class:`~tryon.body.context.FrameContext` is built at the top of the solve
   from pure functions (:mod:`tryon.body.targets`): the translation that puts BlazePose's
   hip-centred world landmarks in front of the camera (linear least squares on the 2D
   keypoints), each usable keypoint back-projected along its pixel ray to the depth of its
   placed world landmark (2D-exact, 3D-plausible targets in camera metres), the keypoints'
   trust, the limb scale and the image's support for limbs running out of the frame.
2. **Bones, root to tips**, into a :class:`~tryon.body.context.PoseBuffer`: the torso
   (:mod:`tryon.body.torso`: pelvis, spine, clavicles), the limbs (:mod:`tryon.body.limbs`:
   one table per arm and leg, one compiled ``solve_limbs``), the neck and head (:mod:`tryon.body.head`).
   Rotations are relative to the bind pose.
3. **Out:** the skinning palette, the posed landmark anchors, and the ring fingers' frames
   from the hand model (:mod:`tryon.body.fingers`).

The solver keeps no state between frames: it holds only the mannequin's bind data.
Every transform maps bind model metres to camera metres; see :mod:`tryon.frames`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from tryon.body.context import BindPose, BodyShape, FrameContext, PoseBuffer, SolverOptions
from tryon.body.fingers import finger_frames
from tryon.body.head import face_alignment, solve_neck_and_head
from tryon.body.limbs import LIMBS, solve_limbs
from tryon.body.mannequin import Mannequin
from tryon.body.skeleton import BONE_INDEX
from tryon.body.targets import point_on_ray, solve_translation
from tryon.body.torso import solve_torso
from tryon.frames import CameraIntrinsics
from tryon.pose.face import HeadPose
from tryon.pose.hands import Hand
from tryon.pose.types import Pose

__all__ = [
    "BodyShape",
    "PosedBody",
    "RigSolver",
    "SolverOptions",
    "point_on_ray",
    "solve_translation",
]


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



class RigSolver:
    """Solves a Pose into a PosedBody for one mannequin. Stateless between frames: it holds
    only the mannequin's bind data (:class:`~tryon.body.context.BindPose`) and the canonical
    face's alignment with it; each solve's inputs live in its own
    :class:`~tryon.body.context.FrameContext`."""

    def __init__(self, mannequin: Mannequin, options: SolverOptions | None = None) -> None:
        self.mannequin = mannequin
        self.options = options or SolverOptions()
        self.bind = BindPose.of(mannequin)
        self.face_alignment = face_alignment(self.bind.anchors_m)

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
        ctx = FrameContext.build(pose, K, shape or BodyShape.mannequin(), self.options, self.bind)
        bones = PoseBuffer(self.bind)
        _, R_chest = solve_torso(ctx, bones)
        solve_limbs(LIMBS, ctx, bones)
        solve_neck_and_head(ctx, bones, R_chest, head_pose, self.face_alignment)

        palette = bones.palette()
        lm_A = palette[self.bind.anchor_bones]
        landmarks = np.einsum("lab,lb->la", lm_A[:, :, :3], self.bind.anchors_m) + lm_A[:, :, 3]
        wrist_depth_m = {s: float(bones.heads_cam_m[BONE_INDEX[f"wrist.{s}"], 2]) for s in ("L", "R")}
        return PosedBody(
            rotations=bones.rotations,
            stretch=bones.stretch,
            heads_cam_m=bones.heads_cam_m,
            palette=palette,
            landmarks_cam_m=landmarks,
            bone_confidence=bones.confidence,
            translation_m=ctx.translation_m,
            intrinsics=K,
            bind_heads_m=self.bind.bone_heads_m,
            finger_frames=finger_frames(hands or {}, wrist_depth_m, K),
        )
