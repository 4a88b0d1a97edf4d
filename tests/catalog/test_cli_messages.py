"""What ``tryon garments add`` tells a shop employee: one plain line, the right exit code, the
option that helps, and nothing about Python. Each test runs the CLI as a user would (a
subprocess) into a temporary catalog, on files it writes itself or files in the repo."""

from __future__ import annotations

import base64
import importlib.util
import json
import os
import shutil
import struct
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from tryon.catalog.assets import UnsupportedFormatError
from tryon.catalog.bundled import original_file
from tryon.catalog.catalog import Catalog, ItemExistsError
from tryon.catalog.cli import category_arg
from tryon.catalog.formats import load_asset
from tryon.catalog.item import CATEGORIES
from tryon.catalog.pipeline import slug

pytestmark = pytest.mark.slow  # the CLI in subprocesses

ROOT = Path(__file__).resolve().parents[2]
GARMENTS = ROOT / "garments"
PHOTOS = ROOT / "tests" / "data" / "photos"
ID_RULE = "use lower-case letters, digits, - and _ (at most 64)"


def tryon_cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    env.pop("TRYON_CATALOG", None)
    return subprocess.run(
        [sys.executable, "-m", "tryon", *args], capture_output=True, text=True, env=env, cwd=cwd, timeout=300
    )


def add(file: Path, catalog: Path, *extra: str, category: str = "glasses", name: str = "Item"):
    return tryon_cli(
        "garments", "add", str(file), "--category", category, "--name", name, "--catalog", str(catalog),
        "--no-preview", *extra,
    )  # fmt: skip


def one_line_error(out: subprocess.CompletedProcess) -> str:
    """The error line (asserting there is exactly one, and no Python internals in it)."""
    lines = out.stderr.strip().splitlines()
    assert lines, out
    error = lines[-1]
    assert error.startswith("tryon garments: error: ") or ": error: " in error, out.stderr
    for internal in ("Traceback", "Errno", "ImportLimits", "replace=True", "ValueError", "KeyError"):
        assert internal not in out.stderr, out.stderr
    return error


# -- small files this module writes ----------------------------------------------------------


def glasses_obj(folder: Path, mtllib: str = "glasses.mtl") -> Path:
    """The bundled red glasses' OBJ (a real pair of glasses, in cm) in ``folder``, naming ``mtllib``."""
    folder.mkdir(parents=True, exist_ok=True)
    text = original_file("red-glasses", GARMENTS).read_text()
    path = folder / "glasses.obj"
    path.write_text(text.replace("mtllib glasses.mtl", f"mtllib {mtllib}"))
    return path


def png_bytes() -> bytes:
    ok, buf = cv2.imencode(".png", np.full((4, 4, 3), 200, np.uint8))
    assert ok
    return buf.tobytes()


def read_glb(path: Path) -> tuple[dict, bytes]:
    data = path.read_bytes()
    json_len = struct.unpack_from("<I", data, 12)[0]
    doc = json.loads(data[20 : 20 + json_len])
    off = 20 + json_len
    bin_len = struct.unpack_from("<I", data, off)[0]
    return doc, data[off + 8 : off + 8 + bin_len]


def write_glb(path: Path, doc: dict, binary: bytes) -> Path:
    js = json.dumps(doc).encode()
    js += b" " * (-len(js) % 4)
    binary += b"\0" * (-len(binary) % 4)
    body = struct.pack("<II", len(js), 0x4E4F534A) + js + struct.pack("<II", len(binary), 0x004E4942) + binary
    path.write_bytes(struct.pack("<4sII", b"glTF", 2, 12 + len(body)) + body)
    return path


def bangle_glb(path: Path, edit) -> Path:
    """The bundled bangle (a .glb) with its JSON changed by ``edit(doc)``."""
    doc, binary = read_glb(GARMENTS / "bangle" / "original" / "bangle.glb")
    edit(doc)
    return write_glb(path, doc, binary)


