"""The torso's bones: pelvis, spine and clavicles.

The pelvis (``root``) and the chest take full frames from the hip and shoulder lines; the
spine bones share the rotation between them (slerp, :data:`SPINE_BLEND`) and stretch, within
:data:`CHAIN_LENGTH_RANGE` of the shopper's length, so the spine's end reaches the shoulders'
midpoint. The pelvis bones and clavicles (with ``shoulder01``) stretch to land the hips and
shoulders exactly.
"""

from __future__ import annotations

import numpy as np

from tryon.body.context import FrameContext, PoseBuffer, axis_outer, stretch_outer
from tryon.body.rotations import clamp, frame, norm3, slerp_many, swing
from tryon.pose.landmarks import L

#: Share of the chest's rotation each spine bone takes (the rest is the pelvis's).
SPINE_BLEND = {"spine05": 0.15, "spine04": 0.35, "spine03": 0.55, "spine02": 0.8, "spine01": 1.0}
#: A chain (spine, neck) stretched to reach its target keeps within this factor of the
#: shopper's length.
CHAIN_LENGTH_RANGE = (0.75, 1.25)


def frame_pair(ctx: FrameContext, a: int, b: int, c: int, d: int, e: int, f: int) -> np.ndarray:
    """(3, 3) rotation taking the bind frame (x: anchor a - anchor b, secondary: mid(c, d) ->
    mid(e, f)) onto the same frame built from the keypoint targets."""
    B, T = ctx.bind.anchors_m, ctx.targets_cam_m
    key = ("frame_pair", a, b, c, d, e, f)
    Fb_T = ctx.bind.derived.get(key)
    if Fb_T is None:  # the bind frame's transpose, the same every frame
        Fb_T = ctx.bind.derived[key] = frame(B[a] - B[b], 0.5 * (B[e] + B[f]) - 0.5 * (B[c] + B[d])).T
    Ft = frame(T[a] - T[b], 0.5 * (T[e] + T[f]) - 0.5 * (T[c] + T[d]))
    return Ft @ Fb_T


def chain_scale(
    ctx: FrameContext,
    bones: list[str],
    end_bind_m: np.ndarray,
    target_cam_m: np.ndarray,
    rotations: list[np.ndarray],
    base_cam_m: np.ndarray,
    held: float,
) -> float:
    """Length factor for a chain (spine, neck) whose end should reach ``target_cam_m``.

    Each bone is scaled by (girth, s, girth) in model axes, so the end point is affine in s:
    solved in closed form, kept within :data:`CHAIN_LENGTH_RANGE` of ``held``."""
    g = ctx.girth
    pts = [ctx.bind.head(b) for b in bones] + [end_bind_m]
    e0 = base_cam_m.copy()
    e1 = np.zeros(3)
    for k, rot in enumerate(rotations):
        off = pts[k + 1] - pts[k]
        e0 += rot @ np.array([g * off[0], 0.0, g * off[2]])
        e1 += rot @ np.array([0.0, off[1], 0.0])
    s = float(np.dot(e1, target_cam_m - e0) / max(np.dot(e1, e1), 1e-12))
    lo, hi = CHAIN_LENGTH_RANGE
    return clamp(s, lo * held, hi * held)


def place_chain(
    bones: PoseBuffer, names: list[str], rotations: list[np.ndarray], length: float, girth: float, conf: float
) -> None:
    """Place a chain of bones (spine, neck), each carried by its parent and scaled by
    (girth, length, girth) in model axes."""
    for bone, rot in zip(names, rotations):
        bones.place(bone, rot, np.diag([girth, length, girth]), bones.carry(bone), conf)


