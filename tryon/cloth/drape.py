"""A loose garment's targets draped over the legs.

A skirt's or dress's skinned place hangs straight down from the hips (its legs' weights are
spread over the pelvis and both thighs alike: :mod:`tryon.catalog.fit.rigging`), so in a
stride the forward knee and shin come out through its front, and the back leg through its
back. The cloth stage pushes particles out of the legs, but each on its own: a particle
beside the shin is pulled back to its skinned place and the cloth parts around the leg (a
slit of leg inside a maxi dress, below the knee). Here the targets themselves are draped
(``ClothOptions(drape=True)``; off by default, see the README's cloth limits): each colliding
particle facing the body's front or back whose normal's line meets a leg's capsule in front
of it (inside it, or a leg come out through the cloth) has its skinned place moved along
that line to the capsule's far side plus DRAPE_CLEARANCE_M (:func:`tryon.cloth.kernel.leg_push`),
less the push it would have at bind (:func:`rest_drape_m`: at rest nothing moves); that push
spreads over the cloth to its neighbours, falling off by DRAPE_SLOPE metres a metre of cloth
(a tent over the shin: the panel in front of a forward leg goes forward as a piece, and the
hem below it too), at most DRAPE_GAIN x the drop below the hip joints (the pinned hips are
not torn off). The simulation swings about the draped targets, and a draped particle may
not fall behind its target by more than its bind gap less the push (the stage sets the
frame's half-space gaps).

Positions are metres in the targets' frame (camera metres in the engine).
"""

from __future__ import annotations

import numpy as np

from tryon.cloth.colliders import PosedCapsules
from tryon.cloth.kernel import leg_push, spread_push

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
#: How fast a leg's push falls off across the cloth, metres a metre (0.5: the tent over a
#: shin pushed 20 cm forward is 80 cm of cloth wide).
DRAPE_SLOPE = 0.5
#: The most passes of the spread (each carries a push at least one edge further, in edge
#: order often more: 16 x 2.6 cm of the maxi dress's cloth is 0.4 m).
DRAPE_PASSES = 16


def draped_targets_m(
    targets_m: np.ndarray,
    normals: np.ndarray | None,
    legs: PosedCapsules,
    particles: np.ndarray,
    edges: np.ndarray,
    rest_length_m: np.ndarray,
    margin_m: float,
    slack_m: np.ndarray | None = None,
    max_push_m: np.ndarray | None = None,
    forward: np.ndarray = (0.0, 0.0, 1.0),
) -> tuple[np.ndarray, np.ndarray]:
    """(N, 3) the targets ``targets_m`` (N, 3) draped over the ``legs``: ``particles`` (K,)
    int64, the ones that collide (and may move; the others keep their targets), pushed out
    of the legs grown by ``margin_m`` along their ``normals`` (N, 3), less ``slack_m`` (N,)
    (their push at bind: :func:`rest_drape_m`), and each push carried over the ``edges`` (E, 2) of rest
    lengths ``rest_length_m`` (E,) to the neighbours, less DRAPE_SLOPE x the cloth between
    (the largest push reaching a particle wins); each at most ``max_push_m`` (N,) (None:
    MAX_PUSH_M; see :func:`drape_reach_m`), and (N,) how far each was moved. Only the
    cloth facing the body's ``forward`` (3,) or its back is pushed (DRAPE_FACING): a stride
    drapes the front and back panels; legs apart do not tent the sides."""
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
    e = np.asarray(edges, dtype=np.int64)
    spread_push(push, movable, np.ascontiguousarray(e[:, 0]), np.ascontiguousarray(e[:, 1]),
                np.asarray(rest_length_m, np.float64), DRAPE_SLOPE, DRAPE_PASSES)  # fmt: skip
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
