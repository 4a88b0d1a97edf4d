"""The upload loaders (glTF, OBJ, PLY, STL) and the shared validation, on real and hostile files.

Hostile inputs are built here at run time (GLB/glTF written by a small packer, OBJ text, trimesh
exports): each test names the exception class and a key phrase of the message the retailer sees.
"""

from __future__ import annotations

import base64
import json
import os
import struct
from pathlib import Path

import cv2
import numpy as np
import pytest
import trimesh

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
from tryon.catalog.formats import load_asset
from tryon.catalog.repair import validate_and_repair, vertex_normals

ROOT = Path(__file__).resolve().parents[2]
#: The real assets, as each bundled item keeps them (``garments/<id>/original/``): the same
#: files as in the team's asset collection, so a clone of the repository tests them too.
ORIGINALS = {
    "gltf_sample_assets/MaterialsVariantsShoe/MaterialsVariantsShoe.gltf": "variants-sneaker",
    "gltf_sample_assets/Corset/Corset_geometry_only.gltf": "corset",
    "gltf_sample_assets/Corset/Corset.bin": "corset",
    "mediapipe_glasses/glasses.obj": "red-glasses",
    "watch_lowpoly_ccby/Low_Poly_Watch.obj": "steel-watch",
}


def shared_file(rel: str) -> Path:
    """A real asset of the collection, from the bundled item's kept original."""
    path = ROOT / "garments" / ORIGINALS[rel] / "original" / Path(rel).name
    assert path.is_file(), path
    return path


# ---------------------------------------------------------------------------------------------
# A tiny glTF writer
# ---------------------------------------------------------------------------------------------

CUBE_POSITIONS = np.array(
    [[x, y, z] for x in (-0.5, 0.5) for y in (-0.5, 0.5) for z in (-0.5, 0.5)], dtype=np.float32
)  # index = 4 * (x > 0) + 2 * (y > 0) + (z > 0)
CUBE_FACES = np.array(
    [
        [0, 1, 3], [0, 3, 2],  # -x
        [4, 6, 7], [4, 7, 5],  # +x
        [0, 4, 5], [0, 5, 1],  # -y
        [2, 3, 7], [2, 7, 6],  # +y
        [0, 2, 6], [0, 6, 4],  # -z
        [1, 5, 7], [1, 7, 3],  # +z
    ],
    dtype=np.uint16,
)  # fmt: skip


def pack_glb(doc: dict, binary: bytes | None = None) -> bytes:
    """A GLB container: the JSON chunk (space padded) and an optional BIN chunk (zero padded)."""
    js = json.dumps(doc).encode()
    js += b" " * (-len(js) % 4)
    body = struct.pack("<II", len(js), 0x4E4F534A) + js
    if binary is not None:
        binary = binary + b"\0" * (-len(binary) % 4)
        body += struct.pack("<II", len(binary), 0x004E4942) + binary
    return struct.pack("<4sII", b"glTF", 2, 12 + len(body)) + body


def mesh_doc(
    positions: np.ndarray = CUBE_POSITIONS,
    faces: np.ndarray | None = CUBE_FACES,
    *,
    mode: int = 4,
    uvs: np.ndarray | None = None,
) -> tuple[dict, bytes]:
    """A one-mesh glTF document and its binary buffer (byteLength = the exact data length)."""
    pos = np.ascontiguousarray(positions, dtype=np.float32)
    blobs = [pos.tobytes()]
    views = [{"buffer": 0, "byteOffset": 0, "byteLength": pos.nbytes}]
    accessors = [
        {
            "bufferView": 0,
            "componentType": 5126,
            "count": len(pos),
            "type": "VEC3",
            "min": np.nan_to_num(pos.min(0)).tolist(),
            "max": np.nan_to_num(pos.max(0)).tolist(),
        }
    ]
    attributes = {"POSITION": 0}
    offset = pos.nbytes
    if uvs is not None:
        uv = np.ascontiguousarray(uvs, dtype=np.float32)
        blobs.append(uv.tobytes())
        views.append({"buffer": 0, "byteOffset": offset, "byteLength": uv.nbytes})
        accessors.append({"bufferView": len(views) - 1, "componentType": 5126, "count": len(uv), "type": "VEC2"})
        attributes["TEXCOORD_0"] = len(accessors) - 1
        offset += uv.nbytes
    primitive: dict = {"attributes": attributes, "mode": mode}
    if faces is not None:
        idx = np.ascontiguousarray(faces, dtype=np.uint16).ravel()
        blobs.append(idx.tobytes())
        views.append({"buffer": 0, "byteOffset": offset, "byteLength": idx.nbytes})
        accessors.append({"bufferView": len(views) - 1, "componentType": 5123, "count": len(idx), "type": "SCALAR"})
        primitive["indices"] = len(accessors) - 1
    binary = b"".join(blobs)
    doc = {
        "asset": {"version": "2.0"},
        "scene": 0,
        "scenes": [{"nodes": [0]}],
        "nodes": [{"mesh": 0, "name": "cube"}],
        "meshes": [{"name": "cube", "primitives": [primitive]}],
        "accessors": accessors,
        "bufferViews": views,
        "buffers": [{"byteLength": len(binary)}],
    }
    return doc, binary


def write_glb(folder: Path, doc: dict, binary: bytes | None, name: str = "item.glb") -> Path:
    path = folder / name
    path.write_bytes(pack_glb(doc, binary))
    return path


def write_gltf(folder: Path, doc: dict, binary: bytes | None, uri: str = "item.bin", name: str = "item.gltf") -> Path:
    """A .gltf whose buffer 0 is the file ``uri`` (written beside it unless it is None)."""
    doc["buffers"][0]["uri"] = uri
    if binary is not None:
        (folder / uri).write_bytes(binary)
    path = folder / name
    path.write_text(json.dumps(doc))
    return path


def png_bytes(rgb: tuple[int, int, int], size: int = 4) -> bytes:
    img = np.zeros((size, size, 3), np.uint8)
    img[:] = rgb[::-1]  # OpenCV writes BGR
    ok, buf = cv2.imencode(".png", img)
    assert ok
    return buf.tobytes()


