"""How items look: fabric kinds (guessed, stored, changed by refit), baked ambient occlusion,
smooth normals, the shipped fabric textures."""

from __future__ import annotations

import subprocess
import sys

import cv2
import numpy as np
import pytest
from helpers import ROOT

from tryon.body.mannequin import load_mannequin
from tryon.catalog.bake import bake_ambient_occlusion, smooth_normals
from tryon.catalog.bundled import original_file
from tryon.catalog.catalog import Catalog
from tryon.render.fabric import FABRICS, fabric_kind, guess_fabric, parse_fabric_spec
from tryon.render.fabric_textures import GENERATORS, height_map

GARMENTS = ROOT / "garments"


def tryon_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "tryon.cli", *args], capture_output=True, text=True, cwd=ROOT, timeout=300
    )


@pytest.mark.parametrize(
    ("item", "category", "material", "metallic", "kind"),
    [
        ("Blue jeans", "bottom", "male_casualsuit04", 0.0, "denim"),
        ("Navy long-sleeve tee", "top", "male_casualsuit02", 0.0, "jersey"),
        ("Burgundy shirt", "top", "male_casualsuit03", 0.0, "cotton"),
        ("Grey fedora", "hat", "fedora", 0.0, "wool"),
        ("Steel watch", "watch", "strap", 0.0, "leather"),
        ("Bangle", "bracelet", "gold", 1.0, "metal"),
        ("Red glasses", "glasses", "frame", 0.0, "plastic"),
        ("Evening gown", "top", "silk_panel", 0.0, "satin"),
        ("Thing", "shoes", "mat0", 0.0, "leather"),  # nothing said: the category's kind
    ],
)
def test_fabric_is_guessed_from_names_and_category(item, category, material, metallic, kind):
    assert guess_fabric(item, category, material, metallic) == kind


def test_fabric_names_and_specs():
    assert fabric_kind("Knit") == "jersey" and fabric_kind("silk") == "satin"
    assert parse_fabric_spec("wool") == {"*": "wool"}
    assert parse_fabric_spec("strap=leather, dial=metal") == {"strap": "leather", "dial": "metal"}
    with pytest.raises(ValueError, match="fabrics are"):
        parse_fabric_spec("cardboard")


def test_every_bundled_material_has_a_fabric_and_its_items_baked_occlusion():
    cat = Catalog(GARMENTS)
    for item_id in cat.ids():
        g = cat.get(item_id)
        assert all(m.fabric in FABRICS for m in g.materials), item_id
        assert all(p.ao is not None and 0.0 < p.ao.min() <= p.ao.max() <= 1.0 for p in g.parts), item_id
    assert {m.fabric for m in cat.get("blue-jeans").materials} == {"denim"}
    assert cat.manifest("blue-jeans")["materials"][0]["fabric"] == "denim"


def test_occlusion_is_darker_in_armpits_and_collar_than_on_the_chest():
    g = Catalog(GARMENTS).get("navy-longsleeve")
    sk = load_mannequin().skeleton
    p = g.parts[0]
    P, ao = p.positions, p.ao
    neck = sk.head("neck01")
    chest = (np.abs(P[:, 0]) < 0.06) & (np.abs(P[:, 1] - (neck[1] - 0.15)) < 0.05) & (p.normals[:, 2] > 0.7)
    collar = (np.linalg.norm(P[:, [0, 2]] - neck[[0, 2]], axis=1) < 0.1) & (P[:, 1] > P[:, 1].max() - 0.04)
    assert chest.sum() >= 5 and collar.sum() >= 5
    for side in ("L", "R"):
        shoulder = sk.head(f"upperarm01.{side}")
        pit = shoulder + np.array([-0.04 * np.sign(shoulder[0]), -0.09, 0.0])
        armpit = np.linalg.norm(P - pit, axis=1) < 0.05
        assert armpit.sum() >= 5
        assert ao[armpit].mean() < 0.6 < 0.95 < ao[chest].mean(), side
    assert ao[collar].mean() < ao[chest].mean() - 0.1
    # recomputing gives the stored values (reproducible)
    occ = load_mannequin().occluder
    again = bake_ambient_occlusion(P, p.normals, [(P, p.faces)], (occ.positions_m, occ.faces))
    assert np.allclose(again, ao, atol=1e-5)


