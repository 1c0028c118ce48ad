"""The non-admin client helper really is least-privilege: RBAC decides what it may do."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest
from kubernetes_asyncio.client import ApiClient, CoreV1Api
from kubernetes_asyncio.client.exceptions import ApiException

pytestmark = pytest.mark.api


async def test_service_account_client_is_limited_to_its_role(
    sa_client: Callable[..., Awaitable[ApiClient]], kube_api: ApiClient, namespace: str
) -> None:
    admin = CoreV1Api(kube_api)
    await admin.create_namespaced_config_map(namespace, {"metadata": {"name": "cm"}, "data": {"k": "v"}})

    reader = CoreV1Api(await sa_client("reader", f"{namespace}-cm-reader", rules=[
        {"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get", "list"]},
    ]))
    assert (await reader.read_namespaced_config_map("cm", namespace)).data == {"k": "v"}

    with pytest.raises(ApiException) as denied:
        await reader.delete_namespaced_config_map("cm", namespace)
    assert denied.value.status == 403
    assert f"system:serviceaccount:{namespace}:reader" in denied.value.body

    with pytest.raises(ApiException) as other_ns:
        await reader.list_namespaced_config_map("kube-system")
    assert other_ns.value.status == 403