def textured_doc(image: dict) -> tuple[dict, bytes]:
    uvs = CUBE_POSITIONS[:, :2] + 0.5
    doc, binary = mesh_doc(uvs=uvs)
    doc["materials"] = [{"name": "cloth", "pbrMetallicRoughness": {"baseColorTexture": {"index": 0}}}]
    doc["meshes"][0]["primitives"][0]["material"] = 0
    doc["textures"] = [{"source": 0}]
    doc["images"] = [image]
    return doc, binary


def loaded(path: Path, limits: ImportLimits | None = None) -> RawAsset:
    """load_asset then validate_and_repair, as the import pipeline runs them."""
    limits = limits or ImportLimits()
    return validate_and_repair(load_asset(path, limits), limits)


# ---------------------------------------------------------------------------------------------
# Real assets from the team's collection (skipped when it is not beside the repository)
# ---------------------------------------------------------------------------------------------


def test_materials_variants_shoe():
    asset = loaded(shared_file("gltf_sample_assets/MaterialsVariantsShoe/MaterialsVariantsShoe.gltf"))
    assert asset.source_format == "gltf" and asset.units_hint == "m" and asset.up_axis_hint == "y"
    assert asset.triangle_count == 22700
    variants = {k.lower(): v for k, v in asset.variants.items()}
    assert sorted(variants) == ["beach", "midnight", "street"]
    assert all(len(v) == len(asset.parts) for v in variants.values())
    assert len({v[0] for v in variants.values()}) == 3  # each colourway its own material
    for mats in variants.values():
        tex = asset.materials[mats[0]].base_texture
        assert tex is not None and tex.dtype == np.uint8 and tex.ndim == 3 and tex.shape[2] == 4
    beach, midnight = (asset.materials[variants[k][0]].base_texture for k in ("beach", "midnight"))
    assert not np.array_equal(beach, midnight)
    assert asset.materials[variants["beach"][0]].texture_source == "diffuseBeach.jpg"
    lo, hi = asset.bounds()
    assert 0.25 < (hi - lo).max() < 0.35  # a ~30 cm shoe, node matrix applied
    part = asset.parts[0]
    assert part.uvs.shape == (len(part.positions), 2) and part.normals.shape == part.positions.shape
    assert np.allclose(np.linalg.norm(part.normals, axis=1), 1, atol=1e-4)
    assert any(f.endswith("diffuseStreet.jpg") for f in asset.files) and asset.files[0].endswith(".gltf")


def test_corset_is_tiny_and_rotated():
    asset = loaded(shared_file("gltf_sample_assets/Corset/Corset_geometry_only.gltf"))
    lo, hi = asset.bounds()
    assert np.allclose(hi - lo, [0.0389, 0.0578, 0.0389], atol=1e-3)  # 5.8 cm tall: the fitter rescales it
    assert asset.triangle_count == 54972 // 3
    assert np.allclose(asset.materials[0].base_color, [0.55, 0.35, 0.25, 1.0])
    # the node turns it 180 degrees about y: x and z flip sign (bufferView 3 holds the positions)
    raw = load_asset(shared_file("gltf_sample_assets/Corset/Corset_geometry_only.gltf"))
    stored = np.fromfile(shared_file("gltf_sample_assets/Corset/Corset.bin"), np.float32, 11505 * 3, offset=414180)
    assert np.allclose(raw.parts[0].positions, stored.reshape(-1, 3) * [-1, 1, -1], atol=1e-6)


def test_mediapipe_glasses_obj_with_texture():
    asset = loaded(shared_file("mediapipe_glasses/glasses.obj"))
    assert asset.source_format == "obj" and asset.units_hint is None and asset.up_axis_hint is None
    assert asset.triangle_count == 4798
    mat = asset.materials[asset.parts[0].material]
    assert mat.base_texture is not None and mat.base_texture.shape == (1024, 1024, 4)
    assert mat.texture_source == "glasses_texture.png"
    uvs = asset.parts[0].uvs
    assert uvs is not None and uvs.min() >= 0 and uvs.max() <= 1
    assert [Path(f).name for f in asset.files] == ["glasses.obj", "glasses.mtl", "glasses_texture.png"]


def test_lowpoly_watch_obj():
    raw = load_asset(shared_file("watch_lowpoly_ccby/Low_Poly_Watch.obj"))
    assert raw.triangle_count == 3196 and raw.parts[0].uvs is None and raw.parts[0].normals is None
    asset = validate_and_repair(raw, ImportLimits())
    lo, hi = asset.bounds()
    assert 250 < (hi - lo).max() < 350  # not at real-world scale: the fitter's job
    assert asset.parts[0].normals.shape == asset.parts[0].positions.shape


# ---------------------------------------------------------------------------------------------
# glTF: valid files
# ---------------------------------------------------------------------------------------------


def test_minimal_cube_glb(tmp_path):
    doc, binary = mesh_doc()
    asset = loaded(write_glb(tmp_path, doc, binary))
    assert asset.source_format == "glb" and asset.units_hint == "m" and asset.up_axis_hint == "y"
    assert asset.triangle_count == 12 and asset.vertex_count == 8 and asset.warnings == []
    lo, hi = asset.bounds()
    assert np.allclose(lo, -0.5) and np.allclose(hi, 0.5)
    part = asset.parts[0]
    assert part.faces.dtype == np.int64 and part.positions.dtype == np.float64
    # recomputed normals point outwards
    assert (np.einsum("ij,ij->i", part.normals, part.positions) > 0).all()
    assert asset.materials[part.material].name == "default"


def test_node_transforms_are_baked_and_mirrors_keep_winding(tmp_path):
    doc, binary = mesh_doc()
    doc["nodes"] = [
        {"children": [1], "translation": [1.0, 2.0, 3.0], "scale": [2.0, 2.0, 2.0]},
        {"mesh": 0, "rotation": [0.0, np.sin(np.pi / 4), 0.0, np.cos(np.pi / 4)], "scale": [-1.0, 1.0, 1.0]},
    ]
    asset = loaded(write_glb(tmp_path, doc, binary))
    lo, hi = asset.bounds()
    assert np.allclose((lo + hi) / 2, [1, 2, 3]) and np.allclose(hi - lo, 2.0)
    part = asset.parts[0]
    fn = np.cross(
        part.positions[part.faces[:, 1]] - part.positions[part.faces[:, 0]],
        part.positions[part.faces[:, 2]] - part.positions[part.faces[:, 0]],
    )
    centre = part.positions[part.faces].mean(axis=1) - [1, 2, 3]
    assert (np.einsum("ij,ij->i", fn, centre) > 0).all()  # still counter-clockwise from outside


