"""Wavefront OBJ (+ MTL libraries and ``map_Kd`` textures) -> :class:`~tryon.catalog.assets.RawAsset`."""

from __future__ import annotations

import re
from array import array
from pathlib import Path
from typing import Any, NoReturn

import numpy as np

from tryon.catalog.assets import (
    BufferMismatchError,
    ImportLimits,
    NotAMeshError,
    RawAsset,
    RawMaterial,
    RawPart,
    UnreadableFileError,
)
from tryon.catalog.formats.images import TextureBudget, decode_image
from tryon.catalog.formats.safety import (
    DEFAULT_LIMITS,
    HARD_TRIANGLE_CAP,
    confined_path,
    read_file,
    too_many_triangles,
)
from tryon.image import srgb_to_linear

_OBJ_KEYWORDS = frozenset(
    "v vt vn vp f fo l p o g s mg usemtl mtllib usemap maplib cstype deg bmat step curv curv2 surf parm trim "
    "hole scrv sp end con bevel c_interp d_interp lod shadow_obj trace_obj ctech stech call csh".split()
)
#: map_* options and how many values follow them (-o/-s/-t/-texres take up to 3 numbers).
_MAP_OPTIONS = {"-blendu": 1, "-blendv": 1, "-bm": 1, "-boost": 1, "-cc": 1, "-clamp": 1, "-imfchan": 1, "-mm": 2}
_MAP_VECTOR_OPTIONS = {"-o", "-s", "-t", "-texres"}
_NUMBER = re.compile(r"[-+]?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?", re.IGNORECASE)


#: Resolved indices at or above this are out of range for any file within the size limit; kept
#: as this value (int32 storage), the raw number is remembered for the message.
_INDEX_LIMIT = 2**31 - 1
#: Text is split into lines this many characters at a time (at a newline), not all at once.
_CHUNK_CHARS = 1 << 20


def _chunks(text: str):
    """``text`` about ``_CHUNK_CHARS`` characters at a time, each chunk whole lines (cut after a
    newline), not all at once."""
    pos, n = 0, len(text)
    while pos < n:
        end = text.find("\n", pos + _CHUNK_CHARS)
        end = n if end < 0 else end + 1
        yield text[pos:end]
        pos = end


#: Line breaks ``str.splitlines`` knows besides "\n" (and "\r\n", made "\n" first): a chunk
#: holding one is cut into lines by ``splitlines`` itself, so lines are numbered as it numbers them.
_OTHER_BREAKS = re.compile("[\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]")
#: A line's first two characters -> the run it can be read in bulk with.
_BULK_HEADS = {"v ": "v", "vt": "vt", "vn": "vn", "f ": "f"}
#: Where a run of lines beginning with a kind's head ends: the first line that does not.
_RUN_END = {kind: re.compile(f"\n(?!{head})") for head, kind in _BULK_HEADS.items()}


def _unique_rows(corners: np.ndarray, totals: tuple[int, int, int]) -> tuple[np.ndarray, np.ndarray]:
    """``np.unique(corners, axis=0, return_inverse=True)`` for (N, 3) (vertex, uv, normal) rows,
    uv/normal -1 when absent, sorted the same way; through one int64 key per row when the counts
    allow it (a fraction of the memory of a row-wise unique)."""
    nv, nt, nn = totals
    a, b = (nt + 1) * (nn + 1), nn + 1
    if nv * a >= 2**62:
        uniq, inverse = np.unique(corners, axis=0, return_inverse=True)
        return uniq, inverse.reshape(-1)
    dtype = np.int32 if nv * a < 2**31 else np.int64  # half the memory when the counts allow
    key = corners[:, 0].astype(dtype)
    key *= a
    for col, mul in ((1, b), (2, 1)):
        term = corners[:, col].astype(dtype)
        term += 1
        term *= mul
        key += term
        del term
    ukey, inverse = np.unique(key, return_inverse=True)
    ukey = ukey.astype(np.int64)
    del key
    uniq = np.empty((len(ukey), 3), np.int64)
    uniq[:, 0], rest = np.divmod(ukey, a)
    uniq[:, 1], uniq[:, 2] = np.divmod(rest, b)
    uniq[:, 1:] -= 1
    return uniq, inverse.reshape(-1)


