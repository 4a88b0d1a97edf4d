"""The cloth figures for the README: a clip of the skirt and the necklace in motion, a
before/after of loose garments on the dance clip, and a striding thigh in hems.

    python tools/cloth_figures.py            # -> docs/images/cloth_motion.gif, docs/images/cloth_before_after.png,
                                             #    docs/images/cloth_stride.png, docs/images/cloth_chain.png
    python tools/cloth_figures.py --stride-only  # the last two
    python tools/cloth_figures.py --drape-only   # -> docs/images/cloth_drape.png

"Before" is the engine as it was: the skirt skinned from the nearest body vertices (each
half rides its own thigh), clipped to the person mask and cut by the legs' occluder, no
cloth stage. "After" is today's: weights spread, hanging faces unclipped, the legs inside
it, the cloth simulated.
"""

from __future__ import annotations

import sys
from pathlib import Path
from unittest import mock

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tryon import EngineOptions, TryOnEngine  # noqa: E402
from tryon.catalog.catalog import Catalog  # noqa: E402
from tryon.video import VideoFile  # noqa: E402

OUT = ROOT / "docs" / "images"
CLIP = ROOT / "samples" / "dance.mp4"
#: The dancer's region of the 600x600 clip (x0, y0, x1, y1).
CROP = (60, 60, 460, 580)


def _frames() -> list[np.ndarray]:
    return [f for f, _ in VideoFile(CLIP)]


def _before_skirt():
    """The skirt as the importer made it before: raw transferred weights."""
    import tryon.catalog.makehuman_clothes as mhc
    from tryon.catalog.fit.rigging import for_category

    with mock.patch.object(mhc, "for_garment", lambda skin, pos, faces, kind, m=None: for_category(skin, kind)):
        from tryon.catalog.bundled import bundled, original_file

        b = bundled("charcoal-skirt")
        g = mhc.import_makehuman_clothes(
            original_file(b.id, ROOT / "garments"),
            item_id="charcoal-skirt-before",
            name=b.name,
            category=b.category,
            piece="bottom",
            base_color_srgb=tuple(c / 255 for c in b.color_srgb),
        )
    return g


def _run(items, frames, before: bool, with_pose: bool = False) -> list:
    import tryon.cloth.stage as stage
    import tryon.engine as engine_module

    options = EngineOptions(cloth=None) if before else EngineOptions()
    none = lambda *a, **k: None  # noqa: E731
    patches = [mock.patch.object(m, "garment_part_cloth", none) for m in (stage, engine_module)]
    for p in patches if before else ():  # no split (everything clipped), the legs' occluder kept
        p.start()
    try:
        with TryOnEngine(items=items, options=options) as engine:
            results = engine.process_stream(frames, fps=30, pipelined=False)
            return [(r.image, r.pose) if with_pose else r.image for r in results]
    finally:
        for p in patches if before else ():
            p.stop()


def _crop(img: np.ndarray, scale: float = 1.0) -> np.ndarray:
    x0, y0, x1, y1 = CROP
    out = img[y0:y1, x0:x1]
    return cv2.resize(out, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA) if scale != 1.0 else out


def _label(img: np.ndarray, text: str) -> np.ndarray:
    img = img.copy()
    cv2.putText(img, text, (8, 22), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (255, 255, 255), 3, cv2.LINE_AA)
    cv2.putText(img, text, (8, 22), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (20, 20, 20), 1, cv2.LINE_AA)
    return img


def before_after(frames) -> Path:
    picks = (20, 50, 80)
    catalog = Catalog()
    before = _run([_before_skirt()], frames, before=True)
    after = _run([catalog.get("charcoal-skirt")], frames, before=False)
    dress = _run([catalog.get("emerald-maxi-dress")], frames, before=False)
    rows = [
        np.hstack([_label(_crop(before[i], 0.6), f"before, frame {i}") for i in picks]),
        np.hstack([_label(_crop(after[i], 0.6), f"after, frame {i}") for i in picks]),
        np.hstack([_label(_crop(dress[i], 0.6), f"dress, frame {i}") for i in picks]),
    ]
    path = OUT / "cloth_before_after.png"
    cv2.imwrite(str(path), np.vstack(rows))
    return path


