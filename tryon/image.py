"""Camera frames in: the one place that checks and converts what callers hand the engine;
and the sRGB <-> linear colour conversions (the one place for those too)."""

from __future__ import annotations

import functools

import numpy as np

MAX_SIDE_PX = 8192


def as_bgr_uint8(frame) -> np.ndarray:
    """A contiguous (H, W, 3) uint8 BGR frame, converted where that is unambiguous.

    Accepted: (H, W, 3) uint8 BGR as is; (H, W) or (H, W, 1) grayscale; (H, W, 4) BGRA
    (alpha dropped); float images in [0, 1] (OpenCV's convention); uint16 images
    (scaled to 8 bits). Anything else raises ``ValueError`` saying what was received.
    """
    if frame is None:
        raise ValueError("frame is None (the camera or video returned no image)")
    if not isinstance(frame, np.ndarray):
        raise ValueError(f"frame must be a numpy array (H, W, 3) uint8 BGR, got {type(frame).__name__}")
    if frame.size == 0:
        raise ValueError(f"frame is empty (shape {frame.shape})")
    if frame.ndim == 3 and frame.shape[2] == 1:
        frame = frame[:, :, 0]
    if frame.ndim not in (2, 3) or (frame.ndim == 3 and frame.shape[2] not in (3, 4)):
        raise ValueError(f"frame must be (H, W), (H, W, 3) or (H, W, 4), got shape {frame.shape}")
    h, w = frame.shape[:2]
    if h < 16 or w < 16 or max(h, w) > MAX_SIDE_PX:
        raise ValueError(f"frame size {w}x{h} is outside 16..{MAX_SIDE_PX} px per side")

    if frame.dtype == np.uint8:
        out = frame
    elif frame.dtype == np.uint16:
        out = (frame >> 8).astype(np.uint8)
    elif np.issubdtype(frame.dtype, np.floating):
        if not np.isfinite(frame).all():
            raise ValueError("frame has NaN or infinite values")
        lo, hi = float(frame.min()), float(frame.max())
        if lo < 0.0 or hi > 1.0:
            raise ValueError(
                f"float frame values span [{lo:.3g}, {hi:.3g}]; float frames must be in [0, 1] "
                "(convert 0-255 data to uint8 first)"
            )
        out = (frame * 255.0 + 0.5).astype(np.uint8)
    else:
        raise ValueError(f"frame dtype {frame.dtype} is not supported; use uint8 (or uint16, or float in [0, 1])")

    if out.ndim == 2:
        out = np.repeat(out[:, :, None], 3, axis=2)
    elif out.shape[2] == 4:
        out = out[:, :, :3]
    return np.ascontiguousarray(out)


def srgb_to_linear(c) -> np.ndarray:
    """sRGB-encoded values in [0, 1] (any shape) -> linear light, float64."""
    c = np.clip(np.asarray(c, dtype=np.float64), 0.0, 1.0)
    return np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)


def srgb8_to_linear(img: np.ndarray) -> np.ndarray:
    """uint8 sRGB values (an image, any shape) -> linear light in [0, 1], float32."""
    return _SRGB8_TO_LINEAR[np.asarray(img, dtype=np.uint8)]


_SRGB8_TO_LINEAR = srgb_to_linear(np.arange(256) / 255.0).astype(np.float32)


def shrink(img: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """``img`` averaged down to ``size`` = (w, h): Gaussian pyramid halvings while it stays at
    least twice as large, then bilinear. As smooth as an area average for the estimates that
    use it, and several times faster than OpenCV's ``INTER_AREA`` on large frames."""
    import cv2

    w, h = size
    while img.shape[1] >= 2 * w and img.shape[0] >= 2 * h:
        img = cv2.pyrDown(img)
    if (img.shape[1], img.shape[0]) == (w, h):
        return img
    return cv2.resize(img, (w, h), interpolation=cv2.INTER_LINEAR)


@functools.lru_cache(maxsize=32)
def disc(radius: int) -> np.ndarray:
    """OpenCV's elliptic structuring element of ``radius`` px, (2 radius + 1) square uint8
    (made once per radius: the masks' dilations ask for the same few every frame). Read-only."""
    import cv2

    k = 2 * radius + 1
    out = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k))
    out.flags.writeable = False
    return out
