"""Numeric arrays in checkpoints (pure): base64 of the little-endian raw bytes, so floats round-trip exactly."""

from __future__ import annotations

import base64
import binascii
from typing import Any

import numpy as np
import numpy.typing as npt


def encode_array(a: npt.NDArray[Any]) -> str:
    """``a`` (flattened, C order) as base64 of its little-endian bytes; the dtype is the reader's to know."""
    arr = np.asarray(a)
    little = np.ascontiguousarray(arr, dtype=arr.dtype.newbyteorder("<")).reshape(-1)
    return base64.b64encode(little.tobytes()).decode("ascii")


def decode_array(s: str, dtype: npt.DTypeLike) -> npt.NDArray[Any]:
    """The 1-D array :func:`encode_array` wrote (native byte order); ValueError on malformed text."""
    if not isinstance(s, str):
        raise ValueError(f"expected a base64 string, got {type(s).__name__}")
    try:
        raw = base64.b64decode(s.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError) as exc:
        raise ValueError(f"not valid base64: {exc}") from exc
    want = np.dtype(dtype)
    if len(raw) % want.itemsize:
        raise ValueError(f"{len(raw)} bytes is not a whole number of {want.name} values")
    out: npt.NDArray[Any] = np.frombuffer(raw, dtype=want.newbyteorder("<")).astype(want)
    return out
