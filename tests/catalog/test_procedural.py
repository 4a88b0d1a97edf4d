"""Procedural jewelry: the .glb files are spec-correct, the right size, outward-facing, closed,
within budget, deterministic, and the chain's links really interlock."""

from __future__ import annotations

import json
import struct

import numpy as np
import pytest
import trimesh

from tryon.catalog import procedural
from tryon.catalog.gltf_writer import GlbMaterial, GlbPart, glb_bytes, write_glb

MM = 1e-3
IDS = [item.id for item in procedural.ITEMS]
VARIANTS = ["gold", "silver", "rose-gold"]
BUDGET = {"chain-necklace": 40_000, "hoop-earring": 5_000, "bangle": 5_000, "ring": 5_000}

_COMPONENTS = {5126: np.float32, 5125: np.uint32, 5123: np.uint16, 5121: np.uint8}
_WIDTH = {"SCALAR": 1, "VEC2": 2, "VEC3": 3, "VEC4": 4}


# -- an independent GLB reader ----------------------------------------------------------------


def parse_glb(data: bytes) -> tuple[dict, bytes]:
    """Check the GLB container (header, chunk order, lengths, padding); the JSON and BIN."""
    magic, version, total = struct.unpack_from("<4sII", data, 0)
    assert magic == b"glTF" and version == 2 and total == len(data)
    json_len, json_type = struct.unpack_from("<II", data, 12)
    assert json_type == 0x4E4F534A and json_len % 4 == 0
    doc = json.loads(data[20 : 20 + json_len].decode("utf-8"))
    off = 20 + json_len
    bin_len, bin_type = struct.unpack_from("<II", data, off)
    assert bin_type == 0x004E4942 and bin_len % 4 == 0
    assert off + 8 + bin_len == total  # nothing after the BIN chunk
    binary = data[off + 8 : off + 8 + bin_len]
    assert len(doc["buffers"]) == 1 and "uri" not in doc["buffers"][0]
    assert doc["buffers"][0]["byteLength"] <= bin_len < doc["buffers"][0]["byteLength"] + 4
    return doc, binary


def accessor(doc: dict, binary: bytes, index: int) -> np.ndarray:
    acc = doc["accessors"][index]
    view = doc["bufferViews"][acc["bufferView"]]
    dtype = np.dtype(_COMPONENTS[acc["componentType"]])
    width = _WIDTH[acc["type"]]
    start = view.get("byteOffset", 0) + acc.get("byteOffset", 0)
    assert "byteStride" not in view or view["byteStride"] == dtype.itemsize * width
    assert start + acc["count"] * width * dtype.itemsize <= view.get("byteOffset", 0) + view["byteLength"]
    arr = np.frombuffer(binary, dtype, count=acc["count"] * width, offset=start)
    return arr.reshape(acc["count"], width) if width > 1 else arr


def primitives(doc: dict, binary: bytes) -> list[dict]:
    """Every primitive's name, positions, normals, faces, material and variant mappings."""
    out = []
    for mesh in doc["meshes"]:
        for prim in mesh["primitives"]:
            attr = prim["attributes"]
            out.append(
                {
                    "name": prim.get("extras", {}).get("name", ""),
                    "positions": accessor(doc, binary, attr["POSITION"]).astype(np.float64),
                    "normals": accessor(doc, binary, attr["NORMAL"]).astype(np.float64),
                    "faces": accessor(doc, binary, prim["indices"]).reshape(-1, 3).astype(np.int64),
                    "material": prim["material"],
                    "mappings": prim.get("extensions", {}).get("KHR_materials_variants", {}).get("mappings", []),
                }
            )
    return out


# -- fixtures -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    out = tmp_path_factory.mktemp("jewelry")
    paths = procedural.generate_all(out)
    assert [p.name for p in paths] == [f"{i}.glb" for i in IDS]
    return out


@pytest.fixture(scope="module")
def files(folder):
    """id -> (raw bytes, JSON, BIN, primitives by name)."""
    out = {}
    for item_id in IDS:
        data = (folder / f"{item_id}.glb").read_bytes()
        doc, binary = parse_glb(data)
        out[item_id] = (data, doc, binary, {p["name"]: p for p in primitives(doc, binary)})
    return out


def _radial(p: np.ndarray, axis: int) -> np.ndarray:
    """Distance from the coordinate axis ``axis`` (0 = x, 1 = y) through the origin."""
    return np.linalg.norm(np.delete(p, axis, axis=1), axis=1)


# -- the file format ----------------------------------------------------------------------


