"""Datasets: parse and validate an upload, load it for training, split it, check a graph against it.

Pure Python + NumPy + Pillow (no Django), so it is testable alone and usable by workers. Three formats:

- ``csv``: a header row; chosen input columns (numbers) and one target column (integer or string labels:
  classification; other numbers: regression).
- ``arrays``: an NPZ archive with ``x`` and ``y`` (or ``inputs`` and ``targets``), numeric, read with
  ``allow_pickle=False``.
- ``images``: a ZIP of class folders (``cat/001.png``), every file an image, all brought to one size.

Uploads are hostile until proven otherwise: a ZIP is never extracted to disk (members are read in memory,
their declared and their real sizes both capped), member names with ``..`` or absolute paths are refused,
and every refusal is a :class:`DatasetError` whose sentence names the row, column or file at fault.
"""

from __future__ import annotations

import csv
import functools
import io
import math
import posixpath
import zipfile
from collections import Counter
from dataclasses import dataclass
from typing import IO, Any

import numpy as np
from PIL import Image, ImageDraw

from codegen.diagnostics import Diagnostic, set_param

KINDS = ("csv", "arrays", "images")
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".gif", ".bmp", ".webp", ".tif", ".tiff")
PREVIEW_SAMPLES = 8
READ_CHUNK = 1 << 20
CSV_CHUNK_ROWS = 10_000  # rows converted to numbers at once: fast, and the strings of one block in memory


class DatasetError(ValueError):
    """An upload that cannot be a dataset; the message is one sentence for the person who sent it."""


@dataclass(frozen=True)
class Limits:
    """Caps on what one upload may be (settings: ``TORCHCANVAS_DATASETS``)."""

    max_upload_bytes: int = 100_000_000
    max_uncompressed_bytes: int = 500_000_000
    max_files: int = 100_000
    max_columns: int = 10_000
    max_classes: int = 1_000
    max_image_side: int = 256
    max_image_pixels: int = 25_000_000


# --- reading bounded bytes ----------------------------------------------------------------------------


def _read_capped(stream: IO[bytes], cap: int, what: str) -> bytes:
    """All of ``stream``, refused as soon as more than ``cap`` bytes have come out of it."""
    chunks, total = [], 0
    while True:
        chunk = stream.read(READ_CHUNK)
        if not chunk:
            return b"".join(chunks)
        total += len(chunk)
        if total > cap:
            raise DatasetError(f"{what} is larger than the limit of {cap} bytes.")
        chunks.append(chunk)


class _Zip:
    """A ZIP read in memory with every cap checked: declared sizes first, real bytes while reading."""

    def __init__(self, data: bytes, limits: Limits, what: str):
        try:
            self.archive = zipfile.ZipFile(io.BytesIO(data))
        except (zipfile.BadZipFile, ValueError) as exc:
            raise DatasetError(f"The {what} is not a ZIP archive ({exc}).") from None
        members = [info for info in self.archive.infolist() if not info.is_dir()]
        if len(members) > limits.max_files:
            raise DatasetError(f"The archive has {len(members)} files; the limit is {limits.max_files}.")
        for info in members:
            _check_member_name(info.filename)
        declared = sum(info.file_size for info in members)
        if declared > limits.max_uncompressed_bytes:
            raise DatasetError(
                f"The archive declares {declared} bytes once uncompressed; the limit is "
                f"{limits.max_uncompressed_bytes} bytes."
            )
        self.members = members
        self.limits = limits
        self.read_total = 0

    def read(self, info: zipfile.ZipInfo) -> bytes:
        """One member's bytes, never more than it declared nor than what is left of the total cap."""
        left = self.limits.max_uncompressed_bytes - self.read_total
        try:
            with self.archive.open(info) as member:
                data = _read_capped(member, min(info.file_size, left), f"The file {info.filename}")
        except (zipfile.BadZipFile, OSError, EOFError, NotImplementedError) as exc:
            raise DatasetError(f"The file {info.filename} in the archive cannot be read ({exc}).") from None
        self.read_total += len(data)
        return data


