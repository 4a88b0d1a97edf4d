"""The public names a user reaches from the README: every class the README tells a user to
construct imports from ``tryon`` (and the catalog's from ``tryon.catalog``), the README's own
``import`` lines run, and ``tryon garments --help`` speaks to a retailer."""

import re
from pathlib import Path

import pytest

import tryon

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")

#: The classes a README user constructs (options, records, the engine, the catalog).
CLASS_NAME = re.compile(r"\b(?:[A-Z][A-Za-z]+(?:Options|Overrides|Limits|Intrinsics)|Lighting|TryOnEngine|Catalog)\b")
README_CLASSES = sorted(set(CLASS_NAME.findall(README)))


def test_readme_names_are_found():
    """The scan below reads the README (a broken pattern would test nothing)."""
    for name in ("TryOnEngine", "EngineOptions", "OwnClothesOptions", "StabilizeOptions", "ImportOptions"):
        assert name in README_CLASSES, name


@pytest.mark.parametrize("name", README_CLASSES)
def test_readme_class_imports_from_tryon(name):
    namespace: dict = {}
    exec(f"from tryon import {name}", namespace)  # the line a user writes
    assert name in tryon.__all__
    assert isinstance(namespace[name], type)


def test_option_classes_exported():
    """Every option class EngineOptions holds (and the catalog's) is public."""
    for name in (
        "OwnClothesOptions", "StabilizeOptions", "KeepoutOptions", "DetailOptions", "PoseOptions",
        "CameraMatchOptions", "Lighting", "ShadowOptions", "SmoothingOptions", "SolverOptions",
        "ClothOptions", "ImportOptions", "FitOverrides", "ImportLimits",
    ):  # fmt: skip
        assert name in tryon.__all__, name
    engine_fields = tryon.EngineOptions.__dataclass_fields__
    for field_name in ("own_clothes", "stabilize", "keepout", "details", "pose", "camera", "shadow", "smoothing",
                       "solver"):  # fmt: skip
        default = engine_fields[field_name].default_factory()
        assert type(default).__name__ in tryon.__all__, field_name


def test_catalog_names_from_tryon_catalog():
    from tryon.catalog import Catalog, FitOverrides, ImportLimits, ImportOptions

    assert (Catalog, FitOverrides, ImportLimits, ImportOptions) == (
        tryon.Catalog, tryon.FitOverrides, tryon.ImportLimits, tryon.ImportOptions,
    )  # fmt: skip
    options = ImportOptions(category="outerwear", name="Rain jacket", overrides=FitOverrides(scale=1.05))
    assert options.overrides.scale == 1.05
    with pytest.raises(ValueError, match="credit line"):
        ImportOptions(category="top", name="Tee", licence="CC-BY-4.0")


def test_readme_python_import_lines_run():
    """Each ``from tryon... import`` / ``import tryon...`` line of the README's Python blocks."""
    blocks = re.findall(r"```python\n(.*?)```", README, flags=re.S)
    lines = [
        line.strip()
        for block in blocks
        for line in block.splitlines()
        if re.match(r"\s*(from tryon[\w.]* import |import tryon)", line)
    ]
    assert lines, "the README's Python examples import nothing from tryon"
    for line in lines:
        exec(line, {})


def test_readme_timings_keys_are_the_stages():
    from tryon.engine_records import STAGES

    comment = re.search(r"result\.timings_ms  # ms per stage: (.*?); and total", README, flags=re.S).group(1)
    named = [word.strip(" ,#\n") for word in re.split(r"[,\n]", comment)]
    assert sorted(w for w in named if w) == sorted(STAGES)


def test_garments_help_is_for_retailers(capsys):
    from tryon.cli import build_parser

    with pytest.raises(SystemExit) as exit_:
        build_parser().parse_args(["garments", "--help"])
    assert exit_.value.code == 0
    text = capsys.readouterr().out
    assert "$TRYON_CATALOG" in text and "--catalog DIR" in text
    assert "tryon garments list" in text and "tryon garments remove ID" in text
    assert "600 lines" not in text and "import_budget" not in text  # no notes for the code's developers


@pytest.mark.slow
def test_readme_api_example_runs_as_pasted(tmp_path, monkeypatch):
    """The README's first Python example, as a user pastes it at the repository's root (the
    photo and clip it reads are linked into a scratch folder, where it writes its picture)."""
    block = re.findall(r"```python\n(.*?)```", README, flags=re.S)[0]
    assert "frame_bgr = cv2.imread(" in block and "process_stream(" in block
    for folder in ("tests", "samples"):
        (tmp_path / folder).symlink_to(ROOT / folder)
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    exec(compile(block, "README.md", "exec"), namespace)
    result = namespace["result"]
    assert result.pose is not None and result.timestamp_ms == 1000
    assert set(result.timings_ms) >= {"pose", "stabilize", "cleanup", "shadows", "camera_match", "total"}
    assert namespace["engine"].worn and (tmp_path / "tryon_still.png").stat().st_size > 10_000
