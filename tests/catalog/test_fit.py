"""The fitters on their own: every accessory fitter in the table puts a plain item of its
category on its anchor, riding its category's bone; clothes hug the trunk from where they
hang; units, orientation and rigging by the category's record."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import tube_part

from tryon.catalog.assets import RawPart
from tryon.catalog.categories import CATEGORIES
from tryon.catalog.fit import FitOverrides, detect_units, fit
from tryon.catalog.fit.accessories import ACCESSORY_FITTERS
from tryon.catalog.fit.anchors import anchors
from tryon.catalog.fit.clothes import radial_distance
from tryon.catalog.fit.mesh import all_points, transform_parts
from tryon.catalog.fit.orientation import orient, turn_glasses_lenses_forward
from tryon.catalog.fit.rigging import LEG_BONES, rig


# -- plain meshes, model metres, y up, +z front ------------------------------------------------------
def box(size_xyz, centre=(0.0, 0.0, 0.0), material: int = 0) -> RawPart:
    sx, sy, sz = np.asarray(size_xyz, dtype=np.float64) / 2
    corners = np.array([[x, y, z] for x in (-sx, sx) for y in (-sy, sy) for z in (-sz, sz)]) + centre
    faces = np.array(
        [[0, 1, 3], [0, 3, 2], [4, 6, 7], [4, 7, 5], [0, 4, 5], [0, 5, 1],
         [2, 3, 7], [2, 7, 6], [0, 2, 6], [0, 6, 4], [1, 5, 7], [1, 7, 3]]
    )  # fmt: skip
    return RawPart(corners, faces.astype(np.int64), material=material)


def torus(big_r: float, small_r: float, n: int = 64, m: int = 12, centre=(0.0, 0.0, 0.0)) -> RawPart:
    """A ring in the x-y plane (its axis along z)."""
    u, v = np.meshgrid(np.linspace(0, 2 * np.pi, n, endpoint=False), np.linspace(0, 2 * np.pi, m, endpoint=False))
    u, v = u.ravel(), v.ravel()
    pos = np.stack(
        [(big_r + small_r * np.cos(v)) * np.cos(u), (big_r + small_r * np.cos(v)) * np.sin(u), small_r * np.sin(v)], 1
    )
    faces = []
    for j in range(m):
        for i in range(n):
            a, b = j * n + i, j * n + (i + 1) % n
            c, d = ((j + 1) % m) * n + i, ((j + 1) % m) * n + (i + 1) % n
            faces += [[a, b, d], [a, d, c]]
    return RawPart(pos + np.asarray(centre), np.array(faces, np.int64))


def cylinder(radius: float, height: float, n: int = 48, centre=(0.0, 0.0, 0.0)) -> RawPart:
    """A closed cylinder about the y axis."""
    ang = np.linspace(0, 2 * np.pi, n, endpoint=False)
    ring = np.stack([radius * np.cos(ang), np.zeros(n), radius * np.sin(ang)], 1)
    caps = [[0, -height / 2, 0], [0, height / 2, 0]]
    pos = np.concatenate([ring - [0, height / 2, 0], ring + [0, height / 2, 0], caps])
    k = np.arange(n)
    k1 = (k + 1) % n
    faces = np.concatenate(
        [
            np.stack([k, k1 + n, k1], 1),
            np.stack([k, k + n, k1 + n], 1),
            np.stack([np.full(n, 2 * n), k, k1], 1),
            np.stack([np.full(n, 2 * n + 1), k1 + n, k + n], 1),
        ]
    )
    return RawPart(pos + np.asarray(centre), faces.astype(np.int64))


def rotated(part: RawPart, R: np.ndarray) -> RawPart:
    return transform_parts([part], R)[0]


QUARTER_X = np.array([[1.0, 0, 0], [0, 0, -1.0], [0, 1.0, 0]])  # x-y plane -> x-z plane


def shoe() -> list[RawPart]:
    """A wedge: 27 cm long along z, its heel end (-z) high, its toe end (+z) low."""
    p = box((0.1, 0.1, 0.27), (0.0, 0.05, 0.0))
    pos = p.positions.copy()
    front_top = (pos[:, 2] > 0) & (pos[:, 1] > 0.05)
    pos[front_top, 1] = 0.04
    return [RawPart(pos, p.faces)]


#: A plain item of each rigid category, y-up, +z front, metres.
ITEMS = {
    "shoes": shoe,
    "glasses": lambda: [
        box((0.14, 0.045, 0.006), (0.0, 0.0, 0.0)),
        box((0.004, 0.004, 0.13), (0.068, 0.01, -0.065)),
        box((0.004, 0.004, 0.13), (-0.068, 0.01, -0.065)),
    ],
    "hat": lambda: [cylinder(0.09, 0.12, centre=(0, 0.06, 0)), cylinder(0.16, 0.006, centre=(0, 0.003, 0))],
    "earrings": lambda: [torus(0.009, 0.001)],
    "necklace": lambda: [rotated(torus(0.07, 0.003), QUARTER_X)],
    "bracelet": lambda: [torus(0.03, 0.003)],
    "watch": lambda: [torus(0.03, 0.003), box((0.04, 0.01, 0.04), (0.0, 0.036, 0.0))],
    "ring": lambda: [torus(0.009, 0.0012)],
}


def test_every_accessory_fitter_has_a_plain_item_here():
    assert set(ITEMS) == set(ACCESSORY_FITTERS)


@pytest.mark.parametrize("category", sorted(ACCESSORY_FITTERS))
def test_each_accessory_fitter_places_its_item_at_its_anchor(category):
    """The item lands on each of its fitter's anchors (each shoe of a pair on its heel, each
    earring on its lobe), at a plausible size, riding its category's bone(s)."""
    kind, fitter = CATEGORIES[category], ACCESSORY_FITTERS[category]
    result = fit(ITEMS[category](), category, "m", "y")
    parts, bones = result.parts, result.bones
    assert set(bones) <= {kind.bone, kind.right_bone}, bones
    assert result.report.bone == kind.bone
    margin = 0.015
    targets = np.array(fitter.anchors(anchors()))
    centres = np.array([0.5 * (p.positions.min(axis=0) + p.positions.max(axis=0)) for p in parts])
    nearest = np.argmin(np.linalg.norm(centres[:, None] - targets[None], axis=2), axis=1)
    for k, anchor in enumerate(targets):
        mine = [i for i in range(len(parts)) if nearest[i] == k]
        assert mine, f"{category}: no part near anchor {k}"
        pts = np.concatenate([parts[i].positions for i in mine])
        lo, hi = pts.min(axis=0) - margin, pts.max(axis=0) + margin
        assert np.all(lo <= anchor) and np.all(anchor <= hi), f"{category}: anchor {k} {anchor} outside {lo}-{hi}"
        if kind.right_bone is not None:  # a pair: the item on each anchor rides that side's bone
            assert {bones[i] for i in mine} == {kind.bone if k == 0 else kind.right_bone}
    extent = np.ptp(all_points(parts), axis=0).max()
    assert extent < 0.5, f"{category}: {extent:.2f} m across"