def test_matrix_node_and_normals_transform(tmp_path):
    doc, binary = mesh_doc()
    normals = CUBE_POSITIONS / np.linalg.norm(CUBE_POSITIONS, axis=1, keepdims=True)
    doc["bufferViews"].append({"buffer": 0, "byteOffset": len(binary), "byteLength": normals.nbytes})
    doc["accessors"].append({"bufferView": 2, "componentType": 5126, "count": 8, "type": "VEC3"})
    doc["meshes"][0]["primitives"][0]["attributes"]["NORMAL"] = 2
    binary += normals.astype(np.float32).tobytes()
    doc["buffers"][0]["byteLength"] = len(binary)
    m = np.diag([1.0, 4.0, 1.0, 1.0])  # stretch y: normals must not simply scale with it
    doc["nodes"][0]["matrix"] = m.T.ravel().tolist()
    part = loaded(write_glb(tmp_path, doc, binary)).parts[0]
    assert np.allclose(np.abs(part.positions[:, 1]), 2.0)
    expected = normals * [1, 0.25, 1]
    expected /= np.linalg.norm(expected, axis=1, keepdims=True)
    assert np.allclose(part.normals, expected, atol=1e-5)


def test_strips_and_fans_are_triangulated(tmp_path):
    quad = np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0], [1, 1, 0]], np.float32)
    doc, binary = mesh_doc(quad, np.array([0, 1, 2, 3]), mode=5)
    part = load_asset(write_glb(tmp_path, doc, binary)).parts[0]
    assert part.faces.tolist() == [[0, 1, 2], [1, 3, 2]]
    doc, binary = mesh_doc(quad, None, mode=6)
    part = load_asset(write_glb(tmp_path, doc, binary, "fan.glb")).parts[0]
    assert part.faces.tolist() == [[1, 2, 0], [2, 3, 0]]


def test_data_uri_buffer_is_accepted(tmp_path):
    doc, binary = mesh_doc()
    uri = "data:application/octet-stream;base64," + base64.b64encode(binary).decode()
    path = write_gltf(tmp_path, doc, None, uri=uri)
    assert loaded(path).triangle_count == 12


def test_gltf_with_external_bin_and_png(tmp_path):
    doc, binary = textured_doc({"uri": "red%20cloth.png"})  # URIs are percent-encoded
    (tmp_path / "red cloth.png").write_bytes(png_bytes((255, 0, 0)))
    asset = loaded(write_gltf(tmp_path, doc, binary))
    tex = asset.materials[0].base_texture
    assert tex.shape == (4, 4, 4) and tex[0, 0].tolist() == [255, 0, 0, 255]  # RGBA, not BGR
    assert asset.materials[0].texture_source == "red%20cloth.png"
    assert [Path(f).name for f in asset.files] == ["item.gltf", "item.bin", "red cloth.png"]
    # glTF says metallic 1 when unset; an upload that sets no metalness is taken as not metal
    assert asset.materials[0].metallic == 0.0 and asset.materials[0].double_sided is False
    assert any("sets no metalness" in w for w in asset.warnings)


def test_glb_embedded_image_by_buffer_view(tmp_path):
    doc, binary = textured_doc({"bufferView": 3, "mimeType": "image/png"})
    png = png_bytes((0, 0, 255))
    doc["bufferViews"].append({"buffer": 0, "byteOffset": len(binary), "byteLength": len(png)})
    binary += png
    doc["buffers"][0]["byteLength"] = len(binary)
    tex = loaded(write_glb(tmp_path, doc, binary)).materials[0].base_texture
    assert tex[1, 1].tolist() == [0, 0, 255, 255]


def test_sparse_accessor(tmp_path):
    doc, binary = mesh_doc()
    sparse_idx = np.array([7], np.uint32).tobytes()
    sparse_val = np.array([[1.0, 1.0, 1.0]], np.float32).tobytes()
    doc["bufferViews"] += [
        {"buffer": 0, "byteOffset": len(binary), "byteLength": 4},
        {"buffer": 0, "byteOffset": len(binary) + 4, "byteLength": 12},
    ]
    doc["accessors"][0]["sparse"] = {
        "count": 1,
        "indices": {"bufferView": 2, "componentType": 5125},
        "values": {"bufferView": 3},
    }
    binary += sparse_idx + sparse_val
    doc["buffers"][0]["byteLength"] = len(binary)
    part = load_asset(write_glb(tmp_path, doc, binary)).parts[0]
    assert part.positions[7].tolist() == [1.0, 1.0, 1.0] and part.positions[0].tolist() == [-0.5, -0.5, -0.5]


def test_variants_keep_default_material_where_unmapped(tmp_path):
    doc, binary = mesh_doc()
    prim = doc["meshes"][0]["primitives"][0]
    doc["meshes"][0]["primitives"] = [dict(prim, material=0), dict(prim, material=1)]
    doc["materials"] = [
        {"name": "red", "pbrMetallicRoughness": {"baseColorFactor": [1, 0, 0, 1]}},
        {"name": "laces"},
        {"name": "blue", "pbrMetallicRoughness": {"baseColorFactor": [0, 0, 1, 1]}},
    ]
    doc["extensions"] = {"KHR_materials_variants": {"variants": [{"name": "Red"}, {"name": "Blue"}]}}
    doc["extensionsUsed"] = doc["extensionsRequired"] = ["KHR_materials_variants"]
    doc["meshes"][0]["primitives"][0]["extensions"] = {
        "KHR_materials_variants": {"mappings": [{"material": 2, "variants": [1]}]}
    }
    asset = load_asset(write_glb(tmp_path, doc, binary))
    assert asset.variants == {"Red": [0, 1], "Blue": [2, 1]}
    assert [p.name for p in asset.parts] == ["cube/0", "cube/1"]


