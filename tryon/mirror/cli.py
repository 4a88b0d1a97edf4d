"""``tryon mirror`` and ``tryon calibrate``: argparse subcommands.

Wire them into a parser with::

    sub = parser.add_subparsers(dest="command")
    add_mirror_parser(sub)
    add_calibrate_parser(sub)

Each sets ``func`` (args -> exit code). Problems with what the user asked for (a missing input,
an unknown item, no chessboard) are one line on stderr and exit code 2.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

log = logging.getLogger(__name__)

MIRROR_HELP = """\
The try-on mirror: the camera image, mirrored, with the outfit on; touch-free buttons
(hold a hand over one for a second); size advice; photos.

keys: Left/Right or P/N previous/next item, Up/Down, Tab or 1-6 choose the slot
(top bottom shoes head neck wrist), C next colourway, R remove/add the slot's item,
S or Space photo, O speed overlay, F full screen, H key help, 0 reset the outfit, Q or Esc quit.
"""

CALIBRATE_HELP = """\
One-time camera calibration with a printed chessboard: show it in a dozen different tilts
and places (or give a video or a folder of photos of it), then hold it upright where the
shopper will stand to measure that distance. Writes the camera's intrinsics, distortion,
reprojection error and standing distance as JSON; `tryon mirror` uses it.
"""


def _fail(message: str) -> int:
    print(f"tryon: error: {message}", file=sys.stderr)
    return 2


def parse_resolution(spec: str) -> tuple[int, int]:
    try:
        w, h = (int(v) for v in spec.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"resolution must be WxH, like 1280x720; got {spec!r}") from None
    if not (16 <= w <= 8192 and 16 <= h <= 8192):
        raise argparse.ArgumentTypeError(f"resolution out of range: {spec!r}")
    return w, h


def _port(spec: str) -> int:
    port = int(spec)
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"port must be 0-65535, got {spec}")
    return port


def add_mirror_parser(subparsers) -> argparse.ArgumentParser:
    """Add ``mirror`` to ``subparsers``."""
    p = subparsers.add_parser(
        "mirror",
        help="the try-on mirror (live window, touch-free buttons, size advice)",
        description=MIRROR_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    src = p.add_mutually_exclusive_group()
    src.add_argument("--camera", type=int, default=0, metavar="N", help="camera index (default 0)")
    src.add_argument("--input", type=Path, metavar="VIDEO", help="play a video (or image, or folder) in a loop instead")
    p.add_argument(
        "--catalog", type=Path, metavar="DIR", help="catalog folder (default: $TRYON_CATALOG if set, else garments/)"
    )
    p.add_argument(
        "--items",
        nargs="+",
        metavar="ID",
        help="initial outfit, 'id' or 'id:colourway' (default: navy-longsleeve, else the catalog's first top)",
    )
    p.add_argument("--fullscreen", action="store_true", help="full screen (kiosk display)")
    p.add_argument(
        "--resolution", type=parse_resolution, metavar="WxH", help="camera capture size (or the input resized)"
    )
    p.add_argument("--fov", type=float, default=60.0, help="horizontal field of view without calibration (deg)")
    p.add_argument(
        "--snapshots", type=Path, metavar="DIR", help="where photos go (default ~/Pictures/tryon; created if missing)"
    )
    p.add_argument("--save-raw", action="store_true", help="also save the raw camera frame with each photo")
    p.add_argument("--snapshot-delay", type=float, default=3.0, metavar="S", help="photo countdown (default 3 s)")
    p.add_argument("--dwell", type=float, default=1.0, metavar="S", help="how long a hand presses a button (1 s)")
    p.add_argument("--serve", type=_port, metavar="PORT", help="also stream MJPEG on http://127.0.0.1:PORT/")
    p.add_argument("--headless", action="store_true", help="no window (use with --serve)")
    p.add_argument("--calibration", type=Path, metavar="JSON", help="camera calibration (default: tryon calibrate's)")
    p.add_argument("--no-calibration", action="store_true", help="ignore any camera calibration")
    p.add_argument("--overlay", action="store_true", help="start with the speed overlay on (key O)")
    p.add_argument("--max-frames", type=int, metavar="N", help="quit after N frames (tests)")
    p.add_argument("--script", type=Path, metavar="JSON", help='keys to press: [{"frame": 20, "key": "s"}, ...]')
    p.add_argument("--screenshot", type=Path, metavar="PNG", help="save the last frame shown (with the interface)")
    p.set_defaults(func=cmd_mirror)
    return p


def add_calibrate_parser(subparsers) -> argparse.ArgumentParser:
    """Add ``calibrate`` to ``subparsers``."""
    p = subparsers.add_parser(
        "calibrate",
        help="calibrate the camera with a printed chessboard",
        description=CALIBRATE_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    src = p.add_mutually_exclusive_group()
    src.add_argument("--camera", type=int, default=0, metavar="N", help="camera index (default 0), interactive")
    src.add_argument("--input", type=Path, metavar="VIDEO|FOLDER", help="a video or a folder of photos of the board")
    p.add_argument("--board", default="9x6", help="inner corners per row x column (default 9x6: 10x7 squares)")
    p.add_argument("--square-mm", type=float, default=25.0, help="the printed square's side in mm (default 25)")
    p.add_argument("--standing", type=Path, metavar="IMAGE", help="a photo of the board held at the standing spot")
    p.add_argument("--views", type=int, default=15, help="views to collect from a camera (default 15)")
    p.add_argument("--output", type=Path, metavar="JSON", help="where to write (default ~/.config/tryon/camera.json)")
    p.set_defaults(func=cmd_calibrate)
    return p


# -- tryon mirror --------------------------------------------------------------------------------
def _has_display() -> bool:
    if sys.platform.startswith("linux"):
        return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
    return True


def _load_calibration(args):
    from tryon.calibration import CameraCalibration, default_path

    if args.no_calibration:
        return None
    path = args.calibration or default_path()
    if not path.is_file():
        if args.calibration is not None:
            raise ValueError(f"calibration not found: {path}")
        return None
    try:
        calib = CameraCalibration.load(path)
    except ValueError:
        if args.calibration is not None:
            raise
        log.warning("ignoring the camera calibration at %s: it cannot be read", path)
        return None
    print(f"mirror: camera calibration {path} ({calib.width}x{calib.height}, rms {calib.rms_px:.2f} px)")
    return calib


def _charts(garments) -> dict:
    from tryon.sizing import chart_for

    charts = {}
    for g in garments:
        try:
            charts[g.id] = chart_for(g.manifest, g.category)
        except ValueError as exc:
            log.warning("item %s: bad size chart (%s); using the default", g.id, exc)
            charts[g.id] = chart_for({}, g.category)
    return charts


def _default_outfit(wardrobe) -> list[str]:
    """The demo's shirt if the catalog has it, else its first item of the top slot (of the
    category the table lists first: a plain top before a dress or a jacket), else its first
    item."""
    from tryon.catalog.categories import CATEGORIES

    if "navy-longsleeve" in wardrobe:
        return ["navy-longsleeve"]
    order = list(CATEGORIES)
    tops = sorted(wardrobe.by_slot.get("top", []), key=lambda e: (order.index(e.category), e.id))
    if tops:
        return [tops[0].id]
    for slot in wardrobe.slots:
        if wardrobe.by_slot.get(slot):
            return [wardrobe.by_slot[slot][0].id]
    return []


def cmd_mirror(args: argparse.Namespace) -> int:
    """Build and run the mirror."""
    from tryon.mirror.app import CameraFeed, LoopingFeed, MirrorApp, MirrorConfig, load_script
    from tryon.mirror.ui import DwellOptions, Outfit, Wardrobe, parse_spec
    from tryon.video import SourceError

    if not args.headless and not _has_display():
        return _fail("no display for a window; run with --headless --serve PORT")
    if args.max_frames is not None and args.max_frames < 1:
        return _fail("--max-frames must be at least 1")
    try:
        feed = LoopingFeed(args.input, args.resolution) if args.input else CameraFeed(args.camera, args.resolution)
        script = load_script(args.script) if args.script else {}
        calib = _load_calibration(args)
    except (SourceError, ValueError) as exc:
        return _fail(str(exc))

    from tryon import Catalog, EngineOptions, TryOnEngine
    from tryon.sizing import SizeEstimator

    catalog = Catalog(args.catalog)
    garments, _warnings = catalog.load_all()  # broken items are skipped with a warning each
    if not garments:
        feed.close()
        return _fail(f"the catalog at {catalog.root} has no items that load")
    wardrobe = Wardrobe.from_garments(garments)
    specs = args.items or _default_outfit(wardrobe)
    try:
        for spec in specs:
            item_id = parse_spec(spec).item_id
            if item_id not in wardrobe and item_id in catalog.ids():
                raise ValueError(f"item {item_id!r} did not load (see the warning above)")
        outfit = Outfit(wardrobe, specs)
    except (KeyError, ValueError) as exc:
        feed.close()
        return _fail(str(exc).strip("'\""))

    config = MirrorConfig(
        save_raw=args.save_raw,
        dwell=DwellOptions(dwell_s=args.dwell),
        snapshot_delay_s=args.snapshot_delay,
        overlay=args.overlay,
        max_frames=args.max_frames,
        script=script,
        screenshot=args.screenshot,
        unavailable_size=args.resolution or (1280, 720),
    )
    if args.snapshots is not None:
        config.snapshots = args.snapshots
    options = EngineOptions(mirror=True, hfov_deg=args.fov, intrinsics=calib.intrinsics if calib else None)
    sizer = SizeEstimator(
        intrinsics=calib.intrinsics if calib else None,
        standing_distance_m=calib.standing_distance_m if calib else None,
    )
    server = window = None
    engine = TryOnEngine(items=outfit.specs(), catalog=catalog, options=options)
    try:
        if args.serve is not None:
            from tryon.mirror.stream import MjpegServer

            try:
                server = MjpegServer(args.serve)
            except OSError as exc:
                return _fail(f"cannot serve on 127.0.0.1:{args.serve}: {exc.strerror or exc}")
            print(f"mirror: serving {server.url} (stream {server.url}stream.mjpg)", flush=True)
        if not args.headless:
            import cv2

            from tryon.mirror.app import Window

            try:
                window = Window("tryon mirror", fullscreen=args.fullscreen)
            except cv2.error as exc:
                return _fail(f"cannot open a window: {exc}")
        if args.headless and server is None and args.max_frames is None:
            log.warning("--headless without --serve: nothing will be shown (stop with Ctrl-C)")
        print(f"mirror: {feed.label}; photos to {Path(config.snapshots).expanduser()}", flush=True)
        app = MirrorApp(
            engine,
            feed,
            outfit,
            config,
            window=window,
            server=server,
            sizer=sizer,
            charts=_charts(garments),
            undistort=calib.undistorter() if calib else None,
        )
        return app.run()
    finally:
        if server is not None:
            server.close()
        feed.close()
        engine.close()


# -- tryon calibrate -----------------------------------------------------------------------------
def cmd_calibrate(args: argparse.Namespace) -> int:
    from tryon.calibration import (
        CalibrationError,
        board_distance,
        calibrate,
        capture_views,
        default_path,
        images_from,
        parse_board,
    )
    from tryon.video import Camera, SourceError, read_image

    try:
        board = parse_board(args.board)
        if args.square_mm <= 0:
            raise ValueError("--square-mm must be positive")
        standing = read_image(args.standing) if args.standing else None
        if args.input is not None:
            calib = calibrate(images_from(args.input), board, args.square_mm, source=str(args.input))
        else:
            try:
                cam = Camera(args.camera)
            except SourceError as exc:
                return _fail(str(exc))
            try:
                views, shot = capture_views(cam, board, args.views, show=_has_display())
            finally:
                cam.close()
            standing = standing if standing is not None else shot
            calib = calibrate(views, board, args.square_mm, source=f"camera {args.camera}")
        if standing is not None:
            calib = calib.with_standing_distance(round(board_distance(standing, calib), 3))
    except (CalibrationError, SourceError, ValueError) as exc:
        return _fail(str(exc))
    out = calib.save(args.output or default_path())
    print(
        f"calibrated from {calib.views} views of a {board[0]}x{board[1]} board: "
        f"fx {calib.fx:.1f} fy {calib.fy:.1f} cx {calib.cx:.1f} cy {calib.cy:.1f} px "
        f"({calib.width}x{calib.height}, {calib.intrinsics.hfov_deg:.1f} deg wide), rms {calib.rms_px:.3f} px"
    )
    if calib.standing_distance_m is not None:
        print(f"standing spot: {calib.standing_distance_m:.2f} m from the camera")
    else:
        print("no standing spot measured (--standing IMAGE): size advice stays at the model's scale")
    print(f"written: {out}")
    return 0
