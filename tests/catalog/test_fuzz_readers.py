"""Property-based fuzzing of the upload readers (hypothesis): whatever bytes a glTF, OBJ, PLY,
STL, ``.mhclo`` or size chart holds, the reader returns or refuses in words (its own error type),
and nothing it returns holds NaN or infinity after validation.

Each reader runs twice: a short version in the fast tier (a few examples) and a longer one in
the full suite (``slow``); together the long ones stay around a minute. The seeds are fixed
(``derandomize``) so a failure reproduces. The long fuzz run with memory and time measured per
import is ``tools/fuzz_imports.py``.
"""

from __future__ import annotations

import json
import random
import shutil
from pathlib import Path

import numpy as np
import pytest
import trimesh
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tryon.body import makehuman as mh
from tryon.catalog import hostile
from tryon.catalog.assets import AssetError
from tryon.catalog.formats import load_asset
from tryon.catalog.repair import validate_and_repair
from tryon.sizing import SizeChart

ROOT = Path(__file__).resolve().parents[2]
GARMENTS = ROOT / "garments"
TIERS = [pytest.param(3, id="short"), pytest.param(60, id="long", marks=pytest.mark.slow)]


def run(examples: int):
    return settings(
        max_examples=examples,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.function_scoped_fixture],
    )


def mutated(data: bytes, seed: int, rounds: int) -> bytes:
    rng = random.Random(seed)
    for _ in range(rounds):
        data = hostile.mutate_bytes(data, rng)
    return data


def read_and_check(path: Path) -> None:
    """Load and validate ``path``: an AssetError is a fine answer; anything returned is finite."""
    try:
        asset = validate_and_repair(load_asset(path))
    except AssetError as exc:
        assert exc.message and "Traceback" not in exc.message
        return
    for p in asset.parts:
        assert np.isfinite(p.positions).all() and np.isfinite(p.normals).all()
        assert p.uvs is None or np.isfinite(p.uvs).all()


