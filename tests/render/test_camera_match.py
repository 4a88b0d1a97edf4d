"""Camera matching: the items take the camera's noise, softness, motion blur and tone."""

import cv2
import numpy as np
import pytest

from tryon.render.camera_match import (
    CameraLook,
    CameraMatchOptions,
    apply_look,
    measure,
    measure_blur,
    measure_noise,
    motion_kernel,
)
from tryon.render.types import ItemLayer


def ramp(h=200, w=160, base=60.0):
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    col = base + 0.2 * yy + 0.1 * xx
    bgra = np.zeros((h, w, 4), np.uint8)
    bgra[..., 0], bgra[..., 1], bgra[..., 2], bgra[..., 3] = col * 0.8, col, col * 1.1, 255
    return bgra


def test_noise_is_measured_in_flat_regions_whatever_the_shading():
    rng = np.random.default_rng(1)
    img = np.full((240, 320, 3), 120.0)
    img += np.linspace(0, 60, 320)[None, :, None]  # shading: not noise
    img[:, 160:] -= 50  # an edge: not noise
    for sigma in (1.0, 3.0):
        noisy = np.clip(img + rng.normal(0, sigma, img.shape), 0, 255).astype(np.uint8)
        got, _ = measure_noise(noisy)
        assert np.allclose(got, sigma, rtol=0.15), (sigma, got)


def test_blur_is_measured_from_the_edges():
    img = np.full((200, 200), 60, np.uint8)
    img[:, 100:] = 180
    img[100:, :] //= 2
    for sigma in (1.0, 2.0, 3.0):
        assert abs(measure_blur(cv2.GaussianBlur(img, (0, 0), sigma)) - sigma) < 0.35 * sigma


def test_items_get_the_cameras_noise_and_only_where_they_are():
    layer = ItemLayer(ramp(), (100, 50, 260, 250), (640, 480))
    clean, _ = measure_noise(layer.bgra[..., :3])
    assert clean.max() < 0.3
    for sigma in (0.5, 1.0, 3.0):
        look = CameraLook(np.full(3, sigma), 0.8, 0.0, 0.0, 255.0)
        out = apply_look(layer, look, options=CameraMatchOptions(softness=False, tone=False, motion_blur=False))
        got, shared = measure_noise(out.bgra[5:-5, 5:-5, :3])
        assert np.allclose(got, sigma, rtol=0.15), (sigma, got)
        assert shared > 0.4  # the channels share most of it, like a camera's
    hole = ramp()
    hole[50:100, 50:100] = 0
    out = apply_look(ItemLayer(hole, (0, 0, 160, 200), (640, 480)), CameraLook(np.full(3, 3.0), 0.8, 0.0, 0.0, 255.0))
    assert (out.bgra[60:90, 60:90] == 0).all()  # no noise where nothing is drawn
    assert (out.bgra[..., :3].max(axis=2) <= out.bgra[..., 3]).all()  # still premultiplied