def test_a_dial_alone_gets_a_strap_around_the_wrist():
    result = fit([cylinder(0.021, 0.008)], "watch", "m", "y")
    assert result.report.added_strap and len(result.parts) == 2
    assert result.bones == [CATEGORIES["watch"].bone] * 2
    strap = result.parts[1].positions
    rel = strap - anchors().wrist_centre
    along = rel @ anchors().wrist_axis
    radial = np.linalg.norm(rel - np.outer(along, anchors().wrist_axis), axis=1)
    assert radial.min() > 0.015 and radial.max() < 0.04  # around the wrist, not through it


def test_a_manual_scale_grows_an_accessory_about_its_anchor():
    plain = fit(ITEMS["ring"](), "ring", "m", "y")
    bigger = fit(ITEMS["ring"](), "ring", "m", "y", FitOverrides(scale=1.2))
    centre = anchors().ring_centre
    d0 = np.linalg.norm(all_points(plain.parts) - centre, axis=1)
    d1 = np.linalg.norm(all_points(bigger.parts) - centre, axis=1)
    assert np.allclose(d1, 1.2 * d0, atol=1e-6)


# -- clothes ------------------------------------------------------------------------------------------
tube = tube_part


@pytest.mark.parametrize("category", ["top", "bottom"])
def test_clothes_hang_from_their_hang_point_and_hug_the_trunk(category):
    kind = CATEGORIES[category]
    a = anchors()
    hang_y = (a.nape[1] if kind.hang_from == "nape" else a.torso_y[0]) + kind.hang_offset_m
    result = fit([tube(0.55, 0.19, 0.14)], category, "m", "y")
    pts = all_points(result.parts)
    assert result.bones == [None] * len(result.parts) and result.report.distance_m < 0.06
    assert pts[:, 1].max() < hang_y + 0.05  # never above where it hangs from (the fit's limit is 4 cm)
    d = radial_distance(pts)
    d = d[np.isfinite(d)]
    assert np.median(np.abs(d)) < 0.05 and np.percentile(d, 5) > -0.01  # on the trunk, eased out of it


