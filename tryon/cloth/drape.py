"""A loose garment's targets draped over the legs.

A skirt's or dress's skinned place hangs straight down from the hips (its legs' weights are
spread over the pelvis and both thighs alike: :mod:`tryon.catalog.fit.rigging`), so in a
stride the forward knee and shin come out through its front, and the back leg through its
back. The cloth stage pushes particles out of the legs, but each on its own: a particle
beside the shin is pulled back to its skinned place and the cloth parts around the leg (a
slit of leg inside a maxi dress, below the knee). Here the targets themselves are draped
(``ClothOptions(drape=True)``; off by default, see docs/cloth.md): each colliding particle
facing the body's front or back whose normal's line meets a leg's capsule in front of it
(inside it, or a leg come out through the cloth) has its skinned place moved along that
line to the capsule's far side plus DRAPE_CLEARANCE_M (:func:`tryon.cloth.kernel.leg_push`),
less the push it would have at bind (:func:`rest_drape_m`: at rest nothing moves). The legs
that drape are the thighs, and a shin only while its knee is straight (STRAIGHT_KNEE_DEG): a
bent knee's shin is under the cloth that hangs from the knee. Each push then hangs down the
cloth (:func:`hang_edges`): the cloth below a knee is carried with it, losing
HANG_DOWN_SLOPE metres a metre of drop; it tapers up to nothing at the hip joints (the cloth
between the hips and the knee is a straight line, not a tent), and falls off by
HANG_SIDE_SLOPE metres a metre across (the cloth beside a leg is not tented); at most
DRAPE_GAIN x the drop below the hip joints (the pinned hips are not torn off). The
simulation swings about the draped targets, and a draped particle may not fall behind its
target by more than its bind gap less the push (the stage sets the frame's half-space
gaps).

Positions are metres in the targets' frame (camera metres in the engine).
"""

from __future__ import annotations

import numpy as np

from tryon.cloth.colliders import PosedCapsules
from tryon.cloth.kernel import hang_push, leg_push

#: The capsules that drape a loose garment: the legs (the hips' and belly's are inside its
#: skinned place already).
LEG_CAPSULES = ("thigh.L", "thigh.R", "shin.L", "shin.R")
#: How far outside the legs (besides the collision margin) the draped targets are: the cloth
#: between two particles is flat, a knee is round.
DRAPE_CLEARANCE_M = 0.03
#: The cloth a leg drapes: its normal within 60° of the body's forward or backward.
DRAPE_FACING = 0.5
#: The longest push (a bad frame cannot fling the targets).
MAX_PUSH_M = 0.5
#: How far a particle may be draped, metres a metre below the hip joints (a thigh turned
#: 35° forward comes 0.57 m forward a metre below them).
DRAPE_GAIN = 1.0
#: How a push hangs down the cloth (:func:`hang_edges`): what it loses, metres a metre of
#: drop below where it pushes and metres a metre across the cloth (0.5: a shin pushed 20 cm
#: forward tents 40 cm of cloth, against 80 cm when the push spread alike every way).
HANG_DOWN_SLOPE = 0.1
HANG_SIDE_SLOPE = 0.5
#: A shin drapes the cloth only while its knee is straighter than this (degrees between the
#: thigh's and the shin's axes).
STRAIGHT_KNEE_DEG = 15.0
#: The most passes of the hang (each carries a push at least one edge further, in edge
#: order often more: 16 x 2.6 cm of the maxi dress's cloth is 0.4 m).
DRAPE_PASSES = 16


def draped_targets_m(
    targets_m: np.ndarray,
    normals: np.ndarray | None,
    legs: PosedCapsules,
    particles: np.ndarray,
    hang: tuple[np.ndarray, np.ndarray, np.ndarray],
    margin_m: float,
    slack_m: np.ndarray | None = None,
    max_push_m: np.ndarray | None = None,
    forward: np.ndarray = (0.0, 0.0, 1.0),
) -> tuple[np.ndarray, np.ndarray]:
    """(N, 3) the targets ``targets_m`` (N, 3) draped over the ``legs``: ``particles`` (K,)
    int64, the ones that collide (and may move; the others keep their targets), pushed out
    of the legs grown by ``margin_m`` along their ``normals`` (N, 3), less ``slack_m`` (N,)
    (their push at bind: :func:`rest_drape_m`), and each push hung over the cloth (``hang``:
    :func:`hang_edges`; the largest push reaching a particle wins); each at most
    ``max_push_m`` (N,) (None: MAX_PUSH_M; see :func:`drape_reach_m`), and (N,) how far each
    was moved. Only the cloth facing the body's ``forward`` (3,) or its back is pushed
    (DRAPE_FACING): a stride drapes the front and back panels; legs apart do not tent the
    sides."""
    t = np.asarray(targets_m, dtype=np.float64)
    idx = np.asarray(particles, dtype=np.int64)
    if not len(idx):
        return t, np.zeros(len(t))
    if normals is None or not len(legs.radius_m):
        return t, np.zeros(len(t))
    slack = np.zeros(len(t)) if slack_m is None else np.ascontiguousarray(slack_m, np.float64)
    push = _leg_pushes(t, normals, idx, legs, margin_m, slack, forward)
    if not push.any():
        return t, np.zeros(len(t))
    movable = np.zeros(len(t), np.bool_)
    movable[idx] = True
    e, factor, cost = hang
    hang_push(push, movable, np.ascontiguousarray(e[:, 0]), np.ascontiguousarray(e[:, 1]), factor, cost, DRAPE_PASSES)
    mag = np.linalg.norm(push, axis=1)
    if max_push_m is not None:
        over = mag > max_push_m
        push[over] *= (max_push_m[over] / mag[over])[:, None]
        mag = np.minimum(mag, max_push_m)
    return t + push, mag


