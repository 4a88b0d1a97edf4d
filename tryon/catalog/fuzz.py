"""A bounded fuzz run of the importer: N malformed uploads, each imported by ``tryon garments add``
in its own process with a time limit, its peak memory measured; the counts that matter.

    tryon bench --fuzz 1000 [--fuzz-seed 1] [--fuzz-timeout 60] [--json out.json]
    python tools/fuzz_imports.py --runs 1000 [--seed 1] [--timeout 60] [--json out.json]

The uploads are mutations (:func:`tryon.catalog.hostile.mutate_bytes` / ``mutate_json``) of the
bundled originals (glTF/GLB, OBJ + MTL + textures, MakeHuman ``.mhclo`` + mesh), of a PLY and an
STL written here, and of a size chart given with ``--size-chart``, plus the known bombs
(:data:`tryon.catalog.hostile.BOMBS`). Each import runs in a child forked from this warm process
(the modules already imported, so a run costs the import, not Python's start-up) calling the
CLI's ``main``; the parent waits with ``wait4`` for its exit status and peak RSS and kills it
after ``timeout`` seconds. A catalog folder holding one real item is imported into; after a
refusal it must be byte-for-byte what it was, after a success the new item's arrays and manifest
must be finite (the item is then removed).

Counted: tracebacks (a ``Traceback`` on stderr, a death by signal, or an exit status outside the
CLI's table), hangs (killed at the time limit), imports over 1.5 GB peak RSS, non-finite values
stored, catalog changed after a refusal. The result is a :class:`FuzzReport`.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import random
import shutil
import signal
import sys
import tempfile
import time
import traceback
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from tryon.catalog import hostile

#: A peak RSS above this is counted (issue 16's criterion).
OVER_BYTES = int(1.5 * 1024**3)
#: The exit statuses ``tryon garments add`` may end with (see its ``--help``).
KNOWN_EXIT_CODES = frozenset({0, 2, 3, *range(10, 23)})
#: The bundled originals mutated: (item, main file, category).
SOURCES = (
    ("variants-sneaker", "MaterialsVariantsShoe.gltf", "shoes"),
    ("red-glasses", "glasses.obj", "glasses"),
    ("bangle", "bangle.glb", "bracelet"),
    ("black-dress-shoes", "shoes03.mhclo", "shoes"),
)


@dataclass
class Outcome:
    """One import: what it was, its exit status, peak RSS (bytes), seconds, and what went wrong."""

    case: str
    exit_code: int | None
    peak_rss: int
    seconds: float
    problems: list[str] = field(default_factory=list)
    message: str = ""


@dataclass
class FuzzReport:
    runs: int = 0
    tracebacks: int = 0
    hangs: int = 0
    over_1_5_gb: int = 0
    non_finite_stored: int = 0
    catalog_changed_after_refusal: int = 0
    accepted: int = 0
    refused: int = 0
    max_peak_rss_mb: float = 0.0
    exit_codes: dict[str, int] = field(default_factory=dict)
    bombs: dict[str, dict] = field(default_factory=dict)
    #: honest uploads at the size limits (:data:`hostile.AT_LIMITS`), not counted in ``runs``
    at_limits: dict[str, dict] = field(default_factory=dict)
    failures: list[dict] = field(default_factory=list)
    seconds: float = 0.0

    def add(self, out: Outcome, bomb: bool = False) -> None:
        self.runs += 1
        self.max_peak_rss_mb = max(self.max_peak_rss_mb, out.peak_rss / 1e6)
        key = "killed" if out.exit_code is None else str(out.exit_code)
        self.exit_codes[key] = self.exit_codes.get(key, 0) + 1
        if out.exit_code == 0:
            self.accepted += 1
        elif out.exit_code is not None:
            self.refused += 1
        for p in out.problems:
            setattr(self, p, getattr(self, p) + 1)
        if out.problems:
            self.failures.append(asdict(out))
        if bomb:
            self.bombs[out.case] = {
                "exit_code": out.exit_code,
                "peak_rss_mb": round(out.peak_rss / 1e6, 1),
                "seconds": round(out.seconds, 2),
                "message": out.message[-300:],
            }

    def add_at_limit(self, out: Outcome, file_bytes: int) -> None:
        self.at_limits[out.case] = {
            "file_mb": round(file_bytes / 1e6, 1),
            "exit_code": out.exit_code,
            "peak_rss_mb": round(out.peak_rss / 1e6, 1),
            "seconds": round(out.seconds, 1),
            "problems": out.problems,
            "message": out.message[-300:],
        }

    def at_limits_markdown(self) -> str:
        """The at-limit imports as a table (file, size, exit status, peak RSS, seconds)."""
        rows = [
            f"| {name} | {r['file_mb']:.0f} MB | {r['exit_code']} | {r['peak_rss_mb']:.0f} MB | {r['seconds']:.0f} s |"
            for name, r in self.at_limits.items()
        ]
        return "\n".join(["| file at the limit | size | exit | peak RSS | time |", "|---|---|---|---|---|", *rows])

    def summary(self) -> str:
        return (
            f"{self.runs} imports in {self.seconds:.0f} s: {self.tracebacks} tracebacks, {self.hangs} hangs, "
            f"{self.over_1_5_gb} over 1.5 GB (max peak {self.max_peak_rss_mb:.0f} MB), "
            f"{self.non_finite_stored} non-finite values stored, {self.catalog_changed_after_refusal} catalogs "
            f"changed after a refusal; {self.accepted} accepted, {self.refused} refused; exit codes "
            + ", ".join(f"{k}: {v}" for k, v in sorted(self.exit_codes.items(), key=lambda kv: kv[0]))
        )


def _snapshot(root: Path) -> dict[str, str]:
    """Every file under ``root`` (hidden ones too) -> its sha256."""
    out = {}
    for p in sorted(root.rglob("*")):
        if p.is_file():
            out[str(p.relative_to(root))] = hashlib.sha256(p.read_bytes()).hexdigest()
        elif p.is_dir():
            out[str(p.relative_to(root)) + "/"] = ""
    return out


def _stored_finite(folder: Path) -> bool:
    """Whether an item's geometry arrays and manifest numbers are all finite."""
    with np.load(folder / "geometry.npz") as npz:
        for k in npz.files:
            a = npz[k]
            if a.dtype.kind == "f" and not np.isfinite(a).all():
                return False
    text = (folder / "manifest.json").read_text()
    return not any(word in text for word in ("NaN", "Infinity"))


