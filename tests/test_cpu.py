"""numpy's BLAS is kept to one thread whether tryon or numpy is imported first."""

import os
import subprocess
import sys

import pytest

PROBE = """
import ctypes, os
{first}
from tryon.cpu import _loaded_libraries
lib = ctypes.CDLL(_loaded_libraries("openblas")[0])
get = getattr(lib, "openblas_get_num_threads64_", None) or getattr(lib, "openblas_get_num_threads")
print(get())
"""


@pytest.mark.parametrize("first", ["import tryon\nimport numpy", "import numpy\nimport tryon"])
def test_blas_runs_one_thread(first):
    proc = subprocess.run(
        [sys.executable, "-c", PROBE.format(first=first)],
        capture_output=True,
        text=True,
        timeout=120,
        env={k: v for k, v in os.environ.items() if k not in ("TRYON_BLAS_THREADS", "OPENBLAS_NUM_THREADS")},
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "1"