# ---------------------------------------------------------------------------------------------
# glTF: security
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("uri", "phrase"),
    [
        ("../secret.bin", "'..' leads out"),
        ("sub/../../secret.bin", "'..' leads out"),
        ("%2e%2e/secret.bin", "'..' leads out"),
        ("/etc/passwd", "absolute path"),
        ("%2Fetc%2Fpasswd", "absolute path"),
        ("C:\\Windows\\win.ini", "absolute Windows path"),
        ("\\\\server\\share\\x.bin", "absolute path"),
        ("http://example.com/item.bin", "'http:' scheme"),
        ("https://example.com/item.bin", "'https:' scheme"),
        ("file:///etc/passwd", "'file:' scheme"),
        ("ftp://example.com/item.bin", "'ftp:' scheme"),
    ],
)
def test_unsafe_buffer_uris_are_refused(tmp_path, uri, phrase):
    doc, binary = mesh_doc()
    (tmp_path / "secret.bin").write_bytes(binary)
    folder = tmp_path / "upload"
    folder.mkdir()
    path = write_gltf(folder, doc, None, uri=uri)
    with pytest.raises(UnsafeReferenceError, match="refused") as err:
        load_asset(path)
    assert phrase in err.value.message and "item.gltf" in err.value.message


def test_unsafe_image_uri_is_refused(tmp_path):
    doc, binary = textured_doc({"uri": "https://cdn.example.com/t.png"})
    with pytest.raises(UnsafeReferenceError, match="'https:' scheme"):
        load_asset(write_glb(tmp_path, doc, binary))


def test_symlink_leading_outside_is_refused(tmp_path):
    doc, binary = mesh_doc()
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "data.bin").write_bytes(binary)
    folder = tmp_path / "upload"
    folder.mkdir()
    os.symlink(outside / "data.bin", folder / "item.bin")
    path = write_gltf(folder, doc, None, uri="item.bin")
    with pytest.raises(UnsafeReferenceError, match="outside the asset's folder"):
        load_asset(path)
    # a link that stays inside the folder is fine
    (folder / "real.bin").write_bytes(binary)
    os.symlink(folder / "real.bin", folder / "alias.bin")
    assert load_asset(write_gltf(folder, doc, None, uri="alias.bin", name="ok.gltf")).triangle_count == 12


def test_symlinked_texture_outside_is_refused(tmp_path):
    folder = tmp_path / "upload"
    folder.mkdir()
    (tmp_path / "private.png").write_bytes(png_bytes((1, 2, 3)))
    os.symlink(tmp_path / "private.png", folder / "t.png")
    doc, binary = textured_doc({"uri": "t.png"})
    with pytest.raises(UnsafeReferenceError, match="outside"):
        load_asset(write_glb(folder, doc, binary))


def test_unknown_required_extensions_are_refused(tmp_path):
    doc, binary = mesh_doc()
    doc["extensionsRequired"] = ["KHR_draco_mesh_compression", "EXT_made_up"]
    with pytest.raises(UnsupportedExtensionError, match="does not support") as err:
        load_asset(write_glb(tmp_path, doc, binary))
    assert err.value.exit_code == 11  # an unsupported format, not an unsafe reference
    assert "KHR_draco_mesh_compression" in err.value.message and "EXT_made_up" in err.value.message
    assert "Draco" in err.value.message


# ---------------------------------------------------------------------------------------------
# glTF: damaged files
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("delta", [16, -8])
def test_glb_buffer_length_must_match_bin_chunk(tmp_path, delta):
    doc, binary = mesh_doc()
    doc["buffers"][0]["byteLength"] = len(binary) + delta
    with pytest.raises(BufferMismatchError, match="buffer 0 declares"):
        load_asset(write_glb(tmp_path, doc, binary))


@pytest.mark.parametrize("delta", [1, -1])
def test_external_buffer_length_must_match_file(tmp_path, delta):
    doc, binary = mesh_doc()
    doc["buffers"][0]["byteLength"] = len(binary) + delta
    with pytest.raises(BufferMismatchError, match="'item.bin' holds"):
        load_asset(write_gltf(tmp_path, doc, binary))


def test_accessor_past_the_end(tmp_path):
    doc, binary = mesh_doc()
    doc["accessors"][0]["count"] = 9  # 8 positions in the view
    with pytest.raises(BufferMismatchError, match=r"accessor 0 \(mesh 0 primitive 0 POSITION\) needs"):
        load_asset(write_glb(tmp_path, doc, binary))


def test_buffer_view_past_the_buffer(tmp_path):
    doc, binary = mesh_doc()
    doc["bufferViews"][1]["byteLength"] += 64
    with pytest.raises(BufferMismatchError, match="bufferView 1 .* runs past the end of buffer 0"):
        load_asset(write_glb(tmp_path, doc, binary))


def test_index_out_of_range(tmp_path):
    faces = CUBE_FACES.copy()
    faces[3, 1] = 99
    doc, binary = mesh_doc(faces=faces)
    with pytest.raises(BufferMismatchError, match="refers to vertex 99 but the primitive has only 8"):
        load_asset(write_glb(tmp_path, doc, binary))


def test_truncated_glb(tmp_path):
    doc, binary = mesh_doc()
    path = tmp_path / "item.glb"
    path.write_bytes(pack_glb(doc, binary)[:-20])
    with pytest.raises(UnreadableFileError, match="truncated"):
        load_asset(path)


def test_glb_chunk_length_past_the_end(tmp_path):
    doc, binary = mesh_doc()
    data = bytearray(pack_glb(doc, binary))
    json_len = struct.unpack_from("<I", data, 12)[0]
    struct.pack_into("<I", data, 20 + json_len, 10_000)  # BIN chunk length
    path = tmp_path / "item.glb"
    path.write_bytes(bytes(data))
    with pytest.raises(UnreadableFileError, match="chunk 1 declares 10,000 bytes"):
        load_asset(path)


