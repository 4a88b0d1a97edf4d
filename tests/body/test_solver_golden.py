"""The rig solve pinned down on stored inputs (``tests/data/solver``, see ``tests/solver_cases.py``):
real photos and clip frames through the pose, face and hand models, and synthetic poses, some
degraded. A change in what the solver computes fails here; after a deliberate one, regenerate
the expected outputs with ``PYTHONPATH=$PWD python tests/solver_cases.py`` and say so."""

import numpy as np
import pytest
from solver_cases import CASES_DIR, load_case, solver_outputs

from tryon.body.solver import RigSolver

CASES = sorted(CASES_DIR.glob("*.npz"))
#: Largest difference allowed, metres (palette translations) or unitless (rotation entries).
TOLERANCE = 1e-5


def test_the_stored_cases_cover_the_solvers_paths():
    cases = [load_case(p)[0] for p in CASES]
    assert len(cases) >= 10
    assert any(c.head_pose is not None for c in cases)  # the face landmarker's head
    assert any(c.hands and len(c.hands) == 2 for c in cases)  # both ring fingers
    assert any(c.pose.segmentation is not None and c.pose.presence.min() < 0.5 for c in cases)  # out of frame
    assert any(c.shape is not None for c in cases)


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_solver_reproduces_the_stored_outputs(mannequin, path):
    case, expected = load_case(path)
    body = RigSolver(mannequin).solve(case.pose, case.K, case.shape, case.head_pose, case.hands)
    got = solver_outputs(body)
    assert got.keys() == expected.keys()
    for name, value in expected.items():
        diff = float(np.abs(got[name] - value).max())
        assert diff <= TOLERANCE, f"{path.stem}: {name} differs by {diff:.2e}"