@pytest.mark.parametrize("item_id", IDS)
def test_glb_is_spec_correct(files, item_id):
    _, doc, binary, prims = files[item_id]
    assert doc["asset"]["version"] == "2.0" and doc["asset"]["generator"] == "tryon"
    assert doc["scenes"][doc["scene"]]["nodes"] == [0] and doc["nodes"][0]["mesh"] == 0
    buffer_len = doc["buffers"][0]["byteLength"]
    for view in doc["bufferViews"]:
        assert view["byteOffset"] % 4 == 0 and view["byteOffset"] + view["byteLength"] <= buffer_len
        assert view["target"] in (34962, 34963)
    for mesh in doc["meshes"]:
        for prim in mesh["primitives"]:
            assert prim.get("mode", 4) == 4
            pos_acc = doc["accessors"][prim["attributes"]["POSITION"]]
            assert pos_acc["componentType"] == 5126 and pos_acc["type"] == "VEC3"
            pos = accessor(doc, binary, prim["attributes"]["POSITION"])
            # min/max are required for POSITION and must be the data's own bounds
            assert pos_acc["min"] == [float(x) for x in pos.min(0)]
            assert pos_acc["max"] == [float(x) for x in pos.max(0)]
            nrm = accessor(doc, binary, prim["attributes"]["NORMAL"])
            assert np.allclose(np.linalg.norm(nrm, axis=1), 1.0, atol=1e-5)
            idx_acc = doc["accessors"][prim["indices"]]
            assert idx_acc["componentType"] == 5125 and idx_acc["type"] == "SCALAR" and idx_acc["count"] % 3 == 0
            idx = accessor(doc, binary, prim["indices"])
            assert idx.max() < pos_acc["count"]
            assert 0 <= prim["material"] < len(doc["materials"])
    for mat in doc["materials"]:
        pbr = mat["pbrMetallicRoughness"]
        assert len(pbr["baseColorFactor"]) == 4 and all(0 <= c <= 1 for c in pbr["baseColorFactor"])
        assert 0 <= pbr["metallicFactor"] <= 1 and 0 <= pbr["roughnessFactor"] <= 1
        assert isinstance(mat["doubleSided"], bool)
    assert len(prims) == sum(len(m["primitives"]) for m in doc["meshes"])


@pytest.mark.parametrize("item_id", IDS)
def test_colourways_are_variants(files, item_id):
    _, doc, _, prims = files[item_id]
    assert "KHR_materials_variants" in doc["extensionsUsed"]
    assert "KHR_materials_variants" not in doc.get("extensionsRequired", [])
    names = [v["name"] for v in doc["extensions"]["KHR_materials_variants"]["variants"]]
    assert names == VARIANTS
    mats = doc["materials"]
    metals = {v: mats[i]["pbrMetallicRoughness"] for i, v in enumerate(VARIANTS)}
    assert [mats[i]["name"] for i in range(3)] == VARIANTS
    assert np.allclose(metals["gold"]["baseColorFactor"], [1.0, 0.766, 0.336, 1.0])
    assert np.allclose(metals["silver"]["baseColorFactor"], [0.972, 0.960, 0.915, 1.0])
    assert np.allclose(metals["rose-gold"]["baseColorFactor"], [0.95, 0.64, 0.54, 1.0])
    for pbr in metals.values():
        assert pbr["metallicFactor"] == 1.0 and 0.2 <= pbr["roughnessFactor"] <= 0.35
    for prim in prims.values():
        mapped = sorted(v for m in prim["mappings"] for v in m["variants"])
        assert mapped == [0, 1, 2]  # every variant, exactly once, on every primitive
        chosen = {v: m["material"] for m in prim["mappings"] for v in m["variants"]}
        if mats[prim["material"]]["pbrMetallicRoughness"]["metallicFactor"] == 1.0:
            assert prim["material"] == 0  # metal parts default to gold
            assert chosen == {0: 0, 1: 1, 2: 2}
        else:  # stones stay stones
            assert set(chosen.values()) == {prim["material"]}
            assert mats[prim["material"]]["pbrMetallicRoughness"]["roughnessFactor"] < 0.2


@pytest.mark.parametrize("item_id", IDS)
def test_trimesh_loads_every_triangle(folder, files, item_id):
    scene = trimesh.load(folder / f"{item_id}.glb", force="scene")
    ours = sum(len(p["faces"]) for p in files[item_id][3].values())
    assert sum(len(g.faces) for g in scene.geometry.values()) == ours  # none dropped as broken
    assert len(scene.geometry) == len(files[item_id][3])


