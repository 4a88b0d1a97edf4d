"""Process-wide tuning is explicit: importing tryon leaves the process alone, and a stream's
tuning is put back when it ends."""

import os
import subprocess
import sys

import cv2
import pytest

from tryon import runtime

PROBE = """
import os
{first}
from tryon import runtime
print(runtime.blas_threads())
{then}
print(runtime.blas_threads())
"""

#: The environment of a process where nobody has told BLAS anything.
CLEAN_ENV = {k: v for k, v in os.environ.items() if k not in ("TRYON_BLAS_THREADS", "OPENBLAS_NUM_THREADS")}


def _probe(first: str, then: str, env=CLEAN_ENV) -> list[str]:
    proc = subprocess.run(
        [sys.executable, "-c", PROBE.format(first=first, then=then)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**env, "PYTHONPATH": os.getcwd()},
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.split()


def _numpy_default_threads() -> str:
    return _probe("import numpy", "")[0]


@pytest.mark.parametrize("first", ["import tryon\nimport numpy", "import numpy\nimport tryon"])
def test_import_tryon_leaves_blas_alone_and_configure_process_limits_it(first):
    untouched, configured = _probe(first, "runtime.configure_process()")
    assert untouched == _numpy_default_threads()
    assert configured == "1"


def test_configure_process_honours_tryon_blas_threads():
    before, after = _probe("import numpy", "runtime.configure_process()", {**CLEAN_ENV, "TRYON_BLAS_THREADS": "0"})
    assert before == after  # 0: leave BLAS alone


def test_tuned_applies_and_restores_everything():
    switch, cv_threads = sys.getswitchinterval(), cv2.getNumThreads()
    affinity = os.sched_getaffinity(0)
    blas = runtime.blas_threads()
    cpus = sorted(affinity)
    render = frozenset(cpus[1:] or cpus)
    tuning = runtime.StreamTuning(
        blas_threads=2 if blas == 1 else 1, switch_interval_s=0.0002, render_cpus=render, pose_cpus=None
    )
    with runtime.tuned(tuning):
        assert sys.getswitchinterval() == pytest.approx(0.0002)
        assert cv2.getNumThreads() == 1
        assert os.sched_getaffinity(0) == set(render)
        if blas is not None:
            assert runtime.blas_threads() == tuning.blas_threads
    assert sys.getswitchinterval() == switch
    assert cv2.getNumThreads() == cv_threads
    assert os.sched_getaffinity(0) == affinity
    assert runtime.blas_threads() == blas


def test_tuned_restores_when_the_block_fails():
    switch = sys.getswitchinterval()
    with pytest.raises(RuntimeError):
        with runtime.tuned(runtime.StreamTuning(switch_interval_s=0.0001)):
            raise RuntimeError("boom")
    assert sys.getswitchinterval() == switch


def test_split_cpus():
    cpus = sorted(os.sched_getaffinity(0))
    assert runtime.split_cpus(False) == (None, None)
    pose, render = runtime.split_cpus(True)
    if len(cpus) >= 2:
        assert pose == {cpus[0]} and render == set(cpus[1:])
    else:
        assert (pose, render) == (None, None)
    assert runtime.split_cpus(None) == ((pose, render) if len(cpus) == 2 else (None, None))


def test_malloc_knobs_take_on_glibc():
    import platform

    if platform.libc_ver()[0] != "glibc":
        pytest.skip("the malloc knobs are glibc's")
    assert runtime.bound_malloc_arenas(8) is True  # the machine's default on a few cores
    assert isinstance(runtime.trim_malloc(), bool)


def test_llvmpipe_draws_on_the_gl_thread_where_streams_pin_it(monkeypatch):
    monkeypatch.delenv("LP_NUM_THREADS", raising=False)
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1})
    assert runtime.llvmpipe_threads_wanted() == 0  # two CPUs: the GL work keeps to one
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1, 2, 3})
    assert runtime.llvmpipe_threads_wanted() is None  # not pinned: llvmpipe's own threads help
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1})
    monkeypatch.setenv("LP_NUM_THREADS", "2")
    assert runtime.llvmpipe_threads_wanted() is None  # the environment says


def test_configure_process_sets_llvmpipe_threads_before_gl():
    env = {k: v for k, v in CLEAN_ENV.items() if k != "LP_NUM_THREADS"}
    code = (
        "import os\nfrom tryon import runtime\nwanted = runtime.llvmpipe_threads_wanted()\n"
        "runtime.configure_process()\nprint(wanted, os.environ.get('LP_NUM_THREADS'))"
    )
    env["PYTHONPATH"] = os.getcwd()
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=env)
    assert proc.returncode == 0, proc.stderr
    wanted, got = proc.stdout.split()
    assert got == wanted  # "0" on two CPUs; elsewhere "None": LP_NUM_THREADS left unset