def test_bad_glb_magic_and_version(tmp_path):
    doc, binary = mesh_doc()
    data = pack_glb(doc, binary)
    (tmp_path / "a.glb").write_bytes(b"GLTF" + data[4:])
    with pytest.raises(UnreadableFileError, match="does not start with 'glTF'"):
        load_asset(tmp_path / "a.glb")
    (tmp_path / "b.glb").write_bytes(data[:4] + struct.pack("<I", 1) + data[8:])
    with pytest.raises(UnreadableFileError, match="only glTF 2.0"):
        load_asset(tmp_path / "b.glb")
    (tmp_path / "c.glb").write_text(json.dumps(doc))
    with pytest.raises(UnreadableFileError, match="rename it to .gltf"):
        load_asset(tmp_path / "c.glb")


def test_non_json_gltf(tmp_path):
    (tmp_path / "item.gltf").write_text("this is { not json")
    with pytest.raises(UnreadableFileError, match="not valid glTF JSON"):
        load_asset(tmp_path / "item.gltf")
    (tmp_path / "v1.gltf").write_text(json.dumps({"asset": {"version": "1.0"}}))
    with pytest.raises(UnsupportedFormatError, match="only glTF 2.0"):
        load_asset(tmp_path / "v1.gltf")


def test_missing_bin_is_unreadable(tmp_path):
    doc, _ = mesh_doc()
    with pytest.raises(UnreadableFileError, match="'item.bin' is missing"):
        load_asset(write_gltf(tmp_path, doc, None))


@pytest.mark.parametrize(
    "mutate",
    [
        lambda d: d.update(accessors=5),
        lambda d: d["accessors"][0].update(componentType="float"),
        lambda d: d["accessors"][0].update(count=-3),
        lambda d: d["accessors"][0].update(bufferView=42),
        lambda d: d["bufferViews"][0].update(byteStride=2),
        lambda d: d["nodes"][0].update(children=[0]),
        lambda d: d["nodes"][0].update(matrix=[1, 2]),
        lambda d: d["nodes"][0].update(rotation=["a", 0, 0, 1]),
        lambda d: d["meshes"][0]["primitives"][0].update(material=3),
        lambda d: d["meshes"][0]["primitives"][0].update(mode=9),
        lambda d: d.update(scene=7),
        lambda d: d["meshes"][0].update(primitives={"a": 1}),
        lambda d: d["buffers"][0].update(byteLength="big"),
    ],
)
def test_malformed_documents_raise_asset_errors(tmp_path, mutate):
    doc, binary = mesh_doc()
    mutate(doc)
    with pytest.raises(UnreadableFileError, match="not a valid glTF"):
        load_asset(write_glb(tmp_path, doc, binary))


def test_points_only_is_not_a_mesh(tmp_path):
    doc, binary = mesh_doc(faces=None, mode=0)
    with pytest.raises(NotAMeshError, match="only 1 points"):
        load_asset(write_glb(tmp_path, doc, binary))


def test_lines_are_skipped_beside_triangles(tmp_path):
    doc, binary = mesh_doc()
    prim = doc["meshes"][0]["primitives"][0]
    doc["meshes"][0]["primitives"].append(dict(prim, mode=1))
    asset = load_asset(write_glb(tmp_path, doc, binary))
    assert len(asset.parts) == 1 and "skipped 1 lines" in asset.warnings[0]


def test_zero_faces_is_empty(tmp_path):
    doc, binary = mesh_doc(CUBE_POSITIONS[:2], None, mode=5)  # a strip of 2 vertices: no triangle
    asset = load_asset(write_glb(tmp_path, doc, binary))
    with pytest.raises(EmptyMeshError, match="has no faces"):
        validate_and_repair(asset, ImportLimits())


def test_nan_positions(tmp_path):
    pos = CUBE_POSITIONS.copy()
    pos[3] = np.nan
    pos[5, 0] = np.inf
    doc, binary = mesh_doc(pos)
    with pytest.raises(BadCoordinatesError, match="2 of 8 vertices have NaN or infinite"):
        loaded(write_glb(tmp_path, doc, binary))


def test_degenerate_and_duplicate_faces_are_repaired(tmp_path):
    pos = np.concatenate([CUBE_POSITIONS, [[0.5, 0.5, 0.0]]]).astype(np.float32)  # 8: on the 6-7 edge
    extra = np.array([[0, 0, 1], [6, 8, 7], [3, 1, 0], [1, 3, 0], [0, 1, 3]])  # 2 degenerate, 3 duplicates
    doc, binary = mesh_doc(pos, np.concatenate([CUBE_FACES, extra]))
    asset = loaded(write_glb(tmp_path, doc, binary))
    assert asset.triangle_count == 12 and asset.vertex_count == 8  # the unused vertex 8 is dropped
    assert "removed 2 degenerate faces" in asset.warnings[0]
    assert "removed 3 duplicate faces" in asset.warnings[1]


def test_only_broken_faces_is_empty():
    pos = np.zeros((3, 3))
    asset = RawAsset(parts=[RawPart(pos, np.array([[0, 1, 2]]))], materials=[RawMaterial("m")], files=["flat.obj"])
    with pytest.raises(EmptyMeshError, match="all 1 faces are broken"):
        validate_and_repair(asset, ImportLimits())


def test_faces_referencing_missing_vertices():
    asset = RawAsset(
        parts=[RawPart(CUBE_POSITIONS.astype(float), np.array([[0, 1, 12]]), name="body")],
        materials=[RawMaterial("m")],
        files=["x.ply"],
    )
    with pytest.raises(BufferMismatchError, match="use vertex 12 but it has only 8 vertices"):
        validate_and_repair(asset, ImportLimits())


def grid_doc(n: int) -> tuple[dict, bytes]:
    """An n x n quad grid (2 n^2 triangles) with UVs: a 1 m square in the xy plane."""
    u, v = np.meshgrid(np.linspace(0, 1, n + 1), np.linspace(0, 1, n + 1))
    pos = np.stack([u.ravel(), v.ravel(), 0.05 * np.sin(6 * u.ravel())], axis=1)
    i = np.arange(n)
    a = (i[:, None] * (n + 1) + i[None, :]).ravel()
    faces = np.concatenate([np.stack([a, a + 1, a + n + 2], 1), np.stack([a, a + n + 2, a + n + 1], 1)])
    return mesh_doc(pos, faces, uvs=np.stack([u.ravel(), 1 - v.ravel()], axis=1))


