"""The limbs: each arm and leg described by a table (:class:`LimbChain`), all solved by one
:func:`solve_limb`.

A limb is an upper segment (upper arm, thigh), a lower segment (forearm, shin), each two
MakeHuman twist bones, and an end bone (hand, foot). Limbs keep the shopper's held bone lengths
(times the frame's limb scale): each child joint is placed on its keypoint's ray at that
distance from its parent (the depth ambiguity resolved by the world landmark, see
:func:`~tryon.body.targets.point_on_ray`), so elbows, wrists, knees and ankles land on their
keypoints without the limbs changing length from frame to frame. A keypoint out of the frame
leans toward a relaxed rest direction, or toward its ray where the person mask shows the limb
(:func:`end_point`).

Rotations are relative to the bind pose, as a swing onto the segment's direction followed by a
twist about it: the upper segment's twist from the hinge (elbow, knee) when it is bent, the
lower segment's from the end's landmark line (the hand's knuckles, the foot's heel to toe),
spread over the twist bones.

Each limb anchor rides the proximal bone of the segment it ends (the elbow keypoint marks the
end of the humerus, the knee the end of the femur...), so a segment's transform alone decides
where its end anchor lands: bind vectors run from the segment's joint (bone head) to that anchor.

To change how an elbow or a knee is solved, change its table (:func:`arm_chain`,
:func:`leg_chain`) or :func:`solve_limb`; the hand and the foot have their own small solves.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

import numpy as np

from tryon.body.context import BindPose, FrameContext, PoseBuffer, axis_outer, stretch_outer
from tryon.body.rotations import axis_angle, clamp, cross3, norm3, normalize, swing, twist_angle, twisted
from tryon.body.targets import TRUST_USABLE, point_on_ray
from tryon.pose.landmarks import L

Vec3 = tuple[float, float, float]

#: An out-of-frame keypoint's direction trusts BlazePose's world landmarks at most this much
#: (against the limb's rest direction) ...
GUESS_MAX_WEIGHT = 0.5
#: ... ramping from nothing at this presence, over this much more presence.
GUESS_PRESENCE_FROM, GUESS_PRESENCE_RAMP = 0.2, 0.6


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


def smoothstep(x: float, lo: float, hi: float) -> float:
    t = min(max((x - lo) / (hi - lo), 0.0), 1.0)
    return t * t * (3 - 2 * t)


def end_point(
    ctx: FrameContext,
    start_cam_m: np.ndarray,
    idx: int,
    from_idx: int,
    length_m: float,
    rest_dir_cam: np.ndarray | None = None,
) -> np.ndarray:
    """(3,) camera metres: a limb segment's end, on landmark ``idx``'s ray at ``length_m`` from
    ``start_cam_m`` (the depth ambiguity resolved by the world landmark). For a keypoint outside
    the frame, BlazePose's guess is poor (an upper-body shot's elbows are often put out to the
    sides): the direction leans toward ``rest_dir_cam``, a relaxed pose, trusting the world
    landmarks' direction from ``from_idx`` only as far as the model reports presence; and
    toward the keypoint's ray as far as the image shows the segment (``ctx.image_support``)."""
    max_stretch = ctx.options.max_stretch
    hint = ctx.hint_cam_m
    u = float(ctx.usability[idx])
    if u >= 1.0:
        return point_on_ray(start_cam_m, ctx.rays[idx], length_m, hint[idx, 2], max_stretch)
    guess = normalize(hint[idx] - hint[from_idx])
    on_ray = None  # the segment to the keypoint's ray, found once if needed
    if rest_dir_cam is not None:
        presence = ctx.pose.presence[idx]
        w = GUESS_MAX_WEIGHT * clamp(float(presence - GUESS_PRESENCE_FROM) / GUESS_PRESENCE_RAMP, 0.0, 1.0)
        guess = normalize(w * guess + (1.0 - w) * normalize(rest_dir_cam))
        seen = ctx.image_support[(from_idx, idx)]
        if seen > 0:  # the image shows the limb: lean toward its keypoint's ray
            on_ray = point_on_ray(start_cam_m, ctx.rays[idx], length_m, hint[idx, 2], max_stretch) - start_cam_m
            guess = normalize((1.0 - seen) * guess + seen * normalize(on_ray))
    if u > 0:  # partly usable (fading in or out): between the guess and the ray's point
        if on_ray is None:
            on_ray = point_on_ray(start_cam_m, ctx.rays[idx], length_m, hint[idx, 2], max_stretch) - start_cam_m
        return start_cam_m + (1.0 - u) * guess * length_m + u * on_ray
    return start_cam_m + guess * length_m


