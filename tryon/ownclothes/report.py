"""The benchmark's own-clothes section (``tryon bench``): both leak figures and the stage's cost.

Synthetic truth (:mod:`tryon.ownclothes.truth`, three poses): leak with a clean plate and
inpainted, the plate's error against the true background, and the stage's milliseconds a
frame at 640x480 (plate, steady state). Real photos (:mod:`tryon.ownclothes.metrics`): the
leak beside the bundled top with the stage off and on.
"""

from __future__ import annotations

import time

import numpy as np

#: The synthetic poses: arm raise (deg), yaw (deg), camera position of the model origin (m).
POSES = ((15, 0, (0.0, 0.05, 3.4)), (-5, 20, (0.0, 0.05, 3.4)), (40, -30, (0.3, 0.05, 3.0)))
ITEMS = ("navy-longsleeve", "blue-jeans", "worn-sneakers")
PHOTOS = (
    "coco_000000000785.jpg",
    "skimage_astronaut.png",
    "pixabay_image2.jpeg",
    "pixabay_image3.jpeg",
    "mediapipe_samples_pose_test_image.jpg",
    "skimage_camera.png",
)


def _measure(compositor, trial, image) -> tuple[float, float]:
    """(leak, plate error) of ``image`` (the frame as the stage left it) with the items over it."""
    from tryon.ownclothes.truth import fill_error, leak_share

    c = compositor.composite(image, trial.layer)
    return leak_share(trial.scene, c.image, c.alpha), fill_error(trial.scene, c.image, c.alpha)


def synthetic(catalog=None, frames: int = 15) -> dict:
    from tryon.body.mannequin import load_mannequin
    from tryon.body.synthetic import arm_pose, forward_kinematics, place_in_camera
    from tryon.catalog.catalog import Catalog
    from tryon.frames import CameraIntrinsics
    from tryon.ownclothes.stage import EMPTY_FRAMES, OwnClothesRemover
    from tryon.ownclothes.truth import background, dressed_scene, try_on
    from tryon.render.compositor import Compositor
    from tryon.render.renderer import Renderer

    m = load_mannequin()
    K = CameraIntrinsics.from_fov(640, 480, 55)
    cat = catalog if isinstance(catalog, Catalog) else Catalog(catalog)
    garments = [cat.get(i) for i in ITEMS]
    comp = Compositor()
    out = {"leak_off": [], "leak_plate": [], "leak_inpainted": [], "error_plate": [], "ms_plate": []}
    with Renderer() as r:
        for raise_deg, yaw, pos in POSES:
            pal = place_in_camera(forward_kinematics(m, arm_pose(raise_deg)), yaw, pos)
            t = try_on(m, dressed_scene(m, pal, K, r, background(640, 480, 1)), K, r, garments)
            sc = t.scene
            out["leak_off"].append(_measure(comp, t, sc.frame)[0])
            inpainted = OwnClothesRemover(m).apply(sc.frame, sc.pose, t.body, t.items).image
            out["leak_inpainted"].append(_measure(comp, t, inpainted)[0])
            stage = OwnClothesRemover(m)
            for _ in range(EMPTY_FRAMES + 1):
                stage.observe(sc.background, None)
            leak, err = _measure(comp, t, stage.apply(sc.frame, sc.pose, t.body, t.items).image)
            out["leak_plate"].append(leak)
            out["error_plate"].append(err)
            ms = []
            for _ in range(frames):
                t0 = time.perf_counter()
                stage.apply(sc.frame, sc.pose, t.body, t.items)
                ms.append((time.perf_counter() - t0) * 1e3)
            out["ms_plate"].append(float(np.median(ms)))
    return {k: [round(float(x), 4) for x in v] for k, v in out.items()}


def photos(catalog=None) -> dict:
    from pathlib import Path

    import cv2

    from tryon.engine import EngineOptions, TryOnEngine
    from tryon.ownclothes.mask import BodyRaster, OwnClothesOptions
    from tryon.ownclothes.metrics import beside_items, leak_parts

    folder = Path(__file__).resolve().parents[2] / "tests" / "data" / "photos"
    out = {}
    with TryOnEngine(items=["navy-longsleeve"], catalog=catalog, options=EngineOptions()) as eng:
        raster = BodyRaster(eng.mannequin)
        for name in PHOTOS:
            img = cv2.imread(str(folder / name))
            if img is None:
                continue
            res = eng.process(img)
            if res.pose is None or res.garment_alpha.max() < 0.5 or res.body is None:
                continue
            area = float((res.garment_alpha > 0.5).sum())
            off = float(beside_items(res.garment_alpha, res.pose).sum()) / area
            regions = raster.regions(res.body, (img.shape[1], img.shape[0]), OwnClothesOptions().flesh_m) > 0
            parts = leak_parts(img, res.image, res.garment_alpha, res.pose, regions)
            out[name] = {
                "off": round(off, 4),
                "on": round(parts["leak"], 4),
                "beside_torso": round(parts["beside_torso"], 4),
            }
    return out


