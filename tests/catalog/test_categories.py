"""The category table is the one place a category's facts live: every module reads it, none
spells a category's name in a condition, and a new category is one record plus its fitter."""

from __future__ import annotations

import argparse
import ast
from pathlib import Path

import numpy as np
import pytest
from helpers import tube_part

from tryon.body.skeleton import BONE_NAMES
from tryon.catalog import categories
from tryon.catalog.assets import RawPart
from tryon.catalog.categories import CATEGORIES, Category, SizeRule, from_word, lookup
from tryon.catalog.fit import accessories, fit
from tryon.catalog.fit.anchors import anchors
from tryon.catalog.fit.mesh import all_points, transform_parts
from tryon.catalog.item import Attachment, Garment, Material, MeshPart
from tryon.details import DetailOptions, needed
from tryon.mirror.ui import SLOTS, CatalogEntry, Outfit, Wardrobe
from tryon.sizing import DEFAULT_CHARTS, chart_for

ROOT = Path(__file__).resolve().parents[2]
#: The table itself and the table of rigid fitters (keyed by category name) may name categories.
TABLES = {ROOT / "tryon/catalog/categories.py", ROOT / "tryon/catalog/fit/accessories.py"}


# -- no category names in conditions ------------------------------------------------------------
def _mentions_category(node: ast.AST) -> bool:
    """Whether an expression is a category value: a name or attribute called *category*."""
    if isinstance(node, ast.Name):
        return "category" in node.id.lower()
    if isinstance(node, ast.Attribute):
        return "category" in node.attr.lower()
    return False


def _category_literals(node: ast.AST) -> set[str]:
    return {
        n.value for n in ast.walk(node) if isinstance(n, ast.Constant) and isinstance(n.value, str)
    } & set(CATEGORIES)


def _is_constant_set(node: ast.AST) -> bool:
    """An ALL-CAPS module constant other than the table (a hand-made set of categories)."""
    name = node.id if isinstance(node, ast.Name) else node.attr if isinstance(node, ast.Attribute) else ""
    return name.isupper() and name != "CATEGORIES"


def category_conditions(source: str) -> list[int]:
    """Lines of ``source`` that decide by a category's name: ``category == "ring"``,
    ``item.category in WIRE_JEWELRY``, ``{"hat": "head"}.get(category)``."""
    lines = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Compare):
            operands = [node.left, *node.comparators]
            for k, op in enumerate(operands):
                others = operands[:k] + operands[k + 1 :]
                if _mentions_category(op) and any(_category_literals(o) or _is_constant_set(o) for o in others):
                    lines.append(node.lineno)
                    break
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "get":
            if isinstance(node.func.value, ast.Dict) and any(_mentions_category(a) for a in node.args):
                keys = {k.value for k in node.func.value.keys if isinstance(k, ast.Constant)}
                if keys & set(CATEGORIES):
                    lines.append(node.lineno)
        elif isinstance(node, ast.Subscript) and isinstance(node.value, ast.Dict) and _mentions_category(node.slice):
            lines.append(node.lineno)
    return sorted(set(lines))


def test_the_scan_finds_decisions_by_category_name():
    bad = """
if category == "shoes": pass
if item.category in WIRE_JEWELRY: pass
bone = {"hat": "head", "necklace": "spine01"}.get(category, "head")
piece = {"top": "top"}[options.category]
ok = key in CATEGORIES or item.category in CATEGORIES
"""
    assert category_conditions(bad) == [2, 3, 4, 5]


def test_no_module_outside_the_tables_decides_by_a_category_name():
    found = {}
    for path in sorted((ROOT / "tryon").rglob("*.py")):
        if path in TABLES:
            continue
        lines = category_conditions(path.read_text())
        if lines:
            found[str(path.relative_to(ROOT))] = lines
    assert not found, f"category names in conditions (move the fact into categories.py): {found}"


