"""Reading the columns an input table needs from Parquet or CSV, without guessing cell types.

CSV cells are read as text and converted by :mod:`rikugame.files.times` and :mod:`rikugame.files.values`,
so a bad cell anywhere in the file is reported by its row, never as a reader error deep in a block.
Empty cells and ``NA``/``NaN``/``null`` are missing values.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from rikugame.errors import InputError, one_line


def _csv_header(path: Path) -> list[str]:
    with path.open(newline="", encoding="utf-8-sig") as stream:
        return next(csv.reader(stream), [])


def read_columns(path: Path, wanted: Sequence[str], *, what: str = "trace",
                 dictionary: Sequence[str] = ()) -> pa.Table:
    """The ``wanted`` columns that ``path`` has (others are skipped unread); InputError if unreadable.

    Parquet columns named in ``dictionary`` are read dictionary-encoded (entity names repeat).
    """
    try:
        if path.suffix.lower() == ".csv":
            present = [c for c in _csv_header(path) if c in wanted]
            options = pacsv.ConvertOptions(include_columns=present, strings_can_be_null=True,
                                           column_types={c: pa.string() for c in present})
            return pacsv.read_csv(path, convert_options=options)
        names = pq.read_schema(path).names
        columns = [c for c in names if c in wanted]
        return pq.read_table(path, columns=columns, read_dictionary=[c for c in dictionary if c in columns])
    except (pa.ArrowException, OSError, UnicodeDecodeError, csv.Error) as exc:
        raise InputError(f"cannot read {what} {path}: {one_line(exc)}") from exc
