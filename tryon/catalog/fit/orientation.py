"""Orientation: an item's file turned y-up, +z front (glTF's convention, the mannequin's).

glTF is y-up, +z front. Files without a convention that are clearly z-up (a garment taller
along z, a shoe taller than long) are turned y-up; which test applies is the category's
fitter's (:mod:`tryon.catalog.fit.clothes`, :mod:`tryon.catalog.fit.accessories`). Some
fitters then turn the item to face forward: shoes their length onto z, toe forward (the toe
end is the low end); glasses their lenses forward (the heavy end). Rotations are (3, 3),
applied as ``x -> R x``.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from tryon.body.rotations import axis_angle
from tryon.catalog.assets import RawPart
from tryon.catalog.fit.mesh import all_points

#: Whether a file with no up convention is z-up, from its extents (3,) (x, y, z).
ZUpTest = Callable[[np.ndarray], bool]
#: After the up axis: (parts, R so far) -> (R turned to face forward, what was done or "").
Turn = Callable[[list[RawPart], np.ndarray], tuple[np.ndarray, str]]


def z_up_to_y_up() -> np.ndarray:
    """(3, 3): z-up, -y front (a z-up export) to y-up, +z front."""
    return np.array([[1.0, 0, 0], [0, 0, 1.0], [0, -1.0, 0]])


def euler_deg(rx: float, ry: float, rz: float) -> np.ndarray:
    """(3, 3): x, y, z Euler angles in degrees, applied x first."""
    return (
        axis_angle([0, 0, 1], math.radians(rz))
        @ axis_angle([0, 1, 0], math.radians(ry))
        @ axis_angle([1, 0, 0], math.radians(rx))
    )


def garment_is_z_up(ext: np.ndarray) -> bool:
    """Clothes are taller than deep: one deeper than 1.3 times its height lies z-up."""
    return bool(ext[2] > 1.3 * ext[1])


def shoe_is_z_up(ext: np.ndarray) -> bool:
    """A shoe is longer than tall: one taller than its length and width lies z-up."""
    return bool(ext[1] > max(ext[0], ext[2]))


def orient(
    parts: list[RawPart],
    up_hint: str | None,
    forced_up: str | None,
    z_up: ZUpTest | None = None,
    turn: Turn | None = None,
) -> tuple[np.ndarray, list[str]]:
    """Rotation (3, 3) bringing the item to y-up, +z front, with what was decided: the
    ``forced_up`` axis, else the file's ``up_hint``, else the category's ``z_up`` test; then
    the category's ``turn``."""
    notes: list[str] = []
    pts = all_points(parts)
    ext = pts.max(axis=0) - pts.min(axis=0)
    R = np.eye(3)
    up = forced_up or up_hint
    if up is None and z_up is not None and z_up(ext):
        up = "z"
    if up == "z":
        R = z_up_to_y_up()
        notes.append("turned the item from z-up to y-up")
    if turn is not None:
        R, turned = turn(parts, R)
        if turned:
            notes.append(turned)
    return R, notes


def turn_shoe_toe_forward(parts: list[RawPart], R: np.ndarray) -> tuple[np.ndarray, str]:
    """A shoe's length onto z (one shoe's, when the file holds a pair side by side), its toe
    toward +z: the toe end is the low end (heel counter and opening are higher at the back)."""
    pts = all_points(parts)
    p = pts @ R.T
    one = one_of_pair(p)  # a pair side by side: its width says nothing of a shoe's length
    e = one.max(axis=0) - one.min(axis=0)
    if e[0] > e[2]:  # length along x: turn it onto z
        R = axis_angle([0, 1, 0], -math.pi / 2) @ R
        p = pts @ R.T
    z = p[:, 2]
    zlo, zhi = z.min(), z.max()
    back = p[z < zlo + 0.2 * (zhi - zlo), 1].max()
    front = p[z > zhi - 0.2 * (zhi - zlo), 1].max()
    if front > back:
        return axis_angle([0, 1, 0], math.pi) @ R, "turned the shoe so its toe points forward"
    return R, ""


def one_of_pair(p: np.ndarray, min_gap: float = 0.15) -> np.ndarray:
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


def turn_glasses_lenses_forward(parts: list[RawPart], R: np.ndarray) -> tuple[np.ndarray, str]:
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
    pts = all_points(parts) @ R.T
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