@dataclass(frozen=True)
class LimbBind:
    """A limb's bind-pose vectors (model metres), the same every frame: found once per
    mannequin (:func:`limb_bind`).

    upper_b, lower_b : upper joint -> mid anchor, mid joint -> end anchor.
    upper_norm_m, lower_norm_m : their lengths.
    mid_from_lower_b : mid joint -> mid anchor (the anchor's offset from the lower joint).
    bend_b : the direction the lower segment bends toward (see ``hinge_bend_dir_b``).
    end_line_b : the end's landmark line ``b -> a``.
    rest_upper_dir, rest_lower_dir : the chain's rest directions as arrays.
    upper_outer, lower_outer : :func:`~tryon.body.context.axis_outer` of the two segments.
    """

    upper_b: np.ndarray
    lower_b: np.ndarray
    upper_norm_m: float
    lower_norm_m: float
    mid_from_lower_b: np.ndarray
    bend_b: np.ndarray
    end_line_b: np.ndarray
    rest_upper_dir: np.ndarray
    rest_lower_dir: np.ndarray
    upper_outer: np.ndarray
    lower_outer: np.ndarray


def limb_bind(chain: LimbChain, bind: BindPose) -> LimbBind:
    """``chain``'s :class:`LimbBind` on ``bind`` (kept with the bind pose after the first call)."""
    cache = bind.derived
    key = ("limb", id(chain))
    kept = cache.get(key)
    hit = kept[1] if kept is not None and kept[0] is chain else None
    if hit is None:
        up1, lo1 = chain.upper_bones[0], chain.lower_bones[0]
        upper_b = bind.anchor_from(up1, chain.mid_landmark)
        lower_b = bind.anchor_from(lo1, chain.end_landmark)
        if chain.hinge_bend_dir_b is None:
            u = normalize(upper_b)
            bend_b = lower_b - u * np.dot(lower_b, u)
        else:
            bend_b = np.array(chain.hinge_bend_dir_b)
        a, b = chain.end_landmarks
        hit = LimbBind(
            upper_b=upper_b,
            lower_b=lower_b,
            upper_norm_m=norm3(upper_b),
            lower_norm_m=norm3(lower_b),
            mid_from_lower_b=bind.anchor_from(lo1, chain.mid_landmark),
            bend_b=bend_b,
            end_line_b=bind.anchors_m[a] - bind.anchors_m[b],
            rest_upper_dir=np.array(chain.rest_upper_dir),
            rest_lower_dir=np.array(chain.rest_lower_dir),
            upper_outer=axis_outer(upper_b),
            lower_outer=axis_outer(lower_b),
        )
        cache[key] = (chain, hit)  # the chain kept: its id is not reused while it is
    return hit