def test_writing_is_deterministic(folder, tmp_path):
    again = procedural.generate_all(tmp_path)
    for path in again:
        assert path.read_bytes() == (folder / path.name).read_bytes()
    sources = (tmp_path / "SOURCES.md").read_text()
    assert "Apache-2.0" in sources and "generated by tryon" in sources
    assert all(f"{i}.glb" in sources for i in IDS)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([f"{i}.glb" for i in IDS] + ["SOURCES.md"])


def test_loader_reads_the_variants(folder):
    formats = pytest.importorskip("tryon.catalog.formats")
    for item_id in IDS:
        asset = formats.load_asset(folder / f"{item_id}.glb")
        assert set(asset.variants) == set(VARIANTS), item_id
        assert all(len(m) == len(asset.parts) for m in asset.variants.values())
        assert asset.triangle_count == sum(len(p.faces) for p in procedural.ITEMS[IDS.index(item_id)].build()[0])


# -- the meshes ---------------------------------------------------------------------------


@pytest.mark.parametrize("item_id", IDS)
def test_meshes_are_clean_closed_and_outward(files, item_id):
    prims = files[item_id][3]
    assert sum(len(p["faces"]) for p in prims.values()) <= BUDGET[item_id]
    for name, p in prims.items():
        pos, nrm, faces = p["positions"], p["normals"], p["faces"]
        tri = pos[faces]
        fn = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
        area = np.linalg.norm(fn, axis=1) / 2
        assert area.min() > 1e-9, (name, area.min())  # no degenerate faces (1e-9 m^2 = 0.001 mm^2)
        assert len(np.unique(np.sort(faces, axis=1), axis=0)) == len(faces), name  # no duplicates
        # counter-clockwise seen from outside: face normals agree with the vertex normals
        agree = np.einsum("fk,fk->f", fn, nrm[faces].sum(axis=1)) > 0
        assert agree.all(), (name, (~agree).sum())
        # closed: on positions (flat-shaded stones repeat vertices), every directed edge once
        # and its reverse once
        _, weld = np.unique(pos.round(9), axis=0, return_inverse=True)
        f = weld.reshape(-1)[faces]
        edges = np.concatenate([f[:, [0, 1]], f[:, [1, 2]], f[:, [2, 0]]])
        keys = set(map(tuple, edges.tolist()))
        assert len(keys) == len(edges), name
        assert all((b, a) in keys for a, b in keys), name
        volume = np.einsum("fk,fk->f", tri[:, 0], np.cross(tri[:, 1], tri[:, 2])).sum() / 6
        assert volume > 0, name


def test_ring_dimensions(files):
    prims = files["ring"][3]
    band = prims["band"]["positions"]
    r = _radial(band, axis=1)  # the axis is y
    assert abs(2 * r.min() - 17.3 * MM) < 0.3 * MM  # US size 7
    assert abs((r.max() - r.min()) - 1.6 * MM) < 0.05 * MM  # thickness
    assert abs(np.ptp(band[:, 1]) - 2.5 * MM) < 0.05 * MM  # width
    assert np.allclose(band.mean(0), 0, atol=1e-4)
    # the stone is on top (+z), outside the band, and not metal
    stone = prims["stone"]["positions"]
    assert stone[:, 2].min() > r.min() and stone[:, 2].max() > r.max()
    assert np.abs(stone[:, :2]).max() < 2.5 * MM
    assert prims["stone"]["material"] == 3
    _torus_normals_outward(prims["band"], centre=np.zeros(3), axis=np.array([0.0, 1.0, 0.0]), radius=r.mean())


def test_bangle_dimensions(files):
    p = files["bangle"][3]["bangle"]
    r = _radial(p["positions"], axis=1)
    assert abs(2 * r.min() - 62 * MM) < 0.5 * MM
    assert abs((r.max() - r.min()) - 4 * MM) < 0.1 * MM
    assert abs(np.ptp(p["positions"][:, 1]) - 4 * MM) < 0.1 * MM
    _torus_normals_outward(p, centre=np.zeros(3), axis=np.array([0.0, 1.0, 0.0]), radius=33 * MM)