def _run_child(argv: list[str], timeout_s: float, workdir: Path) -> tuple[int | None, int, float, str]:
    """Fork a child running ``tryon.cli.main(argv)`` with stdout/stderr to files:
    (exit status or None if killed at the time limit or by a signal, peak RSS bytes, seconds, stderr)."""
    err_path, out_path = workdir / "stderr.txt", workdir / "stdout.txt"
    t0 = time.monotonic()
    pid = os.fork()
    if pid == 0:  # the child
        code = 1
        try:
            os.setsid()
            fd_out = os.open(out_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
            fd_err = os.open(err_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
            os.dup2(fd_out, 1)
            os.dup2(fd_err, 2)
            sys.stdout = io.TextIOWrapper(os.fdopen(1, "wb", closefd=False), write_through=True)
            sys.stderr = io.TextIOWrapper(os.fdopen(2, "wb", closefd=False), write_through=True)
            from tryon.cli import main

            code = int(main(argv) or 0)
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        except BaseException:
            traceback.print_exc()
            code = 1
        finally:
            try:
                sys.stdout.flush()
                sys.stderr.flush()
            finally:
                os._exit(code)
    deadline = t0 + timeout_s
    status, usage = 0, None
    while True:
        wpid, status, usage = os.wait4(pid, os.WNOHANG)
        if wpid == pid:
            break
        if time.monotonic() > deadline:
            os.killpg(pid, signal.SIGKILL) if _pgid_ok(pid) else os.kill(pid, signal.SIGKILL)
            _, status, usage = os.wait4(pid, 0)
            seconds = time.monotonic() - t0
            return None, usage.ru_maxrss * 1024, seconds, "killed at the time limit"
        time.sleep(0.02)
    seconds = time.monotonic() - t0
    err = err_path.read_text(errors="replace") if err_path.exists() else ""
    code = os.waitstatus_to_exitcode(status)
    if code < 0 and not err:
        err = f"killed by signal {-code}"
    return (code if code >= 0 else None), usage.ru_maxrss * 1024, seconds, err


def _pgid_ok(pid: int) -> bool:
    try:
        return os.getpgid(pid) == pid
    except OSError:
        return False


class Fuzzer:
    """The warm parent: a work folder with the source uploads and a one-item catalog."""

    def __init__(self, work: Path, seed: int = 1, timeout_s: float = 60.0):
        self.work = work
        self.rng = random.Random(seed)
        self.timeout_s = timeout_s
        self.catalog = work / "catalog"
        self.sources = work / "sources"
        self.sources.mkdir(parents=True, exist_ok=True)
        from tryon.catalog.catalog import REPO_ROOT

        garments = REPO_ROOT / "garments"
        self.catalog.mkdir()
        shutil.copytree(garments / "red-glasses", self.catalog / "red-glasses")
        self.before = _snapshot(self.catalog)
        self.cases: list[tuple[Path, str, str]] = []  # (folder, main file name, category)
        for item, main, category in SOURCES:
            dest = self.sources / item
            shutil.copytree(garments / item / "original", dest)
            self.cases.append((dest, main, category))
        self._mesh_sources()
        chart = self.sources / "chart"
        chart.mkdir()
        (chart / "chart.json").write_text(json.dumps({"sizes": {"S": {"chest": [86, 94]}, "M": {"chest": [94, 102]}}}))
        self.chart = chart / "chart.json"
        # warm: the modules an import uses, and the mannequin, loaded once in the parent
        import tryon.catalog.pipeline  # noqa: F401
        import tryon.cli  # noqa: F401
        from tryon.body.mannequin import load_mannequin

        load_mannequin()

    def _mesh_sources(self) -> None:
        import trimesh

        box = trimesh.creation.box(extents=(0.3, 0.2, 0.25))
        for fmt in ("ply", "stl"):
            folder = self.sources / fmt
            folder.mkdir()
            box.export(folder / f"box.{fmt}")
            self.cases.append((folder, f"box.{fmt}", "hat"))
        ascii_ply = self.sources / "ply-ascii"
        ascii_ply.mkdir()
        (ascii_ply / "box.ply").write_bytes(trimesh.exchange.ply.export_ply(box, encoding="ascii"))
        self.cases.append((ascii_ply, "box.ply", "hat"))

    def import_case(self, name: str, file: Path, category: str, extra: list[str] = ()) -> Outcome:
        """Import ``file`` into the catalog and check what a refusal or a success left."""
        item_id = "fuzzed"
        argv = ["garments", "add", str(file), "--category", category, "--name", "Fuzzed", "--id", item_id]
        argv += ["--catalog", str(self.catalog), "--no-preview", *extra]
        code, rss, seconds, err = _run_child(argv, self.timeout_s, self.work)
        out = Outcome(name, code, rss, seconds, message=err.strip().splitlines()[-1] if err.strip() else "")
        if code is None and err == "killed at the time limit":
            out.problems.append("hangs")
        elif code is None or "Traceback (most recent call last)" in err or code not in KNOWN_EXIT_CODES:
            out.problems.append("tracebacks")
            out.message = err[-2000:]
        if rss > OVER_BYTES:
            out.problems.append("over_1_5_gb")
        if code == 0:
            folder = self.catalog / item_id
            try:
                finite = _stored_finite(folder)
            except (OSError, ValueError) as exc:
                finite = False
                out.message = f"stored item unreadable: {exc}"
            if not finite:
                out.problems.append("non_finite_stored")
            shutil.rmtree(folder, ignore_errors=True)
        if code != 0 and _snapshot(self.catalog) != self.before:
            out.problems.append("catalog_changed_after_refusal")
        # leave the catalog as it was for the next run
        for p in self.catalog.iterdir():
            if p.name != "red-glasses":
                shutil.rmtree(p, ignore_errors=True) if p.is_dir() else p.unlink()
        return out

    def mutant(self, index: int) -> tuple[str, Path, str, list[str]]:
        """Upload number ``index``: a copy of a source folder with one of its files mutated."""
        folder = self.work / "upload"
        shutil.rmtree(folder, ignore_errors=True)
        rng = self.rng
        if rng.random() < 0.08:  # a mutated size chart beside a good upload
            src, main, category = self.cases[1]
            shutil.copytree(src, folder)
            chart = folder / "chart.json"
            text = self.chart.read_text()
            chart.write_text(hostile.mutate_json(text, rng) if rng.random() < 0.7 else hostile.nested_json(50_000))
            return f"{index}:size-chart", folder / main, category, ["--size-chart", str(chart)]
        src, main, category = self.cases[rng.randrange(len(self.cases))]
        shutil.copytree(src, folder)
        files = sorted(p for p in folder.iterdir() if p.is_file())
        target = folder / main if rng.random() < 0.6 else files[rng.randrange(len(files))]
        data = target.read_bytes()
        if target.suffix == ".gltf" and rng.random() < 0.6:
            new = hostile.mutate_json(data.decode("utf-8", "replace"), rng).encode()
        else:
            new = hostile.mutate_bytes(data, rng)
            if rng.random() < 0.3:
                new = hostile.mutate_bytes(new, rng)
        target.write_bytes(new)
        extra = ["--decimate"] if rng.random() < 0.2 else []
        return f"{index}:{src.name}/{target.name}", folder / main, category, extra

    def at_limits(self, report: FuzzReport, timeout_s: float, progress: bool = False) -> None:
        """Import each honest upload at the size limits (:data:`hostile.AT_LIMITS`) and record
        its peak memory; an import over 1.5 GB, a traceback or a hang is counted as in the run."""
        saved, self.timeout_s = self.timeout_s, timeout_s
        try:
            for name, (build, category, extra) in hostile.AT_LIMITS.items():
                folder = self.work / "at-limit"
                shutil.rmtree(folder, ignore_errors=True)
                folder.mkdir()
                main = build(folder)
                size = max(p.stat().st_size for p in folder.iterdir() if p.is_file())
                out = self.import_case(name, main, category, list(extra))
                for p in out.problems:
                    setattr(report, p, getattr(report, p) + 1)
                report.add_at_limit(out, size)
                shutil.rmtree(folder, ignore_errors=True)
                if progress:
                    r = report.at_limits[name]
                    print(f"  at the limit: {name}: {r}", flush=True)
        finally:
            self.timeout_s = saved

    def run(self, n: int, bombs: bool = True, progress: bool = False) -> FuzzReport:
        report = FuzzReport()
        t0 = time.monotonic()
        if bombs:
            for name, (build, category) in hostile.BOMBS.items():
                folder = self.work / "bomb"
                shutil.rmtree(folder, ignore_errors=True)
                folder.mkdir()
                report.add(self.import_case(name, build(folder), category), bomb=True)
        for i in range(n - report.runs):
            name, file, category, extra = self.mutant(i)
            out = self.import_case(name, file, category, extra)
            report.add(out)
            if progress and (i + 1) % 50 == 0:
                report.seconds = time.monotonic() - t0
                print(f"  {report.summary()}", flush=True)
        report.seconds = time.monotonic() - t0
        return report


def run(
    runs: int,
    seed: int = 1,
    timeout_s: float = 60.0,
    bombs: bool = True,
    progress: bool = False,
    at_limits_timeout_s: float | None = None,
) -> FuzzReport:
    """``runs`` malformed imports (the known bombs first unless ``bombs`` is False) into a
    scratch catalog, each in its own process; the report of what went wrong. With
    ``at_limits_timeout_s``, the honest uploads at the size limits are imported too (each
    allowed that long) and their peak memory reported."""
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    with tempfile.TemporaryDirectory(prefix="tryon-fuzz-") as tmp:
        fuzzer = Fuzzer(Path(tmp), seed, timeout_s)
        report = fuzzer.run(runs, bombs, progress) if runs > 0 else FuzzReport()
        if at_limits_timeout_s is not None:
            fuzzer.at_limits(report, at_limits_timeout_s, progress)
        return report


def failed(report: FuzzReport) -> bool:
    """Whether the run broke any of issue 16's criteria."""
    return bool(
        report.tracebacks
        + report.hangs
        + report.over_1_5_gb
        + report.non_finite_stored
        + report.catalog_changed_after_refusal
    )


def details(report: FuzzReport, failures: int = 20) -> list[str]:
    """The known bombs' outcomes and the first ``failures`` failures, a line each."""
    lines = [
        f"  bomb {name}: exit {b['exit_code']}, peak {b['peak_rss_mb']} MB, {b['seconds']} s: {b['message']}"
        for name, b in report.bombs.items()
    ]
    lines += [
        f"  at the limit {name} ({r['file_mb']} MB): exit {r['exit_code']}, peak {r['peak_rss_mb']} MB, "
        f"{r['seconds']} s {r['problems'] or ''}"
        for name, r in report.at_limits.items()
    ]
    lines += [
        f"  FAILED {f['case']}: {f['problems']} exit {f['exit_code']}: {f['message'][-600:]}"
        for f in report.failures[:failures]
    ]
    return lines


def main(argv: list[str] | None = None) -> int:
    import argparse

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=1000, help="imports in all, the known bombs included (default 1000)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--timeout", type=float, default=60.0, help="seconds one import may take (default 60)")
    ap.add_argument("--no-bombs", action="store_true", help="only mutations")
    ap.add_argument(
        "--at-limits",
        type=float,
        metavar="S",
        help="also import honest files at the size limits (each allowed S seconds) and report their peak memory",
    )
    ap.add_argument("--json", type=Path, help="write the report here")
    ap.add_argument("--progress", action="store_true")
    args = ap.parse_args(argv)
    report = run(args.runs, args.seed, args.timeout, not args.no_bombs, args.progress, args.at_limits)
    print(report.summary())
    if report.at_limits:
        print(report.at_limits_markdown())
    print("\n".join(details(report)))
    if args.json:
        args.json.write_text(json.dumps(asdict(report), indent=2) + "\n")
    return 1 if failed(report) else 0


if __name__ == "__main__":
    sys.exit(main())
