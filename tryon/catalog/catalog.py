"""The catalog on disk: one folder per item (see :mod:`tryon.catalog.store`)."""

from __future__ import annotations

import contextlib
import datetime
import logging
import os
import re
import shutil
import tempfile
from pathlib import Path

from tryon.catalog.item import Garment
from tryon.catalog.store import MANIFEST, CatalogItemError, read_item, read_manifest, write_item

log = logging.getLogger(__name__)

REPO_ROOT = Path(__file__).resolve().parent.parent.parent
ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
LOCK_NAME = ".lock"


class ItemExistsError(FileExistsError):
    """The catalog already has an item with this id (and replacing it was not asked for)."""

    def __init__(self, item_id: str, meanwhile: bool = False) -> None:
        super().__init__(f"the catalog already has an item {item_id!r}" + (" (added meanwhile)" if meanwhile else ""))
        self.item_id = item_id


class NotACatalogError(NotADirectoryError):
    """The catalog's path is a file (or lies under one), not a folder."""


def id_problem(item_id: str) -> str | None:
    """Why ``item_id`` cannot be an item id, or None when it can."""
    if isinstance(item_id, str) and ID_PATTERN.match(item_id):
        return None
    return f"{item_id!r} is not a valid item id: use lower-case letters, digits, - and _ (at most 64)"


def default_catalog_dir() -> Path:
    """``$TRYON_CATALOG`` if set, else the bundled ``garments/`` folder."""
    env = os.environ.get("TRYON_CATALOG")
    return Path(env) if env else REPO_ROOT / "garments"