def map_filename(tokens: list[str]) -> str:
    """The file name of an MTL ``map_Kd [options] file`` statement (file names may hold spaces)."""
    i = 0
    while i < len(tokens) and tokens[i].startswith("-"):
        opt = tokens[i].lower()
        i += 1
        if opt in _MAP_OPTIONS:
            i += _MAP_OPTIONS[opt]
        elif opt in _MAP_VECTOR_OPTIONS:
            k = 0
            while i < len(tokens) and k < 3 and _NUMBER.fullmatch(tokens[i]):
                i, k = i + 1, k + 1
        else:
            break
    return " ".join(tokens[i:])


def _parse_mtl(text: str) -> dict[str, dict[str, Any]]:
    """Material name -> the MTL statements we use (kd, d, tr, ns, pr, pm as float lists; map_kd)."""
    mats: dict[str, dict[str, Any]] = {}
    cur: dict[str, Any] | None = None
    for line in text.splitlines():
        tok = line.split()
        if not tok or tok[0].startswith("#"):
            continue
        key = tok[0].lower()
        if key == "newmtl":
            cur = mats.setdefault(" ".join(tok[1:]), {})
        elif cur is None:
            continue
        elif key == "map_kd" and len(tok) > 1:
            cur["map_kd"] = map_filename(tok[1:])
        elif key in ("kd", "d", "tr", "ns", "pr", "pm"):
            try:
                values = [float(x) for x in tok[1 : 4 if key == "kd" else 2]]
            except ValueError:
                continue
            if values and np.all(np.isfinite(values)):
                cur[key] = values
    return mats


