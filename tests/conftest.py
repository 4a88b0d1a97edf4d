"""Shared fixtures: the mannequin, an engine with the bundled top, results on the photos.

Also the fast/slow split: a test that uses one of SLOW_FIXTURES is marked ``slow`` here;
whole slow modules say ``pytestmark = pytest.mark.slow`` at their top, and a single slow test
``@pytest.mark.slow``. ``pytest -m "not slow"`` is the fast tier (under a minute).
"""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("GLOG_minloglevel", "2")

from helpers import PERSON_PHOTOS, TOP, load_photo  # noqa: E402

#: Fixtures that run the whole engine (BlazePose, the rig, GL) on photos or a clip: a test
#: using any of them is in the slow tier.
SLOW_FIXTURES = frozenset({"engine", "photo_results", "upper_body_results"})


def pytest_collection_modifyitems(config, items):
    for item in items:
        if SLOW_FIXTURES.intersection(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)


@pytest.fixture(scope="session")
def mannequin():
    from tryon.body.mannequin import load_mannequin

    return load_mannequin()


@pytest.fixture(scope="session")
def engine():
    from tryon import TryOnEngine

    eng = TryOnEngine(items=[TOP])
    yield eng
    eng.close()


@pytest.fixture(scope="session")
def photo_results(engine):
    """The engine's result on every person photo (a still each)."""
    return {name: (load_photo(name), engine.process(load_photo(name))) for name in PERSON_PHOTOS}
