"""Contact shadows: items darken the shopper (and each other) from the key light."""

import cv2
import numpy as np
import pytest

from tryon.catalog.item import Material
from tryon.frames import CameraIntrinsics, project
from tryon.render.lighting import Lighting
from tryon.render.renderer import Draw, Renderer
from tryon.render.shadows import darken, key_share

K = CameraIntrinsics.from_fov(320, 240, 60)
FROM_ABOVE = Lighting(
    sh=Lighting.studio().sh, key_direction=np.array([0.0, -0.8, -0.6]), key_color=np.array([2.2, 2.2, 2.2])
)


def quad(x0, y0, x1, y1, z, key):
    pos = np.array([[x0, y0, z], [x1, y0, z], [x1, y1, z], [x0, y1, z]], np.float32)
    nrm = np.tile([0, 0, -1], (4, 1)).astype(np.float32)
    faces = np.array([[0, 2, 1], [0, 3, 2]], np.int32)
    return Draw(key, pos, nrm, faces, material=Material(key, [0.2, 0.3, 0.6, 1.0]), clip_to_person=False)


@pytest.fixture(scope="module")
def renderer():
    r = Renderer()
    yield r
    r.close()


def _shadowed(renderer, item, body, lighting):
    frame = np.full((K.height, K.width, 3), 160, np.uint8)
    layer = renderer.render_items(K, [item], body, None, lighting, depth_margin_px=24)
    out, _, shade = darken(frame, layer, renderer.last_scene_depth, lighting, K)
    return frame, out, shade


def test_an_item_shadows_the_body_below_it_when_lit_from_above(renderer):
    body = quad(-0.5, -0.5, 0.5, 0.5, 2.0, "body")
    item = quad(-0.15, -0.15, 0.15, 0.0, 1.96, "collar")  # 4 cm in front of the body
    frame, out, shade = _shadowed(renderer, item, body, FROM_ABOVE)
    (u0, v0), (u1, v1) = project(np.array([[-0.15, -0.15, 1.96], [0.15, 0.0, 1.96]]), K)
    u = int((u0 + u1) / 2)
    below = out[int(v1) + 4 : int(v1) + 9, u - 5 : u + 5].mean()
    above = out[int(v0) - 9 : int(v0) - 4, u - 5 : u + 5].mean()
    far = out[int(v1) + 40, u]
    assert below < 160 * (1 - 0.3 * key_share(FROM_ABOVE))  # in the (soft) shadow
    assert above == 160 and (far == 160).all()  # the light side, and far below: untouched
    # From below, the shadow falls above instead.
    from_below = Lighting(FROM_ABOVE.sh, np.array([0.0, 0.8, -0.6]), FROM_ABOVE.key_color)
    _, out2, _ = _shadowed(renderer, item, body, from_below)
    assert out2[int(v0) - 9 : int(v0) - 4, u - 5 : u + 5].mean() < 150
    assert out2[int(v1) + 4 : int(v1) + 9, u - 5 : u + 5].mean() == 160


def test_an_item_touching_nothing_casts_no_contact_shadow(renderer):
    body = quad(-0.5, -0.5, 0.5, 0.5, 2.0, "body")
    item = quad(-0.15, -0.15, 0.15, 0.0, 1.5, "far")  # half a metre in front: not a contact shadow
    frame, out, shade = _shadowed(renderer, item, body, FROM_ABOVE)
    assert np.array_equal(out, frame)


def test_nothing_behind_means_nothing_darkened(renderer):
    item = quad(-0.15, -0.15, 0.15, 0.0, 1.96, "alone")
    frame, out, shade = _shadowed(renderer, item, None, FROM_ABOVE)
    assert np.array_equal(out, frame)


