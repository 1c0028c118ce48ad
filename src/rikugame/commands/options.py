"""Option parsing every command shares: one duration grammar, one Tuner-spec loader (errors name the flag)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
import yaml
from rich.console import Console

from rikugame.core.quantities import duration_seconds
from rikugame.errors import ConfigError, InputError


def duration(flag: str, text: str) -> int:
    """``14d``, ``36h``, ``90m``, ``30s``, ``1h30m`` → seconds; InputError naming ``flag`` otherwise."""
    try:
        return duration_seconds(text)
    except ValueError as exc:
        raise InputError(f"{flag}: {exc}") from exc


def load_tuner_spec(path: Path | None, flag: str = "--policy") -> dict[str, Any] | None:
    """The spec mapping of a YAML Tuner spec file (or of a whole Tuner object: its ``spec``)."""
    if path is None:
        return None
    try:
        data = yaml.safe_load(path.read_text())
    except OSError as exc:
        raise ConfigError(f"{flag}: cannot read {path}: {exc.strerror}") from exc
    except yaml.YAMLError as exc:
        first = str(exc).splitlines()[0]
        raise ConfigError(f"{flag}: {path} is not valid YAML: {first}") from exc
    if isinstance(data, dict) and "spec" in data:
        data = data["spec"]
    if not isinstance(data, dict):
        raise ConfigError(f"{flag}: {path} must hold a Tuner spec (a mapping)")
    return data


def fail(message: str, code: int = 2) -> typer.Exit:
    """Print one clear error line on stderr and return the Exit to raise (bad input: exit 2)."""
    Console(stderr=True).print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    return typer.Exit(code)
