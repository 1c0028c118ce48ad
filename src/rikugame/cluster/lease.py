"""Leader election through a ``coordination.k8s.io/v1`` Lease (what client-go's leaderelection does).

Every replica calls ``acquire_or_renew`` every ``duration / 3``: the holder renews; another replica takes
the Lease over once the holder has not renewed for ``duration``. Updates carry the resourceVersion read, so
two replicas racing for an expired Lease cannot both win (the loser gets 409).
"""

from __future__ import annotations

import contextlib
import datetime
from typing import Any

from kubernetes_asyncio import client
from kubernetes_asyncio.client import ApiClient
from kubernetes_asyncio.client.exceptions import ApiException


def _micro_time(when: datetime.datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _parse(text: str | None) -> datetime.datetime | None:
    if not text:
        return None
    return datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))


class LeaseLock:
    """One replica's view of the Lease ``namespace/name``."""

    def __init__(self, api: ApiClient, namespace: str, name: str, identity: str, duration_seconds: int = 15) -> None:
        self.coordination = client.CoordinationV1Api(api)
        self.namespace = namespace
        self.name = name
        self.identity = identity
        self.duration_seconds = duration_seconds

    async def acquire_or_renew(self) -> bool:
        """True when this replica holds the Lease after the call."""
        now = datetime.datetime.now(datetime.UTC)
        try:
            lease = await self.coordination.read_namespaced_lease(self.name, self.namespace)
        except ApiException as exc:
            if exc.status != 404:
                raise
            return await self._create(now)
        spec = lease.spec
        holder = spec.holder_identity
        renewed = spec.renew_time
        if isinstance(renewed, str):
            renewed = _parse(renewed)
        duration = spec.lease_duration_seconds or self.duration_seconds
        expired = renewed is None or now - renewed > datetime.timedelta(seconds=duration)
        if holder != self.identity and not expired:
            return False
        acquired = spec.acquire_time
        if holder != self.identity or acquired is None:
            acquire_time = _micro_time(now)
        else:
            acquire_time = acquired if isinstance(acquired, str) else _micro_time(acquired)
        body: dict[str, Any] = {
            "metadata": {"name": self.name, "namespace": self.namespace,
                         "resourceVersion": lease.metadata.resource_version},
            "spec": {"holderIdentity": self.identity, "leaseDurationSeconds": self.duration_seconds,
                     "renewTime": _micro_time(now),
                     "acquireTime": acquire_time,
                     "leaseTransitions": (spec.lease_transitions or 0) + (0 if holder == self.identity else 1)},
        }
        try:
            await self.coordination.replace_namespaced_lease(self.name, self.namespace, body)  # type: ignore[arg-type]
        except ApiException as exc:
            if exc.status == 409:  # another replica won the race
                return False
            raise
        return True

    async def _create(self, now: datetime.datetime) -> bool:
        body = {"metadata": {"name": self.name, "namespace": self.namespace},
                "spec": {"holderIdentity": self.identity, "leaseDurationSeconds": self.duration_seconds,
                         "acquireTime": _micro_time(now), "renewTime": _micro_time(now), "leaseTransitions": 0}}
        try:
            await self.coordination.create_namespaced_lease(self.namespace, body)  # type: ignore[arg-type]
        except ApiException as exc:
            if exc.status == 409:
                return False
            raise
        return True

    async def release(self) -> None:
        """Give the Lease up at once (a graceful stop hands over without waiting for expiry)."""
        try:
            lease = await self.coordination.read_namespaced_lease(self.name, self.namespace)
        except ApiException:
            return
        if lease.spec.holder_identity != self.identity:
            return
        body = {"metadata": {"name": self.name, "namespace": self.namespace,
                             "resourceVersion": lease.metadata.resource_version},
                "spec": {"holderIdentity": None, "leaseDurationSeconds": self.duration_seconds,
                         "leaseTransitions": lease.spec.lease_transitions or 0}}
        with contextlib.suppress(ApiException):
            await self.coordination.replace_namespaced_lease(self.name, self.namespace, body)  # type: ignore[arg-type]
