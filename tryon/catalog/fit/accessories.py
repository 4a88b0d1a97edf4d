"""Accessories: rigid items placed on their body part, one fitter per category.

Model metres on the bind-pose mannequin (y up, +z front, +x its left; :mod:`tryon.frames`).
:data:`ACCESSORY_FITTERS` holds, for every rigid category, how it is placed and where it is
worn (its anchors, :mod:`tryon.catalog.fit.anchors`): shoes under the feet (one shoe is
mirrored into a pair), glasses on the eyes and nose bridge, hats on the crown, earrings at the
ear lobes (mirrored), necklaces around the base of the neck, watches and bracelets on the left
wrist with the dial on the back of the wrist, rings on the left ring finger. Each rides the
bone its category's record names (``Category.bone``, ``right_bone`` for a pair's right one).
Adding a rigid category is its record plus one entry here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

import numpy as np
from scipy.spatial import cKDTree

from tryon.body.mannequin import load_mannequin
from tryon.body.rotations import frame, normalize
from tryon.catalog.assets import RawPart
from tryon.catalog.categories import Category
from tryon.catalog.fit.anchors import Anchors, body_tree
from tryon.catalog.fit.mesh import all_points, mirror_x, select_part, transform_parts
from tryon.catalog.fit.orientation import (
    Turn,
    ZUpTest,
    shoe_is_z_up,
    turn_glasses_lenses_forward,
    turn_shoe_toe_forward,
)
from tryon.catalog.fit.types import FitReport

#: Fitted parts (model metres, on the mannequin) and the bone each rides.
Placement = tuple[list[RawPart], list[str | None]]
#: (parts y-up, +z front, metres; the category's record; the anchors; the report to fill in:
#: scale, mirrored, warnings...; whether the file's own size is plausible) -> the placement.
Place = Callable[[list[RawPart], Category, Anchors, FitReport, bool], Placement]


@dataclass(frozen=True)
class AccessoryFitter:
    """How a rigid category is fitted.

    place : puts the item on its body part (see :data:`Place`).
    anchors : where it is worn on the mannequin, one point per item of a pair: the item lands
        there, and a manual ``--scale`` grows each part about its nearest anchor.
    z_up : for a file with no up convention, whether its extents say it lies z-up (None: it
        is taken as y-up). turn : after the up axis, turns it to face forward (None: as is).
    """

    place: Place
    anchors: Callable[[Anchors], list[np.ndarray]]
    z_up: ZUpTest | None = None
    turn: Turn | None = None


def place_shoes(parts: list[RawPart], kind: Category, a: Anchors, report: FitReport, plausible: bool) -> Placement:
    """Shoe-sized to the mannequin's feet, each heel at a heel. A file holding a pair side by
    side is split into its two shoes; one shoe is mirrored for the other foot."""
    pts = all_points(parts)
    lo, hi = pts.min(axis=0), pts.max(axis=0)
    foot_len = float(np.linalg.norm(a.toes[0] - a.heels[0])) * 1.12
    length = hi[2] - lo[2]
    s = foot_len / length  # a real shoe size is kept near 1; the runtime scales feet to the shopper anyway
    report.scale = s
    # A pair: two clusters far apart in x. Else one shoe, mirrored for the other foot.
    xs = pts[:, 0]
    gap = np.sort(xs)
    jumps = np.diff(gap)
    pair = len(jumps) and jumps.max() > 0.3 * (hi[0] - lo[0])
    if pair:
        split = gap[np.argmax(jumps)] + jumps.max() / 2
        left = [select_part(p, p.positions[:, 0] > split) for p in parts]
        right = [select_part(p, p.positions[:, 0] <= split) for p in parts]
        left, right = [p for p in left if p is not None], [p for p in right if p is not None]
    else:
        left, right = parts, mirror_x(parts)
        report.mirrored = True
        report.warnings.append("one shoe: mirrored it for the other foot")
    out, bones = [], []
    for bone, group, heel in ((kind.bone, left, a.heels[0]), (kind.right_bone or kind.bone, right, a.heels[1])):
        g = all_points(group)
        glo, ghi = g.min(axis=0), g.max(axis=0)
        ref = np.array([0.5 * (glo[0] + ghi[0]), glo[1], glo[2]])  # heel-bottom-centre of the shoe
        t = heel - ref * s + np.array([0.0, 0.0, -0.01])
        placed = transform_parts(group, np.eye(3), s, t)
        out += placed
        bones += [bone] * len(placed)
    return out, bones


def place_glasses(parts: list[RawPart], kind: Category, a: Anchors, report: FitReport, plausible: bool) -> Placement:
    """The head's width across (within 15 % of the file's own size when plausible), the front
    frame 2.8 cm in front of the eyes, the lens centres at eye height."""
    pts = all_points(parts)
    lo, hi = pts.min(axis=0), pts.max(axis=0)
    width = hi[0] - lo[0]
    s = (a.head_width * 1.0) / width if not plausible else float(np.clip(a.head_width / width, 0.85, 1.15))
    report.scale = s
    eye_mid = 0.5 * (a.eyes[0] + a.eyes[1])
    front_z = max(a.eyes[0][2], a.eyes[1][2]) + 0.028
    # the front frame (max z) in front of the eyes, the lens centres at eye height
    ref = np.array([0.5 * (lo[0] + hi[0]), lo[1] + 0.62 * (hi[1] - lo[1]), hi[2]])
    t = np.array([eye_mid[0], eye_mid[1], front_z]) - ref * s
    return transform_parts(parts, np.eye(3), s, t), [kind.bone] * len(parts)


def place_hat(parts: list[RawPart], kind: Category, a: Anchors, report: FitReport, plausible: bool) -> Placement:
    """The crown's width just above the brim scaled to the head; its bottom a few cm below
    the crown of the head."""
    pts = all_points(parts)
    lo, hi = pts.min(axis=0), pts.max(axis=0)
    height = hi[1] - lo[1]
    level = lo[1] + 0.35 * height
    band = pts[np.abs(pts[:, 1] - level) < 0.08 * height]
    crown_w = (band[:, 0].max() - band[:, 0].min()) if len(band) else hi[0] - lo[0]
    s = (
        (a.head_width * 1.12) / crown_w
        if not plausible
        else float(np.clip(a.head_width * 1.12 / crown_w, 0.8, 1.25))
    )
    report.scale = s
    ref = np.array([0.5 * (lo[0] + hi[0]), lo[1], 0.5 * (lo[2] + hi[2])])
    target = np.array([0.0, a.head_top[1] - 0.075, a.head_top[2] - 0.01])
    return transform_parts(parts, np.eye(3), s, target - ref * s), [kind.bone] * len(parts)


def place_earrings(parts: list[RawPart], kind: Category, a: Anchors, report: FitReport, plausible: bool) -> Placement:
    """One earring hung by its top from each ear lobe (the file's one mirrored for the other
    ear); 3 cm across when its own size is implausible."""
    pts = all_points(parts)
    size = (pts.max(axis=0) - pts.min(axis=0)).max()
    s = 1.0 if plausible else 0.03 / size
    report.scale = s
    out, bones = [], []
    for lobe, group in zip(a.ear_lobes, (parts, mirror_x(parts))):
        g = all_points(group)
        h = g[np.argmax(g[:, 1])]  # the top of the earring is where it hangs from
        placed = transform_parts(group, np.eye(3), s, lobe - h * s)
        out += placed
        bones += [kind.bone] * len(placed)
    report.mirrored = True
    return out, bones


def place_necklace(parts: list[RawPart], kind: Category, a: Anchors, report: FitReport, plausible: bool) -> Placement:
    """Hung from the nape; a chain's links are then draped one by one onto the neck,
    trapezius and chest (it keeps its length); a solid necklace is grown until it rests on
    them instead of sinking in."""
    pts = all_points(parts)
    lo, hi = pts.min(axis=0), pts.max(axis=0)
    width = hi[0] - lo[0]
    s0 = 1.0 if plausible else (2 * a.neck_radius + 0.09) / width
    ref = np.array([0.5 * (lo[0] + hi[0]), hi[1], lo[2]])  # back-top: the nape
    target = a.nape + np.array([0.0, 0.0, -0.006])
    m = load_mannequin()
    body, normals = m.positions_m.astype(np.float64), m.normals.astype(np.float64)
    tree = body_tree()

    def inside_share(s: float) -> float:
        q = (pts - ref) * s + target
        _, i = tree.query(q)
        return float(np.mean(np.einsum("ij,ij->i", q - body[i], normals[i]) < 0.0005))

    placed = transform_parts(parts, np.eye(3), s0, target - ref * s0)
    draped = _drape_links(placed, body, normals, tree)
    if draped is not None:  # a chain of separate links: each rests on the body, as worn
        report.scale = s0
        report.warnings.append("draped its links over the neck and chest")
        return draped, [kind.bone] * len(parts)
    s = s0
    for k in np.linspace(1.0, 1.8, 33):
        s = s0 * k
        if inside_share(s) < 0.03:
            break
    report.scale = s
    return transform_parts(parts, np.eye(3), s, target - ref * s), [kind.bone] * len(parts)


#: A loop's target: (centre (3,), axis (3,), radius m, the direction its dial faces (3,)).
LoopTarget = tuple[np.ndarray, np.ndarray, float, np.ndarray]


def on_left_wrist(a: Anchors) -> LoopTarget:
    """Around the left forearm just above the wrist, the dial on the back of the wrist."""
    return a.wrist_centre, a.wrist_axis, a.wrist_radius, a.wrist_dorsal


def on_left_ring_finger(a: Anchors) -> LoopTarget:
    """Around the left ring finger's first phalanx, the setting on the back of the hand."""
    return a.ring_centre, a.ring_axis, a.ring_radius, a.wrist_dorsal


