"""Reading usage traces in the shared format into columnar arrays.

Shared format (../shared/DESIGN.md): columns ``timestamp`` (int Unix s), ``entity`` (str), ``cpu_cores``,
``memory_bytes``; Azure traces carry ``cpu_percent_avg`` instead, read as cores of a 1-core VM
(percent / 100). Rows with no CPU value (Bitbrains reports NaN while a VM is off) are dropped.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from rikugame.core.histograms import FloatArray, IntArray
from rikugame.errors import InputError

TRACE_SUFFIXES = (".parquet", ".csv")


@dataclass(frozen=True)
class Trace:
    """A usage trace: samples sorted by entity (row), then time."""

    entities: list[str]
    rows: IntArray
    timestamps: IntArray
    cpu_cores: FloatArray
    memory_bytes: FloatArray
    source: str

    @property
    def num_samples(self) -> int:
        """Number of samples."""
        return len(self.rows)

    @property
    def has_memory(self) -> bool:
        """Whether any memory value is present."""
        return bool(np.isfinite(self.memory_bytes).any())

    def select(self, entities: list[str]) -> Trace:
        """A trace with only the named entities (rows renumbered)."""
        wanted = {e: i for i, e in enumerate(entities)}
        old_to_new = np.array([wanted.get(e, -1) for e in self.entities], dtype=np.int64)
        new_rows = old_to_new[self.rows]
        keep = new_rows >= 0
        order = np.lexsort((self.timestamps[keep], new_rows[keep]))
        return Trace(entities=list(entities), rows=new_rows[keep][order],
                     timestamps=self.timestamps[keep][order], cpu_cores=self.cpu_cores[keep][order],
                     memory_bytes=self.memory_bytes[keep][order], source=self.source)


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


USED_COLUMNS = ("timestamp", "entity", "cpu_cores", "cpu_percent_avg", "memory_bytes")


def _read_table(path: Path) -> pa.Table:
    """Read only the columns a trace uses (Bitbrains files carry several more)."""
    try:
        if path.suffix == ".csv":
            return pacsv.read_csv(path)
        names = pq.read_schema(path).names
        return pq.read_table(path, columns=[c for c in names if c in USED_COLUMNS], read_dictionary=["entity"])
    except (pa.ArrowInvalid, OSError) as exc:
        raise InputError(f"cannot read trace {path}: {exc}") from exc


ENTITY_TYPE = pa.dictionary(pa.int32(), pa.string())


def _as_dictionary(column: pa.ChunkedArray) -> pa.ChunkedArray:
    """Entity names as dictionary<int32, string> (Parquet is read that way; CSV is encoded here)."""
    if pa.types.is_dictionary(column.type):
        return column.cast(ENTITY_TYPE)
    return pc.dictionary_encode(pc.cast(column, pa.string())).cast(ENTITY_TYPE)


def load_trace(path: str | Path, *, max_entities: int | None = None) -> Trace:
    """Read a trace file or directory; raise InputError with a clear message for unusable input."""
    tables = []
    for file in trace_files(Path(path)):
        table = _read_table(file)
        names = set(table.column_names)
        missing = [c for c in ("timestamp", "entity") if c not in names]
        if "cpu_cores" not in names and "cpu_percent_avg" not in names:
            missing.append("cpu_cores (or cpu_percent_avg)")
        if missing:
            raise InputError(f"trace {file} lacks column(s): {', '.join(missing)}")
        if "cpu_cores" in names:
            cpu = pc.cast(table["cpu_cores"], pa.float64())
        else:
            cpu = pc.divide(pc.cast(table["cpu_percent_avg"], pa.float64()), 100.0)
        if "memory_bytes" in names:
            mem = pc.cast(table["memory_bytes"], pa.float64())
        else:
            mem = pa.nulls(table.num_rows, pa.float64())
        tables.append(pa.table({
            "timestamp": pc.cast(table["timestamp"], pa.int64()),
            "entity": _as_dictionary(table["entity"]),
            "cpu": cpu,
            "mem": mem,
        }))
    table = pa.concat_tables(tables).unify_dictionaries()
    if table.num_rows == 0:
        raise InputError(f"trace {path} has no rows")
    table = table.filter(pc.invert(pc.is_null(table["cpu"], nan_is_null=True)))
    if table.num_rows == 0:
        raise InputError(f"trace {path} has no row with a CPU value")
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
    trace = Trace(entities=entities, rows=rows[order], timestamps=timestamps[order],
                  cpu_cores=np.maximum(cpu[order], 0.0), memory_bytes=mem[order], source=str(path))
    if max_entities is not None and max_entities < len(entities):
        trace = trace.select(entities[:max_entities])
    return trace
