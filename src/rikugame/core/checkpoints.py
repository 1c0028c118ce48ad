"""Compact, exact encodings for checkpoint state (pure).

Checkpoints are JSON-able dicts. Numeric arrays travel as base64 of their little-endian raw bytes, so a
float survives a save/restore bit for bit (a decision replayed after a restart is the same decision) and
costs ~10.7 characters instead of ~20 for its decimal text. Sparse rows (histograms: most buckets empty)
store the indices of the non-zero entries next to their values, as VPA's checkpoints do.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

import numpy as np
import numpy.typing as npt

FORMAT_VERSION = 1
"""Version of every checkpoint this code writes; readers refuse other versions."""


class CheckpointError(ValueError):
    """A checkpoint that cannot be read: wrong version, missing field, bad encoding."""


def encode_array(values: npt.ArrayLike) -> str:
    """``values`` (flattened, C order) as base64 of its little-endian bytes; the dtype is the reader's to know."""
    arr = np.asarray(values)
    little = np.ascontiguousarray(arr, dtype=arr.dtype.newbyteorder("<")).reshape(-1)
    return base64.b64encode(little.tobytes()).decode("ascii")


def decode_array(text: str, dtype: npt.DTypeLike) -> npt.NDArray[Any]:
    """The 1-D array :func:`encode_array` wrote (native byte order); CheckpointError on malformed text."""
    if not isinstance(text, str):
        raise CheckpointError(f"expected a base64 string, got {type(text).__name__}")
    try:
        raw = base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError) as exc:
        raise CheckpointError(f"not valid base64: {exc}") from exc
    want = np.dtype(dtype)
    if len(raw) % want.itemsize:
        raise CheckpointError(f"{len(raw)} bytes is not a whole number of {want.name} values")
    out: npt.NDArray[Any] = np.frombuffer(raw, dtype=want.newbyteorder("<")).astype(want)
    return out


def encode_sparse(values: npt.NDArray[np.float64]) -> dict[str, str]:
    """The non-zero entries of a 1-D float array: ``{"i": indices (uint16), "v": values (float64)}``."""
    nz = np.flatnonzero(values)
    return {"i": encode_array(nz.astype(np.uint16)), "v": encode_array(values[nz].astype(np.float64))}


def decode_sparse(data: dict[str, str], size: int) -> npt.NDArray[np.float64]:
    """The dense array of :func:`encode_sparse` output."""
    idx = decode_array(field(data, "i"), np.uint16).astype(np.int64)
    vals = decode_array(field(data, "v"), np.float64)
    if len(idx) != len(vals) or (len(idx) and int(idx.max()) >= size):
        raise CheckpointError(f"sparse array does not fit {size} entries")
    out = np.zeros(size, dtype=np.float64)
    out[idx] = vals
    return out


def field(data: dict[str, Any], name: str) -> Any:
    """``data[name]``; CheckpointError naming the field when it is missing."""
    if not isinstance(data, dict):
        raise CheckpointError(f"expected an object holding {name!r}, got {type(data).__name__}")
    try:
        return data[name]
    except KeyError:
        raise CheckpointError(f"checkpoint lacks field {name!r}") from None


def check_version(data: dict[str, Any], kind: str) -> None:
    """Refuse a checkpoint of another kind or format version."""
    version = field(data, "version")
    if version != FORMAT_VERSION:
        raise CheckpointError(f"{kind} checkpoint version {version!r} is not supported (this build reads "
                              f"version {FORMAT_VERSION})")
    if field(data, "kind") != kind:
        raise CheckpointError(f"expected a {kind} checkpoint, got {data.get('kind')!r}")
