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
PHOTOS = ("coco_000000000785.jpg", "skimage_astronaut.png", "pixabay_image2.jpeg", "pixabay_image3.jpeg")


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
    from tryon.ownclothes.metrics import beside_items, photo_leak

    folder = Path(__file__).resolve().parents[2] / "tests" / "data" / "photos"
    out = {}
    with TryOnEngine(items=["navy-longsleeve"], catalog=catalog, options=EngineOptions()) as eng:
        for name in PHOTOS:
            img = cv2.imread(str(folder / name))
            if img is None:
                continue
            res = eng.process(img)
            if res.pose is None or res.garment_alpha.max() < 0.5:
                continue
            area = float((res.garment_alpha > 0.5).sum())
            off = float(beside_items(res.garment_alpha, res.pose).sum()) / area
            out[name] = {"off": round(off, 4), "on": round(photo_leak(img, res.image, res.garment_alpha, res.pose), 4)}
    return out


def run(catalog=None) -> dict:
    syn, real = synthetic(catalog), photos(catalog)
    pct = lambda v: "-".join(f"{100 * x:.1f}" for x in (min(v), max(v)))  # noqa: E731
    md = [
        "Own clothes (synthetic truth, a wide outfit trying on a top, jeans and sneakers, three poses; "
        f"leak % of the items' area): off {pct(syn['leak_off'])}, clean plate {pct(syn['leak_plate'])}, "
        f"inpainted {pct(syn['leak_inpainted'])}; plate error {min(syn['error_plate']):.1f}-"
        f"{max(syn['error_plate']):.1f} grey levels; the stage {np.median(syn['ms_plate']):.1f} ms a frame "
        "at 640x480 (plate, median). Photos (leak beside the top, % of its area, off -> on): "
        + ", ".join(f"{k.split('.')[0]} {100 * v['off']:.1f} -> {100 * v['on']:.1f}" for k, v in real.items())
        + ".",
    ]
    return {"synthetic": syn, "photos": real, "markdown": "\n".join(md)}