def triangle_gltf(path: Path, **extra) -> Path:
    """A one-triangle .gltf (its buffer embedded) with extra top-level fields."""
    positions = np.array([[0, 0, 0], [0.1, 0, 0], [0, 0.1, 0]], np.float32).tobytes()
    doc = {
        "asset": {"version": "2.0"},
        "buffers": [
            {
                "uri": "data:application/octet-stream;base64," + base64.b64encode(positions).decode(),
                "byteLength": 36,
            }
        ],
        "bufferViews": [{"buffer": 0, "byteLength": 36}],
        "accessors": [
            {"bufferView": 0, "componentType": 5126, "count": 3, "type": "VEC3", "min": [0, 0, 0], "max": [0.1, 0.1, 0]}
        ],
        "meshes": [{"primitives": [{"attributes": {"POSITION": 0}}]}],
        "nodes": [{"mesh": 0}],
        "scenes": [{"nodes": [0]}],
        "scene": 0,
    }
    doc.update(extra)
    path.write_text(json.dumps(doc))
    return path


def with_texture_transform(doc: dict, slot: str) -> None:
    """Give the first material a texture in ``slot`` that KHR_texture_transform moves (required)."""
    uri = "data:image/png;base64," + base64.b64encode(png_bytes()).decode()
    doc.setdefault("images", []).append({"uri": uri})
    doc.setdefault("textures", []).append({"source": len(doc["images"]) - 1})
    info = {
        "index": len(doc["textures"]) - 1,
        "extensions": {"KHR_texture_transform": {"offset": [0, -7], "scale": [8, 8]}},
    }
    if not doc.get("materials"):
        doc["materials"] = [{"name": "m"}]
        for mesh in doc["meshes"]:
            for prim in mesh["primitives"]:
                prim["material"] = 0
    mat = doc["materials"][0]
    if slot == "baseColorTexture":
        mat.setdefault("pbrMetallicRoughness", {})[slot] = info
    else:
        mat[slot] = info
    doc["extensionsUsed"] = sorted(set(doc.get("extensionsUsed", [])) | {"KHR_texture_transform"})
    doc["extensionsRequired"] = sorted(set(doc.get("extensionsRequired", [])) | {"KHR_texture_transform"})


# -- 1. unsupported glTF extensions ----------------------------------------------------------


def test_draco_is_an_unsupported_format_that_says_how_to_export_without_it(tmp_path):
    draco = triangle_gltf(
        tmp_path / "ring.gltf",
        extensionsUsed=["KHR_draco_mesh_compression"],
        extensionsRequired=["KHR_draco_mesh_compression"],
    )
    out = add(draco, tmp_path / "cat", category="ring")
    assert out.returncode == 11, out.stderr
    error = one_line_error(out)
    assert "KHR_draco_mesh_compression" in error and "Draco" in error and "Compression" in error
    assert "unsafe" not in error.lower()
    with pytest.raises(UnsupportedFormatError) as err:
        load_asset(draco)
    assert err.value.exit_code == 11
    assert not (tmp_path / "cat").exists() or not Catalog(tmp_path / "cat").ids()


def test_texture_transform_on_the_colour_texture_is_refused_with_exit_11(tmp_path):
    path = triangle_gltf(tmp_path / "moved.gltf")
    doc = json.loads(path.read_text())
    with_texture_transform(doc, "baseColorTexture")
    path.write_text(json.dumps(doc))
    out = add(path, tmp_path / "cat")
    assert out.returncode == 11, out.stderr
    error = one_line_error(out)
    assert "KHR_texture_transform" in error and "UVs" in error


def test_texture_transform_on_a_map_the_try_on_does_not_show_is_dropped_with_a_warning(tmp_path):
    glb = bangle_glb(tmp_path / "bangle.glb", lambda doc: with_texture_transform(doc, "normalTexture"))
    out = add(glb, tmp_path / "cat", category="bracelet", name="Bangle")
    assert out.returncode == 0, out.stderr
    assert "left out its normal map, which uses KHR_texture_transform" in out.stdout
    assert Catalog(tmp_path / "cat").get("bangle").triangle_count > 0


# -- 2. and 3. paths of the wrong kind ---------------------------------------------------------


def test_a_catalog_path_that_is_a_file_is_named_as_such(tmp_path):
    not_a_dir = tmp_path / "not_a_dir"
    not_a_dir.write_text("")
    out = add(glasses_obj(tmp_path / "up"), not_a_dir)
    assert out.returncode == 2, out.stderr
    assert f"{not_a_dir} is a file, not a catalog folder" in one_line_error(out)
    below = add(glasses_obj(tmp_path / "up"), not_a_dir / "sub")
    assert below.returncode == 2 and "is a file, not a catalog folder" in one_line_error(below)
    listing = tryon_cli("garments", "list", "--catalog", str(not_a_dir))
    assert listing.returncode == 2 and "not a catalog folder" in listing.stderr


