"""Texture images from uploads: PNG, JPEG and WebP bytes -> RGBA arrays, sizes checked before decoding."""

from __future__ import annotations

import struct

import cv2
import numpy as np

#: Textures larger than this on either side are dropped (with a warning): a decoded 8192^2 RGBA
#: image is already 256 MB.
MAX_TEXTURE_SIDE = 8192


def image_kind(data: bytes) -> str | None:
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return "png"
    if data[:3] == b"\xff\xd8\xff":
        return "jpeg"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    return None


def image_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) from a PNG, JPEG or WebP header without decoding, or None when unknown."""
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


def decode_image(data: bytes, label: str, warnings: list[str]) -> np.ndarray | None:
    """PNG/JPEG/WebP bytes -> (H, W, 4) uint8 RGBA (sRGB as stored), or None with a warning appended.

    Other image formats are not decoded (each is a decoder more to expose to uploads), nor images
    over ``MAX_TEXTURE_SIDE`` pixels on a side (checked in the header, before decoding).
    """
    if image_kind(data) is None:
        warnings.append(f"texture {label} is not a PNG, JPEG or WebP image; using the material colour")
        return None
    size = image_size(data)
    if size is not None and max(size) > MAX_TEXTURE_SIDE:
        warnings.append(
            f"texture {label} is {size[0]}x{size[1]} pixels, over the {MAX_TEXTURE_SIDE} limit; "
            "using the material colour (resize the texture to use it)"
        )
        return None
    img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED) if len(data) else None
    if img is None or img.size == 0:
        warnings.append(f"texture {label} could not be decoded (damaged?); using the material colour")
        return None
    if img.dtype == np.uint16:
        img = (img >> 8).astype(np.uint8)
    elif img.dtype != np.uint8:
        img = np.clip(img.astype(np.float64) * 255.0, 0, 255).astype(np.uint8)
    if img.ndim == 2 or (img.ndim == 3 and img.shape[2] == 1):
        return cv2.cvtColor(img.reshape(img.shape[:2]), cv2.COLOR_GRAY2RGBA)
    if img.ndim == 3 and img.shape[2] == 3:
        return cv2.cvtColor(img, cv2.COLOR_BGR2RGBA)
    if img.ndim == 3 and img.shape[2] == 4:
        return cv2.cvtColor(img, cv2.COLOR_BGRA2RGBA)
    warnings.append(f"texture {label} has an unusual pixel layout {img.shape}; using the material colour")
    return None