def solve_limb(chain: LimbChain, ctx: FrameContext, bones: PoseBuffer) -> None:
    """Place one limb's bones (upper, lower, end) in ``bones``; its parent and rest-frame
    bones must be placed already."""
    T, trust, usability = ctx.targets_cam_m, ctx.trust, ctx.usability
    g = ctx.girth
    up1, up2 = chain.upper_bones
    lo1, lo2 = chain.lower_bones
    root, mid, end = chain.root_landmark, chain.mid_landmark, chain.end_landmark
    a, b = chain.end_landmarks
    lb = limb_bind(chain, ctx.bind)
    upper_b, lower_b = lb.upper_b, lb.lower_b
    upper_len = lb.upper_norm_m * ctx.shape.scale(up1) * ctx.limb_scale
    lower_len = lb.lower_norm_m * ctx.shape.scale(lo1) * ctx.limb_scale
    R_rest = bones.rotation(chain.rest_frame_bone)
    rest_upper = R_rest @ lb.rest_upper_dir
    rest_lower = R_rest @ lb.rest_lower_dir
    # How far the end's landmark line is seen (its twist and the hand's swing follow it that far).
    end_w = float(usability[a] * usability[b])
    if chain.end_twist_needs_end_joint:
        end_w *= min(1.0, trust[end] / TRUST_USABLE)
    end_ok = end_w > 0
    end_line_b, end_line_t = lb.end_line_b, T[a] - T[b]

    # Upper segment: swing onto the mid joint. A first guess of the lower segment (from the
    # mid joint, the anchor's offset undone) sets the hinge before the upper segment is placed.
    head = bones.carry(up1)
    mid_point = end_point(ctx, head, mid, root, upper_len, rest_upper)
    upper_t = mid_point - head
    R_parent = bones.rotation(chain.parent_bone)
    R_sw = swing(R_parent @ upper_b, upper_t) @ R_parent
    joint = mid_point - R_sw @ lb.mid_from_lower_b
    lower_first = end_point(ctx, joint, end, mid, lower_len, rest_lower) - joint
    # Hinge: where the lower segment bends fixes the upper segment's twist when bent.
    axis = normalize(upper_t)
    w_hinge = smoothstep(norm3(cross3(axis, normalize(lower_first))), *chain.hinge_sin_bend_range)
    theta = 0.0
    if w_hinge > 0:
        theta = twist_angle(upper_t, R_sw @ lb.bend_b, lower_first) * w_hinge
    if chain.upper_twist_from_end_share > 0 and end_ok and w_hinge < 1:
        theta += (
            twist_angle(upper_t, R_sw @ end_line_b, end_line_t)
            * (1 - w_hinge)
            * chain.upper_twist_from_end_share
            * end_w
        )
    st_upper = stretch_outer(lb.upper_outer, norm3(upper_t) / lb.upper_norm_m, g)
    c_mid = min(trust[root], trust[mid])
    s1, s2 = chain.upper_twist_shares
    twist_axis = normalize(axis)
    R_upper = twisted(twist_axis, s2 * theta, R_sw)
    bones.place(up1, twisted(twist_axis, s1 * theta, R_sw), st_upper, head, c_mid)
    bones.place(up2, R_upper, st_upper, bones.carry(up2), c_mid)

    # Lower segment: swing onto the end joint, twist from the end's landmark line (pronation,
    # the foot's direction), spread over the lower bones; the end bone takes all of it.
    lower_head = bones.carry(lo1)
    lower_t = end_point(ctx, lower_head, end, mid, lower_len, rest_lower) - lower_head
    R_lsw = swing(R_upper @ lower_b, lower_t) @ R_upper
    theta_l = 0.0
    if end_ok:
        theta_l = twist_angle(lower_t, R_lsw @ end_line_b, end_line_t)
        if chain.lower_twist_limit_rad is not None:
            theta_l = clamp(theta_l, -chain.lower_twist_limit_rad, chain.lower_twist_limit_rad)
        theta_l *= end_w
    laxis = normalize(lower_t)
    st_lower = stretch_outer(lb.lower_outer, norm3(lower_t) / lb.lower_norm_m, g)
    c_end = min(c_mid, trust[end])
    t1, t2 = chain.lower_twist_shares
    ltwist_axis = normalize(laxis)
    bones.place(lo1, twisted(ltwist_axis, t1 * theta_l, R_lsw), st_lower, lower_head, c_end)
    bones.place(lo2, twisted(ltwist_axis, t2 * theta_l, R_lsw), st_lower, bones.carry(lo2), c_end)
    R_twisted = twisted(ltwist_axis, theta_l, R_lsw)
    if chain.end is EndKind.HAND:
        _solve_hand(chain, ctx, bones, R_twisted, c_end, end_w)
    else:
        _solve_foot(chain, ctx, bones, R_twisted, c_end, end_w)


