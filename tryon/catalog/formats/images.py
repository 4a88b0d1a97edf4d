"""Texture images from uploads: PNG, JPEG and WebP bytes -> RGBA arrays, within a memory budget.

The image's size is read by the decoder that decodes it (Pillow: its header parser sets the size
the decoder fills, and nothing is decoded before the size is checked), so a file whose header a
simpler reader gives up on (a stray byte after a JPEG marker) cannot slip past the limit. Each
image may have at most :data:`MAX_TEXTURE_SIDE` pixels on a side; a decoded texture larger than
:data:`KEPT_TEXTURE_SIDE` is reduced at once (the catalog keeps textures of at most 1024 px), and
one import holds at most :data:`MAX_TEXTURE_PIXELS_PER_IMPORT` decoded pixels in all (a
:class:`TextureBudget`). 16-bit images are decoded to 8 bits per channel directly. Peak memory of
one decode stays under about 8 bytes per pixel of the largest image allowed (~540 MB at 8192^2).
"""

from __future__ import annotations

import io
import struct
import warnings as _warnings
from dataclasses import dataclass

import numpy as np
from PIL import Image, JpegImagePlugin, PngImagePlugin, UnidentifiedImageError, WebPImagePlugin

#: Textures larger than this on either side are dropped (with a warning): decoding an 8192^2
#: image already takes 256 MB.
MAX_TEXTURE_SIDE = 8192
#: A decoded texture larger than this on a side is reduced (by an integer factor, box-filtered)
#: right after decoding: the catalog keeps textures of at most 1024 px (``store.MAX_TEXTURE_SIDE``).
KEPT_TEXTURE_SIDE = 2048
#: Decoded (kept) texture pixels one import may hold in all: 16 textures of 2048^2, 256 MB as RGBA.
MAX_TEXTURE_PIXELS_PER_IMPORT = 16 * 2048 * 2048
_PIL_OPENERS = {
    "png": PngImagePlugin.PngImageFile,
    "jpeg": JpegImagePlugin.JpegImageFile,
    "webp": WebPImagePlugin.WebPImageFile,
}


@dataclass
class TextureBudget:
    """The decoded pixels one import may still hold (see :data:`MAX_TEXTURE_PIXELS_PER_IMPORT`)."""

    pixels_left: int = MAX_TEXTURE_PIXELS_PER_IMPORT


def image_kind(data: bytes) -> str | None:
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return "png"
    if data[:3] == b"\xff\xd8\xff":
        return "jpeg"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    return None


def image_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) as a PNG, JPEG or WebP header declares it, or None when unknown: only for the
    words of a refusal when the decoder cannot read the header (the decoder's own size is what counts)."""
    if data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) >= 24:
        w, h = struct.unpack(">II", data[16:24])
        return int(w), int(h)
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP" and len(data) >= 30:
        chunk = data[12:16]
        if chunk == b"VP8X":
            return 1 + int.from_bytes(data[24:27], "little"), 1 + int.from_bytes(data[27:30], "little")
        if chunk == b"VP8 ":
            w, h = struct.unpack("<HH", data[26:30])
            return w & 0x3FFF, h & 0x3FFF
        if chunk == b"VP8L":
            bits = int.from_bytes(data[21:25], "little")
            return 1 + (bits & 0x3FFF), 1 + ((bits >> 14) & 0x3FFF)
        return None
    if data[:2] == b"\xff\xd8":
        i, n = 2, len(data)
        while i + 4 <= n:
            if data[i] != 0xFF:
                return None
            marker = data[i + 1]
            if marker == 0xFF:  # fill byte
                i += 1
                continue
            if marker == 0x01 or 0xD0 <= marker <= 0xD9:  # standalone markers
                i += 2
                continue
            seg = struct.unpack(">H", data[i + 2 : i + 4])[0]
            if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
                if i + 9 > n:
                    return None
                h, w = struct.unpack(">HH", data[i + 5 : i + 9])
                return int(w), int(h)
            i += 2 + seg
    return None


