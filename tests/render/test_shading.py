"""The item shader's optional parts (fabric relief, folds, sheen, the person and keep-out
masks), each compiled in only for the draws that use it: real EGL renders read back."""

import cv2
import numpy as np
import pytest

from tryon.frames import CameraIntrinsics
from tryon.render.lighting import Lighting
from tryon.render.renderer import Renderer, RenderOptions
from tryon.render.types import Draw, Material

K = CameraIntrinsics.from_fov(320, 240, 60)


@pytest.fixture(scope="module")
def renderer():
    r = Renderer(RenderOptions(samples=0))
    yield r
    r.close()


def cloth_sheet(
    key: str, fabric: str = "jersey", z: float = 0.5, n: int = 40, turn_deg: float = 0.0, **material
) -> Draw:
    """A 0.24 m square of cloth facing the camera (turned ``turn_deg`` about the vertical), an
    n x n grid (its model space = camera space)."""
    xs = np.linspace(-0.12, 0.12, n, dtype=np.float32)
    gx, gy = np.meshgrid(xs, xs)
    t = np.radians(turn_deg)
    pos = np.stack([gx.ravel() * np.cos(t), gy.ravel(), z + gx.ravel() * np.sin(t)], axis=1).astype(np.float32)
    nrm = np.tile(np.array([np.sin(t), 0, -np.cos(t)], np.float32), (n * n, 1))
    faces = []
    for r in range(n - 1):
        for c in range(n):
            if c < n - 1:
                a = r * n + c
                faces += [[a, a + n + 1, a + 1], [a, a + n, a + n + 1]]
    mat = Material(key, [0.35, 0.3, 0.6, 1.0], roughness=0.8, fabric=fabric, **material)
    return Draw(
        key,
        pos,
        nrm,
        np.array(faces, np.int32),
        material=mat,
        clip_to_person=False,
        keepout=False,
        model_positions_m=pos.copy(),
        model_normals=nrm.copy(),
        ao=np.ones(n * n, np.float32),
        wrinkle=np.zeros(n * n, np.float32),
        wrinkle_axis=np.tile(np.array([0, 1, 0], np.float32), (n * n, 1)),
    )