def place_loop(
    parts: list[RawPart],
    kind: Category,
    a: Anchors,
    report: FitReport,
    plausible: bool,
    *,
    target: Callable[[Anchors], LoopTarget],
    gap_m: float,
) -> Placement:
    """A loop (a bangle, a strap, a ring) around its limb: its axis onto the limb's, its
    heaviest side (a watch's case, a ring's setting) toward the target's dial direction, its
    inside ``gap_m`` off the limb's surface."""
    pts = all_points(parts)
    axis, dial = _loop_axis_and_dial(pts)
    centre_t, axis_t, r_t, dorsal = target(a)
    # Rotate: the loop's axis onto the limb's axis, the dial (heaviest side) to the back of the wrist.
    src = frame(axis, dial)
    dst = frame(axis_t, dorsal - axis_t * np.dot(dorsal, axis_t))
    Rl = dst @ src.T
    q = pts @ Rl.T
    c = 0.5 * (q.min(axis=0) + q.max(axis=0))  # the loop's centre (the case pulls the mean aside)
    c = c - axis_t * np.dot(c - q.mean(axis=0), axis_t)
    rel = q - c

    along = rel @ axis_t
    inner = np.linalg.norm(rel - np.outer(along, axis_t), axis=1).min()
    s = (r_t + gap_m) / max(inner, 1e-9)
    report.scale = s
    # Loop centre (the bounding centre) onto the limb axis.
    qlo, qhi = q.min(axis=0), q.max(axis=0)
    loop_c = 0.5 * (qlo + qhi)
    placed = transform_parts(parts, Rl, s, centre_t - loop_c * s)
    report.rotation = (Rl @ np.asarray(report.rotation)).tolist()
    return placed, [kind.bone] * len(placed)