def _check_member_name(name: str) -> None:
    parts = name.replace("\\", "/").split("/")
    if name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":") or ".." in parts:
        raise DatasetError(f"The archive member {name!r} points outside the archive (absolute path or '..').")


# --- parsing (on upload) -------------------------------------------------------------------------------


def parse_upload(
    kind: str, stream: IO[bytes], limits: Limits = Limits(), *, input_columns=None, target_column=None
) -> dict[str, Any]:
    """Validate an upload of ``kind`` and return its facts (what the preview, checks and loading need).

    ``input_columns``/``target_column`` (names) apply to CSV only: by default every column but the last is
    an input and the last is the target.
    """
    if kind not in KINDS:
        raise DatasetError(f"Unknown dataset kind {kind!r}: choose one of {', '.join(KINDS)}.")
    data = _read_capped(stream, limits.max_upload_bytes, "The upload")
    if not data:
        raise DatasetError("The file is empty.")
    if kind == "csv":
        facts = _csv_facts(data, limits, input_columns, target_column)
    elif kind == "arrays":
        x, y = _npz_arrays(data, limits)
        facts = _array_facts(x, y, limits)
        facts["dtype"] = str(x.dtype)
    else:
        facts = _image_facts(data, limits)
    facts["kind"] = kind
    facts["size_bytes"] = len(data)
    return facts


