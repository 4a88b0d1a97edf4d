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
from collections.abc import Callable
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


def _bundle(
    name: str,
    members: dict[str, tuple[str, list[str] | None]],
    transforms: dict[str, Callable[[bytes], bytes]] | None = None,
    recipe: str = "",
) -> Path:
    """Build (once) a bundle of wheel models; ``members`` maps entry -> (wheel path, metadata outputs).

    ``transforms`` maps an entry to a rewrite of its model bytes, applied before the metadata is
    written; ``recipe`` names the rewrites' version and joins the cache key (empty: no rewrites).
    """
    sources = {entry: wheel_model(rel) for entry, (rel, _) in members.items()}
    digest = hashlib.sha256()
    if recipe:
        digest.update(recipe.encode())
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
                if transforms and entry in transforms:
                    data = transforms[entry](data)
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


# --- Face and hand landmarker bundles --------------------------------------------------------
#
# The Tasks FaceLandmarker expects ``face_landmarks_detector.tflite`` to have exactly two
# outputs, (1, 1434) = 478 points x (x, y, z) in the model's 192 x 192 input px, then the face
# flag (a logit); it decodes 478 points whatever the model (the newer "face mesh v2" of Google's
# face_landmarker.task, which no wheel ships). The wheel has the older models instead:
# ``face_landmark.tflite`` (468 points, x y z, and the flag) and
# ``face_landmark_with_attention.tflite`` (468 mesh points, then lips, eyes and irises refined
# in x y, then the flag). We append a few builtin ops to their graph so that they give the
# layout the task decodes, the same arithmetic as MediaPipe's legacy
# ``tensors_to_face_landmarks_with_attention`` refinement: x y of the lips and eyes replaced by
# the refined ones, z kept from the mesh; each iris takes the mean z of its eye's 16 contour
# points. For the 468-point model the 10 iris points are the eye-contour means (a placeholder
# that keeps the task's tracking box on the face; FaceEstimator drops them).
# The detectors and the hand models already carry the metadata the tasks need (image
# normalisation, checked in the wheel) and go in byte for byte. The hand landmark model's
# output order (landmarks, presence, handedness, world landmarks) is the one the task expects.

#: Recipe version of the face-model rewrite; bump it when the rewrite changes (new cache key).
_FACE_RECIPE = "tryon-face-mesh-478-v1"

# The attention model's refined regions: which mesh point each refined (x, y) replaces, in the
# model's output order (MediaPipe's tensors_to_face_landmarks_with_attention.pbtxt). "Left"
# here is MediaPipe's (the eye on the image's left in an unmirrored photo: the person's right).
_LIPS_POINTS = (
    (61, 146, 91, 181, 84, 17, 314, 405, 321, 375, 291, 185, 40, 39, 37, 0, 267, 269, 270, 409)
    + (78, 95, 88, 178, 87, 14, 317, 402, 318, 324, 308, 191, 80, 81, 82, 13, 312, 311, 310, 415)
    + (76, 77, 90, 180, 85, 16, 315, 404, 320, 307, 306, 184, 74, 73, 72, 11, 302, 303, 304, 408)
    + (62, 96, 89, 179, 86, 15, 316, 403, 319, 325, 292, 183, 42, 41, 38, 12, 268, 271, 272, 407)
)
_LEFT_EYE_POINTS = (
    (33, 7, 163, 144, 145, 153, 154, 155, 133, 246, 161, 160, 159, 158, 157, 173)  # the eye contour
    + (130, 25, 110, 24, 23, 22, 26, 112, 243, 247, 30, 29, 27, 28, 56, 190)
    + (226, 31, 228, 229, 230, 231, 232, 233, 244, 113, 225, 224, 223, 222, 221, 189)
    + (35, 124, 46, 53, 52, 65, 143, 111, 117, 118, 119, 120, 121, 128, 245)
    + (156, 70, 63, 105, 66, 107, 55, 193)
)
_RIGHT_EYE_POINTS = (
    (263, 249, 390, 373, 374, 380, 381, 382, 362, 466, 388, 387, 386, 385, 384, 398)
    + (359, 255, 339, 254, 253, 252, 256, 341, 463, 467, 260, 259, 257, 258, 286, 414)
    + (446, 261, 448, 449, 450, 451, 452, 453, 464, 342, 445, 444, 443, 442, 441, 413)
    + (265, 353, 276, 283, 282, 295, 372, 340, 346, 347, 348, 349, 350, 357, 465)
    + (383, 300, 293, 334, 296, 336, 285, 417)
)
_EYE_CONTOUR = 16  # the first 16 points of each eye table: the contour the irises average over
_MESH_POINTS = 468
_FACE_POINTS = 478