def _leg_pushes(
    t: np.ndarray,
    normals: np.ndarray,
    particles: np.ndarray,
    legs: PosedCapsules,
    margin_m: float,
    slack_m: np.ndarray,
    forward,
) -> np.ndarray:
    """(N, 3) each of the ``particles``' push out of the ``legs`` (unspread; others 0): the
    compiled :func:`tryon.cloth.kernel.leg_push` on contiguous float64 inputs."""
    push = np.zeros_like(t)
    leg_push(t, np.ascontiguousarray(normals, np.float64), particles, np.ascontiguousarray(legs.start_m),
             np.ascontiguousarray(legs.end_m), np.ascontiguousarray(legs.ref_m),
             np.ascontiguousarray(legs.profile_m, np.float64), margin_m, slack_m, MAX_PUSH_M,
             np.asarray(forward, np.float64), DRAPE_FACING, push)  # fmt: skip
    return push


def rest_drape_m(bind_m: np.ndarray, normals: np.ndarray, model, mannequin) -> np.ndarray:
    """(N,) how far the legs would drape each particle at bind ``bind_m`` (N, 3, model
    metres) with its bind ``normals`` (N, 3) (a ``model``'s colliding ones; the others 0),
    unspread: the cloth at rest is where the importer put it, not pushed."""
    from tryon.body.skeleton import NUM_BONES
    from tryon.cloth.colliders import body_capsules
    from tryon.cloth.xpbd import ClothParams

    identity = np.tile(np.concatenate([np.eye(3), np.zeros((3, 1))], axis=1), (NUM_BONES, 1, 1))
    legs = body_capsules(mannequin).subset(LEG_CAPSULES).posed(identity)
    t = np.ascontiguousarray(bind_m, np.float64)
    margin_m = ClothParams().collision_margin_m + DRAPE_CLEARANCE_M
    push = _leg_pushes(t, normals, np.flatnonzero(model.collides), legs, margin_m, np.zeros(len(t)), (0.0, 0.0, 1.0))
    return np.linalg.norm(push, axis=1)


def drape_reach_m(bind_m: np.ndarray, hip_y_m: float) -> np.ndarray:
    """(N,) how far each particle at bind ``bind_m`` (N, 3, model metres, y up) may be draped:
    DRAPE_GAIN x its drop below the hip joints' height ``hip_y_m`` (0 above: the cloth pinned
    at the hips is not torn from the cloth a thigh pushes below), at most MAX_PUSH_M."""
    drop = hip_y_m - np.asarray(bind_m, np.float64)[:, 1]
    return np.clip(DRAPE_GAIN * drop, 0.0, MAX_PUSH_M)


def hang_edges(bind_m: np.ndarray, edges: np.ndarray, hip_y_m: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """How a push hangs over the cloth's ``edges`` (E, 2) at bind ``bind_m`` (N, 3, model
    metres, y up), its hip joints at height ``hip_y_m``: (2E, 2) int64 the edges both ways
    (from the particle that pushes to the one pushed), (2E,) the push's factor along each and
    (2E,) what it loses there (metres). Down the cloth it hangs: factor 1, less
    HANG_DOWN_SLOPE x the drop; up it tapers to nothing at the hip joints (factor: the ratio
    of the two ends' drops below them: the cloth between the hips and a knee is a straight
    line); across, it loses HANG_SIDE_SLOPE x the run (the cloth beside a knee is not
    tented)."""
    p = np.asarray(bind_m, np.float64)
    e = np.asarray(edges, np.int64)
    e = np.concatenate([e, e[:, ::-1]])
    d = p[e[:, 1]] - p[e[:, 0]]
    drop = np.maximum(hip_y_m - p[:, 1], 0.0)
    down = d[:, 1] <= 0.0
    factor = np.where(down, 1.0, drop[e[:, 1]] / np.maximum(drop[e[:, 0]], 1e-6))
    cost = HANG_SIDE_SLOPE * np.hypot(d[:, 0], d[:, 2]) + np.where(down, HANG_DOWN_SLOPE * -d[:, 1], 0.0)
    return np.ascontiguousarray(e), np.minimum(factor, 1.0), cost


def draping_legs(legs: PosedCapsules, names: tuple[str, ...]) -> PosedCapsules:
    """The ``legs`` (the capsules ``names``: LEG_CAPSULES, posed) that drape the cloth this
    frame: both thighs, and each shin while its knee is straighter than STRAIGHT_KNEE_DEG (a
    bent knee's shin is under the cloth that hangs from the knee: draping the cloth off the
    shin too tents the skirt over a bent knee seen from the side)."""
    ax = legs.end_m - legs.start_m
    ax = ax / np.maximum(np.linalg.norm(ax, axis=1, keepdims=True), 1e-9)
    keep = np.ones(len(ax), bool)
    for side in ("L", "R"):
        thigh, shin = names.index(f"thigh.{side}"), names.index(f"shin.{side}")
        keep[shin] = ax[thigh] @ ax[shin] > np.cos(np.radians(STRAIGHT_KNEE_DEG))
    if keep.all():
        return legs

    def pick(a):
        return None if a is None else a[keep]

    return PosedCapsules(legs.start_m[keep], legs.end_m[keep], legs.radius_m[keep], pick(legs.ref_m),
                         pick(legs.profiled), pick(legs.profile_m))  # fmt: skip
