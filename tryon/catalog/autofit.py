"""Auto-fit and auto-rig: an uploaded mesh, in its own units and axes, onto the mannequin.

Everything here works in model metres on the bind-pose mannequin (y up, +z front, +x the
mannequin's left; :mod:`tryon.frames`).

1. **Units.** Each category has a plausible size for its main dimension (a top's height, a
   shoe's length, glasses' width...). Of metres, decimetres, centimetres, millimetres and
   inches, the declared unit is kept when it gives a plausible size; otherwise the unit that
   does is chosen, and the import says so (a 5 cm corset was modelled in decimetres). When no
   unit fits, the nearest is taken and the fit scales the item to the body, with a warning.
2. **Orientation.** glTF is y-up, +z front. Files without a convention that are clearly z-up
   (a garment taller along z) are turned y-up. Shoes turn their length onto z, toe forward
   (the toe end is the low end); loops (watches, bracelets, rings) find their axis.
3. **Fit by category.** Clothes are scaled and moved to hug the body: a search over height,
   depth and scale minimising the distance of the garment's surface to the body's, with
   penetration penalised. Rigid items go to their body part: shoes under the feet (one shoe is
   mirrored into a pair), glasses on the eyes and nose bridge, hats on the crown, earrings at
   the ear lobes (mirrored), necklaces around the base of the neck, watches and bracelets on
   the left wrist with the dial on the back of the wrist, rings on the left ring finger.
4. **Rig.** Clothes take their skin weights from the nearest body surface (inverse-distance
   mix of the nearest body vertices' weights); rigid items ride a bone.
5. **Check.** An item that still sits far from its body part after fitting is refused, with
   the measured distance.

Manual overrides (scale, rotation, offset, bone) stored in the manifest win over all of this.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field, replace

import numpy as np
from scipy.spatial import cKDTree

from tryon.body import makehuman as mh
from tryon.body.mannequin import Mannequin, SkinWeights, load_mannequin
from tryon.body.rotations import axis_angle, frame, normalize
from tryon.body.skeleton import BONE_NAMES
from tryon.catalog.assets import DoesNotFitError, RawPart, UnitsError
from tryon.frames import MAKEHUMAN_UNIT_M
from tryon.pose.landmarks import L

UNITS_M = {"m": 1.0, "dm": 0.1, "cm": 0.01, "mm": 0.001, "in": 0.0254}

#: For each category: how its size is measured ("height", "length" = longest horizontal,
#: "width" = x extent, "max" = largest extent) and the plausible range in metres.
SIZE_RANGES: dict[str, tuple[str, float, float]] = {
    "top": ("height", 0.25, 0.95),
    "outerwear": ("height", 0.45, 1.25),
    "dress": ("height", 0.6, 1.55),
    "full-outfit": ("height", 1.1, 1.95),
    "bottom": ("height", 0.25, 1.2),
    "shoes": ("length", 0.18, 0.36),
    "hat": ("width", 0.16, 0.6),
    "glasses": ("length", 0.11, 0.2),  # width or temple length, whichever way the file lies
    "earrings": ("max", 0.004, 0.1),
    "necklace": ("width", 0.08, 0.4),
    "bracelet": ("max", 0.045, 0.13),
    "watch": ("max", 0.03, 0.3),
    "ring": ("max", 0.012, 0.04),
}
SKINNED = ("top", "outerwear", "dress", "full-outfit", "bottom")


@dataclass
class FitReport:
    """What the fit did, for the manifest and the retailer."""

    units: str
    unit_scale: float
    declared_units: str | None
    rotation: list[list[float]] = field(default_factory=lambda: np.eye(3).tolist())
    scale: float = 1.0
    offset_m: list[float] = field(default_factory=lambda: [0.0, 0.0, 0.0])
    bone: str | None = None
    distance_m: float = 0.0
    mirrored: bool = False
    added_strap: bool = False
    warnings: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class FitOverrides:
    """Manual fit, from the manifest or the command line: these win over the automatic fit.

    units : force the file's unit. up_axis : "y" or "z". rotate_deg : extra rotation (x, y, z
    Euler, degrees, applied after orientation). scale : extra uniform scale after fitting.
    offset_m : extra translation after fitting (model metres). bone : the bone to ride."""

    units: str | None = None
    up_axis: str | None = None
    rotate_deg: tuple[float, float, float] | None = None
    scale: float | None = None
    offset_m: tuple[float, float, float] | None = None
    bone: str | None = None
    keep_height: tuple[float, float] | None = None

    def __post_init__(self) -> None:
        if self.units is not None and self.units not in UNITS_M:
            raise ValueError(f"units must be one of {', '.join(UNITS_M)}, got {self.units!r}")
        if self.up_axis is not None and self.up_axis not in ("y", "z"):
            raise ValueError(f"up axis must be y or z, got {self.up_axis!r}")
        if self.bone is not None and self.bone not in BONE_NAMES:
            raise ValueError(f"no bone {self.bone!r}; bones are: {', '.join(BONE_NAMES)}")
        if self.scale is not None and not 0.01 < self.scale < 100:
            raise ValueError(f"scale must be between 0.01 and 100, got {self.scale}")
        if self.keep_height is not None and not 0.0 <= self.keep_height[0] < self.keep_height[1] <= 1.0:
            raise ValueError(f"keep_height must be two fractions 0 <= low < high <= 1, got {self.keep_height}")


# -- the mannequin's fitting anchors -----------------------------------------------------
@dataclass(frozen=True)
class Anchors:
    """Named places on the bind-pose mannequin, model metres."""

    nape: np.ndarray  # back of the neck at its base
    neck_centre: np.ndarray  # centre of the neck's cross-section at its base
    neck_radius: float
    head_top: np.ndarray
    head_width: float
    eyes: tuple[np.ndarray, np.ndarray]  # (left, right) eyeball centres
    ear_lobes: tuple[np.ndarray, np.ndarray]
    heels: tuple[np.ndarray, np.ndarray]  # back of each heel at the sole
    toes: tuple[np.ndarray, np.ndarray]
    sole_y: float
    wrist_centre: np.ndarray  # left forearm axis, 2.5 cm above the wrist joint
    wrist_axis: np.ndarray  # toward the hand
    wrist_dorsal: np.ndarray  # back of the left wrist
    wrist_radius: float  # mean radius of the wrist's cross-section
    wrist_radii: tuple[float, float]  # cross-section semi-axes: toward the back of the hand, and across
    ring_centre: np.ndarray  # middle of the left ring finger's first phalanx
    ring_axis: np.ndarray
    ring_radius: float
    torso_y: tuple[float, float]  # hips to shoulders


def _radius_around(body: np.ndarray, centre: np.ndarray, axis: np.ndarray, half_len: float, max_r: float) -> float:
    rel = body - centre
    along = rel @ axis
    perp = np.linalg.norm(rel - np.outer(along, axis), axis=1)
    sel = (np.abs(along) < half_len) & (perp < max_r)
    return float(np.median(perp[sel])) if sel.any() else max_r / 2


@functools.lru_cache(maxsize=1)
def anchors() -> Anchors:
    """The fitting anchors of the canonical mannequin (computed once)."""
    m = load_mannequin()
    body = m.positions_m.astype(np.float64)
    skel = mh.read_mhskel()
    J = {k: v * MAKEHUMAN_UNIT_M for k, v in skel.joint_positions(m.full_positions_dm).items()}
    B = load_mannequin(calibrated=False).landmarks.bind_m
    neck_y = float(J["neck01____head"][1]) + 0.015
    band = (np.abs(body[:, 1] - neck_y) < 0.008) & (np.abs(body[:, 0]) < 0.09) & (np.abs(body[:, 2]) < 0.12)
    nb = body[band]
    neck_centre = np.array([0.0, neck_y, 0.5 * (nb[:, 2].min() + nb[:, 2].max())])
    neck_radius = float(np.median(np.linalg.norm((nb - neck_centre)[:, [0, 2]], axis=1)))
    nape = np.array([0.0, neck_y, nb[:, 2].min()])
    top = body[np.argmax(body[:, 1])]
    ears = (B[L.LEFT_EAR], B[L.RIGHT_EAR])
    lobes = tuple(e + np.array([-np.sign(e[0]) * 0.004, -0.025, 0.008]) for e in ears)
    sole_y = float(body[:, 1].min())
    heels = tuple(np.array([B[i][0], sole_y, B[i][2]]) for i in (L.LEFT_HEEL, L.RIGHT_HEEL))
    toes = tuple(np.array([B[i][0], sole_y, B[i][2]]) for i in (L.LEFT_FOOT_INDEX, L.RIGHT_FOOT_INDEX))
    wa = normalize(J["lowerarm02.L____tail"] - J["lowerarm02.L____head"])

    palm = np.cross(B[L.LEFT_INDEX] - B[L.LEFT_WRIST], B[L.LEFT_PINKY] - B[L.LEFT_WRIST])
    palm = normalize(palm - wa * np.dot(palm, wa))
    dorsal = palm if palm[0] > 0 else -palm  # the back of a relaxed left hand faces outward (+x)
    # The wrist's cross-section: forearm and hand vertices in a thin slab around the axis.
    from tryon.body.mannequin import bone_region

    region = np.array([bone_region(n) for n in BONE_NAMES])[m.skin.bones[:, 0]]
    arm = body[np.isin(region, (2, 4))]
    rel = arm - (J["lowerarm02.L____tail"] - 0.025 * wa)
    along = rel @ wa
    perp = rel - np.outer(along, wa)
    sl = perp[(np.abs(along) < 0.004) & (np.linalg.norm(perp, axis=1) < 0.05)]
    across = normalize(np.cross(wa, dorsal))
    wc = J["lowerarm02.L____tail"] - 0.025 * wa
    wrist_radii = (0.02, 0.028)
    if len(sl) > 8:  # the cross-section's own centre and half-extents (the bone is not centred in it)
        du, dv = sl @ dorsal, sl @ across
        wc = wc + dorsal * 0.5 * (du.max() + du.min()) + across * 0.5 * (dv.max() + dv.min())
        wrist_radii = (0.5 * float(du.max() - du.min()), 0.5 * float(dv.max() - dv.min()))
    from tryon.body.mannequin import ring_finger

    rc, ra = ring_finger("L").centre, ring_finger("L").axis
    return Anchors(
        nape=nape,
        neck_centre=neck_centre,
        neck_radius=neck_radius,
        head_top=top,
        head_width=float(np.linalg.norm(ears[0] - ears[1])),
        eyes=(J["eye.L____head"], J["eye.R____head"]),
        ear_lobes=lobes,
        heels=heels,
        toes=toes,
        sole_y=sole_y,
        wrist_centre=wc,
        wrist_axis=wa,
        wrist_dorsal=dorsal,
        wrist_radius=float(np.mean(wrist_radii)),
        wrist_radii=wrist_radii,
        ring_centre=rc,
        ring_axis=ra,
        ring_radius=_radius_around(body, rc, ra, 0.004, 0.013),
        torso_y=(float(B[L.LEFT_HIP][1]), float(B[L.LEFT_SHOULDER][1])),
    )


# -- geometry helpers --------------------------------------------------------------------
def _all_points(parts: list[RawPart]) -> np.ndarray:
    return np.concatenate([p.positions for p in parts]).astype(np.float64)


def transform_parts(parts: list[RawPart], R: np.ndarray, s: float = 1.0, t=(0.0, 0.0, 0.0)) -> list[RawPart]:
    """x -> s R x + t on positions (normals rotated; winding kept when det(R) > 0)."""
    out = []
    flip = np.linalg.det(R) < 0
    for p in parts:
        pos = (p.positions @ R.T) * s + np.asarray(t)
        nrm = None if p.normals is None else normalize(p.normals @ R.T)
        faces = p.faces[:, ::-1] if flip else p.faces
        out.append(RawPart(pos, faces, nrm, p.uvs, p.material, p.name))
    return out


def _size(points: np.ndarray, how: str) -> float:
    ext = points.max(axis=0) - points.min(axis=0)
    return {"height": ext[1], "length": max(ext[0], ext[2]), "width": ext[0], "max": ext.max()}[how]


#: The category as a noun with its article, for messages ("implausible for a pair of glasses").
ITEM_NOUNS = {
    "top": "a top",
    "bottom": "a bottom (trousers, skirt)",
    "dress": "a dress",
    "outerwear": "a jacket or coat",
    "full-outfit": "a full outfit",
    "shoes": "a shoe",
    "hat": "a hat",
    "glasses": "a pair of glasses",
    "earrings": "an earring",
    "necklace": "a necklace",
    "bracelet": "a bracelet",
    "watch": "a watch",
    "ring": "a ring",
}
#: Unit abbreviations in words.
UNIT_NAMES = {"m": "metres", "dm": "decimetres", "cm": "centimetres", "mm": "millimetres", "in": "inches"}


def detect_units(parts: list[RawPart], category: str, declared: str | None, forced: str | None) -> tuple[str, bool]:
    """The unit to read the file in, and whether it gives a plausible size for the category."""
    how, lo, hi = SIZE_RANGES[category]
    raw = _size(_all_points(parts), how)
    if raw <= 0 or not math.isfinite(raw):
        raise UnitsError("the item has no extent to measure (all its points coincide)")
    if forced:
        s = raw * UNITS_M[forced]
        return forced, lo <= s <= hi
    if declared and lo <= raw * UNITS_M[declared] <= hi:
        return declared, True
    centre = math.sqrt(lo * hi)
    scored = sorted(UNITS_M, key=lambda u: abs(math.log(raw * UNITS_M[u] / centre)))
    for u in scored:
        if lo <= raw * UNITS_M[u] <= hi:
            return u, True
    return scored[0], False


def _rotation_z_up_to_y_up() -> np.ndarray:
    return np.array([[1.0, 0, 0], [0, 0, 1.0], [0, -1.0, 0]])


def _euler_deg(rx: float, ry: float, rz: float) -> np.ndarray:
    return (
        axis_angle([0, 0, 1], math.radians(rz))
        @ axis_angle([0, 1, 0], math.radians(ry))
        @ axis_angle([1, 0, 0], math.radians(rx))
    )


def orient(
    parts: list[RawPart], category: str, up_hint: str | None, forced_up: str | None
) -> tuple[np.ndarray, list[str]]:
    """Rotation (3, 3) bringing the item to y-up, +z front, with what was decided."""
    notes: list[str] = []
    pts = _all_points(parts)
    ext = pts.max(axis=0) - pts.min(axis=0)
    R = np.eye(3)
    up = forced_up or up_hint
    if up is None and category in SKINNED + ("shoes",):
        if category in SKINNED and ext[2] > 1.3 * ext[1]:
            up = "z"
        elif category == "shoes" and ext[1] > max(ext[0], ext[2]):
            up = "z"
    if up == "z":
        R = _rotation_z_up_to_y_up()
        notes.append("turned the item from z-up to y-up")
    if category == "shoes":
        p = pts @ R.T
        one = _one_of_pair(p)  # a pair side by side: its width says nothing of a shoe's length
        e = one.max(axis=0) - one.min(axis=0)
        if e[0] > e[2]:  # length along x: turn it onto z
            R = axis_angle([0, 1, 0], -math.pi / 2) @ R
            p = pts @ R.T
        # The toe end is the low end (heel counter and opening are higher at the back).
        z = p[:, 2]
        zlo, zhi = z.min(), z.max()
        back = p[z < zlo + 0.2 * (zhi - zlo), 1].max()
        front = p[z > zhi - 0.2 * (zhi - zlo), 1].max()
        if front > back:
            R = axis_angle([0, 1, 0], math.pi) @ R
            notes.append("turned the shoe so its toe points forward")
    if category == "glasses":
        R, turned = _face_glasses_forward(parts, R)
        if turned:
            notes.append(turned)
    return R, notes


def _one_of_pair(p: np.ndarray, min_gap: float = 0.15) -> np.ndarray:
    """(N, 3) points of one shoe when ``p`` holds a pair apart along a horizontal axis (a
    gap of at least ``min_gap`` of the extent along x or z), else ``p``."""
    for axis in (0, 2):
        v = np.sort(p[:, axis])
        if len(v) < 2:
            continue
        jumps = np.diff(v)
        k = int(np.argmax(jumps))
        if jumps[k] > min_gap * (v[-1] - v[0]):
            split = v[k] + 0.5 * jumps[k]
            return p[p[:, axis] > split]
    return p


def _face_glasses_forward(parts: list[RawPart], R: np.ndarray) -> tuple[np.ndarray, str]:
    """Glasses are heavy at the front (lenses, rims) and light at the back (temples): the
    horizontal axis along which the surface's area centroid sits far off the middle is the
    depth, and the heavy end is the front (+z). Returns the rotation and what was done."""
    centroids, areas = [], []
    for p in parts:
        tri = (p.positions.astype(np.float64) @ R.T)[p.faces]
        centroids.append(tri.mean(axis=1))
        areas.append(0.5 * np.linalg.norm(np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0]), axis=1))
    c, w = np.concatenate(centroids), np.concatenate(areas)
    if w.sum() <= 0:
        return R, ""
    pts = _all_points(parts) @ R.T
    lo, hi = pts.min(axis=0), pts.max(axis=0)
    mean = (c * w[:, None]).sum(axis=0) / w.sum()
    lean = (mean - 0.5 * (lo + hi)) / np.maximum(hi - lo, 1e-9)  # -0.5..0.5 along each axis
    note = ""
    if abs(lean[0]) > abs(lean[2]) + 0.05:  # the temples run along x: turn them back along z
        R = axis_angle([0, 1, 0], -math.pi / 2 if lean[0] > 0 else math.pi / 2) @ R
        note = "turned the glasses so the lenses face forward (the temples ran sideways)"
    elif lean[2] < -0.05:  # the lenses at the back
        R = axis_angle([0, 1, 0], math.pi) @ R
        note = "turned the glasses round so the lenses face forward"
    return R, note


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


# -- the fit per category ----------------------------------------------------------------
@functools.lru_cache(maxsize=1)
def _body_slices() -> tuple[np.ndarray, np.ndarray]:
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
    heights, ell = _body_slices()
    y = points[:, 1]
    cols = [np.interp(y, heights, ell[:, k], left=np.nan, right=np.nan) for k in range(4)]
    cx, cz, ax, az = cols
    r = np.sqrt(((points[:, 0] - cx) / ax) ** 2 + ((points[:, 2] - cz) / az) ** 2)
    return r if normalised else (r - 1.0) * 0.5 * (ax + az)


def _fit_clothes(parts: list[RawPart], category: str, m: Mannequin, wide: bool) -> tuple[float, np.ndarray, float]:
    """Uniform scale and translation hugging the body. The cost is the median distance of the
    garment's surface to the trunk (per-height ellipses, see :func:`radial_distance`) plus a
    penalty when its innermost tenth goes inside. Returns (scale, translation, distance)."""
    from scipy.optimize import minimize

    pts = _all_points(parts)
    if len(pts) > 6000:
        pts = pts[np.random.default_rng(0).choice(len(pts), 6000, replace=False)]
    a = anchors()
    lo, hi = pts.min(axis=0), pts.max(axis=0)
    centre_xz = np.array([0.5 * (lo[0] + hi[0]), 0.0, 0.5 * (lo[2] + hi[2])])
    pts = pts - centre_xz  # centre on the body axis in x and z
    top_y = {"bottom": a.torso_y[0] + 0.12, "full-outfit": a.nape[1] + 0.02}.get(category, a.nape[1] - 0.01)
    # The trunk's own front-back centre (the body axis is not at z = 0: the belly is deeper
    # than the back), so a garment centred on it starts around the body, not half inside.
    heights, ellipses = _body_slices()
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


def _rotate_about(axis: np.ndarray, theta: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Vectors (N, 3) each turned by its own angle theta (N,) about one unit axis (Rodrigues)."""
    c, s = np.cos(theta)[:, None], np.sin(theta)[:, None]
    return v * c + np.cross(axis, v) * s + np.outer(v @ axis, axis) * (1.0 - c)