place_bracelet = partial(place_loop, target=on_left_wrist, gap_m=0.004)
place_ring = partial(place_loop, target=on_left_ring_finger, gap_m=0.0003)


def place_watch(parts: list[RawPart], kind: Category, a: Anchors, report: FitReport, plausible: bool) -> Placement:
    """A watch with its strap: a loop on the left wrist; a dial alone: see :func:`_fit_dial`."""
    if not _is_loop(all_points(parts)):
        return _fit_dial(parts, kind, a, report, plausible)
    return place_bracelet(parts, kind, a, report, plausible)


def _wrist(a: Anchors) -> list[np.ndarray]:
    return [a.wrist_centre]


#: Every rigid category's fitter, by category name.
ACCESSORY_FITTERS: dict[str, AccessoryFitter] = {
    "shoes": AccessoryFitter(place_shoes, lambda a: list(a.heels), z_up=shoe_is_z_up, turn=turn_shoe_toe_forward),
    "glasses": AccessoryFitter(
        place_glasses, lambda a: [0.5 * (a.eyes[0] + a.eyes[1])], turn=turn_glasses_lenses_forward
    ),
    "hat": AccessoryFitter(place_hat, lambda a: [a.head_top]),
    "earrings": AccessoryFitter(place_earrings, lambda a: list(a.ear_lobes)),
    "necklace": AccessoryFitter(place_necklace, lambda a: [a.neck_centre]),
    "watch": AccessoryFitter(place_watch, _wrist),
    "bracelet": AccessoryFitter(place_bracelet, _wrist),
    "ring": AccessoryFitter(place_ring, lambda a: [a.ring_centre]),
}


