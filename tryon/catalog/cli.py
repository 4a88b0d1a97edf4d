"""``tryon garments``: the retailer's command line for the catalog (its help text is
:data:`GARMENTS_HELP`).

Over 600 lines: every subcommand's arguments, its plain-words refusals and the import's
memory/CPU budget (exit 21/22) are kept with the exit-code table they share. The budget is the
piece to move out first (``import_budget``) when the file grows.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import json
import math
import os
import re
import sys
from pathlib import Path

from tryon.catalog.assets import MAX_FILE_BYTES, AssetError, FileTooLargeError

#: ``tryon garments --help``: what a retailer needs, one command a line.
GARMENTS_HELP = """The catalog: import retailers' 3D files as try-on items, and manage them.

    tryon garments add FILE --category CATEGORY --name NAME [--id ID] [--catalog DIR]
    tryon garments list [--catalog DIR]
    tryon garments show ID [--catalog DIR]
    tryon garments preview ID [--catalog DIR]
    tryon garments remove ID [--catalog DIR]
    tryon garments refit ID [--scale S] [--offset X Y Z] [--rotate X Y Z] [--bone BONE] [--units U] [--catalog DIR]

The catalog is the folder given with --catalog, else $TRYON_CATALOG if it is set, else the
bundled garments/ folder (an item added without either goes into the bundled catalog).

Exit codes: 0 done; 2 bad command line; 3 the id is taken; 4 no such item (or no such
catalog); 10-22 the file cannot become an item (each problem its own code, see
`tryon garments add --help`).
"""

EXIT_USAGE = 2
EXIT_EXISTS = 3
EXIT_MISSING = 4
#: The import needed more memory than :data:`IMPORT_MEMORY_BYTES` allows / more CPU time than
#: :data:`IMPORT_CPU_SECONDS`: a last line behind the readers' own limits.
EXIT_MEMORY = 21
EXIT_TIME = 22
#: Address space an import may add to what the process already has (RLIMIT_AS; the readers keep
#: the peak far lower, this only stops what they missed).
IMPORT_MEMORY_BYTES = 2 * 1024**3
#: CPU seconds an import may take (RLIMIT_CPU).
IMPORT_CPU_SECONDS = 600
MAX_SIZE_CHART_BYTES = 1_000_000

EXIT_CODES_HELP = """exit codes:
  0   the item was added
  2   bad command line: unknown category, a bad option value (--id, --color, --size-chart...),
      FILE is a folder, --catalog is a file, a CC BY licence without --attribution
  3   the catalog already has an item with this id (use --replace or --id)
  10  unreadable, missing or truncated file          11  unsupported format or glTF extension (Draco...)
  12  no surface: only points or lines, no mesh      13  zero faces, or every face broken (zero area,
                                                         repeated corners, duplicates)
  14  NaN or infinite coordinates                    15  over the triangle budget (try --decimate)
  16  unsafe reference (outside the folder, network) 17  declared buffer sizes do not match the data
  18  file larger than the limit (--max-file-mb)     19  units implausible for the category
  20  does not fit the mannequin after auto-fit      21  needs more memory than an import may use
  22  takes longer than an import may take
"""

ORIENTATION_HELP = """how a model should face:
  The model's front toward +z, its up toward +y and the wearer's left toward +x (glTF's
  convention; .glb/.gltf files are read that way). A z-up file (many OBJ/STL/PLY exports) is
  detected for clothes and shoes; for other items say --up z. Shoes and glasses are also
  turned to face forward, and watches, bracelets and rings find their own axis.
  If the preview still shows the item turned, fix it with --rotate X Y Z: degrees about the
  model's axes after that automatic orientation (x = the wearer's left, y = up, z = forward,
  toward the camera), applied X first, then Y, then Z; a positive angle turns
  counter-clockwise as seen from the positive end of the axis, looking toward the origin.
  E.g. an item whose front faces the wearer's left (+x) in the preview: --rotate 0 -90 0;
  the wearer's right (-x): --rotate 0 90 0; up (+y): --rotate 90 0 0; backward: --rotate 0 180 0.
