#!/usr/bin/env python3
"""tryon demo: garments on the people in a video, an image, a folder of images, or a webcam.

python demo.py                                   # the bundled sample clip -> demo_output.mp4
python demo.py --input clip.mp4 --items white-tee --output out.mp4
python demo.py --input photo.jpg                 # -> photo_tryon.png
python demo.py --input photos/                   # each photo on its own -> photos_tryon/<name>_tryon.png
python demo.py --input frames/ --sequence --output out.mp4   # a folder of video frames, tracked
python demo.py --camera 0 --mirror               # live window (press q or Esc to quit)
python demo.py --input photo.jpg --catalog my_catalog --items red-frames   # items from your own catalog

Items come from the catalog folder given with --catalog, else from $TRYON_CATALOG if it is set,
else from the bundled garments/ (see --list-items). Without --items the demo shows
navy-longsleeve, or, when the catalog has no such item, its first top (else its first item).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent
SAMPLE = ROOT / "samples" / "dance.mp4"
DEFAULT_ITEM = "navy-longsleeve"


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    src = p.add_mutually_exclusive_group()
    src.add_argument("--input", type=Path, help="video file, image, or folder of images (default: the sample clip)")
    src.add_argument("--camera", type=int, metavar="N", help="open camera N in a live window")
    p.add_argument(
        "--items",
        nargs="+",
        metavar="ID",
        help=f"catalog item ids, 'id:variant' for a colourway (default: {DEFAULT_ITEM}, else the catalog's first top)",
    )
    p.add_argument(
        "--catalog", type=Path, help="catalog folder (default: $TRYON_CATALOG if set, else the bundled garments/)"
    )
    p.add_argument(
        "--output",
        type=Path,
        help="output file or folder (default: demo_output.mp4; <name>_tryon.png for an image;"
        " <folder>_tryon/ for a folder)",
    )
    p.add_argument(
        "--sequence",
        action="store_true",
        help="a folder holds the frames of one video (tracked and smoothed), not separate photos",
    )
    p.add_argument("--mirror", action="store_true", help="flip horizontally like a mirror")
    p.add_argument(
        "--keep-own-clothes",
        action="store_true",
        help="leave the shopper's own clothes where the items do not cover them (default: removed)",
    )
    p.add_argument("--fov", type=float, default=60.0, help="camera horizontal field of view in degrees (default 60)")
    p.add_argument("--max-frames", type=int, help="stop after this many frames")
    p.add_argument("--no-overlay", action="store_true", help="no speed panel on the output")
    p.add_argument("--skeleton", action="store_true", help="draw the pose keypoints over the output")
    p.add_argument("--list-items", action="store_true", help="list the catalog's items and exit")
    return p.parse_args(argv)


def fail(message: str) -> int:
    print(f"demo.py: error: {message}", file=sys.stderr)
    return 2


def default_items(catalog) -> list[str]:
    """[DEFAULT_ITEM] when the catalog has it, else its first top (else its first item), said
    on stdout; [] for an empty catalog."""
    ids = catalog.ids()
    if not ids:
        return []
    if DEFAULT_ITEM in ids:
        return [DEFAULT_ITEM]
    categories = {}
    for item_id in ids:
        try:
            categories[item_id] = catalog.manifest(item_id).get("category", "")
        except Exception:  # a broken item: not a candidate
            continue
    tops = [i for i in ids if categories.get(i) == "top"]
    chosen = (tops or [i for i in ids if i in categories] or ids)[0]
    what = "its first top" if tops else "its first item"
    print(f"the catalog at {catalog.root} has no {DEFAULT_ITEM!r}: showing {what}, {chosen!r} (choose with --items)")
    return [chosen]


def annotate(result, engine, fps: float | None, show: bool, skeleton: bool = False):
    from tryon.overlay import draw_hud, draw_skeleton

    image = result.image
    if not show and not skeleton:
        return image
    image = image.copy()
    if skeleton and result.pose is not None:
        draw_skeleton(image, result.pose, mirrored=engine.options.mirror)
    if not show:
        return image
    t = {k: result.timings_ms.get(k, 0.0) for k in ("pose", "rig_solve", "skinning", "render", "composite", "readback")}
    lines = [f"tryon  {', '.join(g.id for g in engine.items)}"]
    if fps is not None:
        lines.append(f"{fps:5.1f} fps  frame {result.timings_ms.get('total', 0):5.1f} ms")
    lines.append("pose {pose:.1f}  solve {rig_solve:.1f}  skin {skinning:.1f}".format(**t))
    lines.append("render {render:.1f}  comp {composite:.1f}  read {readback:.1f} ms".format(**t))
    if result.pose is None:
        lines.append("no person")
    draw_hud(image, lines)
    return image


def print_summary(n: int, wall_s: float, stage_sums: dict[str, float], out: Path | None, stills: bool = False) -> None:
    if n == 0:
        print("no frames processed")
        return
    how = "each photo on its own" if stills else "pose on its own thread"
    print(f"frames: {n}   wall: {wall_s:.2f} s   throughput: {n / wall_s:.1f} fps ({how})")
    print("per-stage mean ms: " + "  ".join(f"{k} {v / n:.1f}" for k, v in stage_sums.items() if k != "total"))
    if "total" in stage_sums:
        print(f"mean capture-to-composite latency: {stage_sums['total'] / n:.1f} ms")
    if out is not None:
        print(f"output: {out}")


def run_photos(engine, source, src_path: Path, output: Path | None, overlay: tuple[bool, bool]) -> int:
    """One image, or each image of a folder on its own (a still: no tracking between them)."""
    import cv2

    from tryon.video import IMAGE_SUFFIXES, SourceError, read_image

    files = source.files[: source.max_frames]
    if src_path.is_dir():
        out_dir = output or Path(f"{src_path.resolve().name}_tryon")
        out_dir.mkdir(parents=True, exist_ok=True)
        targets = [out_dir / f"{f.stem}_tryon.png" for f in files]
    else:
        out_dir = None
        targets = [output or Path(f"{src_path.stem}_tryon.png")]
        if output is not None and output.suffix.lower() not in IMAGE_SUFFIXES:
            return fail(f"an image gives an image: name the output .png or .jpg, not {output.name}")
    stage_sums: dict[str, float] = {}
    n = 0
    t0 = time.perf_counter()
    for path, target in zip(files, targets):
        try:
            frame = read_image(path)
        except SourceError as exc:
            print(f"skipping {exc}", file=sys.stderr)
            continue
        result = engine.process(frame)
        if not cv2.imwrite(str(target), annotate(result, engine, None, *overlay)):
            return fail(f"cannot write {target}")
        n += 1
        for k, v in result.timings_ms.items():
            stage_sums[k] = stage_sums.get(k, 0.0) + v
    print_summary(n, time.perf_counter() - t0, stage_sums, out_dir or targets[0], stills=True)
    return 0 if n else fail(f"no readable images in {src_path}")


def run_camera(engine, index: int, show_overlay: bool) -> int:
    import cv2

    from tryon.overlay import draw_hud
    from tryon.video import Camera, SourceError

    try:
        cam = Camera(index)
    except SourceError as exc:
        return fail(str(exc))
    window = "tryon demo (q to quit)"
    try:
        cv2.namedWindow(window, cv2.WINDOW_NORMAL)
    except cv2.error:
        cam.close()
        return fail("cannot open a window (no display?); use --input with a video instead")
    last = time.perf_counter()
    fps = None
    engine.reset()
    try:
        while True:
            frame = cam.read()
            if frame is None:
                blank = (255 * 0.1 * __import__("numpy").ones((480, 640, 3))).astype("uint8")
                draw_hud(blank, [f"camera {index} unavailable, retrying..."])
                cv2.imshow(window, blank)
            else:
                try:
                    result = engine.process(frame, timestamp_ms=cam.timestamp_ms())
                except ValueError as exc:
                    logging.warning("bad frame: %s", exc)
                    continue
                now = time.perf_counter()
                inst = 1.0 / max(now - last, 1e-6)
                fps = inst if fps is None else 0.9 * fps + 0.1 * inst
                last = now
                cv2.imshow(window, annotate(result, engine, fps, show_overlay))
            key = cv2.waitKey(1) & 0xFF
            if key in (ord("q"), 27):
                break
    finally:
        cam.close()
        cv2.destroyAllWindows()
    return 0


def main(argv=None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    os.environ.setdefault("GLOG_minloglevel", "2")

    import cv2

    from tryon import Catalog, EngineOptions, TryOnEngine
    from tryon.ownclothes import OwnClothesOptions
    from tryon.runtime import configure_process
    from tryon.video import IMAGE_SUFFIXES, VIDEO_SUFFIXES, SourceError, VideoWriter, open_source

    configure_process()  # the demo owns its process: BLAS kept to one thread (tryon.runtime)

    catalog = Catalog(args.catalog)
    if args.list_items:
        for item_id in catalog.ids():
            m = catalog.manifest(item_id)
            print(f"{item_id:24s} {m['category']:12s} {m['name']}")
        return 0
    items = args.items
    if items is None:
        items = default_items(catalog)
        if not items:
            return fail(f"the catalog at {catalog.root} has no items (add some with 'tryon garments add')")
    try:
        own = OwnClothesOptions(enabled=not args.keep_own_clothes)
        options = EngineOptions(hfov_deg=args.fov, mirror=args.mirror, own_clothes=own)
        engine = TryOnEngine(items=items, catalog=catalog, options=options)
    except KeyError as exc:
        return fail(str(exc.args[0]) if exc.args else str(exc))
    except ValueError as exc:
        return fail(str(exc))

    with engine:
        if args.camera is not None:
            return run_camera(engine, args.camera, not args.no_overlay)
        src_path = args.input or SAMPLE
        try:
            source = open_source(src_path, max_frames=args.max_frames)
        except SourceError as exc:
            return fail(str(exc))
        stage_sums: dict[str, float] = {}
        n = 0
        t0 = time.perf_counter()
        overlay = (not args.no_overlay, args.skeleton)
        if source.is_still or (src_path.is_dir() and not args.sequence):
            return run_photos(engine, source, src_path, args.output, overlay)
        out = args.output or Path("demo_output.mp4")
        if out.suffix.lower() in IMAGE_SUFFIXES:
            return fail(f"a video gives a video or frames: name the output .mp4 or a folder, not {out.name}")
        folder_out = out if out.suffix.lower() not in VIDEO_SUFFIXES else None
        writer = None if folder_out else VideoWriter(out, source.fps)
        names = [f.stem for f in source.files] if src_path.is_dir() else None
        if folder_out:
            folder_out.mkdir(parents=True, exist_ok=True)
        fps = None
        last = time.perf_counter()
        try:
            # Pipelined: the pose model runs on its own thread, one frame ahead.
            for result in engine.process_stream(source, fps=source.fps):
                now = time.perf_counter()
                inst = 1.0 / max(now - last, 1e-6)
                fps = inst if fps is None else 0.9 * fps + 0.1 * inst
                last = now
                for k, v in result.timings_ms.items():
                    stage_sums[k] = stage_sums.get(k, 0.0) + v
                image = annotate(result, engine, fps, *overlay)
                if writer is not None:
                    writer.write(image)
                else:
                    i = round(result.timestamp_ms * source.fps / 1000.0)
                    name = names[i] if names and i < len(names) else f"{n:05d}"
                    cv2.imwrite(str(folder_out / f"{name}_tryon.png"), image)
                n += 1
        except SourceError as exc:
            return fail(str(exc))
        finally:
            if writer is not None:
                writer.close()
            source.close()
        print_summary(n, time.perf_counter() - t0, stage_sums, out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