def repose_sleeves(parts: list[RawPart], m: Mannequin, min_turn_deg: float = 10.0) -> tuple[list[RawPart], list]:
    """Turn each sleeve about its shoulder onto the mannequin's upper arm: a top modelled on a
    T-pose (or arms down) would otherwise have the arms poke through it. A sleeve is the
    garment beyond the shoulder joint; the turn fades in over its first 8 cm so the armhole
    stays joined. Returns the parts and [(side, degrees)] of the sleeves turned."""
    sk = m.skeleton
    pts = _all_points(parts)
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
            pos[moving] = shoulder + _rotate_about(axis, theta, pos[moving] - shoulder)
            if nrm is not None:
                nrm[moving] = _rotate_about(axis, theta, nrm[moving])
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
    pts = _all_points(parts)
    y0, y1 = float(pts[:, 1].min()), float(pts[:, 1].max())
    lo, hi = y0 + low * (y1 - y0), y0 + high * (y1 - y0)
    out, removed = [], 0
    for p in parts:
        cy = p.positions[p.faces][:, :, 1].mean(axis=1)
        keep = (cy >= lo) & (cy <= hi)
        removed += int((~keep).sum())
        if keep.any():
            out.append(_keep_faces(p, keep))
    return out, removed


def _keep_faces(p: RawPart, keep: np.ndarray) -> RawPart:
    """The part with only the faces ``keep`` (F,) bool, unused vertices dropped."""
    faces = p.faces[keep]
    used = np.unique(faces)
    remap = -np.ones(len(p.positions), np.int64)
    remap[used] = np.arange(len(used))
    return RawPart(
        p.positions[used],
        remap[faces],
        None if p.normals is None else p.normals[used],
        None if p.uvs is None else p.uvs[used],
        p.material,
        p.name,
    )


