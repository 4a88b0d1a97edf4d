"""The ``tryon`` command (also ``python -m tryon``)."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

from tryon.runtime import configure_process


def _fail(message: str, code: int = 2) -> int:
    print(f"tryon: error: {message}", file=sys.stderr)
    return code


def cmd_bench(args: argparse.Namespace) -> int:
    from tryon import bench

    try:
        resolutions = [bench.parse_resolution(r) for r in (args.resolution or ["640x480", "1280x720"])]
    except ValueError as exc:
        return _fail(str(exc))
    if args.fuzz is not None:
        return _fuzz(args)
    if not args.input.is_file():
        return _fail(f"input not found: {args.input}")
    if args.soak:
        return _soak(args, resolutions[0] if args.resolution else (640, 480))
    item_sets = [tuple(args.items)]
    if args.outfit and args.outfit != ["none"]:
        item_sets.append(tuple(args.outfit))
    report = bench.run(
        args.input,
        resolutions,
        item_sets,
        args.frames,
        args.catalog,
        accuracy_random=None if args.no_accuracy else args.accuracy_random,
        jitter_frames=None if args.no_jitter else args.jitter_frames,
        own_clothes=not args.no_own_clothes,
    )
    readme = bench.ROOT / "README.md" if args.update_readme else None
    md = bench.write_outputs(report, args.json, args.plot, readme)
    print()
    print(md)
    return 0


def _soak(args: argparse.Namespace, size: tuple[int, int]) -> int:
    """``tryon bench --soak``: memory over many create/close cycles with streams."""
    import json

    from tryon import soak

    try:
        result = soak.run_file(
            args.input,
            size,
            list(args.items),
            args.soak_frames,
            args.soak_cycles,
            args.catalog,
            log=lambda line: print(line, flush=True),  # progress shows while it runs (hours, written to a log)
        )
    except ValueError as exc:
        return _fail(str(exc))
    if args.json:
        from dataclasses import asdict

        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"soak": asdict(result)}, indent=2) + "\n")
    print()
    print(result.summary())
    print()
    print(result.markdown())
    return 0


def _fuzz(args: argparse.Namespace) -> int:
    """``tryon bench --fuzz N``: N malformed imports, each in its own process; exit 1 when any
    broke issue 16's criteria (a traceback, a hang, a peak over 1.5 GB, a non-finite value
    stored, a catalog changed by a refusal)."""
    import json
    from dataclasses import asdict

    from tryon.catalog import fuzz

    if args.fuzz < 1 and args.fuzz_at_limits is None:
        return _fail(f"--fuzz needs at least one import, got {args.fuzz}")
    if args.fuzz_at_limits is not None and not args.fuzz_at_limits > 0:
        return _fail(f"--fuzz-at-limits must be a positive number of seconds, got {args.fuzz_at_limits}")
    if not args.fuzz_timeout > 0:
        return _fail(f"--fuzz-timeout must be a positive number of seconds, got {args.fuzz_timeout}")
    report = fuzz.run(
        args.fuzz, args.fuzz_seed, args.fuzz_timeout, progress=True, at_limits_timeout_s=args.fuzz_at_limits
    )
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"fuzz": asdict(report)}, indent=2) + "\n")
    print()
    print("fuzz: " + report.summary())
    print("\n".join(fuzz.details(report)))
    if report.at_limits:
        print()
        print(report.at_limits_markdown())
    return 1 if fuzz.failed(report) else 0


def build_parser() -> argparse.ArgumentParser:
    from tryon import bench
    from tryon.catalog.cli import add_garments_parser

    parser = argparse.ArgumentParser(prog="tryon", description="tryon: real-time 3D virtual try-on")
    sub = parser.add_subparsers(dest="command", required=True)
    add_garments_parser(sub)

    b = sub.add_parser(
        "bench",
        help="measure speed against the bare pose model (and accuracy)",
        description=bench.__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    b.add_argument("--input", type=Path, default=bench.DEFAULT_INPUT, help="video to run on (default: the sample clip)")
    b.add_argument(
        "--resolution", action="append", metavar="WxH", help="frame size, repeatable (default: 640x480 and 1280x720)"
    )
    b.add_argument("--items", nargs="+", default=["navy-longsleeve"], metavar="ID", help="the one-top configuration")
    b.add_argument(
        "--outfit",
        nargs="+",
        metavar="ID",
        default=list(bench.DEFAULT_OUTFIT),
        help="also measure this full outfit (default: " + " ".join(bench.DEFAULT_OUTFIT) + "; 'none' to skip)",
    )
    b.add_argument("--frames", type=int, help="frames per run (the clip is looped or cut to this length)")
    b.add_argument(
        "--catalog", type=Path, help="catalog folder (default: $TRYON_CATALOG if set, else the bundled garments/)"
    )
    b.add_argument("--json", type=Path, help="write the full report as JSON")
    b.add_argument("--plot", type=Path, help="write a PNG plot of per-stage time")
    b.add_argument("--update-readme", action="store_true", help="rewrite the README's performance table")
    b.add_argument(
        "--accuracy-random",
        type=int,
        default=12,
        metavar="N",
        help="random poses added to the MakeHuman BVH poses in the accuracy section (default 12)",
    )
    b.add_argument("--no-accuracy", action="store_true", help="skip the accuracy section")
    b.add_argument(
        "--jitter-frames",
        type=int,
        default=0,
        metavar="N",
        help="frames per clip in the stability section (default: whole clips)",
    )
    b.add_argument("--no-jitter", action="store_true", help="skip the stability (jitter, lag) section")
    b.add_argument(
        "--no-own-clothes", action="store_true", help="skip the own-clothes section (leaks, the stage's cost)"
    )
    b.add_argument(
        "--soak",
        action="store_true",
        help="instead: the memory soak (engines made and closed in turn, each running a stream; "
        "reports the memory slope in MB per 1,000 frames after warm-up; --items, --input, first --resolution)",
    )
    b.add_argument("--soak-frames", type=int, default=10_000, metavar="N", help="frames in the soak (default 10000)")
    b.add_argument("--soak-cycles", type=int, default=100, metavar="N", help="create/close cycles (default 100)")
    b.add_argument(
        "--fuzz",
        type=int,
        metavar="N",
        help="instead: N malformed imports (mutated uploads and the known memory bombs), each in its own "
        "process; reports tracebacks, hangs, imports over 1.5 GB, non-finite values stored and catalogs "
        "changed by a refusal (exit 1 if any)",
    )
    b.add_argument(
        "--fuzz-at-limits",
        type=float,
        metavar="S",
        help="with --fuzz (0 for none of the malformed ones): also import honest files at the size limits "
        "(OBJ, GLB, PLY, STL, 8192 px textures, .mhclo), each allowed S seconds, and report their peak memory",
    )
    b.add_argument("--fuzz-seed", type=int, default=1, metavar="S", help="the fuzz run's seed (default 1)")
    b.add_argument(
        "--fuzz-timeout", type=float, default=60.0, metavar="S", help="seconds one fuzzed import may take (default 60)"
    )
    b.set_defaults(func=cmd_bench)
    from tryon.mirror.cli import add_calibrate_parser, add_mirror_parser

    add_mirror_parser(sub)
    add_calibrate_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("GLOG_minloglevel", "2")
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    configure_process()  # the CLI owns its process: BLAS kept to one thread (tryon.runtime)
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `tryon garments list | head`: the reader has all it wanted
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except (KeyError, ValueError, FileNotFoundError) as exc:
        return _fail(str(exc).strip("'\""))


if __name__ == "__main__":
    sys.exit(main())
