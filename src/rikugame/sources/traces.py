"""Reading usage trace files (Parquet/CSV, a file or a directory) into a checked :class:`Trace`.

Shared format (README "Input format"): ``timestamp`` (Unix seconds, a timestamp of any unit, or
ISO-8601 text; see :mod:`rikugame.files.times`), ``entity``, ``cpu_cores`` — or Azure's
``cpu_percent_avg``, read as cores of a 1-core VM — and optionally ``memory_bytes``. Values must be
finite and ≥ 0 (:mod:`rikugame.files.values`). Gaps: a row without a CPU value is dropped (Bitbrains
reports NaN while a VM is off); a row without a memory value keeps its CPU sample and counts as memory
not measured. Both are counted in ``Trace.warnings``. A Parquet file written by :class:`TraceWriter`
(``rikugame recommend --export-trace``) says so in its metadata (``MEMORY_ONLY_KEY``): there a row with
a memory value and no CPU value is a real memory sample (a pod's first minute, where a CPU ``rate`` needs
two samples) and is kept, its CPU not measured, as the report used it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from rikugame.errors import InputError
from rikugame.files.cells import CellLocator, first_true
from rikugame.files.tables import read_columns
from rikugame.files.times import unix_seconds
from rikugame.files.values import measurement
from rikugame.usage_trace import Trace

__all__ = ["TRACE_SUFFIXES", "USED_COLUMNS", "Trace", "TraceWriter", "load_trace", "trace_files"]

TRACE_SUFFIXES = (".parquet", ".csv")
USED_COLUMNS = ("timestamp", "entity", "cpu_cores", "cpu_percent_avg", "memory_bytes")
ENTITY_TYPE = pa.dictionary(pa.int32(), pa.string())
MEMORY_ONLY_KEY = b"rikugame.memory_only_rows"
"""Parquet metadata key: ``keep`` = rows with memory and no CPU are memory samples (TraceWriter's files)."""


def trace_files(path: Path) -> list[Path]:
    """The trace files at ``path`` (a file, or every .parquet/.csv file in a directory)."""
    if not path.exists():
        raise InputError(f"trace not found: {path}")
    if path.is_file():
        return [path]
    files = sorted(p for p in path.iterdir() if p.suffix in TRACE_SUFFIXES)
    if not files:
        raise InputError(f"no .parquet or .csv trace in directory {path}")
    return files


@dataclass
class _Gaps:
    """Rows left out or partly unusable, over all files."""

    rows: int = 0
    without_cpu: int = 0
    without_memory: int = 0
    files_with_memory: int = 0
    cpu_columns: set[str] = field(default_factory=set)

    def warnings(self) -> tuple[str, ...]:
        lines = []
        if self.without_cpu:
            lines.append(f"dropped {self.without_cpu:,} of {self.rows:,} rows without a CPU value "
                         f"({'/'.join(sorted(self.cpu_columns))} empty or NaN; Bitbrains reports NaN while a "
                         f"VM is off)")
        if self.without_memory and self.files_with_memory:
            lines.append(f"{self.without_memory:,} rows have no memory_bytes value: their CPU is used, their "
                         f"memory counts as not measured")
        return tuple(lines)


def _as_dictionary(column: pa.ChunkedArray, file: Path) -> pa.ChunkedArray:
    """Entity names (text or integers) as dictionary<int32, string>; InputError for any other type."""
    kind = column.type.value_type if pa.types.is_dictionary(column.type) else column.type
    text = pa.types.is_string(kind) or pa.types.is_large_string(kind)
    if not (text or pa.types.is_integer(kind)):
        raise InputError(f"{file}: column 'entity': type {kind} is not an entity name (give text or integers)")
    if pa.types.is_dictionary(column.type):
        if text:
            return column.cast(ENTITY_TYPE)
        column = column.cast(kind)
    return pc.dictionary_encode(pc.cast(column, pa.string())).cast(ENTITY_TYPE)


def _read_file(file: Path, gaps: _Gaps) -> pa.Table | None:
    """One file's checked samples (``timestamp``, ``entity``, ``cpu``, ``mem``), or None if it has no rows."""
    table = read_columns(file, USED_COLUMNS, dictionary=["entity"])
    names = set(table.column_names)
    missing = [c for c in ("timestamp", "entity") if c not in names]
    if "cpu_cores" not in names and "cpu_percent_avg" not in names:
        missing.append("cpu_cores (or cpu_percent_avg)")
    if missing:
        raise InputError(f"trace {file} lacks column(s): {', '.join(missing)}")
    if table.num_rows == 0:
        return None
    entities = _as_dictionary(table["entity"], file)
    locate = CellLocator(file, entities)
    unnamed = first_true(table["entity"].is_null())
    if unnamed is not None:
        raise InputError(f"{locate('entity', unnamed)}: missing entity name")
    timestamps = unix_seconds(table["timestamp"], "timestamp", locate)
    cpu_column = "cpu_cores" if "cpu_cores" in names else "cpu_percent_avg"
    cpu = measurement(table[cpu_column], cpu_column, locate)
    if cpu_column == "cpu_percent_avg":
        cpu = cpu / 100.0
    if "memory_bytes" in names:
        mem = measurement(table["memory_bytes"], "memory_bytes", locate)
        gaps.files_with_memory += 1
    else:
        mem = np.full(table.num_rows, np.nan)
    has_cpu = ~np.isnan(cpu)
    metadata = table.schema.metadata or {}
    memory_only = metadata.get(MEMORY_ONLY_KEY) == b"keep"
    keep_row = has_cpu | (~np.isnan(mem)) if memory_only else has_cpu
    gaps.rows += table.num_rows
    gaps.without_cpu += int((~keep_row).sum())
    gaps.cpu_columns.add(cpu_column)
    if "memory_bytes" in names:
        gaps.without_memory += int((has_cpu & np.isnan(mem)).sum())
    keep = pa.array(keep_row)
    return pa.table({
        "timestamp": pa.array(timestamps, pa.int64()),
        "entity": entities,
        "cpu": pa.array(cpu, pa.float64()),
        "mem": pa.array(mem, pa.float64()),
    }).filter(keep)


def load_trace(path: str | Path, *, max_entities: int | None = None) -> Trace:
    """Read a trace file or directory; InputError (one line: file, column, entity, row) for unusable input.

    ``max_entities`` (≥ 1) keeps the first N entities by name.
    """
    if max_entities is not None and max_entities < 1:
        raise ValueError(f"max_entities must be at least 1, got {max_entities}")
    gaps = _Gaps()
    tables = [t for t in (_read_file(file, gaps) for file in trace_files(Path(path))) if t is not None]
    if gaps.rows == 0:
        raise InputError(f"trace {path} has no rows")
    if not tables or sum(t.num_rows for t in tables) == 0 or all(
            pc.all(t["cpu"].is_nan()).as_py() for t in tables if t.num_rows):
        raise InputError(f"trace {path} has no row with a CPU value")
    table = pa.concat_tables(tables).unify_dictionaries()
    encoded = table["entity"].combine_chunks()
    dictionary = encoded.dictionary.to_pylist()
    order_names = np.argsort(np.array(dictionary, dtype=object))
    rank = np.empty(len(dictionary), dtype=np.int64)
    rank[order_names] = np.arange(len(dictionary))
    rows = rank[encoded.indices.to_numpy(zero_copy_only=False)]
    entities = [dictionary[i] for i in order_names]
    timestamps = table["timestamp"].to_numpy()
    cpu = table["cpu"].to_numpy(zero_copy_only=False).astype(np.float64)
    mem = table["mem"].to_numpy(zero_copy_only=False).astype(np.float64)
    order = np.lexsort((timestamps, rows))
    trace = Trace(entities=entities, rows=rows[order], timestamps=timestamps[order], cpu_cores=cpu[order],
                  memory_bytes=mem[order], source=str(path), warnings=gaps.warnings())
    if max_entities is not None and max_entities < len(entities):
        trace = trace.select(entities[:max_entities])
    return trace


class TraceWriter:
    """Writes usage samples as a trace file ``load_trace`` reads (the backtest's input format), streamed:
    one Parquet row group per :meth:`write` call, so memory stays flat however long the history.

    Columns: ``timestamp`` (int64 Unix seconds), ``entity`` (dictionary string), ``cpu_cores`` and
    ``memory_bytes`` (float64, NaN = not measured). Rows need not be sorted (``load_trace`` sorts). The
    file appears only on :meth:`close` (written to ``PATH.tmp``, then renamed)."""

    SCHEMA = pa.schema([("timestamp", pa.int64()), ("entity", ENTITY_TYPE), ("cpu_cores", pa.float64()),
                        ("memory_bytes", pa.float64())], metadata={MEMORY_ONLY_KEY: b"keep"})

    def __init__(self, path: Path, entities: list[str]) -> None:
        import pyarrow.parquet as pq

        self.path = path
        self.entities = pa.array(entities, pa.string())
        self.samples = 0
        self.rows_seen: set[int] = set()
        self._tmp = path.with_name(path.name + ".tmp")
        self._writer = pq.ParquetWriter(self._tmp, self.SCHEMA, compression="zstd")

    def write(self, rows: npt.NDArray[np.int64], timestamps: npt.NDArray[np.int64],
              cpu_cores: npt.NDArray[np.float64], memory_bytes: npt.NDArray[np.float64]) -> None:
        """Append samples of the given entity indices (rows with neither value are left out)."""
        keep = ~(np.isnan(cpu_cores) & np.isnan(memory_bytes))
        if not keep.any():
            return
        rows = rows[keep]
        entity = pa.DictionaryArray.from_arrays(pa.array(rows.astype(np.int32)), self.entities)
        self._writer.write_table(pa.table({
            "timestamp": pa.array(timestamps[keep], pa.int64()), "entity": entity,
            "cpu_cores": pa.array(cpu_cores[keep], pa.float64()),
            "memory_bytes": pa.array(memory_bytes[keep], pa.float64())}, schema=self.SCHEMA))
        self.samples += int(keep.sum())
        self.rows_seen.update(np.unique(rows).tolist())

    def close(self) -> None:
        """Finish the file and move it into place."""
        self._writer.close()
        self._tmp.replace(self.path)

    def abort(self) -> None:
        """Drop the partial file."""
        try:
            self._writer.close()
        finally:
            self._tmp.unlink(missing_ok=True)