@pytest.mark.slow
@pytest.mark.parametrize("photo", ["pixabay_suit", "astronaut_upper_body"])
def test_a_hat_brim_shadows_the_forehead_on_a_real_photo(photo):
    """A real EGL render composited on a real photo: the forehead below the brim darkens, the
    cheeks far below it do not, and the top's hem darkens what is below it where it ends on
    the person."""
    from helpers import load_photo

    from tryon import EngineOptions, TryOnEngine
    from tryon.pose.landmarks import L

    img = load_photo(photo)
    out = {}
    for on in (False, True):
        opts = EngineOptions(lighting=Lighting.studio(), contact_shadows=on, camera_match=False)
        with TryOnEngine(items=["navy-longsleeve", "grey-fedora"], options=opts) as eng:
            out[on] = eng.process(img)
    kp = out[True].pose.keypoints_px
    gray = {on: out[on].image.astype(float).mean(axis=2) for on in out}
    alpha = out[True].garment_alpha
    eyes_y = int(kp[[L.LEFT_EYE, L.RIGHT_EYE], 1].mean())
    x0, x1 = sorted(int(v) for v in kp[[L.LEFT_EYE, L.RIGHT_EYE], 0])
    # the brim's lowest row above the eyes, in the eyes' columns
    covered = np.nonzero((alpha[: eyes_y, x0:x1] > 0.5).any(axis=1))[0]
    assert len(covered), "the hat is drawn above the eyes"
    brim = int(covered.max())
    band = (slice(brim + 2, min(brim + 8, eyes_y)), slice(x0, x1))
    skin = alpha[band] < 0.05
    assert skin.sum() > 10
    assert gray[True][band][skin].mean() < gray[False][band][skin].mean() - 8  # in the brim's shadow
    mouth_y = int(kp[[L.MOUTH_LEFT, L.MOUTH_RIGHT], 1].mean())
    chin = (slice(mouth_y + 2, mouth_y + 6), slice(x0, x1))
    assert abs(gray[True][chin].mean() - gray[False][chin].mean()) < 2  # far below: unchanged
    # outside the person (her soft mask's outer edge grown by a few pixels) nothing darkens
    seg = cv2.resize(out[True].pose.segmentation, img.shape[1::-1]) > 0.01
    person = cv2.dilate(seg.astype(np.uint8), np.ones((9, 9), np.uint8)) > 0
    outside = ~person & (alpha == 0)
    assert outside.sum() > 1000
    assert np.array_equal(out[True].image[outside], out[False].image[outside])


#: The dance clip's estimated key light near frame 50: above and a little behind the dancer.
ABOVE_BEHIND = Lighting(
    sh=Lighting.studio().sh, key_direction=np.array([0.08, -0.92, 0.39]), key_color=np.array([2.2, 2.2, 2.2])
)


def test_a_surface_turned_from_the_key_light_is_not_shadowed_again(renderer):
    """Lit from above and behind, a hanging cloth facing the camera gets no key light: marching
    toward the light runs into its own depth, which once blotched a lone dress all over."""
    body = quad(-0.5, -0.5, 0.5, 0.5, 2.0, "body")
    item = quad(-0.15, -0.15, 0.15, 0.0, 1.96, "hanging")
    layer = renderer.render_items(K, [item], body, None, ABOVE_BEHIND, depth_margin_px=24)
    before = layer.bgra.copy()
    frame = np.full((K.height, K.width, 3), 160, np.uint8)
    out, layer2, shade = darken(frame, layer, renderer.last_scene_depth, ABOVE_BEHIND, K)
    assert shade is None and np.array_equal(out, frame) and np.array_equal(layer2.bgra, before)


@pytest.mark.slow
def test_a_lone_dress_on_the_dance_clip_is_not_blotched():
    """Frame 50 of the dance clip with the maxi dress alone: its contact shadow on its own
    surface is small (it was dark cloudy blotches over most of the dress, 25 levels deep)."""
    from pathlib import Path
    from unittest import mock

    import tryon.engine as engine_module
    from tryon import EngineOptions, TryOnEngine
    from tryon.video import VideoFile

    clip = Path(__file__).resolve().parents[2] / "samples" / "dance.mp4"
    frames = [f for _, (f, _t) in zip(range(51), VideoFile(clip))]
    seen = []

    def spy(frame, layer, *args, **kwargs):
        result = darken(frame, layer, *args, **kwargs)
        seen.append((layer.bgra[..., 3].copy(), layer.roi, result[2]))
        return result

    with mock.patch.object(engine_module, "darken", spy):
        with TryOnEngine(items=["emerald-maxi-dress"], options=EngineOptions(camera_match=False)) as eng:
            list(eng.process_stream(frames, fps=30, pipelined=False))
    alpha, (lx0, ly0, lx1, ly1), shadow = seen[-1]
    dress = alpha > 128
    assert dress.sum() > 20000  # the dress is drawn, large
    on_dress = np.zeros(dress.shape, np.float32)
    if shadow is not None:
        sx0, sy0, sx1, sy1 = shadow.roi
        ox0, oy0, ox1, oy1 = max(lx0, sx0), max(ly0, sy0), min(lx1, sx1), min(ly1, sy1)
        if ox1 > ox0 and oy1 > oy0:
            on_dress[oy0 - ly0 : oy1 - ly0, ox0 - lx0 : ox1 - lx0] = shadow.darkening[
                oy0 - sy0 : oy1 - sy0, ox0 - sx0 : ox1 - sx0
            ]
    levels = on_dress[dress]
    assert (levels > 8).mean() < 0.02, f"{(levels > 8).mean():.2%} of the dress darkened by over 8/255"


