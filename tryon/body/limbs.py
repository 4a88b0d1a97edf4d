"""The limbs: each arm and leg described by a table (:class:`LimbChain`), all solved by one
:func:`solve_limbs` (compiled: :mod:`tryon.body.solve_kernel`).

A limb is an upper segment (upper arm, thigh), a lower segment (forearm, shin), each two
MakeHuman twist bones, and an end bone (hand, foot). Limbs keep the shopper's held bone lengths
(times the frame's limb scale): each child joint is placed on its keypoint's ray at that
distance from its parent (the depth ambiguity resolved by the world landmark, see
:func:`~tryon.body.targets.point_on_ray`), so elbows, wrists, knees and ankles land on their
keypoints without the limbs changing length from frame to frame. A keypoint out of the frame
leans toward a relaxed rest direction, or toward its ray where the person mask shows the limb
(:mod:`tryon.body.solve_kernel`'s ``_end_point``).

Rotations are relative to the bind pose, as a swing onto the segment's direction followed by a
twist about it: the upper segment's twist from the hinge (elbow, knee) when it is bent, the
lower segment's from the end's landmark line (the hand's knuckles, the foot's heel to toe),
spread over the twist bones.

Each limb anchor rides the proximal bone of the segment it ends (the elbow keypoint marks the
end of the humerus, the knee the end of the femur...), so a segment's transform alone decides
where its end anchor lands: bind vectors run from the segment's joint (bone head) to that anchor.

To change how an elbow or a knee is solved, change its table (:func:`arm_chain`,
:func:`leg_chain`) or the compiled solve (:func:`solve_limbs`, :mod:`tryon.body.solve_kernel`),
where the hand and the foot have their own small steps.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import Enum

import numpy as np

from tryon.body import solve_kernel as k
from tryon.body.context import BindPose, FrameContext, PoseBuffer, axis_outer
from tryon.body.rotations import norm3, normalize
from tryon.body.skeleton import BONE_INDEX, PARENTS
from tryon.pose.landmarks import L

Vec3 = tuple[float, float, float]


class EndKind(Enum):
    """How a limb's end bone is solved."""

    HAND = "hand"
    FOOT = "foot"


@dataclass(frozen=True)
class LimbChain:
    """One limb as data. Bone names are the skeleton's (:mod:`tryon.body.skeleton`), landmarks
    BlazePose's (:class:`~tryon.pose.landmarks.L`); directions are in model axes (y up, +z
    front, +x the body's left) and need not be unit.

    name, side : e.g. ``"arm.L"``, ``"L"``.
    upper_bones, lower_bones : the two twist bones of each segment, proximal first.
    end_bone : the hand (``wrist.*``) or the foot.
    parent_bone : the placed bone whose rotation the upper segment swings from.
    rest_frame_bone : the placed bone whose rotation turns the rest directions into camera axes.
    root_landmark, mid_landmark, end_landmark : the joints (shoulder, elbow, wrist; hip, knee,
        ankle).
    end_landmarks : (a, b): the end's landmark line ``b -> a`` the lower segment's twist
        follows (pinky -> index knuckle; heel -> toe).
    rest_upper_dir, rest_lower_dir : where each segment points when relaxed (the direction an
        out-of-frame joint leans toward).
    hinge_sin_bend_range : (none, full): sine of the angle between the two segments at which
        the hinge starts to set the upper segment's twist, and at which it sets it fully
        (smoothstep between).
    hinge_bend_dir_b : the bind direction the lower segment bends toward, off the upper
        segment's line; None: the bind lower segment's own lean off that line.
    upper_twist_shares : share of the upper segment's twist each upper bone takes.
    upper_twist_from_end_share : with the hinge straight, the share of the end line's twist the
        upper segment takes (0: none).
    lower_twist_shares : share of the lower segment's twist each lower bone takes (the end
        bone takes it all).
    lower_twist_limit_rad : the lower segment's twist is clamped to +-this (None: free).
    end_twist_needs_end_joint : the end line counts only where the end joint has some trust.
    end_roll_limit_rad : the foot's roll about its own axis is clamped to +-this.
    end : how the end bone is solved.
    """

    name: str
    side: str
    upper_bones: tuple[str, str]
    lower_bones: tuple[str, str]
    end_bone: str
    parent_bone: str
    rest_frame_bone: str
    root_landmark: int
    mid_landmark: int
    end_landmark: int
    end_landmarks: tuple[int, int]
    rest_upper_dir: Vec3
    rest_lower_dir: Vec3
    hinge_sin_bend_range: tuple[float, float]
    hinge_bend_dir_b: Vec3 | None
    upper_twist_shares: tuple[float, float]
    upper_twist_from_end_share: float
    lower_twist_shares: tuple[float, float]
    lower_twist_limit_rad: float | None
    end_twist_needs_end_joint: bool
    end_roll_limit_rad: float | None
    end: EndKind


