"""Camera matching: the rendered items take on the camera's noise, softness, motion blur and tone.

A render is cleaner than any camera: no sensor noise, edges sharper than the lens and the
video codec leave them, no smear when the shopper moves, and blacks deeper than the camera's
lifted shadows. Measured from the frame (at most every ``interval_ms``, smoothed), applied to
the items' premultiplied layer (:class:`~tryon.render.types.ItemLayer`) before compositing:

- **noise**: per-channel standard deviation of the camera's noise in flat regions, and how
  much of it the channels share (luma noise vs chroma noise), by Immerkær's operator: the
  3x3 kernel ``[[1,-2,1],[-2,4,-2],[1,-2,1]]`` cancels smooth shading and leaves ``6 sigma``
  of white noise; its mean absolute value over the flattest pixels not clipped at 0 or 255
  (a median is 0 on a video codec's quantised flats). Inside the person mask when there is
  one (a replaced or faded background is not camera pixels), on a window around the person.
  The items get noise of that spread (the channels' RMS) and correlation, from a pre-drawn
  table at a random offset each frame (no random numbers drawn per pixel per frame), less
  what rounding to 8 bits adds by itself (a calibration curve measured once).
- **softness**: the re-blur method: strong edges' gradient falls by ``s / sqrt(s^2 + b^2)``
  when blurred again by ``b``; ``s`` is the frame's blur (Gaussian sigma, px), and the items
  are blurred by what the render lacks of it.
- **motion blur**: the keypoints' median image speed times the shutter's share of the frame
  interval, as a line kernel along the motion.
- **tone**: the frame's black level (its 0.5th luminance percentile: a camera with lifted
  blacks lifts the items' blacks too) and its white clip (where a plateau of its brightest
  pixels shows it clips, e.g. video range's 235): the items' highlights clip there too. The
  light estimate already sets the items' exposure; this is only the camera's curve's ends.
- **colourfulness**: a monochrome camera (or a black-and-white photo) has no chroma at all: the
  frame's 99th percentile of ``max |B-G|, |G-R|, |R-B|`` (8-bit levels) below ``CHROMA_GREY``
  reads as grey and the items lose their colour (a blue top in a grey picture is a sticker);
  up to ``CHROMA_COLOUR`` they keep a share of it. A colour camera's frame, however muted,
  reaches ``CHROMA_COLOUR`` somewhere (skin alone does), so colour frames leave items as they are.

Levels are 8-bit sRGB code values, distances image px.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import cv2
import numpy as np

from tryon.jit import compiled
from tryon.render.types import ItemLayer

#: The lowest level a brightest-pixel plateau is read as the camera's white clip at (8-bit luminance):
#: video range clips at 235, a full-range camera at 255; a plateau lower than this is a dim scene.
WHITE_CLIP_MIN = 225

#: Immerkær's noise operator: zero on planes and on quadratic shading, 6 sigma on white noise.
_NOISE_KERNEL = np.array([[1, -2, 1], [-2, 4, -2], [1, -2, 1]], np.float32)
_NOISE_GAIN = 6.0
_NOISE_1D = np.array([1, -2, 1], np.float32)
#: Share of the pixels (the flattest) the noise is measured on.
FLAT_SHARE = 0.3
#: The render's own softness (edge-aware resolve), Gaussian sigma px.
RENDER_BLUR_PX = 0.6
#: The Sobel operator's own smoothing, Gaussian sigma px (the re-blur method's offset).
_SOBEL_SIGMA = 0.75
_REBLUR_SIGMA = 2.0
#: The frame's 99th-percentile chroma (8-bit levels) at or below which it is grey (JPEG's chroma
#: rounding leaves 1-3 levels on a grey picture) and from which it is in full colour.
CHROMA_GREY = 4.0
CHROMA_COLOUR = 16.0
#: Noise and softness are measured on a window this big (px) around the person's centre.
MEASURE_WINDOW_PX = 256


@dataclass(frozen=True)
class CameraMatchOptions:
    """Which parts run, and their limits.

    interval_ms : in a stream the frame is measured at most this often (a camera's noise and
    focus change slowly; 400 ms, was 200: the measurement was a third of the stage's cost, and
    the smoothing's time constant already spans that); time_constant_ms : smoothing of the
    measurements.
    shutter : the share of the frame interval the shutter is open (motion blur length).
    max_blur_px, max_motion_px : caps on the softness blur (sigma) and on the smear length.
    """

    noise: bool = True
    softness: bool = True
    motion_blur: bool = True
    tone: bool = True
    interval_ms: float = 400.0
    time_constant_ms: float = 400.0
    shutter: float = 0.5
    max_blur_px: float = 3.0
    max_motion_px: float = 20.0

    @property
    def any(self) -> bool:
        return self.noise or self.softness or self.motion_blur or self.tone


@dataclass(frozen=True)
class CameraLook:
    """What the camera does to an image.

    noise_sigma : (3,) B, G, R noise standard deviation, 8-bit levels (white-noise equivalent).
    noise_shared : in [0, 1], the correlation of the noise between channels (1: all luma).
    blur_px : the frame's softness, Gaussian sigma in px.
    black : the frame's black level; white : the level it clips at (255 when it shows no
    clipping plateau), 8-bit luminance.
    saturation : in [0, 1], the share of the items' colour the camera keeps (0: a grey picture).
    """

    noise_sigma: np.ndarray
    noise_shared: float
    blur_px: float
    black: float
    white: float
    saturation: float = 1.0

    def blend(self, new: CameraLook, a: float) -> CameraLook:
        """This look moved a share ``a`` toward ``new``."""
        return CameraLook(
            self.noise_sigma + a * (new.noise_sigma - self.noise_sigma),
            self.noise_shared + a * (new.noise_shared - self.noise_shared),
            self.blur_px + a * (new.blur_px - self.blur_px),
            self.black + a * (new.black - self.black),
            self.white + a * (new.white - self.white),
            self.saturation + a * (new.saturation - self.saturation),
        )


CLEAN = CameraLook(np.zeros(3), 1.0, 0.0, 0.0, 255.0)


def _full_mask(mask: np.ndarray | None, shape: tuple[int, int]) -> np.ndarray | None:
    if mask is None:
        return None
    h, w = shape
    if mask.shape != (h, w):
        mask = cv2.resize(mask.astype(np.float32), (w, h), interpolation=cv2.INTER_LINEAR)
    return mask > 0.5


def _unclipped(image: np.ndarray) -> np.ndarray:
    """(H, W) bool: no channel at 3 or below nor at 252 or above."""
    if image.dtype == np.uint8:  # one OpenCV pass (numpy's min over the channels is slow)
        c = image.shape[2] if image.ndim == 3 else 1
        return cv2.inRange(image, (4,) * c, (251,) * c) > 0
    lo = image.min(axis=2) if image.ndim == 3 else image
    hi = image.max(axis=2) if image.ndim == 3 else image
    return (lo > 3) & (hi < 252)


def flat_pixels(image: np.ndarray, region: np.ndarray | None = None, share: float = FLAT_SHARE) -> np.ndarray:
    """(H, W) bool: the flattest ``share`` of the pixels of ``region`` (all if None) by the
    gradient of a slightly blurred gray copy, left out where any channel is clipped."""
    gray = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY) if image.ndim == 3 else image
    smooth = cv2.GaussianBlur(gray, (5, 5), 1.2).astype(np.float32)
    gx = cv2.Sobel(smooth, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(smooth, cv2.CV_32F, 0, 1, ksize=3)
    grad = cv2.magnitude(gx, gy)
    ok = _unclipped(image)
    if region is not None:
        ok &= region
    ok[:2] = ok[-2:] = False
    ok[:, :2] = ok[:, -2:] = False
    n_ok = np.count_nonzero(ok)  # (a bool array's sum() is several times slower)
    if n_ok < 64:
        return ok
    values = grad[ok][:: max(1, n_ok // 8000)]
    thr = float(np.partition(values, int(share * (len(values) - 1)))[int(share * (len(values) - 1))])
    return ok & (grad <= thr)


def _residual_sums(image: np.ndarray) -> np.ndarray:
    """Immerkær's kernel applied to each channel, (H, W[, C]) float32: it is the outer product
    of [1, -2, 1] with itself, so two 1-D passes (exact on 8-bit images: integer sums)."""
    src = image if image.dtype in (np.uint8, np.float32) else image.astype(np.float32)
    return cv2.sepFilter2D(src, cv2.CV_32F, _NOISE_1D, _NOISE_1D, borderType=cv2.BORDER_REFLECT)


def noise_residual(image: np.ndarray) -> np.ndarray:
    """Immerkær's residual of each channel, divided by its gain: white noise of sigma s gives
    a residual of spread s, smooth shading none. (H, W[, C]) float32."""
    return _residual_sums(image) / _NOISE_GAIN


def measure_noise(
    image: np.ndarray, region: np.ndarray | None = None, share: float = FLAT_SHARE
) -> tuple[np.ndarray, float]:
    """Per-channel noise sigma (C,) in 8-bit levels over the flattest ``share`` of the pixels of
    ``region``, and the channels' mean correlation (0 for a gray image). The residuals' top 2 %
    are clipped, so texture among the flat pixels barely moves it. Zeros when too few are flat."""
    img = image if image.ndim == 3 else image[:, :, None]
    flat = flat_pixels(image, region, share)
    c = img.shape[2]
    n_flat = np.count_nonzero(flat)
    if n_flat < 64:
        return np.zeros(c), 1.0
    # Immerkær's residual, only the flat pixels divided by its gain; channels as rows (numpy
    # reduces contiguous rows far faster), each picked from its own plane (no transposed copy).
    res = _residual_sums(img)
    planes = cv2.split(res) if res.ndim == 3 else [res]
    step = max(1, n_flat // 20000)
    r = np.stack([p[flat][::step] for p in planes]) / np.float32(_NOISE_GAIN)
    # Immerkær's mean-absolute form (a median is 0 on a codec's quantised flats), over the
    # residuals below their 98th percentile (texture and edges among the flat pixels left out).
    a = np.abs(r)
    cap = np.percentile(a, 98, axis=1, keepdims=True)
    np.minimum(a, cap, out=a)
    sigma = math.sqrt(math.pi / 2.0) * a.mean(axis=1)
    if c < 3:
        return sigma.astype(np.float64), 0.0
    # Robust correlation: clip the tails (texture) before the moment estimate.
    s = np.maximum(sigma, 1e-6)
    z = np.clip(r / s[:, None].astype(np.float32), -3.0, 3.0)
    cov = (z @ z.T) / z.shape[1]
    d = np.sqrt(np.diag(cov))
    corr = cov / np.outer(d, d)
    shared = float(np.clip((corr[0, 1] + corr[0, 2] + corr[1, 2]) / 3.0, 0.0, 1.0))
    return sigma.astype(np.float64), shared


def measure_blur(gray: np.ndarray) -> float:
    """The frame's softness as a Gaussian sigma (px) by the re-blur method over its strongest
    edges (top 2 % of the gradient); 0 for a frame without edges."""
    g = gray.astype(np.float32)
    g1 = cv2.magnitude(cv2.Sobel(g, cv2.CV_32F, 1, 0, ksize=3), cv2.Sobel(g, cv2.CV_32F, 0, 1, ksize=3))
    rb = cv2.GaussianBlur(g, (0, 0), _REBLUR_SIGMA)
    g2 = cv2.magnitude(cv2.Sobel(rb, cv2.CV_32F, 1, 0, ksize=3), cv2.Sobel(rb, cv2.CV_32F, 0, 1, ksize=3))
    edges = g1[::2, ::2]
    edges = edges[edges >= 40.0]  # below: under a 10-level step, no real edge to judge by
    if len(edges) < 20:
        return 0.0
    strong = g1 >= max(40.0, float(np.percentile(edges, 90)))
    # The re-blurred maximum lies beside the original one: compare local maxima.
    g2max = cv2.dilate(g2, np.ones((5, 5), np.uint8))
    r = float(np.median(g2max[strong] / np.maximum(g1[strong], 1e-6)))
    r = min(max(r, 1e-3), 0.995)
    s_eff = _REBLUR_SIGMA * r / math.sqrt(1.0 - r * r)
    return math.sqrt(max(s_eff**2 - _SOBEL_SIGMA**2, 0.0))


def _window(frame_bgr: np.ndarray, person_mask: np.ndarray | None) -> tuple[tuple[slice, slice], np.ndarray | None]:
    """The ``MEASURE_WINDOW_PX`` window around the person's centre (the frame's without one)
    and the person region (h, w) bool inside it, None when the mask covers too little."""
    h, w = frame_bgr.shape[:2]
    region = _full_mask(person_mask, (h, w))
    if region is not None and np.count_nonzero(region) < 0.03 * h * w:
        region = None
    cy, cx = h // 2, w // 2
    if region is not None:
        ys, xs = np.nonzero(region[::4, ::4])
        cy, cx = int(ys.mean() * 4), int(xs.mean() * 4)
    y0 = int(np.clip(cy - MEASURE_WINDOW_PX // 2, 0, max(0, h - MEASURE_WINDOW_PX)))
    x0 = int(np.clip(cx - MEASURE_WINDOW_PX // 2, 0, max(0, w - MEASURE_WINDOW_PX)))
    win = (slice(y0, y0 + MEASURE_WINDOW_PX), slice(x0, x0 + MEASURE_WINDOW_PX))
    return win, None if region is None else region[win]


def _percentile_u8(values: np.ndarray, q: float) -> float:
    """``np.percentile(values, q)`` (linear interpolation) of uint8 values by their histogram."""
    cum = np.cumsum(np.bincount(values.ravel(), minlength=256))
    pos = q / 100.0 * (int(cum[-1]) - 1)
    lo = int(math.floor(pos))
    a = int(np.searchsorted(cum, lo, side="right"))
    b = int(np.searchsorted(cum, min(lo + 1, int(cum[-1]) - 1), side="right"))
    return a + (pos - lo) * (b - a)


def frame_saturation(sample_bgr: np.ndarray) -> float:
    """The share in [0, 1] of the items' colour a camera that took ``sample_bgr`` (uint8, any
    size) keeps: 0 for a grey picture, 1 for any colour one (see ``CHROMA_GREY``)."""
    b, g, r = cv2.split(sample_bgr)
    chroma = cv2.max(cv2.max(cv2.absdiff(b, g), cv2.absdiff(g, r)), cv2.absdiff(r, b))
    c99 = _percentile_u8(chroma, 99.0)
    return float(np.clip((c99 - CHROMA_GREY) / (CHROMA_COLOUR - CHROMA_GREY), 0.0, 1.0))


def _measure_levels(frame_bgr: np.ndarray, win: tuple[slice, slice]) -> tuple[float, float, float, float]:
    """The softness (on the window), the black and white levels and the colourfulness (on the
    whole frame)."""
    blur = measure_blur(cv2.cvtColor(frame_bgr[win], cv2.COLOR_BGR2GRAY))
    small = np.ascontiguousarray(frame_bgr[::4, ::4])
    sample = cv2.cvtColor(small, cv2.COLOR_BGR2GRAY)
    black = _percentile_u8(sample, 0.5)
    top = int(sample.max())
    # A plateau is a clip only where cameras clip (video range's 235 up): a dim room's flat white
    # wall at 140 is a dim wall, and capping the items there would grey every bright colour.
    clips = WHITE_CLIP_MIN <= top < 250 and np.count_nonzero(sample >= top - 1) >= 0.005 * sample.size
    white = float(top) if clips else 255.0
    return blur, black, white, frame_saturation(small)


def measure(frame_bgr: np.ndarray, person_mask: np.ndarray | None = None) -> CameraLook:
    """The camera's look from one frame. person_mask : (h, w) float in [0, 1] at any
    resolution with the frame's aspect; the noise is measured inside it when it covers
    enough of the frame (a replaced background has no sensor noise)."""
    win, region = _window(frame_bgr, person_mask)
    sigma, shared = measure_noise(frame_bgr[win], region)
    return CameraLook(sigma, shared, *_measure_levels(frame_bgr, win))


@functools.lru_cache(maxsize=2)
def _noise_table(height: int, width: int, seed: int = 7) -> tuple[np.ndarray, np.ndarray]:
    """Unit white noise drawn once, float32, alpha 0: (height, width, 4) independent per
    colour channel, and (height, width, 4) shared by them (one draw in B, G and R)."""
    rng = np.random.default_rng(seed)
    indep = np.zeros((height, width, 4), np.float32)
    shared = np.zeros((height, width, 4), np.float32)
    indep[:, :, :3] = rng.standard_normal((height, width, 3), dtype=np.float32)
    shared[:, :, :3] = rng.standard_normal((height, width), dtype=np.float32)[:, :, None]
    return indep, shared


#: The added noise's sigma and correlation are rounded to these steps (its planes are made
#: again only when they change).
_SIGMA_STEP = 0.05
_RHO_STEP = 0.1


@functools.lru_cache(maxsize=4)
def _noise_plane(height: int, width: int, sigma_steps: int, rho_steps: int) -> tuple[np.ndarray, np.ndarray]:
    """Two (height, width, 4) uint8: white noise of sigma ``sigma_steps * _SIGMA_STEP``
    levels whose channels correlate by ``rho_steps * _RHO_STEP``, rounded to whole levels, as
    its positive part and its negative part's magnitude (two saturating uint8 passes add it,
    far faster than a mixed int16 one, and the same: each element is one or the other); alpha
    untouched (0). Two OpenCV weighted sums of ``_noise_table``'s tables saturated to uint8
    (2-4 ms for a 640x480 frame's; in numpy it took 30-70 ms, paid whenever the measured sigma
    moved a step: about every other measurement)."""
    indep, shared = _noise_table(height, width)
    sigma, rho = sigma_steps * _SIGMA_STEP, min(rho_steps * _RHO_STEP, 1.0)
    a, b = sigma * math.sqrt(1.0 - rho), sigma * math.sqrt(rho)
    pos = cv2.addWeighted(indep, a, shared, b, 0.0, dtype=cv2.CV_8U)
    neg = cv2.addWeighted(indep, -a, shared, -b, 0.0, dtype=cv2.CV_8U)
    return pos, neg


def _add_noise(bgra: np.ndarray, planes: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """A premultiplied (h, w, 4) uint8 layer plus a noise window of its size (``_noise_plane``'s
    two parts), its colour kept within its coverage (colour <= alpha: transparent pixels stay
    black)."""
    out = cv2.subtract(cv2.add(bgra, planes[0]), planes[1])
    a = cv2.extractChannel(bgra, 3)  # (a strided view's merge is ten times slower)
    return cv2.min(out, cv2.merge([a, a, a, a]))


@functools.lru_cache(maxsize=1)
def _noise_calibration() -> tuple[np.ndarray, np.ndarray]:
    """(added sigma, measured sigma) on a smooth 8-bit ramp: the noise is rounded to whole
    levels, which changes its spread (a sigma of 0.3 rounds mostly to 0), so the sigma to add
    for a wanted measured one is read off this curve."""
    yy, xx = np.mgrid[0:128, 0:128].astype(np.float32)
    ramp = np.clip(60 + 0.2 * yy + 0.1 * xx, 0, 255)
    base = np.full((128, 128, 4), 255, np.uint8)
    base[:, :, :3] = np.rint(ramp)[:, :, None]
    steps = np.arange(0, int(round(8.0 / _SIGMA_STEP)) + 1)
    measured = np.array(
        [np.mean(measure_noise(_add_noise(base, _noise_plane(128, 128, int(k), 8))[:, :, :3], share=1.0)[0])
         for k in steps]
    )
    _noise_plane.cache_clear()
    return steps * _SIGMA_STEP, np.maximum.accumulate(measured)


def _added_sigma(target: float) -> float:
    added, measured = _noise_calibration()
    return float(np.interp(target, measured, added))


def _spread(k: np.ndarray, x: int, y: int, wgt: float) -> None:
    """Add ``wgt`` to ``k[y, x]`` when (x, y) is inside the (n, n) kernel."""
    n = k.shape[0]
    if 0 <= x < n and 0 <= y < n:
        k[y, x] += wgt


def _line_kernel(t: np.ndarray, dx: float, dy: float, n: int) -> np.ndarray:
    """(n, n) float64: the points ``c + t * (dx, dy)`` (c the kernel's centre) each spread
    bilinearly over its four pixels (those inside), summed, normalised to 1. Compiled: in numpy
    this was some twenty calls on a few dozen points (0.15-0.2 ms a frame)."""
    c = (n - 1) / 2.0
    k = np.zeros((n, n))
    for i in range(t.shape[0]):
        x, y = c + t[i] * dx, c + t[i] * dy
        x0, y0 = math.floor(x), math.floor(y)
        fx, fy = x - x0, y - y0
        ix, iy = int(x0), int(y0)
        _spread(k, ix, iy, (1 - fx) * (1 - fy))
        _spread(k, ix + 1, iy, fx * (1 - fy))
        _spread(k, ix, iy + 1, (1 - fx) * fy)
        _spread(k, ix + 1, iy + 1, fx * fy)
    return k / k.sum()


_spread = compiled(_spread, inline=True)
_line_kernel = compiled(_line_kernel)


def motion_kernel(velocity_px: np.ndarray) -> np.ndarray | None:
    """A normalised line kernel along ``velocity_px`` (2,), its length the vector's; None
    when shorter than a pixel: 2n + 1 points along the line (n its length rounded up to odd),
    each spread bilinearly over its four pixels."""
    vx, vy = float(velocity_px[0]), float(velocity_px[1])
    length = math.hypot(vx, vy)
    if length < 1.0:
        return None
    n = int(math.ceil(length)) | 1
    t = np.linspace(-length / 2, length / 2, 2 * n + 1)
    return _line_kernel(t, vx / length, vy / length, n).astype(np.float32)


def apply_look(
    layer: ItemLayer,
    look: CameraLook,
    velocity_px: np.ndarray | None = None,
    options: CameraMatchOptions | None = None,
    rng: np.random.Generator | None = None,
) -> ItemLayer:
    """The items' layer as the camera would have taken it: toned, softened, smeared along
    ``velocity_px`` (px per frame interval, (2,)), then given the camera's noise. Returns a new
    layer whose region grows by what the blurs spread (clipped to the frame)."""
    o = options or CameraMatchOptions()
    if layer.empty:
        return layer
    bgra = layer.bgra
    x0, y0, x1, y1 = layer.roi
    fw, fh = layer.size
    sigma = math.sqrt(max(look.blur_px**2 - RENDER_BLUR_PX**2, 0.0)) if o.softness else 0.0
    sigma = min(sigma, o.max_blur_px)
    kernel = None
    if o.motion_blur and velocity_px is not None:
        v = np.asarray(velocity_px, np.float64) * o.shutter
        n = float(np.hypot(*v))
        if n > o.max_motion_px:
            v *= o.max_motion_px / n
        kernel = motion_kernel(v)
    pad = int(math.ceil(3 * sigma)) + (kernel.shape[0] // 2 + 1 if kernel is not None else 0)
    if pad:
        nx0, ny0, nx1, ny1 = max(0, x0 - pad), max(0, y0 - pad), min(fw, x1 + pad), min(fh, y1 + pad)
        grown = np.zeros((ny1 - ny0, nx1 - nx0, 4), np.uint8)
        grown[y0 - ny0 : y1 - ny0, x0 - nx0 : x1 - nx0] = bgra
        bgra, (x0, y0, x1, y1) = grown, (nx0, ny0, nx1, ny1)
    # uint8 throughout (OpenCV's fixed-point paths), one pass per effect.
    out = bgra
    if o.tone and look.saturation < 0.995:
        # Premultiplied colour toward its luma (Rec. 601, as the frame's grey is read); alpha kept.
        a = cv2.extractChannel(out, 3)
        y = cv2.cvtColor(out, cv2.COLOR_BGRA2GRAY)  # linear: the premultiplied colour's luma
        s = float(np.clip(look.saturation, 0.0, 1.0))
        out = cv2.addWeighted(out, s, cv2.merge([y, y, y, a]), 1.0 - s, 0.0)
    if o.tone and look.black > 0.5:
        # Premultiplied: (black + c (255 - black) / 255) a = c gain + a black / 255.
        g, k = (255.0 - look.black) / 255.0, look.black / 255.0
        # g + k = 1: the alpha maps to itself. (One weighted sum: a 4x4 cv2.transform is 3x slower.)
        a = cv2.extractChannel(out, 3)
        out = cv2.addWeighted(out, g, cv2.merge([a, a, a, a]), k, 0.0)
    if o.tone and look.white < 254.5:
        a = cv2.extractChannel(out, 3)
        cap = cv2.convertScaleAbs(a, alpha=look.white / 255.0)
        out = cv2.min(out, cv2.merge([cap, cap, cap, a]))
    if sigma > 0.3:
        out = cv2.GaussianBlur(out, (0, 0), sigma)
    if kernel is not None:
        out = cv2.filter2D(out, -1, kernel, borderType=cv2.BORDER_CONSTANT)
    sig = _added_sigma(math.sqrt(float(np.mean(np.square(look.noise_sigma)))))
    steps = int(round(sig / _SIGMA_STEP))
    if o.noise and steps > 0:
        h, w = out.shape[:2]
        rho_steps = int(round(float(np.clip(look.noise_shared, 0.0, 1.0)) / _RHO_STEP))
        pos, neg = _noise_plane(fh + 64, fw + 64, steps, rho_steps)
        rng = rng or np.random.default_rng()
        oy, ox = (int(v) for v in rng.integers(0, 64, 2))
        win = (slice(y0 + oy, y0 + oy + h), slice(x0 + ox, x0 + ox + w))
        out = _add_noise(out, (pos[win], neg[win]))
    res = out if out is not layer.bgra else layer.bgra.copy()
    return ItemLayer(res, (x0, y0, x1, y1), layer.size)


def keypoint_velocity(
    prev_px: np.ndarray | None, now_px: np.ndarray | None, reliable: np.ndarray | None = None
) -> np.ndarray | None:
    """The median image motion (2,) px of the keypoints between two frames, None without both."""
    if prev_px is None or now_px is None or prev_px.shape != now_px.shape:
        return None
    d = now_px - prev_px
    if reliable is not None and np.count_nonzero(reliable) >= 3:
        d = d[reliable]
    # np.median's value (the middle one, or the mean of the two middle ones) from one sort:
    # np.median's own checks cost more than the sort of a few dozen points.
    d = np.sort(d, axis=0)
    n = len(d)
    return d[n // 2] if n % 2 else (d[n // 2 - 1] + d[n // 2]) / 2


class CameraMatcher:
    """Per-stream camera matching: ``update`` measures the frame now and then (smoothed),
    ``apply`` gives the items the look and the motion since the last frame."""

    def __init__(self, options: CameraMatchOptions | None = None) -> None:
        self.options = options or CameraMatchOptions()
        self.reset()

    def reset(self) -> None:
        self.look: CameraLook | None = None
        self._last_ms: float | None = None
        self._prev_keypoints: np.ndarray | None = None
        #: A measurement half done: the noise read on one frame, and its window; the softness and
        #: levels follow on the next frame (no frame pays for the whole measurement).
        self._pending: tuple[np.ndarray, float, tuple[slice, slice], float, tuple[int, ...]] | None = None

    def update(self, frame_bgr: np.ndarray, timestamp_ms: float | None, person_mask: np.ndarray | None) -> CameraLook:
        """The look, measured again when ``interval_ms`` has passed since the last measurement:
        in a stream the noise on one frame and the softness and levels on the next (the
        window the noise was read on: the person moves little in a frame), then smoothed in.
        The first frame, and frames without a timestamp, are measured whole."""
        o = self.options
        streaming = self.look is not None and timestamp_ms is not None and self._last_ms is not None
        pending, self._pending = self._pending, None
        if pending is not None and streaming:
            sigma, shared, win, noise_ms, shape = pending
            if timestamp_ms >= noise_ms and frame_bgr.shape == shape:
                return self._smooth(CameraLook(sigma, shared, *_measure_levels(frame_bgr, win)), timestamp_ms)
        if streaming and 0 <= timestamp_ms - self._last_ms < o.interval_ms:
            return self.look
        if streaming and timestamp_ms > self._last_ms:
            win, region = _window(frame_bgr, person_mask)
            sigma, shared = measure_noise(frame_bgr[win], region)
            self._pending = (sigma, shared, win, timestamp_ms, frame_bgr.shape)
            return self.look
        self.look, self._last_ms = measure(frame_bgr, person_mask), timestamp_ms
        return self.look

    def _smooth(self, new: CameraLook, timestamp_ms: float) -> CameraLook:
        """``new`` blended into the look by the time since the last measurement."""
        a = 1.0 - math.exp(-(timestamp_ms - self._last_ms) / self.options.time_constant_ms)
        self.look = self.look.blend(new, a)
        self._last_ms = timestamp_ms
        return self.look

    def motion(self, keypoints_px: np.ndarray | None, reliable: np.ndarray | None, timestamp_ms: float | None):
        """The keypoints' motion since the previous frame of the stream (px), or None."""
        prev, self._prev_keypoints = self._prev_keypoints, None if keypoints_px is None else keypoints_px.copy()
        if timestamp_ms is None:
            self._prev_keypoints = None
            return None
        return keypoint_velocity(prev, keypoints_px, reliable)

    def apply(
        self, layer: ItemLayer, velocity_px: np.ndarray | None = None, timestamp_ms: float | None = None
    ) -> ItemLayer:
        """The look applied to ``layer``; the noise pattern follows the frame's timestamp (a
        still, or the same frame again, gets the same pattern: results are reproducible)."""
        if self.look is None or not self.options.any:
            return layer
        rng = np.random.default_rng(0 if timestamp_ms is None else int(timestamp_ms))
        return apply_look(layer, self.look, velocity_px, self.options, rng)
