"""The automatic fit: an uploaded mesh, in its own units and axes, onto the mannequin.

Model metres on the bind-pose mannequin (y up, +z front, +x its left; :mod:`tryon.frames`).

1. **Units** (:mod:`~tryon.catalog.fit.units`): read in the unit that gives a plausible size
   for the category.
2. **Orientation** (:mod:`~tryon.catalog.fit.orientation`): turned y-up, +z front, by the
   category's fitter's rules.
3. **Fit by category:** clothes by :mod:`~tryon.catalog.fit.clothes`, rigid items by their
   entry in :data:`~tryon.catalog.fit.accessories.ACCESSORY_FITTERS`.
4. **Manual overrides** (scale, rotation, offset, bone) stored in the manifest win over all of
   this.

Rigging (skin weights for clothes) is :mod:`~tryon.catalog.fit.rigging`, done by the import
pipeline on the fitted parts.
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np

from tryon.body.mannequin import Mannequin, load_mannequin
from tryon.catalog.assets import RawPart
from tryon.catalog.categories import lookup
from tryon.catalog.fit import clothes
from tryon.catalog.fit.accessories import accessory_fitter
from tryon.catalog.fit.anchors import anchors
from tryon.catalog.fit.mesh import all_points, transform_parts
from tryon.catalog.fit.orientation import euler_deg, orient
from tryon.catalog.fit.types import FitOverrides, FitReport, FitResult
from tryon.catalog.fit.units import UNITS_M, read_units


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
    kind = lookup(category)
    fitter = None if kind.skinned else accessory_fitter(category)
    units = read_units(parts, category, declared_units, o.units)
    report = FitReport(units=units.unit, unit_scale=UNITS_M[units.unit], declared_units=declared_units)
    report.warnings += units.warnings
    parts = transform_parts(parts, np.eye(3), units.scale)
    if fitter is None:
        R, notes = orient(parts, up_hint, o.up_axis, z_up=clothes.z_up)
    else:
        R, notes = orient(parts, up_hint, o.up_axis, z_up=fitter.z_up, turn=fitter.turn)
    report.warnings += notes
    if o.rotate_deg is not None:
        R = euler_deg(*o.rotate_deg) @ R
    parts = transform_parts(parts, R)
    report.rotation = R.tolist()

    bones: list[str | None]
    if fitter is None:
        parts, bones = clothes.fit_clothes(parts, kind, m, units.plausible, units.pre_scale, o, report)
    else:
        parts, bones = fitter.place(parts, kind, a, report, units.plausible)
        report.distance_m = 0.0
        report.scale *= units.pre_scale
    if abs(math.log(report.scale)) > math.log(1.25):
        report.warnings.append(f"scaled it x{report.scale:.3g} overall to fit the mannequin")
    if o.scale is not None:
        pivots = None if fitter is None else fitter.anchors(a)
        parts = scale_about(parts, o.scale, pivots)
        report.scale *= o.scale
    if o.offset_m is not None:
        parts = transform_parts(parts, np.eye(3), 1.0, o.offset_m)
    if o.bone is not None:
        bones = [o.bone] * len(parts)
    report.bone = next((b for b in bones if b), None)
    return FitResult(parts, bones, report)


def scale_about(parts: list[RawPart], s: float, pivots: list[np.ndarray] | None) -> list[RawPart]:
    """A manual ``--scale`` about where the item is worn (``pivots``: each vertex about the
    nearest: the eyes for glasses, the crown for a hat, each heel or ear lobe for a pair, the
    wrist, finger or neck), so it grows in place; None (clothes): about their own middle."""
    out = []
    for p in parts:
        pos = p.positions.astype(np.float64)
        if pivots is None:  # clothes: about their own middle
            all_pts = all_points(parts)
            pivot = np.broadcast_to(0.5 * (all_pts.min(axis=0) + all_pts.max(axis=0)), pos.shape)
        else:
            anchors_ = np.asarray(pivots)
            nearest = np.argmin(np.linalg.norm(pos[:, None, :] - anchors_[None], axis=2), axis=1)
            pivot = anchors_[nearest]
        out.append(replace(p, positions=(pivot + s * (pos - pivot)).astype(p.positions.dtype)))
    return out