class Catalog:
    """Items stored under ``root``. Loading is lazy and cached; a broken item is skipped
    with a warning by :meth:`load_all` and raises a clear error from :meth:`get`."""

    def __init__(self, root: str | Path | None = None) -> None:
        self.root = Path(root) if root is not None else default_catalog_dir()
        self._cache: dict[str, Garment] = {}

    def ids(self) -> list[str]:
        """Ids of the folders that hold a manifest (whether or not they load)."""
        if not self.root.is_dir():
            return []
        return sorted(
            p.name for p in self.root.iterdir() if p.is_dir() and (p / MANIFEST).is_file() and ID_PATTERN.match(p.name)
        )

    def __contains__(self, item_id: str) -> bool:
        return item_id in self.ids()

    def manifest(self, item_id: str) -> dict:
        return read_manifest(self._folder(item_id))

    def check_root(self) -> None:
        """Raise :class:`NotACatalogError` when the catalog's path, or a folder above it, is a file."""
        for p in (self.root, *self.root.parents):
            if p.exists():
                if not p.is_dir():
                    what = "is a file" if p == self.root else f"lies under {p}, which is a file"
                    raise NotACatalogError(f"{self.root} {what}, not a catalog folder")
                return

    def _folder(self, item_id: str) -> Path:
        problem = id_problem(item_id)
        if problem:
            raise KeyError(problem)
        folder = self.root / item_id
        if not (folder / MANIFEST).is_file():
            known = ", ".join(self.ids()) or "none"
            raise KeyError(f"no item {item_id!r} in the catalog at {self.root} (items: {known})")
        return folder

    def get(self, item_id: str) -> Garment:
        """The item with this id; KeyError if absent, CatalogItemError if it is broken."""
        if item_id not in self._cache:
            self._cache[item_id] = read_item(self._folder(item_id))
        return self._cache[item_id]

    @contextlib.contextmanager
    def _locked(self):
        """An exclusive lock on the catalog (a ``.lock`` file) while items are renamed in or out,
        so concurrent imports and removals cannot interleave."""
        self.check_root()
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.root / LOCK_NAME, "a+") as fh:
            try:
                import fcntl

                fcntl.flock(fh, fcntl.LOCK_EX)
            except ImportError:  # not POSIX: the atomic renames still protect each item
                pass
            yield

    def store(
        self,
        item: Garment,
        originals: list[Path] = (),
        extra_manifest: dict | None = None,
        replace: bool = False,
        preview: bool = False,
    ) -> Path:
        """Write ``item`` (copies of its original files, and a ``preview.png`` if asked) as
        ``<root>/<id>/``. The originals keep their places relative to the first one's folder
        (``textures/a.png`` stays ``original/textures/a.png``), each once; files outside that
        folder are left out. Atomically: it is built in a hidden temporary folder beside the
        catalog and renamed into place under the catalog's lock, so a failure or a crash leaves
        the catalog's items exactly as they were, and two imports at once cannot collide.
        Raises :class:`ItemExistsError` when the id is taken and ``replace`` is False."""
        problem = id_problem(item.id)
        if problem:
            raise ValueError(problem)
        from tryon.catalog.repair import require_finite

        require_finite(item)  # nothing non-finite is ever stored
        self.check_root()
        self.root.mkdir(parents=True, exist_ok=True)
        final = self.root / item.id
        if final.exists() and not replace:
            raise ItemExistsError(item.id)
        self._sweep_stale()
        tmp = Path(tempfile.mkdtemp(prefix=f".{item.id}.", suffix=".tmp", dir=self.root))
        try:
            tmp.chmod(0o755)
            original_dir = tmp / "original"
            original_dir.mkdir()
            files = []
            for src, rel in _original_layout(originals):
                dest = original_dir / rel
                dest.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(src, dest)
                files.append({"file": f"original/{rel}", "sha256": _sha256(src), "bytes": src.stat().st_size})
            created = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
            manifest = {"original": files, "created": created}
            manifest.update(extra_manifest or {})
            write_item(item, tmp, manifest)
            if preview:
                import cv2

                from tryon.catalog.preview import render_preview

                cv2.imwrite(str(tmp / "preview.png"), render_preview(item))
            with self._locked():
                if final.exists() and not replace:
                    raise ItemExistsError(item.id, meanwhile=True)
                old = None
                if final.exists():
                    old = self.root / f".{item.id}.old.{os.getpid()}"
                    os.rename(final, old)
                os.rename(tmp, final)
            if old is not None:
                shutil.rmtree(old, ignore_errors=True)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        self._cache.pop(item.id, None)
        return final

    def _sweep_stale(self, max_age_s: float = 3600.0) -> None:
        """Remove temporary folders a crashed import left behind (hidden, over an hour old)."""
        import time

        now = time.time()
        for p in self.root.glob(".*.tmp"):
            try:
                if p.is_dir() and now - p.stat().st_mtime > max_age_s:
                    shutil.rmtree(p, ignore_errors=True)
            except OSError:
                pass

    def add(self, path: str | Path, options, replace: bool = False, preview: bool = True, guard=None):
        """Import a retailer's file into the catalog (see :mod:`tryon.catalog.pipeline`).

        Returns (folder, ImportResult). Raises an AssetError (with an ``exit_code``) when the
        file cannot become an item; the catalog is untouched then. ``guard``: a context manager
        factory the import (reading and fitting, not storing) runs inside, e.g. the CLI's memory
        and time budget (:func:`tryon.catalog.cli.import_budget`)."""
        import contextlib

        from tryon.catalog.pipeline import import_file

        with (guard or contextlib.nullcontext)():
            result = import_file(path, options)
        manifest = dict(result.manifest)
        manifest["id"] = result.garment.id
        folder = self.store(result.garment, result.files, manifest, replace=replace, preview=preview)
        return folder, result

    def refit(self, item_id: str, overrides=None, preview: bool = True, guard=None):
        """Import an item again from the original it keeps, with the options it was imported
        with; its stored manual overrides, updated by ``overrides`` (a FitOverrides whose set
        fields win), are kept in the new manifest. Returns (folder, ImportResult); on an error
        the item stays as it was."""

        from tryon.catalog.pipeline import ImportOptions

        manifest = self.manifest(item_id)
        options = ImportOptions.from_manifest(manifest, overrides)
        main = self._folder(item_id) / "original" / Path(manifest["source"]["file"]).name
        if not main.is_file():
            raise CatalogItemError(f"{item_id}: its original {main.name} is missing; add the file again instead")
        with tempfile.TemporaryDirectory(prefix="tryon-refit-") as tmp:
            upload = Path(tmp) / "original"
            shutil.copytree(main.parent, upload)  # the import replaces the folder it reads from
            return self.add(upload / main.name, options, replace=True, preview=preview, guard=guard)

    def remove(self, item_id: str) -> None:
        """Delete an item (moved aside under the lock, then deleted)."""
        folder = self._folder(item_id)
        with self._locked():
            trash = self.root / f".{item_id}.removed.{os.getpid()}.tmp"
            os.rename(folder, trash)
        shutil.rmtree(trash, ignore_errors=True)
        self._cache.pop(item_id, None)

    def preview(self, item_id: str, variant: str | None = None, output: Path | None = None) -> Path:
        """Render (again) the item's preview; returns the PNG's path."""
        import cv2

        from tryon.catalog.preview import render_preview

        img = render_preview(self.get(item_id), variant)
        path = (
            Path(output)
            if output
            else self._folder(item_id) / ("preview.png" if variant is None else f"preview-{variant}.png")
        )
        if not cv2.imwrite(str(path), img):
            raise OSError(f"cannot write {path}")
        return path

    def load_all(self) -> tuple[list[Garment], list[str]]:
        """Every item that loads, and one warning per item that does not."""
        items, warnings = [], []
        for item_id in self.ids():
            try:
                items.append(self.get(item_id))
            except (CatalogItemError, KeyError, OSError, ValueError) as exc:
                msg = f"skipping catalog item {item_id!r}: {exc}"
                log.warning(msg)
                warnings.append(msg)
        return items, warnings


def _original_layout(originals) -> list[tuple[Path, str]]:
    """(file, its path under ``original/``) for each distinct original: relative to the first
    file's folder, '/'-separated; a file outside that folder is left out (with a log line)."""
    paths = [Path(os.path.normpath(os.path.abspath(f))) for f in originals]
    if not paths:
        return []
    base = paths[0].parent
    out: list[tuple[Path, str]] = []
    seen: set[str] = set()
    for src in paths:
        try:
            rel = src.relative_to(base).as_posix()
        except ValueError:
            log.warning("not keeping %s with the original: it is outside %s", src, base)
            continue
        if rel not in seen:
            seen.add(rel)
            out.append((src, rel))
    return out


def _sha256(path: Path) -> str:
    import hashlib

    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()
