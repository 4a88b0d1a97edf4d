"""The glTF 2.0 container and its data, every number checked against the file.

The GLB chunks and the JSON (:func:`parse_glb`, :func:`parse_json`), and :class:`GltfDocument`:
schema-checked access to the JSON (indices, integers, finite numbers) and to buffers,
bufferViews and accessors (sparse ones too), each read only after its declared extent has been
checked against the bytes that hold it. The credits a file carries (:func:`gltf_credits`).
Materials, images and the scene are read by :mod:`tryon.catalog.formats.gltf`.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path
from typing import Any, NoReturn

import numpy as np

from tryon.catalog.assets import (
    AssetError,
    BufferMismatchError,
    ImportLimits,
    UnreadableFileError,
    UnsupportedFormatError,
)
from tryon.catalog.formats.safety import DEFAULT_LIMITS, confined_path, decode_data_uri, is_data_uri, read_file

#: The ``asset.extras`` keys read as credits (Sketchfab's glTF exports write these four).
CREDIT_KEYS = ("author", "license", "source", "title")
GLB_MAGIC = b"glTF"
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
INDEX_TYPES = (5121, 5123, 5125)
MODE_NAMES = {0: "points", 1: "lines", 2: "line loops", 3: "line strips"}


def parse_glb(data: bytes, name: str) -> tuple[bytes, memoryview | None]:
    """The JSON chunk and the BIN chunk (or None) of a GLB container."""
    if len(data) < 12:
        raise UnreadableFileError(f"{name} is only {len(data)} bytes: too short to be a binary glTF (.glb).")
    magic, version, length = struct.unpack_from("<4sII", data, 0)
    if magic != GLB_MAGIC:
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


def parse_json(raw: bytes, name: str) -> dict:
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


class GltfDocument:
    """One glTF's JSON and binary data: checked access to its objects, buffers and accessors."""

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
        elif is_data_uri(uri):
            data, label = decode_data_uri(uri, self.name, f"buffer {i}"), "its embedded data"
        else:
            file = confined_path(uri, self.base_dir, self.name, f"buffer {i}", is_uri=True)
            got = read_file(file, self.limits, f"{self.name}: buffer {i} file '{uri}'", missing_ok=True)
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
            # all zeros (maybe with sparse values): no larger than the data the file holds (or 1 MB)
            held = sum(len(b) for b in self._buffers.values()) + len(json.dumps(self.doc)) // 4
            if count * dtype.itemsize * ncomp > min(max(held, 1 << 20), self.limits.max_file_bytes):
                raise BufferMismatchError(
                    f"{self.name}: {what} declares {count:,} elements without any data, more than the file "
                    "could describe. The file is damaged: re-export it."
                )
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
        if not isinstance(val, dict) or ind.get("componentType") not in INDEX_TYPES:
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
            doc = parse_json(read_file(path, limits, path.name), path.name)
        elif suffix == ".glb":
            with open(path, "rb") as fh:
                head = fh.read(20)
                if len(head) < 20 or head[:4] != GLB_MAGIC:
                    return {}
                (json_len,) = struct.unpack_from("<I", head, 12)
                if json_len > limits.max_file_bytes:
                    return {}
                doc = parse_json(fh.read(json_len), path.name)
        else:
            return {}
    except (AssetError, OSError, struct.error):
        return {}
    return credits_from_doc(doc)
