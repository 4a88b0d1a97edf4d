"""Rebuild the bundled catalog in ``garments/`` from the team's asset collection.

    python tools/build_catalog.py [--source ../shared/data/garments_accessories] [--only ID ...]

The sources live beside the project (``shared/data``), not in it; this script is how the
bundled items were made, and re-running it reproduces them.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tryon.catalog.bundled import BUNDLED, build_bundled  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--source", type=Path, default=ROOT.parent / "shared" / "data" / "garments_accessories")
    parser.add_argument("--catalog", type=Path, default=ROOT / "garments")
    parser.add_argument("--only", nargs="*", help="item ids to rebuild (default: all)")
    args = parser.parse_args()
    if not args.source.is_dir():
        print(f"error: asset collection not found at {args.source}", file=sys.stderr)
        return 2
    ids = args.only or [b.id for b in BUNDLED]
    for item_id in ids:
        path = build_bundled(item_id, args.source, args.catalog)
        print(f"built {item_id} -> {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
