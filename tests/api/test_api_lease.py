"""A coordination.k8s.io Lease is created, renewed, and guarded by optimistic concurrency."""

from __future__ import annotations

import datetime as dt

import pytest
from kubernetes_asyncio.client import (
    ApiClient,
    CoordinationV1Api,
    V1Lease,
    V1LeaseSpec,
    V1ObjectMeta,
)
from kubernetes_asyncio.client.exceptions import ApiException

pytestmark = pytest.mark.api


def _micro_time(t: dt.datetime) -> str:
    """MicroTime wire format. kubernetes_asyncio sends datetime.isoformat(), which drops the fraction
    when microsecond == 0, and the apiserver rejects that with 400 (found by this test)."""
    return t.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


async def test_lease_create_and_renew(kube_api: ApiClient, namespace: str) -> None:
    leases = CoordinationV1Api(kube_api)
    start = dt.datetime.now(dt.UTC)
    created = await leases.create_namespaced_lease(namespace, V1Lease(
        metadata=V1ObjectMeta(name="rikugame-leader"),
        spec=V1LeaseSpec(holder_identity="replica-a", lease_duration_seconds=15,
                         acquire_time=_micro_time(start), renew_time=_micro_time(start)),
    ))
    assert created.spec.holder_identity == "replica-a"

    renewed_at = start + dt.timedelta(seconds=5)
    created.spec.acquire_time = _micro_time(start)
    created.spec.renew_time = _micro_time(renewed_at)
    renewed = await leases.replace_namespaced_lease("rikugame-leader", namespace, created)
    assert renewed.spec.renew_time == renewed_at
    assert renewed.spec.acquire_time == start
    assert renewed.metadata.resource_version != created.metadata.resource_version

    # A second replica holding the old resourceVersion must not steal the lease.
    created.spec.holder_identity = "replica-b"
    created.spec.acquire_time = created.spec.renew_time
    with pytest.raises(ApiException) as stale:
        await leases.replace_namespaced_lease("rikugame-leader", namespace, created)
    assert stale.value.status == 409
    current = await leases.read_namespaced_lease("rikugame-leader", namespace)
    assert current.spec.holder_identity == "replica-a"