def test_a_folder_given_as_the_file_lists_the_3d_files_inside(tmp_path):
    upload = tmp_path / "upload"
    (upload / "model").mkdir(parents=True)
    (upload / "model" / "scene.gltf").write_text("{}")
    (upload / "a.obj").write_text("v 0 0 0\n")
    (upload / "readme.txt").write_text("hello")
    out = add(upload, tmp_path / "cat")
    assert out.returncode == 2, out.stderr
    error = one_line_error(out)
    assert "is a folder" in error and ".?" not in error
    assert str(upload / "a.obj") in error and str(upload / "model" / "scene.gltf") in error
    assert "readme" not in error
    many = tmp_path / "many"
    many.mkdir()
    for i in range(8):
        (many / f"m{i}.glb").write_bytes(b"glTF")
    error = one_line_error(add(many, tmp_path / "cat"))
    assert error.count(".glb") == 5
    empty = tmp_path / "empty"
    empty.mkdir()
    out = add(empty, tmp_path / "cat")
    assert out.returncode == 2 and "holds no .glb" in one_line_error(out)


# -- 4. and 5. ids ---------------------------------------------------------------------------


def test_names_without_latin_letters_give_distinct_ids(tmp_path):
    assert slug("Café Noir") == "cafe-noir" and slug("Red glasses") == "red-glasses"
    ids = {slug(n) for n in ("!!!", "???", "Очки", "Серьги", "眼鏡")}
    assert len(ids) == 5
    assert all(i.startswith("item-") and len(i) == 13 for i in ids)
    assert slug("Очки") == slug("Очки")  # stable
    assert len(slug("x" * 100)) == 64
    out = add(glasses_obj(tmp_path / "up"), tmp_path / "cat", name="Очки")
    assert out.returncode == 0, out.stderr
    assert Catalog(tmp_path / "cat").ids() == [slug("Очки")]


def test_a_bad_id_is_quoted_and_the_rule_is_given(tmp_path):
    out = add(glasses_obj(tmp_path / "up"), tmp_path / "cat", "--id", "My Glasses/../x")
    assert out.returncode == 2
    assert out.stderr.strip() == f"tryon garments: error: 'My Glasses/../x' is not a valid item id: {ID_RULE}"
    show = tryon_cli("garments", "show", "Bad Id", "--catalog", str(tmp_path / "cat"))
    assert show.returncode == 4
    assert show.stderr.strip() == f"tryon garments: error: 'Bad Id' is not a valid item id: {ID_RULE}"


# -- 6. no Python in the messages --------------------------------------------------------------


def test_messages_name_the_options_not_the_python_api(tmp_path):
    catalog = tmp_path / "cat"
    obj = glasses_obj(tmp_path / "up")
    assert add(obj, catalog, name="G").returncode == 0
    again = add(obj, catalog, name="G")
    assert again.returncode == 3
    assert one_line_error(again) == (
        "tryon garments: error: the catalog already has an item 'g': "
        "use --replace to replace it, or --id to choose another id"
    )
    big = add(obj, catalog, "--max-file-mb", "0.001", name="Big")
    assert big.returncode == 18
    assert "--max-file-mb" in one_line_error(big)
    # the library's own message stays neutral
    item = Catalog(catalog).get("g")
    with pytest.raises(ItemExistsError) as err:
        Catalog(catalog).store(item, [])
    assert str(err.value) == "the catalog already has an item 'g'"