def trim_far(
    parts: list[RawPart], max_distance_m: float = 0.1, max_body_distance_m: float = 0.15
) -> tuple[list[RawPart], int]:
    """Drop faces all of whose corners are farther than ``max_distance_m`` from the body's
    trunk and ``max_body_distance_m`` from any of the body (arms and head included: sleeves
    and collars stay) -- a display stand, a hanger, a floor -- or deep inside the trunk (a
    stand's pole): they are not part of what is worn, or could never be seen."""
    out, dropped = [], 0
    tree = _body_tree()
    for p in parts:
        d = radial_distance(p.positions)
        r = radial_distance(p.positions, normalised=True)
        near_body = tree.query(p.positions.astype(np.float64), k=1)[0] <= max_body_distance_m
        far_trunk = ~np.isfinite(d) | (d > max_distance_m)
        far = (far_trunk & ~near_body) | (np.nan_to_num(r, nan=1.0) < INNER_RADIUS)

        keep = ~far[p.faces].all(axis=1)
        dropped += int((~keep).sum())
        if keep.any():
            q = _select(p, np.ones(len(p.positions), bool)) if keep.all() else None
            out.append(q if q is not None else _keep_faces(p, keep))
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
        (m.positions_m.astype(np.float64), m.normals.astype(np.float64), _body_tree(), gap_m),
        (m.occluder.positions_m.astype(np.float64), m.occluder.normals.astype(np.float64), _occluder_tree(), 0.0),
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