"""


class _Category(str):
    """A category as argparse hands it over, remembering what was typed (for the note)."""

    given: str = ""


def category_arg(value: str) -> str:
    """argparse ``type=`` for --category: any case, common synonyms mapped (``Category.synonyms``;
    no output here);
    an unknown word is passed on for argparse's 'invalid choice' message, which lists them."""
    from tryon.catalog.categories import from_word

    out = _Category(from_word(value))
    out.given = value
    return out


def _colour_value(value: str) -> int:
    try:
        n = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a whole number from 0 to 255") from None
    if not 0 <= n <= 255:
        raise argparse.ArgumentTypeError(f"{n} is outside 0-255 (a colour is three values from 0 to 255)")
    return n


def _finite(value: str) -> float:
    """argparse ``type=`` for a number that must be finite (no nan, inf)."""
    try:
        x = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a number") from None
    if not math.isfinite(x):
        raise argparse.ArgumentTypeError(f"{value!r} is not a finite number")
    return x


def _positive(kind):
    def convert(value: str):
        try:
            n = kind(value)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{value!r} is not a number") from None
        if not math.isfinite(n):
            raise argparse.ArgumentTypeError(f"{value!r} is not a finite number")
        if not n > 0:
            raise argparse.ArgumentTypeError(f"{value} must be more than 0")
        return n

    convert.__name__ = kind.__name__
    return convert


class _Refusal(Exception):
    """A problem with the command line found before importing (exit 2)."""


def _fail(message: str, code: int) -> int:
    print(f"tryon garments: error: {message}", file=sys.stderr)
    return code


def _key_message(exc: KeyError) -> str:
    """A KeyError's own message (``str()`` would quote it)."""
    return str(exc.args[0]) if exc.args else str(exc)


def _catalog(args):
    from tryon.catalog.catalog import Catalog

    cat = Catalog(args.catalog)
    cat.check_root()
    return cat


def _guarded(func):
    """Run a sub-command, turning a catalog path that is a file into exit 2."""

    @functools.wraps(func)
    def run(args) -> int:
        from tryon.catalog.catalog import NotACatalogError

        try:
            return func(args)
        except NotACatalogError as exc:
            return _fail(f"{exc}: give a folder with --catalog (it is created if missing)", EXIT_USAGE)

    return run


class ImportTookTooLong(Exception):
    """Raised (from SIGXCPU) when an import passes :data:`IMPORT_CPU_SECONDS` of CPU time."""


def _on_cpu_limit(signum, frame) -> None:
    raise ImportTookTooLong()


