"""Naming one cell of an input table in an error message."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa


@dataclass(frozen=True)
class CellLocator:
    """``file: column 'x', entity 'vm-1', row 7`` (rows count from 1 = the first data row)."""

    file: Path
    entities: pa.ChunkedArray | None = None
    """The entity column of the same table, if the table has one."""

    def __call__(self, column: str, index: int) -> str:
        """Where the cell at ``index`` (0-based) of ``column`` is."""
        where = f"{self.file}: column {column!r}"
        if self.entities is not None and 0 <= index < len(self.entities):
            entity = self.entities[index].as_py()
            if entity is not None:
                where += f", entity {str(entity)!r}"
        return f"{where}, row {index + 1}"


def first_true(mask: pa.ChunkedArray | pa.Array) -> int | None:
    """Index of the first true value of a boolean array (nulls count as false), or None."""
    index = 0
    chunks = mask.chunks if isinstance(mask, pa.ChunkedArray) else [mask]
    for chunk in chunks:
        values = chunk.fill_null(False).to_numpy(zero_copy_only=False)
        hits = values.nonzero()[0]
        if len(hits):
            return index + int(hits[0])
        index += len(chunk)
    return None