def luma(bgra: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(np.ascontiguousarray(bgra[:, :, :3]), cv2.COLOR_BGR2GRAY).astype(np.float32)


def inner(img: np.ndarray) -> np.ndarray:
    """The sheet's middle (its edges are the same with and without the relief)."""
    return img[80:160, 120:200]


def test_the_fabric_relief_shows_and_goes_with_the_fabric_option(renderer):
    light = Lighting.studio()
    # 0.3 m away (a pixel spans 1.1 mm): near enough for the weave to show (farther, the relief
    # is averaged away and left out; see the next test)
    woven = luma(renderer.render_layers(K, [cloth_sheet("denim", "denim", z=0.3)], lighting=light).bgra)
    with Renderer(RenderOptions(fabric=False)) as plain_renderer:
        sheet = cloth_sheet("denim", "denim", z=0.3)
        plain = luma(plain_renderer.render_layers(K, [sheet], lighting=light).bgra)
    # the weave: fine detail (a Laplacian; subtle, a fraction of a level, facing the camera) on
    # the cloth, ten times less on the same sheet without it
    detail = np.abs(cv2.Laplacian(inner(woven), cv2.CV_32F)).mean()
    flat = np.abs(cv2.Laplacian(inner(plain), cv2.CV_32F)).mean()
    assert detail > 0.12 and detail > 5 * flat
    assert abs(inner(woven).mean() - inner(plain).mean()) < 12  # the same cloth, its weave added


def test_the_relief_is_left_out_where_it_would_not_show(renderer, monkeypatch):
    """Where a pixel spans more of the weave than its mip level keeps (a shopper 1.5 m from a
    640x480 camera), the draw is compiled without the relief, and looks the same."""
    from tryon.render import renderer as renderer_module

    far = CameraIntrinsics.from_fov(640, 480, 60)  # the engine's camera; a pixel is 2.7 mm at 1.5 m
    light = Lighting.studio()
    sheet = cloth_sheet("far", "jersey", z=1.5)
    near = cloth_sheet("near", "jersey", z=0.3)
    metal = cloth_sheet("far-metal", "metal", z=0.3)  # a metal's polish is finer than any pixel
    with renderer.ctx:  # (binds the textures it uses)
        features, _ = renderer._surface(sheet.material, sheet, False, False, False, far)
        assert "RELIEF" not in features and "SHEEN" in features
        assert "RELIEF" in renderer._surface(near.material, near, False, False, False, far)[0]
        assert "RELIEF" not in renderer._surface(metal.material, metal, False, False, False, far)[0]

    left_out = renderer.render_layers(far, [sheet], lighting=light).bgra.astype(np.int16)
    monkeypatch.setattr(renderer_module, "relief_visible", lambda fabric, pixel_m: True)
    drawn = renderer.render_layers(far, [sheet], lighting=light).bgra.astype(np.int16)
    cloth = drawn[:, :, 3] == 255
    assert cloth.sum() > 1000
    diff = np.abs(drawn - left_out)[:, :, :3][cloth]
    assert diff.mean() < 0.25 and diff.max() <= 3, (diff.mean(), diff.max())


def test_folds_appear_where_the_joint_bends(renderer):
    light = Lighting.studio()
    straight = cloth_sheet("folds", "cotton")
    bent = cloth_sheet("folds", "cotton")
    bent.wrinkle = np.ones(len(bent.positions_cam_m), np.float32)
    rows_straight = inner(luma(renderer.render_layers(K, [straight], lighting=light).bgra)).mean(axis=1)
    rows_bent = inner(luma(renderer.render_layers(K, [bent], lighting=light).bgra)).mean(axis=1)
    # folds run across the axis (y): bands along the rows
    assert rows_bent.std() > 3 * max(rows_straight.std(), 0.3)
    # no vertex bent enough to fold: compiled without the folds
    with renderer.ctx:
        assert "WRINKLES" not in renderer._surface(straight.material, straight, False, False, False, K)[0]
        assert "WRINKLES" in renderer._surface(bent.material, bent, False, False, False, K)[0]


def test_sheen_brightens_cloth_and_a_zero_sheen_colour_switches_it_off(renderer):
    light = Lighting.studio()
    # turned away from the camera: the fibres' rim shows toward grazing angles
    sheen = cloth_sheet("satin", "satin", turn_deg=70)
    no_sheen = cloth_sheet("satin0", "satin", turn_deg=70, sheen_color=np.zeros(3, np.float32))
    with_sheen = renderer.render_layers(K, [sheen], lighting=light).bgra
    without = renderer.render_layers(K, [no_sheen], lighting=light).bgra
    on = (with_sheen[:, :, 3] == 255) & (without[:, :, 3] == 255)
    assert on.sum() > 1000
    assert luma(with_sheen)[on].mean() > luma(without)[on].mean() + 3


def test_person_and_keep_out_masks_clip_each_draw_that_asks(renderer):
    clipped = cloth_sheet("clipped", "jersey", z=0.4)
    clipped.clip_to_person, clipped.keepout = True, True
    free = cloth_sheet("free", "jersey", z=0.41)
    # the person mask at half the frame's resolution: the left half is not the person
    person = np.ones((120, 160), np.float32)
    person[:, :80] = 0.0
    # the keep-out at the frame's: a hand in front, top right
    keepout = np.zeros((240, 320), np.float32)
    keepout[60:100, 180:220] = 1.0
    a = renderer.render_layers(K, [clipped], person_mask=person, keepout=keepout).bgra[:, :, 3]
    assert a[120, 120] == 0 and a[120, 200] == 255  # cut where the mask says not the person
    assert a[80, 200] == 0 and a[130, 200] == 255  # and where a hand is in front
    # only one mask given: the other is not applied
    a = renderer.render_layers(K, [clipped], person_mask=person).bgra[:, :, 3]
    assert a[120, 120] == 0 and a[80, 200] == 255
    a = renderer.render_layers(K, [clipped], keepout=keepout).bgra[:, :, 3]
    assert a[120, 120] == 255 and a[80, 200] == 0
    # a draw that does not clip is drawn whole beside one that does (behind it, drawn first)
    a = renderer.render_layers(K, [free, clipped], person_mask=person, keepout=keepout).bgra[:, :, 3]
    assert a[120, 120] == 255 and a[80, 200] == 255


def test_single_sided_jewelry_is_not_drawn_from_behind_but_cloth_is(renderer):
    for fabric, from_behind in (("metal", False), ("jersey", True)):
        for turn, seen in ((0, True), (180, from_behind)):  # turned half round: its back to the camera
            sheet = cloth_sheet(f"side-{fabric}-{turn}", fabric, turn_deg=turn)
            sheet.material.double_sided = False
            assert (renderer.render_layers(K, [sheet]).bgra[120, 160, 3] == 255) == seen, (fabric, turn)


def test_the_gold_chain_is_gold_on_the_dancers_white_shirt(renderer):
    """The chain necklace on the dance clip's white shirt, as the shopper sees it (camera
    matching on): its pixels are gold, red clearly above blue, not a pale cream. Its metal
    compiles the reflections in (ENV), like any metal."""
    from pathlib import Path

    from tryon import TryOnEngine
    from tryon.catalog.catalog import Catalog
    from tryon.video import VideoFile

    item = Catalog().get("chain-necklace")
    gold = item.materials[item.parts[0].material]
    assert gold.fabric == "metal" and gold.metallic == 1.0
    tri = np.zeros((3, 3), np.float32)
    draw = Draw("chain", tri, tri, np.zeros((1, 3), np.int32), material=gold)
    features, _ = renderer._surface(gold, draw, True, False, False)
    assert "ENV" in features and "HAS_TEXTURE" not in features

    clip = Path(__file__).resolve().parents[2] / "samples" / "dance.mp4"
    frames = [f for _, (f, _t) in zip(range(20), VideoFile(clip))]
    with TryOnEngine(items=["chain-necklace"]) as eng:
        result = list(eng.process_stream(frames, fps=30, pipelined=False))[-1]
    chain = result.garment_alpha > 0.5
    assert chain.sum() > 30, result.garment_alpha.max()
    b, g, r_ = (result.image[..., c][chain].astype(float).mean() for c in range(3))
    assert r_ > g > b and r_ - b > 30 and b < 0.85 * r_, (r_, g, b, chain.sum())  # (197, 184, 156)
