"""The catalog on disk: one folder per item (see :mod:`tryon.catalog.store`)."""

from __future__ import annotations

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

    def _folder(self, item_id: str) -> Path:
        if not ID_PATTERN.match(item_id or ""):
            raise KeyError(f"{item_id!r} is not a valid item id (lowercase letters, digits, - and _)")
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

    def store(
        self, item: Garment, originals: list[Path] = (), extra_manifest: dict | None = None, replace: bool = False
    ) -> Path:
        """Write ``item`` (and copies of its original files) as ``<root>/<id>/``, atomically:
        it is built in a hidden temporary folder beside the catalog and renamed into place,
        so a failure leaves the catalog exactly as it was."""
        if not ID_PATTERN.match(item.id):
            raise ValueError(f"{item.id!r} is not a valid item id (lowercase letters, digits, - and _, max 64)")
        self.root.mkdir(parents=True, exist_ok=True)
        final = self.root / item.id
        if final.exists() and not replace:
            raise FileExistsError(f"the catalog already has an item {item.id!r}; remove it first or choose another id")
        tmp = Path(tempfile.mkdtemp(prefix=f".{item.id}.", suffix=".tmp", dir=self.root))
        try:
            tmp.chmod(0o755)
            original_dir = tmp / "original"
            original_dir.mkdir()
            files = []
            for src in originals:
                src = Path(src)
                shutil.copyfile(src, original_dir / src.name)
                files.append({"file": f"original/{src.name}", "sha256": _sha256(src), "bytes": src.stat().st_size})
            created = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
            manifest = {"original": files, "created": created}
            manifest.update(extra_manifest or {})
            write_item(item, tmp, manifest)
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


def _sha256(path: Path) -> str:
    import hashlib

    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()