@dataclass
class FitResult:
    parts: list[RawPart]
    bones: list[str | None]
    report: FitReport


def fit(
    parts: list[RawPart],
    category: str,
    declared_units: str | None,
    up_hint: str | None,
    overrides: FitOverrides | None = None,
    mannequin: Mannequin | None = None,
) -> FitResult:
    """Units, orientation and placement of an item on the mannequin (see the module docstring)."""
    o = overrides or FitOverrides()
    m = mannequin or load_mannequin()
    a = anchors()
    unit, plausible = detect_units(parts, category, declared_units, o.units)
    a_item = ITEM_NOUNS.get(category, f"a {category}")
    report = FitReport(units=unit, unit_scale=UNITS_M[unit], declared_units=declared_units)
    how, lo, hi = SIZE_RANGES[category]
    raw_size = _size(_all_points(parts), how)
    if declared_units and unit != declared_units:
        report.warnings.append(
            f"its {how} would be {raw_size * UNITS_M[declared_units] * 100:.1f} cm in the file's declared "
            f"{UNIT_NAMES[declared_units]}, implausible for {a_item}: read it in {UNIT_NAMES[unit]} "
            f"({raw_size * UNITS_M[unit] * 100:.1f} cm)"
        )
    elif not declared_units and not o.units:
        report.warnings.append(
            f"the file declares no units: read in {UNIT_NAMES[unit]} from its size "
            f"({raw_size * UNITS_M[unit] * 100:.1f} cm {how})"
        )
    if not plausible and o.units:
        raise UnitsError(
            f"read in {UNIT_NAMES[o.units]} as asked, its {how} is {raw_size * UNITS_M[o.units] * 100:.3g} cm, "
            f"implausible for {a_item} ({lo * 100:.0f}-{hi * 100:.0f} cm): check --units, or leave it out to "
            "detect the unit"
        )
    if not plausible:
        report.warnings.append(
            f"no unit makes its {how} plausible for {a_item} ({lo * 100:.0f}-{hi * 100:.0f} cm); "
            f"read in {UNIT_NAMES[unit]} and scaled to fit the body"
        )
    pre = 1.0
    if not plausible:
        pre = math.sqrt(lo * hi) / (raw_size * UNITS_M[unit])
        report.warnings.append(f"scaled it x{pre:.3g} to the typical size of {a_item} before fitting")
    parts = transform_parts(parts, np.eye(3), UNITS_M[unit] * pre)
    R, notes = orient(parts, category, up_hint, o.up_axis)
    report.warnings += notes
    if o.rotate_deg is not None:
        R = _euler_deg(*o.rotate_deg) @ R
    parts = transform_parts(parts, R)
    report.rotation = R.tolist()

    bones: list[str | None]
    if category in SKINNED:
        s, t, dist = _fit_clothes(parts, category, m, wide=not plausible)
        parts = transform_parts(parts, np.eye(3), s, t)
        report.scale, report.offset_m, report.distance_m = s * pre, list(map(float, t)), dist
        if category in ("top", "outerwear", "dress", "full-outfit"):
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
        parts, dropped = trim_far(parts)
        if dropped > 0.005 * total:
            report.warnings.append(f"removed {dropped} of {total} faces far outside or deep inside the body (a stand?)")
        parts, moved = conform(parts, mannequin=m)
        if moved:
            report.warnings.append(f"eased {moved} vertices out of the body so the garment sits on it")

        bones = [None] * len(parts)
        limit = 0.06
        if dist > limit:
            raise DoesNotFitError(
                f"after fitting, the garment's surface stays {dist * 100:.1f} cm from the mannequin's body "
                f"(at most {limit * 100:.0f} cm for {ITEM_NOUNS.get(category, category)}); check the category, "
                "or model it around a body"
            )
    else:
        parts, bones, dist = _fit_rigid(parts, category, a, report, plausible)
        report.distance_m = dist
        report.scale *= pre
    if abs(math.log(report.scale)) > math.log(1.25):
        report.warnings.append(f"scaled it x{report.scale:.3g} overall to fit the mannequin")
    if o.scale is not None:
        parts = _scale_about_anchor(parts, category, o.scale, a)
        report.scale *= o.scale
    if o.offset_m is not None:
        parts = transform_parts(parts, np.eye(3), 1.0, o.offset_m)
    if o.bone is not None:
        bones = [o.bone] * len(parts)
    report.bone = next((b for b in bones if b), None)
    return FitResult(parts, bones, report)