def _address_space_bytes() -> int | None:
    """The process's current virtual address space (VmSize), or None where /proc has none."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmSize:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


@contextlib.contextmanager
def import_budget(memory_bytes: int = IMPORT_MEMORY_BYTES, cpu_seconds: int = IMPORT_CPU_SECONDS):
    """The last line behind the readers' own limits: while an import runs, the process may add at
    most ``memory_bytes`` of address space (RLIMIT_AS: an allocation past it raises MemoryError,
    which the CLI turns into exit 21) and use ``cpu_seconds`` more CPU time (RLIMIT_CPU: SIGXCPU
    raises :class:`ImportTookTooLong`, exit 22). OpenCV's worker threads are set to 1 meanwhile
    (each thread's stack and malloc arena would count). Everything is restored afterwards; where
    ``resource`` is missing (not POSIX) nothing is limited."""
    try:
        import resource
    except ImportError:
        yield
        return
    import signal
    import threading

    import cv2

    old_as = resource.getrlimit(resource.RLIMIT_AS)
    old_cpu = resource.getrlimit(resource.RLIMIT_CPU)
    old_threads = cv2.getNumThreads()
    old_handler = None

    def lower(which, old, soft: int) -> None:
        if old[1] == resource.RLIM_INFINITY or soft < old[1]:
            if old[0] == resource.RLIM_INFINITY or soft < old[0]:
                resource.setrlimit(which, (soft, old[1]))

    try:
        cv2.setNumThreads(1)
        vm = _address_space_bytes()
        if vm is not None:
            lower(resource.RLIMIT_AS, old_as, vm + memory_bytes)
        if threading.current_thread() is threading.main_thread():
            old_handler = signal.signal(signal.SIGXCPU, _on_cpu_limit)
            usage = resource.getrusage(resource.RUSAGE_SELF)
            lower(resource.RLIMIT_CPU, old_cpu, int(usage.ru_utime + usage.ru_stime) + cpu_seconds)
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_AS, old_as)
        resource.setrlimit(resource.RLIMIT_CPU, old_cpu)
        if old_handler is not None:
            signal.signal(signal.SIGXCPU, old_handler)
        cv2.setNumThreads(old_threads)


def _over_budget(exc: BaseException) -> int:
    """The plain-words refusal of an import stopped by :func:`import_budget`."""
    if isinstance(exc, ImportTookTooLong):
        return _fail(
            f"the import took more than {IMPORT_CPU_SECONDS} s of CPU time and was stopped; the file is "
            "far larger or more complex than a try-on item needs. Simplify it and upload it again.",
            EXIT_TIME,
        )
    return _fail(
        f"the import needed more memory than an import may use ({IMPORT_MEMORY_BYTES / 1024**3:.0f} GB) and "
        "was stopped; the file declares far more data than it holds, or is far larger than a try-on item "
        "needs. Simplify it (fewer triangles, smaller textures) and upload it again. Nothing was stored.",
        EXIT_MEMORY,
    )


def _asset_message(exc: AssetError, args) -> str:
    """An import error's message, with the command-line option that helps where there is one."""
    mb = getattr(args, "max_file_mb", None)
    if isinstance(exc, FileTooLargeError) and mb is not None and mb * 1024 * 1024 < MAX_FILE_BYTES:
        most = MAX_FILE_BYTES / 1024**2
        return f"{exc.message} Or raise the limit with --max-file-mb (now {mb:g}; at most {most:g})."
    return exc.message


_MISSING_MTL = re.compile(r"^material library '(.+)' is missing; using plain grey materials$")


def _cli_warning(text: str) -> str:
    """A loader warning as the retailer should read it."""
    m = _MISSING_MTL.match(text)
    if m:
        return (
            f"the material library {m.group(1)} (named by mtllib) is missing: upload it beside the .obj; "
            "using a grey material"
        )
    return text


def _folder_given(folder: Path) -> str:
    """The message for a folder given as FILE: the 3D files found in it (up to 5)."""
    from tryon.catalog.pipeline import SUFFIXES

    rank = {".glb": 0, ".gltf": 1, ".obj": 2, ".mhclo": 3, ".ply": 4, ".stl": 5}
    found: list[tuple[int, int, str]] = []
    seen = 0
    for dirpath, dirnames, filenames in os.walk(folder):
        depth = len(Path(dirpath).relative_to(folder).parts)
        dirnames[:] = sorted(d for d in dirnames if not d.startswith(".")) if depth < 2 else []
        for name in sorted(filenames):
            seen += 1
            suffix = Path(name).suffix.lower()
            if suffix in SUFFIXES:
                found.append((depth, rank.get(suffix, 9), str(Path(dirpath) / name)))
        if seen > 5000:
            break
    if not found:
        kinds = ", ".join(SUFFIXES)
        return f"{folder} is a folder, not a 3D file, and holds no {kinds} file: give the 3D file itself"
    files = [f for _, _, f in sorted(found)[:5]]
    return f"{folder} is a folder, not a 3D file: give the file itself, e.g. {', '.join(files)}"


def _size_chart(path: Path) -> dict:
    """The --size-chart file's chart, checked; _Refusal says what is wrong."""
    from tryon.sizing import QUANTITIES, SizeChart, read_chart_json

    label = f"--size-chart {path}"
    example = '(e.g. {"sizes": {"S": {"chest": [86, 94]}, "M": {"chest": [94, 102]}}})'
    try:
        if path.is_file() and path.stat().st_size > MAX_SIZE_CHART_BYTES:
            raise _Refusal(
                f"{label}: it is {path.stat().st_size:,} bytes; a size chart is a small JSON file "
                f"(at most {MAX_SIZE_CHART_BYTES:,} bytes)"
            )
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise _Refusal(f"{label}: no such file") from None
    except IsADirectoryError:
        raise _Refusal(f"{label}: it is a folder, not a JSON file") from None
    except UnicodeDecodeError:
        raise _Refusal(f"{label}: it is not a text (JSON) file") from None
    except OSError as exc:
        raise _Refusal(f"{label}: cannot be read ({exc.strerror or exc})") from None
    try:
        data = read_chart_json(text)
    except ValueError as exc:
        raise _Refusal(f"{label}: {exc}") from None
    sizes = data.get("sizes") if isinstance(data, dict) else None
    if not isinstance(sizes, dict) or not sizes:
        raise _Refusal(f'{label}: a size chart needs a non-empty "sizes" object {example}')
    for size, spec in sizes.items():
        if not isinstance(spec, dict) or not spec:
            raise _Refusal(f'{label}: size {size!r} needs measurements like {{"chest": [low, high]}} {example}')
        for q, bounds in spec.items():
            if q not in QUANTITIES:
                raise _Refusal(f"{label}: size {size!r}: unknown measurement {q!r} (known: {', '.join(QUANTITIES)})")
            if not (
                isinstance(bounds, list)
                and len(bounds) == 2
                and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in bounds)
            ):
                raise _Refusal(f"{label}: size {size!r}: {q} must be two numbers [low, high], got {bounds!r}")
    try:
        SizeChart.from_dict(data, str(path))
    except (ValueError, TypeError) as exc:
        raise _Refusal(f"{label}: {exc}") from None
    return data


