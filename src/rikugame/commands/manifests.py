"""``rikugame manifests``: print (or write as a kustomize base) everything an install needs."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated

import typer

from rikugame.commands.options import fail
from rikugame.manifests.install import DEFAULT_IMAGE, DEFAULT_NAMESPACE, install_objects
from rikugame.manifests.render import kustomize_files, to_yaml

_DNS_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?")


def write_base(directory: Path, namespace: str, image: str) -> list[Path]:
    """Write the kustomize base into ``directory`` (created if missing); the paths written."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in kustomize_files(install_objects(namespace, image)).items():
        path = directory / name
        path.write_text(text)
        written.append(path)
    return written


def manifests(
    namespace: Annotated[str, typer.Option("--namespace", "-n", metavar="NAME", help="Namespace of the operator.")]
    = DEFAULT_NAMESPACE,
    image: Annotated[str, typer.Option("--image", metavar="IMAGE", help="Operator image.")] = DEFAULT_IMAGE,
    write: Annotated[Path | None, typer.Option(
        "--write", metavar="DIR",
        help="Write a kustomize base (one file per object + kustomization.yaml) into this directory "
             "instead of printing.")] = None,
) -> None:
    """Print the CRDs (generated from the pydantic models), RBAC, the operator Deployment, Service and
    webhook configuration as one multi-document YAML."""
    if not _DNS_LABEL.fullmatch(namespace):
        raise fail(f"--namespace: {namespace!r} is not a namespace name (lower-case letters, digits and '-', "
                   f"at most 63)")
    if write is None:
        typer.echo(to_yaml(install_objects(namespace, image)), nl=False)
        return
    try:
        paths = write_base(write, namespace, image)
    except OSError as exc:
        raise fail(f"--write: cannot write {write}: {exc.strerror}") from exc
    typer.echo(f"wrote {len(paths)} files to {write}")
