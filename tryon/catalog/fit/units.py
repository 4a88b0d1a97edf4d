"""Units: which unit a file's numbers are in, from the plausible size of its category.

Each category has a plausible size for its main dimension (a top's height, a shoe's length,
glasses' width...: ``Category.size`` in :mod:`tryon.catalog.categories`). Of metres,
decimetres, centimetres, millimetres and inches, the declared unit is kept when it gives a
plausible size; otherwise the unit that does is chosen, and the import says so (a 5 cm corset
was modelled in decimetres). When no unit fits, the nearest is taken and the item is scaled
to the category's typical size before fitting, with a warning.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from tryon.catalog.assets import RawPart, UnitsError
from tryon.catalog.categories import lookup
from tryon.catalog.fit.mesh import all_points

UNITS_M = {"m": 1.0, "dm": 0.1, "cm": 0.01, "mm": 0.001, "in": 0.0254}
#: Unit abbreviations in words.
UNIT_NAMES = {"m": "metres", "dm": "decimetres", "cm": "centimetres", "mm": "millimetres", "in": "inches"}


def size_along(points: np.ndarray, how: str) -> float:
    """The extent of (N, 3) ``points`` measured as ``how`` (see categories.SIZE_MEASURES)."""
    ext = points.max(axis=0) - points.min(axis=0)
    return {"height": ext[1], "length": max(ext[0], ext[2]), "width": ext[0], "max": ext.max()}[how]


def detect_units(parts: list[RawPart], category: str, declared: str | None, forced: str | None) -> tuple[str, bool]:
    """The unit to read the file in, and whether it gives a plausible size for the category."""
    rule = lookup(category).size
    how, lo, hi = rule.measure, rule.low_m, rule.high_m
    raw = size_along(all_points(parts), how)
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


@dataclass(frozen=True)
class UnitReading:
    """How a file's numbers are read: ``unit``, whether it gives a plausible size, the extra
    ``pre_scale`` to the category's typical size when none does (1 otherwise), and what the
    import says about it."""

    unit: str
    plausible: bool
    pre_scale: float = 1.0
    warnings: list[str] = field(default_factory=list)

    @property
    def scale(self) -> float:
        """File units -> model metres, the pre-scale included."""
        return UNITS_M[self.unit] * self.pre_scale


def read_units(parts: list[RawPart], category: str, declared: str | None, forced: str | None) -> UnitReading:
    """The unit to read ``parts`` in for ``category`` (``forced``: the user's; ``declared``:
    the file's), with its warnings; an implausible forced unit is refused (UnitsError)."""
    unit, plausible = detect_units(parts, category, declared, forced)
    kind = lookup(category)
    a_item = kind.noun
    how, lo, hi = kind.size.measure, kind.size.low_m, kind.size.high_m
    raw_size = size_along(all_points(parts), how)
    warnings: list[str] = []
    if declared and unit != declared:
        warnings.append(
            f"its {how} would be {raw_size * UNITS_M[declared] * 100:.1f} cm in the file's declared "
            f"{UNIT_NAMES[declared]}, implausible for {a_item}: read it in {UNIT_NAMES[unit]} "
            f"({raw_size * UNITS_M[unit] * 100:.1f} cm)"
        )
    elif not declared and not forced:
        warnings.append(
            f"the file declares no units: read in {UNIT_NAMES[unit]} from its size "
            f"({raw_size * UNITS_M[unit] * 100:.1f} cm {how})"
        )
    if not plausible and forced:
        raise UnitsError(
            f"read in {UNIT_NAMES[forced]} as asked, its {how} is {raw_size * UNITS_M[forced] * 100:.3g} cm, "
            f"implausible for {a_item} ({lo * 100:.0f}-{hi * 100:.0f} cm): check --units, or leave it out to "
            "detect the unit"
        )
    if not plausible:
        warnings.append(
            f"no unit makes its {how} plausible for {a_item} ({lo * 100:.0f}-{hi * 100:.0f} cm); "
            f"read in {UNIT_NAMES[unit]} and scaled to fit the body"
        )
    pre = 1.0
    if not plausible:
        pre = math.sqrt(lo * hi) / (raw_size * UNITS_M[unit])
        warnings.append(f"scaled it x{pre:.3g} to the typical size of {a_item} before fitting")
    return UnitReading(unit, plausible, pre, warnings)