class _TfliteGraphEditor:
    """Append builtin ops to the main subgraph of a TFLite flatbuffer (object API of the schema
    mediapipe ships), then serialise it. Metadata is dropped: the caller writes it afresh."""

    def __init__(self, model: bytes) -> None:
        from mediapipe.tasks.metadata import schema_py_generated as fb

        self.fb = fb
        self.size = len(model)
        self.model = fb.ModelT.InitFromObj(fb.Model.GetRootAsModel(model, 0))
        kept = []
        for entry in self.model.metadata or []:
            name = entry.name.decode() if isinstance(entry.name, bytes) else entry.name
            if name == "TFLITE_METADATA":
                self.model.buffers[entry.buffer].data = None
            else:
                kept.append(entry)
        self.model.metadata = kept
        self.graph = self.model.subgraphs[0]

    def output(self, name: str) -> int:
        for index in self.graph.outputs:
            tensor_name = self.graph.tensors[index].name
            if (tensor_name.decode() if isinstance(tensor_name, bytes) else tensor_name) == name:
                return int(index)
        raise ModelUnavailableError(f"the face landmark model has no output {name!r}")

    def size_of(self, tensor: int) -> int:
        import numpy as np

        return int(np.prod(self.graph.tensors[tensor].shape))

    def tensor(self, name: str, shape: list[int], constant=None, int32: bool = False) -> int:
        import numpy as np

        fb = self.fb
        t = fb.TensorT()
        t.name = name.encode()
        t.shape = list(shape)
        t.type = fb.TensorType.INT32 if int32 else fb.TensorType.FLOAT32
        t.buffer = 0  # the empty buffer: computed at run time
        if constant is not None:
            buffer = fb.BufferT()
            dtype = np.int32 if int32 else np.float32
            buffer.data = np.frombuffer(np.ascontiguousarray(constant, dtype=dtype).tobytes(), np.uint8)
            self.model.buffers.append(buffer)
            t.buffer = len(self.model.buffers) - 1
        self.graph.tensors.append(t)
        return len(self.graph.tensors) - 1

    def op(self, code: int, inputs: list[int], outputs: list[int], options_type: int, options) -> None:
        fb = self.fb
        index = None
        for i, known in enumerate(self.model.operatorCodes):
            if max(known.builtinCode, known.deprecatedBuiltinCode) == code:
                index = i
                break
        if index is None:
            opcode = fb.OperatorCodeT()
            opcode.builtinCode = code
            opcode.deprecatedBuiltinCode = min(code, 127)
            opcode.version = 1
            self.model.operatorCodes.append(opcode)
            index = len(self.model.operatorCodes) - 1
        op = fb.OperatorT()
        op.opcodeIndex = index
        op.inputs = list(inputs)
        op.outputs = list(outputs)
        op.builtinOptionsType = options_type
        op.builtinOptions = options
        self.graph.operators.append(op)

    def flatten(self, tensor: int) -> int:
        """(1, ..., n) -> (1, n)."""
        fb = self.fb
        n = self.size_of(tensor)
        name = self.graph.tensors[tensor].name
        name = name.decode() if isinstance(name, bytes) else name
        shape = self.tensor(f"tryon/{name}/shape", [2], constant=[1, n], int32=True)
        out = self.tensor(f"tryon/{name}/flat", [1, n])
        options = fb.ReshapeOptionsT()
        options.newShape = [1, n]
        self.op(fb.BuiltinOperator.RESHAPE, [tensor, shape], [out], fb.BuiltinOptions.ReshapeOptions, options)
        return out

    def linear(self, name: str, x: int, weights) -> int:
        """(1, n) @ weights.T: weights (m, n) -> (1, m)."""
        fb = self.fb
        w = self.tensor(f"tryon/{name}/weights", list(weights.shape), constant=weights)
        out = self.tensor(f"tryon/{name}", [1, weights.shape[0]])
        self.op(
            fb.BuiltinOperator.FULLY_CONNECTED,
            [x, w, -1],
            [out],
            fb.BuiltinOptions.FullyConnectedOptions,
            fb.FullyConnectedOptionsT(),
        )
        return out

    def concat(self, name: str, parts: list[int]) -> int:
        fb = self.fb
        out = self.tensor(f"tryon/{name}", [1, sum(self.size_of(p) for p in parts)])
        options = fb.ConcatenationOptionsT()
        options.axis = 1
        self.op(fb.BuiltinOperator.CONCATENATION, parts, [out], fb.BuiltinOptions.ConcatenationOptions, options)
        return out

    def gather(self, name: str, x: int, indices) -> int:
        fb = self.fb
        idx = self.tensor(f"tryon/{name}/indices", [len(indices)], constant=indices, int32=True)
        out = self.tensor(name, [1, len(indices)])
        options = fb.GatherOptionsT()
        options.axis = 1
        self.op(fb.BuiltinOperator.GATHER, [x, idx], [out], fb.BuiltinOptions.GatherOptions, options)
        return out

    def serialize(self, outputs: list[int]) -> bytes:
        import flatbuffers

        self.graph.outputs = list(outputs)
        builder = flatbuffers.Builder(self.size + (1 << 20))
        builder.Finish(self.model.Pack(builder), file_identifier=b"TFL3")
        return bytes(builder.Output())


