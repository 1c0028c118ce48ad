"""Measurement columns (CPU, memory, request counts) as float64, with the value rules of every trace.

A measurement is a finite number ≥ 0. Missing cells (null, NaN, an empty CSV cell) become NaN; what a
missing value means is the caller's business (a documented gap, or an error). Negative, infinite and
non-numeric cells are refused, naming the first bad cell.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from rikugame.errors import InputError
from rikugame.files.cells import first_true

Locate = Callable[[str, int], str]
FloatArray = npt.NDArray[np.float64]
NUMBER = r"^[+-]?(([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?|(?i:nan|inf|infinity))$"
"""What a numeric cell written as text may look like (after trimming blanks)."""


def measurement(column: pa.ChunkedArray, name: str, locate: Locate) -> FloatArray:
    """``column`` as float64 (missing = NaN); InputError at the first non-numeric, negative or infinite cell."""
    values = _numbers(column, name, locate)
    infinite = np.isinf(values)
    if infinite.any():
        index = int(infinite.nonzero()[0][0])
        raise InputError(f"{locate(name, index)}: infinite value")
    negative = values < 0
    if negative.any():
        index = int(negative.nonzero()[0][0])
        raise InputError(f"{locate(name, index)}: negative value {values[index]:g}")
    return values


def _numbers(column: pa.ChunkedArray, name: str, locate: Locate) -> FloatArray:
    kind = column.type
    if pa.types.is_dictionary(kind):
        column = column.cast(kind.value_type)
        kind = column.type
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        column = pc.utf8_trim_whitespace(column.cast(pa.string()))
        bad = first_true(pc.invert(pc.match_substring_regex(column, NUMBER)))
        if bad is not None:
            raise InputError(f"{locate(name, bad)}: {column[bad].as_py()!r} is not a number")
    elif pa.types.is_null(kind):
        return np.full(len(column), np.nan, dtype=np.float64)
    elif not (pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_decimal(kind)):
        raise InputError(f"{locate(name, 0)}: type {kind} is not a number")
    try:
        floats = column.cast(pa.float64())
    except pa.ArrowInvalid as exc:
        raise InputError(f"{locate(name, 0)}: not a number column ({' '.join(str(exc).split())})") from exc
    values: FloatArray = floats.to_numpy(zero_copy_only=False).astype(np.float64, copy=False)
    return values
