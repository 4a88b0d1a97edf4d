"""The shopper's own clothes, removed where the tried-on items do not cover them.

:mod:`tryon.ownclothes.mask` says what must go (the removal mask), :mod:`tryon.ownclothes.fill`
what is behind it (clean plate, inpainting), :mod:`tryon.ownclothes.stage` puts them together.
"""

from tryon.ownclothes.fill import CleanPlate, Inpainter, InpaintOptions, PlateOptions
from tryon.ownclothes.mask import OwnClothesOptions, RemovalMask, removal_mask, replaced_regions
from tryon.ownclothes.stage import Cleanup, OwnClothesRemover

__all__ = [
    "CleanPlate",
    "Cleanup",
    "InpaintOptions",
    "Inpainter",
    "OwnClothesOptions",
    "OwnClothesRemover",
    "PlateOptions",
    "RemovalMask",
    "removal_mask",
    "replaced_regions",
]
