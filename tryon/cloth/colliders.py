"""What cloth collides with: capsules along the solved body's bones, and one half-space per
particle (the body surface under it).

Capsules are measured once from the mannequin (each bone's skin, bind pose) and posed each
frame by the body's palette, so they follow the solved bones. Their radius is a low
percentile of the skin's distance to the bone, so a capsule stays inside the flesh (a thigh
is not round): it stops cloth going through a limb, not off the surface. The half-spaces
do the surface's part near the rest pose: a particle may not go further toward the body,
along its outward normal, than the gap it had at bind.

The legs' capsules are **profiled**: a thigh is thick at the hip and thin at the knee, and
wider than deep, so a round capsule inside it lets a striding thigh pass through a jacket's
or a skirt's hem. Their radius is a table over the length and around the axis (PROFILE_ALONG
x PROFILE_AROUND nodes, bilinear between them), measured from the skin (a ray from the axis
to the mannequin's surface at each node, less PROFILE_INSET_M), turned with the limb's start bone; they collide only
along their segment (flat ends: the hips' capsule and the next limb take over).

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
#: The capsules a loose garment collides with, and those a necklace or earring does.
GARMENT_CAPSULES = ("hips", "belly", "thigh.L", "thigh.R", "shin.L", "shin.R")
JEWELRY_CAPSULES = ("chest", "neck")
#: A top's sleeves hug the arms closer than the arms' capsules' margin: their half-spaces
#: (no deeper than at bind) keep them out of the arms.
TOP_CAPSULES = ("chest", "belly", "hips", "thigh.L", "thigh.R")
#: A leg pushes cloth along the cloth's normal where that much of it (squared) is square to
#: the leg (30°); elsewhere radially.
NORMAL_PUSH_MIN = 0.25
#: Capsules whose radius follows their skin (see the module's docstring): the table's nodes
#: along the segment and around it, and how far inside the skin it stays.
PROFILED = ("thigh.L", "thigh.R", "shin.L", "shin.R")
PROFILE_ALONG = 17
PROFILE_AROUND = 24
PROFILE_INSET_M = 0.0
#: The skin a profile's rays may meet: triangles within this of the segment, metres.
PROFILE_REACH_M = 0.2


@dataclass(frozen=True)
class Capsules:
    """Capsules in the bind pose. names : (C,). start_bone, end_bone : (C,) int64 palette
    indices posing each end. start_bind_m, end_bind_m : (C, 3) model metres. radius_m : (C,).
    profiled : (C,) bool, capsules whose radius is ``profile_m`` (C, PROFILE_ALONG,
    PROFILE_AROUND) metres, node (i, j) at the share i / (PROFILE_ALONG - 1) of the segment
    and the angle 2 pi j / PROFILE_AROUND about it from ``ref_bind`` (C, 3) (a unit direction
    across the segment, turned by the start bone); elsewhere the table is ``radius_m``."""

    names: tuple[str, ...]
    start_bone: np.ndarray
    end_bone: np.ndarray
    start_bind_m: np.ndarray
    end_bind_m: np.ndarray
    radius_m: np.ndarray
    profiled: np.ndarray
    profile_m: np.ndarray
    ref_bind: np.ndarray

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
            self.profiled[keep],
            self.profile_m[keep],
            self.ref_bind[keep],
        )

    def posed(self, palette: np.ndarray) -> PosedCapsules:
        """The capsules moved by ``palette`` (J, 3, 4): ends in the palette's frame, metres."""
        pal = np.asarray(palette, dtype=np.float64)
        A, B = pal[self.start_bone], pal[self.end_bone]
        a = np.einsum("cij,cj->ci", A[:, :, :3], self.start_bind_m) + A[:, :, 3]
        b = np.einsum("cij,cj->ci", B[:, :, :3], self.end_bind_m) + B[:, :, 3]
        ref = np.einsum("cij,cj->ci", A[:, :, :3], self.ref_bind)
        return PosedCapsules(a, b, self.radius_m.copy(), ref, self.profiled, self.profile_m)


