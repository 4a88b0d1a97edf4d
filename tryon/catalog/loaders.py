"""Read a retailer's upload into a :class:`~tryon.catalog.assets.RawAsset`, and the checks every format shares.

Formats (by file suffix, case-insensitive):

- ``.glb`` / ``.gltf``: glTF 2.0, our own reader (``json`` + ``struct`` + numpy). Node transforms are
  baked into the positions and normals, ``KHR_materials_variants`` become ``RawAsset.variants``.
- ``.obj`` (+ ``.mtl`` + textures): our own reader; one part per material, vertices split per
  (position, uv, normal) corner combination.
- ``.ply`` / ``.stl``: read with trimesh, untextured.

Uploads are untrusted. Every file an asset refers to (glTF buffers and images, OBJ material
libraries and textures) must lie inside the asset's folder: absolute paths, ``..``, links that
lead outside and any URI scheme but ``data:`` are refused (:class:`UnsafeReferenceError`); nothing
is ever fetched from the network. Every file read is held to ``ImportLimits.max_file_bytes``.

:func:`load_asset` only reads; :func:`validate_and_repair` is the format-independent checking
and repair the import pipeline runs afterwards (empty meshes, NaN, broken and duplicate faces,
the triangle budget, missing normals).
"""

from __future__ import annotations

import base64
import binascii
import io
import json
import re
import stat
import struct
from pathlib import Path
from typing import Any, NoReturn
from urllib.parse import unquote, unquote_to_bytes

import cv2
import numpy as np

from tryon.catalog.assets import (
    AssetError,
    BadCoordinatesError,
    BufferMismatchError,
    EmptyMeshError,
    FileTooLargeError,
    ImportLimits,
    NotAMeshError,
    RawAsset,
    RawMaterial,
    RawPart,
    TooManyTrianglesError,
    UnreadableFileError,
    UnsafeReferenceError,
    UnsupportedExtensionError,
    UnsupportedFormatError,
)
from tryon.image import srgb_to_linear

#: The suffixes :func:`load_asset` reads.
SUPPORTED_SUFFIXES = (".glb", ".gltf", ".obj", ".ply", ".stl")
#: glTF extensions this reader honours; any other name in ``extensionsRequired`` is refused
#: (:class:`UnsupportedExtensionError`), but for ``KHR_texture_transform`` (see :data:`PARTLY_SUPPORTED`).
SUPPORTED_GLTF_EXTENSIONS = frozenset({"KHR_materials_variants", "KHR_mesh_quantization", "EXT_texture_webp"})
#: Required extensions accepted as long as only what the try-on does not show uses them:
#: ``KHR_texture_transform`` on a normal, occlusion, metallic-roughness or emissive map (the map is
#: left out, with a warning); on the colour texture the file is refused.
PARTLY_SUPPORTED = frozenset({"KHR_texture_transform"})
#: Textures larger than this on either side are dropped (with a warning): a decoded 8192^2 RGBA
#: image is already 256 MB.
MAX_TEXTURE_SIDE = 8192
#: No upload may expand to more triangles than this while loading (node instancing, fans...),
#: whatever the budget: a guard against files built to exhaust memory.
HARD_TRIANGLE_CAP = 10_000_000
#: A face whose area is below this fraction of the squared bounding-box diagonal is degenerate.
DEGENERATE_AREA_REL = 1e-12
DEFAULT_LIMITS = ImportLimits()

_SUPPORTED_LIST = ", ".join(SUPPORTED_SUFFIXES)
_EXTENSION_HINTS = {
    "KHR_draco_mesh_compression": "turn off Draco mesh compression (in Blender's glTF export, untick 'Compression')",
    "EXT_meshopt_compression": "turn off meshopt compression",
    "KHR_texture_basisu": "save the textures as PNG or JPEG instead of KTX2/Basis",
    "KHR_texture_transform": "bake the texture's offset, scale and rotation into the UVs "
    "(in Blender, remove the Mapping node before the colour image, or bake the texture)",
}
#: Where a material keeps the texture maps the try-on does not show, and what to call them.
_UNUSED_MAPS = {
    "normalTexture": "normal map",
    "occlusionTexture": "occlusion map",
    "emissiveTexture": "emissive map",
    "metallicRoughnessTexture": "metallic-roughness map",
}
#: The ``asset.extras`` keys read as credits (Sketchfab's glTF exports write these four).
CREDIT_KEYS = ("author", "license", "source", "title")


# ---------------------------------------------------------------------------------------------
# Files and references
# ---------------------------------------------------------------------------------------------


def _size_text(n: int) -> str:
    return f"{n:,} bytes ({n / 1e6:.1f} MB)" if n >= 100_000 else f"{n:,} bytes"


def _too_large(label: str, size: int, limit: int) -> FileTooLargeError:
    return FileTooLargeError(
        f"{label} is {_size_text(size)}, over the limit of {_size_text(limit)} per file. "
        "Make it smaller (fewer triangles, smaller textures) or raise the limit (it is configurable)."
    )


def _read_file(path: Path, limits: ImportLimits, label: str, *, missing_ok: bool = False) -> bytes | None:
    """The bytes of ``path``, held to ``limits.max_file_bytes``; None when missing and ``missing_ok``."""
    try:
        st = path.stat()
    except FileNotFoundError:
        if missing_ok:
            return None
        raise UnreadableFileError(f"{label} does not exist ({path}). Check the name and upload it.") from None
    except OSError as exc:
        raise UnreadableFileError(f"{label} cannot be opened ({exc.strerror or exc}).") from None
    if not stat.S_ISREG(st.st_mode):
        raise UnreadableFileError(f"{label} is not a regular file ({path}). Upload the file itself.")
    if st.st_size > limits.max_file_bytes:
        raise _too_large(label, st.st_size, limits.max_file_bytes)
    try:
        with open(path, "rb") as fh:
            data = fh.read(limits.max_file_bytes + 1)
    except OSError as exc:
        raise UnreadableFileError(f"{label} cannot be read ({exc.strerror or exc}).") from None
    if len(data) > limits.max_file_bytes:
        raise _too_large(label, len(data), limits.max_file_bytes)
    return data


_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]*):")


def _is_data_uri(ref: str) -> bool:
    return ref[:5].lower() == "data:"


def confined_path(ref: str, base_dir: Path, owner: str, what: str, *, is_uri: bool, root: Path | None = None) -> Path:
    """The file that the reference ``ref`` (a path or URI relative to ``base_dir``) names.

    Raises :class:`UnsafeReferenceError` for an absolute path, a ``..`` component, a URI scheme
    (``http:``, ``file:``...; ``data:`` URIs are decoded by the callers, not here) or a path that,
    links followed, resolves outside ``root`` (the asset's folder; ``base_dir`` by default).
    ``owner`` names the referring file and ``what`` the reference ("buffer 0", "image 2") in the
    message. ``is_uri``: percent-decode first (glTF URIs).
    """

    def refuse(reason: str) -> NoReturn:
        raise UnsafeReferenceError(
            f"{owner}: {what} '{ref}' is refused: {reason}. For safety only files inside the upload "
            "folder are read and nothing is fetched from the network: put the file beside the main file "
            "and refer to it by its relative name (e.g. 'texture.png')."
        )

    text = ref.strip()
    if not text:
        raise UnreadableFileError(f"{owner}: {what} has an empty file name. Re-export the asset.")
    decoded = unquote(text) if is_uri else text
    for candidate in (text, decoded):
        if "\x00" in candidate:
            refuse("it contains a NUL character")
        match = _SCHEME.match(candidate)
        if match:
            scheme = match.group(1)
            if len(scheme) == 1:
                refuse("it is an absolute Windows path")
            refuse(f"it uses the '{scheme.lower()}:' scheme, and references to other places are not followed")
        if candidate.startswith(("/", "\\")):
            refuse("it is an absolute path")
    rel = decoded.replace("\\", "/")
    if any(part == ".." for part in rel.split("/")):
        refuse("'..' leads out of the asset's folder")
    base = (root if root is not None else base_dir).resolve()
    path = base_dir / rel
    try:
        resolved = path.resolve()
    except (OSError, RuntimeError):  # a link loop
        refuse("it is a link that cannot be resolved")
    if not resolved.is_relative_to(base):
        refuse("it is a link to a file outside the asset's folder")
    return path


def _decode_data_uri(uri: str, owner: str, what: str) -> bytes:
    header, sep, payload = uri[5:].partition(",")
    if not sep:
        raise UnreadableFileError(f"{owner}: {what} is a 'data:' URI without data. Re-export the asset.")
    if header.lower().endswith(";base64"):
        try:
            return base64.b64decode("".join(payload.split()), validate=True)
        except (binascii.Error, ValueError):
            raise UnreadableFileError(f"{owner}: {what} holds invalid base64 data. Re-export the asset.") from None
    return unquote_to_bytes(payload)


# ---------------------------------------------------------------------------------------------
# Images and colours
# ---------------------------------------------------------------------------------------------


def _image_kind(data: bytes) -> str | None:
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return "png"
    if data[:3] == b"\xff\xd8\xff":
        return "jpeg"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    return None


def _image_size(data: bytes) -> tuple[int, int] | None:
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
    if _image_kind(data) is None:
        warnings.append(f"texture {label} is not a PNG, JPEG or WebP image; using the material colour")
        return None
    size = _image_size(data)
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


# ---------------------------------------------------------------------------------------------
# glTF 2.0
# ---------------------------------------------------------------------------------------------

_GLB_MAGIC = b"glTF"
_CHUNK_JSON = 0x4E4F534A
_CHUNK_BIN = 0x004E4942
#: componentType -> (numpy dtype, divisor for `normalized`)
_COMPONENTS: dict[int, tuple[str, float | None]] = {
    5120: ("<i1", 127.0),
    5121: ("<u1", 255.0),
    5122: ("<i2", 32767.0),
    5123: ("<u2", 65535.0),
    5124: ("<i4", 2147483647.0),
    5125: ("<u4", 4294967295.0),
    5126: ("<f4", None),
}
_TYPES = {"SCALAR": 1, "VEC2": 2, "VEC3": 3, "VEC4": 4, "MAT2": 4, "MAT3": 9, "MAT4": 16}
_INDEX_TYPES = (5121, 5123, 5125)
_MODE_NAMES = {0: "points", 1: "lines", 2: "line loops", 3: "line strips"}