def _credits(args) -> tuple[str, str, str, str]:
    """(licence, attribution, source, a note on what came from the file) from the options and
    the credits a glTF carries (Sketchfab's ``asset.extras``), the options winning."""
    from tryon.catalog.formats import gltf_credits
    from tryon.catalog.pipeline import is_cc_by

    licence, attribution, source = args.licence or "", args.attribution or "", args.source or ""
    credits = gltf_credits(args.file) if args.file.is_file() else {}
    taken = []
    if not licence and credits.get("license"):
        licence = credits["license"]
        taken.append(f"licence {licence!r}")
    if not source and credits.get("source"):
        source = credits["source"]
        taken.append(f"source {source!r}")
    if not attribution.strip() and credits.get("author") and is_cc_by(licence):
        where = f" ({credits['source']})" if credits.get("source") else ""
        attribution = f"{credits.get('title') or args.name} by {credits['author']}{where}, {licence}"
        taken.append(f"credit line {attribution!r}")
    if is_cc_by(licence) and not attribution.strip():
        whose = "the file's licence" if not args.licence else "--licence"
        raise _Refusal(
            f"{whose} {licence!r} is a CC BY licence, which requires a credit line: "
            'add --attribution "NAME by AUTHOR (where it came from)"'
        )
    note = f"took from the file's own credits (as Sketchfab writes them): {', '.join(taken)}" if taken else ""
    return licence, attribution, source, note


