"""Rebuild the bundled catalog in ``garments/`` through the retailer's import pipeline.

    python tools/build_catalog.py [--source ../shared/data/garments_accessories] [--only ID ...]
    python tools/build_catalog.py --from-originals   # from the files kept in garments/*/original

The sources live beside the project (``shared/data``), not in it; the procedural jewelry is
generated on the way. Re-running reproduces the bundled items.
"""

from __future__ import annotations

import argparse
import sys
import shutil
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tryon.catalog.bundled import BUNDLED, build_bundled, original_file  # noqa: E402
from tryon.catalog.procedural import generate_all  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--source", type=Path, default=ROOT.parent / "shared" / "data" / "garments_accessories")
    parser.add_argument("--catalog", type=Path, default=ROOT / "garments")
    parser.add_argument("--only", nargs="*", help="item ids to rebuild (default: all)")
    parser.add_argument(
        "--from-originals",
        action="store_true",
        help="re-import from the files each item keeps in its original/ folder (no asset collection needed)",
    )
    args = parser.parse_args()
    if not args.from_originals and not args.source.is_dir():
        print(f"error: asset collection not found at {args.source} (try --from-originals)", file=sys.stderr)
        return 2
    ids = args.only or [b.id for b in BUNDLED]
    with tempfile.TemporaryDirectory(prefix="tryon-jewelry-") as tmp:
        if not args.from_originals:
            generate_all(Path(tmp))
        for item_id in ids:
            if args.from_originals:
                with tempfile.TemporaryDirectory(prefix="tryon-original-") as keep:
                    # the import replaces the item's folder, original/ included: read from a copy
                    src = original_file(item_id, args.catalog)
                    copy = Path(keep) / src.parent.name
                    shutil.copytree(src.parent, copy)
                    folder, result = build_bundled(item_id, None, args.catalog, path=copy / src.name)
            else:
                folder, result = build_bundled(item_id, args.source, args.catalog, Path(tmp))

            g = result.garment
            print(f"built {item_id:22s} {g.category:11s} {g.triangle_count:6d} tris -> {folder}")
            for w in result.warnings:
                print(f"    {w}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