def _side_landmarks(side: str, left: tuple[int, ...], right: tuple[int, ...]) -> tuple[int, ...]:
    return left if side == "L" else right


def arm_chain(side: str) -> LimbChain:
    """The arm of the body's ``side`` (``"L"`` or ``"R"``)."""
    out = 1.0 if side == "L" else -1.0  # model +x is the mannequin's left
    sh, el, wr, ix, pk = _side_landmarks(
        side,
        (L.LEFT_SHOULDER, L.LEFT_ELBOW, L.LEFT_WRIST, L.LEFT_INDEX, L.LEFT_PINKY),
        (L.RIGHT_SHOULDER, L.RIGHT_ELBOW, L.RIGHT_WRIST, L.RIGHT_INDEX, L.RIGHT_PINKY),
    )
    return LimbChain(
        name=f"arm.{side}",
        side=side,
        upper_bones=(f"upperarm01.{side}", f"upperarm02.{side}"),
        lower_bones=(f"lowerarm01.{side}", f"lowerarm02.{side}"),
        end_bone=f"wrist.{side}",
        parent_bone=f"clavicle.{side}",
        rest_frame_bone="spine01",
        root_landmark=sh,
        mid_landmark=el,
        end_landmark=wr,
        end_landmarks=(ix, pk),
        rest_upper_dir=(0.25 * out, -1.0, 0.05),  # hanging, slightly out
        rest_lower_dir=(0.1 * out, -0.6, 0.8),  # forearm forward and down
        hinge_sin_bend_range=(0.2, 0.5),  # about 12 to 30 degrees of elbow bend
        hinge_bend_dir_b=None,
        upper_twist_shares=(0.5, 1.0),
        upper_twist_from_end_share=0.0,
        lower_twist_shares=(1 / 3, 2 / 3),  # pronation spread over the forearm and the hand
        lower_twist_limit_rad=None,
        end_twist_needs_end_joint=True,
        end_roll_limit_rad=None,
        end=EndKind.HAND,
    )


def leg_chain(side: str) -> LimbChain:
    """The leg of the body's ``side`` (``"L"`` or ``"R"``)."""
    out = 1.0 if side == "L" else -1.0
    hp, kn, an, fi, he = _side_landmarks(
        side,
        (L.LEFT_HIP, L.LEFT_KNEE, L.LEFT_ANKLE, L.LEFT_FOOT_INDEX, L.LEFT_HEEL),
        (L.RIGHT_HIP, L.RIGHT_KNEE, L.RIGHT_ANKLE, L.RIGHT_FOOT_INDEX, L.RIGHT_HEEL),
    )
    return LimbChain(
        name=f"leg.{side}",
        side=side,
        upper_bones=(f"upperleg01.{side}", f"upperleg02.{side}"),
        lower_bones=(f"lowerleg01.{side}", f"lowerleg02.{side}"),
        end_bone=f"foot.{side}",
        parent_bone="root",
        rest_frame_bone="root",
        root_landmark=hp,
        mid_landmark=kn,
        end_landmark=an,
        end_landmarks=(fi, he),
        rest_upper_dir=(0.08 * out, -1.0, 0.0),  # standing
        rest_lower_dir=(0.0, -1.0, -0.05),
        hinge_sin_bend_range=(0.25, 0.5),  # about 14 to 30 degrees of knee bend
        hinge_bend_dir_b=(0.0, 0.0, -1.0),  # the shin bends backward: the knee points forward
        upper_twist_shares=(0.5, 1.0),
        upper_twist_from_end_share=0.7,  # a straight leg's knee points where the foot does
        lower_twist_shares=(0.5, 1.0),
        lower_twist_limit_rad=0.6,
        end_twist_needs_end_joint=False,
        end_roll_limit_rad=0.5,
        end=EndKind.FOOT,
    )


