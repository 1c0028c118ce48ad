"""Output paths checked before the long work starts, so a typo costs seconds, not the whole run."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from rikugame.errors import InputError


def check_output(path: Path, flag: str) -> None:
    """InputError naming ``flag`` unless ``path`` can be written.

    Its directory must already exist (it is never created) and accept a new file; the path itself must
    not be a directory, and an existing file must be writable.
    """
    parent = path.parent if str(path.parent) else Path(".")
    if path.is_dir():
        raise InputError(f"{flag} {path}: is a directory; give a file name")
    if not parent.exists():
        raise InputError(f"{flag} {path}: directory {parent} does not exist")
    if not parent.is_dir():
        raise InputError(f"{flag} {path}: {parent} is not a directory")
    if path.exists() and not os.access(path, os.W_OK):
        raise InputError(f"{flag} {path}: file is not writable")
    try:
        with tempfile.NamedTemporaryFile(dir=parent, prefix=".rikugame-probe-"):
            pass
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise InputError(f"{flag} {path}: cannot write to directory {parent} ({reason})") from exc