def accessory_fitter(category: str) -> AccessoryFitter:
    """The fitter of rigid category ``category``; a ValueError when it has none."""
    fitter = ACCESSORY_FITTERS.get(category)
    if fitter is None:
        raise ValueError(f"no fit for category {category!r}")
    return fitter


def _is_loop(points: np.ndarray) -> bool:
    """Whether an item wraps around an empty middle (a strap, a bangle, a ring) rather than
    being a flat dial: seen along its thinnest axis, nothing lies near its centre."""
    c = 0.5 * (points.min(axis=0) + points.max(axis=0))
    _, _, vt = np.linalg.svd(points - points.mean(axis=0), full_matrices=False)
    rel = points - c
    inplane = rel - np.outer(rel @ vt[2], vt[2])
    r = np.linalg.norm(inplane, axis=1)
    return bool(r.min() > 0.35 * r.max())


def _loop_axis_and_dial(points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For a ring-shaped item: the loop's axis (the smallest principal direction) and the
    direction from the loop's centre toward its heaviest side (a watch's case)."""
    c = points.mean(axis=0)
    _, _, vt = np.linalg.svd(points - c, full_matrices=False)
    axis = vt[2]
    lo, hi = points.min(axis=0), points.max(axis=0)
    centre = 0.5 * (lo + hi)
    off = c - centre
    off = off - axis * np.dot(off, axis)
    if np.linalg.norm(off) < 1e-9:
        off = vt[0]
    return axis, normalize(off)


def strap_part(
    centre: np.ndarray,
    axis: np.ndarray,
    radii: tuple[float, float],
    width: float,
    thickness: float,
    material: int,
    dorsal: np.ndarray,
    segments: int = 48,
) -> RawPart:
    """A closed band (rectangular cross-section) around ``axis`` through ``centre`` following
    an elliptical wrist (semi-axes ``radii`` along ``dorsal`` and across): a watch strap for a
    dial that came without one."""
    axis = normalize(axis)
    u = normalize(dorsal - axis * np.dot(dorsal, axis))
    v = np.cross(axis, u)
    ang = np.linspace(0, 2 * np.pi, segments, endpoint=False)
    ring_u, ring_v = np.cos(ang), np.sin(ang)

    def loop(extra: float) -> np.ndarray:
        return np.outer(ring_u * (radii[0] + extra), u) + np.outer(ring_v * (radii[1] + extra), v)

    corners = [(0.0, -width / 2), (thickness, -width / 2), (thickness, width / 2), (0.0, width / 2)]
    pos = np.concatenate([centre + loop(e) + axis * h for e, h in corners])  # (4S, 3), corner-major
    S = segments
    faces = []
    for k in range(4):
        a0 = k * S + np.arange(S)
        a1 = k * S + (np.arange(S) + 1) % S
        b0 = ((k + 1) % 4) * S + np.arange(S)
        b1 = ((k + 1) % 4) * S + (np.arange(S) + 1) % S
        faces.append(np.stack([a0, b0, b1], axis=1))
        faces.append(np.stack([a0, b1, a1], axis=1))
    faces = np.concatenate(faces)
    from tryon.body.mannequin import vertex_normals

    nrm = vertex_normals(pos, faces)
    if np.mean(np.einsum("ij,ij->i", nrm, pos - centre)) < 0:
        faces = faces[:, ::-1]
    return RawPart(pos, faces.astype(np.int64), None, None, material, "strap")


def _fit_dial(parts: list[RawPart], kind: Category, a: Anchors, report: FitReport, plausible: bool) -> Placement:
    """A watch that is only a dial: face outward on the back of the left wrist, 12 o'clock
    toward the hand, scaled to a 42 mm dial unless its own size is a plausible dial, and a
    leather strap added around the wrist."""
    pts = all_points(parts)
    c = 0.5 * (pts.min(axis=0) + pts.max(axis=0))
    _, _, vt = np.linalg.svd(pts - pts.mean(axis=0), full_matrices=False)
    normal = vt[2] if np.dot(pts.mean(axis=0) - c, vt[2]) >= 0 else -vt[2]  # the detailed side faces out
    up = np.array([0.0, 1.0, 0.0]) - normal * normal[1]
    if np.linalg.norm(up) < 1e-6:
        up = vt[0]
    dorsal = a.wrist_dorsal - a.wrist_axis * np.dot(a.wrist_dorsal, a.wrist_axis)
    Rd = frame(normal, up) @ np.eye(3)
    Rt = frame(dorsal, a.wrist_axis)
    R = Rt @ Rd.T
    q = (pts - c) @ R.T
    diameter = float(np.max(np.linalg.norm(q - np.outer(q @ normalize(dorsal), normalize(dorsal)), axis=1))) * 2
    s = 1.0 if plausible and 0.025 < diameter < 0.055 else 0.042 / diameter
    thickness = float(np.ptp(q @ normalize(dorsal))) * s
    report.scale = s
    target = a.wrist_centre + normalize(dorsal) * (a.wrist_radii[0] + 0.004 + thickness / 2)
    placed = transform_parts(
        [RawPart(p.positions - c, p.faces, p.normals, p.uvs, p.material, p.name) for p in parts], R, s, target
    )
    report.rotation = R.tolist()
    strap_mat = max(p.material for p in parts) + 1
    strap = strap_part(
        a.wrist_centre,
        a.wrist_axis,
        (a.wrist_radii[0] + 0.002, a.wrist_radii[1] + 0.002),
        0.5 * diameter * s,
        0.003,
        strap_mat,
        dorsal,
    )

    report.warnings.append("the watch came without a strap: added a leather strap around the wrist")
    report.added_strap = True
    return placed + [strap], [kind.bone] * (len(placed) + 1)


def _drape_links(
    parts: list[RawPart], body: np.ndarray, normals: np.ndarray, tree: cKDTree, clearance: float = 0.0015
) -> list[RawPart] | None:
    """A chain made of separate links (connected components), each moved rigidly out along
    the body's normal until it rests ``clearance`` m above the surface: the chain lies on the
    neck, the trapezius and the chest however the loop was drawn. None when a part is not
    made of many pieces (a solid necklace: grown to fit instead)."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    def components(p: RawPart) -> tuple[int, np.ndarray]:
        f, n_v = p.faces, len(p.positions)
        edges = np.concatenate([f[:, [0, 1]], f[:, [1, 2]], f[:, [2, 0]]])
        graph = coo_matrix((np.ones(len(edges)), (edges[:, 0], edges[:, 1])), shape=(n_v, n_v))
        return connected_components(graph, directed=False)

    chain = max(range(len(parts)), key=lambda k: len(parts[k].faces))
    n_links, _ = components(parts[chain])
    if n_links < 12:
        return None
    out = []
    for k, p in enumerate(parts):
        # the chain's links each on their own; any other part (a clasp, a pendant) as one piece
        n_comp, label = components(p) if k == chain else (1, np.zeros(len(p.positions), np.int64))
        pos = p.positions.astype(np.float64).copy()
        for _ in range(4):  # moving a link changes which surface it is nearest
            _, i = tree.query(pos)
            d = np.einsum("ij,ij->i", pos - body[i], normals[i])
            lift = np.maximum(0.0, clearance - d)  # per vertex: how far below the clearance
            need = np.zeros(n_comp)
            np.maximum.at(need, label, lift)
            if need.max() <= 1e-5:
                break
            n_sum = np.zeros((n_comp, 3))
            np.add.at(n_sum, label, normals[i])
            n_comp_dir = n_sum / np.maximum(np.linalg.norm(n_sum, axis=1, keepdims=True), 1e-9)
            pos += (n_comp_dir * need[:, None])[label]
        out.append(RawPart(pos, p.faces, p.normals, p.uvs, p.material, p.name))
    return out
