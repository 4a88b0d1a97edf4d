"""``tryon bench``: speed against the pose model itself, on the same frames.

For each resolution: the bare MediaPipe pose model's throughput and latency (the
reference), the whole engine's throughput and capture-to-composite latency (pipelined, as
a live mirror runs it), per-stage milliseconds (sequential, so stages do not overlap),
peak memory, and the headline ratio engine fps / pose fps. Accuracy against ground truth
and jitter are separate sections (skipped with ``--no-accuracy``, ``--no-jitter``).
"""

from __future__ import annotations

import datetime
import json
import os
import platform
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import cv2
import numpy as np

from tryon import runtime
from tryon.engine import STAGES, EngineOptions, TryOnEngine
from tryon.pose.landmarker import PoseEstimator
from tryon.video import VideoFile

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_INPUT = ROOT / "samples" / "dance.mp4"
DEFAULT_RESOLUTIONS = ((640, 480), (1280, 720))
README_START = "<!-- bench:start -->"
README_END = "<!-- bench:end -->"


#: The outfit the benchmark measures besides the one top: clothes, shoes and the accessories
#: that run the face mesh (glasses) and draw metal (watch, necklace).
DEFAULT_OUTFIT = ("navy-longsleeve", "blue-jeans", "worn-sneakers", "red-glasses", "steel-watch", "chain-necklace")


def parse_resolution(text: str) -> tuple[int, int]:
    try:
        w, h = (int(x) for x in text.lower().split("x"))
    except ValueError:
        raise ValueError(f"resolution must look like 640x480, got {text!r}") from None
    if not (16 <= w <= 8192 and 16 <= h <= 8192):
        raise ValueError(f"resolution {text} is out of range")
    return w, h


