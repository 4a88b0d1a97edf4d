"""What a rig solve reads and what it fills.

- :class:`SolverOptions` and :class:`BodyShape`: the caller's settings and the shopper's
  proportions.
- :class:`BindPose`: the mannequin's bind data, fixed for a solver (the solver keeps no other
  state: nothing carries over from one frame to the next).
- :class:`FrameContext`: everything one frame's solve reads, built once at its top from the
  pure functions of :mod:`tryon.body.targets`; frozen.
- :class:`PoseBuffer`: the bones' transforms, filled root to tips by the torso, limb and head
  solves (:mod:`tryon.body.torso`, :mod:`tryon.body.limbs`, :mod:`tryon.body.head`); local to
  one solve.

Every transform maps bind model metres to camera metres; see :mod:`tryon.frames`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np

from tryon.body.mannequin import Mannequin
from tryon.body.rotations import normalize
from tryon.body.skeleton import BONE_INDEX, NUM_BONES, PARENTS
from tryon.body.targets import (
    LIMB_SEGMENTS,
    keypoint_grades,
    keypoint_targets,
    keypoint_trust,
    limb_scale,
    placement_weights,
    segment_image_support,
    solve_translation,
)
from tryon.frames import CameraIntrinsics
from tryon.pose.types import Pose


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

    def scale(self, bone: str) -> float:
        """The length factor of one bone."""
        return self.bone_scale[BONE_INDEX[bone]]


@dataclass(frozen=True)
class BindPose:
    """The mannequin's bind data a solve reads, model metres.

    bone_heads_m : (J, 3) each bone's head.
    anchors_m : (33, 3) the landmark anchors (where each BlazePose landmark sits on the body).
    anchor_bones : (33,) int, the bone each anchor rides.
    parent_offsets_m : (J, 3) each bone's bind head less its parent's (derived; zero for the root).
    """

    bone_heads_m: np.ndarray
    anchors_m: np.ndarray
    anchor_bones: np.ndarray
    parent_offsets_m: np.ndarray = field(init=False, repr=False, compare=False)
    #: Other bind-pose facts the bone solves derive once and keep (e.g.
    #: :func:`tryon.body.limbs.limb_bind`), by key.
    derived: dict = field(init=False, repr=False, compare=False, default_factory=dict)

    def __post_init__(self) -> None:
        # (J, 3) each bone's bind head from its parent's (the root's from itself: zero)
        parents = np.maximum(np.asarray(PARENTS), 0)
        offsets = self.bone_heads_m - self.bone_heads_m[parents]
        offsets.flags.writeable = False
        object.__setattr__(self, "parent_offsets_m", offsets)

    @classmethod
    def of(cls, mannequin: Mannequin) -> BindPose:
        return cls(mannequin.skeleton.heads, mannequin.landmarks.bind_m, mannequin.landmarks.bones)

    def head(self, bone: str) -> np.ndarray:
        """(3,) a bone's bind head."""
        return self.bone_heads_m[BONE_INDEX[bone]]

    def anchor_from(self, bone: str, landmark: int) -> np.ndarray:
        """(3,) bind vector from ``bone``'s head to a landmark's anchor."""
        return self.anchors_m[landmark] - self.bone_heads_m[BONE_INDEX[bone]]


@dataclass(frozen=True)
class FrameContext:
    """One frame's solve inputs, built once (:meth:`build`) and read by every bone solve.

    pose, intrinsics, shape, options, bind : as given.
    reliable, usable : (33,) bool keypoint classes (:func:`~tryon.body.targets.keypoint_grades`),
        for the head's choices (which face points the fit takes).
    reliability, usability : (33,) float in [0, 1], the classes as ramps
        (:func:`~tryon.body.targets.keypoint_grades`): what the placement, the targets, the limb
        scale and the limbs read, so a keypoint fading in or out changes the solve gradually.
    trust : (33,) float, 1 reliable, 0.5 usable, 0 otherwise, ramped between (from reliability
        and usability): the bones' confidence and the limb ends' weights.
    translation_m : (3,) camera position of the world landmarks' origin (hip centre).
    hint_cam_m : (33, 3) the world landmarks placed in camera metres (depth hints).
    rays : (33, 3) each keypoint's pixel ray (z = 1).
    targets_cam_m : (33, 3) where each keypoint should land, camera metres.
    limb_scale : factor on the held limb lengths (:func:`~tryon.body.targets.limb_scale`).
    image_support : limb segment ``(from, to)`` landmark pair -> [0, 1], measured once for the
        segments whose end is not fully usable (:func:`~tryon.body.targets.segment_image_support`);
        read-only.
    """

    pose: Pose
    intrinsics: CameraIntrinsics
    shape: BodyShape
    options: SolverOptions
    bind: BindPose
    reliable: np.ndarray
    usable: np.ndarray
    reliability: np.ndarray
    usability: np.ndarray
    trust: np.ndarray
    translation_m: np.ndarray
    hint_cam_m: np.ndarray
    rays: np.ndarray
    targets_cam_m: np.ndarray
    limb_scale: float
    image_support: Mapping[tuple[int, int], float]

    @classmethod
    def build(
        cls, pose: Pose, K: CameraIntrinsics, shape: BodyShape, options: SolverOptions, bind: BindPose
    ) -> FrameContext:
        o = options
        reliable, usable, rel_w, use_w = keypoint_grades(pose, o.min_visibility, o.edge_margin_px, o.reliable_margin)
        t = solve_translation(pose.world_m, pose.keypoints_px, placement_weights(pose, rel_w, use_w), K)
        hint, rays, T = keypoint_targets(pose, K, t, use_w, o.min_depth_m)
        support = {seg: segment_image_support(pose, *seg) for seg in LIMB_SEGMENTS if use_w[seg[1]] < 1.0}
        return cls(
            pose=pose,
            intrinsics=K,
            shape=shape,
            options=o,
            bind=bind,
            reliable=reliable,
            usable=usable,
            reliability=rel_w,
            usability=use_w,
            trust=keypoint_trust(rel_w, use_w),
            translation_m=t,
            hint_cam_m=hint,
            rays=rays,
            targets_cam_m=T,
            limb_scale=limb_scale(T, pose.world_m, rel_w),
            image_support=MappingProxyType(support),
        )

    @property
    def girth(self) -> float:
        return float(self.shape.girth)


