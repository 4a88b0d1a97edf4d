"""Build MediaPipe Tasks model bundles from the models inside the installed mediapipe wheel.

mediapipe 0.10.21 ships the raw BlazePose models (``modules/pose_detection`` and
``modules/pose_landmark``) but no ``.task`` bundle, and newer wheels ship none at all.
We build the bundle the Tasks ``PoseLandmarker`` expects, offline, on first use:
an uncompressed zip with ``pose_detector.tflite`` and ``pose_landmarks_detector.tflite``,
the latter carrying TFLite metadata written with mediapipe's own ``metadata_writers``.
Nothing is ever downloaded.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
import zipfile
from pathlib import Path

log = logging.getLogger(__name__)


class ModelUnavailableError(RuntimeError):
    """The installed mediapipe wheel lacks a model file tryon needs."""


def cache_dir() -> Path:
    """Where tryon keeps files it builds: ``$TRYON_CACHE_DIR``, else ``$XDG_CACHE_HOME/tryon``."""
    env = os.environ.get("TRYON_CACHE_DIR")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "tryon"


def mediapipe_root() -> Path:
    import mediapipe

    return Path(mediapipe.__file__).resolve().parent


def wheel_model(relative: str) -> Path:
    """Path of a model inside the installed mediapipe package (``modules/.../x.tflite``)."""
    path = mediapipe_root() / relative
    if not path.is_file():
        import mediapipe

        raise ModelUnavailableError(
            f"mediapipe {getattr(mediapipe, '__version__', '?')} has no {relative}; "
            "tryon needs mediapipe==0.10.21, which ships its models (pip install mediapipe==0.10.21)"
        )
    return path


def _with_feature_metadata(model: bytes, name: str, outputs: list[str]) -> bytes:
    """Attach image-input metadata (mean 0, std 255: pixels scaled to [0, 1]) and named outputs."""
    from mediapipe.tasks.python.metadata.metadata_writers import metadata_writer

    writer = metadata_writer.MetadataWriter.create(bytearray(model))
    writer.add_general_info(name, "built by tryon from the mediapipe wheel")
    writer.add_image_input(norm_mean=[0.0], norm_std=[255.0])
    for out in outputs:
        writer.add_feature_output(name=out)
    content, _ = writer.populate()
    return bytes(content)


def _atomic_write_zip(target: Path, entries: dict[str, bytes]) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=target.name + ".", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as fh, zipfile.ZipFile(fh, "w", zipfile.ZIP_STORED) as zf:
            for name, data in entries.items():
                zf.writestr(name, data)
        os.replace(tmp, target)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _bundle(name: str, members: dict[str, tuple[str, list[str] | None]]) -> Path:
    """Build (once) a bundle of wheel models; ``members`` maps entry -> (wheel path, metadata outputs)."""
    sources = {entry: wheel_model(rel) for entry, (rel, _) in members.items()}
    digest = hashlib.sha256()
    for entry, path in sorted(sources.items()):
        digest.update(entry.encode())
        digest.update(path.read_bytes())
    target_name = f"{name}-{digest.hexdigest()[:12]}.task"
    for directory in (cache_dir(), Path(tempfile.gettempdir()) / "tryon-cache"):
        target = directory / target_name
        if target.is_file():
            return target
        try:
            entries = {}
            for entry, (_, outputs) in members.items():
                data = sources[entry].read_bytes()
                entries[entry] = _with_feature_metadata(data, entry, outputs) if outputs else data
            _atomic_write_zip(target, entries)
            log.info("built %s from the mediapipe wheel", target)
            return target
        except OSError as exc:  # read-only cache: try the next place
            log.warning("cannot write %s (%s); trying another cache folder", target, exc)
    raise OSError(f"no writable cache folder for {target_name}; set TRYON_CACHE_DIR")


def pose_landmarker_task() -> Path:
    """The BlazePose Full ``.task`` bundle, built from the wheel on first use."""
    return _bundle(
        "pose_landmarker_full",
        {
            "pose_detector.tflite": ("modules/pose_detection/pose_detection.tflite", None),
            "pose_landmarks_detector.tflite": (
                "modules/pose_landmark/pose_landmark_full.tflite",
                ["landmarks", "pose_flag", "segmentation", "heatmap", "world_landmarks"],
            ),
        },
    )