def _parse_glb(data: bytes, name: str) -> tuple[bytes, memoryview | None]:
    """The JSON chunk and the BIN chunk (or None) of a GLB container."""
    if len(data) < 12:
        raise UnreadableFileError(f"{name} is only {len(data)} bytes: too short to be a binary glTF (.glb).")
    magic, version, length = struct.unpack_from("<4sII", data, 0)
    if magic != _GLB_MAGIC:
        hint = " It looks like a JSON glTF: rename it to .gltf." if data.lstrip()[:1] == b"{" else ""
        raise UnreadableFileError(f"{name} is not a binary glTF (.glb): it does not start with 'glTF'.{hint}")
    if version != 2:
        raise UnreadableFileError(
            f"{name} is a GLB version {version} file; only glTF 2.0 is supported. Re-export it as glTF 2.0."
        )
    if length != len(data):
        what = "is truncated" if length > len(data) else "has extra bytes"
        raise UnreadableFileError(
            f"{name} {what}: its header says {length:,} bytes but the file has {len(data):,}. "
            "Upload the complete file again or re-export it."
        )
    view = memoryview(data)
    chunks: list[tuple[int, memoryview]] = []
    off = 12
    while off < length:
        if off + 8 > length:
            raise UnreadableFileError(f"{name} is damaged: a chunk header is cut off at byte {off}. Re-export it.")
        clen, ctype = struct.unpack_from("<II", data, off)
        off += 8
        if off + clen > length:
            raise UnreadableFileError(
                f"{name} is damaged or truncated: chunk {len(chunks)} declares {clen:,} bytes but only "
                f"{length - off:,} remain. Re-export it."
            )
        chunks.append((ctype, view[off : off + clen]))
        off += clen
    if not chunks or chunks[0][0] != _CHUNK_JSON:
        raise UnreadableFileError(f"{name} is damaged: its first chunk is not the JSON scene description.")
    bin_chunk = chunks[1][1] if len(chunks) > 1 and chunks[1][0] == _CHUNK_BIN else None
    return bytes(chunks[0][1]), bin_chunk