#: Photos of a shopper in dark clothes with dark hair, filmed by a slow handheld camera
#: (:func:`handheld`) for the no-holes measure: the cameraman (short black hair seen side on
#: over a black coat), the seated woman (a dark ponytail over a black top).
DARK_PHOTOS = ("skimage_camera.png", "mediapipe_samples_pose_test_image.jpg")


def handheld(image: np.ndarray, frames: int = 30) -> list[np.ndarray]:
    """A clip of a still: a slow handheld camera over it (a drift of 3% of the width and 2% of
    the height, 4% zoom and 2 degrees of roll, one cycle over the clip), each frame the size of
    ``image``, (H, W, 3) uint8 BGR."""
    import cv2

    h, w = image.shape[:2]
    out = []
    for i in range(frames):
        t = 2 * np.pi * i / frames
        M = cv2.getRotationMatrix2D((w / 2, h / 2), 2.0 * np.sin(t + 2), 1.0 + 0.04 * np.sin(t + 0.5))
        M[:, 2] += (0.03 * w * np.sin(t), 0.02 * h * np.sin(2 * t + 1))
        out.append(cv2.warpAffine(image, M, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT))
    return out


def holes(catalog=None, frames: int = 30) -> dict:
    """The no-holes measure (:func:`tryon.ownclothes.metrics.torso_hole`) over a handheld clip
    of each of DARK_PHOTOS with the bundled top: per clip the mean share of the upper torso the
    top is missing from, the share of frames missing more than 5%, and the frames measured."""
    from pathlib import Path

    import cv2

    from tryon.engine import TryOnEngine
    from tryon.ownclothes.metrics import torso_hole

    folder = Path(__file__).resolve().parents[2] / "tests" / "data" / "photos"
    out = {}
    for name in DARK_PHOTOS:
        img = cv2.imread(str(folder / name))
        if img is None:
            continue
        with TryOnEngine(items=["navy-longsleeve"], catalog=catalog) as eng:
            results = eng.process_stream(handheld(img, frames), fps=25, pipelined=False)
            share = [torso_hole(r.garment_alpha, r.pose) for r in results if r.pose is not None]
        share = [x for x in share if x is not None]
        if share:
            out[name] = {
                "mean": round(float(np.mean(share)), 4),
                "over_5pct": round(float(np.mean(np.array(share) > 0.05)), 4),
                "frames": len(share),
            }
    return out


def run(catalog=None) -> dict:
    syn, real, dark = synthetic(catalog), photos(catalog), holes(catalog)
    pct = lambda v: "-".join(f"{100 * x:.1f}" for x in (min(v), max(v)))  # noqa: E731
    md = [
        "Own clothes (synthetic truth, a wide outfit trying on a top, jeans and sneakers, three poses; "
        f"leak % of the items' area): off {pct(syn['leak_off'])}, clean plate {pct(syn['leak_plate'])}, "
        f"inpainted {pct(syn['leak_inpainted'])}; plate error {min(syn['error_plate']):.1f}-"
        f"{max(syn['error_plate']):.1f} grey levels; the stage {np.median(syn['ms_plate']):.1f} ms a frame "
        "at 640x480 (plate, median). Photos (leak beside the top, % of its area, off -> on): "
        + ", ".join(f"{k.split('.')[0]} {100 * v['off']:.1f} -> {100 * v['on']:.1f}" for k, v in real.items())
        + " (beside the torso and arms, outside the bare body, an additional figure: "
        + ", ".join(f"{k.split('.')[0]} {100 * v['beside_torso']:.1f}" for k, v in real.items())
        + "). No holes (dark clothes, dark hair; a handheld clip of each photo; the top missing from the "
        "upper torso, mean %, frames over 5%): "
        + ", ".join(
            f"{k.split('.')[0]} {100 * v['mean']:.1f} ({100 * v['over_5pct']:.0f}% of {v['frames']})"
            for k, v in dark.items()
        )
        + ".",
    ]
    return {"synthetic": syn, "photos": real, "holes": dark, "markdown": "\n".join(md)}