def _solve_hand(
    chain: LimbChain, ctx: FrameContext, bones: PoseBuffer, R_forearm: np.ndarray, conf: float, end_w: float
) -> None:
    """The hand: the forearm's twisted rotation, swung toward the knuckles' midpoint as far as
    the knuckles are seen (``end_w`` in [0, 1])."""
    B, T, trust = ctx.bind.anchors_m, ctx.targets_cam_m, ctx.trust
    a, b = chain.end_landmarks
    hand_head = bones.carry(chain.end_bone)
    R_hand = R_forearm
    if end_w > 0:
        hb = R_forearm @ (0.5 * (B[a] + B[b]) - ctx.bind.head(chain.end_bone))
        ht = 0.5 * (T[a] + T[b]) - hand_head
        if end_w < 1:
            ht = (1.0 - end_w) * normalize(hb) + end_w * normalize(ht)
        R_hand = swing(hb, ht) @ R_forearm
    scale = np.eye(3) * ctx.shape.scale(chain.end_bone)
    bones.place(chain.end_bone, R_hand, scale, hand_head, min(conf, min(trust[a], trust[b])))


def _solve_foot(
    chain: LimbChain, ctx: FrameContext, bones: PoseBuffer, R_shin: np.ndarray, conf: float, end_w: float
) -> None:
    """The foot: swing onto the toes, roll from the heel. A seen ankle places the foot on it
    even where the shin, kept within its length, falls short: shoes sit on the feet."""
    B, T, trust = ctx.bind.anchors_m, ctx.targets_cam_m, ctx.trust
    foot = chain.end_bone
    ankle = chain.end_landmark
    toe, heel = chain.end_landmarks
    bind_head = ctx.bind.head(foot)
    held = ctx.shape.scale(foot)
    foot_head = bones.carry(foot)
    rel = ctx.reliability
    if rel[ankle] > 0:
        foot_head = foot_head + rel[ankle] * (T[ankle] - bones.anchor_cam_m(ankle))
    R_foot = R_shin
    foot_scale = 1.0
    if end_w > 0:
        # The toe on its keypoint's ray at the foot's length from the ankle (the depth
        # ambiguity resolved by the world landmark, as for the limbs): BlazePose's foot
        # depths alone point feet at the camera too often, shortening them on screen.
        fb = B[toe] - bind_head
        L_foot = norm3(fb) * held
        ft = end_point(ctx, foot_head, toe, ankle, L_foot) - foot_head
        foot_scale = 1.0 + end_w * (clamp(norm3(ft) / max(L_foot, 1e-6), 1.0, ctx.options.max_stretch) - 1.0)
        fb_c = R_shin @ fb
        if end_w < 1:
            ft = (1.0 - end_w) * normalize(fb_c) + end_w * normalize(ft)
        R_foot = swing(fb_c, ft) @ R_shin
        roll = twist_angle(ft, R_foot @ (B[heel] - bind_head), T[heel] - foot_head)
        lim = chain.end_roll_limit_rad
        R_foot = axis_angle(ft, end_w * clamp(roll, -lim, lim)) @ R_foot
        # Then the foot as a whole lands on its three keypoints (ankle, heel, toe) on
        # average (weighted by reliability), across the line of sight (BlazePose often puts
        # the ankle on the hem).
        s_f = held * foot_scale
        res, w_sum, w_max = 0.0, 0.0, 0.0
        for k in (ankle, heel, toe):
            w_k = float(rel[k])
            if w_k > 0:
                res = res + w_k * (T[k] - (foot_head + R_foot @ (s_f * (B[k] - bind_head))))
                w_sum += w_k
                w_max = max(w_max, w_k)
        if w_sum > 0:
            res = res * (w_max / w_sum)
            view = normalize(foot_head)
            foot_head = foot_head + (res - view * np.dot(res, view))
    # A foot that looks longer than the held proportions allow (a shoe adds length) grows
    # with it, within the limbs' stretch limit, so a shoe covers the shoe it replaces.
    scale = np.eye(3) * held * foot_scale
    bones.place(foot, R_foot, scale, foot_head, min(conf, min(trust[heel], trust[toe])))
