"""What cloth collides with: capsules along the solved body's bones, and one half-space per
particle (the body surface under it).

Capsules are measured once from the mannequin (each bone's skin, bind pose) and posed each
frame by the body's palette, so they follow the solved bones. Their radius is a low
percentile of the skin's distance to the bone, so a capsule stays inside the flesh (a thigh
is not round): it stops cloth going through a limb, not off the surface. The half-spaces
do the surface's part near the rest pose: a particle may not go further toward the body,
along its outward normal, than the gap it had at bind.

All positions are metres, in the frame of the palette they are posed by (camera metres in
the engine, model metres in tests); see :mod:`tryon.frames`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tryon.body.mannequin import Mannequin
from tryon.body.skeleton import BONE_INDEX

#: Capsules: (name, bones whose skin it wraps, bone whose head starts it, bone whose tail
#: ends it). The twist segments of a limb make one capsule.
CAPSULE_BONES: tuple[tuple[str, tuple[str, ...], str, str], ...] = (
    ("hips", ("root", "spine05", "pelvis.L", "pelvis.R"), "spine05", "spine05"),
    ("belly", ("spine04", "spine03"), "spine04", "spine03"),
    ("chest", ("spine02", "spine01"), "spine02", "spine01"),
    ("neck", ("neck01", "neck02", "neck03"), "neck01", "neck03"),
    *(
        capsule
        for s in ("L", "R")
        for capsule in (
            (f"thigh.{s}", (f"upperleg01.{s}", f"upperleg02.{s}"), f"upperleg01.{s}", f"upperleg02.{s}"),
            (f"shin.{s}", (f"lowerleg01.{s}", f"lowerleg02.{s}"), f"lowerleg01.{s}", f"lowerleg02.{s}"),
            (f"upperarm.{s}", (f"upperarm01.{s}", f"upperarm02.{s}"), f"upperarm01.{s}", f"upperarm02.{s}"),
            (f"forearm.{s}", (f"lowerarm01.{s}", f"lowerarm02.{s}"), f"lowerarm01.{s}", f"lowerarm02.{s}"),
        )
    ),
)
#: A capsule's radius: this percentile of its skin's distance to the bone segment, times
#: CAPSULE_RADIUS_SHARE (inside the flesh everywhere around the limb).
CAPSULE_RADIUS_PERCENTILE = 15.0
CAPSULE_RADIUS_SHARE = 0.95


@dataclass(frozen=True)
class Capsules:
    """Capsules in the bind pose. names : (C,). start_bone, end_bone : (C,) int64 palette
    indices posing each end. start_bind_m, end_bind_m : (C, 3) model metres. radius_m : (C,)."""

    names: tuple[str, ...]
    start_bone: np.ndarray
    end_bone: np.ndarray
    start_bind_m: np.ndarray
    end_bind_m: np.ndarray
    radius_m: np.ndarray

    def __len__(self) -> int:
        return len(self.names)

    def subset(self, names) -> Capsules:
        keep = np.array([n in set(names) for n in self.names], bool)
        return Capsules(
            tuple(n for n, k in zip(self.names, keep) if k),
            self.start_bone[keep],
            self.end_bone[keep],
            self.start_bind_m[keep],
            self.end_bind_m[keep],
            self.radius_m[keep],
        )

    def posed(self, palette: np.ndarray) -> PosedCapsules:
        """The capsules moved by ``palette`` (J, 3, 4): ends in the palette's frame, metres."""
        pal = np.asarray(palette, dtype=np.float64)
        A, B = pal[self.start_bone], pal[self.end_bone]
        a = np.einsum("cij,cj->ci", A[:, :, :3], self.start_bind_m) + A[:, :, 3]
        b = np.einsum("cij,cj->ci", B[:, :, :3], self.end_bind_m) + B[:, :, 3]
        return PosedCapsules(a, b, self.radius_m.copy())


