"""The OBJ reader's bulk path (runs of v / vt / vn / f lines parsed with numpy) gives exactly
what its line-by-line reference gives: the same arrays, warnings and refusals, on honest files,
on odd but legal ones and on mutated ones."""

from __future__ import annotations

import random
import time

import numpy as np
import pytest

from tryon.catalog import hostile
from tryon.catalog.assets import ImportLimits
from tryon.catalog.formats import obj

ODD = [
    b"v 0 0 0\nv 1 0 0\nv 0 1 0\nv 1 1 0\nf 1 2 3\nf 1 2 3 4\nf -1 -2 -3\nf 1 2 3\n",
    b"v 0 0 0 1 0 0\nv 1 0 0 1 1 1\nv 0 1 0\nvt 0 0 0\nvt 1 0 0\nvt 1 1\nvn 0 0 1\nvn 0 0 1\nvn 0 0 1\n"
    b"f 1/1/1 2/2/2 3/3/3\nf 1//1 2//2 3//3\nf 1//1 2//2 3//3\n",
    b"v 0 0 0\r\nv 1 0 0\r\nv 0 1 0\r\nf 1 2 3\r\nf 1 2 3\r\n",
    b"v 0 0 0\rv 1 0 0\rv 0 1 0\rf 1 2 3\rf 1 2 3\r",
    b"v 0 0 0\nv 1 0 \\\n0\nv 0 1 0\nf 1 2 3\nf 1/ 2/ 3/\nf 1 2 3\n",
    "v 0 0 0\nv 1 0 0\nv 0 1 0\nf \u0661 2 3\nf 1 2 3\n".encode(),
    b"v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 99999999999999999999999\nf 1 2 3\n",
    b"v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 3 # c\nf 1 2 3\nvt 0\nvt 1 2 3 4\nvt 0 x\n",
    b"v 0 0 0\nv 1 0 0\nv 0 1 0\nvt 0 0\nvt 1 0\nvt 1 1\nf 1/1 2/2 3/3\nf 1/1 2/2 3/3/3\nf 1/1/1/1 2/2 3/3\n",
    b"v 0 0 0\nv 1_0 0 0\nv 0 1 0\nv nan inf 0\nf 1 2 3\nf 0 2 3\nf 1 -9 3\nf 3000000000 1 2\n",
    b"v 0 0 0\nv 1 0 0\nv 0 1\nf 1 2 3\n",
    b"v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 3\nf 1 2\nf 1 2\nusemtl a\nf 1 2 3\nf 3 2 1\nusemtl\nf 1 2 3\n",
    b"v 0 0 0\nv 1 0 0\nv 0 1 0\nvn 1 0\nvn 0 0 1\nf 1//2 2//2 3//2\nf 1//-1 2//-1 3//-1\nf 1/-1/ 2/-1/ 3/-1/\n",
    b"v 1e-3 2E+1 -.5\nv +1. 0 0\nv 0 1 0\nf 1 2 3\nf 1 2 3 \n",
]


def outcome(path, bulk: bool, monkeypatch):
    with monkeypatch.context() as m:
        if not bulk:
            m.setattr(obj, "_BULK_HEADS", {})  # every line alone: the reference
        try:
            a = obj.load_obj(path)
        except Exception as exc:  # the refusal itself is compared
            return type(exc).__name__, str(exc)
    parts = [
        (p.name, p.material, p.positions.tobytes(), p.faces.tobytes())
        + tuple(None if x is None else x.tobytes() for x in (p.uvs, p.normals))
        for p in a.parts
    ]
    return parts, list(a.warnings), [(m.name, tuple(m.base_color)) for m in a.materials]


@pytest.fixture(scope="module")
def grids(tmp_path_factory):
    out = []
    for name, side, options in (("a", 14, {}), ("b", 9, {"uv": False, "quads": True}), ("c", 8, {"normals": False})):
        folder = tmp_path_factory.mktemp(name)
        out.append(hostile.obj_grid(folder, side, **options))
    return out


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_bulk_and_line_by_line_agree(tmp_path, grids, monkeypatch):
    path = tmp_path / "m.obj"
    cases = list(ODD) + [g.read_bytes() for g in grids]
    rng = random.Random(16)
    for _ in range(60):
        data = hostile.mutate_bytes(rng.choice(cases[-3:]), rng)
        cases.append(hostile.mutate_bytes(data, rng) if rng.random() < 0.5 else data)
    accepted = 0
    for data in cases:
        path.write_bytes(data)
        bulk, reference = outcome(path, True, monkeypatch), outcome(path, False, monkeypatch)
        assert bulk == reference, data[:200]
        accepted += isinstance(bulk[0], list)
    assert accepted >= 10  # not only refusals compared


def test_grid_is_read_whole(grids):
    a = obj.load_obj(grids[0], ImportLimits(max_triangles=10_000_000))
    (part,) = a.parts
    assert part.faces.shape == (2 * 13 * 13, 3) and len(part.positions) == 14 * 14
    assert np.isfinite(part.positions).all() and part.uvs is not None and part.normals is not None


@pytest.mark.slow
def test_bulk_reading_is_faster_than_line_by_line(tmp_path, monkeypatch):
    """A 150,000-triangle OBJ with UVs and normals (15 MB): the bulk path takes well under the
    reference's CPU time (measured 0.6x of it or less under load; asserted below 0.85x)."""
    path = hostile.obj_grid(tmp_path, 275)
    times = {True: [], False: []}
    for _ in range(2):
        for bulk in (True, False):
            with monkeypatch.context() as m:
                if not bulk:
                    m.setattr(obj, "_BULK_HEADS", {})
                t = time.thread_time()
                obj.load_obj(path, ImportLimits(max_triangles=10_000_000))
                times[bulk].append(time.thread_time() - t)
    assert min(times[True]) < 0.85 * min(times[False]), times