@dataclass(frozen=True)
class PosedCapsules:
    """start_m, end_m : (C, 3) metres; radius_m : (C,). ref_m : (C, 3) the profiles' zero
    angle (posed :attr:`Capsules.ref_bind`, not yet square to the segment); profiled, profile_m :
    as :class:`Capsules`' (None: all round)."""

    start_m: np.ndarray
    end_m: np.ndarray
    radius_m: np.ndarray
    ref_m: np.ndarray | None = None
    profiled: np.ndarray | None = None
    profile_m: np.ndarray | None = None

    @property
    def any_profiled(self) -> bool:
        return self.profiled is not None and bool(self.profiled.any())

    def lerp(self, other: PosedCapsules, s: float) -> PosedCapsules:
        """The capsules a share ``s`` of the way from self to ``other`` (substeps)."""
        start = self.start_m + s * (other.start_m - self.start_m)
        ref = None
        if self.ref_m is not None and other.ref_m is not None:
            ref = self.ref_m + s * (other.ref_m - self.ref_m)
        return PosedCapsules(
            start, self.end_m + s * (other.end_m - self.end_m), other.radius_m, ref, other.profiled, other.profile_m
        )

    def _radial(self, points_m: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(N, C, 3) each point's offset from each capsule's axis, (N, C) its length, and
        (N, C) the capsule's radius there (-inf where a profiled capsule does not reach:
        beyond its segment's ends)."""
        p = np.asarray(points_m, dtype=np.float64)
        ab = self.end_m - self.start_m  # (C, 3)
        denom = np.maximum(np.einsum("ci,ci->c", ab, ab), 1e-12)
        ap = p[:, None, :] - self.start_m[None]  # (N, C, 3)
        t_raw = np.einsum("nci,ci->nc", ap, ab) / denom
        t = np.clip(t_raw, 0.0, 1.0)
        d = ap - t[..., None] * ab[None]
        dist = np.sqrt(np.einsum("nci,nci->nc", d, d))
        radius = np.broadcast_to(self.radius_m[None], dist.shape).copy()
        if self.any_profiled:
            for c in np.flatnonzero(self.profiled):
                radius[:, c] = np.where(
                    (t_raw[:, c] >= 0.0) & (t_raw[:, c] <= 1.0),
                    profile_radius_m(self.profile_m[c], t[:, c], d[:, c], ab[c], self.ref_m[c]),
                    -np.inf,
                )
        return d, dist, radius

    def signed_distance_m(self, points_m: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(N,) distance of each point to the nearest capsule's surface (negative inside) and
        (N, 3) the outward unit direction from that capsule's axis."""
        d, dist, radius = self._radial(points_m)
        sd = dist - radius
        k = np.argmin(sd, axis=1)
        rows = np.arange(len(dist))
        direction = d[rows, k] / np.maximum(dist[rows, k], 1e-9)[:, None]
        return sd[rows, k], direction


def profile_radius_m(profile_m: np.ndarray, t: np.ndarray, d: np.ndarray, axis: np.ndarray, ref: np.ndarray):
    """(N,) one profiled capsule's radius at shares ``t`` (N,) of its segment, in the
    directions ``d`` (N, 3) across it; ``axis`` (3,) the segment, ``ref`` (3,) its zero angle
    (made square to the axis here). Bilinear between the table's nodes (periodic around)."""
    n_along, n_around = profile_m.shape
    u = axis / max(float(np.linalg.norm(axis)), 1e-12)
    e1 = ref - (ref @ u) * u
    e1 = e1 / max(float(np.linalg.norm(e1)), 1e-12)
    e2 = np.cross(u, e1)
    angle = np.arctan2(d @ e2, d @ e1) % (2 * np.pi)
    fa = angle * (n_around / (2 * np.pi))
    j0 = np.minimum(np.floor(fa).astype(np.int64), n_around - 1)
    wa = fa - j0
    j1 = (j0 + 1) % n_around
    fl = np.clip(t, 0.0, 1.0) * (n_along - 1)
    i0 = np.minimum(np.floor(fl).astype(np.int64), n_along - 2)
    wl = fl - i0
    i1 = i0 + 1
    return (1 - wl) * ((1 - wa) * profile_m[i0, j0] + wa * profile_m[i0, j1]) + wl * (
        (1 - wa) * profile_m[i1, j0] + wa * profile_m[i1, j1]
    )


def push_out_of_capsules(
    points_m: np.ndarray,
    capsules: PosedCapsules,
    margin_m: float,
    slack_m: np.ndarray | None = None,
    normals: np.ndarray | None = None,
) -> np.ndarray:
    """(N, 3) points moved out of every capsule (grown by ``margin_m``), along the radius;
    a point inside two is pushed out of each (the sum of the pushes). ``slack_m`` (N,): how
    deep each point may stay in them (None: 0; see :func:`capsule_slack_m`). ``normals``
    (N, 3): the points' own outward normals: a profiled (leg) capsule pushes along them,
    square to its axis (cloth keeps its side of a leg: a hem in front of a knee goes forward,
    not round it), where they are at least 30° off the axis and face away from it."""
    p = points_m
    d, dist, radius = capsules._radial(p)
    depth = radius + margin_m - dist
    if slack_m is not None:
        depth = depth - np.asarray(slack_m, np.float64)[:, None]
    inside = depth > 0
    if not inside.any():
        return p
    push = np.where(inside, depth / np.maximum(dist, 1e-9), 0.0)
    out = p + np.einsum("nc,nci->ni", push, d)
    if normals is None or not capsules.any_profiled:
        return out
    ab = capsules.end_m - capsules.start_m
    for c in np.flatnonzero(capsules.profiled):
        rows = np.flatnonzero(inside[:, c])
        if not len(rows):
            continue
        u = ab[c] / max(float(ab[c] @ ab[c]), 1e-12)
        n = np.asarray(normals, np.float64)[rows]
        s = n - (n @ ab[c])[:, None] * u[None]
        nn = np.einsum("ij,ij->i", s, s)
        dd = d[rows, c]
        dn = np.einsum("ij,ij->i", dd, s)
        out_r = dist[rows, c] + depth[rows, c]
        disc = dn * dn - nn * (np.einsum("ij,ij->i", dd, dd) - out_r * out_r)
        ok = (nn >= NORMAL_PUSH_MIN) & (dn >= 0.0)
        step = (-dn + np.sqrt(np.maximum(disc, 0.0))) / np.maximum(nn, 1e-12)
        radial = push[rows, c][:, None] * dd
        # then radially, by what the profile is thicker at the new angle
        moved = dd + step[:, None] * s
        dist2 = np.sqrt(np.einsum("ij,ij->i", moved, moved))
        t = np.clip(np.einsum("ij,j->i", p[rows] - capsules.start_m[c], ab[c]) / max(float(ab[c] @ ab[c]), 1e-12), 0, 1)
        r2 = profile_radius_m(capsules.profile_m[c], t, moved, ab[c], capsules.ref_m[c])
        slack = 0.0 if slack_m is None else np.asarray(slack_m, np.float64)[rows]
        g = np.maximum(r2 + margin_m - slack - dist2, 0.0) / np.maximum(dist2, 1e-9)
        out[rows[ok]] += (moved * (1.0 + g)[:, None] - dd)[ok] - radial[ok]
    return out


def _measure(mannequin: Mannequin) -> Capsules:
    skel = mannequin.skeleton
    dominant = mannequin.skin.bones[np.arange(len(mannequin.skin)), np.argmax(mannequin.skin.weights, axis=1)]
    names, sb, eb, a_m, b_m, r_m, prof, tables, refs = [], [], [], [], [], [], [], [], []
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
        radius = CAPSULE_RADIUS_SHARE * float(np.percentile(sample, CAPSULE_RADIUS_PERCENTILE))
        ref = _across(ab)
        names.append(name)
        sb.append(BONE_INDEX[start])
        eb.append(BONE_INDEX[end])
        a_m.append(a)
        b_m.append(b)
        r_m.append(radius)
        refs.append(ref)
        prof.append(name in PROFILED)
        round_table = np.full((PROFILE_ALONG, PROFILE_AROUND), radius)
        tables.append(_profile(mannequin, a, ab, ref) if name in PROFILED else round_table)
    return Capsules(
        tuple(names), np.array(sb), np.array(eb), np.array(a_m), np.array(b_m), np.array(r_m),
        np.array(prof, bool), np.array(tables), np.array(refs),
    )  # fmt: skip


def _across(axis: np.ndarray) -> np.ndarray:
    """A unit direction square to ``axis`` (3,): the model's forward (+z) made square to it."""
    u = axis / max(float(np.linalg.norm(axis)), 1e-12)
    z = np.array([0.0, 0.0, 1.0]) if abs(u[2]) < 0.9 else np.array([1.0, 0.0, 0.0])
    e = z - (z @ u) * u
    return e / np.linalg.norm(e)


def _profile(mannequin: Mannequin, a: np.ndarray, ab: np.ndarray, ref: np.ndarray) -> np.ndarray:
    """(PROFILE_ALONG, PROFILE_AROUND) a limb's radius table at bind: from each node's point
    on the axis a ray square to it, at the node's angle, to the first skin it meets (the
    mannequin's triangles), less PROFILE_INSET_M; a ray that meets none takes its
    neighbours' mean."""
    pos = np.asarray(mannequin.positions_m, dtype=np.float64)
    tri = pos[np.asarray(mannequin.faces, dtype=np.int64)]  # (F, 3, 3)
    # Only the triangles near the segment can be hit.
    centre = tri.mean(axis=1)
    t_c = np.clip((centre - a) @ ab / max(ab @ ab, 1e-12), 0.0, 1.0)
    near = np.linalg.norm(centre - (a + t_c[:, None] * ab), axis=1) < PROFILE_REACH_M
    tri = tri[near]
    u = ab / np.linalg.norm(ab)
    e2 = np.cross(u, ref)
    t = np.linspace(0.0, 1.0, PROFILE_ALONG)
    angle = np.arange(PROFILE_AROUND) * (2 * np.pi / PROFILE_AROUND)
    origin = np.repeat(a + t[:, None] * ab, PROFILE_AROUND, axis=0)  # (R, 3), along-major
    direction = np.tile(np.cos(angle)[:, None] * ref + np.sin(angle)[:, None] * e2, (PROFILE_ALONG, 1))
    hit = _first_hit_m(origin, direction, tri).reshape(PROFILE_ALONG, PROFILE_AROUND) - PROFILE_INSET_M
    while np.isnan(hit).any():
        filled = hit.copy()
        for ii, jj in zip(*np.nonzero(np.isnan(hit))):
            near_values = [hit[ii, (jj - 1) % PROFILE_AROUND], hit[ii, (jj + 1) % PROFILE_AROUND]]
            near_values += [hit[k, jj] for k in (ii - 1, ii + 1) if 0 <= k < PROFILE_ALONG]
            near_values = [x for x in near_values if np.isfinite(x)]
            if near_values:
                filled[ii, jj] = float(np.mean(near_values))
        if np.isnan(filled).all():
            return np.zeros_like(hit)
        hit = filled
    return np.maximum(hit, 0.0)


def _first_hit_m(origin: np.ndarray, direction: np.ndarray, tri: np.ndarray) -> np.ndarray:
    """(R,) distance along each ray (origin, unit direction: (R, 3)) to the first of the
    triangles ``tri`` (F, 3, 3) it meets (Moller-Trumbore), NaN where it meets none."""
    out = np.full(len(origin), np.nan)
    v0 = tri[:, 0]
    e1, e2 = tri[:, 1] - v0, tri[:, 2] - v0
    for r in range(len(origin)):
        d = direction[r]
        pvec = np.cross(d, e2)
        det = np.einsum("fi,fi->f", e1, pvec)
        ok = np.abs(det) > 1e-12
        inv = np.where(ok, 1.0 / np.where(ok, det, 1.0), 0.0)
        tvec = origin[r] - v0
        uu = np.einsum("fi,fi->f", tvec, pvec) * inv
        qvec = np.cross(tvec, e1)
        vv = (qvec @ d) * inv
        dist = np.einsum("fi,fi->f", e2, qvec) * inv
        good = ok & (uu >= 0) & (vv >= 0) & (uu + vv <= 1) & (dist > 0)
        if good.any():
            out[r] = float(dist[good].min())
    return out


_CACHE: dict[int, tuple[Mannequin, Capsules]] = {}


def body_capsules(mannequin: Mannequin) -> Capsules:
    """The mannequin's capsules (see CAPSULE_BONES), measured once per mannequin."""
    hit = _CACHE.get(id(mannequin))
    if hit is None or hit[0] is not mannequin:
        hit = _CACHE[id(mannequin)] = (mannequin, _measure(mannequin))
    return hit[1]


def capsule_slack_m(mannequin: Mannequin, names, bind_m: np.ndarray, margin_m: float) -> np.ndarray:
    """(N,) how deep each point at bind ``bind_m`` (N, 3, model metres) is in the capsules
    ``names`` grown by ``margin_m`` (0 outside): cloth that sits there at rest may stay (a
    tight top's hem on the hip, a tee's back in the round hips' capsule, a necklace's link in
    the chest's capsule at the nape), as deep and no deeper."""
    from tryon.body.skeleton import NUM_BONES

    identity = np.tile(np.concatenate([np.eye(3), np.zeros((3, 1))], axis=1), (NUM_BONES, 1, 1))
    posed = body_capsules(mannequin).subset(names).posed(identity)
    _, dist, radius = posed._radial(np.asarray(bind_m, np.float64))
    return np.max(radius + margin_m - dist, axis=1, initial=0.0)
