"""Shape shading baked at import: ambient occlusion and smooth normals.

**Ambient occlusion**, per vertex, from the item as fitted on the mannequin and from the
mannequin's body itself: armpits, the inside of a collar, a waistband, a sleeve against the
torso, a layer under another. Disk-based (Bunnell, GPU Gems 2, ch. 14): every triangle of the
item and of the body proxy is a small disk; a disk of area ``A`` at distance ``d`` whose normal
makes ``cos_e`` with the line to the vertex covers about ``A cos_e / (d^2 + A / pi)`` of its
sky, weighted by the vertex's ``cos_r`` toward it (the cosine-weighted hemisphere). Smooth in
the geometry (no ray counts that flip from one run to the next), so a re-import reproduces it.
Body triangles only occlude from their outer side (a garment vertex that dips inside the
proxy is not blackened); the item's own triangles from both (cloth is two-sided).

**Smooth normals**: a low-poly garment exported flat-shaded (every triangle its own vertices)
shows its facets; vertices at the same place whose normals are within ``crease_deg`` share
their averaged normal, so the shading is smooth while creases stay sharp.
"""

from __future__ import annotations

import numpy as np

#: Only triangles nearer than this occlude (metres): a hand's span of contact shading.
AO_RADIUS_M = 0.18
#: How strongly the summed coverage darkens (tuned so an armpit reads about 0.5, a chest 1).
AO_GAIN = 1.2
#: The darkest a vertex is baked.
AO_FLOOR = 0.2
_CHUNK = 384