def fit_frame(frame: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Centre-crop to the target aspect ratio, then resize (no distortion)."""
    w, h = size
    fh, fw = frame.shape[:2]
    target = w / h
    if fw / fh > target:
        cw = int(round(fh * target))
        x0 = (fw - cw) // 2
        frame = frame[:, x0 : x0 + cw]
    else:
        ch = int(round(fw / target))
        y0 = (fh - ch) // 2
        frame = frame[y0 : y0 + ch]
    interp = cv2.INTER_AREA if frame.shape[1] > w else cv2.INTER_LINEAR
    return cv2.resize(frame, (w, h), interpolation=interp)


def load_frames(path: Path, size: tuple[int, int], n: int | None) -> tuple[list[np.ndarray], float]:
    src = VideoFile(path)
    try:
        frames = [fit_frame(f, size) for f, _ in src]
        fps = src.fps
    finally:
        src.close()
    if n is not None and n > len(frames):  # loop the clip (forward and back: no jump)
        cycle = frames + frames[-2:0:-1]
        frames = [cycle[i % len(cycle)] for i in range(n)]
    return (frames[:n] if n else frames), fps


class PeakMemory:
    """Samples the process's resident memory every 10 ms; ``peak_mb`` after ``stop()``."""

    def __init__(self) -> None:
        self.peak_mb = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    @staticmethod
    def rss_mb() -> float:
        try:
            with open("/proc/self/statm") as fh:
                return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
        except OSError:
            import resource

            return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak_mb = max(self.peak_mb, self.rss_mb())
            time.sleep(0.01)

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.peak_mb = max(self.peak_mb, self.rss_mb())


@dataclass
class SpeedResult:
    resolution: str
    items: list[str]
    frames: int
    pose_fps: float
    pose_latency_ms: float
    engine_fps: float
    ratio: float
    latency_ms: float
    sequential_fps: float
    stages_ms: dict[str, float] = field(default_factory=dict)
    peak_rss_mb: float = 0.0
    engine_mb: float = 0.0


def bare_pose(frames: list[np.ndarray], fps: float, cpus: frozenset[int] | None = None) -> tuple[float, float]:
    """Throughput (fps) and median latency (ms) of BlazePose alone (video mode, mask on),
    on its own thread pinned like the engine's pose thread (``cpus``), so the two compare
    like for like."""
    out: dict[str, float] = {}

    def work() -> None:
        runtime.pin_current_thread(cpus)
        with PoseEstimator() as est:
            est.detect_for_video(frames[0], 0)  # graph start-up is not part of the figure
            lat = []
            t0 = time.perf_counter()
            for i, f in enumerate(frames):
                a = time.perf_counter()
                est.detect_for_video(f, round((i + 1) * 1000 / fps))
                lat.append(time.perf_counter() - a)
            out["fps"] = len(frames) / (time.perf_counter() - t0)
            out["latency"] = float(np.median(lat) * 1000)

    thread = threading.Thread(target=work, name="tryon-bench-pose")
    thread.start()
    thread.join()
    return out["fps"], out["latency"]


def _timed_run(engine: TryOnEngine, frames: list[np.ndarray], fps: float, pipelined: bool):
    """Throughput (fps) and each frame's timings; results are dropped as they come, as in
    a live loop (keeping them would measure memory traffic, not the engine)."""
    timings = []
    t0 = time.perf_counter()
    for result in engine.process_stream(frames, fps=fps, pipelined=pipelined):
        timings.append(result.timings_ms)
    return len(timings) / (time.perf_counter() - t0), timings


def engine_speed(
    frames: list[np.ndarray], fps: float, items: list[str], resolution: str, catalog=None, rounds: int = 3
) -> SpeedResult:
    """Bare pose and pipelined engine, alternated ``rounds`` times on the same frames, each
    engine run between two bare-pose runs, then one sequential run for per-stage times.

    This machine's speed drifts by 10-20% within seconds: the ratio is the median of each
    engine run over the mean of the two pose runs around it (drift cancels), the fps are
    medians."""
    pose_runs, engine_runs, latencies = [], [], []
    baseline_mb = PeakMemory.rss_mb()  # the clip is loaded; what follows is the engine's
    with PeakMemory() as mem, TryOnEngine(items=items, catalog=catalog, options=EngineOptions()) as engine:
        pose_cpus, _ = runtime.split_cpus(engine.options.pin_threads)
        _timed_run(engine, frames[:3], fps, True)  # warm-up: graphs, shaders, buffers
        for _ in range(rounds):
            pose_runs.append(bare_pose(frames, fps, pose_cpus))
            engine_fps, piped = _timed_run(engine, frames, fps, True)
            engine_runs.append(engine_fps)
            latencies += [t["total"] for t in piped]
        pose_runs.append(bare_pose(frames, fps, pose_cpus))
        sequential_fps, seq = _timed_run(engine, frames, fps, False)
    paired = [e / (0.5 * (pose_runs[i][0] + pose_runs[i + 1][0])) for i, e in enumerate(engine_runs)]
    pose_fps = float(np.median([p[0] for p in pose_runs]))
    pose_latency = float(np.median([p[1] for p in pose_runs]))
    engine_fps = float(np.median(engine_runs))
    stages = {k: round(float(np.mean([t.get(k, 0.0) for t in seq])), 2) for k in STAGES}
    stages["total"] = round(float(np.mean([t["total"] for t in seq])), 2)
    return SpeedResult(
        resolution=resolution,
        items=list(items),
        frames=len(frames),
        pose_fps=round(pose_fps, 1),
        pose_latency_ms=round(pose_latency, 1),
        engine_fps=round(engine_fps, 1),
        ratio=round(float(np.median(paired)), 3),
        latency_ms=round(float(np.median(latencies)), 1),
        sequential_fps=round(sequential_fps, 1),
        stages_ms=stages,
        peak_rss_mb=round(mem.peak_mb, 1),
        engine_mb=round(mem.peak_mb - baseline_mb, 1),
    )


def machine_info() -> dict:
    cpu = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    info = {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "system": f"{platform.system()} {platform.release()}",
    }
    try:
        import mediapipe

        info["mediapipe"] = mediapipe.__version__
    except Exception:  # pragma: no cover - mediapipe is a dependency
        pass
    try:
        from tryon.render.context import create_context

        ctx = create_context()
        info["gl_renderer"] = ctx.info.get("GL_RENDERER")
        info["gl_version"] = ctx.info.get("GL_VERSION")
        ctx.release()
    except Exception as exc:  # report, do not fail the benchmark
        info["gl_renderer"] = f"unavailable ({exc})"
    return info


def markdown_table(report: dict) -> str:
    m = report["machine"]
    lines = [
        f"Measured {report['date']} on {m.get('cpu', '?')} ({m.get('cores')} cores), "
        f"GL: {m.get('gl_renderer', '?')}; input `{report['input']}`, {report['speed'][0]['frames']} frames. "
        "Pose alone and engine alternate on the same frames, each engine run between two pose-alone runs "
        "(fps: medians; ratio: the median of each engine run over the pose runs around it, so the machine's "
        "drift cancels); the engine runs the pose model on its own thread, and on two CPUs each stage keeps to "
        "its own core, the bare model likewise.",
        "",
        "| resolution | items | pose alone fps | engine fps | ratio | latency ms (pose alone) | "
        "sequential fps | engine memory MB (process peak) |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in report["speed"]:
        lines.append(
            f"| {r['resolution']} | {', '.join(r['items'])} | {r['pose_fps']} | {r['engine_fps']} | "
            f"**{r['ratio']:.2f}** | {r['latency_ms']} ({r['pose_latency_ms']}) | {r['sequential_fps']} | "
            f"{r['engine_mb']} ({r['peak_rss_mb']}) |"
        )
    lines += ["", "Per-stage milliseconds (sequential run, mean per frame):", ""]
    lines.append("| resolution | items | " + " | ".join(STAGES) + " | total |")
    lines.append("|---|---|" + "---:|" * (len(STAGES) + 1))
    for r in report["speed"]:
        s = r["stages_ms"]
        lines.append(
            f"| {r['resolution']} | {', '.join(r['items'])} | "
            + " | ".join(f"{s.get(k, 0):.1f}" for k in STAGES)
            + f" | {s['total']:.1f} |"
        )
    for section in ("accuracy", "jitter", "own_clothes"):
        if report.get(section):
            lines += ["", report[section]["markdown"]]
    return "\n".join(lines)


def stage_colors(n: int) -> list[tuple[float, float, float, float]]:
    """``n`` distinct colours (RGBA) for the stages' bars: tab20's, dark and light of each hue
    side by side (tab10 has ten, and every stage after the tenth took its last colour)."""
    import matplotlib

    cmap = matplotlib.colormaps["tab20"]
    return [cmap(k % 20) for k in range(n)]


def _row_label(r: dict) -> str:
    items = r["items"]
    what = items[0] if len(items) == 1 else f"full outfit ({len(items)} items)"
    return f"{r['resolution']}\n{what}"


def stage_plot(report: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = report["speed"]
    labels = [_row_label(r) for r in rows]
    fig, ax = plt.subplots(figsize=(9.5, 0.9 * len(rows) + 1.6))
    left = np.zeros(len(rows))
    colors = stage_colors(len(STAGES))
    for k, stage in enumerate(STAGES):
        vals = np.array([r["stages_ms"].get(stage, 0.0) for r in rows])
        ax.barh(labels, vals, left=left, color=colors[k], label=stage)
        left += vals
    ax.set_xlabel("milliseconds per frame (sequential run, stages in turn)")
    ax.set_title("tryon per-stage time")
    # Beside the bars, not over them.
    ax.legend(ncol=1, fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    ax.invert_yaxis()
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def update_readme(readme: Path, markdown: str) -> bool:
    text = readme.read_text()
    if README_START not in text or README_END not in text:
        return False
    head, rest = text.split(README_START, 1)
    _, tail = rest.split(README_END, 1)
    readme.write_text(f"{head}{README_START}\n{markdown}\n{README_END}{tail}")
    return True


def run(
    input_path: Path = DEFAULT_INPUT,
    resolutions=DEFAULT_RESOLUTIONS,
    item_sets=(("navy-longsleeve",),),
    frames: int | None = None,
    catalog=None,
    log=print,
    accuracy_random: int | None = 12,
    jitter_frames: int | None = 0,
    own_clothes: bool = True,
) -> dict:
    """The whole benchmark. ``accuracy_random``: random poses added to the BVH ones in the
    accuracy section (None skips it); ``jitter_frames``: frames per clip for the stability
    section (0: whole clips, None skips it); ``own_clothes``: the own-clothes section (leaks, cost)."""
    report = {
        "date": datetime.datetime.now().strftime("%Y-%m-%d"),
        "input": str(input_path.relative_to(ROOT)) if input_path.is_relative_to(ROOT) else str(input_path),
        "machine": machine_info(),
        "speed": [],
    }
    for size in resolutions:
        res = f"{size[0]}x{size[1]}"
        clip, fps = load_frames(input_path, size, frames)
        for items in item_sets:
            r = engine_speed(clip, fps, list(items), res, catalog)
            log(
                f"{res} {'+'.join(items)}: pose alone {r.pose_fps} fps ({r.pose_latency_ms} ms), engine "
                f"{r.engine_fps} fps (ratio {r.ratio:.2f}), latency {r.latency_ms} ms, sequential "
                f"{r.sequential_fps} fps, peak {r.peak_rss_mb} MB"
            )
            report["speed"].append(asdict(r))
    garment = item_sets[0][0]
    if accuracy_random is not None:
        from tryon import accuracy

        log("accuracy: rendering synthetic people...")
        acc = accuracy.run(garment, n_random=accuracy_random, catalog=catalog)
        share = accuracy.photo_mask_share(garment, catalog)
        acc["photo_mask_share"] = {k: round(v, 4) for k, v in share.items()}
        acc["markdown"] = accuracy.markdown(acc, share)
        report["accuracy"] = acc
        log(f"accuracy: {acc['summary']}")
    if jitter_frames is not None:
        from tryon import stability

        log("stability: tracking garment anchors (raw, filtered, anchored) on the sample clips and photos...")
        st = stability.run(garment, max_frames=jitter_frames or None, catalog=catalog)
        known = stability.run_known_truth(garment, max_frames=jitter_frames or None, catalog=catalog)
        md = stability.markdown(st) + "\n\n" + stability.markdown_known_truth(known)
        report["jitter"] = {"clips": st, "known_truth": known, "markdown": md}
        log(f"stability: {st} {known}")
    if own_clothes:
        from tryon.ownclothes import report as own

        log("own clothes: synthetic truth and photos...")
        report["own_clothes"] = own.run(catalog)
        log(f"own clothes: {report['own_clothes']['markdown']}")
    # One entry per resolution, the first item set's figures at its top level.
    report["resolutions"] = []
    for size in resolutions:
        res = f"{size[0]}x{size[1]}"
        configs = [r for r in report["speed"] if r["resolution"] == res]
        entry = {k: v for k, v in configs[0].items()}
        entry["configurations"] = configs
        report["resolutions"].append(entry)
    return report


def write_outputs(report: dict, json_path: Path | None, plot_path: Path | None, readme: Path | None) -> str:
    md = markdown_table(report)
    if json_path:
        json_path.parent.mkdir(parents=True, exist_ok=True)
        json_path.write_text(json.dumps(report, indent=2) + "\n")
    if plot_path:
        stage_plot(report, plot_path)
    if readme:
        update_readme(readme, md)
    return md
