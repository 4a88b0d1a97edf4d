"""Pose-driven wrinkles: how strongly each garment vertex folds, from the solved joints' bends.

Games blend wrinkle maps by joint angle (The Blacksmith's four layers, CryEngine's wrinkle
masks); here each joint in :data:`JOINTS` (elbows, shoulders, knees, hips, the waist) has a
per-vertex weight, fixed per garment part: a Gaussian of the vertex's bind distance from the
joint, times the share of its skin weights on the joint's limb. Each frame the joint's bend is
the angle of its child bone relative to its parent, beyond the bind pose's (the garment is
modelled in the bind pose: flat there), mapped to [0, 1]; a vertex's fold strength is the
weights times the bends, capped at 1. The renderer turns it into folds running around the
limb (:data:`Draw.wrinkle`, ``Draw.wrinkle_axis``).
"""

from __future__ import annotations

import math
import weakref
from dataclasses import dataclass

import numpy as np

from tryon.body.mannequin import SkinWeights
from tryon.body.skeleton import BONE_INDEX, NUM_BONES
from tryon.body.solver import PosedBody


@dataclass(frozen=True)
class Joint:
    """parent, child : the bones whose relative rotation is the bend (the joint sits at the
    child's head). chain : the bones whose skin weights make a vertex part of this joint's
    cloth. radius_m : how far along the limb the folds reach (Gaussian sigma)."""

    name: str
    parent: str
    child: str
    chain: tuple[str, ...]
    radius_m: float


def _sided(side: str) -> tuple[Joint, ...]:
    s = side
    return (
        Joint(
            f"elbow.{s}",
            f"upperarm02.{s}",
            f"lowerarm01.{s}",
            (f"upperarm01.{s}", f"upperarm02.{s}", f"lowerarm01.{s}", f"lowerarm02.{s}"),
            0.07,
        ),
        Joint(
            f"shoulder.{s}",
            f"clavicle.{s}",
            f"upperarm01.{s}",
            (f"clavicle.{s}", f"shoulder01.{s}", f"upperarm01.{s}", f"upperarm02.{s}"),
            0.08,
        ),
        Joint(
            f"knee.{s}",
            f"upperleg02.{s}",
            f"lowerleg01.{s}",
            (f"upperleg01.{s}", f"upperleg02.{s}", f"lowerleg01.{s}", f"lowerleg02.{s}"),
            0.08,
        ),
        Joint(f"hip.{s}", f"pelvis.{s}", f"upperleg01.{s}", (f"pelvis.{s}", f"upperleg01.{s}", f"upperleg02.{s}"), 0.1),
    )


JOINTS: tuple[Joint, ...] = (
    *_sided("L"),
    *_sided("R"),
    Joint("waist", "spine04", "spine02", ("spine05", "spine04", "spine03", "spine02", "root"), 0.1),
)
#: A bend below this (beyond the bind pose) makes no folds; at FULL_BEND_DEG they are full.
DEAD_ZONE_DEG = 12.0
FULL_BEND_DEG = 95.0


def joint_weights(positions_m: np.ndarray, skin: SkinWeights, bind_heads_m: np.ndarray) -> np.ndarray:
    """(V, J) float32: each vertex's share in each joint's folds (bind positions, model metres)."""
    v = len(positions_m)
    dense = np.zeros((v, NUM_BONES), np.float32)
    np.add.at(dense, (np.repeat(np.arange(v), skin.bones.shape[1]), skin.bones.reshape(-1)), skin.weights.reshape(-1))
    out = np.zeros((v, len(JOINTS)), np.float32)
    for j, joint in enumerate(JOINTS):
        centre = bind_heads_m[BONE_INDEX[joint.child]]
        d2 = np.sum((positions_m - centre) ** 2, axis=1)
        limb = dense[:, [BONE_INDEX[b] for b in joint.chain]].sum(axis=1)
        out[:, j] = np.exp(-0.5 * d2 / joint.radius_m**2) * np.clip(limb, 0.0, 1.0)
    return out


