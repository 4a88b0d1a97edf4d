"""Regenerate the pictures the README shows (docs/images/), from today's code.

python tools/make_figures.py [--only NAME ...]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
OUT = ROOT / "docs" / "images"
PHOTOS = ROOT / "tests" / "data" / "photos"


def _label(img: np.ndarray, text: str) -> np.ndarray:
    img = img.copy()
    cv2.rectangle(img, (0, 0), (img.shape[1], 26), (30, 30, 30), -1)
    cv2.putText(img, text, (6, 18), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (255, 255, 255), 1, cv2.LINE_AA)
    return img


def _fit_h(img: np.ndarray, h: int) -> np.ndarray:
    return cv2.resize(img, (round(img.shape[1] * h / img.shape[0]), h), interpolation=cv2.INTER_AREA)


def demo_frames() -> Path:
    """Six frames of the bundled clip with the bundled top (no overlay)."""
    from tryon import TryOnEngine
    from tryon.video import VideoFile

    picks = (5, 25, 45, 65, 85, 100)
    tiles = []
    with TryOnEngine(items=["navy-longsleeve"]) as engine:
        frames = [f for f, _ in VideoFile(ROOT / "samples" / "dance.mp4")]
        for i, result in enumerate(engine.process_stream(frames, fps=20)):
            if i in picks:
                tiles.append(_label(cv2.resize(result.image, (300, 300), interpolation=cv2.INTER_AREA), f"frame {i}"))
    sheet = np.vstack([np.hstack(tiles[:3]), np.hstack(tiles[3:])])
    path = OUT / "demo_frames.png"
    cv2.imwrite(str(path), sheet)
    return path


def photos() -> Path:
    """Every test photo, before and after, with the bundled top."""
    from tryon import TryOnEngine

    names = [
        "mediapipe_samples_pose_test_image.jpg",
        "pixabay_image2.jpeg",
        "skimage_astronaut.png",
        "coco_000000000785.jpg",
        "pixabay_image3.jpeg",
        "pixabay_image1.png",
        "skimage_camera.png",
    ]
    pairs = []
    with TryOnEngine(items=["navy-longsleeve"]) as engine:
        for n in names:
            img = cv2.imread(str(PHOTOS / n))
            out = engine.process(img).image
            pairs.append(np.hstack([_fit_h(img, 260), _fit_h(out, 260)]))
    rows, row, width = [], [], 0
    for p in pairs:
        if width + p.shape[1] > 1500 and row:
            rows.append(row)
            row, width = [], 0
        row.append(p)
        width += p.shape[1]
    rows.append(row)
    full = max(sum(p.shape[1] for p in r) for r in rows)
    sheet = np.vstack([np.hstack(r + [np.zeros((260, full - sum(p.shape[1] for p in r), 3), np.uint8)]) for r in rows])
    path = OUT / "photos_before_after.png"
    cv2.imwrite(str(path), sheet)
    return path


def catalog() -> Path:
    """Every bundled item's preview (the mannequin wearing it), labelled with its id."""
    from tryon.catalog.catalog import Catalog

    cat = Catalog(ROOT / "garments")
    tiles = []
    for item_id in sorted(cat.ids(), key=lambda i: (cat.get(i).category, i)):
        preview = cv2.imread(str(ROOT / "garments" / item_id / "preview.png"))
        h, w = preview.shape[:2]
        front = preview[:, : w // 2]  # the front view (the preview shows front and three-quarter)
        tile = cv2.resize(front, (200, round(200 * h / (w // 2))), interpolation=cv2.INTER_AREA)
        tiles.append(_label(tile, item_id))
    cols = 7
    tiles += [np.zeros_like(tiles[0])] * (-len(tiles) % cols)
    sheet = np.vstack([np.hstack(tiles[r : r + cols]) for r in range(0, len(tiles), cols)])
    path = OUT / "catalog.png"
    cv2.imwrite(str(path), sheet)
    return path


def accessories() -> Path:
    """Every accessory on the real test photos, close up (each crop centred on what was drawn),
    and a whole outfit; before (the photo) and after, side by side."""
    from tryon import TryOnEngine

    shots = [
        ("red-glasses", "pixabay_image2.jpeg"),
        ("grey-fedora", "pixabay_image2.jpeg"),
        ("hoop-earrings", "mediapipe_samples_pose_test_image.jpg"),  # a turned head shows the hoop
        ("chain-necklace", "pixabay_image1.png"),
        ("steel-watch", "mediapipe_samples_pose_test_image.jpg"),
        ("bangle", "pixabay_image1.png"),
        ("solitaire-ring", "pixabay_image1.png"),
        ("variants-sneaker:Street", "pixabay_image2.jpeg"),
        ("black-dress-shoes", "pixabay_image1.png"),
    ]
    tiles = []
    with TryOnEngine(items=[]) as engine:
        for spec, name in shots:
            img = cv2.imread(str(PHOTOS / name))
            img = cv2.resize(img, None, fx=2, fy=2, interpolation=cv2.INTER_CUBIC)  # a kiosk's scale
            engine.set_items([spec])
            result = engine.process(img)
            ys, xs = np.nonzero(result.garment_alpha > 0.5)
            cx, cy = (xs.mean(), ys.mean()) if len(xs) else (img.shape[1] / 2, img.shape[0] / 2)
            span = max(90, int(1.6 * max(np.ptp(xs), np.ptp(ys)))) if len(xs) else 200
            x0, y0 = int(max(0, cx - span / 2)), int(max(0, cy - span / 2))
            x1, y1 = min(img.shape[1], x0 + span), min(img.shape[0], y0 + span)
            pair = [
                cv2.resize(im[y0:y1, x0:x1], (220, 220), interpolation=cv2.INTER_AREA) for im in (img, result.image)
            ]
            tiles.append(_label(np.hstack(pair), spec.split(":")[0]))
        outfit = ["white-tee", "blue-jeans", "black-dress-shoes", "red-glasses", "steel-watch", "chain-necklace"]
        img = cv2.imread(str(PHOTOS / "pixabay_image1.png"))
        img = cv2.resize(img, None, fx=2, fy=2, interpolation=cv2.INTER_CUBIC)
        engine.set_items(outfit)
        out = engine.process(img).image
    cols = 3
    rows = [np.hstack(tiles[r : r + cols]) for r in range(0, len(tiles), cols)]
    grid = np.vstack(rows)
    pair = _label(np.hstack([_fit_h(img, grid.shape[0]), _fit_h(out, grid.shape[0])]), "a whole outfit, before / after")
    sheet = np.hstack([grid, pair])
    path = OUT / "accessories.png"
    cv2.imwrite(str(path), sheet)
    return path


def _tile(img: np.ndarray, box: tuple[float, float, float, float], label: str, size=(260, 320)) -> np.ndarray:
    """The part ``box`` (fractions x0, y0, x1, y1) of an image, at ``size``, labelled."""
    h, w = img.shape[:2]
    x0, y0, x1, y1 = int(box[0] * w), int(box[1] * h), int(box[2] * w), int(box[3] * h)
    return _label(cv2.resize(img[y0:y1, x0:x1], size, interpolation=cv2.INTER_AREA), label)


def realism() -> Path:
    """Before / after pictures: occlusion (hair and hands in front of the shirt) and lighting
    (the same photo, normal and dim-warm, lit by a fixed studio light or by the estimate)."""
    from tryon import EngineOptions, TryOnEngine
    from tryon.render.keepout import KeepoutOptions
    from tryon.render.lighting import Lighting
    from tryon.video import VideoFile

    clip = [f for f, _ in VideoFile(ROOT / "samples" / "upper_body.mp4", max_frames=121)]
    yoga = cv2.imread(str(PHOTOS / "pixabay_image3.jpeg"))
    clip_box, yoga_box = (0.2, 0.0, 0.8, 1.0), (0.1, 0.08, 0.9, 0.55)
    row1 = []
    for frames, box in ((clip, clip_box), (yoga, yoga_box)):
        for label, occ in (("no occlusion", False), ("body, hands, hair occlude", True)):
            opts = EngineOptions(occlusion=occ, keepout=KeepoutOptions(hands=occ, hair=occ))
            with TryOnEngine(items=["white-tee"], options=opts) as engine:
                if isinstance(frames, list):
                    out = list(engine.process_stream(frames, fps=25, pipelined=False))[-1].image
                else:
                    out = engine.process(frames).image
            row1.append(_tile(out, box, label))
    lin = (yoga.astype(np.float64) / 255.0) ** 2.2
    dim = (np.clip(lin * np.array([0.12, 0.25, 0.42]), 0, 1) ** (1 / 2.2) * 255).round().astype(np.uint8)
    row2 = []
    for img, room in ((yoga, "bright"), (dim, "dim warm")):
        for label, light in (("studio light", Lighting.studio()), ("estimated light", "estimate")):
            with TryOnEngine(items=["white-tee"], options=EngineOptions(lighting=light)) as engine:
                row2.append(_tile(engine.process(img).image, (0.05, 0.05, 0.95, 0.75), f"{room} room, {label}"))
    sheet = np.vstack([np.hstack(row1), np.hstack(row2)])
    path = OUT / "realism.png"
    cv2.imwrite(str(path), sheet)
    return path


def _own_clothes_truth() -> list[np.ndarray]:
    """Synthetic truth tiles: the mannequin in a wide green outfit, trying on a top, jeans and
    sneakers: off, inpainted (a still), clean plate, and the feet close up."""
    from tryon import Catalog
    from tryon.body.mannequin import load_mannequin
    from tryon.body.solver import RigSolver
    from tryon.body.synthetic import arm_pose, forward_kinematics, place_in_camera
    from tryon.deform import body_occluder, deform_item
    from tryon.frames import CameraIntrinsics
    from tryon.ownclothes import OwnClothesRemover
    from tryon.ownclothes.stage import EMPTY_FRAMES
    from tryon.ownclothes.truth import background, dressed_scene
    from tryon.render.compositor import Compositor
    from tryon.render.lighting import Lighting
    from tryon.render.renderer import Renderer

    m = load_mannequin()
    K = CameraIntrinsics.from_fov(640, 480, 55)
    cat = Catalog()
    items = [cat.get(i) for i in ("navy-longsleeve", "blue-jeans", "worn-sneakers")]
    pal = place_in_camera(forward_kinematics(m, arm_pose(-5)), 20, (0.0, 0.05, 3.4))
    with Renderer() as r:
        scene = dressed_scene(m, pal, K, r, background(640, 480, 1))
        body = RigSolver(m).solve(scene.pose, K)
        draws, posed = [], []
        for item in items:
            d = deform_item(item, body)
            draws += d
            posed.append((item, np.concatenate([x.positions_cam_m for x in d])))
        layer = r.render_items(K, draws, body_occluder(m, body), scene.pose.segmentation, Lighting.studio())
        comp = Compositor()
        stage = OwnClothesRemover(m)
        still = stage.apply(scene.frame, scene.pose, body, posed, stream=False).image
        for _ in range(EMPTY_FRAMES + 1):
            stage.observe(scene.background, None)
        plate = stage.apply(scene.frame, scene.pose, body, posed).image
        outs = [comp.composite(img, layer).image for img in (scene.frame, still, plate)]
    box = (0.3, 0.12, 0.7, 0.98)
    tiles = [_tile(o, box, label) for o, label in zip(outs, ("truth: own outfit", "inpainted", "clean plate"))]
    feet = (0.35, 0.72, 0.65, 0.92)
    close = [_tile(outs[k], feet, f"shoes: {label}", (260, 160)) for k, label in ((0, "off"), (2, "plate"))]
    tiles.append(np.vstack(close))
    return tiles


def own_clothes() -> Path:
    """Before / after the shopper's own clothes are removed: photos (inpainting), a clip frame
    (off, inpainting only, clean plate), shoes, and the synthetic truth."""
    from tryon import EngineOptions, TryOnEngine
    from tryon.ownclothes import OwnClothesOptions
    from tryon.video import VideoFile

    off, plate_off = OwnClothesOptions(enabled=False), OwnClothesOptions(plate=False)
    row1 = []
    crops = (("coco_000000000785.jpg", (0.3, 0.0, 0.95, 0.75)), ("skimage_astronaut.png", (0.0, 0.1, 1.0, 1.0)))
    for name, box in crops:
        img = cv2.imread(str(PHOTOS / name))
        for label, opts in (("photo: own clothes show", off), ("removed (inpainting)", OwnClothesOptions())):
            with TryOnEngine(items=["navy-longsleeve"], options=EngineOptions(own_clothes=opts)) as engine:
                row1.append(_tile(engine.process(img).image, box, label))
    frames = [f for f, _ in VideoFile(ROOT / "samples" / "dance.mp4", max_frames=81)]
    items = ["navy-longsleeve", "blue-jeans", "worn-sneakers"]
    outs = {}
    for label, opts in (("clip: off", off), ("inpainting only", plate_off), ("clean plate", OwnClothesOptions())):
        with TryOnEngine(items=items, options=EngineOptions(own_clothes=opts)) as engine:
            outs[label] = list(engine.process_stream(frames, fps=20, pipelined=False))
    row2 = [_tile(r[60].image, (0.15, 0.05, 0.85, 0.95), f"{label}, frame 60") for label, r in outs.items()]
    shoes = [_tile(r[40].image, (0.2, 0.62, 0.8, 0.95), f"shoes: {label.split(':')[-1].strip()}", size=(260, 160))
             for label, r in outs.items() if label != "inpainting only"]
    row2.append(np.vstack(shoes))
    sheet = np.vstack([np.hstack(row1), np.hstack(row2), np.hstack(_own_clothes_truth())])
    path = OUT / "own_clothes.png"
    cv2.imwrite(str(path), sheet)
    return path


def cloth_look() -> Path:
    """Before / after on the project's photos and clip: fabric, occlusion baked at import,
    wrinkles, contact shadows and camera matching all off, then all on."""
    from tryon import EngineOptions, TryOnEngine
    from tryon.render.lighting import Lighting
    from tryon.video import VideoFile

    off = dict(fabric=False, ambient_occlusion=False, wrinkles=False, contact_shadows=False, camera_match=False)
    suit = cv2.imread(str(PHOTOS / "pixabay_image2.jpeg"))
    astronaut = cv2.imread(str(PHOTOS / "skimage_astronaut.png"))
    render = cv2.imread(str(PHOTOS / "pixabay_image1.png"))
    clip = [f for f, _ in VideoFile(ROOT / "samples" / "upper_body.mp4", max_frames=60)]
    cases = [
        (suit, ["navy-longsleeve", "grey-fedora"], (0.2, 0.0, 0.8, 0.55), "studio", "hat brim, sleeves"),
        (astronaut, ["olive-jacket", "grey-fedora"], (0.15, 0.0, 0.85, 0.75), "studio", "brim, collar, armpits"),
        (render, ["plum-blouse", "blue-jeans"], (0.15, 0.15, 0.85, 0.85), "studio", "hem on jeans"),
        (clip, ["navy-longsleeve"], (0.38, 0.45, 0.62, 0.8), "estimate", "camera noise and tone (zoomed)"),
    ]
    rows = []
    for img, items, box, light, what in cases:
        pair = []
        for label, opts in (("before", off), ("after", {})):
            lighting = Lighting.studio() if light == "studio" else "estimate"
            with TryOnEngine(items=items, options=EngineOptions(lighting=lighting, **opts)) as engine:
                if isinstance(img, list):
                    out = list(engine.process_stream(img, fps=25, pipelined=False))[-1].image
                else:
                    out = engine.process(img).image
            size = (300, 360)
            pair.append(_tile(out, box, f"{label}: {what}", size))
        rows.append(np.hstack(pair))
    sheet = np.vstack([np.hstack(rows[:2]), np.hstack(rows[2:])])
    path = OUT / "cloth_look.png"
    cv2.imwrite(str(path), sheet)
    return path


FIGURES = {
    "demo_frames": demo_frames,
    "photos": photos,
    "catalog": catalog,
    "accessories": accessories,
    "realism": realism,
    "own_clothes": own_clothes,
    "cloth_look": cloth_look,
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--only", nargs="*", choices=sorted(FIGURES))
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    for name in args.only or FIGURES:
        print(f"{name}: {FIGURES[name]()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
