"""The torso's bones: pelvis, spine and clavicles.

The pelvis (``root``) and the chest take full frames from the hip and shoulder lines; the
spine bones share the rotation between them (slerp, :data:`SPINE_BLEND`) and stretch, within
:data:`CHAIN_LENGTH_RANGE` of the shopper's length, so the spine's end reaches the shoulders'
midpoint. The pelvis bones and clavicles (with ``shoulder01``) stretch to land the hips and
shoulders exactly.

The solve itself is compiled (:func:`tryon.body.solve_kernel.solve_torso_kernel`, numba): the
steps above on scalars and tiny arrays, where numpy's per-call overhead cost more than the
arithmetic. :func:`frame_pair`, :func:`chain_scale` and :func:`place_chain` serve the neck.
"""

from __future__ import annotations

import numpy as np

from tryon.body import solve_kernel as k
from tryon.body.context import FrameContext, PoseBuffer
from tryon.body.skeleton import BONE_INDEX, PARENTS
from tryon.pose.landmarks import L

#: Share of the chest's rotation each spine bone takes (the rest is the pelvis's).
SPINE_BLEND = {"spine05": 0.15, "spine04": 0.35, "spine03": 0.55, "spine02": 0.8, "spine01": 1.0}
#: A chain (spine, neck) stretched to reach its target keeps within this factor of the
#: shopper's length.
CHAIN_LENGTH_RANGE = (0.75, 1.25)

#: The torso kernel's bones: root, pelvis L/R, the spine (as SPINE_BLEND), clavicle L/R,
#: shoulder01 L/R; its landmarks: left/right hip, left/right shoulder.
_TORSO_BONES = np.array(
    [
        BONE_INDEX[b]
        for b in ("root", "pelvis.L", "pelvis.R", *SPINE_BLEND, "clavicle.L", "clavicle.R")
        + ("shoulder01.L", "shoulder01.R")
    ],
    dtype=np.int64,
)
_TORSO_LANDMARKS = np.array([L.LEFT_HIP, L.RIGHT_HIP, L.LEFT_SHOULDER, L.RIGHT_SHOULDER], dtype=np.int64)
_SPINE_BLEND = np.array(list(SPINE_BLEND.values()), dtype=np.float64)
_CHAIN_RANGE = np.array(CHAIN_LENGTH_RANGE, dtype=np.float64)
_PARENTS = np.ascontiguousarray(PARENTS, dtype=np.int64)


def frame_pair(ctx: FrameContext, a: int, b: int, c: int, d: int, e: int, f: int) -> np.ndarray:
    """(3, 3) rotation taking the bind frame (x: anchor a - anchor b, secondary: mid(c, d) ->
    mid(e, f)) onto the same frame built from the keypoint targets."""
    a, b, c, d, e, f = (int(i) for i in (a, b, c, d, e, f))
    return k.frame_pair(ctx.targets_cam_m, ctx.bind.anchors_m, a, b, c, d, e, f)


def chain_scale(
    ctx: FrameContext,
    bones: list[str],
    end_bind_m: np.ndarray,
    target_cam_m: np.ndarray,
    rotations: np.ndarray,
    base_cam_m: np.ndarray,
    held: float,
) -> float:
    """Length factor for a chain (spine, neck) whose end should reach ``target_cam_m``.

    Each bone is scaled by (girth, s, girth) in model axes, so the end point is affine in s:
    solved in closed form, kept within :data:`CHAIN_LENGTH_RANGE` of ``held``.
    rotations : (n, 3, 3) the bones' rotations."""
    points = np.array([*(ctx.bind.head(b) for b in bones), end_bind_m], dtype=np.float64)
    lo, hi = CHAIN_LENGTH_RANGE
    rots = np.ascontiguousarray(rotations, dtype=np.float64)
    base = np.ascontiguousarray(base_cam_m, dtype=np.float64)
    target = np.ascontiguousarray(target_cam_m, dtype=np.float64)
    return float(k.chain_scale(points, rots, base, target, float(ctx.girth), lo * held, hi * held))


def place_chain(
    bones: PoseBuffer, names: list[str], rotations: np.ndarray, length: float, girth: float, conf: float
) -> None:
    """Place a chain of bones (spine, neck), each carried by its parent and scaled by
    (girth, length, girth) in model axes. rotations : (n, 3, 3)."""
    idx = np.array([BONE_INDEX[b] for b in names], dtype=np.int64)
    k.place_chain(
        idx, np.ascontiguousarray(rotations, dtype=np.float64), float(length), float(girth), float(conf),
        _PARENTS, np.ascontiguousarray(bones.bind.parent_offsets_m, dtype=np.float64),
        bones.rotations, bones.stretch, bones.heads_cam_m, bones.confidence,
    )  # fmt: skip
    bones.written(idx.tolist())


def solve_torso(ctx: FrameContext, bones: PoseBuffer) -> tuple[np.ndarray, np.ndarray]:
    """Place ``root`` (full frame from the hip line and the torso's up direction, its hips'
    midpoint on theirs) and the pelvis bones; the spine bones, sharing the rotation from the
    pelvis to the chest's frame (from the shoulder line) and stretched so the spine ends at the
    shoulders' midpoint; the clavicles and ``shoulder01`` bones (one transform each side), swung
    from the chest and stretched so the shoulders land exactly. Returns the root's rotation
    and the chest's (the frame itself, not its slerped copy on ``spine01``)."""
    f64 = np.float64
    R_root, R_chest = k.solve_torso_kernel(
        _TORSO_BONES, _TORSO_LANDMARKS, _SPINE_BLEND, _CHAIN_RANGE, float(ctx.girth),
        np.ascontiguousarray(ctx.targets_cam_m, f64), np.ascontiguousarray(ctx.trust, f64),
        np.ascontiguousarray(ctx.shape.bone_scale, f64), np.ascontiguousarray(ctx.bind.anchors_m, f64),
        np.ascontiguousarray(ctx.bind.bone_heads_m, f64), np.ascontiguousarray(ctx.bind.parent_offsets_m, f64),
        _PARENTS, bones.rotations, bones.stretch, bones.heads_cam_m, bones.confidence,
    )  # fmt: skip
    bones.written(_TORSO_BONES.tolist())
    return R_root, R_chest