def fold_axes(positions_m: np.ndarray, weights: np.ndarray, bind_heads_m: np.ndarray) -> np.ndarray:
    """(V, 3) float32 unit model-space directions across each vertex's folds: its joints'
    limb directions (parent head to child head, bind pose), weighted; up where none."""
    axes = np.zeros((len(JOINTS), 3))
    for j, joint in enumerate(JOINTS):
        d = bind_heads_m[BONE_INDEX[joint.child]] - bind_heads_m[BONE_INDEX[joint.parent]]
        axes[j] = d / max(float(np.linalg.norm(d)), 1e-9)
    # limb directions have no sign: align them before mixing (all pointing down or outward)
    axes *= np.where(axes[:, 1] > 0, -1.0, 1.0)[:, None]
    mixed = weights.astype(np.float64) @ axes + np.array([0.0, 1e-4, 0.0])
    return (mixed / np.linalg.norm(mixed, axis=1)[:, None]).astype(np.float32)


_JOINT_PARENTS = np.array([BONE_INDEX[j.parent] for j in JOINTS])
_JOINT_CHILDREN = np.array([BONE_INDEX[j.child] for j in JOINTS])


def joint_bends(body: PosedBody) -> np.ndarray:
    """(J,) float32 in [0, 1]: each joint's bend this frame beyond its bind pose (the
    parent-to-child rotations in one stacked product, their angles on Python floats)."""
    out = np.zeros(len(JOINTS), np.float32)
    R = body.rotations
    rel = np.matmul(R[_JOINT_PARENTS].transpose(0, 2, 1), R[_JOINT_CHILDREN])
    traces = (rel[:, 0, 0] + rel[:, 1, 1] + rel[:, 2, 2]).tolist()
    for j, trace in enumerate(traces):
        angle = math.degrees(math.acos(min(max((trace - 1.0) / 2.0, -1.0), 1.0)))
        out[j] = min(max((angle - DEAD_ZONE_DEG) / (FULL_BEND_DEG - DEAD_ZONE_DEG), 0.0), 1.0)
    return out


class WrinkleWeights:
    """Per garment part, the joint weights and fold axes (computed once per part and kept
    while the part lives: an entry goes when its part is collected, so engines made and
    closed over a long session, each loading its items afresh, leave nothing behind)."""

    def __init__(self) -> None:
        self._cache: dict[int, tuple[weakref.ref, np.ndarray, np.ndarray, np.ndarray]] = {}

    def _forget(self, key: int, ref: weakref.ref) -> None:
        hit = self._cache.get(key)
        if hit is not None and hit[0] is ref:
            del self._cache[key]

    def of(self, part, bind_heads_m: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(vertices that fold (N,), their weights (N, J), every vertex's axes (V, 3)) for a
        skinned MeshPart; most of a garment is near no joint and is left out."""
        key = id(part)
        hit = self._cache.get(key)
        if hit is None or hit[0]() is not part:
            w = joint_weights(part.positions, part.skin, bind_heads_m)
            idx = np.nonzero(w.max(axis=1) > 0.01)[0]
            ref = weakref.ref(part, lambda r, k=key: self._forget(k, r))
            hit = (ref, idx, np.ascontiguousarray(w[idx]), fold_axes(part.positions, w, bind_heads_m))
            self._cache[key] = hit
        return hit[1], hit[2], hit[3]


_WEIGHTS = WrinkleWeights()


def wrinkle_strength(part, body: PosedBody, bends: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(V,) float32 fold strength in [0, 1] of a skinned part on ``body``, and its (V, 3) fold axes."""
    idx, w, axes = _WEIGHTS.of(part, body.bind_heads_m)
    b = joint_bends(body) if bends is None else bends
    out = np.zeros(len(part.positions), np.float32)
    out[idx] = np.minimum(w @ b.astype(np.float32), 1.0)
    return out, axes
