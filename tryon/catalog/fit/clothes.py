"""Clothes: a garment scaled and placed to hug the mannequin's trunk, its sleeves turned
onto the arms, stands trimmed, and eased out of the body.

Model metres on the bind-pose mannequin (y up, +z front, +x its left; :mod:`tryon.frames`).
The fit is a search over height, depth and scale minimising the distance of the garment's
surface to the body's (per-height ellipses of the trunk), with penetration penalised; the
garment's top starts where its category hangs from (``Category.hang_from``: the nape for tops
and dresses, the hips for bottoms). Garments that may have sleeves (``Category.sleeves``)
have them turned onto the mannequin's arms when modelled in another pose (a T-pose); parts
far from the body (a stand, a hanger) are trimmed; vertices inside the body are pushed out.
Every skinned category uses this fitter: adding one is its record alone.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from dataclasses import replace

import numpy as np
from scipy.spatial import cKDTree

from tryon.body.mannequin import Mannequin, load_mannequin
from tryon.body.rotations import normalize
from tryon.body.skeleton import BONE_NAMES
from tryon.catalog.assets import DoesNotFitError, RawPart
from tryon.catalog.categories import Category
from tryon.catalog.fit.anchors import Anchors, anchors, body_tree, occluder_tree
from tryon.catalog.fit.mesh import all_points, keep_faces, select_part, transform_parts
from tryon.catalog.fit.orientation import garment_is_z_up
from tryon.catalog.fit.types import FitOverrides, FitReport

#: The height (model metres) of each hang point a category can hang from (categories.HANG_POINTS).
HANG_HEIGHT_M: dict[str, Callable[[Anchors], float]] = {
    "nape": lambda a: float(a.nape[1]),
    "hips": lambda a: a.torso_y[0],
}
#: A fitted garment whose surface stays farther than this from the body is refused.
MAX_DISTANCE_M = 0.06
#: Whether a garment file with no up convention lies z-up.
z_up = garment_is_z_up


@functools.lru_cache(maxsize=1)
def body_slices() -> tuple[np.ndarray, np.ndarray]:
    """The mannequin's torso and legs as an ellipse per centimetre of height (arms and head
    left out by their skin weights): heights (H,) and (H, 4) = centre x, centre z, semi-axis
    x, semi-axis z, model metres."""
    from tryon.body.mannequin import bone_region

    m = load_mannequin()
    body = m.positions_m.astype(np.float64)
    region = np.array([bone_region(n) for n in BONE_NAMES])[m.skin.bones[:, 0]]
    trunk = body[np.isin(region, (0, 6, 7, 8, 9))]
    heights = np.arange(trunk[:, 1].min(), trunk[:, 1].max(), 0.01)
    rows = []
    for y in heights:
        sl = trunk[np.abs(trunk[:, 1] - y) < 0.008]
        if len(sl) < 6:
            rows.append([np.nan] * 4)
            continue
        x0, x1 = sl[:, 0].min(), sl[:, 0].max()
        z0, z1 = sl[:, 2].min(), sl[:, 2].max()
        rows.append([0.5 * (x0 + x1), 0.5 * (z0 + z1), max(0.5 * (x1 - x0), 0.02), max(0.5 * (z1 - z0), 0.02)])
    ell = np.array(rows)
    ok = np.isfinite(ell).all(axis=1)
    return heights[ok], ell[ok]


def radial_distance(points: np.ndarray, normalised: bool = False) -> np.ndarray:
    """(N,) approximate signed distance (m) of points from the mannequin's trunk: positive
    outside, negative inside; NaN above or below it. ``normalised``: the radius in units of
    the trunk's ellipse instead (1 = on it)."""
    heights, ell = body_slices()
    y = points[:, 1]
    cols = [np.interp(y, heights, ell[:, k], left=np.nan, right=np.nan) for k in range(4)]
    cx, cz, ax, az = cols
    r = np.sqrt(((points[:, 0] - cx) / ax) ** 2 + ((points[:, 2] - cz) / az) ** 2)
    return r if normalised else (r - 1.0) * 0.5 * (ax + az)


