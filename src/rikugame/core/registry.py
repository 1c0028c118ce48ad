"""A name -> plugin registry used by the vertical and horizontal recommenders (pure)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class Registry(Generic[T]):
    """Plugins by name: ``@registry.register("name")`` adds one, ``get`` finds it, ``names`` lists them."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._plugins: dict[str, T] = {}

    def register(self, name: str) -> Callable[[T], T]:
        """Decorator: make a plugin available under ``name`` (a second one with that name is refused)."""

        def decorate(plugin: T) -> T:
            if name in self._plugins:
                raise ValueError(f"{self.kind} {name!r} registered twice")
            self._plugins[name] = plugin
            return plugin

        return decorate

    def names(self) -> list[str]:
        """Registered names, sorted."""
        return sorted(self._plugins)

    def get(self, name: str) -> T:
        """The plugin ``name``; KeyError lists the valid names."""
        try:
            return self._plugins[name]
        except KeyError:
            raise KeyError(f"unknown {self.kind} {name!r}; choose one of: {', '.join(self.names())}") from None
