"""The items bundled in ``garments/``: where each came from and how it was made.

``tools/build_catalog.py`` rebuilds them from the team's asset collection.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from tryon.catalog.catalog import Catalog

MAKEHUMAN_LICENCE = "CC0 1.0 (MakeHuman system assets, released as CC0 in September 2020)"
PIECE_NOTE = {"top": "the top piece of the", "bottom": "the bottom piece of the", "all": "the whole"}
MAKEHUMAN_SOURCE = "GitHub makehumancommunity/makehuman-assets @ 8cf9645b, base/clothes/{name}/"


@dataclass(frozen=True)
class BundledItem:
    """id, name, category; ``source``: the main file relative to the asset collection;
    ``piece``: which part of a MakeHuman outfit; ``color_srgb``: 0-255, sampled from
    the MakeHuman thumbnail (the upstream textures are not available)."""

    id: str
    name: str
    category: str
    source: str
    piece: str = "all"
    color_srgb: tuple[int, int, int] = (200, 200, 200)
    roughness: float = 0.85


BUNDLED: tuple[BundledItem, ...] = (
    BundledItem(
        "navy-longsleeve",
        "Navy long-sleeve tee",
        "top",
        "makehuman_cc0/clothes/male_casualsuit02/male_casualsuit02.mhclo",
        "top",
        (29, 57, 93),
    ),
    BundledItem(
        "white-tee",
        "White T-shirt",
        "top",
        "makehuman_cc0/clothes/male_casualsuit06/male_casualsuit06.mhclo",
        "top",
        (235, 235, 235),
    ),
    BundledItem(
        "blue-jeans",
        "Blue jeans",
        "bottom",
        "makehuman_cc0/clothes/male_casualsuit04/male_casualsuit04.mhclo",
        "bottom",
        (57, 71, 82),
    ),
)


def bundled(item_id: str) -> BundledItem:
    for b in BUNDLED:
        if b.id == item_id:
            return b
    raise KeyError(f"no bundled item {item_id!r}; bundled: {', '.join(b.id for b in BUNDLED)}")


def build_bundled(item_id: str, source_root: Path, catalog_root: Path) -> Path:
    """Build one bundled item from the asset collection into ``catalog_root``."""
    from tryon.catalog.makehuman_clothes import import_makehuman_clothes

    b = bundled(item_id)
    main = Path(source_root) / b.source
    if main.suffix == ".mhclo":
        item = import_makehuman_clothes(
            main,
            item_id=b.id,
            name=b.name,
            category=b.category,
            piece=b.piece,
            base_color_srgb=tuple(c / 255.0 for c in b.color_srgb),
            roughness=b.roughness,
        )
        folder = main.parent
        originals = sorted(p for p in folder.iterdir() if p.is_file())
        name = folder.name
        extra = {
            "source": {
                "collection": "shared/data/garments_accessories/" + b.source,
                "upstream": MAKEHUMAN_SOURCE.format(name=name),
            },
            "licence": MAKEHUMAN_LICENCE,
            "units_original": "dm (MakeHuman), converted to m",
            "notes": f"{PIECE_NOTE[b.piece]} MakeHuman outfit {name}; colour sampled from its thumbnail",
        }
    else:
        raise ValueError(f"no recipe for {main.suffix} sources yet")
    return Catalog(catalog_root).store(item, originals, extra, replace=True)
