"""Two operator replicas and one Lease: one leader at a time, handover within the lease duration."""

from __future__ import annotations

import asyncio
import time

import pytest
from kubernetes_asyncio.client import ApiClient, CoordinationV1Api

from rikugame.cluster.lease import LeaseLock

pytestmark = pytest.mark.api


async def test_one_replica_leads_and_the_other_takes_over_after_the_lease_expires(
        kube_api: ApiClient, namespace: str) -> None:
    a = LeaseLock(kube_api, namespace, "rikugame-operator", "replica-a", duration_seconds=3)
    b = LeaseLock(kube_api, namespace, "rikugame-operator", "replica-b", duration_seconds=3)
    assert await a.acquire_or_renew() is True
    assert await b.acquire_or_renew() is False, "the Lease is held"
    assert await a.acquire_or_renew() is True, "the holder renews"
    died = time.monotonic()  # replica a stops renewing
    while not await b.acquire_or_renew():
        assert time.monotonic() - died < 3 + 2, "handed over within the lease duration (plus a poll)"
        await asyncio.sleep(0.5)
    lease = await CoordinationV1Api(kube_api).read_namespaced_lease("rikugame-operator", namespace)
    assert lease.spec.holder_identity == "replica-b" and lease.spec.lease_transitions == 1
    assert await a.acquire_or_renew() is False, "the old leader does not take it back while b renews"


async def test_a_released_lease_is_taken_at_once(kube_api: ApiClient, namespace: str) -> None:
    a = LeaseLock(kube_api, namespace, "rikugame-operator", "replica-a", duration_seconds=60)
    b = LeaseLock(kube_api, namespace, "rikugame-operator", "replica-b", duration_seconds=60)
    assert await a.acquire_or_renew() is True
    await a.release()
    assert await b.acquire_or_renew() is True
