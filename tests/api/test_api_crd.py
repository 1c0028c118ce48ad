"""A CRD with a structural schema: validation names the bad field, unknown fields are pruned."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest
from kubernetes_asyncio.client import ApiClient, ApiextensionsV1Api, CustomObjectsApi
from kubernetes_asyncio.client.exceptions import ApiException

pytestmark = pytest.mark.api


def _crd(group: str) -> dict[str, Any]:
    schema = {
        "type": "object",
        "properties": {
            "spec": {
                "type": "object",
                "required": ["replicas"],
                "properties": {
                    "replicas": {"type": "integer", "minimum": 1},
                    "mode": {"type": "string", "enum": ["Off", "Auto"]},
                },
            },
        },
    }
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"widgets.{group}"},
        "spec": {
            "group": group,
            "scope": "Namespaced",
            "names": {"plural": "widgets", "singular": "widget", "kind": "Widget", "listKind": "WidgetList"},
            "versions": [{"name": "v1", "served": True, "storage": True,
                          "schema": {"openAPIV3Schema": schema}}],
        },
    }


async def _wait_established(ext: ApiextensionsV1Api, name: str, timeout: float = 30.0) -> None:
    async with asyncio.timeout(timeout):
        while True:
            crd = await ext.read_custom_resource_definition(name)
            if any(c.type == "Established" and c.status == "True" for c in crd.status.conditions or []):
                return
            await asyncio.sleep(0.2)


async def test_structural_schema_rejects_invalid_object_naming_the_field(
    kube_api: ApiClient, namespace: str
) -> None:
    group = f"t{uuid.uuid4().hex[:8]}.rikugame.test"
    ext = ApiextensionsV1Api(kube_api)
    crd = _crd(group)
    await ext.create_custom_resource_definition(crd)
    try:
        await _wait_established(ext, crd["metadata"]["name"])
        objects = CustomObjectsApi(kube_api)

        def widget(name: str, spec: dict[str, Any]) -> dict[str, Any]:
            return {"apiVersion": f"{group}/v1", "kind": "Widget", "metadata": {"name": name}, "spec": spec}

        # CRD discovery can lag Established by a moment; the first create retries briefly.
        async with asyncio.timeout(15):
            while True:
                try:
                    created = await objects.create_namespaced_custom_object(
                        group, "v1", namespace, "widgets", widget("good", {"replicas": 2, "extra": "x"})
                    )
                    break
                except ApiException as exc:
                    if exc.status != 404:
                        raise
                    await asyncio.sleep(0.2)
        assert created["spec"] == {"replicas": 2}, "unknown field must be pruned by the structural schema"

        with pytest.raises(ApiException) as bad_type:
            await objects.create_namespaced_custom_object(
                group, "v1", namespace, "widgets", widget("bad", {"replicas": "three"})
            )
        assert bad_type.value.status == 422
        assert "spec.replicas" in bad_type.value.body

        with pytest.raises(ApiException) as bad_enum:
            await objects.create_namespaced_custom_object(
                group, "v1", namespace, "widgets", widget("bad2", {"replicas": 1, "mode": "Sometimes"})
            )
        assert bad_enum.value.status == 422
        assert "spec.mode" in bad_enum.value.body
    finally:
        await ext.delete_custom_resource_definition(crd["metadata"]["name"])