def _disks(positions: np.ndarray, faces: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(F, 3) centroids, (F, 3) unit normals, (F,) areas of a triangle mesh (float64)."""
    p = positions.astype(np.float64)
    a, b, c = p[faces[:, 0]], p[faces[:, 1]], p[faces[:, 2]]
    cross = np.cross(b - a, c - a)
    area2 = np.linalg.norm(cross, axis=1)
    normals = cross / np.maximum(area2, 1e-20)[:, None]
    return (a + b + c) / 3.0, normals, 0.5 * area2


#: Triangles are merged into disks per cube of this side (metres) before occluding: a dense
#: mesh costs what a light one does.
CLUSTER_M = 0.015


def _clustered(centres, normals, areas, one_sided: bool):
    """Disks merged per CLUSTER_M cube: summed area, area-weighted centre and normal. For
    two-sided cloth a normal is first turned to its largest component's positive side, so a
    cloth's two faces do not cancel."""
    if not one_sided:
        big = np.argmax(np.abs(normals), axis=1)
        normals = normals * np.sign(normals[np.arange(len(normals)), big] + 1e-30)[:, None]
    key = np.floor(centres / CLUSTER_M).astype(np.int64)
    _, group = np.unique(key, axis=0, return_inverse=True)
    group = group.reshape(-1)
    n = int(group.max()) + 1
    area = np.bincount(group, weights=areas, minlength=n)
    centre = np.stack([np.bincount(group, weights=centres[:, k] * areas, minlength=n) for k in range(3)], axis=1)
    normal = np.stack([np.bincount(group, weights=normals[:, k] * areas, minlength=n) for k in range(3)], axis=1)
    centre /= np.maximum(area, 1e-20)[:, None]
    normal /= np.maximum(np.linalg.norm(normal, axis=1), 1e-20)[:, None]
    return centre, normal, area


def bake_ambient_occlusion(
    positions: np.ndarray,
    normals: np.ndarray,
    item_meshes: list[tuple[np.ndarray, np.ndarray]],
    body: tuple[np.ndarray, np.ndarray] | None = None,
) -> np.ndarray:
    """(V,) float32 in [AO_FLOOR, 1]: how much of each vertex's sky is open.

    positions, normals : (V, 3) the receiving vertices, model metres, on the mannequin.
    item_meshes : (positions, faces) of every part of the item (it occludes itself).
    body : (positions, faces) of the mannequin's body (outward normals), or None."""
    p = np.asarray(positions, np.float64)
    n = np.asarray(normals, np.float64)
    n = n / np.maximum(np.linalg.norm(n, axis=1), 1e-12)[:, None]
    emitters = []
    if item_meshes:
        disks = [_disks(*m) for m in item_meshes if len(m[1])]
        if disks:
            merged = (np.concatenate([d[k] for d in disks]) for k in range(3))
            emitters.append((*_clustered(*merged, one_sided=False), False))
    if body is not None and len(body[1]):
        emitters.append((*_disks(*body), True))
    cover = np.zeros(len(p))
    lo, hi = p.min(axis=0) - AO_RADIUS_M, p.max(axis=0) + AO_RADIUS_M
    for centres, enorm, area, one_sided in emitters:
        near = np.all((centres >= lo) & (centres <= hi), axis=1)
        centres, enorm, area = centres[near], enorm[near], area[near]
        if not len(area):
            continue
        for s in range(0, len(p), _CHUNK):
            v = centres[None, :, :] - p[s : s + _CHUNK, None, :]  # (c, F, 3) vertex -> disk
            d2 = np.einsum("cfk,cfk->cf", v, v)
            d = np.sqrt(d2)
            inv = 1.0 / np.maximum(d, 1e-9)
            cos_r = np.einsum("cfk,ck->cf", v, n[s : s + _CHUNK]) * inv
            cos_e = -np.einsum("cfk,fk->cf", v, enorm) * inv  # > 0: the disk faces the vertex
            if not one_sided:
                cos_e = np.abs(cos_e)
            ok = (cos_r > 0) & (cos_e > 0) & (d < AO_RADIUS_M) & (d2 > 0.25 * area[None, :])
            solid = area[None, :] * cos_e / (d2 + area[None, :] / np.pi)
            # fades out toward the radius, so nothing jumps where a disk crosses it
            fade = 1.0 - (d / AO_RADIUS_M) ** 2
            cover[s : s + _CHUNK] += np.sum(np.where(ok, solid * cos_r * fade, 0.0), axis=1) / np.pi
    return np.clip(1.0 - AO_GAIN * cover, AO_FLOOR, 1.0).astype(np.float32)


def smooth_normals(
    positions: np.ndarray, faces: np.ndarray, normals: np.ndarray, crease_deg: float = 60.0
) -> np.ndarray:
    """(V, 3) float32: vertices at the same position (to 0.1 mm) whose normals are within
    ``crease_deg`` of their group's average take that average (angle-weighted face normals).
    A mesh that is already smooth comes back unchanged but for rounding."""
    p = np.asarray(positions, np.float64)
    key = np.round(p * 1e4).astype(np.int64)
    _, group = np.unique(key, axis=0, return_inverse=True)
    group = group.reshape(-1)
    n_groups = int(group.max()) + 1 if len(group) else 0
    if n_groups == len(p):
        return np.asarray(normals, np.float32)  # no vertex shares a position: nothing to weld
    corners = p[faces]  # (F, 3, 3)
    fn = np.cross(corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0])
    fn /= np.maximum(np.linalg.norm(fn, axis=1), 1e-20)[:, None]
    acc = np.zeros((len(p), 3))
    for k in range(3):  # angle-weighted: how a quad is split into triangles does not matter
        e1 = corners[:, (k + 1) % 3] - corners[:, k]
        e2 = corners[:, (k + 2) % 3] - corners[:, k]
        cos = np.einsum("ij,ij->i", e1, e2) / np.maximum(np.linalg.norm(e1, axis=1) * np.linalg.norm(e2, axis=1), 1e-20)
        np.add.at(acc, faces[:, k], fn * np.arccos(np.clip(cos, -1.0, 1.0))[:, None])
    own = acc / np.maximum(np.linalg.norm(acc, axis=1), 1e-20)[:, None]
    summed = np.zeros((n_groups, 3))
    np.add.at(summed, group, acc)
    avg = summed / np.maximum(np.linalg.norm(summed, axis=1), 1e-20)[:, None]
    cos = np.einsum("ij,ij->i", own, avg[group])
    shared = np.bincount(group, minlength=n_groups)[group] > 1
    given = np.asarray(normals, np.float64)
    out = np.where((shared & (cos >= np.cos(np.radians(crease_deg))))[:, None], avg[group], given)
    out /= np.maximum(np.linalg.norm(out, axis=1), 1e-20)[:, None]
    return out.astype(np.float32)
