"""Writing kubeconfig files for the admin user and for token-based (ServiceAccount) users."""

from __future__ import annotations

import json
from pathlib import Path


def write_kubeconfig(
    path: Path, server: str, ca: Path, *, cert: tuple[Path, Path] | None = None, token: str | None = None
) -> Path:
    """Write a one-context kubeconfig (JSON, which is valid YAML) and return its path."""
    user: dict[str, str] = {}
    if cert:
        user = {"client-certificate": str(cert[0]), "client-key": str(cert[1])}
    if token:
        user["token"] = token
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "test", "cluster": {"server": server, "certificate-authority": str(ca)}}],
        "users": [{"name": "user", "user": user}],
        "contexts": [{"name": "test", "context": {"cluster": "test", "user": "user"}}],
        "current-context": "test",
    }
    path.write_text(json.dumps(config, indent=2))
    path.chmod(0o600)
    return path