def fit_to_trunk(parts: list[RawPart], kind: Category, wide: bool) -> tuple[float, np.ndarray, float]:
    """Uniform scale and translation hugging the body. The cost is the median distance of the
    garment's surface to the trunk (per-height ellipses, see :func:`radial_distance`) plus a
    penalty when its innermost tenth goes inside; its top starts where the category hangs from.
    Returns (scale, translation, distance)."""
    from scipy.optimize import minimize

    pts = all_points(parts)
    if len(pts) > 6000:
        pts = pts[np.random.default_rng(0).choice(len(pts), 6000, replace=False)]
    a = anchors()
    lo, hi = pts.min(axis=0), pts.max(axis=0)
    centre_xz = np.array([0.5 * (lo[0] + hi[0]), 0.0, 0.5 * (lo[2] + hi[2])])
    pts = pts - centre_xz  # centre on the body axis in x and z
    top_y = HANG_HEIGHT_M[kind.hang_from](a) + kind.hang_offset_m  # where the garment's top hangs
    # The trunk's own front-back centre (the body axis is not at z = 0: the belly is deeper
    # than the back), so a garment centred on it starts around the body, not half inside.
    heights, ellipses = body_slices()
    torso = (heights > a.torso_y[0]) & (heights < a.torso_y[1]) & np.isfinite(ellipses[:, 1])
    body_cz = float(np.median(ellipses[torso, 1])) if torso.any() else 0.0

    def place(s: float, dy: float, dz: float) -> np.ndarray:
        q = pts * s
        return q + np.array([0.0, top_y - q[:, 1].max() + dy, body_cz + dz])

    def cost(v: np.ndarray) -> float:
        log_s, dy, dz = v
        q = place(math.exp(log_s), dy, dz)
        r = radial_distance(q, normalised=True)
        r = r[np.isfinite(r)]
        if len(r) < 0.3 * len(q):
            return 10.0  # mostly off the body
        r = r[r > INNER_RADIUS] if (r > INNER_RADIUS).sum() > 0.2 * len(r) else r  # inner structure: ignored
        # In units of the trunk's own radius, so the fit does not favour big garments; just
        # outside (1.05) is the target, and a little inside is eased out by conform().
        # A garment's top does not rise far above where it hangs from (the nape for tops):
        # a loose shirt would otherwise slide up to where the body is wider.
        above = 5.0 * max(0.0, dy - 0.04)
        inside = float(np.mean(np.clip(1.0 - r, 0.0, None)))  # how deep it sits in the body, on average
        return float(np.median(np.abs(r - 1.05)) + 0.5 * max(0.0, 0.95 - np.percentile(r, 10)) + inside + above)

    lo_s, hi_s = (0.4, 2.5) if wide else (0.8, 1.25)
    grid = [
        (math.log(s), dy, dz)
        for s in np.exp(np.linspace(math.log(lo_s), math.log(hi_s), 9 if wide else 5))
        for dy in np.linspace(-0.45, 0.2, 14)
        for dz in (-0.03, 0.0, 0.03)
    ]
    best = min(grid, key=lambda v: cost(np.array(v)))
    res = minimize(cost, np.array(best), method="Nelder-Mead", options={"xatol": 1e-3, "fatol": 1e-5, "maxiter": 300})
    log_s, dy, dz = res.x
    s = math.exp(log_s)
    q = place(s, dy, dz)
    t = (q[0] - pts[0] * s) - centre_xz * s
    d = radial_distance(q)
    return s, t, float(np.median(np.abs(d[np.isfinite(d)]))) if np.isfinite(d).any() else 1.0