def cmd_add(args) -> int:
    from tryon.catalog.assets import ImportLimits
    from tryon.catalog.catalog import ItemExistsError, id_problem
    from tryon.catalog.pipeline import ImportOptions

    catalog = _catalog(args)
    if args.id is not None and id_problem(args.id):
        return _fail(id_problem(args.id), EXIT_USAGE)
    if args.file.is_dir():
        return _fail(_folder_given(args.file), EXIT_USAGE)
    from tryon.catalog.formats.safety import HARD_TRIANGLE_CAP

    if args.max_triangles > HARD_TRIANGLE_CAP:
        return _fail(
            f"--max-triangles {args.max_triangles:,} is above {HARD_TRIANGLE_CAP:,}, the most any upload may have",
            EXIT_USAGE,
        )
    if args.max_file_mb * 1024 * 1024 > MAX_FILE_BYTES:
        return _fail(
            f"--max-file-mb {args.max_file_mb:g} is above {MAX_FILE_BYTES / 1024**2:g}, the most any upload file "
            "may have",
            EXIT_USAGE,
        )
    category = str(args.category)
    given = getattr(args.category, "given", category)
    try:
        size_chart = _size_chart(args.size_chart) if args.size_chart else None
        licence, attribution, source, credits_note = _credits(args)
        overrides = _overrides(args)
        options = ImportOptions(
            category=category,
            name=args.name,
            item_id=args.id,
            limits=ImportLimits(
                max_file_bytes=int(args.max_file_mb * 1024 * 1024),  # at most MAX_FILE_BYTES: checked above
                max_triangles=args.max_triangles,
                allow_decimate=args.decimate,
            ),
            overrides=overrides,
            licence=licence,
            attribution=attribution,
            source=source,
            size_chart=size_chart,
            color_srgb=tuple(c / 255.0 for c in args.color) if args.color else None,
        )
    except (_Refusal, ValueError) as exc:
        return _fail(str(exc), EXIT_USAGE)
    if "-".join(given.strip().lower().replace("_", " ").split()) != category:
        print(f"note: category {given!r} read as {category!r}")
    try:
        folder, result = catalog.add(
            args.file, options, replace=args.replace, preview=not args.no_preview, guard=import_budget
        )
    except (MemoryError, ImportTookTooLong) as exc:
        return _over_budget(exc)
    except AssetError as exc:
        return _fail(_asset_message(exc, args), exc.exit_code)
    except ItemExistsError as exc:
        return _fail(f"{exc}: use --replace to replace it, or --id to choose another id", EXIT_EXISTS)
    except ValueError as exc:
        return _fail(str(exc), EXIT_USAGE)
    for w in result.warnings:
        print(f"warning: {_cli_warning(w)}")
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
    if credits_note:
        print(f"  {credits_note}")
    if not args.no_preview:
        print(f"  preview: {folder / 'preview.png'}")
    return 0


def _overrides(args):
    from tryon.catalog.fit import FitOverrides

    return FitOverrides(
        units=args.units,
        up_axis=args.up,
        rotate_deg=tuple(args.rotate) if args.rotate else None,
        scale=args.scale,
        offset_m=tuple(args.offset) if args.offset else None,
        bone=args.bone,
        keep_height=tuple(args.keep_height) if args.keep_height else None,
        fabric=args.fabric,
    )


def _add_fit_options(p) -> None:
    p.add_argument("--units", choices=["m", "dm", "cm", "mm", "in"], help="the file's unit (default: detected)")
    p.add_argument(
        "--up", choices=["y", "z"], help="the file's up axis (default: y; z-up is detected for clothes and shoes)"
    )
    p.add_argument(
        "--rotate",
        type=_finite,
        nargs=3,
        metavar=("X", "Y", "Z"),
        help="extra rotation in degrees about the model's axes after the automatic orientation "
        "(x = the wearer's left, y = up, z = forward, toward the camera), applied X, then Y, then Z; "
        "positive = counter-clockwise looking down the axis toward the origin (see 'how a model should face')",
    )
    p.add_argument("--scale", type=_positive(float), help="extra uniform scale after the auto-fit (1.1 = 10%% larger)")
    p.add_argument(
        "--offset",
        type=_finite,
        nargs=3,
        metavar=("X", "Y", "Z"),
        help="extra offset after the fit, metres (x = the wearer's left, y = up, z = forward)",
    )
    p.add_argument("--bone", help="the bone a rigid item rides (default: by category)")
    p.add_argument(
        "--fabric",
        help="what the item is made of: jersey, cotton, denim, wool, leather, satin, technical, metal or plastic "
        "(also knit, silk, linen, nylon...), for every material, or per material as NAME=KIND,NAME=KIND "
        "(default: guessed from the names and the category; 'garments show ID' says what was chosen)",
    )
    p.add_argument(
        "--keep-height",
        type=_finite,
        nargs=2,
        metavar=("LOW", "HIGH"),
        help="clothes scanned on a dress form or stand: keep only the band between these fractions of the "
        "item's height (0 = its bottom, 1 = its top), e.g. 0.2 0.65; the rest is fitted, then dropped",
    )


