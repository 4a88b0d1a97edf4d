"""The fit's inputs and outputs: manual overrides, the report, the fitted parts."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from tryon.body.skeleton import BONE_NAMES
from tryon.catalog.assets import RawPart
from tryon.catalog.fit.units import UNITS_M


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
    offset_m : extra translation after fitting (model metres). bone : the bone to ride.
    fabric : the materials' fabric kind, ``"wool"`` or ``"strap=leather,dial=metal"`` (see
    :mod:`tryon.render.fabric`; not a fit, but kept and re-applied with the other manual
    choices)."""

    units: str | None = None
    up_axis: str | None = None
    rotate_deg: tuple[float, float, float] | None = None
    scale: float | None = None
    offset_m: tuple[float, float, float] | None = None
    bone: str | None = None
    keep_height: tuple[float, float] | None = None
    fabric: str | None = None

    def __post_init__(self) -> None:
        if self.fabric is not None:
            from tryon.render.fabric import parse_fabric_spec

            parse_fabric_spec(self.fabric)  # a clear message for an unknown kind
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


@dataclass
class FitResult:
    """parts : fitted, model metres on the mannequin. bones : per part, the bone a rigid part
    rides (None for clothes). report : what was done."""

    parts: list[RawPart]
    bones: list[str | None]
    report: FitReport