def test_triangle_budget_and_decimation(tmp_path):
    doc, binary = grid_doc(40)  # 3200 triangles
    path = write_glb(tmp_path, doc, binary)
    with pytest.raises(TooManyTrianglesError, match="3,200 triangles, over the real-time budget of 500") as err:
        loaded(path, ImportLimits(max_triangles=500))
    assert "re-run with --decimate to reduce it" in err.value.message
    asset = loaded(path, ImportLimits(max_triangles=500, allow_decimate=True))
    assert 100 < asset.triangle_count <= 500
    part = asset.parts[0]
    assert part.uvs.shape == (len(part.positions), 2) and part.normals.shape == part.positions.shape
    assert np.isfinite(part.uvs).all() and part.uvs.min() >= 0 and part.uvs.max() <= 1
    lo, hi = asset.bounds()
    assert np.allclose(hi[:2] - lo[:2], 1.0, atol=0.1)  # still the same square
    assert any("decimated from 3,200 to" in w for w in asset.warnings)


def test_decimation_splits_the_budget_between_parts():
    doc_a, _ = grid_doc(1)
    parts = []
    for k, n in enumerate((30, 10)):
        u, v = np.meshgrid(np.linspace(0, 1, n + 1), np.linspace(0, 1, n + 1))
        pos = np.stack([u.ravel(), v.ravel(), np.full(u.size, float(k))], axis=1)
        i = np.arange(n)
        a = (i[:, None] * (n + 1) + i[None, :]).ravel()
        faces = np.concatenate([np.stack([a, a + 1, a + n + 2], 1), np.stack([a, a + n + 2, a + n + 1], 1)])
        parts.append(RawPart(pos, faces, name=f"p{k}"))
    asset = RawAsset(parts=parts, materials=[RawMaterial("m")], variants={"x": [0, 0]}, files=["two.obj"])
    out = validate_and_repair(asset, ImportLimits(max_triangles=400, allow_decimate=True))
    assert out.triangle_count <= 400 and len(out.parts) == 2 and out.variants == {"x": [0, 0]}
    assert len(out.parts[0].faces) > len(out.parts[1].faces)  # 1800 vs 200 before: 360 vs 40 allowed


def test_oversized_files(tmp_path):
    doc, binary = mesh_doc()
    path = write_glb(tmp_path, doc, binary)
    with pytest.raises(FileTooLargeError, match="over the limit of 100 bytes") as err:
        load_asset(path, ImportLimits(max_file_bytes=100))
    assert "decimate it in your 3D tool" in err.value.message and "item.glb" in err.value.message
    # a referenced file is held to the same limit
    path = write_gltf(tmp_path, doc, binary + bytes(4000), name="big.gltf")
    doc["buffers"][0]["byteLength"] = len(binary) + 4000
    path.write_text(json.dumps(doc))
    with pytest.raises(FileTooLargeError, match="buffer 0 file 'item.bin' is 4,"):
        load_asset(path, ImportLimits(max_file_bytes=4000))


def test_missing_texture_is_a_warning(tmp_path):
    doc, binary = textured_doc({"uri": "missing.png"})
    asset = load_asset(write_glb(tmp_path, doc, binary))
    assert asset.materials[0].base_texture is None
    assert "texture 'missing.png' is missing; using the material colour" in asset.warnings


@pytest.mark.parametrize(
    ("content", "phrase"),
    [
        (b"\x89PNG\r\n\x1a\n broken", "could not be decoded"),
        (b"BM" + bytes(100), "not a PNG, JPEG or WebP"),
        # a PNG header announcing 40000 x 40000 pixels: refused before decoding
        (b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + b"IHDR" + struct.pack(">II", 40000, 40000), "40000x40000"),
    ],
)
def test_unusable_texture_is_a_warning(tmp_path, content, phrase):
    doc, binary = textured_doc({"uri": "t.png"})
    (tmp_path / "t.png").write_bytes(content)
    asset = load_asset(write_glb(tmp_path, doc, binary))
    warning = next(w for w in asset.warnings if "texture" in w)
    assert asset.materials[0].base_texture is None and phrase in warning
    assert "using the material colour" in warning


def test_webp_texture(tmp_path):
    ok, buf = cv2.imencode(".webp", np.full((8, 8, 3), (0, 255, 0), np.uint8))
    if not ok:
        pytest.skip("this OpenCV has no WebP encoder")
    doc, binary = textured_doc({"uri": "t.webp"})
    (tmp_path / "t.webp").write_bytes(buf.tobytes())
    tex = load_asset(write_glb(tmp_path, doc, binary)).materials[0].base_texture
    assert tex.shape == (8, 8, 4) and abs(int(tex[4, 4, 1]) - 255) < 8


def test_unsupported_suffixes(tmp_path):
    with pytest.raises(UnsupportedFormatError, match=r"'\.fbx' files are not supported.*\.glb, \.gltf, \.obj"):
        load_asset(tmp_path / "jacket.FBX")
    with pytest.raises(UnsupportedFormatError, match="MakeHuman clothes importer"):
        load_asset(tmp_path / "shirt.mhclo")
    (tmp_path / "CUBE.GLB").write_bytes(pack_glb(*mesh_doc()))
    assert load_asset(tmp_path / "CUBE.GLB").triangle_count == 12  # suffixes are case-insensitive
    with pytest.raises(UnreadableFileError, match="does not exist"):
        load_asset(tmp_path / "nothing.obj")


# ---------------------------------------------------------------------------------------------
# OBJ + MTL
# ---------------------------------------------------------------------------------------------

QUAD_OBJ = """# a quad and a triangle, negative indices
mtllib shop.mtl
v 0 0 0
v 1 0 0
v 1 1 0
v 0 1 0
vt 0 0
vt 1 0
vt 1 1
vt 0 1
vn 0 0 1
usemtl red
f -4/-4/-1 -3/-3/-1 -2/-2/-1 -1/-1/-1
v 2 0 0
usemtl shiny
f 2/2/1 5/1/1 3/3/1
"""

SHOP_MTL = """newmtl red
Kd 0.5 0 0
d 0.5
Ns 98
map_Kd -s 1 1 1 tex/red.png
newmtl shiny
Kd 1 1 1
Pm 0.75
Pr 0.2
"""


