"""The retailer's import pipeline and CLI on real files: every bundled asset re-imports from
the original it keeps, renders where it belongs on a real photo, and hostile uploads are
refused with a clear message and an untouched catalog."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
from helpers import ROOT, load_photo

from tryon.catalog.bundled import BUNDLED, build_bundled, original_file
from tryon.catalog.catalog import Catalog
from tryon.catalog.item import CATEGORIES
from tryon.pose.landmarks import L

pytestmark = pytest.mark.slow  # every bundled item re-imported; the CLI in subprocesses

GARMENTS = ROOT / "garments"
BUNDLED_IDS = [b.id for b in BUNDLED]


def tryon_cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run(
        [sys.executable, "-m", "tryon", *args], capture_output=True, text=True, env=env, cwd=cwd, timeout=300
    )


def tree_digest(root: Path) -> dict[str, str]:
    """Every file under ``root`` (relative path -> sha256), the catalog's lock file aside."""
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file() and p.name != ".lock"
    }


@pytest.fixture(scope="module")
def small_catalog(tmp_path_factory) -> Path:
    """A catalog with two real items, copied from the bundled one."""
    root = tmp_path_factory.mktemp("catalog")
    for item_id in ("white-tee", "steel-watch"):
        shutil.copytree(GARMENTS / item_id, root / item_id)
    return root


# -- every real asset ------------------------------------------------------------------------


def test_the_bundled_catalog_is_complete_and_credited():
    cat = Catalog(GARMENTS)
    assert sorted(cat.ids()) == sorted(BUNDLED_IDS)
    categories = {cat.get(i).category for i in cat.ids()}
    # clothes, shoes and every accessory kind a shopper can try
    assert {"top", "bottom", "shoes", "glasses", "hat", "watch", "necklace", "earrings", "ring", "bracelet"} <= (
        categories
    )
    for item_id in cat.ids():
        m = cat.manifest(item_id)
        assert m["licence"], item_id
        assert original_file(item_id, GARMENTS).is_file(), item_id
        assert (GARMENTS / item_id / "preview.png").is_file(), item_id
        if "CC-BY" in m["licence"]:
            assert m["attribution"], f"{item_id}: CC BY needs its credit line"


@pytest.mark.parametrize("item_id", BUNDLED_IDS)
def test_every_bundled_item_reimports_from_its_original(tmp_path, item_id):
    """The catalog is reproducible by a user who has only the repo: importing the kept
    original with the recorded options gives the same geometry."""
    src = original_file(item_id, GARMENTS)
    upload = tmp_path / "upload"
    shutil.copytree(src.parent, upload)
    folder, result = build_bundled(item_id, None, tmp_path / "catalog", path=upload / src.name)
    fresh, kept = np.load(folder / "geometry.npz"), np.load(GARMENTS / item_id / "geometry.npz")
    assert sorted(fresh.files) == sorted(kept.files)
    for key in kept.files:
        assert fresh[key].shape == kept[key].shape, (item_id, key)
        if kept[key].dtype.kind == "f":
            assert np.allclose(fresh[key], kept[key], atol=1e-5), (item_id, key)
        else:
            assert np.array_equal(fresh[key], kept[key]), (item_id, key)
    assert result.garment.triangle_count > 0