class _ObjReader:
    """Reads an OBJ a chunk of lines at a time. Runs of consecutive ``v`` / ``vt`` / ``vn`` / ``f``
    lines are parsed in bulk (one ``str.split`` over the run, numbers converted by numpy with
    Python's own ``float`` / ``int`` rules); a run the bulk path cannot take exactly (a bad
    number, a short line, mixed corner forms) is read line by line (:meth:`_line`), which is
    the reference: both give the same arrays, warnings and refusals."""

    def __init__(self, path: Path, limits: ImportLimits):
        self.path = path
        self.name = path.name
        self.base_dir = path.absolute().parent
        self.limits = limits
        self.warnings: list[str] = []
        self.files = [str(path)]
        self.texture_budget = TextureBudget()
        # Compact typed storage (a few bytes per value, not a Python object each): a 30 MB file of
        # one face repeated 3 million times stays within a few hundred MB.
        self.v_vals, self.vt_vals, self.vn_vals = array("d"), array("d"), array("d")
        self.bad_v: tuple[int, str] | None = None  # first vertex line whose numbers do not parse
        self.bad_attr = False  # a vt / vn line whose numbers do not parse
        self.corners = array("i")  # per corner: 0-based (vertex, uv, normal); -1 = absent
        self.first_bad: dict[int, tuple[int, int]] = {}  # column -> (corner, raw value) refused while reading
        self.face_k, self.face_mat, self.face_line = array("i"), array("i"), array("i")
        self.mat_names: list[str | None] = []
        self.mat_of: dict[str | None, int] = {}
        self.current: str | None = None
        self.mtllibs: list[str] = []
        self.n_tris = self.unknown = self.short_faces = self.lines_or_points = 0

    def bad_line(self, lineno: int, msg: str) -> NoReturn:
        raise UnreadableFileError(f"{self.name} line {lineno}: {msg}. The file is not a valid OBJ: re-export it.")

    def _too_many_triangles(self) -> NoReturn:
        raise too_many_triangles(self.name)

    def _material_index(self) -> int:
        if self.current not in self.mat_of:
            self.mat_of[self.current] = len(self.mat_names)
            self.mat_names.append(self.current)
        return self.mat_of[self.current]

    # -- line by line: the reference ---------------------------------------------------
    def _line(self, lineno: int, line: str) -> None:
        tok = line.split()
        if not tok or tok[0].startswith("#"):
            return
        key = tok[0]
        if key == "v":
            if len(tok) < 4:
                self.bad_line(lineno, "a vertex needs 3 coordinates")
            try:
                self.v_vals.extend((float(tok[1]), float(tok[2]), float(tok[3])))
            except ValueError:
                self.v_vals.extend((0.0, 0.0, 0.0))
                self.bad_v = self.bad_v or (lineno, " ".join(tok[1:4]))
        elif key == "vt":
            uv = (tok[1:3] + ["0"])[:2] if len(tok) > 1 else ["0", "0"]
            try:
                u, v = float(uv[0]), float(uv[1])
            except ValueError:
                u = v = 0.0
                self.bad_attr = True
            self.vt_vals.extend((u, v))
        elif key == "vn":
            if len(tok) < 4:
                self.bad_line(lineno, "a normal needs 3 values")
            try:
                self.vn_vals.extend((float(tok[1]), float(tok[2]), float(tok[3])))
            except ValueError:
                self.vn_vals.extend((0.0, 0.0, 0.0))
                self.bad_attr = True
        elif key in ("f", "fo"):
            self._face_line(lineno, line, tok)
        elif key == "usemtl":
            self.current = " ".join(tok[1:]) or None
        elif key == "mtllib":
            self.mtllibs.append(" ".join(tok[1:]))
        elif key in ("l", "p"):
            self.lines_or_points += 1
        elif key not in _OBJ_KEYWORDS:
            self.unknown += 1

    def _face_line(self, lineno: int, line: str, tok: list[str]) -> None:
        if len(tok) < 4:
            self.short_faces += 1
            return
        self.n_tris += len(tok) - 3
        if self.n_tris > HARD_TRIANGLE_CAP:
            self._too_many_triangles()
        corners = self.corners
        if "/" not in line and "-" not in line:  # plain positive vertex numbers: the fast path
            try:
                vs = [int(c) for c in tok[1:]]
            except ValueError:
                vs = []
            if vs and min(vs) >= 1 and max(vs) < _INDEX_LIMIT:
                corners.extend([x for v in vs for x in (v - 1, -1, -1)])
                self.face_k.append(len(vs))
                self.face_mat.append(self._material_index())
                self.face_line.append(lineno)
                return
        counts = (len(self.v_vals) // 3, len(self.vt_vals) // 2, len(self.vn_vals) // 3)
        corner = ""
        try:
            for corner in tok[1:]:
                a = corner.split("/")
                for col in range(3):
                    raw = int(a[col]) if len(a) > col and a[col] else 0
                    # 1-based, or negative = relative to the elements defined so far; 0 = absent
                    i = raw - 1 if raw > 0 else (counts[col] + raw if raw < 0 else -1)
                    if (i < 0 and (raw != 0 or col == 0)) or i >= _INDEX_LIMIT:
                        if col not in self.first_bad:
                            self.first_bad[col] = (len(corners) // 3, raw)
                        i = _INDEX_LIMIT if i >= 0 else -1
                    corners.append(i)
        except ValueError:
            self.bad_line(lineno, f"face corner '{corner}' is not a vertex number")
        self.face_k.append(len(tok) - 1)
        self.face_mat.append(self._material_index())
        self.face_line.append(lineno)

    # -- runs in bulk ------------------------------------------------------------------
    def _run(self, key: str, first_lineno: int, run: str, n_lines: int) -> None:
        """``run``: ``n_lines`` lines that all begin with ``key``, "\n" after each. In bulk when
        it can be read exactly so, else line by line; nothing is stored unless the whole run is
        taken in bulk."""
        tokens = run.split()
        k = len(run[: run.find("\n")].split())
        if len(tokens) == k * n_lines and tokens[::k].count(key) == n_lines:
            starts = np.arange(0, len(tokens), k)  # one shape of line (the usual case)
        else:  # every line begins with the key token: as many key tokens as lines = where lines start
            starts = np.flatnonzero(np.array(tokens, dtype=object) == key)
        taken = False
        if len(starts) == n_lines:
            lengths = np.diff(np.append(starts, len(tokens)))
            try:
                if key == "f":
                    taken = self._bulk_faces(first_lineno, tokens, starts, lengths)
                else:
                    taken = self._bulk_values(key, tokens, starts, lengths)
            except (ValueError, OverflowError, UnicodeEncodeError):
                taken = False
        if not taken:
            for i, line in enumerate(run.split("\n")[:n_lines]):
                self._line(first_lineno + i, line)

    def _bulk_values(self, key: str, tokens: list[str], starts: np.ndarray, lengths: np.ndarray) -> bool:
        """v / vn: the first three numbers of each line; vt: the first two (v = 0 when absent)."""
        want = 2 if key == "vt" else 3
        if key != "vt" and lengths.min() < 4:
            return False  # a short line: its refusal names it, line by line
        if key == "vt" and lengths.min() < 2:
            return False
        k = int(lengths[0])
        if (lengths == k).all():  # one shape of line (the usual case): whole columns
            del tokens[::k]
            vals = np.array(tokens, dtype=np.float64).reshape(len(starts), k - 1)
        else:  # lines of several lengths (vertex colours on some): each line's numbers in full
            vals = np.zeros((len(starts), int(lengths.max()) - 1))
            for n in np.unique(lengths):
                rows = np.flatnonzero(lengths == n)
                picked = [tokens[starts[r] + 1 + c] for r in rows.tolist() for c in range(int(n) - 1)]
                vals[rows, : n - 1] = np.array(picked, dtype=np.float64).reshape(len(rows), n - 1)
        out = np.zeros((len(starts), want))
        m = min(want, vals.shape[1])
        out[:, :m] = vals[:, :m]
        target = self.vt_vals if key == "vt" else self.vn_vals if key == "vn" else self.v_vals
        target.frombytes(out.tobytes())
        return True

    def _bulk_faces(self, first_lineno: int, tokens: list[str], starts: np.ndarray, lengths: np.ndarray) -> bool:
        """f lines whose corners all have one form (``a``, ``a/b``, ``a//c`` or ``a/b/c``)."""
        if lengths.min() < 4:
            return False
        n_corners = lengths - 1
        if (lengths == lengths[0]).all():
            del tokens[:: int(lengths[0])]
        else:  # lines of several lengths (triangles and quads): drop the key tokens
            keep = np.ones(len(tokens), bool)
            keep[starts] = False
            tokens = np.array(tokens, dtype=object)[keep].tolist()
        text = " ".join(tokens)
        slashes = text.count("/")
        if slashes == 0:
            cols = 1
        elif slashes % len(tokens) == 0 and slashes // len(tokens) in (1, 2):
            cols = slashes // len(tokens) + 1
            # each corner's slashes (the corners joined by single spaces, ASCII or not taken here)
            b = np.frombuffer(text.encode("ascii"), np.uint8)
            gaps = np.flatnonzero(b == 32)
            slash_before = np.concatenate([[0], np.cumsum(b == 47)])
            per_corner = slash_before[np.append(gaps, len(b))] - slash_before[np.concatenate([[0], gaps + 1])]
            if (per_corner != cols - 1).any():
                return False
            if cols == 3:
                text = text.replace("//", "/0/")
            if "/ " in text or " /" in text or text.startswith("/") or text.endswith("/"):
                return False  # an empty vertex number: refused line by line
            text = text.replace("/", " ")
        else:
            return False
        raw = np.array(text.split(), dtype=np.int64)
        if len(raw) != cols * len(tokens):
            return False
        raw = raw.reshape(-1, cols)
        n_tris = self.n_tris + int((lengths - 3).sum())
        if n_tris > HARD_TRIANGLE_CAP:
            self._too_many_triangles()
        counts = (len(self.v_vals) // 3, len(self.vt_vals) // 2, len(self.vn_vals) // 3)
        out = np.full((len(raw), 3), -1, np.int64)
        base = len(self.corners) // 3
        for col in range(3):
            r = raw[:, col] if col < cols else np.zeros(len(raw), np.int64)
            i = np.where(r > 0, r - 1, np.where(r < 0, counts[col] + r, -1))
            bad = ((i < 0) & ((r != 0) | (col == 0))) | (i >= _INDEX_LIMIT)
            if bad.any() and col not in self.first_bad:
                first = int(np.argmax(bad))
                self.first_bad[col] = (base + first, int(r[first]))
            out[:, col] = np.where(i >= _INDEX_LIMIT, _INDEX_LIMIT, np.where(bad, -1, i))
        self.n_tris = n_tris
        self.corners.frombytes(out.astype(np.int32).tobytes())
        self.face_k.frombytes(n_corners.astype(np.int32).tobytes())
        self.face_mat.frombytes(np.full(len(starts), self._material_index(), np.int32).tobytes())
        self.face_line.frombytes((first_lineno + np.arange(len(starts), dtype=np.int32)).tobytes())
        return True

    def _chunk(self, first_lineno: int, chunk: str) -> int:
        """Whole lines in order: runs of one bulk kind together, every other line alone.
        Returns the number of lines read."""
        if _OTHER_BREAKS.search(chunk):  # numbered as splitlines numbers them, each line alone
            lines = chunk.splitlines()
            for i, line in enumerate(lines):
                self._line(first_lineno + i, line)
            return len(lines)
        pos, n, lineno = 0, len(chunk), first_lineno
        while pos < n:
            kind = _BULK_HEADS.get(chunk[pos : pos + 2])
            if kind is not None:
                m = _RUN_END[kind].search(chunk, pos)
                end = m.start() + 1 if m else n
                run = chunk[pos:end]
                if not run.endswith("\n"):
                    run += "\n"
                n_lines = run.count("\n")
                if n_lines > 1:
                    self._run(kind, lineno, run, n_lines)
                    pos, lineno = end, lineno + n_lines
                    continue
            end = chunk.find("\n", pos)
            end = n if end < 0 else end + 1
            self._line(lineno, chunk[pos:end].rstrip("\n"))
            pos, lineno = end, lineno + 1
        return lineno - first_lineno

    def read(self) -> RawAsset:
        data = read_file(self.path, self.limits, self.name)
        if b"\x00" in data[:65536]:
            raise UnreadableFileError(f"{self.name} is a binary file, not a text OBJ. Check that it is an OBJ export.")
        text = data.decode("utf-8", errors="replace").replace("\\\r\n", " ").replace("\\\n", " ")
        del data
        text = text.replace("\r\n", "\n")  # one line break either way, as splitlines counts
        lineno = 1
        for chunk in _chunks(text):
            lineno += self._chunk(lineno, chunk)
        del text
        return self._asset()

    def _asset(self) -> RawAsset:
        corners, face_k, face_line, mat_names = self.corners, self.face_k, self.face_line, self.mat_names
        n_v = len(self.v_vals) // 3
        if not n_v or self.unknown > n_v + len(face_k):
            raise UnreadableFileError(
                f"{self.name} does not look like an OBJ file (no vertex lines 'v x y z', or mostly unknown "
                "lines). Check that the file is a Wavefront OBJ export."
            )
        if self.bad_v is not None:
            self.bad_line(self.bad_v[0], f"vertex coordinates {self.bad_v[1]!r} are not numbers")
        if self.bad_attr:
            raise UnreadableFileError(
                f"{self.name} has texture coordinates or normals that are not numbers. Re-export it."
            )
        positions = np.frombuffer(self.v_vals, np.float64).reshape(-1, 3)
        texcoords = np.frombuffer(self.vt_vals, np.float64).reshape(-1, 2)
        vnormals = np.frombuffer(self.vn_vals, np.float64).reshape(-1, 3)
        if not face_k:
            extra = f" and {self.lines_or_points} line/point elements" if self.lines_or_points else ""
            raise NotAMeshError(
                f"{self.name} holds {n_v} vertices{extra} but no faces: it is a point cloud or wireframe, "
                "not a surface. Export the garment as a mesh with faces."
            )
        if self.short_faces:
            self.warnings.append(f"ignored {self.short_faces} faces with fewer than 3 corners")
        idx = np.frombuffer(corners, np.int32).reshape(-1, 3)
        k = np.frombuffer(face_k, np.int32).astype(np.int64)
        totals = (len(positions), len(texcoords), len(vnormals))
        for col, label in ((0, "vertex"), (1, "texture coordinate"), (2, "normal")):
            found = [self.first_bad[col]] if col in self.first_bad else []
            over = idx[:, col] >= totals[col]
            if over.any():
                first = int(np.argmax(over))
                found.append((first, int(idx[first, col]) + 1))
            if found:
                first, raw = min(found)
                face = int(np.searchsorted(np.cumsum(k), first, side="right"))
                raise BufferMismatchError(
                    f"{self.name} line {face_line[face]}: a face uses {label} {raw} but the file "
                    f"defines only {totals[col]} {label}s. The file is damaged or incomplete: re-export it."
                )
        # fan-triangulate every polygon: corners (0, j, j + 1) for j in 1 .. k - 2
        if (k == 3).all():
            tri_face = np.arange(len(k))
            tri_corners = np.arange(3 * len(k)).reshape(-1, 3)
        else:
            start = np.concatenate([[0], np.cumsum(k)[:-1]])
            tri_face = np.repeat(np.arange(len(k)), k - 2)
            first_tri = np.concatenate([[0], np.cumsum(k - 2)[:-1]])
            j = np.arange(len(tri_face)) - first_tri[tri_face] + 1
            a = start[tri_face]
            tri_corners = np.stack([a, a + j, a + j + 1], axis=1)
            del start, first_tri, j, a
        tri_mat = np.frombuffer(self.face_mat, np.int32)[tri_face]
        del tri_face
        materials = self._materials(self.mtllibs, mat_names)
        parts: list[RawPart] = []
        for m, mname in enumerate(mat_names):
            if len(mat_names) == 1 and len(tri_corners) * 3 == len(idx):  # one material, all triangles
                corners_m = idx
            else:
                corners_m = idx[tri_corners[tri_mat == m].ravel()]
            if len(corners_m):
                part = self._part(corners_m, positions, texcoords, vnormals, mname or "default")
                part.material = m
                parts.append(part)
        return RawAsset(
            parts=parts,
            materials=materials,
            source_format="obj",
            units_hint=None,
            up_axis_hint=None,
            warnings=self.warnings,
            files=self.files,
        )

    def _part(self, corners: np.ndarray, positions, texcoords, vnormals, label: str) -> RawPart:
        """Split vertices so each distinct (position, uv, normal) corner is one vertex."""
        uniq, inverse = _unique_rows(corners, (len(positions), len(texcoords), len(vnormals)))
        faces = inverse.reshape(-1, 3).astype(np.int64)
        uvs = normals = None
        has_uv = uniq[:, 1] >= 0
        if has_uv.any():
            uvs = np.zeros((len(uniq), 2), np.float64)
            uvs[has_uv] = texcoords[uniq[has_uv, 1]]
            uvs[:, 1] = np.where(has_uv, 1.0 - uvs[:, 1], 0.0)  # OBJ's v points up, glTF's down
            if not has_uv.all():
                self.warnings.append(f"part '{label}': {int((~has_uv).sum())} vertices had no UV and got (0, 0)")
            uvs = uvs.astype(np.float32)
        if (uniq[:, 2] >= 0).all():
            normals = vnormals[uniq[:, 2]].astype(np.float32)
        return RawPart(positions=positions[uniq[:, 0]], faces=faces, normals=normals, uvs=uvs, name=label)

    def _materials(self, mtllibs: list[str], used: list[str | None]) -> list[RawMaterial]:
        """One material per used name (first-use order), from the MTL libraries."""
        defs: dict[str, tuple[dict[str, Any], Path]] = {}
        missing_lib = False
        for lib in mtllibs:
            if not lib:
                continue
            # "mtllib a.mtl b.mtl" lists several; a single name may also hold spaces
            whole = confined_path(lib, self.base_dir, self.name, "material library", is_uri=False)
            for name in [lib] if " " not in lib or whole.is_file() else lib.split():
                file = confined_path(name, self.base_dir, self.name, "material library", is_uri=False)
                data = read_file(file, self.limits, f"{self.name}: material library '{name}'", missing_ok=True)
                if data is None:
                    self.warnings.append(f"material library '{name}' is missing; using plain grey materials")
                    missing_lib = True
                    continue
                self.files.append(str(file))
                for mname, spec in _parse_mtl(data.decode("utf-8", errors="replace")).items():
                    defs.setdefault(mname, (spec, file.parent))
        materials: list[RawMaterial] = []
        for mname in used:
            if mname is None:
                materials.append(RawMaterial(name="default"))
            elif mname in defs:
                materials.append(self._material(mname, *defs[mname]))
            else:
                if mtllibs and not missing_lib:  # a missing library was reported: it may define it
                    self.warnings.append(f"material '{mname}' is not defined in the .mtl; using plain grey")
                materials.append(RawMaterial(name=mname))
        return materials

    def _material(self, mname: str, spec: dict[str, Any], mtl_dir: Path) -> RawMaterial:
        mat = RawMaterial(name=mname)
        if len(spec.get("kd", ())) == 3:
            mat.base_color[:3] = srgb_to_linear(spec["kd"])
        elif "map_kd" in spec:
            mat.base_color[:3] = 1.0
        if "d" in spec:
            mat.base_color[3] = float(np.clip(spec["d"][0], 0, 1))
        elif "tr" in spec:
            mat.base_color[3] = float(np.clip(1.0 - spec["tr"][0], 0, 1))
        if "pr" in spec:
            mat.roughness = float(np.clip(spec["pr"][0], 0, 1))
        elif "ns" in spec:
            mat.roughness = float(np.clip(np.sqrt(2.0 / (max(spec["ns"][0], 0.0) + 2.0)), 0, 1))
        if "pm" in spec:
            mat.metallic = float(np.clip(spec["pm"][0], 0, 1))
        tex = spec.get("map_kd")
        if tex:
            file = confined_path(
                tex, mtl_dir, self.name, f"texture of material '{mname}'", is_uri=False, root=self.base_dir
            )
            data = read_file(file, self.limits, f"{self.name}: texture '{tex}'", missing_ok=True)
            if data is None:
                self.warnings.append(f"texture '{tex}' is missing; using the material colour")
            else:
                self.files.append(str(file))
                rgba = decode_image(data, f"'{tex}'", self.warnings, self.texture_budget)
                if rgba is not None:
                    mat.base_texture = rgba
                    mat.texture_source = tex
        return mat


def load_obj(path: str | Path, limits: ImportLimits = DEFAULT_LIMITS) -> RawAsset:
    """A Wavefront OBJ (+ its MTL libraries and ``map_Kd`` textures) -> RawAsset, in file units and axes.

    One part per material (first-use order); polygons fan-triangulated; negative indices resolved;
    UVs flipped to glTF's convention (v' = 1 - v). MTL: ``Kd`` (sRGB -> linear base colour), ``d`` /
    ``Tr`` (alpha), ``Ns`` (roughness = sqrt(2 / (Ns + 2))), ``Pr`` / ``Pm`` (PBR extension), ``map_Kd``.
    Vertex colours (``v x y z r g b``) are ignored. Missing MTL or texture files are warnings.
    """
    return _ObjReader(Path(path), limits).read()
