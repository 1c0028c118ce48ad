"""Option parsing every command shares: one duration grammar, one Tuner-spec loader (errors name the flag)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, Literal, get_args

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


Format = Literal["table", "json", "yaml", "csv", "html"]
"""Every command's ``-f/--format`` choices (html = the report page); typer lists them in ``--help``."""
FORMATS: tuple[str, ...] = get_args(Format)
FORMAT_HELP = "Output format: table, json, yaml, csv (camelCase keys) or html (the report page)."


def check_format(fmt: str) -> str:
    """InputError unless ``fmt`` is one of :data:`FORMATS`."""
    if fmt not in FORMATS:
        raise InputError(f"--format: {fmt!r} is not one of {', '.join(FORMATS)}")
    return fmt


def say_wrote(path: Path, detail: str = "") -> None:
    """The one line every written file gets on stderr: ``wrote <path> (<detail>)``."""
    Console(stderr=True).print(f"wrote {path}" + (f" ({detail})" if detail else ""), highlight=False,
                               soft_wrap=True)


def emit(text: str, output: Path | None, *, flag: str = "--output", detail: str = "") -> None:
    """Write ``text`` to ``output`` (atomically, then ``wrote <path>``) or, without one, to stdout."""
    if output is None:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
        return
    tmp = output.with_name(output.name + ".tmp")
    try:
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(output)
    except OSError as exc:
        raise InputError(f"{flag}: cannot write {output}: {exc.strerror or exc}") from exc
    say_wrote(output, detail or f"{len(text.encode('utf-8')):,} bytes")


def size_text(num_bytes: int) -> str:
    """``1.23 MB`` / ``456 kB`` for a wrote line."""
    return f"{num_bytes / 1e6:.2f} MB" if num_bytes >= 1e6 else f"{num_bytes / 1e3:.0f} kB"


def deprecated_report() -> None:
    """``--report FILE`` still works (the page besides the --format output), with one warning line."""
    Console(stderr=True).print("[yellow]warning:[/] --report: deprecated, use -f html -o FILE (the page is "
                               "written as before)", highlight=False, soft_wrap=True)
