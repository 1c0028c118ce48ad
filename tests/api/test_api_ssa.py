"""Server-side apply: a second field manager conflicts on a field the first one owns."""

from __future__ import annotations

from typing import Any

import pytest
from kubernetes_asyncio.client import ApiClient, CoreV1Api
from kubernetes_asyncio.client.exceptions import ApiException

pytestmark = pytest.mark.api

APPLY = "application/apply-patch+yaml"


def _config_map(namespace: str, value: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "shared", "namespace": namespace},
        "data": {"target": value},
    }


async def test_two_field_managers_conflict_until_forced(kube_api: ApiClient, namespace: str) -> None:
    core = CoreV1Api(kube_api)
    await core.patch_namespaced_config_map(
        "shared", namespace, _config_map(namespace, "50"), field_manager="alice", _content_type=APPLY
    )

    with pytest.raises(ApiException) as conflict:
        await core.patch_namespaced_config_map(
            "shared", namespace, _config_map(namespace, "70"), field_manager="bob", _content_type=APPLY
        )
    assert conflict.value.status == 409
    assert "alice" in conflict.value.body
    assert ".data.target" in conflict.value.body
    assert (await core.read_namespaced_config_map("shared", namespace)).data == {"target": "50"}

    forced = await core.patch_namespaced_config_map(
        "shared", namespace, _config_map(namespace, "70"), field_manager="bob", force=True,
        _content_type=APPLY,
    )
    assert forced.data == {"target": "70"}
    owners = {m.manager for m in forced.metadata.managed_fields if "f:target" in str(m.fields_v1)}
    assert owners == {"bob"}