def test_motion_blur_smears_along_the_motion():
    bgra = np.zeros((80, 80, 4), np.uint8)
    bgra[30:50, 30:50] = 255
    layer = ItemLayer(bgra, (200, 200, 280, 280), (640, 480))
    opts = CameraMatchOptions(noise=False, tone=False, softness=False, shutter=1.0)
    out = apply_look(layer, CameraLook(np.zeros(3), 1.0, 0.0, 0.0, 255.0), np.array([12.0, 0.0]), opts)
    x0, y0, _, _ = out.roi
    a = out.bgra[..., 3].astype(int)
    row = a[240 - y0]
    col = a[:, 240 - x0]
    assert (row > 0).sum() > 20 + 8  # wider along x
    assert (col > 0).sum() <= 20 + 2  # not along y
    k = motion_kernel(np.array([0.0, 7.0]))
    assert k.shape[0] >= 7 and abs(k.sum() - 1) < 1e-6 and k[:, k.shape[1] // 2].sum() > 0.9


def test_soft_frames_soften_the_items_and_tone_lifts_their_blacks():
    bgra = np.zeros((60, 60, 4), np.uint8)
    bgra[20:40, 20:40] = (10, 10, 10, 255)
    layer = ItemLayer(bgra, (100, 100, 160, 160), (640, 480))
    opts = CameraMatchOptions(noise=False, motion_blur=False)
    out = apply_look(layer, CameraLook(np.zeros(3), 1.0, 2.5, 30.0, 240.0), None, opts)
    x0, y0, _, _ = out.roi
    inner = out.bgra[130 - y0, 130 - x0]
    assert 30 <= inner[0] <= 45  # black lifted to the camera's black level
    edge = out.bgra[120 - y0, 100 + 19 - x0 : 100 + 22 - x0, 3]
    assert 40 < edge[1] < 220  # the edge is soft, not a step
    bright = bgra.copy()
    bright[20:40, 20:40] = (252, 252, 252, 255)
    out = apply_look(ItemLayer(bright, (100, 100, 160, 160), (640, 480)), CameraLook(np.zeros(3), 1.0, 0.0, 0.0, 235.0))
    assert out.bgra[130 - 100, 130 - 100, :3].max() <= 235  # clipped where the camera clips


def test_measure_a_real_frame():
    cap = cv2.VideoCapture("samples/upper_body.mp4")
    ok, frame = cap.read()
    assert ok
    look = measure(frame)
    assert 0.05 < look.noise_sigma.mean() < 5.0
    assert look.black < 60 and look.white > 180


def _clip_frames(path: str, count: int) -> list[np.ndarray]:
    cap = cv2.VideoCapture(path)
    frames = []
    while len(frames) < count:
        ok, f = cap.read()
        if not ok:
            break
        frames.append(f)
    cap.release()
    return frames


@pytest.mark.slow
@pytest.mark.parametrize("clip", ["samples/upper_body.mp4", "samples/dance.mp4"])
def test_items_noise_matches_the_cameras_on_real_clips(clip):
    """Judged: the noise in the items' region within 25 % of the frame's in flat regions."""
    from helpers import ROOT, TOP

    from tryon import EngineOptions, TryOnEngine
    from tryon.render.camera_match import _full_mask

    frames = _clip_frames(str(ROOT / clip), 40)
    ratios, ratios_off = [], []
    for on in (True, False):
        with TryOnEngine(items=[TOP], options=EngineOptions(camera_match=on, contact_shadows=False)) as eng:
            for k, res in enumerate(eng.process_stream(frames, fps=25, pipelined=False)):
                if k < 10 or k % 6 or res.pose is None:
                    continue
                frame = frames[k]
                alpha = res.garment_alpha
                inside = cv2.erode((alpha > 0.99).astype(np.uint8), np.ones((7, 7), np.uint8)) > 0
                if inside.sum() < 2000:
                    continue
                person = _full_mask(res.pose.segmentation, frame.shape[:2])
                cam, _ = measure_noise(frame, person)
                items, _ = measure_noise(res.image, inside)
                (ratios if on else ratios_off).append(float(items.mean() / max(cam.mean(), 1e-6)))
    print(f"{clip}: items/camera noise {np.round(ratios, 2)}, without matching {np.round(ratios_off, 2)}")
    assert len(ratios) >= 3 and len(ratios_off) >= 3
    assert 0.75 <= np.median(ratios) <= 1.25, ratios
    assert all(0.6 <= r <= 1.4 for r in ratios), ratios
    assert np.median(ratios_off) < 0.75  # without it the render is cleaner than the camera


@pytest.mark.parametrize("plateau, clip", [(142, 255.0), (200, 255.0), (235, 235.0)])
def test_a_white_clip_is_read_only_where_cameras_clip(plateau, clip):
    """A dim room's flat white wall (a plateau at 142) is not the camera clipping there: capping
    the items at it would grey every bright colour. Video range's 235 plateau is a clip."""
    rng = np.random.default_rng(3)
    frame = np.clip(rng.normal(90, 20, (240, 320, 3)), 0, plateau - 10).astype(np.uint8)
    frame[:, 200:] = plateau  # a flat wall: the frame's brightest pixels, a plateau
    assert measure(frame).white == clip


def test_a_stream_is_measured_over_two_frames_and_smoothed():
    """In a stream the noise is read on one frame and the softness and levels on the next (no
    frame pays the whole measurement); the first frame is measured whole, the same as ``measure``."""
    from tryon.render.camera_match import CameraMatcher

    rng = np.random.default_rng(5)
    base = np.full((240, 320, 3), 120.0)
    base[:, 160:] = 60

    def frame(sigma, black):
        f = np.clip(base + rng.normal(0, sigma, base.shape), 0, 255)
        f[:8, :8] = black  # the darkest corner sets the black level
        return f.astype(np.uint8)

    m = CameraMatcher(CameraMatchOptions(interval_ms=200.0, time_constant_ms=400.0))
    first = frame(1.0, 50)
    look0 = m.update(first, 0.0, None)
    assert np.array_equal(look0.noise_sigma, measure(first).noise_sigma)
    assert m.update(frame(1.0, 50), 40.0, None) is look0  # within the interval
    noisy = frame(4.0, 50)
    assert m.update(noisy, 200.0, None) is look0  # the noise read, the look not yet moved
    look1 = m.update(frame(4.0, 50), 240.0, None)
    a = 1.0 - np.exp(-240.0 / 400.0)
    want = look0.noise_sigma + a * (measure_noise(noisy[:, 32:288])[0] - look0.noise_sigma)
    assert np.allclose(look1.noise_sigma, want, rtol=0.1), (look1.noise_sigma, want)
    assert look1.noise_sigma.mean() > 1.5 * look0.noise_sigma.mean()
    assert m.update(frame(4.0, 50), 280.0, None) is look1  # the interval runs from the second frame


def test_the_noise_planes_are_the_rounded_noise_split_by_sign():
    """The cached noise planes (OpenCV's saturated weighted sums) hold rint(a indep + b shared)'s
    positive part and its negative part's magnitude, alpha 0, as the plain numpy formula."""
    import math

    from tryon.render.camera_match import _RHO_STEP, _SIGMA_STEP, _noise_plane, _noise_table

    indep, shared = _noise_table(48, 64)
    for steps, rho_steps in ((1, 0), (37, 4), (160, 10)):
        sigma, rho = steps * _SIGMA_STEP, min(rho_steps * _RHO_STEP, 1.0)
        noise = np.rint(indep[..., :3] * (sigma * math.sqrt(1 - rho)) + shared[..., :1] * (sigma * math.sqrt(rho)))
        pos, neg = _noise_plane(48, 64, steps, rho_steps)
        assert (pos[..., 3] == 0).all() and (neg[..., 3] == 0).all()
        # (a rounding tie may fall either way in float: at most one level, on a handful of values)
        d_pos = np.abs(pos[..., :3].astype(int) - np.clip(noise, 0, 255))
        d_neg = np.abs(neg[..., :3].astype(int) - np.clip(-noise, 0, 255))
        assert d_pos.max() <= 1 and d_neg.max() <= 1
        assert (d_pos > 0).mean() < 1e-3 and (d_neg > 0).mean() < 1e-3
        assert (np.abs(noise).max() > 0) == (steps > 1)  # (a sigma of 0.05 rounds to nothing)


@pytest.mark.parametrize(
    ("photo", "grey"),
    [("skimage_camera.png", True), ("skimage_astronaut.png", False), ("pixabay_image2.jpeg", False)],
)
def test_a_grey_picture_takes_the_colour_out_of_the_items(photo, grey):
    frame = cv2.imread(f"tests/data/photos/{photo}")
    look = measure(frame)
    assert (look.saturation == 0.0) if grey else (look.saturation == 1.0)
    layer = ItemLayer(ramp(), (100, 100, 260, 300), (frame.shape[1], frame.shape[0]))
    out = apply_look(layer, look, None, CameraMatchOptions(noise=False, softness=False, motion_blur=False))
    bgr = out.bgra[..., :3].astype(np.int16)
    spread = int((bgr.max(axis=2) - bgr.min(axis=2)).max())
    assert spread <= 1 if grey else spread >= 20
    assert np.array_equal(out.bgra[..., 3], layer.bgra[..., 3])


def test_muted_colour_keeps_a_share_of_the_items_colour():
    rng = np.random.default_rng(3)
    grey = rng.integers(40, 200, (120, 160), dtype=np.uint8)
    frame = np.dstack([grey, grey, grey]).astype(np.int16)
    frame[..., 2] += 10  # a faint warm cast: chroma 10, between grey and full colour
    look = measure(np.clip(frame, 0, 255).astype(np.uint8))
    assert 0.2 < look.saturation < 0.8