# -- the records ------------------------------------------------------------------------------------
def test_every_record_is_consistent_with_the_rest_of_the_system():
    words = {}
    for name, kind in CATEGORIES.items():
        assert kind.name == name
        assert kind.slot in SLOTS, name
        if kind.is_rigid:
            assert kind.bone in BONE_NAMES, name
            assert kind.right_bone is None or kind.right_bone in BONE_NAMES, name
            assert name in accessories.ACCESSORY_FITTERS, f"{name}: a rigid category needs its fitter"
        if kind.size_chart is not None:
            assert kind.size_chart in DEFAULT_CHARTS, name
        for word in kind.synonyms:
            assert word not in CATEGORIES and word not in words, (name, word)
            words[word] = name
    assert set(accessories.ACCESSORY_FITTERS) == {n for n, k in CATEGORIES.items() if k.is_rigid}


def test_bad_records_and_unknown_names_are_refused():
    with pytest.raises(ValueError, match="rigid one needs"):
        Category("brooch", "a brooch", skinned=False, size=SizeRule("max", 0.01, 0.1))
    with pytest.raises(ValueError, match="hand model"):
        Category("glove", "a glove", skinned=False, size=SizeRule("max", 0.1, 0.3), bone="wrist.L", detail="hand")
    with pytest.raises(ValueError, match="size measure"):
        SizeRule("girth", 0.1, 0.2)
    with pytest.raises(ValueError, match="unknown category 'cape'; choose one of: top, bottom"):
        lookup("cape")
    assert from_word(" Sun_Glasses ") == "sun-glasses"  # not a synonym: passed on for the message
    assert from_word("Sneakers") == "shoes" and from_word("FULL outfit") == "full-outfit"


# -- a new category -------------------------------------------------------------------------------
HEADBAND = Category(
    "headband",
    "a headband",
    skinned=False,
    size=SizeRule("width", 0.1, 0.3),
    bone="head",
    layer_bias_m=0.005,
    under_hands_and_hair=True,
    detail="face",
    slot="head",
    synonyms=("hairband", "alice-band"),
)
TABARD = Category(
    "tabard",
    "a tabard",
    skinned=True,
    size=SizeRule("height", 0.4, 1.1),
    clip_to_person=True,
    under_hands_and_hair=True,
    slot="top",
    size_chart="top",
    hang_from="nape",
    hang_offset_m=-0.01,
)


def _place_on_crown(parts, kind, a, report, plausible):
    """The headband's fitter: its middle on the crown of the head."""
    pts = all_points(parts)
    centre = 0.5 * (pts.min(axis=0) + pts.max(axis=0))
    return transform_parts(parts, np.eye(3), 1.0, a.head_top - centre), [kind.bone] * len(parts)


def box(size_xyz, centre=(0.0, 0.0, 0.0)) -> RawPart:
    """A closed box, outward winding."""
    sx, sy, sz = np.asarray(size_xyz) / 2
    corners = np.array([[x, y, z] for x in (-sx, sx) for y in (-sy, sy) for z in (-sz, sz)]) + centre
    faces = np.array(
        [[0, 1, 3], [0, 3, 2], [4, 6, 7], [4, 7, 5], [0, 4, 5], [0, 5, 1],
         [2, 3, 7], [2, 7, 6], [0, 2, 6], [0, 6, 4], [1, 5, 7], [1, 7, 3]]
    )  # fmt: skip
    return RawPart(corners.astype(np.float64), faces.astype(np.int64))


@pytest.fixture
def new_categories(monkeypatch):
    """A rigid and a skinned category added through the table (and the rigid one's fitter)."""
    monkeypatch.setitem(CATEGORIES, "headband", HEADBAND)
    monkeypatch.setitem(CATEGORIES, "tabard", TABARD)
    monkeypatch.setitem(
        accessories.ACCESSORY_FITTERS,
        "headband",
        accessories.AccessoryFitter(_place_on_crown, lambda a: [a.head_top]),
    )


