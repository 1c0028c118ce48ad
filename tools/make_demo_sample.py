#!/usr/bin/env python3
"""Regenerate the demo sample bundled in the package from the shared Bitbrains trace.

Usage: .venv/bin/python tools/make_demo_sample.py [../shared/data/bitbrains_rnd/usage.parquet]

Takes 10 VMs spread over the range of CPU use (deterministic choice) and their first 21 days,
keeping only the columns of the shared trace format, and writes src/rikugame/data/bitbrains-sample.parquet.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

SOURCE = Path(sys.argv[1] if len(sys.argv) > 1 else "../shared/data/bitbrains_rnd/usage.parquet")
TARGET = Path(__file__).resolve().parent.parent / "src/rikugame/data/bitbrains-sample.parquet"
DAYS = 21
VMS = 10


def main() -> None:
    table = pq.read_table(SOURCE, columns=["timestamp", "entity", "cpu_cores", "memory_bytes"])
    table = table.filter(pc.invert(pc.is_null(table["cpu_cores"], nan_is_null=True)))
    start = pc.min(table["timestamp"]).as_py()
    table = table.filter(pc.less(table["timestamp"], start + DAYS * 86400))
    frame = table.to_pandas()
    mean_cpu = frame.groupby("entity")["cpu_cores"].mean()
    busy = mean_cpu[mean_cpu > 0.05].sort_values()
    picks = busy.index[np.linspace(0, len(busy) - 1, VMS).round().astype(int)]
    sample = frame[frame["entity"].isin(picks)].sort_values(["entity", "timestamp"])
    out = pa.Table.from_pandas(sample, preserve_index=False)
    pq.write_table(out, TARGET, compression="zstd", compression_level=19)
    print(f"wrote {TARGET}: {len(sample):,} rows, {sample['entity'].nunique()} VMs, {DAYS} days")


if __name__ == "__main__":
    main()