def motion_clip(frames) -> Path:
    """The skirt and the necklace on the dancer, with a close-up of the neck beside it."""
    from PIL import Image

    shots = _run(["charcoal-skirt", "chain-necklace"], frames, before=False, with_pose=True)
    tiles = []
    centre = None
    for img, pose in shots[10:90:2]:
        body = _crop(img, 0.45)
        h = body.shape[0]
        if pose is not None:  # the neck: below the shoulders' midpoint, followed smoothly
            kp = pose.keypoints_px
            c = np.array([(kp[11, 0] + kp[12, 0]) / 2, (kp[11, 1] + kp[12, 1]) / 2 + 25])
            centre = c if centre is None else 0.7 * centre + 0.3 * c
        cx, cy = (300, 200) if centre is None else centre.astype(int)
        half_w, half_h = 70, 60
        x0, y0 = max(cx - half_w, 0), max(cy - half_h, 0)
        neck = cv2.resize(img[y0 : y0 + 2 * half_h, x0 : x0 + 2 * half_w], (int(h * 140 / 120), h))
        tiles.append(np.hstack([body, neck]))
    # 128 colours a frame: with fewer the pale gold chain on the white shirt is lost
    pil = [Image.fromarray(cv2.cvtColor(t, cv2.COLOR_BGR2RGB)).quantize(colors=128) for t in tiles]
    path = OUT / "cloth_motion.gif"
    pil[0].save(path, save_all=True, append_images=pil[1:], duration=66, loop=0, optimize=True)
    return path


def _on_bare_body(m, body, draws, K) -> np.ndarray:
    """(H, W, 3) uint8: ``draws`` rendered over the bare posed mannequin on a light grey ground."""
    from tryon.body.skinning import linear_blend_skinning
    from tryon.ownclothes.truth import SKIN_COLOUR
    from tryon.render.lighting import Lighting
    from tryon.render.renderer import Renderer
    from tryon.render.types import Draw, Material

    pos, nrm = linear_blend_skinning(m.positions_m, m.skin, body.palette, m.normals)
    bare = Draw("__bare_body__", pos, nrm, m.faces, material=Material("skin", np.array(SKIN_COLOUR, np.float32)))
    with Renderer() as r:
        layers = r.render_layers(K, [bare, *draws], lighting=Lighting.studio())
    a = layers.bgra[:, :, 3:4].astype(np.float32) / 255.0
    return np.clip(np.full((K.height, K.width, 3), 235.0) * (1.0 - a) + layers.bgra[:, :, :3], 0, 255).astype(np.uint8)


def _stride_tile(item_id: str, t_s: float, before: bool, drape: bool = False, stride_deg: float = 30.0,
                 stride_hz: float = 1.0, name: str | None = None) -> np.ndarray:
    """The mannequin (bare skin) wearing ``item_id``, walking in place (each thigh
    ±``stride_deg`` at ``stride_hz``) seen from its front left, at ``t_s``: the cloth simulated
    from the start as the engine does at 30 fps (``drape``: ClothOptions(drape=True)),
    rendered with the body so that a thigh through the hem shows; ``name`` labels it."""
    import tryon.cloth.colliders as colliders
    import tryon.cloth.stage as stage_module
    import tryon.cloth.tethers as tethers
    from tryon.body.mannequin import load_mannequin
    from tryon.body.rotations import axis_angle
    from tryon.body.solver import PosedBody
    from tryon.body.synthetic import forward_kinematics, place_in_camera
    from tryon.cloth.stage import ClothOptions, ClothStage
    from tryon.deform import deform_item
    from tryon.frames import CameraIntrinsics

    m = load_mannequin()
    K = CameraIntrinsics.from_fov(420, 420, 32.0)
    item = Catalog().get(item_id)
    # "Before": the legs' capsules round (15th percentile of the skin, inside the flesh) and the
    # hem's pinned cloth not colliding, as the cloth stage was.
    patches = [
        mock.patch.object(colliders, "PROFILED", ()),
        mock.patch.object(tethers, "thigh_reach_m", lambda _: -np.inf),
    ]
    for cache in (colliders._CACHE, stage_module._PART_CLOTH, stage_module._TOP_CLOTH):
        cache.clear()
    for p in patches if before else ():
        p.start()
    try:
        stage = ClothStage(m, ClothOptions(drape=drape))
        for t in np.arange(0.0, t_s + 1e-6, 1 / 30):
            stride = stride_deg * np.sin(2 * np.pi * stride_hz * t)
            local = {
                "upperleg01.L": axis_angle([1, 0, 0], np.radians(-stride)),
                "upperleg01.R": axis_angle([1, 0, 0], np.radians(stride)),
            }
            pal = place_in_camera(forward_kinematics(m, local), 55.0, (0.0, 0.12, 2.4))
            body = PosedBody.from_palette(pal, K, m.skeleton.heads)
            draws = stage.apply(item, deform_item(item, body), body, int(round(t * 1000)))
    finally:
        for p in patches if before else ():
            p.stop()
        for cache in (colliders._CACHE, stage_module._PART_CLOTH, stage_module._TOP_CLOTH):
            cache.clear()
    img = _on_bare_body(m, body, draws, K)
    img = img[150:, 40:380]  # the hips to the shins
    side = "left" if np.sin(2 * np.pi * stride_hz * t_s) > 0 else "right"
    label = f"{'draped' if drape else 'before' if before else 'after'}: {side} thigh fwd"
    if name is not None:
        label = f"{name}: {side} thigh fwd"
    return _label(img, label)