def decode_image(
    data: bytes, label: str, warnings: list[str], budget: TextureBudget | None = None
) -> np.ndarray | None:
    """PNG/JPEG/WebP bytes -> (H, W, 4) uint8 RGBA (sRGB as stored), or None with a warning appended.

    Other image formats are not decoded (each is a decoder more to expose to uploads), nor images
    over ``MAX_TEXTURE_SIDE`` pixels on a side, nor images whose header the decoder cannot read
    (both checked before decoding). Images over ``KEPT_TEXTURE_SIDE`` come back reduced by an
    integer factor. ``budget`` (shared by one import's textures) is charged the pixels returned;
    an image that would overdraw it is not decoded.
    """
    kind = image_kind(data)
    if kind is None:
        warnings.append(f"texture {label} is not a PNG, JPEG or WebP image; using the material colour")
        return None
    damaged = f"texture {label} could not be decoded (damaged?); using the material colour"
    too_large = (
        "texture {label} is {w}x{h} pixels, over the {limit} limit; using the material colour "
        "(resize the texture to use it)"
    )
    try:
        with _warnings.catch_warnings():
            _warnings.simplefilter("ignore")  # Pillow's DecompressionBombWarning: our limit words it
            # the format's own header parser, without Image.open's generic bomb check (ours words it)
            im = _PIL_OPENERS[kind](io.BytesIO(data))
            w, h = im.size
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, EOFError, Image.DecompressionBombError):
        declared = image_size(data)  # refused either way; the declared size only words it
        if declared is not None and max(declared) > MAX_TEXTURE_SIDE:
            warnings.append(too_large.format(label=label, w=declared[0], h=declared[1], limit=MAX_TEXTURE_SIDE))
        else:
            warnings.append(damaged)
        return None
    if max(w, h) > MAX_TEXTURE_SIDE or w < 1 or h < 1:
        warnings.append(too_large.format(label=label, w=w, h=h, limit=MAX_TEXTURE_SIDE))
        return None
    factor = -(-max(w, h) // KEPT_TEXTURE_SIDE)  # ceil
    kept = -(-w // factor) * -(-h // factor)
    if budget is not None and kept > budget.pixels_left:
        warnings.append(
            f"texture {label} ({w}x{h} pixels) is left out: this upload's textures together exceed "
            f"{MAX_TEXTURE_PIXELS_PER_IMPORT:,} pixels; using the material colour (use fewer or smaller textures)"
        )
        return None
    try:
        with _warnings.catch_warnings():
            _warnings.simplefilter("ignore")
            im.load()
            rgba = _to_rgba(im, factor)
    except (OSError, ValueError, SyntaxError, EOFError, Image.DecompressionBombError):
        warnings.append(damaged)
        return None
    finally:
        im.close()
    if rgba is None:
        warnings.append(f"texture {label} has an unusual pixel layout ({im.mode}); using the material colour")
        return None
    if budget is not None:
        budget.pixels_left -= rgba.shape[0] * rgba.shape[1]
    return rgba


def _to_rgba(im: Image.Image, factor: int) -> np.ndarray | None:
    """A loaded Pillow image -> (H, W, 4) uint8 RGBA, reduced by ``factor`` (1: as it is).
    16-bit greys keep their high byte, float images are clipped to 0..1, palettes expanded."""
    mode = im.mode
    if mode in ("I;16", "I;16B", "I;16L", "I;16N", "I"):
        grey = np.asarray(im).astype(np.uint32, copy=False) >> 8
        im = Image.fromarray(np.clip(grey, 0, 255).astype(np.uint8), "L")
    elif mode == "F":
        im = Image.fromarray((np.clip(np.asarray(im), 0.0, 1.0) * 255.0).astype(np.uint8), "L")
    elif mode not in ("L", "LA", "RGB", "RGBA"):
        try:
            im = im.convert("RGBA")
        except ValueError:
            return None
    if factor > 1:
        im = im.reduce(factor)
    arr = np.asarray(im)
    del im
    if arr.ndim == 2:
        arr = arr[..., None]
    h, w, c = arr.shape
    out = np.empty((h, w, 4), np.uint8)
    if c in (1, 2):  # grey, grey + alpha
        out[..., :3] = arr[..., :1]
        out[..., 3] = arr[..., 1] if c == 2 else 255
    elif c in (3, 4):
        out[..., :3] = arr[..., :3]
        out[..., 3] = arr[..., 3] if c == 4 else 255
    else:
        return None
    return out
