"""A small synchronous JSON client for the harness's own setup calls (namespaces, nodes, RBAC)."""

from __future__ import annotations

import json
import ssl
from pathlib import Path
from typing import Any

import httpx


def tls_context(ca: Path, cert: tuple[Path, Path] | None = None) -> ssl.SSLContext:
    """Verify the server against `ca`; present the client certificate `cert` (crt, key) if given."""
    ctx = ssl.create_default_context(cafile=str(ca))
    if cert:
        ctx.load_cert_chain(str(cert[0]), str(cert[1]))
    return ctx


class KubeHttp:
    """Talks to the apiserver with a client certificate or a bearer token; raises on HTTP errors."""

    def __init__(
        self, server: str, ca: Path, *, cert: tuple[Path, Path] | None = None, token: str | None = None
    ) -> None:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._client = httpx.Client(
            base_url=server, verify=tls_context(ca, cert), headers=headers, timeout=30.0
        )

    def close(self) -> None:
        self._client.close()

    def request(self, method: str, path: str, body: Any = None, *, content_type: str | None = None,
                params: dict[str, str] | None = None) -> Any:
        """Send one request; return the decoded JSON body (or None when empty)."""
        headers = {"Content-Type": content_type or "application/json"} if body is not None else {}
        resp = self._client.request(
            method, path, content=None if body is None else json.dumps(body), headers=headers, params=params
        )
        if resp.is_error:
            message = f"{method} {path} -> {resp.status_code}: {resp.text[:500]}"
            raise httpx.HTTPStatusError(message, request=resp.request, response=resp)
        return resp.json() if resp.content else None

    def get(self, path: str, **params: str) -> Any:
        return self.request("GET", path, params=params or None)

    def create(self, path: str, obj: dict[str, Any], *, exist_ok: bool = False) -> Any:
        """POST `obj` to the collection at `path`; with `exist_ok` an AlreadyExists (409) is ignored."""
        try:
            return self.request("POST", path, obj)
        except httpx.HTTPStatusError as exc:
            if exist_ok and exc.response.status_code == 409:
                return None
            raise

    def delete(self, path: str, *, missing_ok: bool = True) -> None:
        try:
            self.request("DELETE", path)
        except httpx.HTTPStatusError as exc:
            if not (missing_ok and exc.response.status_code == 404):
                raise

    def apply(self, path: str, obj: dict[str, Any], manager: str = "kubeharness") -> Any:
        """Server-side apply `obj` at its own resource path (force, as the harness owns these objects)."""
        return self.request(
            "PATCH", path, obj, content_type="application/apply-patch+yaml",
            params={"fieldManager": manager, "force": "true"},
        )
