"""Read a retailer's upload into a :class:`~tryon.catalog.assets.RawAsset`: one module per format.

Formats (by file suffix, case-insensitive), each in its own module:

- ``.glb`` / ``.gltf``: glTF 2.0 (:mod:`.gltf`, with the container and the checked reading of
  buffers and accessors in :mod:`.gltf_buffers`). Node transforms are baked into the positions
  and normals, ``KHR_materials_variants`` become ``RawAsset.variants``.
- ``.obj`` (+ ``.mtl`` + textures): :mod:`.obj`; one part per material, vertices split per
  (position, uv, normal) corner combination.
- ``.ply`` / ``.stl``: :mod:`.ply_stl`, read with trimesh, untextured.

Uploads are untrusted: :mod:`.safety` confines every file an asset refers to to the asset's
folder and holds every read to ``ImportLimits.max_file_bytes``; :mod:`.images` decodes
textures. :func:`load_asset` only reads; :func:`tryon.catalog.repair.validate_and_repair` is the
format-independent checking and repair the import pipeline runs afterwards. Nothing here
imports GL or the rest of the catalog.
"""

from __future__ import annotations

from pathlib import Path

from tryon.catalog.assets import ImportLimits, RawAsset, UnsupportedFormatError
from tryon.catalog.formats.gltf import load_gltf
from tryon.catalog.formats.gltf_buffers import gltf_credits
from tryon.catalog.formats.obj import load_obj
from tryon.catalog.formats.ply_stl import load_ply_stl
from tryon.catalog.formats.safety import DEFAULT_LIMITS

__all__ = ["SUPPORTED_SUFFIXES", "gltf_credits", "load_asset", "load_gltf", "load_obj", "load_ply_stl"]

#: The suffixes :func:`load_asset` reads.
SUPPORTED_SUFFIXES = (".glb", ".gltf", ".obj", ".ply", ".stl")
_SUPPORTED_LIST = ", ".join(SUPPORTED_SUFFIXES)


def load_asset(path: str | Path, limits: ImportLimits = DEFAULT_LIMITS) -> RawAsset:
    """Read an uploaded 3D file into a :class:`RawAsset` (file units and axes), by its suffix.

    ``.glb`` / ``.gltf`` (metres, y up), ``.obj`` (+ ``.mtl``), ``.ply``, ``.stl`` (units and axes
    unknown). Only reads, with the checks the format itself demands; run
    :func:`tryon.catalog.repair.validate_and_repair` next. Raises an
    :class:`~tryon.catalog.assets.AssetError` subclass with a plain-words message.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".mhclo":
        raise UnsupportedFormatError(
            f"{path.name} is a MakeHuman clothes file: it is imported with the MakeHuman clothes importer "
            "(tryon.catalog.makehuman_clothes), which fits it to the body, not with this loader."
        )
    if suffix in (".glb", ".gltf"):
        return load_gltf(path, limits)
    if suffix == ".obj":
        return load_obj(path, limits)
    if suffix in (".ply", ".stl"):
        return load_ply_stl(path, limits)
    what = f"'{suffix}' files are" if suffix else "files without an extension are"
    raise UnsupportedFormatError(
        f"{path.name}: {what} not supported. Upload one of: {_SUPPORTED_LIST} (a single .glb is best)."
    )