def test_a_bad_size_chart_says_what_is_wrong_with_the_file(tmp_path):
    obj = glasses_obj(tmp_path / "up")
    missing = tmp_path / "nothere.json"
    out = add(obj, tmp_path / "cat", "--size-chart", str(missing))
    assert out.returncode == 2
    assert one_line_error(out).endswith(f"--size-chart {missing}: no such file")
    broken = tmp_path / "broken.json"
    broken.write_text('{"sizes": "oops"\n')
    out = add(obj, tmp_path / "cat", "--size-chart", str(broken))
    assert out.returncode == 2
    error = one_line_error(out)
    assert f"--size-chart {broken}: not valid JSON" in error and "line 2, column 1" in error
    for chart, phrase in (
        ({"sizes": "oops"}, '"sizes"'),
        ({"sizes": {"M": {"chest": 5}}}, "chest must be two numbers"),
        ({"sizes": {"M": {"elbow": [1, 2]}}}, "unknown measurement 'elbow'"),
        ({"sizes": {"M": {"chest": [100, 90]}}}, "low < high"),
    ):
        bad = tmp_path / "bad.json"
        bad.write_text(json.dumps(chart))
        out = add(obj, tmp_path / "cat", "--size-chart", str(bad))
        assert out.returncode == 2, chart
        error = one_line_error(out)
        assert f"--size-chart {bad}: " in error and phrase in error, error
    assert not (tmp_path / "cat").exists() or not Catalog(tmp_path / "cat").ids()


# -- 7. a missing material library -------------------------------------------------------------


def test_a_missing_material_library_is_one_warning_and_the_item_is_grey(tmp_path):
    obj = glasses_obj(tmp_path / "up", mtllib="nothere.mtl")
    out = add(obj, tmp_path / "cat")
    assert out.returncode == 0, out.stderr
    assert (
        "warning: the material library nothere.mtl (named by mtllib) is missing: upload it beside the .obj; "
        "using a grey material" in out.stdout
    )
    assert "not defined" not in out.stdout
    item = Catalog(tmp_path / "cat").get("item")
    assert all(m.base_texture is None for m in item.materials)


# -- 9. licences and credits -----------------------------------------------------------------


@pytest.mark.parametrize("licence", ["CC-BY-4.0", "CC BY-SA 4.0", "cc-by-nc-4.0"])
def test_a_cc_by_licence_needs_a_credit_line(tmp_path, licence):
    out = add(glasses_obj(tmp_path / "up"), tmp_path / "cat", "--licence", licence)
    assert out.returncode == 2
    error = one_line_error(out)
    assert "CC BY" in error and "credit line" in error and "--attribution" in error
    ok = add(glasses_obj(tmp_path / "up"), tmp_path / "cat", "--licence", licence, "--attribution", "Glasses by Me")
    assert ok.returncode == 0, ok.stderr


SKETCHFAB = {
    "author": "Some Artist (https://sketchfab.com/someone)",
    "license": "CC-BY-4.0 (http://creativecommons.org/licenses/by/4.0/)",
    "source": "https://sketchfab.com/3d-models/bangle-0123",
    "title": "Gold Bangle",
}


def test_sketchfab_credits_in_the_file_are_used_when_none_are_given(tmp_path):
    glb = bangle_glb(tmp_path / "bangle.glb", lambda doc: doc["asset"].update(extras=SKETCHFAB))
    assert load_asset(glb).credits == SKETCHFAB
    catalog = tmp_path / "cat"
    out = add(glb, catalog, category="bracelet", name="Bangle")
    assert out.returncode == 0, out.stderr
    assert "took from the file's own credits" in out.stdout
    m = Catalog(catalog).manifest("bangle")
    assert m["licence"] == SKETCHFAB["license"]
    assert m["source"]["origin"] == SKETCHFAB["source"]
    assert m["attribution"] == (
        "Gold Bangle by Some Artist (https://sketchfab.com/someone) (https://sketchfab.com/3d-models/bangle-0123), "
        "CC-BY-4.0 (http://creativecommons.org/licenses/by/4.0/)"
    )
    # what the user gives wins
    own = add(glb, catalog, "--licence", "CC0-1.0", "--source", "our studio", "--id", "own", category="bracelet")
    assert own.returncode == 0, own.stderr
    m = Catalog(catalog).manifest("own")
    assert m["licence"] == "CC0-1.0" and m["source"]["origin"] == "our studio" and not m.get("attribution")
    # a CC BY file without an author cannot credit anyone: refused
    anonymous = {k: v for k, v in SKETCHFAB.items() if k != "author"}
    glb2 = bangle_glb(tmp_path / "anon.glb", lambda doc: doc["asset"].update(extras=anonymous))
    out = add(glb2, catalog, category="bracelet", name="Anon")
    assert out.returncode == 2 and "--attribution" in one_line_error(out)