def load_arrays(dataset_file: IO[bytes], facts: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    """The whole dataset as ``x`` (float32, ``(n, *input_shape)``) and ``y`` (int64 class indices or float32)."""
    data = dataset_file.read()
    kind = facts["kind"]
    if kind == "csv":
        x, y = _csv_arrays(data, facts)
    elif kind == "arrays":
        x, y = _npz_arrays(data, Limits(max_upload_bytes=len(data), max_uncompressed_bytes=2**62))
        x = x.astype(np.float32).reshape(len(x), *facts["input_shape"])
        y = _encode_targets(y.reshape(len(y)), facts)
    else:
        x, y = _image_arrays(data, facts)
    return x, y


def split(n: int, val_fraction: float, seed: int, labels: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Seeded train/validation indices; stratified by ``labels`` (class indices) when given."""
    if not 0 < val_fraction < 1:
        raise ValueError("val_fraction must be between 0 and 1 (exclusive).")
    rng = np.random.default_rng(seed)
    groups = [np.arange(n)] if labels is None else [np.flatnonzero(labels == c) for c in np.unique(labels)]
    train, val = [], []
    for group in groups:
        shuffled = rng.permutation(group)
        count = int(round(len(shuffled) * val_fraction))
        if len(shuffled) > 1:  # every group keeps a sample on each side where it can
            count = min(max(count, 1), len(shuffled) - 1)
        val.append(shuffled[:count])
        train.append(shuffled[count:])
    return np.sort(np.concatenate(train)), np.sort(np.concatenate(val))


# --- CSV ------------------------------------------------------------------------------------------------


def _csv_rows(data: bytes, limits: Limits):
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DatasetError(f"The CSV is not UTF-8 text (byte {exc.start} is not valid).") from None
    first_line = text[: text.find("\n")] if "\n" in text else text
    if first_line.count(",") + 1 > limits.max_columns:  # refused before a million-field row is built
        raise DatasetError(
            f"The CSV header has {first_line.count(',') + 1} columns; the limit is {limits.max_columns}."
        )
    return csv.reader(io.StringIO(text))


def _csv_table(data: bytes, limits: Limits, input_columns, target_column):
    """Header, chosen column indices, the input matrix and the raw target strings (validated)."""
    rows = _csv_rows(data, limits)
    try:
        header = [name.strip() for name in next(rows)]
    except StopIteration:
        raise DatasetError("The CSV has no header row.") from None
    except csv.Error as exc:
        raise DatasetError(f"The CSV header cannot be read ({exc}).") from None
    if len(header) > limits.max_columns:
        raise DatasetError(f"The CSV header has {len(header)} columns; the limit is {limits.max_columns}.")
    if len(header) < 2:
        raise DatasetError("The CSV needs at least two columns: one input and the target.")
    if len(set(header)) != len(header):
        twice = next(name for name, count in Counter(header).items() if count > 1)
        raise DatasetError(f"The CSV header names the column {twice!r} twice.")
    target_name = target_column or header[-1]
    input_names = list(input_columns) if input_columns else [name for name in header if name != target_name]
    for name in [*input_names, target_name]:
        if name not in header:
            raise DatasetError(f"The CSV has no column {name!r} (its columns: {', '.join(header[:20])}).")
    if target_name in input_names:
        raise DatasetError(f"The column {target_name!r} cannot be both an input and the target.")
    if not input_names:
        raise DatasetError("Choose at least one input column.")
    inputs = [header.index(name) for name in input_names]
    target = header.index(target_name)
    blocks, chunk, lines, targets = [], [], [], []
    line = 1
    try:
        for line, row in enumerate(rows, start=2):
            if not row:
                continue
            if len(row) != len(header):
                raise DatasetError(f"Row {line} has {len(row)} values; the header has {len(header)} columns.")
            chunk.append([row[index] for index in inputs])
            lines.append(line)
            targets.append(row[target].strip())
            if len(chunk) == CSV_CHUNK_ROWS:
                blocks.append(_numbers(chunk, lines, [header[i] for i in inputs]))
                chunk, lines = [], []
    except csv.Error as exc:
        raise DatasetError(f"Row {line} of the CSV cannot be read ({exc}).") from None
    if chunk:
        blocks.append(_numbers(chunk, lines, [header[i] for i in inputs]))
    if len(targets) < 2:
        raise DatasetError(f"The CSV has {len(targets)} data row(s); a dataset needs at least 2.")
    return header, input_names, target_name, np.concatenate(blocks), targets


def _numbers(cells: list[list[str]], lines: list[int], columns: list[str]) -> np.ndarray:
    """A block of rows as float32, converted by NumPy; the first bad cell is looked for only on failure."""
    try:
        with np.errstate(over="ignore"):  # too large for float32: inf, found below
            block = np.asarray(cells, dtype=np.float32)
        finite = bool(np.isfinite(block).all())
    except ValueError:
        finite = False
    if finite:
        return block
    # Name the first cell at fault, row by row (Python's float() also takes what NumPy may not, e.g. "1_0").
    block = np.asarray([[_number(c, line, n) for c, n in zip(row, columns)] for row, line in zip(cells, lines)])
    if np.abs(block).max() > np.finfo(np.float32).max:
        row, column = np.argwhere(np.abs(block) > np.finfo(np.float32).max)[0]
        raise DatasetError(
            f"Row {lines[row]}, column {columns[column]!r}: {cells[row][column].strip()!r} is too large."
        )
    return block.astype(np.float32)


def _number(cell: str, line: int, column: str) -> float:
    try:
        value = float(cell)
    except ValueError:
        raise DatasetError(f"Row {line}, column {column!r}: {cell.strip()[:40]!r} is not a number.") from None
    if not math.isfinite(value):
        raise DatasetError(f"Row {line}, column {column!r}: {cell.strip()!r} is not a finite number.")
    return value


def _target_task(targets: list[str], column: str) -> str:
    """Integer or text labels: classification; other numbers: regression."""
    numbers = []
    for line, cell in enumerate(targets, start=2):
        try:
            numbers.append(float(cell))
        except ValueError:
            if cell == "":
                raise DatasetError(f"Row {line}, column {column!r}: the target is empty.") from None
            return "classification"
    if not all(math.isfinite(value) for value in numbers):
        line = next(i for i, value in enumerate(numbers, start=2) if not math.isfinite(value))
        raise DatasetError(f"Row {line}, column {column!r}: the target is not a finite number.")
    return "classification" if all(value.is_integer() for value in numbers) else "regression"


def _csv_facts(data: bytes, limits: Limits, input_columns, target_column) -> dict[str, Any]:
    header, input_names, target_name, x, targets = _csv_table(data, limits, input_columns, target_column)
    task = _target_task(targets, target_name)
    facts: dict[str, Any] = {
        "samples": len(x),
        "input_shape": [x.shape[1]],
        "dtype": "float32",
        "task": task,
        "columns": header,
        "input_columns": input_names,
        "target_column": target_name,
    }
    if task == "classification":
        labels = _canonical_labels(targets)
        facts["classes"] = _classes(Counter(labels), limits)
    return facts


def _canonical_labels(targets: list[str]) -> list[str]:
    """Integer labels written "1" or "1.0" are one class."""
    try:
        return [str(int(float(cell))) for cell in targets]
    except ValueError:
        return targets


def _classes(counts: Counter, limits: Limits) -> list[dict[str, Any]]:
    if len(counts) > limits.max_classes:
        raise DatasetError(f"The target has {len(counts)} classes; the limit is {limits.max_classes}.")
    if len(counts) < 2:
        only = next(iter(counts), "")
        raise DatasetError(f"The target has a single class ({only!r}): there is nothing to learn.")
    ordered = sorted(counts, key=lambda name: (0, int(name)) if name.lstrip("-").isdigit() else (1, name))
    return [{"name": name, "count": counts[name]} for name in ordered]


def _csv_arrays(data: bytes, facts: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    limits = Limits(max_upload_bytes=len(data), max_columns=len(facts["columns"]))
    _, _, _, x, targets = _csv_table(data, limits, facts["input_columns"], facts["target_column"])
    if facts["task"] == "classification":
        return x, _encode_targets(np.asarray(_canonical_labels(targets)), facts)
    return x, np.asarray(targets, dtype=np.float32)


def _encode_targets(y: np.ndarray, facts: dict[str, Any]) -> np.ndarray:
    if facts["task"] == "regression":
        return y.astype(np.float32)
    index = {item["name"]: i for i, item in enumerate(facts["classes"])}
    return np.asarray([index[str(label)] for label in y.tolist()], dtype=np.int64)


def csv_preview(dataset_file: IO[bytes], rows: int = 10) -> list[list[str]]:
    """The first ``rows`` data rows of a stored CSV, as text (for the preview page)."""
    reader = csv.reader(io.TextIOWrapper(dataset_file, encoding="utf-8-sig", newline=""))  # reads what it needs
    next(reader, None)
    return [row for _, row in zip(range(rows), reader)]


# --- NPZ ------------------------------------------------------------------------------------------------


def _npz_arrays(data: bytes, limits: Limits) -> tuple[np.ndarray, np.ndarray]:
    archive = _Zip(data, limits, "NPZ file")  # the same size checks as any ZIP before NumPy reads it
    names = {posixpath.splitext(info.filename)[0] for info in archive.members}
    pairs = [("x", "y"), ("inputs", "targets")]
    pair = next(((a, b) for a, b in pairs if a in names and b in names), None)
    if pair is None:
        raise DatasetError(f"The NPZ needs arrays named x and y (or inputs and targets); it has {sorted(names)}.")
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as npz:
            x, y = npz[pair[0]], npz[pair[1]]
    except (ValueError, OSError, zipfile.BadZipFile) as exc:
        raise DatasetError(f"The NPZ arrays cannot be read without pickle ({exc}).") from None
    for name, array in zip(pair, (x, y)):
        if array.dtype.kind not in "biuf":
            raise DatasetError(f"The array {name!r} has dtype {array.dtype}; only numbers are accepted.")
        if array.ndim == 0:
            raise DatasetError(f"The array {name!r} is a single value; it needs one row per sample.")
    if len(x) != len(y):
        raise DatasetError(f"{pair[0]} has {len(x)} samples and {pair[1]} has {len(y)}: they must match.")
    if y.ndim > 2 or (y.ndim == 2 and y.shape[1] != 1):
        raise DatasetError(f"{pair[1]} has shape {list(y.shape)}; it must be one target per sample.")
    if x.ndim > 5:
        raise DatasetError(f"{pair[0]} has {x.ndim} dimensions; at most 4 per sample are accepted.")
    return x.reshape(len(x), -1) if x.ndim == 1 else x, y.reshape(len(y))


def _array_facts(x: np.ndarray, y: np.ndarray, limits: Limits) -> dict[str, Any]:
    if len(x) < 2:
        raise DatasetError(f"The arrays hold {len(x)} sample(s); a dataset needs at least 2.")
    if x.dtype.kind == "f" and not np.isfinite(x).all():
        first = np.argwhere(~np.isfinite(x))[0].tolist()
        raise DatasetError(f"x holds NaN or infinity (first at index {first}).")
    facts: dict[str, Any] = {"samples": int(len(x)), "input_shape": list(x.shape[1:])}
    if y.dtype.kind in "biu":
        facts["task"] = "classification"
        facts["classes"] = _classes(Counter(str(v) for v in y.tolist()), limits)
    else:
        if not np.isfinite(y).all():
            raise DatasetError(f"y holds NaN or infinity (first at index {int(np.argmax(~np.isfinite(y)))}).")
        facts["task"] = "regression"
    return facts


# --- images ---------------------------------------------------------------------------------------------


def _image_members(archive: _Zip) -> list[tuple[zipfile.ZipInfo, str]]:
    """Image files with their class (the folder they are in), in a stable order."""
    found = []
    for info in sorted(archive.members, key=lambda item: item.filename):
        name = info.filename.replace("\\", "/")
        if name.startswith("__MACOSX/") or posixpath.basename(name).startswith("."):
            continue
        folder = posixpath.basename(posixpath.dirname(name))
        if not folder:
            raise DatasetError(f"The file {name} is not in a class folder (expected class_name/{name}).")
        if not name.lower().endswith(IMAGE_SUFFIXES):
            raise DatasetError(f"The file {name} is not an image (expected {', '.join(IMAGE_SUFFIXES)}).")
        found.append((info, folder))
    if not found:
        raise DatasetError("The archive holds no images in class folders.")
    return found


def _open_image(data: bytes, name: str, limits: Limits) -> Image.Image:
    try:
        image = Image.open(io.BytesIO(data))
        if image.width * image.height > limits.max_image_pixels:
            raise DatasetError(
                f"The image {name} is {image.width}×{image.height} pixels; the limit is "
                f"{limits.max_image_pixels} pixels."
            )
        image.load()
    except DatasetError:
        raise
    except Exception as exc:  # noqa: BLE001 - Pillow raises many types for a broken file; each is the same answer
        raise DatasetError(f"The file {name} is not an image Pillow can read ({type(exc).__name__}).") from None
    return image


def _image_facts(data: bytes, limits: Limits) -> dict[str, Any]:
    archive = _Zip(data, limits, "upload")
    members = _image_members(archive)
    size, gray, counts = None, True, Counter()
    for info, label in members:
        image = _open_image(archive.read(info), info.filename, limits)
        if size is None:
            side = limits.max_image_side
            size = (min(image.width, side), min(image.height, side))
        gray = gray and image.mode in ("1", "L", "LA", "I", "I;16", "F")
        counts[label] += 1
    channels = 1 if gray else 3
    classes = _classes(counts, limits)
    # Two samples of each class for the preview, by index in the loading order.
    firsts: dict[str, list[int]] = {}
    for i, (_, label) in enumerate(members):
        if len(firsts.setdefault(label, [])) < 2:
            firsts[label].append(i)
    preview = [i for item in classes for i in firsts[item["name"]]]
    return {
        "samples": len(members),
        "input_shape": [channels, size[1], size[0]],
        "dtype": "float32",
        "task": "classification",
        "classes": classes,
        "preview": preview[:PREVIEW_SAMPLES],
    }


def _normalised(image: Image.Image, facts: dict[str, Any]) -> Image.Image:
    channels, height, width = facts["input_shape"]
    image = image.convert("L" if channels == 1 else "RGB")
    return image if image.size == (width, height) else image.resize((width, height), Image.Resampling.BILINEAR)


def _image_arrays(data: bytes, facts: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    archive = _Zip(data, Limits(max_upload_bytes=len(data), max_uncompressed_bytes=2**62), "upload")
    index = {item["name"]: i for i, item in enumerate(facts["classes"])}
    x = np.empty((facts["samples"], *facts["input_shape"]), dtype=np.float32)
    y = np.empty(facts["samples"], dtype=np.int64)
    for i, (info, label) in enumerate(_image_members(archive)):
        pixels = np.asarray(_normalised(_open_image(archive.read(info), info.filename, Limits()), facts))
        x[i] = (pixels.reshape(pixels.shape[0], pixels.shape[1], -1).transpose(2, 0, 1)) / 255.0
        y[i] = index[label]
    return x, y


def sample_png(dataset_file: IO[bytes], facts: dict[str, Any], index: int) -> bytes:
    """Sample ``index`` of an image dataset as a PNG at the dataset's size (for previews)."""
    archive = _Zip(dataset_file.read(), Limits(max_upload_bytes=2**62, max_uncompressed_bytes=2**62), "upload")
    members = _image_members(archive)
    if not 0 <= index < len(members):
        raise DatasetError(f"There is no sample {index}; the dataset has {len(members)}.")
    info = members[index][0]
    image = _normalised(_open_image(archive.read(info), info.filename, Limits()), facts)
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


# --- the graph's Input against the dataset ---------------------------------------------------------------


def input_shape_problem(document: dict[str, Any], facts: dict[str, Any]) -> Diagnostic | None:
    """A diagnostic when the graph's Input does not take the dataset's samples; its suggestion is the fix."""
    shape = list(facts["input_shape"])
    nodes = [node for node in document.get("nodes") or [] if isinstance(node, dict) and node.get("type") == "Input"]
    if len(nodes) != 1:
        return Diagnostic("DATASET", f"A dataset feeds one Input node; the graph has {len(nodes)}.")
    node = nodes[0]
    params = node.get("params") or {}
    if params.get("dtype", "float32") != "float32":
        return Diagnostic(
            "DATASET",
            f"The Input takes {params['dtype']} token ids; the dataset's samples are float32.",
            node=node.get("id"),
            suggestion=set_param(node.get("id"), "dtype", "float32"),
        )
    if params.get("shape") != shape:
        current = params.get("shape")
        said = f"has shape {current}" if current else "has no shape"
        return Diagnostic(
            "DATASET",
            f"The Input {said}; the dataset's samples are {shape}. Set the Input's shape to {shape}.",
            node=node.get("id"),
            suggestion=set_param(node.get("id"), "shape", shape),
        )
    return None


def recipe_problem(recipe: dict[str, Any], facts: dict[str, Any]) -> str | None:
    """Why a graph with its own loss cannot train on the dataset: its labels fill exactly one Target."""
    targets = recipe.get("targets") or []
    if len(targets) != 1:
        return (
            f"A dataset gives one label per sample, and this graph's loss and metrics read {len(targets)} Targets"
            f"{' (' + ', '.join(targets) + ')' if targets else ''}: keep one."
        )
    dtype = (recipe.get("target_dtypes") or {}).get(targets[0])
    wanted = "int64" if facts.get("task") == "classification" else "float32"
    if dtype is not None and dtype != wanted:
        what = "class indices" if wanted == "int64" else "numbers"
        return f"The dataset's labels are {what}, so Target {targets[0]} must have dtype {wanted} (it is {dtype})."
    return None


def output_problem(outputs: dict[str, Any], facts: dict[str, Any]) -> str | None:
    """Why a graph's outputs (inferred shapes with the batch axis, by output id) cannot be trained against the
    dataset's targets; None when they can. The loop says the same once it runs (codegen.fit.loss_for_task):
    this says it before anything is queued."""
    if len(outputs) != 1:
        return f"A dataset trains one output, and this graph has {len(outputs)}: keep one output."
    ((name, shape),) = outputs.items()
    if not isinstance(shape, list) or not all(isinstance(size, int) for size in shape[1:]):
        return None  # not known before it runs: the loop checks it
    sizes = shape[1:]
    if facts.get("task") == "classification":
        classes = len(facts.get("classes") or [])
        if sizes != [classes]:
            shown = ", ".join(["B", *map(str, sizes)])
            return (
                f"The dataset has {classes} classes, so output {name} must be (B, {classes}) class scores; it is "
                f"({shown}): set the last layer's size to {classes}."
            )
    elif math.prod(sizes) != 1:
        shown = ", ".join(["B", *map(str, sizes)])
        return f"The dataset's target is one number per sample, but output {name} is ({shown})."
    return None


# --- built-in datasets (generated, deterministic, no download) --------------------------------------------


def two_moons_csv(samples: int = 600, noise: float = 0.15, seed: int = 0) -> bytes:
    """Two interleaving half circles in 2D, two classes (a non-linear boundary a small MLP learns)."""
    rng = np.random.default_rng(seed)
    half = samples // 2
    angles = rng.uniform(0, np.pi, size=samples)
    upper = np.stack([np.cos(angles[:half]), np.sin(angles[:half])], axis=1)
    lower = np.stack([1 - np.cos(angles[half:]), 0.5 - np.sin(angles[half:])], axis=1)
    points = np.concatenate([upper, lower]) + rng.normal(0, noise, size=(samples, 2))
    labels = np.array([0] * half + [1] * (samples - half))
    order = rng.permutation(samples)
    lines = ["x1,x2,label"] + [f"{a:.5f},{b:.5f},{c}" for (a, b), c in zip(points[order], labels[order])]
    return ("\n".join(lines) + "\n").encode()


SHAPES = ("circle", "square", "triangle", "cross")


def shapes_zip(per_class: int = 100, side: int = 16, seed: int = 0) -> bytes:
    """Grayscale ``side``×``side`` drawings of four shapes at random sizes and places, with noise."""
    rng = np.random.default_rng(seed)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for shape in SHAPES:
            for i in range(per_class):
                image = Image.new("L", (side, side), 0)
                draw = ImageDraw.Draw(image)
                size = int(rng.integers(side // 3, side - 3))
                left, top = (int(v) for v in rng.integers(1, side - size, size=2))
                box = (left, top, left + size, top + size)
                if shape == "circle":
                    draw.ellipse(box, outline=255, width=2)
                elif shape == "square":
                    draw.rectangle(box, outline=255, width=2)
                elif shape == "triangle":
                    draw.polygon([(left, top + size), (left + size, top + size), (left + size // 2, top)], outline=255)
                else:
                    draw.line((left, top, left + size, top + size), fill=255, width=2)
                    draw.line((left, top + size, left + size, top), fill=255, width=2)
                noisy = np.clip(np.asarray(image, dtype=np.int16) + rng.integers(-30, 31, (side, side)), 0, 255)
                png = io.BytesIO()
                Image.fromarray(noisy.astype(np.uint8), "L").save(png, format="PNG")
                info = zipfile.ZipInfo(f"{shape}/{i:03d}.png", date_time=(2026, 1, 1, 0, 0, 0))
                archive.writestr(info, png.getvalue(), zipfile.ZIP_DEFLATED)
    return out.getvalue()


# slug -> (name, kind, description, generator of the file's bytes)
BUILTINS: dict[str, tuple[str, str, str, Any]] = {
    "two-moons": (
        "Two moons",
        "csv",
        "600 points in 2D, two interleaving half circles (two classes, balanced); generated, seed 0.",
        two_moons_csv,
    ),
    "shapes-16": (
        "Shapes 16×16",
        "images",
        "400 grayscale 16×16 drawings of circles, squares, triangles and crosses (100 each); generated, seed 0.",
        shapes_zip,
    ),
}


@functools.lru_cache(maxsize=len(BUILTINS))
def builtin_file(slug: str) -> bytes:
    """The generated file of a built-in dataset (the same bytes every time)."""
    return BUILTINS[slug][3]()