def test_split_flat_shaded_vertices_get_smooth_normals_and_creases_stay():
    # a cylinder of 8 facets, every triangle with its own vertices (flat shaded), and a cap
    ang = np.linspace(0, 2 * np.pi, 9)[:-1]
    ring = np.stack([np.cos(ang), np.zeros(8), np.sin(ang)], axis=1)
    pos, faces = [], []
    for i in range(8):
        a, b = ring[i], ring[(i + 1) % 8]
        quad = [a, b, b + [0, 1, 0], a + [0, 1, 0]]
        k = len(pos)
        pos += quad
        faces += [[k, k + 1, k + 2], [k, k + 2, k + 3]]
    pos = np.array(pos, np.float32)
    faces = np.array(faces, np.int32)
    flat = np.repeat(np.cross(pos[faces[::2, 1]] - pos[faces[::2, 0]], pos[faces[::2, 2]] - pos[faces[::2, 0]]), 4, 0)
    flat /= np.linalg.norm(flat, axis=1)[:, None]
    smooth = smooth_normals(pos, faces, flat.astype(np.float32))
    radial = pos[:, [0, 2]] / np.linalg.norm(pos[:, [0, 2]], axis=1)[:, None]
    assert np.allclose(np.abs(smooth[:, [0, 2]]), np.abs(radial), atol=1e-5)  # smooth: radial at the corners
    kept = smooth_normals(pos, faces, flat.astype(np.float32), crease_deg=20)
    assert np.allclose(kept, flat, atol=1e-6)  # 45-degree edges, sharper than the crease angle: kept


def test_shipped_fabric_textures_are_what_the_generator_makes():
    for kind in GENERATORS:
        shipped = cv2.imread(str(ROOT / "tryon" / "data" / "fabrics" / f"{kind}.png"), cv2.IMREAD_GRAYSCALE)
        assert shipped is not None, kind
        assert np.abs(shipped.astype(int) - height_map(kind).astype(int)).max() <= 1, kind
        assert shipped.std() > 10  # a relief, not a flat grey
        # tileable: the wrap-around step is like any other step
        wrap = np.abs(shipped[0].astype(int) - shipped[-1].astype(int)).mean()
        assert wrap < 3 * np.abs(np.diff(shipped.astype(int), axis=0)).mean()


@pytest.mark.slow
def test_fabric_is_set_at_import_stored_and_changed_by_refit(tmp_path):
    catalog = tmp_path / "cat"
    watch = original_file("steel-watch", GARMENTS)
    add = tryon_cli("garments", "add", str(watch), "--category", "watch", "--name", "W", "--catalog", str(catalog),
                    "--no-preview", "--fabric", "strap=technical")  # fmt: skip
    assert add.returncode == 0, add.stderr
    m = Catalog(catalog).manifest("w")
    assert {e["name"]: e["fabric"] for e in m["materials"]} == {"default": "metal", "strap": "technical"}
    refit = tryon_cli("garments", "refit", "w", "--fabric", "strap=leather", "--catalog", str(catalog), "--no-preview")
    assert refit.returncode == 0, refit.stderr
    g = Catalog(catalog).get("w")
    assert {mat.name: mat.fabric for mat in g.materials} == {"default": "metal", "strap": "leather"}
    assert Catalog(catalog).manifest("w")["import"]["overrides"]["fabric"] == "strap=leather"
    bad = tryon_cli("garments", "refit", "w", "--fabric", "cardboard", "--catalog", str(catalog), "--no-preview")
    assert bad.returncode != 0 and "fabrics are" in bad.stderr
    wrong = tryon_cli("garments", "refit", "w", "--fabric", "lace=wool", "--catalog", str(catalog), "--no-preview")
    assert wrong.returncode != 0 and "'strap'" in wrong.stderr