def cmd_refit(args) -> int:
    from tryon.catalog.store import CatalogItemError

    try:
        overrides = _overrides(args)
        folder, result = _catalog(args).refit(args.id, overrides, preview=not args.no_preview, guard=import_budget)
    except (MemoryError, ImportTookTooLong) as exc:
        return _over_budget(exc)
    except KeyError as exc:
        return _fail(_key_message(exc), EXIT_MISSING)
    except (ValueError, CatalogItemError) as exc:
        return _fail(str(exc), 2)
    except AssetError as exc:
        return _fail(_asset_message(exc, args), exc.exit_code)
    for w in result.warnings:
        print(f"warning: {_cli_warning(w)}")
    stored = result.manifest["import"]["overrides"]
    print(f"re-fitted {args.id!r} from its original" + (f" with {stored}" if stored else ""))
    if not args.no_preview:
        print(f"  preview: {folder / 'preview.png'}")
    return 0


def cmd_list(args) -> int:
    cat = _catalog(args)
    if not cat.root.exists():
        return _fail(f"no catalog at {cat.root} (no such folder; 'tryon garments add' creates one)", EXIT_MISSING)
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
        return _fail(_key_message(exc), EXIT_MISSING)
    if not args.full:
        manifest.pop("bones", None)
    print(compact_json(manifest))
    return 0


def compact_json(value) -> str:
    """JSON indented by 2, with lists of numbers on one line (a colour, a transform row)."""
    text = json.dumps(value, indent=2)
    number_list = re.compile(r"\[\s*(-?[\d.eE+-]+(?:,\s*-?[\d.eE+-]+)*)\s*\]")
    return number_list.sub(lambda m: "[" + ", ".join(x.strip() for x in m.group(1).split(",")) + "]", text)


def cmd_remove(args) -> int:
    try:
        _catalog(args).remove(args.id)
    except KeyError as exc:
        return _fail(_key_message(exc), EXIT_MISSING)
    print(f"removed {args.id!r}")
    return 0


def cmd_preview(args) -> int:
    try:
        path = _catalog(args).preview(args.id, args.variant, args.output)
    except KeyError as exc:
        return _fail(_key_message(exc), EXIT_MISSING)
    print(path)
    return 0