# -- 10. colours -----------------------------------------------------------------------------


@pytest.mark.parametrize("rgb", [("300", "0", "0"), ("0", "-1", "0"), ("red", "0", "0")])
def test_colour_values_must_be_0_to_255(tmp_path, rgb):
    out = add(glasses_obj(tmp_path / "up"), tmp_path / "cat", "--color", *rgb)
    assert out.returncode == 2
    assert "argument --color" in out.stderr and ("0-255" in out.stderr or "0 to 255" in out.stderr)
    assert not (tmp_path / "cat").exists()


# -- 11. the kept original -------------------------------------------------------------------


def test_the_kept_original_keeps_subfolders_and_reimports_with_its_texture(tmp_path):
    upload = tmp_path / "upload"
    obj = glasses_obj(upload, mtllib="materials/glasses.mtl")
    (upload / "materials" / "maps").mkdir(parents=True)
    (upload / "materials" / "glasses.mtl").write_text("newmtl glasses\nKd 1 1 1\nmap_Kd maps/red.png\n")
    texture = original_file("red-glasses", GARMENTS).with_name("glasses_texture.png")
    shutil.copyfile(texture, upload / "materials" / "maps" / "red.png")
    (upload / "unrelated.txt").write_text("not kept")
    catalog = tmp_path / "cat"
    out = add(obj, catalog, name="Sub")
    assert out.returncode == 0, out.stderr
    assert "missing" not in out.stdout
    kept = catalog / "sub" / "original"
    assert sorted(str(p.relative_to(kept)) for p in kept.rglob("*") if p.is_file()) == [
        "glasses.obj",
        "materials/glasses.mtl",
        "materials/maps/red.png",
    ]
    listed = [f["file"] for f in Catalog(catalog).manifest("sub")["original"]]
    assert sorted(listed) == [
        "original/glasses.obj",
        "original/materials/glasses.mtl",
        "original/materials/maps/red.png",
    ]
    # the kept original imports again, texture and all (as refit does)
    again = add(kept / "glasses.obj", catalog, "--id", "again", name="Sub")
    assert again.returncode == 0, again.stderr
    assert "missing" not in again.stdout
    assert Catalog(catalog).get("again").materials[0].base_texture is not None
    refit = tryon_cli("garments", "refit", "sub", "--catalog", str(catalog), "--no-preview", "--scale", "1.05")
    assert refit.returncode == 0, refit.stderr
    assert "missing" not in refit.stdout
    assert (catalog / "sub" / "original" / "materials" / "maps" / "red.png").is_file()


def test_a_gltf_keeps_its_texture_folder_once(tmp_path):
    upload = tmp_path / "upload"
    (upload / "textures").mkdir(parents=True)
    (upload / "textures" / "colour.png").write_bytes(png_bytes())
    (upload / "textures" / "normal.png").write_bytes(png_bytes())
    doc, binary = read_glb(GARMENTS / "bangle" / "original" / "bangle.glb")
    (upload / "bangle.bin").write_bytes(binary)
    doc["buffers"] = [{"uri": "bangle.bin", "byteLength": len(binary)}]
    doc["images"] = [{"uri": "textures/colour.png"}, {"uri": "textures/normal.png"}]
    doc["textures"] = [{"source": 0}, {"source": 1}]
    for mat in doc["materials"]:
        mat.setdefault("pbrMetallicRoughness", {})["baseColorTexture"] = {"index": 0}
        mat["normalTexture"] = {"index": 1}
    (upload / "bangle.gltf").write_text(json.dumps(doc))
    catalog = tmp_path / "cat"
    out = add(upload / "bangle.gltf", catalog, category="bracelet", name="Bangle")
    assert out.returncode == 0, out.stderr
    listed = [f["file"] for f in Catalog(catalog).manifest("bangle")["original"]]
    assert len(listed) == len(set(listed))
    assert sorted(listed) == [
        "original/bangle.bin",
        "original/bangle.gltf",
        "original/textures/colour.png",
        "original/textures/normal.png",
    ]


# -- 12. demo.py -----------------------------------------------------------------------------


