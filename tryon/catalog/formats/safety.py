"""Untrusted uploads: reading a file within the size limit, and confining references to the upload's folder.

Every file an asset refers to (glTF buffers and images, OBJ material libraries and textures) must
lie inside the asset's folder: absolute paths, ``..``, links that lead outside and any URI scheme
but ``data:`` are refused (:class:`UnsafeReferenceError`); nothing is ever fetched from the
network. Every file read is held to ``ImportLimits.max_file_bytes``.
"""

from __future__ import annotations

import base64
import binascii
import re
import stat
from pathlib import Path
from typing import NoReturn
from urllib.parse import unquote, unquote_to_bytes

from tryon.catalog.assets import (
    FileTooLargeError,
    ImportLimits,
    TooManyTrianglesError,
    UnreadableFileError,
    UnsafeReferenceError,
)

DEFAULT_LIMITS = ImportLimits()
#: No upload may hold or expand to more triangles than this while loading (node instancing,
#: strips, fans... counted), whatever the budget: a try-on item is decimated to 60,000 and a
#: file just under this cap imports in under about 1 GB (the README's reliability section).
HARD_TRIANGLE_CAP = 2_000_000


def too_many_triangles(name: str, what: str = "has") -> TooManyTrianglesError:
    """The plain-words refusal of an upload over :data:`HARD_TRIANGLE_CAP` (exit 15)."""
    return TooManyTrianglesError(
        f"{name} {what} more than {HARD_TRIANGLE_CAP:,} triangles, the most any upload may have. A try-on "
        "garment needs far fewer (it is reduced to 60,000): decimate it in your 3D tool (for example to "
        "100,000 triangles) and upload it again."
    )


def _size_text(n: int) -> str:
    return f"{n:,} bytes ({n / 1e6:.1f} MB)" if n >= 100_000 else f"{n:,} bytes"


def _too_large(label: str, size: int, limit: int) -> FileTooLargeError:
    return FileTooLargeError(
        f"{label} is {_size_text(size)}, over the limit of {_size_text(limit)} per file. "
        "A try-on garment needs far less: decimate it in your 3D tool (for example to 100,000 triangles) "
        "and use textures of at most 4096 px, then upload it again."
    )


def read_file(path: Path, limits: ImportLimits, label: str, *, missing_ok: bool = False) -> bytes | None:
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


def is_data_uri(ref: str) -> bool:
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


def decode_data_uri(uri: str, owner: str, what: str) -> bytes:
    header, sep, payload = uri[5:].partition(",")
    if not sep:
        raise UnreadableFileError(f"{owner}: {what} is a 'data:' URI without data. Re-export the asset.")
    if header.lower().endswith(";base64"):
        try:
            return base64.b64decode("".join(payload.split()), validate=True)
        except (binascii.Error, ValueError):
            raise UnreadableFileError(f"{owner}: {what} holds invalid base64 data. Re-export the asset.") from None
    return unquote_to_bytes(payload)
