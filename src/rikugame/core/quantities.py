"""Kubernetes quantity strings <-> integer millicores and bytes (pure, exact).

Parsing uses ``Decimal`` so ``"0.1"`` is exactly 100 millicores. CPU rounds *up* to a whole
millicore (a request never shrinks by parsing); memory rounds up to a whole byte.
Formatting picks the shortest exact form: ``250m``, ``2``, ``512Mi``, ``1536Mi``, ``1000``.
"""

from __future__ import annotations

import math
import re
from decimal import Decimal, InvalidOperation

_BINARY = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60}
_DECIMAL = {
    "n": Decimal("1e-9"), "u": Decimal("1e-6"), "m": Decimal("1e-3"), "": Decimal(1),
    "k": Decimal(10**3), "M": Decimal(10**6), "G": Decimal(10**9), "T": Decimal(10**12),
    "P": Decimal(10**15), "E": Decimal(10**18),
}
QUANTITY_PATTERN = r"^\+?([0-9]+(\.[0-9]*)?|\.[0-9]+)(([KMGTPE]i)|[numkMGTPE]|([eE][+-]?[0-9]+))?$"
"""A non-negative Kubernetes quantity as this module reads it (a schema pattern: RE2, ECMA and Python agree)."""
_QUANTITY = re.compile(r"^([+-]?(?:\d+\.?\d*|\.\d+))(?:([eE][+-]?\d+)|(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE]))?$")


def parse_quantity(text: str | int | float) -> Decimal:
    """Parse a Kubernetes quantity (``"250m"``, ``"1.5Gi"``, ``"1e3"``, ``2``) to an exact Decimal.

    Raises ValueError naming the text when it is not a quantity.
    """
    if isinstance(text, bool):
        raise ValueError(f"not a quantity: {text!r}")
    if isinstance(text, int):
        return Decimal(text)
    if isinstance(text, float):
        if not math.isfinite(text):
            raise ValueError(f"not a quantity: {text!r}")
        return Decimal(repr(text))
    match = _QUANTITY.match(text.strip())
    if not match:
        raise ValueError(f"not a Kubernetes quantity: {text!r}")
    number, exponent, suffix = match.groups()
    try:
        value = Decimal(number)
        if exponent:
            return value * (Decimal(10) ** int(exponent[1:]))
    except InvalidOperation as exc:  # pragma: no cover - the regex admits only valid numbers
        raise ValueError(f"not a Kubernetes quantity: {text!r}") from exc
    if suffix in _BINARY:
        return value * _BINARY[suffix]
    return value * _DECIMAL[suffix or ""]


def cpu_millicores(text: str | int | float) -> int:
    """CPU quantity to whole millicores, rounded up (``"0.25"`` -> 250, ``"100u"`` -> 1)."""
    value = parse_quantity(text) * 1000
    if value < 0:
        raise ValueError(f"negative CPU quantity: {text!r}")
    return int(value.to_integral_value(rounding="ROUND_CEILING"))


def memory_bytes(text: str | int | float) -> int:
    """Memory quantity to whole bytes, rounded up (``"512Mi"`` -> 536870912)."""
    value = parse_quantity(text)
    if value < 0:
        raise ValueError(f"negative memory quantity: {text!r}")
    return int(value.to_integral_value(rounding="ROUND_CEILING"))


def format_cpu(millicores: int) -> str:
    """Whole millicores to the shortest exact CPU quantity (``1500`` -> ``"1500m"``, ``2000`` -> ``"2"``)."""
    if millicores < 0:
        raise ValueError(f"negative millicores: {millicores}")
    if millicores % 1000 == 0:
        return str(millicores // 1000)
    return f"{millicores}m"


def format_memory(num_bytes: int) -> str:
    """Whole bytes to the shortest exact binary quantity (``536870912`` -> ``"512Mi"``)."""
    if num_bytes < 0:
        raise ValueError(f"negative bytes: {num_bytes}")
    if num_bytes == 0:
        return "0"
    for suffix, factor in reversed(_BINARY.items()):
        if num_bytes % factor == 0:
            return f"{num_bytes // factor}{suffix}"
    return str(num_bytes)



_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)([wdhms])")
_DURATION = re.compile(r"\s*((?:\d+(?:\.\d+)?[wdhms]\s*)+)\s*")
_DURATION_UNITS = {"w": 604800, "d": 86400, "h": 3600, "m": 60, "s": 1}


def duration_seconds(text: str) -> int:
    """``14d``, ``36h``, ``90m``, ``30s``, ``1h30m``, ``1w`` → whole seconds (ValueError when unreadable or 0).

    The one duration grammar of every command (Prometheus' units without ``y``/``ms``)."""
    parts = _DURATION.fullmatch(text)
    if not parts:
        raise ValueError(f"not a duration: {text!r} (examples: 14d, 36h, 90m, 30s)")
    total = sum(float(n) * _DURATION_UNITS[u] for n, u in _DURATION_PART.findall(parts.group(1)))
    if total <= 0:
        raise ValueError(f"duration must be positive: {text!r}")
    return round(total)