#: Where each category belongs on the body: BlazePose points whose box (grown by a share
#: of the torso length) must hold the item's pixels.
PLACES: dict[str, tuple[list[int], float]] = {
    "glasses": ([L.LEFT_EYE_OUTER, L.RIGHT_EYE_OUTER, L.NOSE, L.LEFT_EAR, L.RIGHT_EAR], 0.15),
    "hat": ([L.LEFT_EAR, L.RIGHT_EAR, L.NOSE, L.LEFT_EYE, L.RIGHT_EYE], 0.5),
    "earrings": ([L.LEFT_EAR, L.RIGHT_EAR], 0.2),
    "necklace": ([L.LEFT_SHOULDER, L.RIGHT_SHOULDER, L.MOUTH_LEFT, L.MOUTH_RIGHT], 0.3),
    "watch": ([L.LEFT_WRIST, L.LEFT_ELBOW], 0.12),
    "bracelet": ([L.LEFT_WRIST, L.LEFT_ELBOW], 0.12),
    "ring": ([L.LEFT_WRIST, L.LEFT_PINKY, L.LEFT_INDEX, L.LEFT_THUMB], 0.1),
    "shoes": ([L.LEFT_ANKLE, L.RIGHT_ANKLE, L.LEFT_HEEL, L.RIGHT_HEEL, L.LEFT_FOOT_INDEX, L.RIGHT_FOOT_INDEX], 0.12),
    "bottom": ([L.LEFT_HIP, L.RIGHT_HIP, L.LEFT_ANKLE, L.RIGHT_ANKLE, L.LEFT_HEEL, L.RIGHT_HEEL], 0.15),
    "skirt": ([L.LEFT_HIP, L.RIGHT_HIP, L.LEFT_KNEE, L.RIGHT_KNEE, L.LEFT_ANKLE, L.RIGHT_ANKLE], 0.15),
}


#: The photo each category is tried on (upscaled x2 to a kiosk's scale: a person about 1200 px
#: tall): a woman standing with her hands free (her hair hides her ears), a bald man with his
#: arms crossed for what sits on the head.
PHOTO_FOR = {"glasses": "pixabay_suit", "hat": "pixabay_suit", "earrings": "pixabay_suit"}


@pytest.fixture(scope="module")
def photo_engine():
    from tryon import TryOnEngine

    photos = {
        name: cv2.resize(load_photo(name), None, fx=2, fy=2, interpolation=cv2.INTER_CUBIC)
        for name in ("pixabay_suit", "pixabay_render")
    }
    with TryOnEngine(items=[]) as eng:
        yield eng, photos


@pytest.mark.parametrize("item_id", BUNDLED_IDS)
def test_every_item_renders_where_it_belongs_on_a_real_photo(photo_engine, item_id):
    eng, photos = photo_engine
    eng.set_items([item_id])
    photo = photos[PHOTO_FOR.get(eng.items[0].category, "pixabay_render")]

    result = eng.process(photo)
    assert result.pose is not None
    drawn = result.garment_alpha > 0.5
    category = eng.items[0].category
    # A skirt or dress hangs where it hangs, outside the person's mask too (tryon.cloth).
    loose = eng.items[0].manifest.get("looseness", {}).get("loose", False)
    assert drawn.sum() > (20 if category in ("ring", "earrings") else 80), f"{item_id}: {drawn.sum()} px drawn"
    person = result.pose.mask > 0.5
    kp = result.pose.keypoints_px
    torso = np.linalg.norm(kp[[L.LEFT_SHOULDER, L.RIGHT_SHOULDER]].mean(0) - kp[[L.LEFT_HIP, L.RIGHT_HIP]].mean(0))
    ys, xs = np.nonzero(drawn)
    if category in PLACES:
        points, grow = PLACES[category]
        lo, hi = kp[points].min(axis=0) - grow * torso, kp[points].max(axis=0) + grow * torso
        inside = (xs >= lo[0]) & (xs <= hi[0]) & (ys >= lo[1]) & (ys <= hi[1])
        assert inside.mean() > 0.95, f"{item_id}: {inside.mean():.0%} of its pixels where a {category} belongs"
    else:  # clothes over the torso: on the person, and over the chest
        if loose:  # a flared dress is wider than the legs in it: within half a torso of the body's box
            body = kp[[L.LEFT_SHOULDER, L.RIGHT_SHOULDER, L.LEFT_HIP, L.RIGHT_HIP, L.LEFT_ANKLE, L.RIGHT_ANKLE]]
            lo, hi = body.min(axis=0) - 0.5 * torso, body.max(axis=0) + 0.5 * torso
            inside = (xs >= lo[0]) & (xs <= hi[0]) & (ys >= lo[1]) & (ys <= hi[1])
            assert inside.mean() > 0.98 and (drawn & person).sum() / drawn.sum() > 0.5, item_id
        else:
            assert (drawn & person).sum() / drawn.sum() > 0.93, item_id
        shoulders, hips = kp[[L.LEFT_SHOULDER, L.RIGHT_SHOULDER]].mean(0), kp[[L.LEFT_HIP, L.RIGHT_HIP]].mean(0)
        # the chest (a crop top's too); an under-bust corset: the waist
        chest = np.round(0.6 * shoulders + 0.4 * hips if item_id != "corset" else 0.3 * shoulders + 0.7 * hips)
        chest = chest.astype(int)
        assert drawn[chest[1], chest[0]], f"{item_id}: does not cover the chest"
    if category != "hat" and not loose:  # the rest of the frame is the camera's (a hat's brim stands out)
        grow = int(0.1 * torso) | 1
        near = cv2.dilate(person.astype(np.uint8), np.ones((grow, grow), np.uint8)) > 0
        assert (drawn & ~near).sum() / drawn.sum() < 0.02, item_id