def _eye_contour_mean_weights(channels: tuple[int, ...], copies: int):
    """(2 * copies * len(channels), 1404) float32: rows that average each eye's contour points
    (MediaPipe's left eye, then right) over the mesh's flat x y z, ``copies`` times per eye."""
    import numpy as np

    rows = []
    for eye in (_LEFT_EYE_POINTS, _RIGHT_EYE_POINTS):
        for _ in range(copies):
            for c in channels:
                row = np.zeros(3 * _MESH_POINTS, np.float32)
                row[[3 * p + c for p in eye[:_EYE_CONTOUR]]] = 1.0 / _EYE_CONTOUR
                rows.append(row)
    return np.stack(rows)


def _face_model_478(model: bytes) -> bytes:
    """Rewrite a wheel face landmark model to the Tasks layout: outputs (1, 1434) then the flag."""
    import numpy as np

    ed = _TfliteGraphEditor(model)
    names = []
    for index in ed.graph.outputs:
        n = ed.graph.tensors[index].name
        names.append(n.decode() if isinstance(n, bytes) else n)
    if "output_mesh_identity" in names:  # face_landmark_with_attention.tflite
        mesh = ed.flatten(ed.output("output_mesh_identity"))
        parts = [mesh] + [
            ed.flatten(ed.output(n))
            for n in (
                "output_lips",
                "output_left_eye",
                "output_right_eye",
                "output_left_iris",
                "output_right_iris",
            )
        ]
        iris_z = ed.linear("iris_z", mesh, _eye_contour_mean_weights((2,), 1))  # (1, 2)
        everything = ed.concat("all_points", parts + [iris_z])
        # where each refined block starts in ``everything``
        starts, offset = [], 0
        for p in parts:
            starts.append(offset)
            offset += ed.size_of(p)
        iris_z_start = offset
        idx = np.arange(3 * _MESH_POINTS, dtype=np.int32).reshape(_MESH_POINTS, 3)
        idx = np.concatenate([idx, np.zeros((_FACE_POINTS - _MESH_POINTS, 3), np.int32)])
        for start, table in zip(starts[1:4], (_LIPS_POINTS, _LEFT_EYE_POINTS, _RIGHT_EYE_POINTS)):
            for j, point in enumerate(table):
                idx[point, :2] = (start + 2 * j, start + 2 * j + 1)
        for side, start in enumerate(starts[4:6]):
            for j in range(5):
                idx[_MESH_POINTS + 5 * side + j] = (start + 2 * j, start + 2 * j + 1, iris_z_start + side)
        landmarks = ed.gather("landmarks", everything, idx.reshape(-1))
        flag = ed.output("conv_faceflag")
    elif len(names) == 2 and ed.size_of(ed.graph.outputs[0]) == 3 * _MESH_POINTS:  # face_landmark.tflite
        mesh = ed.flatten(ed.graph.outputs[0])
        flag = ed.graph.outputs[1]
        irises = ed.linear("irises", mesh, _eye_contour_mean_weights((0, 1, 2), 5))  # (1, 30)
        landmarks = ed.concat("landmarks", [mesh, irises])
    else:
        raise ModelUnavailableError(f"unexpected face landmark model outputs {names}")
    return ed.serialize([landmarks, flag])


def face_landmarker_task(irises: bool = True) -> Path:
    """The face landmarker ``.task`` bundle, built from the wheel on first use.

    ``face_detector.tflite``: BlazeFace short range (as shipped, it carries its metadata);
    ``face_landmarks_detector.tflite``: the attention face mesh (478 points, refined eyes, lips
    and irises) when ``irises``, else the plain 468-point mesh, rewritten to the Tasks layout
    (see above) and given image-input and output metadata.
    """
    source = "face_landmark_with_attention.tflite" if irises else "face_landmark.tflite"
    return _bundle(
        "face_landmarker" if irises else "face_landmarker_468",
        {
            "face_detector.tflite": ("modules/face_detection/face_detection_short_range.tflite", None),
            "face_landmarks_detector.tflite": (f"modules/face_landmark/{source}", ["landmarks", "face_flag"]),
        },
        transforms={"face_landmarks_detector.tflite": _face_model_478},
        recipe=_FACE_RECIPE,
    )


def hand_landmarker_task() -> Path:
    """The hand landmarker ``.task`` bundle (palm detector and hand landmarks, both "full"), from
    the wheel as shipped: both models already carry the metadata the task needs."""
    return _bundle(
        "hand_landmarker_full",
        {
            "hand_detector.tflite": ("modules/palm_detection/palm_detection_full.tflite", None),
            "hand_landmarks_detector.tflite": ("modules/hand_landmark/hand_landmark_full.tflite", None),
        },
    )