def _scale_about_anchor(parts: list[RawPart], category: str, s: float, a: Anchors) -> list[RawPart]:
    """A manual ``--scale`` about where the item is worn (the eyes for glasses, the crown for
    a hat, each heel or ear lobe for a pair, the wrist, finger or neck), so it grows in place."""
    pivots = {
        "glasses": [0.5 * (a.eyes[0] + a.eyes[1])],
        "hat": [a.head_top],
        "earrings": list(a.ear_lobes),
        "shoes": list(a.heels),
        "watch": [a.wrist_centre],
        "bracelet": [a.wrist_centre],
        "ring": [a.ring_centre],
        "necklace": [a.neck_centre],
    }.get(category)
    out = []
    for p in parts:
        pos = p.positions.astype(np.float64)
        if pivots is None:  # clothes: about their own middle
            all_pts = _all_points(parts)
            pivot = np.broadcast_to(0.5 * (all_pts.min(axis=0) + all_pts.max(axis=0)), pos.shape)
        else:
            anchors_ = np.asarray(pivots)
            nearest = np.argmin(np.linalg.norm(pos[:, None, :] - anchors_[None], axis=2), axis=1)
            pivot = anchors_[nearest]
        out.append(replace(p, positions=(pivot + s * (pos - pivot)).astype(p.positions.dtype)))
    return out