def test_the_compiled_march_gives_the_plain_pythons_shadow():
    """The per-sample loop compiled (numba) and run as plain Python (where numba is missing)
    give the same shadow, on a scene with a body, an item in front of part of it, holes and a
    turned surface."""
    from tryon.render import shadow_kernel

    if not hasattr(shadow_kernel.shade_samples, "py_func"):
        pytest.skip("numba is not installed: only the plain Python runs")
    rng = np.random.default_rng(3)
    h, w = 30, 40
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    body = (1.2 + 0.004 * xx + 0.002 * yy + rng.normal(0, 0.001, (h, w))).astype(np.float32)
    item = np.full((h, w), np.inf, np.float32)
    item[5:15, 10:30] = 1.15  # a band 5 cm in front of the body
    zf = np.minimum(body, item)
    zf[20:24, 0:6] = -np.inf  # nothing drawn
    zc = np.where(np.isfinite(item), item, np.float32(np.inf)).astype(np.float32)
    u = ((np.arange(w) * 4 - 80) / 277.0).astype(np.float32)
    v = ((np.arange(h) * 4 - 60) / 277.0).astype(np.float32)
    args = (
        zf,
        zc,
        u,
        v,
        np.array([0, 0, 1, 1, 2], np.int64),
        np.array([-1, -2, -3, -5, -7], np.int64),
        np.array([-0.003, -0.006, -0.01, -0.014, -0.02], np.float32),
        np.array([1.0, 1.0, 0.9, 0.7, 0.5], np.float32),
        np.float32(0.008),
        np.float32(0.25),
        np.array([0.0, -0.8, -0.6], np.float32),
        np.float32(0.57),
    )
    compiled, plain = np.zeros((h, w), np.float32), np.zeros((h, w), np.float32)
    shadow_kernel.shade_samples(*args, compiled)
    shadow_kernel.shade_samples.py_func(*args, plain)
    assert (plain > 0.3).sum() > 20  # the band shadows the body below it
    np.testing.assert_allclose(compiled, plain, atol=1e-6)


@pytest.mark.parametrize("mask_size", [(384, 512), (240, 320), (97, 131), (480, 640)])
def test_a_masks_box_is_the_whole_resize_cropped(mask_size):
    """The person and keep-out masks are resampled only under the shadow's box: the same values
    as resizing the whole mask to the frame and cropping (bilinear, centres aligned), at the
    frame's edges too; a size without a small common block falls back to an affine warp."""
    from tryon.render.shadows import _box_of

    rng = np.random.default_rng(5)
    h, w = mask_size
    mask = cv2.GaussianBlur(rng.random((h, w)).astype(np.float32), (0, 0), 3)
    full = cv2.resize(mask, (640, 480), interpolation=cv2.INTER_LINEAR)
    tol = 1e-6 if (h, w) != (97, 131) else 2e-3
    for box in [(0, 0, 640, 480), (0, 0, 7, 9), (633, 471, 640, 480), (201, 75, 486, 275), (13, 100, 14, 101)]:
        x0, y0, x1, y1 = box
        got = _box_of(mask, box, (640, 480))
        assert got.shape == (y1 - y0, x1 - x0)
        np.testing.assert_allclose(got, full[y0:y1, x0:x1], atol=tol)


def test_key_share_reads_the_ambient_at_a_front_facing_normal():
    """key_share's ambient is the shader's SH irradiance at the normal facing the camera."""
    import math

    from tryon.render.lighting import sh_irradiance

    rng = np.random.default_rng(2)
    lum = np.array([0.2126, 0.7152, 0.0722])
    for _ in range(20):
        sh = rng.normal(0.3, 0.4, (9, 3))
        light = Lighting(sh=sh, key_direction=np.array([0.0, -0.8, -0.6]), key_color=rng.uniform(0.2, 3.0, 3))
        ambient = float(sh_irradiance(sh, np.array([[0.0, 0.0, -1.0]]))[0] @ lum)
        key = float(light.key_color @ lum) * 0.57 * math.pi
        assert key_share(light) == pytest.approx(key / max(key + max(ambient, 0.0), 1e-6), abs=1e-12)
