"""Hostile uploads, built small on disk but big in what they declare: the known bombs of issue 16
and the mutations the fuzz run (:mod:`tryon.catalog.fuzz`) and the tests import.

Every builder writes into a folder it is given and returns the main file's path; nothing here
is read by the engine. The files are tiny (a few KB to a few MB) and each declares far more than
it holds: a JPEG header of 24000^2 px, a ``delete_verts`` range of sixty million, one face
repeated millions of times, a 16-bit PNG of 8190^2 px that deflates to nothing.
"""

from __future__ import annotations

import json
import random
import shutil
import struct
import zlib
from collections.abc import Callable
from pathlib import Path

import numpy as np

from tryon.catalog.assets import ImportLimits

#: The MakeHuman mesh a hostile ``.mhclo`` names: a small real clothes mesh of the bundle.
_MHCLO_SOURCE = ("black-dress-shoes", "shoes03")


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def png_bytes(width: int, height: int, bit_depth: int = 8, colour_type: int = 2) -> bytes:
    """A valid PNG of ``width`` x ``height`` zero pixels; highly compressible (a few hundred KB
    for 8190^2 at 16 bits), so a file this small decodes to hundreds of MB."""
    channels = {0: 1, 2: 3, 4: 2, 6: 4}[colour_type]
    row = bytes(1 + width * channels * bit_depth // 8)  # filter byte 0 + zero samples
    comp = zlib.compressobj(9)
    body = b"".join(comp.compress(row) for _ in range(height)) + comp.flush()
    ihdr = struct.pack(">IIBBBBB", width, height, bit_depth, colour_type, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", ihdr) + _png_chunk(b"IDAT", body) + _png_chunk(b"IEND", b"")


def jpeg_bomb_bytes(width: int = 24000, height: int = 24000, stray: bool = True) -> bytes:
    """A baseline JPEG header declaring ``width`` x ``height`` (greyscale), a stray byte after the
    first marker segment (libjpeg skips it with a warning; a strict header reader gives up), and a
    short scan of zero data: decoders that trust the header allocate width x height before they
    find that the data runs out."""
    soi = b"\xff\xd8"
    app0 = b"\xff\xe0" + struct.pack(">H", 16) + b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    qt = b"\xff\xdb" + struct.pack(">H", 67) + b"\x00" + bytes([1] * 64)
    sof = b"\xff\xc0" + struct.pack(">HBHHB", 11, 8, height, width, 1) + b"\x01\x11\x00"
    # Huffman tables: DC with one code (length 1, symbol 0), AC with one code (length 1, symbol 0 = EOB)
    dht = b"\xff\xc4" + struct.pack(">H", 2 + 2 * 17 + 2) + b"\x00" + bytes([1] + [0] * 15) + b"\x00"
    dht += b"\x10" + bytes([1] + [0] * 15) + b"\x00"
    sos = b"\xff\xda" + struct.pack(">HB", 8, 1) + b"\x01\x00\x00\x3f\x00"
    junk = b"\x00" if stray else b""
    return soi + app0 + junk + qt + sof + dht + sos + bytes(4096) + b"\xff\xd9"


def _textured_gltf(folder: Path, image_name: str, image: bytes) -> Path:
    """A one-triangle .gltf whose colour texture is ``image`` (written beside it)."""
    positions = np.array([[0, 0, 0], [0.3, 0, 0], [0, 0.3, 0]], np.float32)
    uvs = np.array([[0, 0], [1, 0], [0, 1]], np.float32)
    blob = positions.tobytes() + uvs.tobytes()
    (folder / "mesh.bin").write_bytes(blob)
    (folder / image_name).write_bytes(image)
    doc = {
        "asset": {"version": "2.0"},
        "buffers": [{"uri": "mesh.bin", "byteLength": len(blob)}],
        "bufferViews": [
            {"buffer": 0, "byteOffset": 0, "byteLength": 36},
            {"buffer": 0, "byteOffset": 36, "byteLength": 24},
        ],
        "accessors": [
            {"bufferView": 0, "componentType": 5126, "count": 3, "type": "VEC3"},
            {"bufferView": 1, "componentType": 5126, "count": 3, "type": "VEC2"},
        ],
        "images": [{"uri": image_name}],
        "textures": [{"source": 0}],
        "materials": [{"pbrMetallicRoughness": {"baseColorTexture": {"index": 0}, "metallicFactor": 0}}],
        "meshes": [{"primitives": [{"attributes": {"POSITION": 0, "TEXCOORD_0": 1}, "material": 0}]}],
        "nodes": [{"mesh": 0}],
        "scenes": [{"nodes": [0]}],
    }
    path = folder / "item.gltf"
    path.write_text(json.dumps(doc))
    return path


def jpeg_bomb(folder: Path) -> Path:
    """Issue 16's first bomb: a glTF whose texture is a JPEG of 24000^2 px with a stray byte."""
    return _textured_gltf(folder, "t.jpg", jpeg_bomb_bytes())


def png16_bomb(folder: Path, side: int = 8190) -> Path:
    """Issue 16's fourth bomb: a glTF whose texture is a 16-bit RGB PNG of 8190^2 px (~520 KB)."""
    return _textured_gltf(folder, "t.png", png_bytes(side, side, bit_depth=16, colour_type=2))


def obj_repeated_face(folder: Path, n: int = 3_000_000) -> Path:
    """Issue 16's third bomb: an OBJ of one triangle repeated ``n`` times (~10 bytes a face)."""
    path = folder / "faces.obj"
    with open(path, "w") as fh:
        fh.write("v 0 0 0\nv 0.3 0 0\nv 0 0.3 0\n")
        line = "f 1 2 3\n" * 10_000
        for _ in range(n // 10_000):
            fh.write(line)
        fh.write("f 1 2 3\n" * (n % 10_000))
    return path


def obj_grid(folder: Path, side: int, uv: bool = True, normals: bool = True, quads: bool = False) -> Path:
    """A large, honest OBJ: a ``side`` x ``side`` grid of vertices (a wavy 1 m sheet) with
    texture coordinates and normals, ``2 (side - 1)^2`` triangles written ``f a/a/a b/b/b c/c/c``
    (or ``(side - 1)^2`` quads). About 1,000 triangles take 60 KB."""
    path = folder / "grid.obj"
    n = side - 1
    g = np.linspace(0.0, 1.0, side)
    x, y = np.meshgrid(g, g)
    z = 0.02 * np.sin(9.0 * x) * np.cos(7.0 * y)
    i = np.arange(side * side).reshape(side, side) + 1
    a, b, c, d = i[:-1, :-1].ravel(), i[:-1, 1:].ravel(), i[1:, 1:].ravel(), i[1:, :-1].ravel()

    def corner(k: np.ndarray) -> np.ndarray:
        s = k.astype(str).astype(object)
        return s + "/" + s + "/" + s if uv and normals else s + "/" + s if uv else s + "//" + s if normals else s

    with open(path, "w") as fh:
        fh.write("# a wavy sheet\nmtllib none.mtl\no grid\n")
        np.savetxt(fh, np.stack([x.ravel(), z.ravel(), y.ravel()], 1), fmt="v %.6f %.6f %.6f")
        if uv:
            np.savetxt(fh, np.stack([x.ravel(), y.ravel()], 1), fmt="vt %.6f %.6f")
        if normals:
            nrm = np.zeros((side * side, 3)) + [0.0, 1.0, 0.0]
            np.savetxt(fh, nrm, fmt="vn %.4f %.4f %.4f")
        fh.write("usemtl sheet\ns 1\n")
        ca, cb, cc, cd = corner(a), corner(b), corner(c), corner(d)
        rows = ["f " + ca + " " + cb + " " + cc + " " + cd] if quads else [
            "f " + ca + " " + cb + " " + cc, "f " + ca + " " + cc + " " + cd
        ]
        for start in range(0, n * n, 200_000):
            block = [r[start : start + 200_000] for r in rows]
            lines = np.stack(block, 1).ravel() if len(rows) > 1 else block[0]
            fh.write("\n".join(lines.tolist()) + "\n")
    return path


def mhclo_copy(folder: Path) -> Path:
    """A real MakeHuman clothes upload (the bundle's shoes03: .mhclo, .obj, .mhmat...) in ``folder``."""
    from tryon.catalog.catalog import REPO_ROOT

    item, stem = _MHCLO_SOURCE
    src = REPO_ROOT / "garments" / item / "original"
    for f in src.iterdir():
        if f.is_file():
            shutil.copyfile(f, folder / f.name)
    return folder / f"{stem}.mhclo"


def mhclo_edit(folder: Path, edit: Callable[[list[str]], list[str]]) -> Path:
    """The real .mhclo with its lines changed by ``edit``."""
    path = mhclo_copy(folder)
    lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    path.write_text("\n".join(edit(lines)) + "\n")
    return path


def mhclo_delete_range(folder: Path, high: int = 60_000_000) -> Path:
    """Issue 16's second bomb: a ``delete_verts`` line with a range of sixty million (41 bytes)."""

    def edit(lines: list[str]) -> list[str]:
        cut = next((i for i, ln in enumerate(lines) if ln.split()[:1] == ["delete_verts"]), len(lines))
        return lines[:cut] + ["delete_verts", f"0 - {high}"]

    return mhclo_edit(folder, edit)


def _verts_section(lines: list[str]) -> tuple[int, int]:
    """(first, end) line indices of the .mhclo's vertex references."""
    start = next(i for i, ln in enumerate(lines) if ln.split()[:1] == ["verts"]) + 1
    end = start
    while end < len(lines) and lines[end].split() and lines[end].split()[0].lstrip("-").replace(".", "").isdigit():
        end += 1
    return start, end


def mhclo_ref_value(folder: Path, column: int, value: str, row: int = 0) -> Path:
    """The real .mhclo with one number of one vertex reference replaced (3-5: a weight,
    6-8: an offset) by ``value`` ("nan", "inf", "1e308", "x"...)."""

    def edit(lines: list[str]) -> list[str]:
        start, _ = _verts_section(lines)
        words = lines[start + row].split()
        words[column] = value
        lines[start + row] = " ".join(words)
        return lines

    return mhclo_edit(folder, edit)


def mhclo_scale_line(folder: Path, line: str) -> Path:
    """The real .mhclo with its ``x_scale`` line replaced by ``line`` (e.g. ``x_scale 5 10 0``)."""

    def edit(lines: list[str]) -> list[str]:
        return [line if ln.split()[:1] == ["x_scale"] else ln for ln in lines]

    return mhclo_edit(folder, edit)


def nested_json(depth: int = 100_000) -> str:
    """A JSON text nested ``depth`` deep (a size chart or a glTF that overflows a recursive reader)."""
    return '{"sizes": ' + "[" * depth + "]" * depth + "}"


#: The known bombs: name -> builder(folder) -> main file, with the category to import them as.
BOMBS: dict[str, tuple[Callable[[Path], Path], str]] = {
    "jpeg-24000px-stray-byte": (jpeg_bomb, "hat"),
    "png16-8190px": (png16_bomb, "hat"),
    "obj-one-face-x3M": (obj_repeated_face, "hat"),
    "mhclo-delete-range-60M": (mhclo_delete_range, "shoes"),
}


# -- honest files at the size limits (the import's peak memory is measured on them) ----------

#: What the builders below aim just under: 97.5% of the per-file limit (``ImportLimits.max_file_bytes``,
#: 64 MiB), each within :data:`~tryon.catalog.formats.safety.HARD_TRIANGLE_CAP` (2 million).
LIMIT_TARGET_BYTES = int(0.975 * ImportLimits().max_file_bytes)


def _sheet(side: int) -> tuple[np.ndarray, np.ndarray]:
    """A wavy 1 m sheet: (side^2, 3) float32 positions and (2 (side - 1)^2, 3) int64 faces."""
    g = np.linspace(0.0, 1.0, side, dtype=np.float32)
    x, y = np.meshgrid(g, g)
    z = 0.02 * np.sin(9.0 * x) * np.cos(7.0 * y)
    pos = np.stack([x.ravel(), z.ravel(), y.ravel()], 1).astype(np.float32)
    i = np.arange(side * side).reshape(side, side)
    a, b, c, d = i[:-1, :-1].ravel(), i[:-1, 1:].ravel(), i[1:, 1:].ravel(), i[1:, :-1].ravel()
    faces = np.stack([np.stack([a, b, c], 1), np.stack([a, c, d], 1)], 1).reshape(-1, 3)
    return pos, faces


def _side_for(bytes_per_vertex: float, bytes_per_triangle: float, target: int, max_triangles: int) -> int:
    """The sheet's side that fills ``target`` bytes, within ``max_triangles``."""
    side = int((target / (bytes_per_vertex + 2 * bytes_per_triangle)) ** 0.5)
    while 2 * (side - 1) ** 2 > max_triangles:
        side -= 1
    return side


def obj_at_limit(folder: Path, target: int | None = None) -> Path:
    """An OBJ with UVs and normals just under the file limit (~0.66 million triangles)."""
    target = target or LIMIT_TARGET_BYTES
    side = 20
    small = obj_grid(folder, side).stat().st_size
    side = int(side * (target / small) ** 0.5)
    while True:
        path = obj_grid(folder, side)
        if path.stat().st_size <= target:
            return path
        side = int(side * 0.98)


def obj_faces_at_limit(folder: Path, target: int | None = None) -> Path:
    """An OBJ of positions and plain ``f a b c`` faces just under the file limit: the most
    triangles a file within the limit holds this way (~1.7 million)."""
    target = target or LIMIT_TARGET_BYTES
    from tryon.catalog.formats.safety import HARD_TRIANGLE_CAP

    side = _side_for(30, 23, target, HARD_TRIANGLE_CAP)
    while True:
        path = obj_grid(folder, side, uv=False, normals=False)
        if path.stat().st_size <= target:
            return path
        side = int(side * 0.98)


def glb_at_limit(folder: Path, target: int | None = None) -> Path:
    """A GLB of positions, normals and uint32 indices just under the file limit or the 2 million
    triangle cap (the cap: ~2 million triangles, 48 MB)."""
    target = target or LIMIT_TARGET_BYTES
    from tryon.catalog.formats.safety import HARD_TRIANGLE_CAP
    from tryon.catalog.gltf_writer import GlbMaterial, GlbPart, write_glb

    pos, faces = _sheet(_side_for(24, 12, target - 4096, HARD_TRIANGLE_CAP - 1))
    normals = np.zeros_like(pos)
    normals[:, 1] = 1.0
    return write_glb(folder / "sheet.glb", [GlbPart(pos, normals, faces)], [GlbMaterial("sheet")])


def ply_at_limit(folder: Path, target: int | None = None) -> Path:
    """A binary PLY (float32 positions, uchar-counted int32 triangles) just under the file limit
    or the 2 million triangle cap (the cap: ~1.9 million triangles, 36 MB)."""
    target = target or LIMIT_TARGET_BYTES
    from tryon.catalog.formats.safety import HARD_TRIANGLE_CAP

    pos, faces = _sheet(_side_for(12, 13, target - 4096, int(0.95 * HARD_TRIANGLE_CAP)))
    rows = np.empty(len(faces), np.dtype([("n", "u1"), ("i", "<i4", (3,))]))
    rows["n"], rows["i"] = 3, faces
    header = (
        "ply\nformat binary_little_endian 1.0\n"
        f"element vertex {len(pos)}\nproperty float x\nproperty float y\nproperty float z\n"
        f"element face {len(faces)}\nproperty list uchar int vertex_indices\nend_header\n"
    )
    path = folder / "sheet.ply"
    with open(path, "wb") as fh:
        fh.write(header.encode())
        fh.write(pos.astype("<f4").tobytes())
        fh.write(rows.tobytes())
    return path


def stl_at_limit(folder: Path, target: int | None = None) -> Path:
    """A binary STL (50 bytes a triangle) just under the file limit or the triangle cap (the file
    limit: ~1.3 million triangles)."""
    target = target or LIMIT_TARGET_BYTES
    from tryon.catalog.formats.safety import HARD_TRIANGLE_CAP

    pos, faces = _sheet(_side_for(0, 50, target - 84, HARD_TRIANGLE_CAP))
    rows = np.zeros(len(faces), np.dtype([("n", "<f4", (3,)), ("v", "<f4", (3, 3)), ("a", "<u2")]))
    rows["n"][:, 1] = 1.0
    rows["v"] = pos[faces]
    path = folder / "sheet.stl"
    with open(path, "wb") as fh:
        fh.write(b"sheet".ljust(80, b" ") + struct.pack("<I", len(rows)))
        fh.write(rows.tobytes())
    return path


def _gradient_image(side: int, mode: str):
    """A smooth ``side`` x ``side`` picture (Pillow image), cheap to compress, real to decode."""
    from PIL import Image

    ramp = np.linspace(0, 255, side, dtype=np.float32)
    r = np.broadcast_to(ramp[None, :], (side, side))
    g = np.broadcast_to(ramp[:, None], (side, side))
    b = (r + g) * 0.5
    layers = [r, g, b] + ([np.full((side, side), 200.0, np.float32)] if mode == "RGBA" else [])
    return Image.fromarray(np.stack(layers, -1).astype(np.uint8), mode)


def texture_jpeg_at_limit(folder: Path) -> Path:
    """A glTF whose colour texture is a JPEG of the largest side allowed (8192^2 px)."""
    import io

    from tryon.catalog.formats.images import MAX_TEXTURE_SIDE

    buf = io.BytesIO()
    _gradient_image(MAX_TEXTURE_SIDE, "RGB").save(buf, "JPEG", quality=90)
    return _textured_gltf(folder, "t.jpg", buf.getvalue())


def texture_png_at_limit(folder: Path) -> Path:
    """A glTF whose colour texture is an 8-bit RGBA PNG of the largest side allowed (8192^2 px)."""
    import io

    from tryon.catalog.formats.images import MAX_TEXTURE_SIDE

    buf = io.BytesIO()
    _gradient_image(MAX_TEXTURE_SIDE, "RGBA").save(buf, "PNG", compress_level=1)
    return _textured_gltf(folder, "t.png", buf.getvalue())


def mhclo_at_limit(folder: Path, target: int | None = None) -> Path:
    """The bundle's MakeHuman shoes copied over and over into one .mhclo + .obj until the
    larger of the two is just under the file limit or the OBJ at the MakeHuman reader's triangle
    limit (:data:`tryon.body.makehuman.MAX_TRIANGLES`), each copy's vertices fitted to the body
    like the original's."""
    from tryon.body.makehuman import MAX_TRIANGLES

    target = target or LIMIT_TARGET_BYTES
    path = mhclo_copy(folder)
    obj_path = folder / "shoes03.obj"
    clo = path.read_text(encoding="utf-8", errors="replace").splitlines()
    start, end = _verts_section(clo)
    refs = clo[start:end]
    obj_lines = obj_path.read_text(encoding="utf-8", errors="replace").splitlines()
    v = [ln for ln in obj_lines if ln.startswith("v ")]
    vt = [ln for ln in obj_lines if ln.startswith("vt ")]
    f = [ln.split()[1:] for ln in obj_lines if ln.startswith("f ")]
    head = [ln for ln in obj_lines if ln.split()[:1] in (["mtllib"], ["usemtl"], ["o"], ["g"])]
    per_copy = max(len("\n".join(refs)), len("\n".join(obj_lines)) * 1.25)
    copies = max(1, min(int(target / per_copy), MAX_TRIANGLES // sum(len(face) - 2 for face in f)))

    def corner(c: str, k: int) -> str:
        parts = c.split("/")
        return "/".join(str(int(x) + k * (len(v) if i == 0 else len(vt))) if x else "" for i, x in enumerate(parts))

    with open(obj_path, "w") as fh:
        fh.write("\n".join(head) + "\n")
        for _ in range(copies):
            fh.write("\n".join(v) + "\n")
        for _ in range(copies):
            fh.write("\n".join(vt) + "\n")
        for k in range(copies):
            fh.write("\n".join("f " + " ".join(corner(c, k) for c in face) for face in f) + "\n")
    body = [ln for ln in clo[:start] if ln.split()[:1] != ["vertexboneweights_file"]]
    path.write_text("\n".join(body + refs * copies + clo[end:]) + "\n")
    (folder / "shoes03.mhw").unlink(missing_ok=True)
    return path


#: Honest uploads at the size limits: name -> (builder(folder) -> main file, category, extra
#: ``tryon garments add`` options). Their peak memory is what the README states for an import.
AT_LIMITS: dict[str, tuple[Callable[[Path], Path], str, tuple[str, ...]]] = {
    "obj-uv-normals": (obj_at_limit, "hat", ("--decimate",)),
    "obj-faces": (obj_faces_at_limit, "hat", ("--decimate",)),
    "glb": (glb_at_limit, "hat", ("--decimate",)),
    "ply-binary": (ply_at_limit, "hat", ("--decimate",)),
    "stl-binary": (stl_at_limit, "hat", ("--decimate",)),
    "jpeg-8192px": (texture_jpeg_at_limit, "hat", ()),
    "png-rgba-8192px": (texture_png_at_limit, "hat", ()),
    "mhclo": (mhclo_at_limit, "shoes", ("--decimate",)),
}


# -- mutations (for the fuzz run) ------------------------------------------------------------


def mutate_bytes(data: bytes, rng: random.Random) -> bytes:
    """One random corruption of a file's bytes: flipped bytes, a cut, a duplicated or removed
    slice, a number in a text file replaced by an extreme one, or interesting integers written
    over a binary header."""
    b = bytearray(data)
    kind = rng.randrange(7)
    n = len(b)
    if n == 0:
        return bytes(rng.randbytes(rng.randrange(1, 64)))
    if kind == 0:  # flip a few bytes
        for _ in range(rng.randrange(1, 9)):
            b[rng.randrange(n)] = rng.randrange(256)
    elif kind == 1:  # truncate
        del b[rng.randrange(n) :]
    elif kind == 2:  # duplicate a slice
        i = rng.randrange(n)
        j = min(n, i + rng.randrange(1, 4096))
        b[i:i] = b[i:j] * rng.randrange(1, 50)
    elif kind == 3:  # remove a slice
        i = rng.randrange(n)
        del b[i : i + rng.randrange(1, 256)]
    elif kind == 4:  # a number in text replaced by an extreme value
        text = bytes(b)
        import re

        nums = [m.span() for m in re.finditer(rb"-?\d+(\.\d+)?(e[-+]?\d+)?", text[:2_000_000])]
        if nums:
            i, j = nums[rng.randrange(len(nums))]
            new = rng.choice([b"nan", b"inf", b"-inf", b"1e308", b"-1", b"0", b"4294967295", b"99999999999", b"1e-320"])
            b[i:j] = new
    elif kind == 5:  # interesting 32-bit integers over the first 64 bytes
        for _ in range(rng.randrange(1, 4)):
            i = rng.randrange(min(n, 64))
            val = rng.choice([0, 1, 0x7FFFFFFF, 0xFFFFFFFF, 0x10000000, 0xFFFF, 60_000_000])
            b[i : i + 4] = struct.pack("<I", val)[: max(0, min(4, n - i))]
    else:  # garbage appended
        b += rng.randbytes(rng.randrange(1, 512))
    return bytes(b)


def mutate_json(text: str, rng: random.Random) -> str:
    """A glTF's JSON with one value replaced: counts and offsets made huge or negative, indices
    out of range, numbers non-finite, lists emptied or nested deep."""
    try:
        doc = json.loads(text)
    except (ValueError, RecursionError):
        return text
    paths: list[tuple[object, object]] = []

    def walk(node: object) -> None:
        if isinstance(node, dict):
            for k, v in node.items():
                paths.append((node, k))
                walk(v)
        elif isinstance(node, list):
            for i, v in enumerate(node):
                paths.append((node, i))
                walk(v)

    walk(doc)
    for _ in range(rng.randrange(1, 4)):
        if not paths:
            break
        parent, key = paths[rng.randrange(len(paths))]
        parent[key] = rng.choice(  # type: ignore[index]
            [
                2**31 - 1,
                2**32 + 3,
                10**12,
                -1,
                0,
                60_000_000,
                float("nan"),
                float("inf"),
                1e308,
                [],
                {},
                "x",
                None,
                [[[[[0]]]]],
            ]
        )
    return json.dumps(doc)