def add_garments_parser(sub) -> None:
    from tryon.catalog.categories import CATEGORIES
    from tryon.catalog.formats.safety import HARD_TRIANGLE_CAP

    g = sub.add_parser(
        "garments",
        help="the catalog: add, list, show, remove, preview items",
        description=GARMENTS_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    gs = g.add_subparsers(dest="garments_command", required=True)
    cat_help = "catalog folder (default: $TRYON_CATALOG if set, else the bundled garments/)"

    a = gs.add_parser(
        "add",
        help="import a 3D file (glTF/GLB, OBJ+MTL, PLY, STL, MakeHuman .mhclo)",
        epilog=ORIENTATION_HELP + "\n" + EXIT_CODES_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    a.add_argument("file", type=Path, help="the 3D file (a .gltf's buffers and textures beside it)")
    a.add_argument(
        "--category",
        required=True,
        type=category_arg,
        choices=list(CATEGORIES),
        help="what it is (any case; common words such as sunglasses, sneakers, t-shirt, jeans, jacket are understood)",
    )
    a.add_argument("--name", required=True, help="the name shoppers see")
    a.add_argument("--id", help="catalog id (default: made from the name)")
    a.add_argument("--catalog", type=Path, help=cat_help)
    a.add_argument("--replace", action="store_true", help="replace an item with the same id")
    a.add_argument("--decimate", action="store_true", help="reduce a mesh over the triangle budget instead of refusing")
    a.add_argument(
        "--max-triangles",
        type=_positive(int),
        default=60000,
        help=f"real-time triangle budget (default 60000; an upload over {HARD_TRIANGLE_CAP:,} is refused)",
    )
    a.add_argument(
        "--max-file-mb",
        type=_positive(float),
        default=MAX_FILE_BYTES / 1024**2,
        help=f"largest accepted file, MiB (default and most: {MAX_FILE_BYTES / 1024**2:g})",
    )
    _add_fit_options(a)
    a.add_argument(
        "--color", type=_colour_value, nargs=3, metavar=("R", "G", "B"), help="colour (0-255) for untextured parts"
    )
    a.add_argument(
        "--licence", help="licence of the asset, e.g. CC-BY-4.0 (default: the one a Sketchfab glTF names, if any)"
    )
    a.add_argument(
        "--attribution",
        help="credit line, required for CC BY assets (default for a Sketchfab glTF: TITLE by AUTHOR (SOURCE), LICENCE)",
    )
    a.add_argument("--source", help="where the asset came from (URL or note; default: the one a Sketchfab glTF names)")
    a.add_argument(
        "--size-chart",
        type=Path,
        metavar="FILE",
        help='JSON size chart in cm, e.g. {"sizes": {"S": {"chest": [86, 94]}, "M": {"chest": [94, 102]}}}',
    )
    a.add_argument("--no-preview", action="store_true", help="do not render preview.png")
    a.set_defaults(func=_guarded(cmd_add))

    lst = gs.add_parser("list", help="list the items")
    lst.add_argument("--catalog", type=Path, help=cat_help)
    lst.add_argument("--json", action="store_true", help="machine-readable output")
    lst.set_defaults(func=_guarded(cmd_list))

    sh = gs.add_parser("show", help="print an item's manifest")
    sh.add_argument("id")
    sh.add_argument("--catalog", type=Path, help=cat_help)
    sh.add_argument("--full", action="store_true", help="include the skeleton's bone list")
    sh.set_defaults(func=_guarded(cmd_show))

    rf = gs.add_parser(
        "refit",
        help="fit an item again from its kept original, adjusting the fit (--scale, --offset...)",
        description="Fit an item again from the original file it keeps. The manual adjustments are stored "
        "in its manifest and win over the automatic fit: each refit updates the ones you pass and keeps "
        "the others. Example: tryon garments refit red-glasses --offset 0 -0.005 0",
        epilog=ORIENTATION_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    rf.add_argument("id")
    _add_fit_options(rf)
    rf.add_argument("--catalog", type=Path, help=cat_help)
    rf.add_argument("--no-preview", action="store_true", help="do not render preview.png")
    rf.set_defaults(func=_guarded(cmd_refit))

    rm = gs.add_parser("remove", help="delete an item")
    rm.add_argument("id")
    rm.add_argument("--catalog", type=Path, help=cat_help)
    rm.set_defaults(func=_guarded(cmd_remove))

    pv = gs.add_parser("preview", help="render an item on the mannequin (preview.png)")
    pv.add_argument("id")
    pv.add_argument("--variant", help="a colourway")
    pv.add_argument("--output", type=Path, help="where to write the PNG (default: the item's folder)")
    pv.add_argument("--catalog", type=Path, help=cat_help)
    pv.set_defaults(func=_guarded(cmd_preview))
