"""Machine formats every command shares: JSON, YAML and CSV with camelCase keys (as the Tuner spec is on
the wire). Documents are built from plain data with snake_case field names; :func:`camel_keys` renames the
keys at this one edge, leaving names that are not snake_case identifiers (``krr-simple``, ``static-65``,
``vm-1``) as they are."""

from __future__ import annotations

import csv
import io
import json
import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

import yaml

MACHINE_FORMATS = ("json", "yaml", "csv")
_SNAKE = re.compile(r"^[a-z][a-z0-9]*(?:_[a-z0-9]+)+$")


def camel(key: str) -> str:
    """``cpu_alloc_ratio`` → ``cpuAllocRatio``; anything that is not a snake_case identifier is kept."""
    if not _SNAKE.match(key):
        return key
    first, *rest = key.split("_")
    return first + "".join(part[:1].upper() + part[1:] for part in rest)


def camel_keys(value: Any) -> Any:
    """A copy of ``value`` with every mapping key passed through :func:`camel` (recursively)."""
    if isinstance(value, Mapping):
        return {camel(str(k)) if isinstance(k, str) else k: camel_keys(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [camel_keys(v) for v in value]
    return value


def _finite(value: Any) -> Any:
    """NaN/inf are not JSON: they become null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, Mapping):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


def to_json(doc: Mapping[str, Any]) -> str:
    """Indented JSON with camelCase keys (NaN → null)."""
    return json.dumps(_finite(camel_keys(doc)), indent=2) + "\n"


def to_yaml(doc: Mapping[str, Any]) -> str:
    """YAML with camelCase keys, in document order."""
    return yaml.safe_dump(_finite(camel_keys(doc)), sort_keys=False, allow_unicode=True)


def flatten(row: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested mappings become ``outerInner`` columns; lists are joined with ``;``."""
    out: dict[str, Any] = {}
    for key, value in row.items():
        name = camel(key)
        name = prefix + name[:1].upper() + name[1:] if prefix else name
        if isinstance(value, Mapping):
            out.update(flatten(value, name))
        elif isinstance(value, list | tuple):
            out[name] = ";".join(str(v) for v in value)
        else:
            out[name] = value
    return out


def to_csv(rows: Sequence[Mapping[str, Any]], fields: Sequence[str] | None = None) -> str:
    """One CSV row per mapping (flattened, camelCase headers); empty cells for None/NaN."""
    flat = [_finite(flatten(r)) for r in rows]
    header = list(fields) if fields is not None else list(dict.fromkeys(k for r in flat for k in r))
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=header, lineterminator="\n", extrasaction="ignore")
    writer.writeheader()
    for r in flat:
        writer.writerow({k: "" if r.get(k) is None else r.get(k) for k in header})
    return out.getvalue()