# -- the command line ------------------------------------------------------------------------


def test_cli_add_list_show_preview_remove_round_trip(tmp_path):
    catalog = tmp_path / "cat"
    src = original_file("red-glasses", GARMENTS)
    upload = tmp_path / "upload"
    shutil.copytree(src.parent, upload)
    add = tryon_cli(
        "garments", "add", str(upload / src.name), "--category", "glasses", "--name", "Red frames",
        "--catalog", str(catalog), "--licence", "Apache-2.0",
    )  # fmt: skip
    assert add.returncode == 0, add.stderr
    assert "added 'red-frames' (glasses" in add.stdout
    assert "read in centimetres" in add.stdout  # the unit it chose, and why
    assert (catalog / "red-frames" / "preview.png").stat().st_size > 1000
    listing = json.loads(tryon_cli("garments", "list", "--json", "--catalog", str(catalog)).stdout)
    assert [i["id"] for i in listing] == ["red-frames"] and listing[0]["category"] == "glasses"
    show = json.loads(tryon_cli("garments", "show", "red-frames", "--catalog", str(catalog)).stdout)
    assert show["attachment"]["bone"] == "head" and show["licence"] == "Apache-2.0"
    out = tmp_path / "p.png"
    preview = tryon_cli("garments", "preview", "red-frames", "--output", str(out), "--catalog", str(catalog))
    assert preview.returncode == 0, preview.stderr
    assert out.stat().st_size > 1000
    again = tryon_cli("garments", "add", str(upload / src.name), "--category", "glasses", "--name", "Red frames",
                      "--catalog", str(catalog))  # fmt: skip
    assert again.returncode == 3 and "--replace" in again.stderr
    assert tryon_cli("garments", "remove", "red-frames", "--catalog", str(catalog)).returncode == 0
    assert not (catalog / "red-frames").exists()
    missing = tryon_cli("garments", "remove", "red-frames", "--catalog", str(catalog))
    assert missing.returncode == 4 and "red-frames" in missing.stderr


def test_cli_help_names_categories_and_exit_codes():
    out = tryon_cli("garments", "add", "--help")
    assert out.returncode == 0
    for category in CATEGORIES:
        assert category in out.stdout
    assert "exit codes" in out.stdout and "16  unsafe reference" in out.stdout
    bad = tryon_cli("garments", "add", "x.obj", "--category", "cape", "--name", "x")
    assert bad.returncode == 2 and "invalid choice: 'cape'" in bad.stderr


