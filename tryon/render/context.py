"""The GL context and shader programs. GL lives in ``tryon.render`` and nowhere else."""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path

log = logging.getLogger(__name__)

SHADER_DIR = Path(__file__).resolve().parent.parent.parent / "shaders"
_INCLUDE = re.compile(r'^\s*#include\s+"([^"]+)"\s*$', re.MULTILINE)


class GLUnavailableError(RuntimeError):
    """No OpenGL 3.3+ context could be created."""


def create_context(backend: str | None = None, device_index: int | None = None):
    """A standalone (offscreen) moderngl context, GL 3.3 core or newer.

    backend : "egl" (default, headless) or "x11"/"default" for a desktop context; also
        set by ``TRYON_GL_BACKEND``. device_index : the EGL device, also set by
        ``TRYON_EGL_DEVICE`` (default 0).
    """
    import moderngl

    backend = backend or os.environ.get("TRYON_GL_BACKEND", "egl")
    kwargs: dict = {"require": 330}
    if backend == "egl":
        kwargs["backend"] = "egl"
        idx = device_index if device_index is not None else os.environ.get("TRYON_EGL_DEVICE")
        if idx is not None:
            kwargs["device_index"] = int(idx)
    try:
        ctx = moderngl.create_standalone_context(**kwargs)
    except Exception as exc:  # moderngl raises plain Exception for EGL failures
        raise GLUnavailableError(
            f"could not create an OpenGL context with backend {backend!r} ({exc}). "
            "On Debian/Ubuntu install the GL libraries: sudo apt-get install libgl1 libegl1 libglib2.0-0; "
            "set TRYON_EGL_DEVICE to pick another EGL device"
        ) from exc
    log.info("GL renderer: %s, %s", ctx.info.get("GL_RENDERER"), ctx.info.get("GL_VERSION"))
    return ctx


def shader_source(name: str, directory: Path = SHADER_DIR) -> str:
    """A GLSL file from ``shaders/`` with its ``#include "file"`` lines expanded (once each)."""
    seen: set[str] = set()

    def expand(fname: str) -> str:
        path = directory / fname
        if not path.is_file():
            raise FileNotFoundError(f"shader {fname!r} not found in {directory}")
        if fname in seen:
            return ""
        seen.add(fname)
        return _INCLUDE.sub(lambda m: expand(m.group(1)), path.read_text())

    return expand(name)


def program(ctx, vertex: str, fragment: str | None = None):
    """Compile a program from shader files in ``shaders/``."""
    return ctx.program(
        vertex_shader=shader_source(vertex),
        fragment_shader=shader_source(fragment) if fragment else None,
    )