@dataclass(frozen=True)
class PosedCapsules:
    """start_m, end_m : (C, 3) metres; radius_m : (C,)."""

    start_m: np.ndarray
    end_m: np.ndarray
    radius_m: np.ndarray

    def lerp(self, other: PosedCapsules, s: float) -> PosedCapsules:
        """The capsules a share ``s`` of the way from self to ``other`` (substeps)."""
        start = self.start_m + s * (other.start_m - self.start_m)
        return PosedCapsules(start, self.end_m + s * (other.end_m - self.end_m), other.radius_m)

    def signed_distance_m(self, points_m: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(N,) distance of each point to the nearest capsule's surface (negative inside) and
        (N, 3) the outward unit direction from that capsule's axis."""
        p = np.asarray(points_m, dtype=np.float64)
        ab = self.end_m - self.start_m  # (C, 3)
        denom = np.maximum(np.einsum("ci,ci->c", ab, ab), 1e-12)
        ap = p[:, None, :] - self.start_m[None]  # (N, C, 3)
        t = np.clip(np.einsum("nci,ci->nc", ap, ab) / denom, 0.0, 1.0)
        d = ap - t[..., None] * ab[None]
        dist = np.sqrt(np.einsum("nci,nci->nc", d, d))
        sd = dist - self.radius_m[None]
        k = np.argmin(sd, axis=1)
        rows = np.arange(len(p))
        direction = d[rows, k] / np.maximum(dist[rows, k], 1e-9)[:, None]
        return sd[rows, k], direction


def push_out_of_capsules(points_m: np.ndarray, capsules: PosedCapsules, margin_m: float) -> np.ndarray:
    """(N, 3) points moved out of every capsule (grown by ``margin_m``), along the radius;
    a point inside two is pushed out of each (the sum of the pushes)."""
    p = points_m
    ab = capsules.end_m - capsules.start_m
    denom = np.maximum(np.einsum("ci,ci->c", ab, ab), 1e-12)
    ap = p[:, None, :] - capsules.start_m[None]
    t = np.clip(np.einsum("nci,ci->nc", ap, ab) / denom, 0.0, 1.0)
    d = ap - t[..., None] * ab[None]
    dist = np.sqrt(np.einsum("nci,nci->nc", d, d))
    depth = capsules.radius_m[None] + margin_m - dist
    inside = depth > 0
    if not inside.any():
        return p
    push = np.where(inside, depth / np.maximum(dist, 1e-9), 0.0)
    return p + np.einsum("nc,nci->ni", push, d)


_CACHE: dict[int, tuple[Mannequin, Capsules]] = {}


def _measure(mannequin: Mannequin) -> Capsules:
    skel = mannequin.skeleton
    dominant = mannequin.skin.bones[np.arange(len(mannequin.skin)), np.argmax(mannequin.skin.weights, axis=1)]
    names, sb, eb, a_m, b_m, r_m = [], [], [], [], [], []
    for name, bones, start, end in CAPSULE_BONES:
        a, b = skel.head(start), skel.tail(end)
        idx = np.isin(dominant, [BONE_INDEX[x] for x in bones])
        pts = mannequin.positions_m[idx].astype(np.float64)
        ab = b - a
        t = np.clip((pts - a) @ ab / max(ab @ ab, 1e-12), 0.0, 1.0)
        dist = np.linalg.norm(pts - (a + t[:, None] * ab), axis=1)
        # Only the skin along the segment (not the ends' caps) measures the limb's thickness.
        mid = (t > 0.1) & (t < 0.9)
        sample = dist[mid] if mid.sum() > 20 else dist
        names.append(name)
        sb.append(BONE_INDEX[start])
        eb.append(BONE_INDEX[end])
        a_m.append(a)
        b_m.append(b)
        r_m.append(CAPSULE_RADIUS_SHARE * float(np.percentile(sample, CAPSULE_RADIUS_PERCENTILE)))
    return Capsules(tuple(names), np.array(sb), np.array(eb), np.array(a_m), np.array(b_m), np.array(r_m))


def body_capsules(mannequin: Mannequin) -> Capsules:
    """The mannequin's capsules (see CAPSULE_BONES), measured once per mannequin."""
    hit = _CACHE.get(id(mannequin))
    if hit is None or hit[0] is not mannequin:
        hit = _CACHE[id(mannequin)] = (mannequin, _measure(mannequin))
    return hit[1]
