"""Reading a checkpoint dict with errors that name the field (pure): ``Fields(data, "history").integer("count")``."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from rikugame.core.checkpoints import decode_array


class Fields:
    """Typed access to one JSON object of a checkpoint; every error is a ValueError naming ``path.key``."""

    def __init__(self, data: Any, path: str) -> None:
        if not isinstance(data, dict):
            raise ValueError(f"{path}: expected an object, got {type(data).__name__}")
        self.data: dict[str, Any] = data
        self.path = path

    def _get(self, key: str) -> Any:
        if key not in self.data:
            raise ValueError(f"{self.path}.{key}: missing")
        return self.data[key]

    def sub(self, key: str) -> Fields:
        """The nested object ``key``."""
        return Fields(self._get(key), f"{self.path}.{key}")

    def integer(self, key: str) -> int:
        """An integer (booleans refused)."""
        value = self._get(key)
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"{self.path}.{key}: expected an integer, got {value!r}")
        return value

    def optional_integer(self, key: str) -> int | None:
        """An integer or null."""
        return None if self._get(key) is None else self.integer(key)

    def number(self, key: str) -> float:
        """A number."""
        value = self._get(key)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(f"{self.path}.{key}: expected a number, got {value!r}")
        return float(value)

    def text(self, key: str) -> str:
        """A string."""
        value = self._get(key)
        if not isinstance(value, str):
            raise ValueError(f"{self.path}.{key}: expected a string, got {value!r}")
        return value

    def items(self, key: str) -> list[Any]:
        """A list."""
        value = self._get(key)
        if not isinstance(value, list):
            raise ValueError(f"{self.path}.{key}: expected a list, got {type(value).__name__}")
        return value

    def integers(self, key: str, *, length: int | None = None) -> list[int]:
        """A list of integers (of ``length`` when given)."""
        values = self.items(key)
        if length is not None and len(values) != length:
            raise ValueError(f"{self.path}.{key}: expected {length} values, got {len(values)}")
        if any(isinstance(v, bool) or not isinstance(v, int) for v in values):
            raise ValueError(f"{self.path}.{key}: expected integers, got {values!r}")
        return values

    def numbers(self, key: str) -> list[float]:
        """A list of numbers."""
        values = self.items(key)
        if any(isinstance(v, bool) or not isinstance(v, int | float) for v in values):
            raise ValueError(f"{self.path}.{key}: expected numbers, got {values!r}")
        return [float(v) for v in values]

    def array(self, key: str, dtype: npt.DTypeLike, *, length: int | None = None) -> npt.NDArray[Any]:
        """A base64 array (``checkpoints.encode_array``) of ``length`` values when given."""
        try:
            values = decode_array(self._get(key), dtype)
        except ValueError as exc:
            raise ValueError(f"{self.path}.{key}: {exc}") from exc
        if length is not None and len(values) != length:
            raise ValueError(f"{self.path}.{key}: expected {length} values, got {len(values)}")
        out: npt.NDArray[Any] = np.array(values)  # writable copy
        return out