def _demo():
    spec = importlib.util.spec_from_file_location("tryon_demo_script", ROOT / "demo.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_demo_help_names_the_catalog_options():
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    out = subprocess.run([sys.executable, str(ROOT / "demo.py"), "--help"], capture_output=True, text=True, env=env)
    assert out.returncode == 0
    assert "$TRYON_CATALOG" in out.stdout and "--catalog" in out.stdout


def test_demo_without_items_uses_the_catalogs_first_top(tmp_path, capsys):
    demo = _demo()
    catalog = tmp_path / "cat"
    for item_id in ("red-glasses", "white-tee"):
        shutil.copytree(GARMENTS / item_id, catalog / item_id)
    assert demo.default_items(Catalog(catalog)) == ["white-tee"]
    assert "'white-tee'" in capsys.readouterr().out
    shutil.rmtree(catalog / "white-tee")
    assert demo.default_items(Catalog(catalog)) == ["red-glasses"]
    assert demo.default_items(Catalog(GARMENTS)) == [demo.DEFAULT_ITEM]
    assert demo.default_items(Catalog(tmp_path / "empty")) == []
    # end to end, on a photo
    shutil.copytree(GARMENTS / "white-tee", catalog / "white-tee")
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    env.pop("TRYON_CATALOG", None)
    out = subprocess.run(
        [sys.executable, str(ROOT / "demo.py"), "--input", str(PHOTOS / "pixabay_image1.png"), "--catalog",
         str(catalog), "--output", str(tmp_path / "out.png"), "--no-overlay"],
        capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert "showing its first top, 'white-tee'" in out.stdout
    assert (tmp_path / "out.png").stat().st_size > 1000


# -- 13. help --------------------------------------------------------------------------------


def test_help_explains_rotate_orientation_and_exit_codes():
    out = tryon_cli("garments", "add", "--help")
    assert out.returncode == 0
    text = " ".join(out.stdout.split())
    for phrase in (
        "x = the wearer's left, y = up, z = forward, toward the camera",
        "applied X, then Y, then Z",
        "counter-clockwise",
        "front toward +z",
        "--up z",
        "12 no surface: only points or lines",
        "13 zero faces, or every face broken",
        "11 unsupported format or glTF extension",
    ):
        assert phrase in text, phrase
    refit = tryon_cli("garments", "refit", "--help")
    assert "counter-clockwise" in refit.stdout


# -- 14. categories --------------------------------------------------------------------------

SYNONYMS = {
    "glasses": ["sunglasses", "eyeglasses", "Glasses", "SUNGLASSES"],
    "shoes": ["shoe", "sneakers", "boots", "Shoes"],
    "earrings": ["earring"],
    "hat": ["cap", "beanie"],
    "top": ["shirt", "t-shirt", "tshirt", "T-Shirt", "t shirt", "blouse", "sweater"],
    "bottom": ["pants", "trousers", "jeans"],
    "skirt": ["Skirt", "skirts"],
    "outerwear": ["jacket", "coat"],
    "bracelet": ["bangle"],
    "necklace": ["pendant", "chain"],
    "full-outfit": ["Full Outfit", "full_outfit"],
}


def test_categories_accept_any_case_and_common_words(tmp_path, capsys):
    for category, words in SYNONYMS.items():
        for word in words:
            assert category_arg(word) == category, word
    assert category_arg("cape") == "cape"  # left for argparse to refuse
    for category in CATEGORIES:
        assert category_arg(category.upper()) == category
    assert capsys.readouterr().out == ""  # the type function prints nothing
    out = tryon_cli("garments", "add", str(tmp_path / "none.obj"), "--category", "Sneakers", "--name", "x",
                    "--catalog", str(tmp_path / "cat"))  # fmt: skip
    assert out.returncode == 10  # the file is missing: the category was accepted
    assert "note: category 'Sneakers' read as 'shoes'" in out.stdout
    bad = tryon_cli("garments", "add", "x.obj", "--category", "cape", "--name", "x")
    assert bad.returncode == 2 and "invalid choice: 'cape'" in bad.stderr
    assert all(category in bad.stderr for category in CATEGORIES)
    helptext = tryon_cli("garments", "add", "--help").stdout
    assert "{" + ",".join(CATEGORIES) + "}" in helptext