def test_obj_quads_negative_indices_and_mtl(tmp_path):
    (tmp_path / "item.obj").write_text(QUAD_OBJ)
    (tmp_path / "shop.mtl").write_text(SHOP_MTL)
    (tmp_path / "tex").mkdir()
    (tmp_path / "tex" / "red.png").write_bytes(png_bytes((200, 10, 10)))
    asset = loaded(tmp_path / "item.obj")
    assert asset.warnings == [] and asset.units_hint is None and asset.up_axis_hint is None
    assert [p.name for p in asset.parts] == ["red", "shiny"] and asset.triangle_count == 3
    quad = asset.parts[0]
    assert len(quad.positions) == 4 and len(quad.faces) == 2
    # OBJ v up -> glTF v down: the vertex at uv (0, 0) in OBJ has v = 1
    origin = np.flatnonzero((quad.positions == 0).all(axis=1))[0]
    assert np.allclose(quad.uvs[origin], [0, 1])
    assert np.allclose(quad.normals, [0, 0, 1])
    red, shiny = asset.materials
    assert np.allclose(red.base_color, [0.2140, 0, 0, 0.5], atol=1e-3)  # sRGB 0.5 -> linear
    assert red.roughness == pytest.approx(np.sqrt(2 / 100)) and red.texture_source == "tex/red.png"
    assert red.base_texture[0, 0].tolist() == [200, 10, 10, 255]
    assert shiny.metallic == 0.75 and shiny.roughness == pytest.approx(0.2)
    assert [Path(f).name for f in asset.files] == ["item.obj", "shop.mtl", "red.png"]


def test_obj_splits_vertices_per_uv(tmp_path):
    text = "v 0 0 0\nv 1 0 0\nv 0 1 0\nv 1 1 0\nvt 0 0\nvt 1 0\nvt 0 1\nvt 0.5 0.5\n"
    text += "f 1/1 2/2 3/3\nf 2/4 4/2 3/3\n"  # vertex 2 carries two different UVs
    (tmp_path / "seam.obj").write_text(text)
    part = load_asset(tmp_path / "seam.obj").parts[0]
    assert len(part.positions) == 5 and part.normals is None
    assert (part.positions[:, :2] == [1, 0]).all(axis=1).sum() == 2


def test_obj_missing_mtl_and_texture_are_warnings(tmp_path):
    (tmp_path / "a.obj").write_text("mtllib gone.mtl\nusemtl x\nv 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 3\n")
    asset = load_asset(tmp_path / "a.obj")
    assert "material library 'gone.mtl' is missing; using plain grey materials" in asset.warnings
    (tmp_path / "b.mtl").write_text("newmtl x\nmap_Kd nowhere.jpg\n")
    (tmp_path / "b.obj").write_text("mtllib b.mtl\nusemtl x\nusemtl y\nv 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 3\n")
    asset = load_asset(tmp_path / "b.obj")
    assert asset.warnings == ["material 'y' is not defined in the .mtl; using plain grey"]
    (tmp_path / "c.obj").write_text("mtllib b.mtl\nusemtl x\nv 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 3\n")
    asset = load_asset(tmp_path / "c.obj")
    assert asset.warnings == ["texture 'nowhere.jpg' is missing; using the material colour"]
    assert asset.materials[0].base_texture is None


@pytest.mark.parametrize(
    ("mtl_line", "map_line", "phrase"),
    [
        ("mtllib ../evil.mtl", "", "'..' leads out"),
        ("mtllib /etc/evil.mtl", "", "absolute path"),
        ("mtllib ok.mtl", "map_Kd C:\\Users\\me\\tex.png", "absolute Windows path"),
        ("mtllib ok.mtl", "map_Kd ..\\..\\tex.png", "'..' leads out"),
        ("mtllib ok.mtl", "map_Kd http://x.org/t.png", "'http:' scheme"),
    ],
)
def test_obj_unsafe_references(tmp_path, mtl_line, map_line, phrase):
    (tmp_path / "ok.mtl").write_text(f"newmtl x\n{map_line}\n")
    (tmp_path / "a.obj").write_text(f"{mtl_line}\nusemtl x\nv 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 3\n")
    with pytest.raises(UnsafeReferenceError, match=phrase):
        load_asset(tmp_path / "a.obj")


def test_obj_garbage(tmp_path):
    (tmp_path / "a.obj").write_text("Dear shop,\nplease find attached my jacket.\nRegards\n")
    with pytest.raises(UnreadableFileError, match="does not look like an OBJ"):
        load_asset(tmp_path / "a.obj")
    (tmp_path / "b.obj").write_bytes(np.random.default_rng(0).integers(0, 256, 4000, dtype=np.uint8).tobytes())
    with pytest.raises(UnreadableFileError, match="binary file, not a text OBJ"):
        load_asset(tmp_path / "b.obj")
    (tmp_path / "c.obj").write_text("v 0 0 0\nv 1 zero 0\nv 0 1 0\nf 1 2 3\n")
    with pytest.raises(UnreadableFileError, match="line 2: vertex coordinates"):
        load_asset(tmp_path / "c.obj")
    (tmp_path / "d.obj").write_text("v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 three\n")
    with pytest.raises(UnreadableFileError, match="line 4: face corner 'three'"):
        load_asset(tmp_path / "d.obj")


def test_obj_index_out_of_range_and_point_cloud(tmp_path):
    (tmp_path / "a.obj").write_text("v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 3\nf 1 2 -7\n")
    with pytest.raises(BufferMismatchError, match="line 5: a face uses vertex -7 but the file defines only 3"):
        load_asset(tmp_path / "a.obj")
    (tmp_path / "b.obj").write_text("v 0 0 0\nv 1 0 0\nf 1/4 2/1 1/1\n")
    with pytest.raises(BufferMismatchError, match="texture coordinate 4"):
        load_asset(tmp_path / "b.obj")
    (tmp_path / "c.obj").write_text("v 0 0 0\nv 1 0 0\nv 0 1 0\nl 1 2\n")
    with pytest.raises(NotAMeshError, match="no faces"):
        load_asset(tmp_path / "c.obj")