def _mirror_x(parts: list[RawPart]) -> list[RawPart]:
    return transform_parts(parts, np.diag([-1.0, 1.0, 1.0]))


def _fit_rigid(
    parts: list[RawPart], category: str, a: Anchors, report: FitReport, plausible: bool
) -> tuple[list[RawPart], list[str | None], float]:
    pts = _all_points(parts)
    lo, hi = pts.min(axis=0), pts.max(axis=0)

    if category == "shoes":
        foot_len = float(np.linalg.norm(a.toes[0] - a.heels[0])) * 1.12
        length = hi[2] - lo[2]
        s = foot_len / length
        if plausible and 0.85 < s < 1.2:
            pass  # a real shoe size; the runtime scales feet to the shopper anyway
        report.scale = s
        # A pair: two clusters far apart in x. Else one shoe, mirrored for the other foot.
        xs = pts[:, 0]
        gap = np.sort(xs)
        jumps = np.diff(gap)
        pair = len(jumps) and jumps.max() > 0.3 * (hi[0] - lo[0])
        if pair:
            split = gap[np.argmax(jumps)] + jumps.max() / 2
            left = [_select(p, p.positions[:, 0] > split) for p in parts]
            right = [_select(p, p.positions[:, 0] <= split) for p in parts]
            left, right = [p for p in left if p is not None], [p for p in right if p is not None]
        else:
            left, right = parts, _mirror_x(parts)
            report.mirrored = True
            report.warnings.append("one shoe: mirrored it for the other foot")
        out, bones = [], []
        for side, group, heel in (("L", left, a.heels[0]), ("R", right, a.heels[1])):
            g = _all_points(group)
            glo, ghi = g.min(axis=0), g.max(axis=0)
            ref = np.array([0.5 * (glo[0] + ghi[0]), glo[1], glo[2]])  # heel-bottom-centre of the shoe
            t = heel - ref * s + np.array([0.0, 0.0, -0.01])
            placed = transform_parts(group, np.eye(3), s, t)
            out += placed
            bones += [f"foot.{side}"] * len(placed)
        return out, bones, 0.0

    if category == "glasses":
        width = hi[0] - lo[0]
        s = (a.head_width * 1.0) / width if not plausible else float(np.clip(a.head_width / width, 0.85, 1.15))
        report.scale = s
        eye_mid = 0.5 * (a.eyes[0] + a.eyes[1])
        front_z = max(a.eyes[0][2], a.eyes[1][2]) + 0.028
        # the front frame (max z) in front of the eyes, the lens centres at eye height
        ref = np.array([0.5 * (lo[0] + hi[0]), lo[1] + 0.62 * (hi[1] - lo[1]), hi[2]])
        t = np.array([eye_mid[0], eye_mid[1], front_z]) - ref * s
        return transform_parts(parts, np.eye(3), s, t), ["head"] * len(parts), 0.0

    if category == "hat":
        # The crown's width just above the brim, scaled to the head; its bottom a few cm
        # below the crown of the head.
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
        return transform_parts(parts, np.eye(3), s, target - ref * s), ["head"] * len(parts), 0.0

    if category == "earrings":
        size = (hi - lo).max()
        s = 1.0 if plausible else 0.03 / size
        report.scale = s
        hook = pts[np.argmax(pts[:, 1])]  # the top of the earring is where it hangs from
        out, bones = [], []
        for lobe, group in zip(a.ear_lobes, (parts, _mirror_x(parts))):
            g = _all_points(group)
            h = g[np.argmax(g[:, 1])]
            placed = transform_parts(group, np.eye(3), s, lobe - h * s)
            out += placed
            bones += ["head"] * len(placed)
        report.mirrored = True
        del hook
        return out, bones, 0.0

    if category == "necklace":
        # Hung from the nape; a chain's links are then draped one by one onto the neck,
        # trapezius and chest (it keeps its length); a solid necklace is grown until it rests
        # on them instead of sinking in.
        width = hi[0] - lo[0]
        s0 = 1.0 if plausible else (2 * a.neck_radius + 0.09) / width
        ref = np.array([0.5 * (lo[0] + hi[0]), hi[1], lo[2]])  # back-top: the nape
        target = a.nape + np.array([0.0, 0.0, -0.006])
        m = load_mannequin()
        body, normals = m.positions_m.astype(np.float64), m.normals.astype(np.float64)
        tree = _body_tree()

        def inside_share(s: float) -> float:
            q = (pts - ref) * s + target
            _, i = tree.query(q)
            return float(np.mean(np.einsum("ij,ij->i", q - body[i], normals[i]) < 0.0005))

        placed = transform_parts(parts, np.eye(3), s0, target - ref * s0)
        draped = _drape_links(placed, body, normals, tree)
        if draped is not None:  # a chain of separate links: each rests on the body, as worn
            report.scale = s0
            report.warnings.append("draped its links over the neck and chest")
            return draped, ["spine01"] * len(parts), 0.0
        s = s0
        for k in np.linspace(1.0, 1.8, 33):
            s = s0 * k
            if inside_share(s) < 0.03:
                break
        report.scale = s
        return transform_parts(parts, np.eye(3), s, target - ref * s), ["spine01"] * len(parts), 0.0

    if category == "watch" and not _is_loop(pts):
        return _fit_dial(parts, a, report, plausible)

    if category in ("watch", "bracelet", "ring"):
        axis, dial = _loop_axis_and_dial(pts)
        if category == "ring":
            centre_t, axis_t, r_t, dorsal = a.ring_centre, a.ring_axis, a.ring_radius, a.wrist_dorsal
            bone = "wrist.L"
        else:
            centre_t, axis_t, r_t, dorsal = a.wrist_centre, a.wrist_axis, a.wrist_radius, a.wrist_dorsal
            bone = "lowerarm02.L"
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
        gap = 0.004 if category != "ring" else 0.0003
        s = (r_t + gap) / max(inner, 1e-9)
        if plausible and 0.8 < s < 1.25 and category == "ring":
            s = s  # a ring's real size still has to fit the finger
        report.scale = s
        # Loop centre (the bounding centre) onto the limb axis.
        qlo, qhi = q.min(axis=0), q.max(axis=0)
        loop_c = 0.5 * (qlo + qhi)
        placed = transform_parts(parts, Rl, s, centre_t - loop_c * s)
        report.rotation = (Rl @ np.asarray(report.rotation)).tolist()
        return placed, [bone] * len(placed), 0.0

    raise ValueError(f"no fit for category {category!r}")