def _hostile_files(folder: Path) -> dict[str, tuple[Path, int, str]]:
    """name -> (file, expected exit code, a phrase the message must contain)."""
    folder.mkdir()
    glb = (GARMENTS / "bangle" / "original" / "bangle.glb").read_bytes()
    cases = {}

    def put(name: str, data: bytes | str, code: int, phrase: str) -> None:
        path = folder / name
        path.write_bytes(data.encode() if isinstance(data, str) else data)
        cases[name] = (path, code, phrase)

    put("empty.obj", "", 10, "empty")
    put("points.obj", "v 0 0 0\nv 1 0 0\nv 0 1 0\n", 12, "no faces")
    put("truncated.glb", glb[: len(glb) // 2], 10, "truncated")
    put("garbage.stl", os.urandom(3000), 10, "")
    put("notes.glb", "this is not a model\n" * 50, 10, "")
    put("nan.obj", "v 0 0 0\nv 1 nan 0\nv 0 1 0\nf 1 2 3\n", 14, "NaN")
    put("scene.fbx", b"Kaydara FBX Binary  \x00" + bytes(200), 11, "FBX")
    traversal = {
        "asset": {"version": "2.0"},
        "buffers": [{"uri": "../../../../etc/passwd", "byteLength": 36}],
        "bufferViews": [{"buffer": 0, "byteLength": 36}],
        "accessors": [{"bufferView": 0, "componentType": 5126, "count": 3, "type": "VEC3"}],
        "meshes": [{"primitives": [{"attributes": {"POSITION": 0}}]}],
    }
    put("traversal.gltf", json.dumps(traversal), 16, "out of the asset")
    network = dict(traversal, buffers=[{"uri": "https://example.com/evil.bin", "byteLength": 36}])
    put("network.gltf", json.dumps(network), 16, "")
    bomb = dict(traversal, buffers=[{"uri": "data:application/octet-stream;base64,AAAA", "byteLength": 36}])
    bomb["accessors"] = [{"bufferView": 0, "componentType": 5126, "count": 2_000_000_000, "type": "VEC3"}]
    put("bomb.gltf", json.dumps(bomb), 17, "")
    put(
        "huge.ply",
        "ply\nformat binary_little_endian 1.0\nelement vertex 4000000000\nproperty float x\nproperty float y\n"
        "property float z\nelement face 1\nproperty list uchar int vertex_indices\nend_header\n",
        10,
        "",
    )
    return cases


def test_hostile_uploads_are_refused_and_the_catalog_is_untouched(tmp_path, small_catalog):
    catalog = tmp_path / "cat"
    shutil.copytree(small_catalog, catalog)
    before = tree_digest(catalog)
    for name, (path, code, phrase) in _hostile_files(tmp_path / "uploads").items():
        out = tryon_cli("garments", "add", str(path), "--category", "top", "--name", name, "--catalog", str(catalog))
        assert out.returncode == code, f"{name}: exit {out.returncode}, {out.stderr}"
        assert out.stderr.startswith("tryon garments: error: "), name
        assert "Traceback" not in out.stderr, name
        assert phrase.lower() in out.stderr.lower(), f"{name}: {out.stderr}"
        assert tree_digest(catalog) == before, f"{name} changed the catalog"
    assert sorted(p.name for p in catalog.iterdir() if p.name != ".lock") == ["steel-watch", "white-tee"]


def test_units_are_detected_and_can_be_overridden(tmp_path):
    watch = original_file("steel-watch", GARMENTS)
    catalog = tmp_path / "cat"
    auto = tryon_cli("garments", "add", str(watch), "--category", "watch", "--name", "W", "--catalog", str(catalog),
                     "--no-preview")  # fmt: skip
    assert auto.returncode == 0, auto.stderr
    assert "read in millimetres" in auto.stdout
    # a top that is 3 mm tall in its declared unit: refused with the sizes it considered
    tiny = tmp_path / "tiny.obj"
    tiny.write_text(original_file("white-tee", GARMENTS).with_suffix(".obj").read_text())
    forced = tryon_cli("garments", "add", str(tiny), "--category", "watch", "--name", "T", "--units", "m",
                       "--catalog", str(catalog), "--no-preview")  # fmt: skip
    assert forced.returncode in (19, 20), forced.stderr
    assert "m" in forced.stderr and "watch" in forced.stderr


def test_concurrent_imports_do_not_corrupt_the_catalog(tmp_path):
    """Two retailers' uploads at once: both land; the same id twice: one wins, one is told."""
    catalog = tmp_path / "cat"
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    glasses, bangle = original_file("red-glasses", GARMENTS), original_file("bangle", GARMENTS)

    def start(path: Path, category: str, item_id: str) -> subprocess.Popen:
        cmd = [sys.executable, "-m", "tryon", "garments", "add", str(path), "--category", category,
               "--name", item_id, "--id", item_id, "--catalog", str(catalog)]  # fmt: skip
        return subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    procs = [start(glasses, "glasses", "a"), start(bangle, "bracelet", "b")]
    assert [p.wait(timeout=300) for p in procs] == [0, 0], [p.stderr.read() for p in procs]
    procs = [start(bangle, "bracelet", "same"), start(bangle, "bracelet", "same")]
    codes = sorted(p.wait(timeout=300) for p in procs)
    assert codes == [0, 3], codes
    cat = Catalog(catalog)
    assert sorted(cat.ids()) == ["a", "b", "same"]
    items, warnings = cat.load_all()
    assert len(items) == 3 and not warnings
    assert not [p for p in catalog.iterdir() if p.name.startswith(".tmp")]


@pytest.mark.parametrize("damage", ["junk", "cut short"])
def test_a_broken_item_is_skipped_and_the_rest_still_load(tmp_path, small_catalog, damage):
    catalog = tmp_path / "cat"
    shutil.copytree(small_catalog, catalog)
    geometry = catalog / "white-tee" / "geometry.npz"
    data = geometry.read_bytes()
    geometry.write_bytes(b"not a zip" if damage == "junk" else data[: len(data) // 2])
    items, warnings = Catalog(catalog).load_all()
    assert [g.id for g in items] == ["steel-watch"]
    assert len(warnings) == 1 and "white-tee" in warnings[0]
    listing = tryon_cli("garments", "list", "--catalog", str(catalog))
    assert listing.returncode == 0 and "steel-watch" in listing.stdout and "white-tee" in listing.stderr
    with pytest.raises(Exception, match="white-tee"):
        Catalog(catalog).get("white-tee")


def test_a_manifest_cannot_point_outside_its_folder(tmp_path):
    catalog = tmp_path / "cat"
    shutil.copytree(GARMENTS / "red-glasses", catalog / "red-glasses")
    manifest = json.loads((catalog / "red-glasses" / "manifest.json").read_text())
    manifest["materials"][0]["base_texture"] = "../../../../etc/passwd"
    (catalog / "red-glasses" / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(Exception, match="leaves the item's folder"):
        Catalog(catalog).get("red-glasses")


def test_manual_overrides_are_stored_and_win_on_refit(tmp_path):
    """An adjustment made once stays: refit keeps the stored overrides and updates them."""
    catalog = tmp_path / "cat"
    glasses = original_file("red-glasses", GARMENTS)
    assert tryon_cli("garments", "add", str(glasses), "--category", "glasses", "--name", "G", "--catalog",
                     str(catalog), "--no-preview").returncode == 0  # fmt: skip
    auto = Catalog(catalog).get("g").parts[0].positions.copy()
    out = tryon_cli("garments", "refit", "g", "--offset", "0", "-0.01", "0", "--catalog", str(catalog), "--no-preview")
    assert out.returncode == 0, out.stderr
    moved = Catalog(catalog).get("g").parts[0].positions
    assert np.allclose(moved - auto, [0.0, -0.01, 0.0], atol=1e-5)
    # a second adjustment keeps the first
    assert (
        tryon_cli("garments", "refit", "g", "--scale", "1.1", "--catalog", str(catalog), "--no-preview").returncode == 0
    )
    manifest = Catalog(catalog).manifest("g")
    assert manifest["import"]["overrides"] == {"scale": 1.1, "offset_m": [0.0, -0.01, 0.0]}
    again = Catalog(catalog).get("g").parts[0].positions
    assert np.ptp(again[:, 0]) == pytest.approx(1.1 * np.ptp(auto[:, 0]), rel=1e-3)
    missing = tryon_cli("garments", "refit", "nope", "--catalog", str(catalog))
    assert missing.returncode == 4


def test_keep_height_drops_a_dress_form_around_the_garment(tmp_path):
    """The bundled corset is a scan of a corset on its dress form: fitted whole, then only the
    laced band is kept; without the option the form's bust and neck would be worn too."""
    corset = original_file("corset", GARMENTS)
    catalog = tmp_path / "cat"
    args = ["garments", "add", str(corset), "--category", "top", "--catalog", str(catalog), "--no-preview"]
    whole = tryon_cli(*args, "--name", "whole")
    band = tryon_cli(*args, "--name", "band", "--keep-height", "0.2", "0.64")
    assert whole.returncode == 0 and band.returncode == 0, band.stderr
    assert "kept the band 20%-64%" in band.stdout
    cat = Catalog(catalog)
    height = {i: np.ptp(np.concatenate([p.positions for p in cat.get(i).parts])[:, 1]) for i in ("whole", "band")}
    assert height["band"] < 0.6 * height["whole"]
    assert Catalog(GARMENTS).manifest("corset")["import"]["overrides"]["keep_height"] == [0.2, 0.64]
    bad = tryon_cli(*args, "--name", "bad", "--keep-height", "0.7", "0.2")
    assert bad.returncode == 2 and "keep_height" in bad.stderr


def test_makehuman_upload_keeps_only_its_own_files_and_obeys_the_limits(tmp_path):
    """A .mhclo in a folder with unrelated files and a link to /etc/passwd: only the garment's
    own files (the .mhclo, its mesh, material and thumbnail) become the kept original, and the
    size and triangle limits hold as for any other upload."""
    folder = tmp_path / "downloads"
    folder.mkdir()
    for f in (GARMENTS / "navy-longsleeve" / "original").iterdir():
        shutil.copy(f, folder / f.name)
    (folder / "my_passport.png").write_bytes(b"\x89PNG private")
    (folder / "secret.png").symlink_to("/etc/passwd")
    mhclo = next(folder.glob("*.mhclo"))
    catalog = tmp_path / "cat"
    proc = tryon_cli(
        "garments", "add", str(mhclo), "--category", "top", "--name", "Leak test", "--catalog", str(catalog)
    )
    assert proc.returncode == 0, proc.stderr
    kept = sorted(p.name for p in (catalog / "leak-test" / "original").iterdir())
    assert kept == sorted(f.name for f in (GARMENTS / "navy-longsleeve" / "original").iterdir())
    for args, code in ((["--max-triangles", "1000"], 15), (["--max-file-mb", "0.1"], 18)):
        proc = tryon_cli(
            "garments", "add", str(mhclo), "--category", "top", "--name", "Too big", "--catalog", str(catalog), *args
        )
        assert proc.returncode == code, (args, proc.returncode, proc.stderr)
    assert not (catalog / "too-big").exists()


def test_a_pair_of_shoes_in_one_file_gives_one_shoe_per_foot():
    """MakeHuman's shoes01.obj holds both shoes side by side: each foot gets one of them,
    shoe-sized, not the whole pair (and nothing is mirrored)."""
    from tryon.catalog.pipeline import ImportOptions, import_file

    result = import_file(
        GARMENTS / "brown-leather-shoes" / "original" / "shoes01.obj", ImportOptions(category="shoes", name="Pair")
    )
    assert not any("mirrored" in w for w in result.warnings)
    parts = result.garment.parts
    assert sorted(p.bone for p in parts) == ["foot.L", "foot.R"]
    for p in parts:
        width, length = np.ptp(p.positions[:, 0]), np.ptp(p.positions[:, 2])
        assert width < 0.15 and 0.2 < length < 0.36, (width, length)