#: The limbs in the order they are solved (each side's arm, then its leg).
LIMBS: tuple[LimbChain, ...] = (arm_chain("L"), leg_chain("L"), arm_chain("R"), leg_chain("R"))


@dataclass(frozen=True)
class LimbTables:
    """Limb chains packed as arrays for the compiled solve (:mod:`tryon.body.solve_kernel`,
    whose ``I_*``, ``V_*``, ``S_*`` constants name the columns), with the bind pose's vectors
    (model metres) found once per mannequin (:func:`limb_tables`).

    ints : (n, 14) int64, bones, landmarks and flags per limb.
    vecs : (n, 7, 3) float64: the rest directions; upper joint -> mid anchor, mid joint -> end
        anchor; mid joint -> mid anchor (the anchor's offset from the lower joint); the
        direction the lower segment bends toward (``hinge_bend_dir_b``); the end's landmark
        line ``b -> a``.
    outers : (n, 2, 3, 3) float64, :func:`~tryon.body.context.axis_outer` of the two segments.
    scalars : (n, 11) float64: the segments' bind lengths, the hinge range, the twist shares,
        the limits (inf: none).
    bones : the bone indices the solve places (their cached maps are dropped after it).
    anchors_m, bone_heads_m, parent_offsets_m : the bind pose's arrays, float64, contiguous.
    anchor_bones, parents : (33,), (J,) int64.
    """

    ints: np.ndarray
    vecs: np.ndarray
    outers: np.ndarray
    scalars: np.ndarray
    bones: tuple[int, ...]
    anchors_m: np.ndarray
    bone_heads_m: np.ndarray
    parent_offsets_m: np.ndarray
    anchor_bones: np.ndarray
    parents: np.ndarray


def _limb_rows(chain: LimbChain, bind: BindPose) -> tuple[list[int], np.ndarray, np.ndarray, list[float]]:
    """One chain's rows of :class:`LimbTables`."""
    up1, up2 = chain.upper_bones
    lo1, lo2 = chain.lower_bones
    a, b = chain.end_landmarks
    upper_b = bind.anchor_from(up1, chain.mid_landmark)
    lower_b = bind.anchor_from(lo1, chain.end_landmark)
    if chain.hinge_bend_dir_b is None:
        u = normalize(upper_b)
        bend_b = lower_b - u * np.dot(lower_b, u)
    else:
        bend_b = np.array(chain.hinge_bend_dir_b, dtype=np.float64)
    ints = [BONE_INDEX[n] for n in (up1, up2, lo1, lo2, chain.end_bone, chain.parent_bone, chain.rest_frame_bone)]
    ints += [chain.root_landmark, chain.mid_landmark, chain.end_landmark, a, b]
    ints += [int(chain.end is EndKind.HAND), int(chain.end_twist_needs_end_joint)]
    vecs = np.array(
        [
            chain.rest_upper_dir,
            chain.rest_lower_dir,
            upper_b,
            lower_b,
            bind.anchor_from(lo1, chain.mid_landmark),
            bend_b,
            bind.anchors_m[a] - bind.anchors_m[b],
        ],
        dtype=np.float64,
    )
    outers = np.array([axis_outer(upper_b), axis_outer(lower_b)])
    none = math.inf
    lo_limit = none if chain.lower_twist_limit_rad is None else chain.lower_twist_limit_rad
    roll_limit = none if chain.end_roll_limit_rad is None else chain.end_roll_limit_rad
    scalars = [
        norm3(upper_b),
        norm3(lower_b),
        *chain.hinge_sin_bend_range,
        *chain.upper_twist_shares,
        chain.upper_twist_from_end_share,
        *chain.lower_twist_shares,
        lo_limit,
        roll_limit,
    ]
    return ints, vecs, outers, scalars