def _is_loop(points: np.ndarray) -> bool:
    """Whether an item wraps around an empty middle (a strap, a bangle, a ring) rather than
    being a flat dial: seen along its thinnest axis, nothing lies near its centre."""
    c = 0.5 * (points.min(axis=0) + points.max(axis=0))
    _, _, vt = np.linalg.svd(points - points.mean(axis=0), full_matrices=False)
    rel = points - c
    inplane = rel - np.outer(rel @ vt[2], vt[2])
    r = np.linalg.norm(inplane, axis=1)
    return bool(r.min() > 0.35 * r.max())


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


def _fit_dial(parts: list[RawPart], a: Anchors, report: FitReport, plausible: bool):
    """A watch that is only a dial: face outward on the back of the left wrist, 12 o'clock
    toward the hand, scaled to a 42 mm dial unless its own size is a plausible dial, and a
    leather strap added around the wrist."""
    pts = _all_points(parts)
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
    return placed + [strap], ["lowerarm02.L"] * (len(placed) + 1), 0.0


def _select(p: RawPart, keep_vertices: np.ndarray) -> RawPart | None:
    """The part's faces whose corners are all in ``keep_vertices`` (V,) bool, or None."""
    keep = keep_vertices[p.faces].all(axis=1)
    return _keep_faces(p, keep) if keep.any() else None


# -- rigging -----------------------------------------------------------------------------
def transfer_weights(positions_m: np.ndarray, mannequin: Mannequin | None = None, k: int = 4) -> SkinWeights:
    """Skin weights from the nearest body vertices (inverse-distance mix of ``k``)."""
    m = mannequin or load_mannequin()
    tree = _body_tree()
    d, idx = tree.query(np.asarray(positions_m, dtype=np.float64), k=k)
    w = 1.0 / np.maximum(d, 1e-4) ** 2
    w /= w.sum(axis=1, keepdims=True)
    dense = m.skin.to_dense()
    mixed = np.einsum("vk,vkj->vj", w, dense[idx])
    return SkinWeights.from_dense(mixed)


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


@functools.lru_cache(maxsize=1)
def _body_tree() -> cKDTree:
    return cKDTree(load_mannequin().positions_m.astype(np.float64))


@functools.lru_cache(maxsize=1)
def _occluder_tree() -> cKDTree:
    return cKDTree(load_mannequin().occluder.positions_m.astype(np.float64))