# ---------------------------------------------------------------------------------------------
# PLY and STL
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["ply", "stl", "stl_ascii"])
def test_trimesh_cube_round_trip(tmp_path, fmt):
    path = tmp_path / f"cube.{fmt[:3]}"
    trimesh.creation.box(extents=(0.2, 0.4, 0.6)).export(path, file_type=fmt)
    asset = loaded(path)
    assert asset.source_format == fmt[:3] and asset.triangle_count == 12
    assert asset.vertex_count == 8  # STL's per-triangle vertices merged
    lo, hi = asset.bounds()
    assert np.allclose(hi - lo, [0.2, 0.4, 0.6])


def test_ply_vertex_colours_become_the_base_colour(tmp_path):
    mesh = trimesh.creation.box()
    mesh.visual.vertex_colors = np.tile([255, 0, 0, 255], (len(mesh.vertices), 1))
    mesh.export(tmp_path / "red.ply")
    mat = load_asset(tmp_path / "red.ply").materials[0]
    assert np.allclose(mat.base_color, [1, 0, 0, 1])


def test_ply_point_cloud_is_not_a_mesh(tmp_path):
    trimesh.PointCloud(np.random.default_rng(1).random((20, 3))).export(tmp_path / "scan.ply")
    with pytest.raises(NotAMeshError, match="20 points but no faces"):
        load_asset(tmp_path / "scan.ply")


@pytest.mark.parametrize("suffix", [".ply", ".stl"])
def test_random_bytes_are_unreadable(tmp_path, suffix):
    path = tmp_path / f"noise{suffix}"
    path.write_bytes(np.random.default_rng(2).integers(0, 256, 3000, dtype=np.uint8).tobytes())
    with pytest.raises(UnreadableFileError, match=f"noise{suffix}"):
        load_asset(path)
    # a real header with a broken body
    if suffix == ".ply":
        path.write_bytes(b"ply\nformat binary_little_endian 1.0\nelement vertex 100\nproperty float x\nend_header\n")
        with pytest.raises(UnreadableFileError, match="could not be read as PLY"):
            load_asset(path)


# ---------------------------------------------------------------------------------------------
# validate_and_repair details
# ---------------------------------------------------------------------------------------------


def test_validate_returns_a_copy_and_keeps_old_warnings():
    pos = CUBE_POSITIONS.astype(np.float64)
    faces = np.concatenate([CUBE_FACES, CUBE_FACES[:1]]).astype(np.int64)
    asset = RawAsset(parts=[RawPart(pos, faces)], materials=[RawMaterial("m")], warnings=["earlier"])
    out = validate_and_repair(asset, ImportLimits())
    assert out.warnings == ["earlier", "removed 1 duplicate faces (the same corners as another face)"]
    assert asset.warnings == ["earlier"] and len(asset.parts[0].faces) == 13  # input untouched
    assert out.parts[0].positions is not asset.parts[0].positions


def test_vertex_normals_are_area_weighted():
    pos = np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 10]], float)
    faces = np.array([[0, 1, 2], [0, 3, 1]])  # a small face in xy (normal +z), a big one in xz (normal +y)
    n = vertex_normals(pos, faces)
    assert np.allclose(n[2], [0, 0, 1]) and np.allclose(n[3], [0, 1, 0])
    assert n[0][1] > 0.99 and n[0][2] > 0.05 and np.allclose(np.linalg.norm(n, axis=1), 1)


def damaged_copies(data: bytes, n: int, seed: int) -> list[bytes]:
    """``n`` damaged versions of a file: cut short, bytes overwritten, bytes inserted."""
    rng = np.random.default_rng(seed)
    out = []
    for k in range(n):
        cut = bytearray(data)
        at = int(rng.integers(0, len(data)))
        if k % 3 == 0:
            del cut[at:]
        elif k % 3 == 1:
            cut[at : at + 4] = rng.integers(0, 256, 4, dtype=np.uint8).tobytes()
        else:
            cut[at:at] = rng.choice([b"\xff\xff\xff\x7f", b"-1e309 ", b"nan ", b"\x00" * 8])
        out.append(bytes(cut))
    return out


@pytest.mark.filterwarnings("ignore::RuntimeWarning", "ignore::DeprecationWarning")  # trimesh on damaged text
def test_damaged_files_are_loaded_or_refused_as_asset_errors_only(tmp_path):
    """The import pipeline and the CLI catch AssetError: damage anywhere in a GLB, OBJ, PLY
    or STL must end in an asset or in an AssetError (with a message), never another exception."""
    cube = trimesh.Trimesh(CUBE_POSITIONS, CUBE_FACES, process=False)
    doc, binary = mesh_doc()
    originals = {
        "item.glb": pack_glb(doc, binary),
        "item.obj": cube.export(file_type="obj").encode(),
        "item.ply": cube.export(file_type="ply", encoding="ascii"),
        "item.stl": cube.export(file_type="stl"),
    }
    outcomes, escaped = {"loaded": 0, "refused": 0}, []
    for name, data in originals.items():
        loaded(_write(tmp_path / name, data))  # the undamaged file loads
        for k, damaged in enumerate(damaged_copies(data, 40, seed=len(name) + sum(data[:64]))):
            path = _write(tmp_path / name, damaged)
            try:
                loaded(path)
                outcomes["loaded"] += 1
            except AssetError as exc:
                assert str(exc).strip(), (name, k)
                outcomes["refused"] += 1
            except Exception as exc:  # noqa: BLE001 (collected and reported below)
                escaped.append(f"{name} #{k}: {type(exc).__name__}: {exc}")
    assert not escaped, escaped[:5]
    assert outcomes["refused"] >= 40, outcomes  # the damage was real


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def test_metallic_roughness_map_sets_the_metalness_not_the_default_factor():
    """The Khronos sneaker says metallicFactor 1 with a metallic-roughness map that is mostly
    black in blue: a shoe of cloth and rubber, not of polished metal."""
    asset = load_asset(shared_file("gltf_sample_assets/MaterialsVariantsShoe/MaterialsVariantsShoe.gltf"))
    for m in asset.materials:
        assert 0.05 < m.metallic < 0.4 and 0.5 < m.roughness < 0.9, (m.metallic, m.roughness)