def limb_tables(chains: tuple[LimbChain, ...], bind: BindPose) -> LimbTables:
    """``chains`` packed on ``bind`` (kept with the bind pose after the first call)."""
    key = ("limbs", id(chains))
    kept = bind.derived.get(key)
    if kept is not None and kept[0] is chains:
        return kept[1]
    rows = [_limb_rows(c, bind) for c in chains]
    ints = np.array([r[0] for r in rows], dtype=np.int64)
    placed = (k.I_UP1, k.I_UP2, k.I_LO1, k.I_LO2, k.I_END_BONE)
    tables = LimbTables(
        ints=ints,
        vecs=np.ascontiguousarray([r[1] for r in rows], dtype=np.float64),
        outers=np.ascontiguousarray([r[2] for r in rows], dtype=np.float64),
        scalars=np.array([r[3] for r in rows], dtype=np.float64),
        bones=tuple(int(j) for j in ints[:, placed].ravel()),
        anchors_m=np.ascontiguousarray(bind.anchors_m, dtype=np.float64),
        bone_heads_m=np.ascontiguousarray(bind.bone_heads_m, dtype=np.float64),
        parent_offsets_m=np.ascontiguousarray(bind.parent_offsets_m, dtype=np.float64),
        anchor_bones=np.ascontiguousarray(bind.anchor_bones, dtype=np.int64),
        parents=np.ascontiguousarray(PARENTS, dtype=np.int64),
    )
    bind.derived[key] = (chains, tables)  # the chains kept: their id is not reused while they are
    return tables


def solve_limbs(chains: tuple[LimbChain, ...], ctx: FrameContext, bones: PoseBuffer) -> None:
    """Place each limb's bones (upper, lower, end) in ``bones``, in order; each limb's parent and
    rest-frame bones must be placed already. The solve itself is compiled
    (:func:`tryon.body.solve_kernel.solve_limbs_kernel`); per limb, as this module's top says:

    - the mid joint on its keypoint's ray at the held upper length from the limb's head
      (an out-of-frame keypoint leans toward the rest direction, or toward
      its ray as far as the image shows the segment); the upper segment swings onto it;
    - the hinge: a first guess of the lower segment (from the mid joint, the anchor's offset
      undone) sets the upper segment's twist where the limb is bent (smoothstep over
      ``hinge_sin_bend_range``), else (legs) a share of the end line's twist;
    - the lower segment swings onto the end joint and twists toward the end's landmark line
      (clamped for the shin), spread over the twist bones; the end bone takes all of it;
    - the hand swings toward the knuckles' midpoint as far as the knuckles are seen; the foot
      swings onto its toe (placed on the toe's ray at the foot's length), rolls from the heel,
      lands its ankle on a seen ankle keypoint and, as a whole, on its three keypoints across
      the line of sight, and grows with a foot that looks longer (within the stretch limit).
    """
    t = limb_tables(chains, ctx.bind)
    support = ctx.image_support
    seen = np.array(
        [
            (support.get((c.root_landmark, c.mid_landmark), 0.0), support.get((c.mid_landmark, c.end_landmark), 0.0))
            for c in chains
        ],
        dtype=np.float64,
    )
    frame_f = np.array((ctx.girth, ctx.limb_scale, ctx.options.max_stretch), dtype=np.float64)
    f64 = np.float64
    k.solve_limbs_kernel(
        t.ints, t.vecs, t.outers, t.scalars, seen, frame_f,
        np.ascontiguousarray(ctx.targets_cam_m, f64), np.ascontiguousarray(ctx.hint_cam_m, f64),
        np.ascontiguousarray(ctx.rays, f64), np.ascontiguousarray(ctx.usability, f64),
        np.ascontiguousarray(ctx.trust, f64), np.ascontiguousarray(ctx.reliability, f64),
        np.ascontiguousarray(ctx.pose.presence, f64), np.ascontiguousarray(ctx.shape.bone_scale, f64),
        t.anchors_m, t.bone_heads_m, t.parent_offsets_m, t.anchor_bones, t.parents,
        bones.rotations, bones.stretch, bones.heads_cam_m, bones.confidence,
    )  # fmt: skip
    bones.written(t.bones)