def test_a_new_category_is_one_record_plus_its_fitter(new_categories, tmp_path):
    from tryon.catalog.cli import add_garments_parser
    from tryon.catalog.pipeline import ImportOptions, import_file

    # The item type, the import options and the command line know it (synonyms included).
    ImportOptions(category="headband", name="Band")
    parser = argparse.ArgumentParser()
    add_garments_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["garments", "add", "band.obj", "--category", "Alice band", "--name", "Band"])
    assert args.category == "headband"
    # The detail stage runs the face mesh for it; the mirror puts it in its slot; no sizes.
    assert needed(["headband"], DetailOptions()) == (True, ())
    wardrobe = Wardrobe([CatalogEntry("band", "Band", "headband"), CatalogEntry("tb", "Tabard", "tabard")])
    assert [e.id for e in wardrobe.by_slot["head"]] == ["band"]
    assert Outfit(wardrobe, ["band", "tb"]).specs() == ["tb", "band"]
    assert chart_for({}, "headband") is None and chart_for({}, "tabard") is DEFAULT_CHARTS["top"]

    # Imported from a file: units from its size rule (200 mm wide), placed by its fitter,
    # riding its bone, drawn as its record says.
    obj = tmp_path / "band.obj"
    b = box((200.0, 30.0, 180.0))
    vertices = "".join(f"v {x} {y} {z}\n" for x, y, z in b.positions)
    obj.write_text(vertices + "".join(f"f {i + 1} {j + 1} {k + 1}\n" for i, j, k in b.faces))
    result = import_file(obj, ImportOptions(category="headband", name="Band"))
    g = result.garment
    assert result.manifest["units"]["file"] == "mm"
    assert g.is_rigid and g.attachment.bone == "head" and all(p.bone == "head" for p in g.parts)
    assert not g.clip_to_person and g.keepout and g.layer_bias_m == 0.005
    centre = 0.5 * (g.parts[0].positions.min(axis=0) + g.parts[0].positions.max(axis=0))
    assert np.linalg.norm(centre - anchors().head_top) < 1e-4

    # A skinned category needs no fitter of its own: the clothes fitter hangs it (no higher
    # than its record's hang point) and hugs the trunk with it.
    tabard = _tube(height=0.6, radius_x=0.2, radius_z=0.14)
    fitted = fit([tabard], "tabard", "m", "y")
    assert fitted.bones == [None] and fitted.report.distance_m < 0.06
    top = max(p.positions[:, 1].max() for p in fitted.parts)
    assert top < anchors().nape[1] - 0.01 + 0.05
    part = MeshPart(np.zeros((3, 3), np.float32), np.zeros((3, 3), np.float32), np.array([[0, 1, 2]], np.int32))
    with pytest.raises(ValueError, match="every part needs skin weights"):
        Garment("t", "T", "tabard", [part], [Material("m")])
    Garment("h", "H", "headband", [part], [Material("m")], attachment=Attachment("head"))


_tube = tube_part


def test_the_module_table_is_the_only_table():
    """The old per-module copies are gone: each fact is read from the record."""
    import tryon.catalog.cli as cli
    import tryon.catalog.item as item
    import tryon.deform as deform
    import tryon.details as details
    import tryon.mirror.ui as ui
    import tryon.sizing as sizing

    assert item.CATEGORIES is categories.CATEGORIES
    for module, name in [
        (item, "LAYER_BIAS_M"),
        (item, "UNDER_HANDS_AND_HAIR"),
        (deform, "WIRE_JEWELRY"),
        (details, "FACE_CATEGORIES"),
        (details, "HAND_CATEGORIES"),
        (ui, "SLOT_CATEGORIES"),
        (ui, "COVERS_BOTTOM"),
        (sizing, "CATEGORY_CHART"),
        (cli, "CATEGORY_SYNONYMS"),
    ]:
        assert not hasattr(module, name), f"{module.__name__}.{name} restates the category table"