def _parse_json(raw: bytes, name: str) -> dict:
    try:
        doc = json.loads(raw.decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise UnreadableFileError(f"{name} is not a glTF JSON file (it is not UTF-8 text).") from None
    except json.JSONDecodeError as exc:
        raise UnreadableFileError(
            f"{name} is not valid glTF JSON (line {exc.lineno}, column {exc.colno}: {exc.msg}). Re-export it."
        ) from None
    except RecursionError:
        raise UnreadableFileError(f"{name} is not a usable glTF: its JSON is nested too deeply.") from None
    if not isinstance(doc, dict):
        raise UnreadableFileError(f"{name} is not a glTF file: its JSON is not an object.")
    asset = doc.get("asset")
    version = asset.get("version") if isinstance(asset, dict) else None
    if not isinstance(version, str):
        raise UnreadableFileError(f"{name} is not a glTF 2.0 file: it has no 'asset.version'. Re-export it.")
    if version.split(".")[0] != "2":
        raise UnsupportedFormatError(f"{name} is glTF {version}; only glTF 2.0 is supported. Re-export it as glTF 2.0.")
    return doc


def _quat_matrix(q: np.ndarray) -> np.ndarray:
    n = np.linalg.norm(q)
    x, y, z, w = q / n if n > 0 else (0.0, 0.0, 0.0, 1.0)
    return np.array(
        [
            [1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
            [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
            [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)],
        ]
    )


def _strip_triangles(idx: np.ndarray) -> np.ndarray:
    n = len(idx) - 2
    if n <= 0:
        return np.zeros((0, 3), np.int64)
    i = np.arange(n)
    odd = i % 2
    return np.stack([idx[i], idx[i + 1 + odd], idx[i + 2 - odd]], axis=1)


def _fan_triangles(idx: np.ndarray) -> np.ndarray:
    if len(idx) < 3:
        return np.zeros((0, 3), np.int64)
    i = np.arange(1, len(idx) - 1)
    return np.stack([idx[i], idx[i + 1], np.full(len(i), idx[0])], axis=1)


class _GltfReader:
    """State of one glTF read: the JSON, decoded buffers, images, warnings and files used."""

    def __init__(self, path: Path, limits: ImportLimits, doc: dict, bin_chunk: memoryview | None, is_glb: bool):
        self.path = path
        self.name = path.name
        self.base_dir = path.absolute().parent
        self.limits = limits
        self.doc = doc
        self.bin_chunk = bin_chunk
        self.is_glb = is_glb
        self.warnings: list[str] = []
        self.files: list[str] = [str(path)]
        self._buffers: dict[int, bytes | memoryview] = {}
        self._images: dict[int, tuple[np.ndarray | None, str]] = {}
        self._prims: dict[tuple[int, int], Any] = {}
        self.required: frozenset[str] = frozenset()

    # -- JSON access with checks ---------------------------------------------------------------

    def malformed(self, msg: str) -> NoReturn:
        raise UnreadableFileError(f"{self.name} is not a valid glTF: {msg}. Re-export it from your 3D tool.")

    def array(self, key: str) -> list:
        value = self.doc.get(key, [])
        if not isinstance(value, list):
            self.malformed(f"'{key}' is not a list")
        return value

    def index(self, value: Any, key: str, what: str) -> int:
        n = len(self.array(key))
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < n:
            self.malformed(f"{what} refers to {key}[{value!r}], which does not exist ({n} defined)")
        return value

    def item(self, key: str, idx: Any, what: str) -> dict:
        obj = self.array(key)[self.index(idx, key, what)]
        if not isinstance(obj, dict):
            self.malformed(f"{key}[{idx}] is not an object")
        return obj

    def integer(self, obj: dict, key: str, what: str, default: int | None = None, minimum: int = 0) -> int:
        value = obj.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            self.malformed(f"{what} has an invalid '{key}' ({value!r})")
        return value

    def numbers(self, value: Any, n: int, what: str) -> np.ndarray:
        try:
            arr = np.asarray(value, dtype=np.float64)
        except (TypeError, ValueError):
            self.malformed(f"{what} is not a list of {n} numbers")
        if arr.shape != (n,) or not np.all(np.isfinite(arr)):
            self.malformed(f"{what} is not a list of {n} finite numbers")
        return arr

    # -- checks and buffers --------------------------------------------------------------------

    def check_extensions(self) -> None:
        required = self.doc.get("extensionsRequired", [])
        if not isinstance(required, list) or not all(isinstance(e, str) for e in required):
            self.malformed("'extensionsRequired' is not a list of names")
        self.required = frozenset(required)
        missing = sorted(set(required) - SUPPORTED_GLTF_EXTENSIONS - PARTLY_SUPPORTED)
        if missing:
            hints = [_EXTENSION_HINTS[e] for e in missing if e in _EXTENSION_HINTS]
            hint = f": {'; '.join(hints)}" if hints else ""
            raise UnsupportedExtensionError(
                f"{self.name} requires glTF extension(s) this importer does not support: {', '.join(missing)}. "
                f"Export it again without them{hint}. Supported: {', '.join(sorted(SUPPORTED_GLTF_EXTENSIONS))}."
            )

    def texture_transform(self, info: dict, mname: str, label: str, shown: bool) -> bool:
        """Whether the texture reference ``info`` of material ``mname`` moves its texture with
        ``KHR_texture_transform``. A required transform on a map the try-on shows (``shown``: the
        colour texture) refuses the file; on another map it leaves that map out, with a warning;
        an optional one (a viewer may ignore it) is ignored, with a warning on the colour texture."""
        ext = info.get("extensions")
        tt = ext.get("KHR_texture_transform") if isinstance(ext, dict) else None
        if not isinstance(tt, dict) or _identity_transform(tt, info):
            return False
        if "KHR_texture_transform" in self.required:
            if shown:
                raise UnsupportedExtensionError(
                    f"{self.name} requires glTF extension KHR_texture_transform, which this importer does not support "
                    f"on a colour texture (material '{mname}'): export it again without it: "
                    f"{_EXTENSION_HINTS['KHR_texture_transform']}."
                )
            self.warnings.append(
                f"material '{mname}': left out its {label}, which uses KHR_texture_transform "
                "(the try-on does not show that map)"
            )
        elif shown:
            self.warnings.append(
                f"material '{mname}': its {label} is moved by KHR_texture_transform, which is ignored; "
                "check that the texture sits right in the preview"
            )
        return True

    def check_unused_maps(self, mat: dict, mname: str) -> None:
        """Look at the texture maps the try-on does not show, for :meth:`texture_transform`."""
        if "KHR_texture_transform" not in self.required:
            return
        pbr = mat.get("pbrMetallicRoughness")
        places = [mat] + ([pbr] if isinstance(pbr, dict) else [])
        for place in places:
            for key, label in _UNUSED_MAPS.items():
                if isinstance(place.get(key), dict):
                    self.texture_transform(place[key], mname, label, shown=False)
        extensions = mat.get("extensions")
        for ext_name, ext in extensions.items() if isinstance(extensions, dict) else ():
            if not isinstance(ext, dict):
                continue
            for key, info in ext.items():
                if key.endswith("Texture") and isinstance(info, dict):
                    self.texture_transform(info, mname, f"{key} ({ext_name})", shown=False)

    def credits(self) -> dict[str, str]:
        return credits_from_doc(self.doc)

    def buffer(self, i: int) -> bytes | memoryview:
        if i in self._buffers:
            return self._buffers[i]
        buf = self.item("buffers", i, f"buffer {i}")
        declared = self.integer(buf, "byteLength", f"buffer {i}", minimum=1)
        uri = buf.get("uri")
        slack = 0
        if uri is None:
            if not self.is_glb:
                self.malformed(f"buffer {i} has no 'uri' (only a .glb may embed its buffer)")
            if i != 0 or self.bin_chunk is None:
                raise BufferMismatchError(
                    f"{self.name}: buffer {i} has no data: the .glb has no binary chunk for it. Re-export it."
                )
            data, label, slack = self.bin_chunk, "the GLB binary chunk", 3  # padded to 4 bytes
        elif not isinstance(uri, str):
            self.malformed(f"buffer {i} has a 'uri' that is not text")
        elif _is_data_uri(uri):
            data, label = _decode_data_uri(uri, self.name, f"buffer {i}"), "its embedded data"
        else:
            file = confined_path(uri, self.base_dir, self.name, f"buffer {i}", is_uri=True)
            got = _read_file(file, self.limits, f"{self.name}: buffer {i} file '{uri}'", missing_ok=True)
            if got is None:
                raise UnreadableFileError(
                    f"{self.name}: buffer {i} file '{uri}' is missing. Upload it together with the .gltf "
                    "(in the same folder), or export a single .glb file instead."
                )
            self.files.append(str(file))
            data, label = got, f"'{uri}'"
        if not declared <= len(data) <= declared + slack:
            raise BufferMismatchError(
                f"{self.name}: buffer {i} declares {declared:,} bytes (byteLength) but {label} holds "
                f"{len(data):,}. The file is damaged or was not exported completely: re-export it."
            )
        self._buffers[i] = data
        return data

    def read_view(self, view_idx: Any, offset: int, count: int, dtype: np.dtype, ncomp: int, what: str) -> np.ndarray:
        """(count, ncomp) array of ``dtype`` at ``offset`` in bufferView ``view_idx`` (with its stride)."""
        view = self.item("bufferViews", view_idx, what)
        b = self.index(view.get("buffer"), "buffers", f"bufferView {view_idx}")
        start = self.integer(view, "byteOffset", f"bufferView {view_idx}", default=0)
        length = self.integer(view, "byteLength", f"bufferView {view_idx}", minimum=1)
        stride = view.get("byteStride")
        elem = dtype.itemsize * ncomp
        if stride is None:
            stride = elem
        elif isinstance(stride, bool) or not isinstance(stride, int) or not 4 <= stride <= 252:
            self.malformed(f"bufferView {view_idx} has an invalid byteStride ({stride!r})")
        elif stride < elem:
            raise BufferMismatchError(
                f"{self.name}: {what} reads {elem}-byte elements but bufferView {view_idx} strides only "
                f"{stride} bytes. The file is damaged: re-export it."
            )
        data = self.buffer(b)
        declared = self.array("buffers")[b]["byteLength"]
        if start + length > declared:
            raise BufferMismatchError(
                f"{self.name}: bufferView {view_idx} (bytes {start:,} to {start + length:,}) runs past the end "
                f"of buffer {b} ({declared:,} bytes). The file is damaged or truncated: re-export it."
            )
        need = offset + stride * (count - 1) + elem
        if need > length:
            raise BufferMismatchError(
                f"{self.name}: {what} needs {need:,} bytes of bufferView {view_idx} but the view holds only "
                f"{length:,}. The file is damaged or truncated: re-export it."
            )
        strides = (stride, dtype.itemsize)
        return np.ndarray((count, ncomp), dtype=dtype, buffer=data, offset=start + offset, strides=strides).copy()

    def accessor(self, idx: Any, what: str, types: tuple[str, ...]) -> np.ndarray:
        """Accessor ``idx`` as (count, ncomp): float64 when float or normalized, else its integer type."""
        acc = self.item("accessors", idx, what)
        what = f"accessor {idx} ({what})"
        ctype = acc.get("componentType")
        if ctype not in _COMPONENTS:
            self.malformed(f"{what} has an unknown componentType ({ctype!r})")
        atype = acc.get("type")
        if atype not in types:
            self.malformed(f"{what} has type {atype!r}, expected {' or '.join(types)}")
        count = self.integer(acc, "count", what, minimum=1)
        code, scale = _COMPONENTS[ctype]
        dtype, ncomp = np.dtype(code), _TYPES[atype]
        if acc.get("bufferView") is None:
            if count * dtype.itemsize * ncomp > self.limits.max_file_bytes:
                raise BufferMismatchError(f"{self.name}: {what} declares {count:,} elements without any data.")
            out = np.zeros((count, ncomp), dtype)
        else:
            offset = self.integer(acc, "byteOffset", what, default=0)
            out = self.read_view(acc["bufferView"], offset, count, dtype, ncomp, what)
        sparse = acc.get("sparse")
        if sparse is not None:
            out = self._apply_sparse(out, sparse, what)
        if acc.get("normalized") and scale is not None:
            out = out.astype(np.float64) / scale
            if code.startswith("<i"):
                out = np.maximum(out, -1.0)
        elif ctype == 5126:
            out = out.astype(np.float64)
        return out

    def _apply_sparse(self, out: np.ndarray, sparse: Any, what: str) -> np.ndarray:
        if not isinstance(sparse, dict) or not isinstance(sparse.get("indices"), dict):
            self.malformed(f"{what} has an invalid 'sparse' section")
        n = self.integer(sparse, "count", f"{what} sparse", minimum=1)
        ind, val = sparse["indices"], sparse.get("values")
        if not isinstance(val, dict) or ind.get("componentType") not in _INDEX_TYPES:
            self.malformed(f"{what} has an invalid 'sparse' section")
        if n > len(out):
            raise BufferMismatchError(f"{self.name}: {what} has {n} sparse values for {len(out)} elements.")
        idx_dtype = np.dtype(_COMPONENTS[ind["componentType"]][0])
        idx_off = self.integer(ind, "byteOffset", f"{what} sparse indices", default=0)
        val_off = self.integer(val, "byteOffset", f"{what} sparse values", default=0)
        idx = self.read_view(ind.get("bufferView"), idx_off, n, idx_dtype, 1, f"{what} sparse indices")
        values = self.read_view(val.get("bufferView"), val_off, n, out.dtype, out.shape[1], f"{what} sparse values")
        idx = idx[:, 0].astype(np.int64)
        if idx.max() >= len(out):
            raise BufferMismatchError(
                f"{self.name}: {what} has a sparse index {int(idx.max())} but only {len(out)} elements."
            )
        out = out.copy()
        out[idx] = values
        return out

    # -- materials -----------------------------------------------------------------------------

    def image(self, src: Any, what: str) -> tuple[np.ndarray | None, str]:
        """Image ``src`` decoded to (H, W, 4) uint8 RGBA (or None, with a warning), and where it came from."""
        idx = self.index(src, "images", what)
        if idx in self._images:
            return self._images[idx]
        img = self.item("images", idx, what)
        uri = img.get("uri")
        name = str(img.get("name") or f"image {idx}")
        data: bytes | None
        if img.get("bufferView") is not None:
            view = self.item("bufferViews", img["bufferView"], f"image {idx}")
            length = self.integer(view, "byteLength", f"bufferView {img['bufferView']}", minimum=1)
            data = self.read_view(img["bufferView"], 0, length, np.dtype(np.uint8), 1, f"image {idx}").tobytes()
            source = f"{name} (embedded)"
            label = f"'{name}' (embedded)"
        elif isinstance(uri, str) and _is_data_uri(uri):
            data = _decode_data_uri(uri, self.name, f"image {idx}")
            source = f"{name} (embedded)"
            label = f"'{name}' (embedded)"
        elif isinstance(uri, str):
            file = confined_path(uri, self.base_dir, self.name, f"image {idx}", is_uri=True)
            source = uri
            label = f"'{uri}'"
            data = _read_file(file, self.limits, f"{self.name}: texture {label}", missing_ok=True)
            if data is None:
                self.warnings.append(f"texture {label} is missing; using the material colour")
            else:
                self.files.append(str(file))
        else:
            self.malformed(f"image {idx} has neither a 'uri' nor a 'bufferView'")
        rgba = decode_image(data, label, self.warnings) if data is not None else None
        self._images[idx] = (rgba, source)
        return self._images[idx]

    def material(self, i: int) -> RawMaterial:
        mat = self.item("materials", i, f"material {i}")
        name = str(mat.get("name") or f"material {i}")
        pbr = mat.get("pbrMetallicRoughness", {})
        if not isinstance(pbr, dict):
            self.malformed(f"material {i} has an invalid 'pbrMetallicRoughness'")
        color = self.numbers(pbr.get("baseColorFactor", [1.0, 1.0, 1.0, 1.0]), 4, f"material {i} baseColorFactor")
        metallic = self.numbers([pbr.get("metallicFactor", 1.0)], 1, f"material {i} metallicFactor")[0]
        roughness = self.numbers([pbr.get("roughnessFactor", 1.0)], 1, f"material {i} roughnessFactor")[0]
        mr = self.metal_rough_means(pbr.get("metallicRoughnessTexture"), name)
        if mr is not None:
            # The try-on shades a part with one metalness and roughness: the map's averages.
            metallic, roughness = metallic * mr[0], roughness * mr[1]
        elif "metallicFactor" not in pbr:
            # glTF's default of 1 turns every material an exporter left unset into polished
            # metal; an upload that says nothing is taken as not metal.
            self.warnings.append(f"material '{name}' sets no metalness; taken as not metal (metallicFactor 0)")
            metallic = 0.0
        out = RawMaterial(
            name=name,
            base_color=np.clip(color, 0.0, 1.0).astype(np.float32),
            metallic=float(np.clip(metallic, 0.0, 1.0)),
            roughness=float(np.clip(roughness, 0.0, 1.0)),
            double_sided=bool(mat.get("doubleSided", False)),
        )
        self.check_unused_maps(mat, name)
        info = pbr.get("baseColorTexture")
        if info is None:
            return out
        if not isinstance(info, dict):
            self.malformed(f"material {i} has an invalid baseColorTexture")
        self.texture_transform(info, name, "colour texture", shown=True)
        tex = self.item("textures", info.get("index"), f"material {i} baseColorTexture")
        src = tex.get("source")
        ext = tex.get("extensions") if isinstance(tex.get("extensions"), dict) else {}
        if src is None and isinstance(ext.get("EXT_texture_webp"), dict):
            src = ext["EXT_texture_webp"].get("source")
        if src is None:
            self.warnings.append(f"material '{name}': its texture has no image this importer reads; using the colour")
            return out
        if info.get("texCoord", 0) != 0:
            self.warnings.append(
                f"material '{name}': its texture uses UV set {info.get('texCoord')!r}, only the first is read; "
                "using the material colour"
            )
            return out
        rgba, label = self.image(src, f"texture {info.get('index')}")
        if rgba is not None:
            out.base_texture = rgba
            out.texture_source = label
        return out

    def metal_rough_means(self, info: Any, name: str) -> tuple[float, float] | None:
        """(metalness, roughness) averaged over a metallic-roughness map (glTF: blue and green
        channels), or None when there is none this importer can read."""
        if not isinstance(info, dict):
            return None
        tex = self.item("textures", info.get("index"), f"material '{name}' metallicRoughnessTexture")
        src = tex.get("source")
        if src is None:
            return None
        rgba, _ = self.image(src, f"texture {info.get('index')}")
        if rgba is None:
            return None
        px = rgba[..., :3].reshape(-1, 3).astype(np.float64) / (255.0 if rgba.dtype == np.uint8 else 1.0)
        return float(px[:, 2].mean()), float(px[:, 1].mean())

    # -- geometry ------------------------------------------------------------------------------

    def primitive(self, mesh_idx: int, prim_idx: int, prim: Any) -> Any:
        """(positions, normals, uvs, triangles) of a primitive in mesh space, a mode name, or None."""
        key = (mesh_idx, prim_idx)
        if key in self._prims:
            return self._prims[key]
        what = f"mesh {mesh_idx} primitive {prim_idx}"
        if not isinstance(prim, dict) or not isinstance(prim.get("attributes"), dict):
            self.malformed(f"{what} has no 'attributes'")
        mode = prim.get("mode", 4)
        if mode in _MODE_NAMES:
            self._prims[key] = _MODE_NAMES[mode]
            return self._prims[key]
        if mode not in (4, 5, 6):
            self.malformed(f"{what} has an unknown mode {mode!r}")
        attrs = prim["attributes"]
        if "POSITION" not in attrs:
            self.warnings.append(f"{what} has no POSITION attribute and was skipped")
            self._prims[key] = None
            return None
        pos = self.accessor(attrs["POSITION"], f"{what} POSITION", ("VEC3",)).astype(np.float64)
        n = len(pos)
        normals = uvs = None
        if "NORMAL" in attrs:
            normals = self.accessor(attrs["NORMAL"], f"{what} NORMAL", ("VEC3",)).astype(np.float64)
        if "TEXCOORD_0" in attrs:
            uvs = self.accessor(attrs["TEXCOORD_0"], f"{what} TEXCOORD_0", ("VEC2",)).astype(np.float64)
        for label, arr in (("NORMAL", normals), ("TEXCOORD_0", uvs)):
            if arr is not None and len(arr) != n:
                raise BufferMismatchError(
                    f"{self.name}: {what} has {len(arr)} {label} values for {n} positions. Re-export it."
                )
        if prim.get("indices") is not None:
            iacc = self.item("accessors", prim["indices"], f"{what} indices")
            if iacc.get("componentType") not in _INDEX_TYPES:
                self.malformed(f"{what} indices are not unsigned integers")
            idx = self.accessor(prim["indices"], f"{what} indices", ("SCALAR",))[:, 0].astype(np.int64)
            if len(idx) and idx.max() >= n:
                raise BufferMismatchError(
                    f"{self.name}: accessor {prim['indices']} (indices of {what}) refers to vertex "
                    f"{int(idx.max())} but the primitive has only {n} vertices. The file is damaged: re-export it."
                )
        else:
            idx = np.arange(n, dtype=np.int64)
        if mode == 4:
            if len(idx) % 3:
                self.warnings.append(f"{what}: {len(idx) % 3} trailing indices do not form a triangle; ignored")
            tris = idx[: len(idx) // 3 * 3].reshape(-1, 3)
        elif mode == 5:
            tris = _strip_triangles(idx)
        else:
            tris = _fan_triangles(idx)
        self._prims[key] = (pos, normals, uvs, tris)
        return self._prims[key]

    def node_instances(self) -> list[tuple[int, np.ndarray, str]]:
        """(mesh index, (4, 4) world matrix, node name) for every mesh the shown scene places."""
        nodes = self.array("nodes")
        scenes = self.array("scenes")
        if self.doc.get("scene") is not None:
            roots = self.item("scenes", self.doc["scene"], "'scene'").get("nodes", [])
        elif scenes:
            roots = self.item("scenes", 0, "scenes").get("nodes", [])
        else:
            if not nodes and self.array("meshes"):
                self.warnings.append("the file has meshes but no scene nodes; all meshes were used as they are")
                return [(m, np.eye(4), "") for m in range(len(self.array("meshes")))]
            children = {
                c
                for nd in nodes
                if isinstance(nd, dict) and isinstance(nd.get("children"), list)
                for c in nd["children"]
                if isinstance(c, int)
            }
            roots = [i for i in range(len(nodes)) if i not in children]
        if not isinstance(roots, list):
            self.malformed("a scene's 'nodes' is not a list")
        out = []
        seen: set[int] = set()
        stack = [(r, np.eye(4)) for r in reversed(roots)]
        while stack:
            ni, parent = stack.pop()
            node = self.item("nodes", ni, "the node hierarchy")
            if ni in seen:
                self.malformed(f"node {ni} appears twice in the node hierarchy (a cycle or a shared child)")
            seen.add(ni)
            world = parent @ self.node_matrix(node, ni)
            if node.get("mesh") is not None:
                out.append((self.index(node["mesh"], "meshes", f"node {ni}"), world, str(node.get("name") or "")))
            children = node.get("children", [])
            if not isinstance(children, list):
                self.malformed(f"node {ni} has invalid 'children'")
            stack.extend((c, world) for c in reversed(children))
        return out

    def node_matrix(self, node: dict, ni: int) -> np.ndarray:
        """The node's local (4, 4) transform: its column-major ``matrix``, else T @ R @ S."""
        if "matrix" in node:
            return self.numbers(node["matrix"], 16, f"node {ni} matrix").reshape(4, 4).T
        m = np.eye(4)
        t = self.numbers(node.get("translation", [0, 0, 0]), 3, f"node {ni} translation")
        r = self.numbers(node.get("rotation", [0, 0, 0, 1]), 4, f"node {ni} rotation")
        s = self.numbers(node.get("scale", [1, 1, 1]), 3, f"node {ni} scale")
        m[:3, :3] = _quat_matrix(r) * s[None, :]
        m[:3, 3] = t
        return m

    def variant_names(self) -> list[str]:
        ext = self.doc.get("extensions", {})
        ext = ext.get("KHR_materials_variants") if isinstance(ext, dict) else None
        if ext is None:
            return []
        variants = ext.get("variants") if isinstance(ext, dict) else None
        if not isinstance(variants, list):
            self.malformed("KHR_materials_variants has no 'variants' list")
        names: list[str] = []
        for i, v in enumerate(variants):
            name = str(v.get("name") or f"variant {i}") if isinstance(v, dict) else f"variant {i}"
            base, k = name, 2
            while name in names:
                name, k = f"{base} ({k})", k + 1
            names.append(name)
        return names

    def variant_mapping(self, prim: dict, what: str, n_variants: int) -> dict[int, int]:
        """variant index -> material index for one primitive."""
        ext = prim.get("extensions", {})
        ext = ext.get("KHR_materials_variants") if isinstance(ext, dict) else None
        if ext is None:
            return {}
        mappings = ext.get("mappings") if isinstance(ext, dict) else None
        if not isinstance(mappings, list):
            self.malformed(f"{what} has an invalid KHR_materials_variants mapping")
        out: dict[int, int] = {}
        for m in mappings:
            if not isinstance(m, dict) or not isinstance(m.get("variants"), list):
                self.malformed(f"{what} has an invalid KHR_materials_variants mapping")
            mat = self.index(m.get("material"), "materials", f"{what} variant mapping")
            for v in m["variants"]:
                if isinstance(v, bool) or not isinstance(v, int) or not 0 <= v < n_variants:
                    self.malformed(f"{what} maps variant {v!r}, but {n_variants} variants are defined")
                out[v] = mat
        return out

    def read(self) -> RawAsset:
        self.check_extensions()
        for i in range(len(self.array("buffers"))):
            self.buffer(i)  # every buffer's length is checked, used or not
        materials = [self.material(i) for i in range(len(self.array("materials")))]
        variant_names = self.variant_names()
        default_mat: int | None = None
        parts: list[RawPart] = []
        part_variants: list[dict[int, int]] = []
        skipped: dict[str, int] = {}
        total = 0
        for mesh_idx, world, node_name in self.node_instances():
            mesh = self.item("meshes", mesh_idx, f"mesh {mesh_idx}")
            prims = mesh.get("primitives")
            if not isinstance(prims, list):
                self.malformed(f"mesh {mesh_idx} has no 'primitives' list")
            lin, t = world[:3, :3], world[:3, 3]
            det = float(np.linalg.det(lin))
            # normals transform with the cofactor matrix (det * inverse transpose; defined when singular)
            cof = np.stack([np.cross(lin[1], lin[2]), np.cross(lin[2], lin[0]), np.cross(lin[0], lin[1])])
            for p_idx, prim in enumerate(prims):
                got = self.primitive(mesh_idx, p_idx, prim)
                if got is None:
                    continue
                if isinstance(got, str):
                    skipped[got] = skipped.get(got, 0) + 1
                    continue
                pos, normals, uvs, tris = got
                total += len(tris)
                if total > HARD_TRIANGLE_CAP:
                    raise TooManyTrianglesError(
                        f"{self.name} expands to more than {HARD_TRIANGLE_CAP:,} triangles, far over the budget of "
                        f"{self.limits.max_triangles:,}. Simplify it in your 3D tool before uploading."
                    )
                if det < 0:
                    tris = tris[:, [0, 2, 1]]  # a mirroring transform flips the winding
                if normals is not None:
                    normals = (normals @ cof.T) * (1.0 if det >= 0 else -1.0)
                if prim.get("material") is not None:
                    mat = self.index(prim["material"], "materials", f"mesh {mesh_idx} primitive {p_idx}")
                else:
                    if default_mat is None:
                        default_mat = len(materials)
                        materials.append(RawMaterial(name="default"))
                    mat = default_mat
                base_name = str(mesh.get("name") or node_name or f"mesh {mesh_idx}")
                with np.errstate(invalid="ignore", over="ignore"):  # NaN is reported by validate_and_repair
                    world_pos = pos @ lin.T + t
                parts.append(
                    RawPart(
                        positions=world_pos,
                        faces=tris.astype(np.int64),
                        normals=None if normals is None else normals.astype(np.float32),
                        uvs=None if uvs is None else uvs.astype(np.float32),
                        material=mat,
                        name=base_name if len(prims) == 1 else f"{base_name}/{p_idx}",
                    )
                )
                part_variants.append(
                    self.variant_mapping(prim, f"mesh {mesh_idx} primitive {p_idx}", len(variant_names))
                )
        if not parts:
            if skipped:
                kinds = ", ".join(f"{n} {k}" for k, n in skipped.items())
                raise NotAMeshError(
                    f"{self.name} holds no triangles, only {kinds}. Export the garment as a surface mesh."
                )
            raise NotAMeshError(f"{self.name} holds no mesh in its scene. Export the garment as a mesh.")
        if skipped:
            kinds = ", ".join(f"{n} {k}" for k, n in skipped.items())
            self.warnings.append(f"skipped {kinds} (only triangles are shown)")
        variants = {
            name: [pv.get(v, part.material) for pv, part in zip(part_variants, parts)]
            for v, name in enumerate(variant_names)
        }
        return RawAsset(
            parts=parts,
            materials=materials,
            variants=variants,
            source_format="glb" if self.is_glb else "gltf",
            units_hint="m",
            up_axis_hint="y",
            warnings=self.warnings,
            files=self.files,
            credits=self.credits(),
        )


def _identity_transform(tt: dict, info: dict) -> bool:
    """Whether a ``KHR_texture_transform`` leaves the texture where it is."""

    def close(value: Any, default: list[float]) -> bool:
        try:
            return bool(np.allclose(np.asarray(value, dtype=np.float64), default, atol=1e-9))
        except (TypeError, ValueError):
            return False

    return (
        close(tt.get("offset", [0.0, 0.0]), [0.0, 0.0])
        and close(tt.get("scale", [1.0, 1.0]), [1.0, 1.0])
        and close(tt.get("rotation", 0.0), [0.0])
        and tt.get("texCoord", info.get("texCoord", 0)) == info.get("texCoord", 0)
    )


def _one_line(value: Any, limit: int = 300) -> str:
    return " ".join(value.split())[:limit] if isinstance(value, str) else ""


def credits_from_doc(doc: dict) -> dict[str, str]:
    """``author``, ``license``, ``source`` and ``title`` from a glTF's ``asset.extras`` (one-line
    texts; the keys it does not give, or gives empty, are left out)."""
    asset = doc.get("asset")
    extras = asset.get("extras") if isinstance(asset, dict) else None
    if not isinstance(extras, dict):
        return {}
    return {k: _one_line(extras.get(k)) for k in CREDIT_KEYS if _one_line(extras.get(k))}


def gltf_credits(path: str | Path, limits: ImportLimits = DEFAULT_LIMITS) -> dict[str, str]:
    """The credits a glTF file carries (see :func:`credits_from_doc`), reading only its JSON;
    empty for other formats and for files that cannot be read (the import reports those)."""
    path = Path(path)
    suffix = path.suffix.lower()
    try:
        if suffix == ".gltf":
            doc = _parse_json(_read_file(path, limits, path.name), path.name)
        elif suffix == ".glb":
            with open(path, "rb") as fh:
                head = fh.read(20)
                if len(head) < 20 or head[:4] != _GLB_MAGIC:
                    return {}
                (json_len,) = struct.unpack_from("<I", head, 12)
                if json_len > limits.max_file_bytes:
                    return {}
                doc = _parse_json(fh.read(json_len), path.name)
        else:
            return {}
    except (AssetError, OSError, struct.error):
        return {}
    return credits_from_doc(doc)


def load_gltf(path: str | Path, limits: ImportLimits = DEFAULT_LIMITS) -> RawAsset:
    """A glTF 2.0 file (``.glb`` container, or ``.gltf`` JSON with its files beside it) -> RawAsset.

    Positions (V, 3) in metres (glTF: y up, +z front) with every node transform of the default
    scene (else the first scene, else all root nodes) applied; one part per placed primitive.
    Triangles, strips and fans are read; points and lines are skipped. Materials keep their glTF
    index; primitives without one share an extra plain "default" material at the end.
    """
    path = Path(path)
    is_glb = path.suffix.lower() == ".glb"
    data = _read_file(path, limits, path.name)
    if is_glb:
        raw_json, bin_chunk = _parse_glb(data, path.name)
    else:
        if data[:4] == _GLB_MAGIC:
            raise UnreadableFileError(f"{path.name} is a binary glTF, not JSON: rename it to .glb.")
        raw_json, bin_chunk = data, None
    doc = _parse_json(raw_json, path.name)
    reader = _GltfReader(path, limits, doc, bin_chunk, is_glb)
    try:
        return reader.read()
    except AssetError:
        raise
    except (KeyError, TypeError, ValueError, IndexError, AttributeError, OverflowError) as exc:
        # A schema violation the explicit checks did not name: still a problem of the uploaded file.
        raise UnreadableFileError(
            f"{path.name} is not a valid glTF ({type(exc).__name__}: {exc}). Re-export it from your 3D tool."
        ) from exc


# ---------------------------------------------------------------------------------------------
# OBJ + MTL
# ---------------------------------------------------------------------------------------------

_OBJ_KEYWORDS = frozenset(
    "v vt vn vp f fo l p o g s mg usemtl mtllib usemap maplib cstype deg bmat step curv curv2 surf parm trim "
    "hole scrv sp end con bevel c_interp d_interp lod shadow_obj trace_obj ctech stech call csh".split()
)
#: map_* options and how many values follow them (-o/-s/-t/-texres take up to 3 numbers).
_MAP_OPTIONS = {"-blendu": 1, "-blendv": 1, "-bm": 1, "-boost": 1, "-cc": 1, "-clamp": 1, "-imfchan": 1, "-mm": 2}
_MAP_VECTOR_OPTIONS = {"-o", "-s", "-t", "-texres"}
_NUMBER = re.compile(r"[-+]?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?", re.IGNORECASE)


def _map_filename(tokens: list[str]) -> str:
    """The file name of an MTL ``map_Kd [options] file`` statement (file names may hold spaces)."""
    i = 0
    while i < len(tokens) and tokens[i].startswith("-"):
        opt = tokens[i].lower()
        i += 1
        if opt in _MAP_OPTIONS:
            i += _MAP_OPTIONS[opt]
        elif opt in _MAP_VECTOR_OPTIONS:
            k = 0
            while i < len(tokens) and k < 3 and _NUMBER.fullmatch(tokens[i]):
                i, k = i + 1, k + 1
        else:
            break
    return " ".join(tokens[i:])


def _parse_mtl(text: str) -> dict[str, dict[str, Any]]:
    """Material name -> the MTL statements we use (kd, d, tr, ns, pr, pm as float lists; map_kd)."""
    mats: dict[str, dict[str, Any]] = {}
    cur: dict[str, Any] | None = None
    for line in text.splitlines():
        tok = line.split()
        if not tok or tok[0].startswith("#"):
            continue
        key = tok[0].lower()
        if key == "newmtl":
            cur = mats.setdefault(" ".join(tok[1:]), {})
        elif cur is None:
            continue
        elif key == "map_kd" and len(tok) > 1:
            cur["map_kd"] = _map_filename(tok[1:])
        elif key in ("kd", "d", "tr", "ns", "pr", "pm"):
            try:
                values = [float(x) for x in tok[1 : 4 if key == "kd" else 2]]
            except ValueError:
                continue
            if values and np.all(np.isfinite(values)):
                cur[key] = values
    return mats


class _ObjReader:
    def __init__(self, path: Path, limits: ImportLimits):
        self.path = path
        self.name = path.name
        self.base_dir = path.absolute().parent
        self.limits = limits
        self.warnings: list[str] = []
        self.files = [str(path)]

    def bad_line(self, lineno: int, msg: str) -> NoReturn:
        raise UnreadableFileError(f"{self.name} line {lineno}: {msg}. The file is not a valid OBJ: re-export it.")

    def read(self) -> RawAsset:
        data = _read_file(self.path, self.limits, self.name)
        if b"\x00" in data[:65536]:
            raise UnreadableFileError(f"{self.name} is a binary file, not a text OBJ. Check that it is an OBJ export.")
        text = data.decode("utf-8", errors="replace").replace("\\\r\n", " ").replace("\\\n", " ")
        v_rows: list[list[str]] = []
        v_lines: list[int] = []
        vt_rows: list[list[str]] = []
        vn_rows: list[list[str]] = []
        corners: list[tuple[int, int, int]] = []
        face_k: list[int] = []
        face_counts: list[tuple[int, int, int]] = []
        face_mat: list[int] = []
        face_line: list[int] = []
        mat_names: list[str | None] = []
        mat_of: dict[str | None, int] = {}
        current: str | None = None
        mtllibs: list[str] = []
        unknown = short_faces = lines_or_points = 0
        for lineno, line in enumerate(text.splitlines(), 1):
            tok = line.split()
            if not tok or tok[0].startswith("#"):
                continue
            key = tok[0]
            if key == "v":
                if len(tok) < 4:
                    self.bad_line(lineno, "a vertex needs 3 coordinates")
                v_rows.append(tok[1:4])
                v_lines.append(lineno)
            elif key == "vt":
                vt_rows.append((tok[1:3] + ["0"])[:2] if len(tok) > 1 else ["0", "0"])
            elif key == "vn":
                if len(tok) < 4:
                    self.bad_line(lineno, "a normal needs 3 values")
                vn_rows.append(tok[1:4])
            elif key in ("f", "fo"):
                if len(tok) < 4:
                    short_faces += 1
                    continue
                corner = ""
                try:
                    for corner in tok[1:]:
                        a = corner.split("/")
                        corners.append(
                            (
                                int(a[0]),
                                int(a[1]) if len(a) > 1 and a[1] else 0,
                                int(a[2]) if len(a) > 2 and a[2] else 0,
                            )
                        )
                except ValueError:
                    self.bad_line(lineno, f"face corner '{corner}' is not a vertex number")
                if current not in mat_of:
                    mat_of[current] = len(mat_names)
                    mat_names.append(current)
                face_k.append(len(tok) - 1)
                face_counts.append((len(v_rows), len(vt_rows), len(vn_rows)))
                face_mat.append(mat_of[current])
                face_line.append(lineno)
            elif key == "usemtl":
                current = " ".join(tok[1:]) or None
            elif key == "mtllib":
                mtllibs.append(" ".join(tok[1:]))
            elif key in ("l", "p"):
                lines_or_points += 1
            elif key not in _OBJ_KEYWORDS:
                unknown += 1
        if not v_rows or unknown > len(v_rows) + len(face_k):
            raise UnreadableFileError(
                f"{self.name} does not look like an OBJ file (no vertex lines 'v x y z', or mostly unknown "
                "lines). Check that the file is a Wavefront OBJ export."
            )
        try:
            positions = np.array(v_rows, dtype=np.float64)
        except ValueError:
            for row, ln in zip(v_rows, v_lines):
                try:
                    [float(x) for x in row]
                except ValueError:
                    self.bad_line(ln, f"vertex coordinates {' '.join(row)!r} are not numbers")
            raise
        try:
            texcoords = np.array(vt_rows, dtype=np.float64).reshape(-1, 2)
            vnormals = np.array(vn_rows, dtype=np.float64).reshape(-1, 3)
        except ValueError:
            raise UnreadableFileError(
                f"{self.name} has texture coordinates or normals that are not numbers. Re-export it."
            ) from None
        if not face_k:
            extra = f" and {lines_or_points} line/point elements" if lines_or_points else ""
            raise NotAMeshError(
                f"{self.name} holds {len(v_rows)} vertices{extra} but no faces: it is a point cloud or wireframe, "
                "not a surface. Export the garment as a mesh with faces."
            )
        if short_faces:
            self.warnings.append(f"ignored {short_faces} faces with fewer than 3 corners")
        raw = np.array(corners, dtype=np.int64).reshape(-1, 3)
        k = np.array(face_k, dtype=np.int64)
        counts = np.repeat(np.array(face_counts, dtype=np.int64), k, axis=0)
        # 1-based, or negative = relative to the elements defined so far; 0 = absent (uv, normal)
        idx = np.where(raw > 0, raw - 1, np.where(raw < 0, counts + raw, -1))
        totals = (len(positions), len(texcoords), len(vnormals))
        for col, label in ((0, "vertex"), (1, "texture coordinate"), (2, "normal")):
            bad = (idx[:, col] >= totals[col]) | ((idx[:, col] < 0) & ((raw[:, col] != 0) | (col == 0)))
            if bad.any():
                first = int(np.argmax(bad))
                face = int(np.searchsorted(np.cumsum(k), first, side="right"))
                raise BufferMismatchError(
                    f"{self.name} line {face_line[face]}: a face uses {label} {int(raw[first, col])} but the file "
                    f"defines only {totals[col]} {label}s. The file is damaged or incomplete: re-export it."
                )
        # fan-triangulate every polygon: corners (0, j, j + 1) for j in 1 .. k - 2
        start = np.concatenate([[0], np.cumsum(k)[:-1]])
        tri_face = np.repeat(np.arange(len(k)), k - 2)
        first_tri = np.concatenate([[0], np.cumsum(k - 2)[:-1]])
        j = np.arange(len(tri_face)) - first_tri[tri_face] + 1
        a = start[tri_face]
        tri_corners = np.stack([a, a + j, a + j + 1], axis=1)
        tri_mat = np.array(face_mat, dtype=np.int64)[tri_face]
        materials = self._materials(mtllibs, mat_names)
        parts: list[RawPart] = []
        for m, mname in enumerate(mat_names):
            sel = tri_corners[tri_mat == m]
            if len(sel):
                part = self._part(idx[sel.ravel()], positions, texcoords, vnormals, mname or "default")
                part.material = m
                parts.append(part)
        return RawAsset(
            parts=parts,
            materials=materials,
            source_format="obj",
            units_hint=None,
            up_axis_hint=None,
            warnings=self.warnings,
            files=self.files,
        )

    def _part(self, corners: np.ndarray, positions, texcoords, vnormals, label: str) -> RawPart:
        """Split vertices so each distinct (position, uv, normal) corner is one vertex."""
        uniq, inverse = np.unique(corners, axis=0, return_inverse=True)
        faces = inverse.reshape(-1, 3).astype(np.int64)
        uvs = normals = None
        has_uv = uniq[:, 1] >= 0
        if has_uv.any():
            uvs = np.zeros((len(uniq), 2), np.float64)
            uvs[has_uv] = texcoords[uniq[has_uv, 1]]
            uvs[:, 1] = np.where(has_uv, 1.0 - uvs[:, 1], 0.0)  # OBJ's v points up, glTF's down
            if not has_uv.all():
                self.warnings.append(f"part '{label}': {int((~has_uv).sum())} vertices had no UV and got (0, 0)")
            uvs = uvs.astype(np.float32)
        if (uniq[:, 2] >= 0).all():
            normals = vnormals[uniq[:, 2]].astype(np.float32)
        return RawPart(positions=positions[uniq[:, 0]], faces=faces, normals=normals, uvs=uvs, name=label)

    def _materials(self, mtllibs: list[str], used: list[str | None]) -> list[RawMaterial]:
        """One material per used name (first-use order), from the MTL libraries."""
        defs: dict[str, tuple[dict[str, Any], Path]] = {}
        missing_lib = False
        for lib in mtllibs:
            if not lib:
                continue
            # "mtllib a.mtl b.mtl" lists several; a single name may also hold spaces
            whole = confined_path(lib, self.base_dir, self.name, "material library", is_uri=False)
            for name in [lib] if " " not in lib or whole.is_file() else lib.split():
                file = confined_path(name, self.base_dir, self.name, "material library", is_uri=False)
                data = _read_file(file, self.limits, f"{self.name}: material library '{name}'", missing_ok=True)
                if data is None:
                    self.warnings.append(f"material library '{name}' is missing; using plain grey materials")
                    missing_lib = True
                    continue
                self.files.append(str(file))
                for mname, spec in _parse_mtl(data.decode("utf-8", errors="replace")).items():
                    defs.setdefault(mname, (spec, file.parent))
        materials: list[RawMaterial] = []
        for mname in used:
            if mname is None:
                materials.append(RawMaterial(name="default"))
            elif mname in defs:
                materials.append(self._material(mname, *defs[mname]))
            else:
                if mtllibs and not missing_lib:  # a missing library was reported: it may define it
                    self.warnings.append(f"material '{mname}' is not defined in the .mtl; using plain grey")
                materials.append(RawMaterial(name=mname))
        return materials

    def _material(self, mname: str, spec: dict[str, Any], mtl_dir: Path) -> RawMaterial:
        mat = RawMaterial(name=mname)
        if len(spec.get("kd", ())) == 3:
            mat.base_color[:3] = srgb_to_linear(spec["kd"])
        elif "map_kd" in spec:
            mat.base_color[:3] = 1.0
        if "d" in spec:
            mat.base_color[3] = float(np.clip(spec["d"][0], 0, 1))
        elif "tr" in spec:
            mat.base_color[3] = float(np.clip(1.0 - spec["tr"][0], 0, 1))
        if "pr" in spec:
            mat.roughness = float(np.clip(spec["pr"][0], 0, 1))
        elif "ns" in spec:
            mat.roughness = float(np.clip(np.sqrt(2.0 / (max(spec["ns"][0], 0.0) + 2.0)), 0, 1))
        if "pm" in spec:
            mat.metallic = float(np.clip(spec["pm"][0], 0, 1))
        tex = spec.get("map_kd")
        if tex:
            file = confined_path(
                tex, mtl_dir, self.name, f"texture of material '{mname}'", is_uri=False, root=self.base_dir
            )
            data = _read_file(file, self.limits, f"{self.name}: texture '{tex}'", missing_ok=True)
            if data is None:
                self.warnings.append(f"texture '{tex}' is missing; using the material colour")
            else:
                self.files.append(str(file))
                rgba = decode_image(data, f"'{tex}'", self.warnings)
                if rgba is not None:
                    mat.base_texture = rgba
                    mat.texture_source = tex
        return mat


def load_obj(path: str | Path, limits: ImportLimits = DEFAULT_LIMITS) -> RawAsset:
    """A Wavefront OBJ (+ its MTL libraries and ``map_Kd`` textures) -> RawAsset, in file units and axes.

    One part per material (first-use order); polygons fan-triangulated; negative indices resolved;
    UVs flipped to glTF's convention (v' = 1 - v). MTL: ``Kd`` (sRGB -> linear base colour), ``d`` /
    ``Tr`` (alpha), ``Ns`` (roughness = sqrt(2 / (Ns + 2))), ``Pr`` / ``Pm`` (PBR extension), ``map_Kd``.
    Vertex colours (``v x y z r g b``) are ignored. Missing MTL or texture files are warnings.
    """
    return _ObjReader(Path(path), limits).read()


# ---------------------------------------------------------------------------------------------
# PLY and STL
# ---------------------------------------------------------------------------------------------


def _sniff_stl(data: bytes, name: str) -> None:
    if len(data) >= 84:
        n = struct.unpack_from("<I", data, 80)[0]
        if len(data) >= 84 + 50 * n:
            return  # binary STL
    if data[:1024].lstrip()[:5].lower() == b"solid" and b"facet" in data[:65536]:
        return  # ASCII STL
    raise UnreadableFileError(
        f"{name} is not a readable STL file (neither a complete binary STL nor ASCII 'solid ... facet'). "
        "It may be truncated or another format: re-export it as STL."
    )


def load_ply_stl(path: str | Path, limits: ImportLimits = DEFAULT_LIMITS) -> RawAsset:
    """A PLY or STL mesh (read by trimesh) -> RawAsset with untextured parts, in file units and axes.

    STL vertices, stored per triangle, are merged where positions are identical. Per-vertex (or
    per-face) colours are averaged into the single material's base colour (sRGB -> linear); UVs
    and normals are not read (:func:`validate_and_repair` computes normals). A file with vertices
    but no faces raises :class:`NotAMeshError`; anything trimesh fails on, :class:`UnreadableFileError`.
    """
    path = Path(path)
    fmt = path.suffix.lower().lstrip(".")
    data = _read_file(path, limits, path.name)
    if fmt == "ply" and data[:3] != b"ply":
        raise UnreadableFileError(f"{path.name} is not a PLY file (it does not start with 'ply'). Re-export it.")
    if fmt == "stl":
        _sniff_stl(data, path.name)
    try:
        import trimesh

        loaded = trimesh.load(io.BytesIO(data), file_type=fmt, process=False)
        geoms = loaded.dump() if isinstance(loaded, trimesh.Scene) else [loaded]
        meshes = [g for g in geoms if isinstance(g, trimesh.Trimesh)]
        n_points = sum(len(getattr(g, "vertices", ())) for g in geoms if not isinstance(g, trimesh.Trimesh))
        arrays = []
        colors = []
        for m in meshes:
            pos = np.asarray(m.vertices, dtype=np.float64).reshape(-1, 3)
            faces = np.asarray(m.faces, dtype=np.int64).reshape(-1, 3)
            kind = getattr(m.visual, "kind", None)
            if kind == "vertex":
                colors.append(np.asarray(m.visual.vertex_colors, dtype=np.float64)[:, :4])
            elif kind == "face":
                colors.append(np.asarray(m.visual.face_colors, dtype=np.float64)[:, :4])
            arrays.append((pos, faces))
    except Exception as exc:  # trimesh raises anything on bad input
        raise UnreadableFileError(
            f"{path.name} could not be read as {fmt.upper()}: it is damaged or not really a {fmt.upper()} file. "
            f"Re-export it. (Technical detail: {type(exc).__name__}: {exc})"
        ) from None
    n_faces = sum(len(f) for _, f in arrays)
    n_verts = sum(len(p) for p, _ in arrays) + n_points
    if n_faces == 0 and n_verts > 0:
        raise NotAMeshError(
            f"{path.name} holds {n_verts} points but no faces: it is a point cloud, not a surface. "
            "Export the garment as a mesh with faces."
        )
    material = RawMaterial(name=path.stem)
    if colors:
        c = np.concatenate(colors) / 255.0
        if len(c):
            mean = c.mean(axis=0)
            material.base_color = np.array([*srgb_to_linear(mean[:3]), mean[3]], np.float32)
    parts = []
    for i, (pos, faces) in enumerate(arrays):
        if fmt == "stl" and len(pos):
            pos, inverse = np.unique(pos, axis=0, return_inverse=True)
            faces = inverse.reshape(-1)[faces]
        parts.append(RawPart(positions=pos, faces=faces, name=path.stem if len(arrays) == 1 else f"{path.stem}/{i}"))
    if not parts:
        parts = [RawPart(positions=np.zeros((0, 3)), faces=np.zeros((0, 3), np.int64), name=path.stem)]
    return RawAsset(parts=parts, materials=[material], source_format=fmt, files=[str(path)])


# ---------------------------------------------------------------------------------------------
# Dispatch
# ---------------------------------------------------------------------------------------------


def load_asset(path: str | Path, limits: ImportLimits = DEFAULT_LIMITS) -> RawAsset:
    """Read an uploaded 3D file into a :class:`RawAsset` (file units and axes), by its suffix.

    ``.glb`` / ``.gltf`` (metres, y up), ``.obj`` (+ ``.mtl``), ``.ply``, ``.stl`` (units and axes
    unknown). Only reads, with the checks the format itself demands; run :func:`validate_and_repair`
    next. Raises an :class:`~tryon.catalog.assets.AssetError` subclass with a plain-words message.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".mhclo":
        raise UnsupportedFormatError(
            f"{path.name} is a MakeHuman clothes file: it is imported with the MakeHuman clothes importer "
            "(tryon.catalog.makehuman_clothes), which fits it to the body, not with this loader."
        )
    if suffix in (".glb", ".gltf"):
        return load_gltf(path, limits)
    if suffix == ".obj":
        return load_obj(path, limits)
    if suffix in (".ply", ".stl"):
        return load_ply_stl(path, limits)
    what = f"'{suffix}' files are" if suffix else "files without an extension are"
    raise UnsupportedFormatError(
        f"{path.name}: {what} not supported. Upload one of: {_SUPPORTED_LIST} (a single .glb is best)."
    )


# ---------------------------------------------------------------------------------------------
# Validation and repair (every format)
# ---------------------------------------------------------------------------------------------


def vertex_normals(positions: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """Area-weighted unit vertex normals: (V, 3) float64 from (V, 3) positions and (F, 3) faces.

    Vertices on no face (or only on zero-area faces) get (0, 0, 1).
    """
    p = np.asarray(positions, dtype=np.float64)
    f = np.asarray(faces, dtype=np.int64).reshape(-1, 3)
    fn = np.cross(p[f[:, 1]] - p[f[:, 0]], p[f[:, 2]] - p[f[:, 0]])  # |fn| = 2 * area
    out = np.zeros_like(p)
    for c in range(3):
        for k in range(3):
            out[:, c] += np.bincount(f[:, k], weights=fn[:, c], minlength=len(p))
    length = np.linalg.norm(out, axis=1)
    ok = length > 1e-30
    out[ok] /= length[ok, None]
    out[~ok] = (0.0, 0.0, 1.0)
    return out


def _drop_unused(part: RawPart, faces: np.ndarray) -> RawPart:
    """The part with only the vertices ``faces`` (indices into the part's vertices) use."""
    used, inverse = np.unique(faces, return_inverse=True)
    return RawPart(
        positions=np.asarray(part.positions, dtype=np.float64)[used],
        faces=inverse.reshape(-1, 3).astype(np.int64),
        normals=None if part.normals is None else np.asarray(part.normals)[used].astype(np.float32),
        uvs=None if part.uvs is None else np.asarray(part.uvs)[used].astype(np.float32),
        material=part.material,
        name=part.name,
    )


def _clean_faces(faces: np.ndarray, positions: np.ndarray, min_area: float) -> tuple[np.ndarray, int, int]:
    """(faces without degenerate and duplicate ones, number degenerate, number duplicate)."""
    rep = (faces[:, 0] == faces[:, 1]) | (faces[:, 1] == faces[:, 2]) | (faces[:, 0] == faces[:, 2])
    p = positions
    area = 0.5 * np.linalg.norm(np.cross(p[faces[:, 1]] - p[faces[:, 0]], p[faces[:, 2]] - p[faces[:, 0]]), axis=1)
    degenerate = rep | ~(area > min_area)
    faces = faces[~degenerate]
    n_dup = 0
    if len(faces):
        _, first = np.unique(np.sort(faces, axis=1), axis=0, return_index=True)
        n_dup = len(faces) - len(first)
        faces = faces[np.sort(first)]
    return faces, int(degenerate.sum()), n_dup


def _cluster(part: RawPart, cells: int) -> tuple[np.ndarray, np.ndarray]:
    """Vertex clustering on a grid of ``cells`` along the longest side (and across the UV range):
    (cluster id per vertex (V,), surviving faces (F', 3) in cluster ids)."""
    p = part.positions
    lo = p.min(axis=0)
    size = float((p.max(axis=0) - lo).max()) / cells or 1.0
    keys = [np.floor((p - lo) / size).astype(np.int64)]
    if part.uvs is not None:
        uv = np.asarray(part.uvs, dtype=np.float64)
        uv_lo = uv.min(axis=0)
        uv_size = float((uv.max(axis=0) - uv_lo).max()) / cells or 1.0
        keys.append(np.floor((uv - uv_lo) / uv_size).astype(np.int64))  # keeps UV islands apart
    _, cid = np.unique(np.concatenate(keys, axis=1), axis=0, return_inverse=True)
    cid = cid.reshape(-1)
    f = cid[part.faces]
    f = f[(f[:, 0] != f[:, 1]) & (f[:, 1] != f[:, 2]) & (f[:, 0] != f[:, 2])]
    if len(f):
        _, first = np.unique(np.sort(f, axis=1), axis=0, return_index=True)
        f = f[np.sort(first)]
    return cid, f


def decimate_part(part: RawPart, target: int) -> RawPart | None:
    """Vertex-clustering decimation of one part to at most ``target`` triangles (None if it vanishes).

    The finest grid that meets the target is found by bisection; each cluster becomes one vertex at
    its members' mean position, mean UV and mean (renormalised) normal. UV islands are clustered
    apart so texture seams survive.
    """
    if len(part.faces) <= target:
        return part
    if target < 1:
        return None
    lo, hi = 1, max(2, 4 * int(np.ceil(np.sqrt(len(part.faces)))))
    cid, f = _cluster(part, hi)
    best = (cid, f) if len(f) <= target else None
    if best is None:
        while lo < hi - 1:
            mid = (lo + hi) // 2
            cid, f = _cluster(part, mid)
            if len(f) <= target:
                lo, best = mid, (cid, f)
            else:
                hi = mid
        if best is None:
            cid, f = _cluster(part, 1)
            best = (cid, f) if len(f) <= target else None
    if best is None or not len(best[1]):
        return None
    cid, f = best
    n = int(cid.max()) + 1
    counts = np.bincount(cid, minlength=n).astype(np.float64)[:, None]

    def mean(a: np.ndarray) -> np.ndarray:
        a = np.asarray(a, dtype=np.float64)
        return np.stack([np.bincount(cid, weights=a[:, c], minlength=n) for c in range(a.shape[1])], 1) / counts

    normals = None
    if part.normals is not None:
        normals = mean(part.normals)
        normals /= np.maximum(np.linalg.norm(normals, axis=1, keepdims=True), 1e-30)
    merged = RawPart(
        positions=mean(part.positions),
        faces=f,
        normals=None if normals is None else normals.astype(np.float32),
        uvs=None if part.uvs is None else mean(part.uvs).astype(np.float32),
        material=part.material,
        name=part.name,
    )
    return _drop_unused(merged, f)


def validate_and_repair(asset: RawAsset, limits: ImportLimits = DEFAULT_LIMITS) -> RawAsset:
    """The checks every format gets after loading; returns a repaired copy with new arrays.

    Raises :class:`EmptyMeshError` (no faces, or none left after repair), :class:`BufferMismatchError`
    (faces referring to missing vertices, attribute arrays of the wrong shape),
    :class:`BadCoordinatesError` (NaN or infinite coordinates on vertices that faces use) and
    :class:`TooManyTrianglesError` (over ``limits.max_triangles`` unless ``limits.allow_decimate``).

    Repairs, each with a warning in the returned asset's ``warnings`` (the input's warnings first;
    the input asset is not modified): degenerate faces (a repeated corner, or an area below
    ``DEGENERATE_AREA_REL`` x the squared bounding-box diagonal) and duplicate faces (the same
    vertices in any order) removed; parts left empty dropped (with their ``variants`` entries);
    invalid UVs zeroed; decimation to the budget when allowed. Silently: unused vertices dropped,
    missing or zero normals recomputed (area-weighted), all normals unit length. Positions stay
    (V, 3) float64 in file units; normals (V, 3) and uvs (V, 2) become float32.
    """
    name = Path(asset.files[0]).name if asset.files else "the asset"
    warnings = list(asset.warnings)
    parts = list(asset.parts)
    for i, p in enumerate(parts):
        label = f"part {i} ('{p.name}')" if p.name else f"part {i}"
        pos, faces = np.asarray(p.positions), np.asarray(p.faces)
        if pos.ndim != 2 or pos.shape[1] != 3 or faces.ndim != 2 or faces.shape[1] != 3:
            raise BufferMismatchError(
                f"{name}: {label} has positions {pos.shape} and faces {faces.shape}; expected (V, 3) and (F, 3)."
            )
        for attr, width in (("normals", 3), ("uvs", 2)):
            arr = getattr(p, attr)
            if arr is not None and np.asarray(arr).shape != (len(pos), width):
                raise BufferMismatchError(
                    f"{name}: {label} has {np.asarray(arr).shape} {attr} for {len(pos)} vertices. Re-export it."
                )
    total = sum(len(p.faces) for p in parts)
    if total == 0:
        raise EmptyMeshError(
            f"{name} has no faces (0 triangles): there is no surface to show. Export the garment as a mesh with faces."
        )
    for i, p in enumerate(parts):
        faces = np.asarray(p.faces)
        if len(faces) and (faces.min() < 0 or faces.max() >= len(p.positions)):
            bad = int(faces.max()) if faces.max() >= len(p.positions) else int(faces.min())
            raise BufferMismatchError(
                f"{name}: part {i} ('{p.name}') has faces that use vertex {bad} but it has only "
                f"{len(p.positions)} vertices. The file is damaged: re-export it."
            )
    n_bad = n_used = 0
    for p in parts:
        used = np.unique(np.asarray(p.faces))
        n_used += len(used)
        n_bad += int((~np.isfinite(np.asarray(p.positions, dtype=np.float64)[used]).all(axis=1)).sum())
    if n_bad:
        raise BadCoordinatesError(
            f"{name}: {n_bad} of {n_used} vertices have NaN or infinite coordinates, so the mesh cannot be "
            "placed. Fix or delete those vertices in your 3D tool and re-export."
        )
    used_pts = np.concatenate(
        [np.asarray(p.positions, dtype=np.float64)[np.unique(np.asarray(p.faces))] for p in parts if len(p.faces)]
    )
    min_area = DEGENERATE_AREA_REL * float(((used_pts.max(axis=0) - used_pts.min(axis=0)) ** 2).sum())
    repaired: list[RawPart] = []
    keep_idx: list[int] = []
    n_degenerate = n_duplicate = 0
    for i, p in enumerate(parts):
        part = RawPart(
            positions=np.asarray(p.positions, dtype=np.float64),
            faces=np.asarray(p.faces, dtype=np.int64).reshape(-1, 3),
            normals=None if p.normals is None else np.asarray(p.normals),
            uvs=None if p.uvs is None else np.asarray(p.uvs),
            material=p.material,
            name=p.name,
        )
        faces, n_deg, n_dup = _clean_faces(part.faces, part.positions, min_area)
        n_degenerate += n_deg
        n_duplicate += n_dup
        if not len(faces):
            if len(part.faces):
                warnings.append(f"part '{p.name or i}' had only broken faces and was removed")
            continue
        repaired.append(_drop_unused(part, faces))
        keep_idx.append(i)
    if n_degenerate:
        warnings.append(f"removed {n_degenerate} degenerate faces (zero area or a repeated corner)")
    if n_duplicate:
        warnings.append(f"removed {n_duplicate} duplicate faces (the same corners as another face)")
    if not repaired:
        raise EmptyMeshError(
            f"{name}: all {total} faces are broken (zero area, a repeated corner or duplicates): nothing is left "
            "to show. Check the export settings (e.g. the scale) in your 3D tool and re-export."
        )
    variants = {
        k: [v[i] if i < len(v) else repaired[j].material for j, i in enumerate(keep_idx)]
        for k, v in asset.variants.items()
    }
    count = sum(len(p.faces) for p in repaired)
    if count > limits.max_triangles:
        if not limits.allow_decimate:
            raise TooManyTrianglesError(
                f"{name} has {count:,} triangles, over the real-time budget of {limits.max_triangles:,} per item. "
                "Simplify it in your 3D tool, or re-run with --decimate to reduce it automatically."
            )
        decimated: list[RawPart] = []
        kept: list[int] = []
        for j, p in enumerate(repaired):
            d = decimate_part(p, int(limits.max_triangles * len(p.faces) // count))
            if d is not None:
                decimated.append(d)
                kept.append(j)
        if not decimated:
            raise TooManyTrianglesError(
                f"{name} has {count:,} triangles and could not be reduced to the budget of "
                f"{limits.max_triangles:,}. Simplify it in your 3D tool."
            )
        after = sum(len(p.faces) for p in decimated)
        warnings.append(
            f"decimated from {count:,} to {after:,} triangles to fit the budget of {limits.max_triangles:,} "
            "(vertex clustering: check the look)"
        )
        if len(kept) < len(repaired):
            warnings.append(f"{len(repaired) - len(kept)} small parts vanished in the decimation")
        variants = {k: [v[j] for j in kept] for k, v in variants.items()}
        repaired = decimated
    materials = list(asset.materials)
    default_mat: int | None = None
    for p in repaired:
        if not 0 <= p.material < len(materials):
            if default_mat is None:
                default_mat = len(materials)
                materials.append(RawMaterial(name="default"))
                warnings.append(f"part '{p.name}' referred to a material that does not exist; using plain grey")
            p.material = default_mat
    for k, v in variants.items():
        variants[k] = [m if 0 <= m < len(materials) else p.material for m, p in zip(v, repaired)]
    for p in repaired:
        if p.uvs is not None:
            uvs = np.asarray(p.uvs, dtype=np.float32)
            bad = ~np.isfinite(uvs).all(axis=1)
            if bad.any():
                uvs = uvs.copy()
                uvs[bad] = 0.0
                warnings.append(f"part '{p.name}': {int(bad.sum())} invalid (NaN) texture coordinates set to 0")
            p.uvs = uvs
        computed = vertex_normals(p.positions, p.faces)
        if p.normals is None:
            p.normals = computed.astype(np.float32)
            continue
        n = np.asarray(p.normals, dtype=np.float64)
        length = np.linalg.norm(n, axis=1)
        bad = ~np.isfinite(length) | (length < 1e-12)
        n = np.where(bad[:, None], computed, n / np.where(bad, 1.0, length)[:, None])
        if bad.any():
            warnings.append(f"part '{p.name}': recomputed {int(bad.sum())} invalid normals")
        p.normals = n.astype(np.float32)
    return RawAsset(
        parts=repaired,
        materials=materials,
        variants=variants,
        source_format=asset.source_format,
        units_hint=asset.units_hint,
        up_axis_hint=asset.up_axis_hint,
        warnings=warnings,
        files=list(asset.files),
        credits=dict(asset.credits),
    )
