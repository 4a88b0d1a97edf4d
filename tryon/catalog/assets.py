"""What a file importer hands the catalog pipeline: the asset as the file describes it.

A ``RawAsset`` is in the file's own units and axes (glTF: metres, y up; OBJ/PLY/STL: unknown),
not yet fitted to the mannequin or rigged. The pipeline (:mod:`tryon.catalog.pipeline`)
validates and repairs it, detects units, fits it to the mannequin by category and rigs it.

Errors a retailer can act on are :class:`AssetError` subclasses, each with its own exit code
for the ``tryon garments add`` command and a message in plain words.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class RawMaterial:
    """base_color : (4,) float32 linear RGBA. base_texture : (H, W, 4) uint8 sRGB RGBA or None.
    texture_source : the file (or glTF image) the texture came from, for the manifest.
    normal_texture (normal_scale), occlusion_texture, roughness_texture : the file's own maps,
    (H, W, 4) uint8 (glTF's channels), or None. sheen_color (3,) linear, sheen_roughness :
    ``KHR_materials_sheen``'s factors, or None."""

    name: str
    base_color: np.ndarray = field(default_factory=lambda: np.array([0.8, 0.8, 0.8, 1.0], np.float32))
    base_texture: np.ndarray | None = None
    metallic: float = 0.0
    roughness: float = 0.8
    double_sided: bool = True
    texture_source: str | None = None
    normal_texture: np.ndarray | None = None
    normal_scale: float = 1.0
    occlusion_texture: np.ndarray | None = None
    roughness_texture: np.ndarray | None = None
    sheen_color: np.ndarray | None = None
    sheen_roughness: float | None = None


@dataclass
class RawPart:
    """One mesh primitive. positions : (V, 3) float64 in file units/axes. normals : (V, 3) or
    None. uvs : (V, 2) in glTF's convention (v = 0 at the image top) or None. faces : (F, 3)
    int64. material : index into the asset's materials."""

    positions: np.ndarray
    faces: np.ndarray
    normals: np.ndarray | None = None
    uvs: np.ndarray | None = None
    material: int = 0
    name: str = ""


@dataclass
class RawAsset:
    """An imported file.

    variants : colourway name -> material index per part (glTF ``KHR_materials_variants``).
    units_hint : the unit the format declares ("m" for glTF), or None when unknown.
    up_axis_hint : "y" or "z" when the format declares it, else None.
    warnings : things repaired or substituted on the way (missing textures...).
    files : every file the asset was read from (main file first), for the catalog's copy.
    credits : what the file says about its origin ("author", "license", "source", "title"; glTF
    ``asset.extras`` as Sketchfab writes them), each a one-line text; empty when it says nothing.
    """

    parts: list[RawPart]
    materials: list[RawMaterial]
    variants: dict[str, list[int]] = field(default_factory=dict)
    source_format: str = ""
    units_hint: str | None = None
    up_axis_hint: str | None = None
    warnings: list[str] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    credits: dict[str, str] = field(default_factory=dict)

    @property
    def triangle_count(self) -> int:
        return sum(len(p.faces) for p in self.parts)

    @property
    def vertex_count(self) -> int:
        return sum(len(p.positions) for p in self.parts)

    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        pts = np.concatenate([p.positions for p in self.parts if len(p.positions)])
        return pts.min(axis=0), pts.max(axis=0)


#: The most any file of an upload may have (main or referenced), whatever the options: an honest
#: mesh file just under it imports in under about 1 GB (the README's reliability section).
MAX_FILE_BYTES = 64 * 1024 * 1024


@dataclass(frozen=True)
class ImportLimits:
    """max_file_bytes : refuse larger files (each file, main or referenced; at most :data:`MAX_FILE_BYTES`).
    max_triangles : the real-time budget per item. allow_decimate : reduce a mesh over
    budget instead of refusing it."""

    max_file_bytes: int = MAX_FILE_BYTES
    max_triangles: int = 60_000
    allow_decimate: bool = False

    def __post_init__(self) -> None:
        if not 0 < self.max_file_bytes <= MAX_FILE_BYTES:
            raise ValueError(
                f"max_file_bytes must be between 1 and {MAX_FILE_BYTES:,} (64 MiB, the most any upload may have: "
                f"an honest file under it imports in under about 1 GB), not {self.max_file_bytes:,}"
            )


class AssetError(Exception):
    """An upload that cannot become a catalog item, with a message a non-engineer can act on."""

    exit_code = 10

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class UnreadableFileError(AssetError):
    """Missing, unreadable, truncated, or not the format its name says."""

    exit_code = 10


class UnsupportedFormatError(AssetError):
    exit_code = 11


class NotAMeshError(AssetError):
    """Readable, but holds no triangle mesh (a point cloud, lines, an empty scene)."""

    exit_code = 12


class EmptyMeshError(AssetError):
    """A mesh with zero faces (or none left after removing broken ones)."""

    exit_code = 13


class BadCoordinatesError(AssetError):
    """NaN or infinite vertex coordinates."""

    exit_code = 14


class TooManyTrianglesError(AssetError):
    """Over the real-time triangle budget (and decimation not asked for)."""

    exit_code = 15


class UnsafeReferenceError(AssetError):
    """A reference outside the asset's folder, or to the network."""

    exit_code = 16


class UnsupportedExtensionError(UnsupportedFormatError):
    """A glTF that needs an extension this importer does not read (Draco, meshopt, KTX2...):
    an unsupported format (exit code 11)."""

    exit_code = 11


class BufferMismatchError(AssetError):
    """Declared buffer or accessor sizes do not match the data."""

    exit_code = 17


class FileTooLargeError(AssetError):
    exit_code = 18


class UnitsError(AssetError):
    """A size that no unit makes plausible for the category."""

    exit_code = 19


class DoesNotFitError(AssetError):
    """After auto-fit the item is far from the body part it belongs to."""

    exit_code = 20