def _stretch_to(
    ctx: FrameContext, bone: str, head_cam_m: np.ndarray, landmark: int, parent_rotation: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(rotation, stretch) of a bone with its head at ``head_cam_m`` that swings from
    ``parent_rotation`` and stretches along itself so its landmark anchor lands exactly on the
    keypoint target."""
    head = head_cam_m
    key = ("stretch_to", bone, landmark)
    kept = ctx.bind.derived.get(key)
    if kept is None:  # the bind vector, its length and direction: the same every frame
        v = ctx.bind.anchor_from(bone, landmark)
        kept = ctx.bind.derived[key] = (v, max(norm3(v), 1e-9), axis_outer(v))
    bind_vec, bind_len, outer = kept
    target_vec = ctx.targets_cam_m[landmark] - head
    rot = swing(parent_rotation @ bind_vec, target_vec) @ parent_rotation
    along = norm3(target_vec) / bind_len
    return rot, stretch_outer(outer, along, ctx.girth)


def solve_pelvis(ctx: FrameContext, bones: PoseBuffer) -> np.ndarray:
    """Place ``root`` (full frame from the hip line and the torso's up direction, its
    hips' midpoint on theirs) and the pelvis bones; returns the root's rotation."""
    T, B, g, trust = ctx.targets_cam_m, ctx.bind.anchors_m, ctx.girth, ctx.trust
    R_root = frame_pair(ctx, L.LEFT_HIP, L.RIGHT_HIP, L.LEFT_HIP, L.RIGHT_HIP, L.LEFT_SHOULDER, L.RIGHT_SHOULDER)
    s_root = np.diag([g, ctx.shape.scale("root"), g])
    mid_hip_b = 0.5 * (B[L.LEFT_HIP] + B[L.RIGHT_HIP])
    mid_hip_t = 0.5 * (T[L.LEFT_HIP] + T[L.RIGHT_HIP])
    root_head = mid_hip_t - R_root @ s_root @ (mid_hip_b - ctx.bind.head("root"))
    bones.place("root", R_root, s_root, root_head, min(trust[L.LEFT_HIP], trust[L.RIGHT_HIP]))
    for side, hip in (("L", L.LEFT_HIP), ("R", L.RIGHT_HIP)):
        bone = f"pelvis.{side}"
        head = bones.carry(bone)
        rot, stretch = _stretch_to(ctx, bone, head, hip, R_root)
        bones.place(bone, rot, stretch, head, trust[hip])
    return R_root


def solve_spine(ctx: FrameContext, bones: PoseBuffer, R_root: np.ndarray) -> np.ndarray:
    """Place the spine bones, sharing the rotation from the pelvis to the chest's frame (from
    the shoulder line) and stretched so the spine ends at the shoulders' midpoint; returns the
    chest's rotation (the frame itself, not its slerped copy on ``spine01``)."""
    T, B, trust = ctx.targets_cam_m, ctx.bind.anchors_m, ctx.trust
    R_chest = frame_pair(
        ctx, L.LEFT_SHOULDER, L.RIGHT_SHOULDER, L.LEFT_HIP, L.RIGHT_HIP, L.LEFT_SHOULDER, L.RIGHT_SHOULDER
    )
    spine = list(SPINE_BLEND)
    spine_rots = slerp_many(R_root, R_chest, SPINE_BLEND.values())
    mid_sh_b = 0.5 * (B[L.LEFT_SHOULDER] + B[L.RIGHT_SHOULDER])
    mid_sh_t = 0.5 * (T[L.LEFT_SHOULDER] + T[L.RIGHT_SHOULDER])
    held = float(ctx.shape.scale("spine03"))
    s_spine = chain_scale(ctx, spine, mid_sh_b, mid_sh_t, spine_rots, bones.carry(spine[0]), held)
    torso_conf = min(trust[L.LEFT_SHOULDER], trust[L.RIGHT_SHOULDER])
    place_chain(bones, spine, spine_rots, s_spine, ctx.girth, torso_conf)
    return R_chest


def solve_clavicles(ctx: FrameContext, bones: PoseBuffer, R_chest: np.ndarray) -> None:
    """Place the clavicles and ``shoulder01`` bones (one transform each side), swung from the
    chest and stretched so the shoulders land exactly."""
    for side, sh in (("L", L.LEFT_SHOULDER), ("R", L.RIGHT_SHOULDER)):
        clav = f"clavicle.{side}"
        head = bones.carry(clav)
        rot, stretch = _stretch_to(ctx, clav, head, sh, R_chest)
        bones.place(clav, rot, stretch, head, ctx.trust[sh])
        bones.place(f"shoulder01.{side}", rot, stretch, bones.carry(f"shoulder01.{side}"), ctx.trust[sh])