def test_hoop_dimensions(files):
    p = files["hoop-earring"][3]["hoop"]
    pos = p["positions"]
    assert abs(np.ptp(pos[:, 1]) - 25 * MM) < 0.2 * MM  # outer diameter, hanging along y
    assert abs(np.ptp(pos[:, 2]) - 25 * MM) < 0.2 * MM
    assert abs(np.ptp(pos[:, 0]) - 2 * MM) < 0.05 * MM  # the wire; the axis is x
    # the piercing point (top of the wire's centre line) is the origin; the hoop hangs below
    assert abs(pos[:, 1].max() - 1 * MM) < 0.05 * MM and pos[:, 1].min() < -23 * MM
    centre = np.array([0.0, -11.5 * MM, 0.0])
    _torus_normals_outward(p, centre=centre, axis=np.array([1.0, 0.0, 0.0]), radius=11.5 * MM)


def _torus_normals_outward(prim: dict, centre: np.ndarray, axis: np.ndarray, radius: float) -> None:
    """dot(normal, vertex - closest point on the centre circle) > 0 for > 99 % of vertices."""
    d = prim["positions"] - centre
    in_plane = d - np.outer(d @ axis, axis)
    closest = radius * in_plane / np.linalg.norm(in_plane, axis=1, keepdims=True)
    assert (np.einsum("vk,vk->v", prim["normals"], d - closest) > 0).mean() > 0.99


def _link_centre_lines(prims: dict) -> np.ndarray:
    """(links, LINK_AROUND, 3): each link's centre line, the mean of each ring round its wire."""
    pos = prims["chain"]["positions"]
    return pos.reshape(-1, procedural.LINK_AROUND, procedural.LINK_WIRE, 3).mean(axis=2)


def test_necklace_shape(files):
    prims = files["chain-necklace"][3]
    lines = _link_centre_lines(prims)
    centres = lines.mean(axis=1)
    perimeter = np.linalg.norm(np.roll(centres, -1, axis=0) - centres, axis=1).sum()
    assert 0.40 < perimeter < 0.50
    assert len(centres) % 2 == 0 and len(centres) > 100
    # each link: ~6 mm long, ~1.2 mm wire
    link = prims["chain"]["positions"][: procedural.LINK_AROUND * procedural.LINK_WIRE]
    extent = np.linalg.norm(link[:, None] - link[None], axis=-1).max()
    assert 5.5 * MM < extent < 6.5 * MM
    wire = np.linalg.norm(link.reshape(procedural.LINK_AROUND, procedural.LINK_WIRE, 3) - lines[0][:, None], axis=-1)
    assert np.allclose(wire, 0.6 * MM, atol=0.02 * MM)
    # round the neck axis; the back at the nape (y = 0), the front centre lowest
    assert abs(centres[:, 0].mean()) < 1e-3 and 0.11 < np.ptp(centres[:, 0]) < 0.15
    back, front = centres[np.argmin(centres[:, 2])], centres[np.argmax(centres[:, 2])]
    assert abs(centres[:, 1].max()) < 2 * MM and back[2] < -0.04 and back[1] > -5 * MM
    assert front[2] > 0.05 and front[1] < -0.07 and abs(front[0]) < 5 * MM
    assert abs(front[1] - centres[:, 1].min()) < 3 * MM  # the V: the front centre is the lowest point
    # the pendant hangs below the front link
    drop = prims["drop"]["positions"]
    assert drop[:, 1].max() < front[1] and abs(drop[:, 0].mean()) < 1 * MM
    # normals point out of each link's wire
    nrm = prims["chain"]["normals"].reshape(lines.shape[0], procedural.LINK_AROUND, procedural.LINK_WIRE, 3)
    off = prims["chain"]["positions"].reshape(nrm.shape) - lines[:, :, None]
    assert (np.einsum("...k,...k->...", nrm, off) > 0).mean() > 0.99


def _linking_number(a: np.ndarray, b: np.ndarray) -> float:
    """Gauss linking number of two closed polygons (the exact formula of Klenin and
    Langowski, 2000, summed over segment pairs)."""
    p1, p2 = a[:, None], np.roll(a, -1, axis=0)[:, None]
    p3, p4 = b[None], np.roll(b, -1, axis=0)[None]
    r13, r14, r23, r24 = p3 - p1, p4 - p1, p3 - p2, p4 - p2

    def unit(v):
        return v / np.linalg.norm(v, axis=-1, keepdims=True)

    n = [unit(np.cross(r13, r14)), unit(np.cross(r14, r24)), unit(np.cross(r24, r23)), unit(np.cross(r23, r13))]
    omega = sum(np.arcsin(np.clip(np.einsum("...k,...k->...", n[i], n[(i + 1) % 4]), -1, 1)) for i in range(4))
    sign = np.sign(np.einsum("...k,...k->...", np.cross(p4 - p3, p2 - p1), r13))
    return float((omega * sign).sum() / (4 * np.pi))