def stride_figure() -> Path:
    """Before/after: a jacket's and a dress's hem where a striding thigh comes through (top
    row the olive jacket, bottom row the maxi dress)."""
    rows = []
    for item_id in ("olive-jacket", "emerald-maxi-dress"):
        rows.append(np.hstack([_stride_tile(item_id, t, before) for t in (0.25, 0.75) for before in (True, False)]))
    path = OUT / "cloth_stride.png"
    cv2.imwrite(str(path), np.vstack(rows))
    return path


def drape_figure(frames) -> Path:
    """``ClothOptions(drape=True)`` against the default, the maxi dress: top, the mannequin
    walking in place (±35° at 1.5 Hz, from its front left; undraped the forward shin shows
    through the dress's front); below, frames of the dance clip where the dress falls
    furthest short of its convex hull (side-on strides, a bent knee forward) and where the
    drape costs most (legs set wide), default (middle) and draped (bottom)."""
    from tryon.cloth.stage import ClothOptions

    top = np.hstack([_stride_tile("emerald-maxi-dress", t, False, drape, 35.0, 1.5, "draped" if drape else "default")
                     for t in (0.4, 0.7) for drape in (False, True)])  # fmt: skip
    picks = (8, 32, 37, 14)
    item = [Catalog().get("emerald-maxi-dress")]
    rows = []
    for drape in (False, True):
        with TryOnEngine(items=item, options=EngineOptions(cloth=ClothOptions(drape=drape))) as engine:
            shots = [r.image for r in engine.process_stream(frames[: max(picks) + 1], fps=30, pipelined=False)]
        name = "draped" if drape else "default"
        rows.append(np.hstack([_label(_crop(shots[i], 0.6), f"{name}, frame {i}") for i in picks]))
    width = rows[0].shape[1]
    scale = width / top.shape[1]
    top = cv2.resize(top, (width, int(round(top.shape[0] * scale))), interpolation=cv2.INTER_AREA)
    path = OUT / "cloth_drape.png"
    cv2.imwrite(str(path), np.vstack([top, *rows]))
    return path


def _chain_tile(t_s: float, before: bool) -> np.ndarray:
    """The chain necklace close up on the mannequin swaying (±20 cm at 1.2 Hz) and turning
    (±30° at 0.8 Hz), at ``t_s``: before, its links moved by translation only."""
    from tryon.body.mannequin import load_mannequin
    from tryon.body.solver import PosedBody
    from tryon.body.synthetic import forward_kinematics, place_in_camera
    from tryon.cloth.chains import ChainCloth
    from tryon.cloth.stage import ClothStage
    from tryon.deform import deform_item
    from tryon.frames import CameraIntrinsics

    m = load_mannequin()
    K = CameraIntrinsics.from_fov(960, 640, 60.0)
    item = Catalog().get("chain-necklace")
    patch = mock.patch.object(ChainCloth, "links", property(lambda self: np.zeros(0, np.int64)))
    if before:
        patch.start()
    try:
        stage = ClothStage(m)
        for t in np.arange(0.0, t_s + 1e-6, 1 / 30):
            x, yaw = 0.2 * np.sin(2 * np.pi * 1.2 * t), 30 * np.sin(2 * np.pi * 0.8 * t)
            pal = place_in_camera(forward_kinematics(m, {}), yaw, (x, 0.0, 0.45), np.array([0.0, 0.5, 0.1]))
            body = PosedBody.from_palette(pal, K, m.skeleton.heads)
            draws = stage.apply(item, deform_item(item, body), body, int(round(t * 1000)))
    finally:
        if before:
            patch.stop()
    img = _on_bare_body(m, body, draws, K)
    # the chest, followed as it sways (its anchor at x metres, 0.45 m from the camera)
    cx = int(round(K.cx + K.fx * x / 0.45))
    x0 = int(np.clip(cx - 180, 0, K.width - 360))
    img = img[110:430, x0 : x0 + 360]
    return _label(img, f"{'before: translated' if before else 'after: turned'}, t={t_s:.2f} s")


def chain_figure() -> Path:
    """Before/after: the necklace's links when its chain swings."""
    row = [_chain_tile(t, before) for t in (0.3, 0.55) for before in (True, False)]
    path = OUT / "cloth_chain.png"
    cv2.imwrite(str(path), np.hstack(row))
    return path


def main() -> int:
    if "--drape-only" in sys.argv:
        print(drape_figure(_frames()))
        return 0
    if "--stride-only" in sys.argv:
        print(stride_figure())
        print(chain_figure())
        return 0
    print(stride_figure())
    print(chain_figure())
    frames = _frames()
    print(drape_figure(frames))
    if "--clip-only" not in sys.argv:
        print(before_after(frames))
    print(motion_clip(frames))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
