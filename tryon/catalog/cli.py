"""``tryon garments``: the retailer's command line for the catalog.

    tryon garments add FILE --category CATEGORY --name NAME [--id ID] [--catalog DIR]
    tryon garments list | show ID | remove ID | preview ID
    tryon garments refit ID [--scale S] [--offset X Y Z] [--rotate X Y Z] [--bone BONE] [--units U]

Exit codes: 0 done; 2 bad command line; 3 the id is taken; 4 no such item; 10-20 the file
cannot become an item (each problem its own code, see ``tryon garments add --help``).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from tryon.catalog.assets import AssetError

EXIT_EXISTS = 3
EXIT_MISSING = 4

EXIT_CODES_HELP = """exit codes:
  0   the item was added
  2   bad command line (unknown category, bad option)
  3   the catalog already has an item with this id (use --replace or --id)
  10  unreadable, missing or truncated file          11  unsupported format
  12  holds no triangle mesh                         13  zero faces
  14  NaN or infinite coordinates                    15  over the triangle budget (try --decimate)
  16  unsafe reference (outside the folder, network) 17  declared buffer sizes do not match the data
  18  file larger than the limit (--max-file-mb)     19  units implausible for the category
  20  does not fit the mannequin after auto-fit
"""


def _fail(message: str, code: int) -> int:
    print(f"tryon garments: error: {message}", file=sys.stderr)
    return code


def _catalog(args):
    from tryon.catalog.catalog import Catalog

    return Catalog(args.catalog)


def cmd_add(args) -> int:
    from tryon.catalog.assets import ImportLimits
    from tryon.catalog.pipeline import ImportOptions

    try:
        size_chart = json.loads(Path(args.size_chart).read_text()) if args.size_chart else None
        overrides = _overrides(args)
        options = ImportOptions(
            category=args.category,
            name=args.name,
            item_id=args.id,
            limits=ImportLimits(
                max_file_bytes=int(args.max_file_mb * 1024 * 1024),
                max_triangles=args.max_triangles,
                allow_decimate=args.decimate,
            ),
            overrides=overrides,
            licence=args.licence or "",
            attribution=args.attribution or "",
            source=args.source or "",
            size_chart=size_chart,
            color_srgb=tuple(c / 255.0 for c in args.color) if args.color else None,
        )
    except (ValueError, OSError) as exc:
        return _fail(str(exc), 2)
    try:
        folder, result = _catalog(args).add(args.file, options, replace=args.replace, preview=not args.no_preview)
    except AssetError as exc:
        return _fail(exc.message, exc.exit_code)
    except FileExistsError as exc:
        return _fail(str(exc), EXIT_EXISTS)
    for w in result.warnings:
        print(f"warning: {w}")
    g = result.garment
    fit = result.manifest.get("fit", {})
    print(f"added {g.id!r} ({g.category}, {g.triangle_count} triangles) to {folder}")
    if "scale" in fit:
        print(
            f"  units: {result.manifest['units']['file']}, scale x{fit['scale']:.3g}"
            + (f", rides {fit['bone']}" if fit.get("bone") else "")
        )
    if g.variants:
        print(f"  colourways: {', '.join(g.variants)}")
    if not args.no_preview:
        print(f"  preview: {folder / 'preview.png'}")
    return 0


def _overrides(args):
    from tryon.catalog.autofit import FitOverrides

    return FitOverrides(
        units=args.units,
        up_axis=args.up,
        rotate_deg=tuple(args.rotate) if args.rotate else None,
        scale=args.scale,
        offset_m=tuple(args.offset) if args.offset else None,
        bone=args.bone,
    )


def _add_fit_options(p) -> None:
    p.add_argument("--units", choices=["m", "dm", "cm", "mm", "in"], help="the file's unit (default: detected)")
    p.add_argument("--up", choices=["y", "z"], help="the file's up axis (default: y, or detected)")
    p.add_argument("--rotate", type=float, nargs=3, metavar=("X", "Y", "Z"), help="extra rotation, degrees")
    p.add_argument("--scale", type=float, help="extra uniform scale after the auto-fit (1.1 = 10%% larger)")
    p.add_argument(
        "--offset", type=float, nargs=3, metavar=("X", "Y", "Z"), help="extra offset after the fit, metres (y up)"
    )
    p.add_argument("--bone", help="the bone a rigid item rides (default: by category)")


def cmd_refit(args) -> int:
    from tryon.catalog.store import CatalogItemError

    try:
        overrides = _overrides(args)
        folder, result = _catalog(args).refit(args.id, overrides, preview=not args.no_preview)
    except KeyError as exc:
        return _fail(str(exc).strip("'\""), EXIT_MISSING)
    except (ValueError, CatalogItemError) as exc:
        return _fail(str(exc), 2)
    except AssetError as exc:
        return _fail(exc.message, exc.exit_code)
    for w in result.warnings:
        print(f"warning: {w}")
    stored = result.manifest["import"]["overrides"]
    print(f"re-fitted {args.id!r} from its original" + (f" with {stored}" if stored else ""))
    if not args.no_preview:
        print(f"  preview: {folder / 'preview.png'}")
    return 0


def cmd_list(args) -> int:
    cat = _catalog(args)
    items, warnings = cat.load_all()
    for w in warnings:
        print(f"warning: {w}", file=sys.stderr)
    if args.json:
        print(
            json.dumps(
                [
                    {
                        "id": g.id,
                        "name": g.name,
                        "category": g.category,
                        "triangles": g.triangle_count,
                        "variants": list(g.variants),
                    }
                    for g in items
                ],
                indent=2,
            )
        )
        return 0
    if not items:
        print(f"the catalog at {cat.root} is empty")
    for g in items:
        variants = f"  [{', '.join(g.variants)}]" if g.variants else ""
        print(f"{g.id:26s} {g.category:12s} {g.triangle_count:7d} tris  {g.name}{variants}")
    return 0


def cmd_show(args) -> int:
    try:
        manifest = _catalog(args).manifest(args.id)
    except KeyError as exc:
        return _fail(str(exc).strip("'\""), EXIT_MISSING)
    if not args.full:
        manifest.pop("bones", None)
    print(json.dumps(manifest, indent=2))
    return 0


def cmd_remove(args) -> int:
    try:
        _catalog(args).remove(args.id)
    except KeyError as exc:
        return _fail(str(exc).strip("'\""), EXIT_MISSING)
    print(f"removed {args.id!r}")
    return 0


def cmd_preview(args) -> int:
    try:
        path = _catalog(args).preview(args.id, args.variant, args.output)
    except KeyError as exc:
        return _fail(str(exc).strip("'\""), EXIT_MISSING)
    print(path)
    return 0


def add_garments_parser(sub) -> None:
    from tryon.catalog.item import CATEGORIES

    g = sub.add_parser(
        "garments",
        help="the catalog: add, list, show, remove, preview items",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    gs = g.add_subparsers(dest="garments_command", required=True)
    cat_help = "catalog folder (default: the bundled garments/, or $TRYON_CATALOG)"

    a = gs.add_parser(
        "add",
        help="import a 3D file (glTF/GLB, OBJ+MTL, PLY, STL, MakeHuman .mhclo)",
        epilog=EXIT_CODES_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    a.add_argument("file", type=Path, help="the 3D file (a .gltf's buffers and textures beside it)")
    a.add_argument("--category", required=True, choices=list(CATEGORIES), help="what it is")
    a.add_argument("--name", required=True, help="the name shoppers see")
    a.add_argument("--id", help="catalog id (default: made from the name)")
    a.add_argument("--catalog", type=Path, help=cat_help)
    a.add_argument("--replace", action="store_true", help="replace an item with the same id")
    a.add_argument("--decimate", action="store_true", help="reduce a mesh over the triangle budget instead of refusing")
    a.add_argument("--max-triangles", type=int, default=60000, help="real-time triangle budget (default 60000)")
    a.add_argument("--max-file-mb", type=float, default=200.0, help="largest accepted file, MB (default 200)")
    _add_fit_options(a)
    a.add_argument("--color", type=int, nargs=3, metavar=("R", "G", "B"), help="colour (0-255) for untextured parts")
    a.add_argument("--licence", help="licence of the asset, e.g. CC-BY-4.0")
    a.add_argument("--attribution", help="credit line (required for CC BY assets)")
    a.add_argument("--source", help="where the asset came from (URL or note)")
    a.add_argument("--size-chart", type=Path, help="JSON size chart (see tryon.sizing)")
    a.add_argument("--no-preview", action="store_true", help="do not render preview.png")
    a.set_defaults(func=cmd_add)

    lst = gs.add_parser("list", help="list the items")
    lst.add_argument("--catalog", type=Path, help=cat_help)
    lst.add_argument("--json", action="store_true", help="machine-readable output")
    lst.set_defaults(func=cmd_list)

    sh = gs.add_parser("show", help="print an item's manifest")
    sh.add_argument("id")
    sh.add_argument("--catalog", type=Path, help=cat_help)
    sh.add_argument("--full", action="store_true", help="include the skeleton's bone list")
    sh.set_defaults(func=cmd_show)

    rf = gs.add_parser(
        "refit",
        help="fit an item again from its kept original, adjusting the fit (--scale, --offset...)",
        description="Fit an item again from the original file it keeps. The manual adjustments are stored "
        "in its manifest and win over the automatic fit: each refit updates the ones you pass and keeps "
        "the others. Example: tryon garments refit red-glasses --offset 0 -0.005 0",
    )
    rf.add_argument("id")
    _add_fit_options(rf)
    rf.add_argument("--catalog", type=Path, help=cat_help)
    rf.add_argument("--no-preview", action="store_true", help="do not render preview.png")
    rf.set_defaults(func=cmd_refit)

    rm = gs.add_parser("remove", help="delete an item")
    rm.add_argument("id")
    rm.add_argument("--catalog", type=Path, help=cat_help)
    rm.set_defaults(func=cmd_remove)

    pv = gs.add_parser("preview", help="render an item on the mannequin (preview.png)")
    pv.add_argument("id")
    pv.add_argument("--variant", help="a colourway")
    pv.add_argument("--output", type=Path, help="where to write the PNG (default: the item's folder)")
    pv.add_argument("--catalog", type=Path, help=cat_help)
    pv.set_defaults(func=cmd_preview)
