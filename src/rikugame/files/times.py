"""Time columns in any common encoding, normalised once to int64 Unix seconds.

Accepted: integer or float Unix seconds (floats are floored), Arrow/pandas timestamps of any unit (s, ms,
us, ns; with a time zone, or without one = UTC), dates, and ISO-8601 text (``2013-07-01T00:05:00``,
``…Z``, ``…+02:00``, a plain date; without an offset = UTC). Missing times, times before 1970 and
numbers beyond the year 9999 (milliseconds or nanoseconds given as plain numbers) are refused.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from rikugame.errors import InputError
from rikugame.files.cells import first_true

Locate = Callable[[str, int], str]
IntArray = npt.NDArray[np.int64]
MAX_SECONDS = 253_402_300_799
"""9999-12-31T23:59:59Z: a plain number above this is not Unix seconds (it is ms, us or ns)."""
_PER_SECOND = {"s": 1, "ms": 1_000, "us": 1_000_000, "ns": 1_000_000_000}


def unix_seconds(column: pa.ChunkedArray, name: str, locate: Locate) -> IntArray:
    """``column`` as int64 Unix seconds; InputError at the first cell that is not a usable time."""
    kind = column.type
    if pa.types.is_dictionary(kind):
        column = column.cast(kind.value_type)
        kind = column.type
    missing = first_true(column.is_null())
    if missing is not None:
        raise InputError(f"{locate(name, missing)}: missing time")
    if pa.types.is_timestamp(kind):
        ticks = column.cast(pa.int64()).to_numpy()
        return _in_range(np.floor_divide(ticks, _PER_SECOND[kind.unit]), name, locate)
    if pa.types.is_date32(kind):
        return _in_range(column.cast(pa.int64()).to_numpy() * 86_400, name, locate)
    if pa.types.is_date64(kind):
        return _in_range(np.floor_divide(column.cast(pa.int64()).to_numpy(), 1_000), name, locate)
    if pa.types.is_integer(kind):
        return _in_range(column.to_numpy(), name, locate)
    if pa.types.is_floating(kind) or pa.types.is_decimal(kind):
        return _from_float(column.cast(pa.float64()).to_numpy(), name, locate)
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        return _from_text(pc.utf8_trim_whitespace(column.cast(pa.string())), name, locate)
    raise InputError(f"{locate(name, 0)}: type {kind} is not a time (give Unix seconds, a timestamp or "
                     f"ISO-8601 text)")


def _from_float(values: npt.NDArray[np.float64], name: str, locate: Locate) -> IntArray:
    bad = ~np.isfinite(values)
    if bad.any():
        index = int(bad.nonzero()[0][0])
        raise InputError(f"{locate(name, index)}: {'missing' if np.isnan(values[index]) else 'infinite'} time")
    _check_range(values, name, locate)
    seconds: IntArray = np.floor(values).astype(np.int64)
    return seconds


def _in_range(seconds: npt.NDArray[np.integer], name: str, locate: Locate) -> IntArray:
    _check_range(seconds, name, locate)
    converted: IntArray = seconds.astype(np.int64, copy=False)
    return converted


def _check_range(seconds: npt.NDArray[np.integer] | npt.NDArray[np.floating], name: str, locate: Locate) -> None:
    early = seconds < 0
    if early.any():
        index = int(early.nonzero()[0][0])
        raise InputError(f"{locate(name, index)}: time {seconds[index]:g} is before 1970 (negative Unix seconds)")
    late = seconds > MAX_SECONDS
    if late.any():
        index = int(late.nonzero()[0][0])
        raise InputError(f"{locate(name, index)}: time {seconds[index]:.0f} is after the year 9999; plain "
                         f"numbers must be Unix seconds, not milliseconds or nanoseconds")


def _from_text(text: pa.ChunkedArray, name: str, locate: Locate) -> IntArray:
    """ISO-8601 text (or numbers written as text): Arrow's parser first, Python's for mixed forms."""
    for kind in (pa.timestamp("ns"), pa.timestamp("ns", tz="UTC"), pa.float64()):
        try:
            parsed = text.cast(kind)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            continue
        return unix_seconds(parsed, name, locate)
    seconds = np.empty(len(text), dtype=np.float64)
    for index, value in enumerate(text.to_pylist()):
        parsed_seconds = _parse_one(value)
        if parsed_seconds is None:
            raise InputError(f"{locate(name, index)}: {value!r} is neither Unix seconds nor an ISO-8601 time")
        seconds[index] = parsed_seconds
    return _from_float(seconds, name, locate)


def _parse_one(value: str) -> float | None:
    try:
        stamp = datetime.fromisoformat(value)
    except ValueError:
        try:
            return float(value)
        except ValueError:
            return None
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=UTC)
    return stamp.timestamp()