def test_chain_links_interlock(files):
    prims = files["chain-necklace"][3]
    lines = _link_centre_lines(prims)
    k = len(lines)
    for i in range(k):
        nxt, after = lines[(i + 1) % k], lines[(i + 2) % k]
        assert abs(abs(_linking_number(lines[i], nxt)) - 1) < 1e-3, i  # each link through the next
        assert abs(_linking_number(lines[i], after)) < 1e-3, i
        # touching, not sunk into each other: wire centre lines about a wire apart (1.2 mm)
        gap = np.linalg.norm(lines[i][:, None] - nxt[None], axis=-1).min()
        assert gap > 1.1 * MM, (i, gap)
        assert np.linalg.norm(lines[i][:, None] - after[None], axis=-1).min() > 1.2 * MM
    # the jump ring goes through the front link
    ring = prims["jump-ring"]["positions"].reshape(16, 8, 3).mean(axis=1)
    assert abs(abs(_linking_number(lines[0], ring)) - 1) < 1e-3


# -- the writer ---------------------------------------------------------------------------


def _quad():
    pos = np.array([[0, 0, 0], [1, 0, 0], [1, 1, 0], [0, 1, 0]], np.float32)
    nrm = np.tile(np.array([0, 0, 1], np.float32), (4, 1))
    return pos, nrm, np.array([[0, 1, 2], [0, 2, 3]])


def test_writer_accepts_tuples_dicts_and_uvs(tmp_path):
    pos, nrm, faces = _quad()
    uvs = pos[:, :2].copy()
    mats = [{"name": "a", "base_color": (1, 0, 0, 1), "metallic": 1.0, "roughness": 0.3}, GlbMaterial("b")]
    path = write_glb(tmp_path / "q.glb", [(pos, nrm * 2, faces, 1, uvs)], mats, name="quad")
    doc, binary = parse_glb(path.read_bytes())
    prim = doc["meshes"][0]["primitives"][0]
    assert doc["meshes"][0]["name"] == "quad" and prim["material"] == 1 and "extensionsUsed" not in doc
    assert np.allclose(accessor(doc, binary, prim["attributes"]["POSITION"]), pos)
    assert np.allclose(accessor(doc, binary, prim["attributes"]["NORMAL"]), nrm)  # normalised
    assert accessor(doc, binary, prim["attributes"]["TEXCOORD_0"]).shape == (4, 2)
    assert np.array_equal(accessor(doc, binary, prim["indices"]).reshape(-1, 3), faces)
    assert doc["materials"][0]["pbrMetallicRoughness"]["baseColorFactor"] == [1.0, 0.0, 0.0, 1.0]
    assert glb_bytes([GlbPart(pos, nrm, faces)], mats) == glb_bytes([(pos, nrm, faces, 0)], mats)


@pytest.mark.parametrize(
    "parts, variants, message",
    [
        ([(_quad()[0], _quad()[1], _quad()[2], 5)], None, "material"),
        ([(_quad()[0], _quad()[1], _quad()[2] + 4, 0)], None, "face indices"),
        ([(_quad()[0], _quad()[1], _quad()[2], 0)], {"gold": [0, 0]}, "maps 2 parts"),
        ([(_quad()[0], _quad()[1], _quad()[2], 0)], {"gold": [3]}, "material index"),
        ([(_quad()[0] * np.nan, _quad()[1], _quad()[2], 0)], None, "finite"),
    ],
)
def test_writer_refuses_bad_input(parts, variants, message):
    with pytest.raises(ValueError, match=message):
        glb_bytes(parts, [GlbMaterial("m")], variants)


def test_the_bundled_chain_rests_on_the_neck_and_collarbones():
    """Each link is draped onto the mannequin: none sinks into the body, every link lies
    within a couple of centimetres of the skin, and the chain keeps its 45 cm (not grown)."""
    from scipy.spatial import cKDTree

    from tryon.body.mannequin import load_mannequin
    from tryon.catalog.catalog import Catalog

    item = Catalog().get("chain-necklace")
    m = load_mannequin()
    body, normals = m.positions_m.astype(np.float64), m.normals.astype(np.float64)
    chain = max(item.parts, key=lambda p: len(p.faces)).positions.astype(np.float64)
    dist, i = cKDTree(body).query(chain)
    signed = np.einsum("ij,ij->i", chain - body[i], normals[i])
    assert np.mean(signed < -0.001) < 0.02
    assert np.percentile(dist, 95) < 0.025
    manifest = Catalog().manifest("chain-necklace")
    assert manifest["fit"]["scale"] < 1.1