def rotate_about(axis: np.ndarray, theta: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Vectors (N, 3) each turned by its own angle theta (N,) about one unit axis (Rodrigues)."""
    c, s = np.cos(theta)[:, None], np.sin(theta)[:, None]
    return v * c + np.cross(axis, v) * s + np.outer(v @ axis, axis) * (1.0 - c)


def repose_sleeves(parts: list[RawPart], m: Mannequin, min_turn_deg: float = 10.0) -> tuple[list[RawPart], list]:
    """Turn each sleeve about its shoulder onto the mannequin's upper arm: a top modelled on a
    T-pose (or arms down) would otherwise have the arms poke through it. A sleeve is the
    garment beyond the shoulder joint; the turn fades in over its first 8 cm so the armhole
    stays joined. Returns the parts and [(side, degrees)] of the sleeves turned."""
    sk = m.skeleton
    pts = all_points(parts)
    turned, rotations = [], []
    for side, sign in (("left", 1.0), ("right", -1.0)):
        tag = "L" if sign > 0 else "R"
        shoulder = sk.heads[BONE_NAMES.index(f"upperarm01.{tag}")].astype(np.float64)
        elbow = sk.heads[BONE_NAMES.index(f"lowerarm01.{tag}")].astype(np.float64)
        beyond = sign * (pts[:, 0] - shoulder[0])
        sleeve = pts[(beyond > 0.04) & (pts[:, 1] > shoulder[1] - 0.35)]
        if len(sleeve) < max(30, 0.02 * len(pts)):
            continue
        c = sleeve.mean(axis=0)
        _, _, vt = np.linalg.svd(sleeve - c, full_matrices=False)
        along = vt[0] if np.dot(vt[0], [sign, 0, 0]) > 0 else -vt[0]
        arm = normalize(elbow - shoulder)
        angle = math.acos(float(np.clip(np.dot(along, arm), -1.0, 1.0)))
        if math.degrees(angle) < min_turn_deg:
            continue
        axis = normalize(np.cross(along, arm))
        # Turn about the top of the shoulder (the sleeve's seam rests there), not the joint.
        rotations.append((sign, shoulder + np.array([0.0, 0.045, 0.0]), axis, angle))
        turned.append((side, math.degrees(angle)))
    if not rotations:
        return parts, []
    out = []
    for p in parts:
        pos = p.positions.astype(np.float64)
        nrm = None if p.normals is None else p.normals.astype(np.float64)
        for sign, shoulder, axis, angle in rotations:
            w = np.clip(sign * (pos[:, 0] - shoulder[0]) / 0.1, 0.0, 1.0)
            w = w * w * (3 - 2 * w)
            moving = w > 0
            if not moving.any():
                continue
            theta = angle * w[moving]
            pos[moving] = shoulder + rotate_about(axis, theta, pos[moving] - shoulder)
            if nrm is not None:
                nrm[moving] = rotate_about(axis, theta, nrm[moving])
        out.append(
            replace(
                p, positions=pos.astype(p.positions.dtype), normals=None if nrm is None else nrm.astype(p.normals.dtype)
            )
        )
    return out, turned


#: Normalised trunk radius below which garment geometry is inner structure (a dress form's
#: stand, an inner lining deep in the body): never visible, so left out of the fit and trimmed.
INNER_RADIUS = 0.6


def crop_height(parts: list[RawPart], low: float, high: float) -> tuple[list[RawPart], int]:
    """Keep the faces whose centre lies in the band ``low``-``high`` (fractions of the item's
    height, 0 at its bottom): a garment scanned on a dress form, without the form's neck and
    base. Returns the parts and how many faces were removed."""
    pts = all_points(parts)
    y0, y1 = float(pts[:, 1].min()), float(pts[:, 1].max())
    lo, hi = y0 + low * (y1 - y0), y0 + high * (y1 - y0)
    out, removed = [], 0
    for p in parts:
        cy = p.positions[p.faces][:, :, 1].mean(axis=1)
        keep = (cy >= lo) & (cy <= hi)
        removed += int((~keep).sum())
        if keep.any():
            out.append(keep_faces(p, keep))
    return out, removed


def trim_far(
    parts: list[RawPart],
    max_distance_m: float = 0.1,
    max_body_distance_m: float = 0.15,
    inner_radius: float = INNER_RADIUS,
) -> tuple[list[RawPart], int]:
    """Drop faces all of whose corners are farther than ``max_distance_m`` from the body's
    trunk and ``max_body_distance_m`` from any of the body (arms and head included: sleeves
    and collars stay) -- a display stand, a hanger, a floor -- or deep inside the trunk (a
    stand's pole; closer to its axis than ``inner_radius`` of its radius): they are not part
    of what is worn, or could never be seen. Loose cloth (a skirt, a dress) passes between
    the legs, where the trunk's axis runs below the crotch: the caller gives 0 there."""
    out, dropped = [], 0
    tree = body_tree()
    for p in parts:
        d = radial_distance(p.positions)
        r = radial_distance(p.positions, normalised=True)
        near_body = tree.query(p.positions.astype(np.float64), k=1)[0] <= max_body_distance_m
        far_trunk = ~np.isfinite(d) | (d > max_distance_m)
        far = (far_trunk & ~near_body) | (np.nan_to_num(r, nan=1.0) < inner_radius)

        keep = ~far[p.faces].all(axis=1)
        dropped += int((~keep).sum())
        if keep.any():
            q = select_part(p, np.ones(len(p.positions), bool)) if keep.all() else None
            out.append(q if q is not None else keep_faces(p, keep))
    return out, dropped


def conform(
    parts: list[RawPart], gap_m: float = 0.004, mannequin: Mannequin | None = None
) -> tuple[list[RawPart], int]:
    """Push the garment's vertices that lie inside the body out to its surface plus ``gap_m``
    (tight clothes and corsets modelled smaller than this body), and out of the low-poly
    occluder body that hides what is behind the shopper at run time (it stands proud of the
    detailed body in places); the push smoothed over the mesh so no crease appears. Returns
    the parts and how many vertices moved."""
    m = mannequin or load_mannequin()
    surfaces = [
        (m.positions_m.astype(np.float64), m.normals.astype(np.float64), body_tree(), gap_m),
        (m.occluder.positions_m.astype(np.float64), m.occluder.normals.astype(np.float64), occluder_tree(), 0.0),
    ]
    moved_ids: list[np.ndarray] = [np.zeros(len(p.positions), bool) for p in parts]
    for surface in surfaces:
        parts, moved_now = _push_out(parts, *surface)
        moved_ids = [a | b for a, b in zip(moved_ids, moved_now)]
    return parts, int(sum(int(a.sum()) for a in moved_ids))


def _push_out(
    parts: list[RawPart], body: np.ndarray, normals: np.ndarray, tree: cKDTree, gap_m: float
) -> tuple[list[RawPart], list[np.ndarray]]:
    """One pass of :func:`conform` against one surface (points and normals)."""
    out, moved = [], []
    for p in parts:
        pos = p.positions.astype(np.float64)
        _, i = tree.query(pos)
        signed = np.einsum("ij,ij->i", pos - body[i], normals[i])
        radial = radial_distance(pos)
        inside = (signed < gap_m) & (np.nan_to_num(radial, nan=1.0) < 0.02)
        push = np.where(inside[:, None], (gap_m - signed)[:, None] * normals[i], 0.0)
        # Smooth the push over the mesh (a few neighbour-averaging passes), keeping the moved vertices out.
        import scipy.sparse as sp

        f = p.faces
        n = len(pos)
        adj = sp.coo_matrix((np.ones(f.size), (f.ravel(), np.roll(f, 1, axis=1).ravel())), shape=(n, n)).tocsr()
        adj = adj + adj.T
        deg = np.maximum(np.asarray(adj.sum(axis=1)).ravel(), 1)
        for _ in range(3):
            avg = (adj @ push) / deg[:, None]
            push = np.where(inside[:, None], push, np.maximum(0, 1) * avg * 0.8)
        moved.append(inside)
        out.append(RawPart(pos + push, p.faces, None, p.uvs, p.material, p.name))
    return out, moved


def _is_loose(parts: list[RawPart], m: Mannequin) -> bool:
    """Whether the fitted cloth bridges the legs (see :mod:`tryon.catalog.fit.looseness`)."""
    from tryon.catalog.fit.looseness import measure_looseness

    if not parts:
        return False
    offsets = np.cumsum([0] + [len(p.positions) for p in parts])
    pos = np.concatenate([p.positions for p in parts])
    faces = np.concatenate([p.faces + o for p, o in zip(parts, offsets[:-1])])
    return measure_looseness(pos, faces, m).is_loose


def fit_clothes(
    parts: list[RawPart],
    kind: Category,
    m: Mannequin,
    plausible: bool,
    pre_scale: float,
    overrides: FitOverrides,
    report: FitReport,
) -> tuple[list[RawPart], list[str | None]]:
    """``parts`` (y-up, +z front, metres) fitted onto the mannequin as ``kind`` (see the
    module docstring); the report filled in. Returns the parts and their bones (all None:
    clothes are skinned). A garment that cannot be brought near the body is refused
    (DoesNotFitError)."""
    o = overrides
    s, t, dist = fit_to_trunk(parts, kind, wide=not plausible)
    parts = transform_parts(parts, np.eye(3), s, t)
    report.scale, report.offset_m, report.distance_m = s * pre_scale, list(map(float, t)), dist
    if kind.sleeves:
        parts, turned = repose_sleeves(parts, m)
        if turned:
            report.warnings.append(
                "turned the sleeves to the mannequin's arms ("
                + ", ".join(f"{side} {deg:.0f} deg" for side, deg in turned)
                + "): modelled in another arm pose"
            )
    if o.keep_height is not None:
        parts, cropped = crop_height(parts, *o.keep_height)
        report.warnings.append(f"kept the band {o.keep_height[0]:.0%}-{o.keep_height[1]:.0%} of its height "
                               f"(removed {cropped} faces above and below)")  # fmt: skip
    total = sum(len(p.faces) for p in parts)
    loose = _is_loose(parts, m)
    if loose:  # a skirt's hem stands off the legs and passes between them
        parts, dropped = trim_far(parts, max_body_distance_m=0.3, inner_radius=0.0)
    else:
        parts, dropped = trim_far(parts)
    if dropped > 0.005 * total:
        report.warnings.append(f"removed {dropped} of {total} faces far outside or deep inside the body (a stand?)")
    parts, moved = conform(parts, mannequin=m)
    if moved:
        report.warnings.append(f"eased {moved} vertices out of the body so the garment sits on it")
    limit = MAX_DISTANCE_M
    if dist > limit:
        raise DoesNotFitError(
            f"after fitting, the garment's surface stays {dist * 100:.1f} cm from the mannequin's body "
            f"(at most {limit * 100:.0f} cm for {kind.noun}); check the category, "
            "or model it around a body"
        )
    return parts, [None] * len(parts)