def test_rigging_follows_the_category():
    """Tops end at the hips: their cloth there rides the pelvis, not the thighs; a dress's
    weights keep the legs."""
    a = anchors()
    hem = np.array([[x, a.torso_y[0] - 0.02, 0.1] for x in np.linspace(-0.15, 0.15, 7)])
    legs = sorted(LEG_BONES)
    top, dress = rig(hem, CATEGORIES["top"]), rig(hem, CATEGORIES["dress"])
    assert top.to_dense()[:, legs].sum() == 0.0
    assert dress.to_dense()[:, legs].sum() > 0.1
    assert np.allclose(top.to_dense().sum(axis=1), 1.0, atol=1e-5)


# -- units and orientation ---------------------------------------------------------------------------
def test_units_follow_the_category_size_rule():
    in_mm = [RawPart(p.positions * 1000, p.faces) for p in shoe()]
    assert detect_units(in_mm, "shoes", None, None) == ("mm", True)
    assert detect_units(in_mm, "shoes", "mm", None) == ("mm", True)
    assert detect_units(in_mm, "shoes", "cm", None) == ("mm", True)  # 2.7 m in cm: not a shoe
    assert detect_units(in_mm, "top", None, "mm") == ("mm", False)  # a 10 cm top: implausible


def test_a_z_up_shoe_is_turned_and_glasses_face_forward():
    z_up = transform_parts(shoe(), np.array([[1.0, 0, 0], [0, 0, -1.0], [0, 1.0, 0]]))  # y-up -> z-up
    fitter = ACCESSORY_FITTERS["shoes"]
    R, notes = orient(z_up, None, None, fitter.z_up, fitter.turn)
    back = all_points(transform_parts(z_up, R))
    assert "turned the item from z-up to y-up" in notes
    assert np.ptp(back[:, 2]) > 2 * np.ptp(back[:, 1])  # long along z again
    assert np.allclose(back, all_points(shoe()), atol=1e-9)  # toe forward: as modelled
    sideways = transform_parts(ITEMS["glasses"](), np.array([[0.0, 0, 1.0], [0, 1.0, 0], [-1.0, 0, 0]]))
    R, note = turn_glasses_lenses_forward(sideways, np.eye(3))
    assert "lenses face forward" in note
    front = all_points(transform_parts(sideways, R))
    assert np.allclose(front, all_points(ITEMS["glasses"]()), atol=1e-9)