@pytest.fixture(scope="module")
def sources(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("sources")
    out = {}
    for item, main in (("red-glasses", "glasses.obj"),):
        shutil.copytree(GARMENTS / item / "original", root / item)
        out[item] = root / item / main
    out["glb"] = GARMENTS / "bangle" / "original" / "bangle.glb"
    (root / "gltf").mkdir()
    out["gltf"] = hostile._textured_gltf(root / "gltf", "t.png", hostile.png_bytes(16, 16))
    box = trimesh.creation.box(extents=(0.3, 0.2, 0.25))
    for fmt in ("ply", "stl"):
        box.export(root / f"box.{fmt}")
        out[fmt] = root / f"box.{fmt}"
    out["mhclo"] = GARMENTS / "black-dress-shoes" / "original" / "shoes03.mhclo"
    return out


@pytest.mark.parametrize("examples", TIERS)
def test_gltf_json_mutations(tmp_path, sources, examples):
    """A small textured .gltf (a real sneaker's 2048 px textures would make each example slow)."""
    src = sources["gltf"]
    text = src.read_text()

    @run(examples)
    @given(st.integers(0, 2**32))
    def check(seed):
        folder = tmp_path / "u"
        shutil.rmtree(folder, ignore_errors=True)
        shutil.copytree(src.parent, folder)
        (folder / src.name).write_text(hostile.mutate_json(text, random.Random(seed)))
        read_and_check(folder / src.name)

    check()


@pytest.mark.parametrize("examples", TIERS)
def test_glb_byte_mutations(tmp_path, sources, examples):
    data = sources["glb"].read_bytes()

    @run(examples)
    @given(st.integers(0, 2**32), st.integers(1, 4))
    def check(seed, rounds):
        path = tmp_path / "x.glb"
        path.write_bytes(mutated(data, seed, rounds))
        read_and_check(path)

    check()


@pytest.mark.parametrize("examples", TIERS)
def test_obj_text(tmp_path, sources, examples):
    """Mutations of the real glasses OBJ, and OBJ text made from scratch out of its keywords."""
    data = sources["red-glasses"].read_bytes()
    words = st.sampled_from(["v", "vt", "vn", "f", "usemtl", "mtllib", "g", "#", "l", "p", "-1", "0", "1", "2/1/1"])
    numbers = st.one_of(st.integers(-5, 5).map(str), st.sampled_from(["nan", "inf", "1e308", "-0", "x", "//", "3/"]))
    line = st.lists(st.one_of(words, numbers), min_size=1, max_size=6).map(" ".join)

    @run(examples)
    @given(st.integers(0, 2**32), st.integers(1, 3), st.lists(line, max_size=30))
    def check(seed, rounds, lines):
        folder = tmp_path / "u"
        shutil.rmtree(folder, ignore_errors=True)
        shutil.copytree(sources["red-glasses"].parent, folder)
        (folder / "glasses.obj").write_bytes(mutated(data, seed, rounds))
        read_and_check(folder / "glasses.obj")
        (folder / "made.obj").write_text("v 0 0 0\nv 1 0 0\nv 0 1 0\n" + "\n".join(lines))
        read_and_check(folder / "made.obj")

    check()


@pytest.mark.parametrize("examples", TIERS)
@pytest.mark.parametrize("fmt", ["ply", "stl"])
def test_ply_stl_mutations(tmp_path, sources, examples, fmt):
    data = sources[fmt].read_bytes()

    @run(examples)
    @given(st.integers(0, 2**32), st.integers(1, 4))
    def check(seed, rounds):
        path = tmp_path / f"x.{fmt}"
        path.write_bytes(mutated(data, seed, rounds))
        read_and_check(path)

    check()


@pytest.mark.parametrize("examples", TIERS)
def test_mhclo_mutations(tmp_path, sources, examples):
    """The .mhclo reader and its fit: refused with MakeHumanFormatError or read into finite,
    in-range numbers."""
    data = sources["mhclo"].read_bytes()
    body = np.random.default_rng(0).normal(size=(mh.HM08_VERTICES, 3)) * 5.0

    @run(examples)
    @given(st.integers(0, 2**32), st.integers(1, 4))
    def check(seed, rounds):
        path = tmp_path / "x.mhclo"
        path.write_bytes(mutated(data, seed, rounds))
        try:
            clothes = mh.read_mhclo(path)
            fitted = clothes.fit(body)
        except mh.MakeHumanFormatError as exc:
            assert str(exc)
            return
        assert np.isfinite(fitted).all()
        assert len(clothes.delete_verts) == 0 or clothes.delete_verts.max() < mh.HM08_VERTICES

    check()


@pytest.mark.parametrize("examples", TIERS)
def test_size_chart_json(examples):
    """Any JSON value (nested, non-finite, wrong types) as a size chart: a chart or a ValueError."""
    leaf = st.one_of(
        st.none(), st.booleans(), st.integers(-(2**70), 2**70), st.floats(allow_nan=True), st.text(max_size=5)
    )
    value = st.recursive(
        leaf, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    )
    spec = st.dictionaries(st.sampled_from(["chest", "height", "x"]), value, max_size=2)
    chart = st.fixed_dictionaries(
        {"sizes": st.dictionaries(st.sampled_from(["S", "M", "L"]), spec, max_size=3)},
        optional={"unit": st.sampled_from(["cm", "in", "ft"]), "weights": value},
    )

    @run(examples * 3)
    @given(st.one_of(chart, value), st.integers(0, 60))
    def check(doc, depth):
        text = json.dumps(doc)
        if depth > 40:
            text = hostile.nested_json(depth * 1000)
        try:
            parsed = SizeChart.from_json(text)
        except ValueError as exc:
            assert str(exc)
            return
        for spec in parsed.ranges.values():
            for lo, hi in spec.values():
                assert np.isfinite([lo, hi]).all() and 0 < lo < hi
        assert np.isfinite(list(parsed.weights.values())).all()

    check()
