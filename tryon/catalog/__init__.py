"""The catalog: importing retailers' 3D files as try-on items, and storing them.

The public names::

    from tryon.catalog import Catalog, ImportOptions, FitOverrides, ImportLimits

    catalog = Catalog("my_catalog")
    catalog.add("jacket.glb", ImportOptions(category="outerwear", name="Rain jacket"))
    catalog.refit("rain-jacket", FitOverrides(scale=1.05))

See :mod:`tryon.catalog.pipeline` (the import's steps), :mod:`tryon.catalog.categories` (one
record per category) and :mod:`tryon.catalog.cli` (``tryon garments``).
"""

from tryon.catalog.assets import ImportLimits
from tryon.catalog.catalog import Catalog
from tryon.catalog.fit.types import FitOverrides
from tryon.catalog.pipeline import ImportOptions

__all__ = ["Catalog", "FitOverrides", "ImportLimits", "ImportOptions"]
