"""Hostile uploads (issue 16): memory bombs refused or read within a budget, nothing non-finite
stored, every refusal in plain words with its own exit code. The files are built here, small on
disk and big in what they declare (:mod:`tryon.catalog.hostile`)."""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tryon.body import makehuman as mh
from tryon.catalog import hostile
from tryon.catalog.assets import (
    BadCoordinatesError,
    BufferMismatchError,
    TooManyTrianglesError,
    UnreadableFileError,
)
from tryon.catalog.catalog import Catalog
from tryon.catalog.cli import ImportTookTooLong, import_budget
from tryon.catalog.formats import load_asset
from tryon.catalog.formats.images import KEPT_TEXTURE_SIDE, TextureBudget, decode_image
from tryon.catalog.item import Attachment, Garment, Material, MeshPart
from tryon.catalog.pipeline import ImportOptions, import_file

ROOT = Path(__file__).resolve().parents[2]


def tryon_cli(*args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    env.pop("TRYON_CATALOG", None)
    return subprocess.run([sys.executable, "-m", "tryon", *args], capture_output=True, text=True, env=env, timeout=300)


def plain_refusal(out: subprocess.CompletedProcess, code: int) -> str:
    """The one error line of a refusal with exit ``code``, asserting no Python internals."""
    assert out.returncode == code, (out.returncode, out.stderr)
    for internal in ("Traceback", "Error:", "IndexError", "ValueError", "RecursionError", "invalid literal"):
        assert internal not in out.stderr, out.stderr
    return out.stderr.strip().splitlines()[-1]


def peak_rss_mb(*lines: str) -> tuple[float, float]:
    """(peak RSS in MB of a fresh Python after its imports, its peak after running ``lines``)."""
    script = "\n".join(
        [
            "import resource, sys",
            f"sys.path.insert(0, {str(ROOT)!r})",
            "from pathlib import Path",
            "from tryon.catalog.formats import load_asset",
            "from tryon.catalog.repair import validate_and_repair",
            "base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss",
            *lines,
            "print(base / 1024, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)",
        ]
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr
    base, peak = map(float, out.stdout.split()[-2:])
    return base, peak


# -- images: the size the decoder reads, 16-bit PNGs, a budget per import --------------------


def test_jpeg_with_a_stray_byte_is_refused_by_the_decoders_own_size(tmp_path):
    """24000^2 px declared, a stray byte after the first segment (the old header reader gave up
    and the decoder went ahead): the decoder's own header says 24000x24000, refused before decoding."""
    asset = load_asset(hostile.jpeg_bomb(tmp_path))
    assert asset.materials[0].base_texture is None
    assert any("24000x24000 pixels, over the 8192 limit" in w for w in asset.warnings), asset.warnings


@pytest.mark.slow  # a subprocess, or seconds of CPU
def test_16_bit_png_is_decoded_to_8_bits_reduced_and_within_memory(tmp_path):
    data = hostile.png_bytes(8190, 8190, bit_depth=16, colour_type=2)
    assert len(data) < 600_000  # ~520 KB on disk
    (tmp_path / "t.png").write_bytes(data)
    base, peak = peak_rss_mb(
        "from tryon.catalog.formats.images import decode_image",
        f"img = decode_image(Path({str(tmp_path / 't.png')!r}).read_bytes(), 't', [])",
        "assert img is not None and img.dtype.name == 'uint8' and img.shape == (2048, 2048, 4), img",
    )
    # a 16-bit RGB decode alone is 400 MB, and the old path peaked at 1.4 GB
    assert peak - base < 450, (base, peak)


def test_textures_of_one_import_share_a_pixel_budget():
    img = hostile.png_bytes(KEPT_TEXTURE_SIDE + 50, KEPT_TEXTURE_SIDE + 50, bit_depth=8, colour_type=2)
    side = (KEPT_TEXTURE_SIDE + 50 + 1) // 2  # reduced by 2
    budget = TextureBudget(pixels_left=side**2 * 2)
    warnings: list[str] = []
    got = [decode_image(img, f"'t{i}.png'", warnings, budget) for i in range(3)]
    assert [g is not None for g in got] == [True, True, False]
    assert got[0].shape == (side, side, 4)
    assert "textures together exceed" in warnings[-1]


# -- counts checked before anything is allocated ---------------------------------------------


@pytest.mark.slow
def test_obj_of_one_face_repeated_stays_small(tmp_path):
    """One triangle written a million times (10 MB): the reader keeps compact arrays, not a Python
    object per corner (the old one peaked at ~100x the file's size)."""
    path = hostile.obj_repeated_face(tmp_path, 1_000_000)
    size_mb = path.stat().st_size / 1e6
    base, peak = peak_rss_mb(
        f"asset = validate_and_repair(load_asset(Path({str(path)!r})))",
        "assert sum(len(p.faces) for p in asset.parts) == 1",
    )
    assert peak - base < 30 * size_mb, (base, peak, size_mb)


def test_mhclo_delete_range_is_never_expanded():
    """A 41-byte line ``0 - 6000000``: refused against the body's vertex count at once (the old
    reader built a list of six million ints, or sixty million: 5.5 GB)."""
    with pytest.raises(mh.MakeHumanFormatError, match="delete_verts names vertex 6000000, but the body has 19,158"):
        mh._parse_ranges(["0", "-", "6000000"], "x.mhclo")
    assert mh._parse_ranges(["19150", "-", "19157"], "x.mhclo").tolist() == list(range(19150, 19158))


@pytest.mark.slow  # a subprocess, or seconds of CPU
def test_mhclo_delete_range_bomb_is_refused_by_the_cli(tmp_path):
    path = hostile.mhclo_delete_range(tmp_path, 60_000_000)
    out = tryon_cli(
        "garments", "add", str(path), "--category", "shoes", "--name", "x", "--catalog", str(tmp_path / "cat"),
        "--no-preview",
    )  # fmt: skip
    assert "delete_verts names vertex 60000000" in plain_refusal(out, 10)
    assert not (tmp_path / "cat" / "x").exists()


@pytest.mark.parametrize("encoding", ["binary", "ascii"])
def test_ply_element_counts_are_checked_against_the_data(tmp_path, encoding):
    """An ASCII PLY declaring 200 million faces over 372 bytes was read as if nothing were wrong."""
    import re

    import trimesh

    data = trimesh.exchange.ply.export_ply(trimesh.creation.box(), encoding=encoding)
    path = tmp_path / "box.ply"
    path.write_bytes(re.sub(rb"element face \d+", b"element face 200000000", data, count=1))
    with pytest.raises(UnreadableFileError, match="declares 200,000,000 'face' elements, more than its"):
        load_asset(path)


def test_gltf_accessor_without_data_cannot_declare_more_than_the_file_holds(tmp_path):
    path = hostile._textured_gltf(tmp_path, "t.png", hostile.png_bytes(4, 4))
    doc = json.loads(path.read_text())
    doc["accessors"][0] = {"componentType": 5126, "count": 16_000_000, "type": "VEC3"}  # 192 MB of zeros
    path.write_text(json.dumps(doc))
    with pytest.raises(BufferMismatchError, match="declares 16,000,000 elements without any data"):
        load_asset(path)


# -- nothing non-finite is stored -------------------------------------------------------------


@pytest.mark.parametrize(
    ("column", "value", "phrase"),
    [(4, "nan", "weight is 'nan'"), (7, "inf", "offset is 'inf'"), (3, "1e308", "at infinity")],
)
def test_mhclo_non_finite_numbers_are_refused(tmp_path, column, value, phrase):
    path = hostile.mhclo_ref_value(tmp_path, column, value, row=5)
    with pytest.raises(BadCoordinatesError, match=phrase):
        import_file(path, ImportOptions(category="shoes", name="x"))


def test_mhclo_zero_scale_distance_is_refused(tmp_path):
    path = hostile.mhclo_scale_line(tmp_path, "x_scale 12839 12860 0")
    with pytest.raises(UnreadableFileError, match="x_scale distance is 0; it must be above 0"):
        import_file(path, ImportOptions(category="shoes", name="x"))


def test_the_catalog_refuses_to_store_non_finite_numbers(tmp_path):
    part = MeshPart(
        positions=np.array([[0, 0, 0], [1, 0, 0], [0, np.nan, 0]], np.float32),
        normals=np.tile(np.float32([0, 0, 1]), (3, 1)),
        faces=np.array([[0, 1, 2]], np.int32),
    )
    g = Garment(
        id="broken", name="Broken", category="hat", parts=[part], materials=[Material("m")],
        attachment=Attachment("head"),
    )
    cat = Catalog(tmp_path / "cat")
    with pytest.raises(BadCoordinatesError, match="NaN or infinite values in part 0 positions"):
        cat.store(g)
    assert not (tmp_path / "cat" / "broken").exists()


@pytest.mark.slow  # the CLI in a subprocess
@pytest.mark.parametrize(("option", "values"), [("--offset", ["0", "inf", "0"]), ("--rotate", ["nan", "0", "0"])])
def test_non_finite_fit_options_are_refused(tmp_path, option, values):
    glb = ROOT / "garments" / "bangle" / "original" / "bangle.glb"
    out = tryon_cli(
        "garments", "add", str(glb), "--category", "bracelet", "--name", "x", "--catalog", str(tmp_path / "cat"),
        "--no-preview", option, *values,
    )  # fmt: skip
    assert "is not a finite number" in plain_refusal(out, 2)


# -- every refusal in plain words, its own exit code ------------------------------------------


@pytest.mark.slow  # a subprocess, or seconds of CPU
def test_mhclo_scale_vertex_out_of_range_is_plain_words(tmp_path):
    """An IndexError traceback before."""
    path = hostile.mhclo_scale_line(tmp_path, "x_scale 99999 12860 0.7045")
    out = tryon_cli(
        "garments", "add", str(path), "--category", "shoes", "--name", "x", "--catalog", str(tmp_path / "cat"),
        "--no-preview",
    )  # fmt: skip
    assert "x_scale 99999 is not a vertex of the body (it has 19,158" in plain_refusal(out, 10)


@pytest.mark.slow  # the CLI in a subprocess
@pytest.mark.parametrize(
    ("edit", "phrase"),
    [
        (lambda ls: ls[:40] + [" ".join(ls[40].split()[:5])] + ls[41:], "a vertex reference needs 9 numbers"),
        (lambda ls: [("z_depth deep" if ln.startswith("z_depth") else ln) for ln in ls], "z_depth 'deep'"),
        (lambda ls: ls[:40] + ["1 2 3 0.5 0.5 x 0 0 0"] + ls[41:], "weight 'x' is not a number"),
    ],
)
def test_mhclo_bad_numbers_are_exit_10_not_a_bad_command_line(tmp_path, edit, phrase):
    """Exit 2 ('bad command line') with Python's own words before."""
    path = hostile.mhclo_edit(tmp_path, edit)
    out = tryon_cli(
        "garments", "add", str(path), "--category", "shoes", "--name", "x", "--catalog", str(tmp_path / "cat"),
        "--no-preview",
    )  # fmt: skip
    assert phrase in plain_refusal(out, 10)


@pytest.mark.slow  # the CLI in a subprocess
@pytest.mark.parametrize(
    ("text", "phrase"),
    [
        (hostile.nested_json(100_000), "nested more than 32 levels deep"),
        ('{"sizes": {"S": {"chest": [86, Infinity]}}}', "Infinity, which is not a number"),
        ('{"sizes": {"S": {"chest": [86, 1e999]}}}', "must be finite numbers"),
    ],
)
def test_size_chart_refusals_are_plain_words(tmp_path, text, phrase):
    """A RecursionError traceback (nested), an infinite bound stored (Infinity) before."""
    chart = tmp_path / "chart.json"
    chart.write_text(text)
    glb = ROOT / "garments" / "bangle" / "original" / "bangle.glb"
    out = tryon_cli(
        "garments", "add", str(glb), "--category", "bracelet", "--name", "x", "--catalog", str(tmp_path / "cat"),
        "--no-preview", "--size-chart", str(chart),
    )  # fmt: skip
    assert phrase in plain_refusal(out, 2)


@pytest.mark.slow  # a subprocess, or seconds of CPU
def test_max_triangles_above_the_hard_cap_is_refused(tmp_path):
    glb = ROOT / "garments" / "bangle" / "original" / "bangle.glb"
    out = tryon_cli(
        "garments", "add", str(glb), "--category", "bracelet", "--name", "x", "--catalog", str(tmp_path / "cat"),
        "--no-preview", "--max-triangles", "50000000",
    )  # fmt: skip
    assert "is above 2,000,000, the most any upload may have" in plain_refusal(out, 2)
    out = tryon_cli(
        "garments", "add", str(glb), "--category", "bracelet", "--name", "x", "--catalog", str(tmp_path / "cat"),
        "--no-preview", "--max-file-mb", "200",
    )  # fmt: skip
    assert "--max-file-mb 200 is above 64, the most any upload file may have" in plain_refusal(out, 2)
    out = tryon_cli(
        "garments", "add", str(glb), "--category", "bracelet", "--name", "x", "--catalog", str(tmp_path / "cat"),
        "--no-preview", "--max-file-mb", "0",
    )  # fmt: skip
    assert "--max-file-mb: 0 must be more than 0" in plain_refusal(out, 2)


def test_import_limits_cannot_be_raised_past_the_hard_file_limit():
    from tryon.catalog.assets import MAX_FILE_BYTES, ImportLimits

    assert ImportLimits().max_file_bytes == MAX_FILE_BYTES
    with pytest.raises(ValueError, match="64 MiB"):
        ImportLimits(max_file_bytes=MAX_FILE_BYTES + 1)
    with pytest.raises(ValueError):
        ImportLimits(max_file_bytes=0)


def _lower_cap(monkeypatch, cap: int) -> None:
    """The hard triangle cap lowered to ``cap`` in every reader that checks it (and its message)."""
    from tryon.catalog.formats import gltf, obj, ply_stl, safety

    for module in (safety, gltf, obj, ply_stl):
        monkeypatch.setattr(module, "HARD_TRIANGLE_CAP", cap)


@pytest.mark.parametrize("fmt", ["glb", "ply", "stl-binary", "stl-ascii", "obj"])
def test_every_mesh_format_is_held_to_the_hard_triangle_cap(tmp_path, monkeypatch, fmt):
    """An upload over the cap is refused (exit 15) from its declared counts, in words that tell the
    retailer to decimate first; one at the cap is read."""
    import trimesh

    box = trimesh.creation.box()  # 12 triangles
    if fmt == "glb":
        path = hostile.glb_at_limit(tmp_path, 20_000)
        n = len(load_asset(path).parts[0].faces)
    elif fmt == "obj":
        path = hostile.obj_grid(tmp_path, 12)
        n = len(load_asset(path).parts[0].faces)
    else:
        path = tmp_path / f"box.{fmt[:3]}"
        if fmt == "ply":
            path.write_bytes(trimesh.exchange.ply.export_ply(box, encoding="binary"))
        elif fmt == "stl-binary":
            path.write_bytes(trimesh.exchange.stl.export_stl(box))
        else:
            path.write_text(trimesh.exchange.stl.export_stl_ascii(box))
        n = 12
    _lower_cap(monkeypatch, n)
    assert len(load_asset(path).parts[0].faces) == n
    _lower_cap(monkeypatch, n - 1)
    with pytest.raises(TooManyTrianglesError) as err:
        load_asset(path)
    assert err.value.exit_code == 15
    assert f"more than {n - 1:,} triangles, the most any upload may have" in err.value.message
    assert "decimate it in your 3D tool" in err.value.message


# -- the last line: a memory and time cap for the import --------------------------------------


def test_import_budget_turns_a_runaway_allocation_into_memory_error():
    before = resource.getrlimit(resource.RLIMIT_AS)
    with import_budget(memory_bytes=300 * 1024**2):
        with pytest.raises(MemoryError):
            np.empty(600 * 1024**2, np.uint8)
    assert np.empty(600 * 1024**2, np.uint8).size  # restored afterwards
    assert resource.getrlimit(resource.RLIMIT_AS) == before


@pytest.mark.slow  # a subprocess, or seconds of CPU
def test_import_budget_stops_a_runaway_computation():
    with pytest.raises(ImportTookTooLong):
        with import_budget(cpu_seconds=1):
            x = 0
            while True:
                x += 1
