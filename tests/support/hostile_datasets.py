"""Hostile and broken dataset uploads, built in memory for the tests (nothing is ever written to disk)."""

from __future__ import annotations

import io
import struct
import zipfile

import numpy as np
from PIL import Image


def png(color: int = 128, size: tuple[int, int] = (8, 8), mode: str = "L") -> bytes:
    out = io.BytesIO()
    Image.new(mode, size, color).save(out, format="PNG")
    return out.getvalue()


def zip_of(files: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(zipfile.ZipInfo(name), data, zipfile.ZIP_DEFLATED)
    return out.getvalue()


def image_zip(per_class: int = 3, classes=("a", "b")) -> bytes:
    return zip_of({f"{c}/{i}.png": png(40 * (k + 1) + i) for k, c in enumerate(classes) for i in range(per_class)})


def bomb(megabytes: int = 50) -> bytes:
    """A valid image-folder ZIP whose one member is ``megabytes`` MB of zeros (about 50 kB compressed)."""
    return zip_of({"a/0.png": png(), "b/bomb.png": bytes(megabytes * 2**20)})


def declaring(size: int) -> bytes:
    """A small ZIP whose member declares ``size`` bytes uncompressed in its central directory (a lie)."""
    data = bytearray(image_zip(per_class=1))
    offset = data.find(b"PK\x01\x02")  # the first central directory entry
    struct.pack_into("<I", data, offset + 24, size)
    return bytes(data)


def csv_with_columns(columns: int) -> bytes:
    """A header of ``columns`` names and one row, built without a Python list of a million strings."""
    header = b",".join([b"c"] * columns)  # duplicate names, but the column cap is checked first
    return header + b"\n" + b",".join([b"1"] * columns) + b"\n"


def npz(**arrays) -> bytes:
    out = io.BytesIO()
    np.savez(out, **arrays)
    return out.getvalue()


PETS_CSV = b"a,b,label\n1,2,cat\n3,4,dog\n5,6,cat\n"
