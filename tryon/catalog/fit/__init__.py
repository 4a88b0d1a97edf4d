"""Auto-fit and auto-rig: an uploaded mesh, in its own units and axes, onto the mannequin.

| module | what it holds |
|---|---|
| :mod:`~tryon.catalog.fit.auto` | :func:`fit`: units, orientation, the category's fitter, manual overrides |
| :mod:`~tryon.catalog.fit.units` | the unit a file is in, from its category's plausible size |
| :mod:`~tryon.catalog.fit.orientation` | y-up, +z front; shoes toe-forward, glasses lenses-forward |
| :mod:`~tryon.catalog.fit.clothes` | the skinned fit: hugging the trunk, sleeves, trimming, easing out of the body |
| :mod:`~tryon.catalog.fit.accessories` | the table of rigid fitters, one per category |
| :mod:`~tryon.catalog.fit.rigging` | skin weights for clothes (weight transfer, pelvis-bound hems) |
| :mod:`~tryon.catalog.fit.anchors` | the mannequin's named fitting places |
| :mod:`~tryon.catalog.fit.mesh` | moving, mirroring and cutting raw parts |
| :mod:`~tryon.catalog.fit.types` | :class:`FitOverrides`, :class:`FitReport`, :class:`FitResult` |

The category facts the fit reads (plausible size, where clothes hang, sleeves, the bone) are
in :mod:`tryon.catalog.categories`.
"""

from tryon.catalog.fit.auto import fit
from tryon.catalog.fit.rigging import rig, transfer_weights
from tryon.catalog.fit.types import FitOverrides, FitReport, FitResult
from tryon.catalog.fit.units import UNITS_M, detect_units

__all__ = ["UNITS_M", "FitOverrides", "FitReport", "FitResult", "detect_units", "fit", "rig", "transfer_weights"]