_EYE3 = np.eye(3)
_EYE3.flags.writeable = False


def axis_outer(axis: np.ndarray) -> np.ndarray:
    """(3, 3) ``a a^T`` of the unit vector along ``axis`` (what :func:`stretch_along` scales)."""
    a = normalize(axis)
    return a[:, None] * a


def stretch_along(axis: np.ndarray, along: float, across: float) -> np.ndarray:
    """(3, 3) scale ``along`` the bind-frame direction ``axis`` and ``across`` it."""
    return stretch_outer(axis_outer(axis), along, across)


def stretch_outer(outer: np.ndarray, along: float, across: float) -> np.ndarray:
    """:func:`stretch_along` for a fixed bind direction whose :func:`axis_outer` is kept."""
    return across * _EYE3 + (along - across) * outer


#: (J, 3, 3) identities, copied into each PoseBuffer.
_EYES = np.tile(np.eye(3), (NUM_BONES, 1, 1))
_EYES.flags.writeable = False
#: Each bone's parent as a Python int (-1: none), for the per-frame lookups.
_PARENT_OF: list[int] = PARENTS.tolist()


class PoseBuffer:
    """The bones' transforms as one solve fills them, root to tips.

    rotations : (J, 3, 3) bind model -> camera rotation per bone.
    stretch : (J, 3, 3) each bone's scaling in the bind model frame (applied first).
    heads_cam_m : (J, 3) where each bone's head lands, camera metres.
    confidence : (J,) how well the image supports each bone's pose.
    Bones not placed keep the identity at the origin with confidence 0.
    """

    def __init__(self, bind: BindPose) -> None:
        self.bind = bind
        self.rotations = _EYES.copy()
        self.stretch = _EYES.copy()
        self.heads_cam_m = np.zeros((NUM_BONES, 3))
        self.confidence = np.zeros(NUM_BONES)
        # rotation @ stretch per bone as placed (the linear part of its map), made when first
        # needed by carry() or anchor_cam_m()
        self._linear: list[np.ndarray | None] = [_EYE3] * NUM_BONES

    def place(self, bone: str, rotation: np.ndarray, stretch: np.ndarray, head_cam_m: np.ndarray, conf: float) -> None:
        j = BONE_INDEX[bone]
        self.rotations[j], self.stretch[j] = rotation, stretch
        self.heads_cam_m[j], self.confidence[j] = head_cam_m, conf
        self._linear[j] = None

    def written(self, indices: Iterable[int]) -> None:
        """Bones (indices) a compiled solve placed by writing the arrays directly."""
        for j in indices:
            self._linear[j] = None

    def _linear_of(self, j: int) -> np.ndarray:
        A = self._linear[j]
        if A is None:
            A = self._linear[j] = self.rotations[j] @ self.stretch[j]
        return A

    def rotation(self, bone: str) -> np.ndarray:
        return self.rotations[BONE_INDEX[bone]]

    def carry(self, bone: str) -> np.ndarray:
        """(3,) camera metres: where the parent's placed transform takes this bone's bind head."""
        j = BONE_INDEX[bone]
        p = _PARENT_OF[j]
        A = self._linear[p]
        if A is None:
            A = self._linear[p] = self.rotations[p] @ self.stretch[p]
        return self.heads_cam_m[p] + A @ self.bind.parent_offsets_m[j]

    def anchor_cam_m(self, landmark: int) -> np.ndarray:
        """(3,) camera metres: where a landmark's anchor lands with its bone as placed so far."""
        j = int(self.bind.anchor_bones[landmark])
        b = self.bind
        return self.heads_cam_m[j] + self._linear_of(j) @ (b.anchors_m[landmark] - b.bone_heads_m[j])

    def palette(self) -> np.ndarray:
        """(J, 3, 4) float32 affine map per bone, bind model metres -> camera metres:
        ``x -> heads[j] + rotations[j] @ stretch[j] @ (x - bind_head[j])``."""
        A = np.einsum("jab,jbc->jac", self.rotations, self.stretch)
        trans = self.heads_cam_m - np.einsum("jab,jb->ja", A, self.bind.bone_heads_m)
        return np.concatenate([A, trans[:, :, None]], axis=2).astype(np.float32)
