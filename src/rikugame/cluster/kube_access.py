"""The operator's cluster access through kubernetes_asyncio (one list per kind per cycle; dict objects).

kubernetes_asyncio rather than kopf: it has ``patch_namespaced_pod_resize`` (in-place resize), server-side
apply (``application/apply-patch+yaml`` with a field manager) and the Lease API, and lets one process list
each kind once per cycle for every Tuner instead of running a handler task per object (docs/operator.md).
"""

from __future__ import annotations

import base64
import contextlib
import json
from collections.abc import Callable
from typing import Any

from kubernetes_asyncio import client
from kubernetes_asyncio.client import ApiClient
from kubernetes_asyncio.client.exceptions import ApiException

from rikugame.cluster.certs import ServingCertificate, expires_within
from rikugame.cluster.names import CHECKPOINTS, FIELD_MANAGER, GROUP, RESTARTED_AT, TUNERS, VERSION
from rikugame.errors import FieldConflict, ResizeRefused

APPLY = "application/apply-patch+yaml"
_WORKLOAD_LISTERS = {
    "Deployment": "list_deployment_for_all_namespaces",
    "StatefulSet": "list_stateful_set_for_all_namespaces",
    "DaemonSet": "list_daemon_set_for_all_namespaces",
}


async def _json(response: Any) -> Any:
    """The body of a ``_preload_content=False`` response, decoded (plain dicts, no model classes).

    kubernetes_asyncio checks the status only when it preloads the content, so it is checked here: a
    non-2xx answer raises ApiException with the API server's Status as its body, as a preloaded call would.
    """
    async with response:
        data = await response.read()
        if not 200 <= response.status <= 299:
            exc = ApiException(status=response.status, reason=response.reason)
            exc.body = data.decode(errors="replace")
            raise exc
        return json.loads(data)


class KubeAccess:
    """The operator's ``ClusterAccess`` (``rikugame.operator.access``) against a real API server."""

    def __init__(self, api: ApiClient) -> None:
        self.api = api
        self.core = client.CoreV1Api(api)
        self.apps = client.AppsV1Api(api)
        self.custom = client.CustomObjectsApi(api)

    async def list_tuners(self) -> list[dict[str, Any]]:
        """Every Tuner (all namespaces)."""
        found = await self.custom.list_cluster_custom_object(GROUP, VERSION, TUNERS)
        items: list[dict[str, Any]] = found.get("items", [])
        return items

    async def list_services(self) -> list[dict[str, Any]]:
        """Every Service (all namespaces): ``rikugame recommend`` looks for Prometheus among them."""
        body = await _json(await self.core.list_service_for_all_namespaces(_preload_content=False))
        items: list[dict[str, Any]] = body.get("items", [])
        return items

    async def list_pods(self) -> list[dict[str, Any]]:
        """Every pod (all namespaces)."""
        body = await _json(await self.core.list_pod_for_all_namespaces(_preload_content=False))
        items: list[dict[str, Any]] = body.get("items", [])
        return items

    async def replicaset_owners(self) -> dict[tuple[str, str], tuple[str, str]]:
        """(namespace, ReplicaSet) → (kind, name) of its controller."""
        body = await _json(await self.apps.list_replica_set_for_all_namespaces(_preload_content=False))
        out: dict[tuple[str, str], tuple[str, str]] = {}
        for rs in body.get("items", []):
            meta = rs["metadata"]
            for ref in meta.get("ownerReferences") or []:
                if ref.get("controller"):
                    out[(meta["namespace"], meta["name"])] = (ref["kind"], ref["name"])
        return out

    async def replicaset_owner(self, namespace: str, name: str) -> tuple[str, str] | None:
        """(kind, name) of one ReplicaSet's controller (None: no such ReplicaSet, or no controller)."""
        try:
            rs = await _json(await self.apps.read_namespaced_replica_set(name, namespace, _preload_content=False))
        except ApiException as exc:
            if exc.status == 404:
                return None
            raise
        for ref in rs["metadata"].get("ownerReferences") or []:
            if ref.get("controller"):
                return str(ref["kind"]), str(ref["name"])
        return None

    async def list_pod_metrics(self) -> list[dict[str, Any]] | None:
        """Every PodMetrics (None when metrics.k8s.io does not answer)."""
        try:
            found = await self.custom.list_cluster_custom_object("metrics.k8s.io", "v1beta1", "pods")
        except (ApiException, OSError):
            return None
        items: list[dict[str, Any]] = found.get("items", [])
        return items

    async def list_workloads(self) -> dict[tuple[str, str, str], dict[str, Any]]:
        """Every Deployment, StatefulSet and DaemonSet (three lists), by (namespace, kind, name)."""
        out: dict[tuple[str, str, str], dict[str, Any]] = {}
        for kind, lister in _WORKLOAD_LISTERS.items():
            body = await _json(await getattr(self.apps, lister)(_preload_content=False))
            for item in body.get("items", []):
                item.setdefault("apiVersion", "apps/v1")
                out[(item["metadata"]["namespace"], kind, item["metadata"]["name"])] = item
        return out

    async def read_checkpoint(self, namespace: str, name: str) -> dict[str, Any] | None:
        """The TunerCheckpoint named like the Tuner (None when absent)."""
        try:
            found: dict[str, Any] = await self.custom.get_namespaced_custom_object(
                GROUP, VERSION, namespace, CHECKPOINTS, name)
            return found
        except ApiException as exc:
            if exc.status == 404:
                return None
            raise

    async def write_checkpoint(self, namespace: str, name: str, owner: dict[str, Any], data: str) -> None:
        """Server-side apply the TunerCheckpoint (owned by the Tuner, so it goes when the Tuner goes)."""
        meta = owner["metadata"]
        body = {
            "apiVersion": f"{GROUP}/{VERSION}", "kind": "TunerCheckpoint",
            "metadata": {"name": name, "namespace": namespace, "ownerReferences": [{
                "apiVersion": f"{GROUP}/{VERSION}", "kind": "Tuner", "name": meta["name"], "uid": meta["uid"]}]},
            "spec": {"tunerRef": {"name": name}, "version": 1, "data": data},
        }
        # _content_type is accepted at run time (the generated stubs leave it out of the signature)
        await self.custom.patch_namespaced_custom_object(  # type: ignore[call-arg]
            GROUP, VERSION, namespace, CHECKPOINTS, name, body, field_manager=FIELD_MANAGER, force=True,
            _content_type=APPLY)

    async def patch_tuner_status(self, namespace: str, name: str, status: dict[str, Any]) -> None:
        """Merge-patch the Tuner's status subresource."""
        await self.custom.patch_namespaced_custom_object_status(  # type: ignore[call-arg]
            GROUP, VERSION, namespace, TUNERS, name, {"status": status},
            _content_type="application/merge-patch+json")

    async def resize_pod(self, namespace: str, name: str, patch: dict[str, Any]) -> int:
        """``pods/resize``: the pod's new generation; ResizeRefused on a 4xx the API server gives (422: QoS
        change, …)."""
        try:
            pod = await _json(await self.core.patch_namespaced_pod_resize(name, namespace, patch,
                                                                          _preload_content=False))
            return int(pod.get("metadata", {}).get("generation", 0))
        except ApiException as exc:
            if exc.status is not None and 400 <= exc.status < 500:
                message = exc.body if isinstance(exc.body, str) else str(exc.reason)
                with contextlib.suppress(ValueError):
                    message = json.loads(message).get("message", message)
                raise ResizeRefused(exc.status, message) from exc
            raise

    async def restart_workload(self, namespace: str, kind: str, name: str, stamp: str) -> None:
        """A rolling restart (as ``kubectl rollout restart`` does): the pod template annotation
        ``rikugame.dev/restartedAt`` set to ``stamp`` by merge patch."""
        patch = {"spec": {"template": {"metadata": {"annotations": {RESTARTED_AT: stamp}}}}}
        method = {"Deployment": self.apps.patch_namespaced_deployment,
                  "StatefulSet": self.apps.patch_namespaced_stateful_set,
                  "DaemonSet": self.apps.patch_namespaced_daemon_set}[kind]
        await _json(await method(name, namespace, patch,  # type: ignore[call-arg]
                                 _content_type="application/merge-patch+json", _preload_content=False))

    async def emit_event(self, involved: dict[str, Any], reason: str, message: str, type_: str = "Normal") -> None:
        """A core/v1 Event (best effort: a failure is not the Tuner's failure)."""
        from datetime import UTC, datetime

        now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        body = {"metadata": {"generateName": f"{involved['name']}.", "namespace": involved["namespace"]},
                "involvedObject": involved, "reason": reason, "message": message[:1000], "type": type_,
                "source": {"component": "rikugame"}, "firstTimestamp": now, "lastTimestamp": now, "count": 1}
        with contextlib.suppress(ApiException):
            await self.core.create_namespaced_event(involved["namespace"], body)  # type: ignore[arg-type]

    async def list_hpas(self) -> list[dict[str, Any]]:
        """Every autoscaling/v2 HPA (all namespaces)."""
        api = client.AutoscalingV2Api(self.api)
        body = await _json(await api.list_horizontal_pod_autoscaler_for_all_namespaces(_preload_content=False))
        items: list[dict[str, Any]] = body.get("items", [])
        return items

    async def apply_hpa(self, namespace: str, name: str, body: dict[str, Any]) -> None:
        """Server-side apply as field manager rikugame, not forced: another manager's field is a FieldConflict."""
        api = client.AutoscalingV2Api(self.api)
        try:
            await _json(await api.patch_namespaced_horizontal_pod_autoscaler(  # type: ignore[call-arg]
                name, namespace, body, field_manager=FIELD_MANAGER, _content_type=APPLY, _preload_content=False))
        except ApiException as exc:
            if exc.status == 409:
                message = exc.body if isinstance(exc.body, str) else str(exc.reason)
                with contextlib.suppress(ValueError):
                    message = json.loads(message).get("message", message)
                raise FieldConflict(message) from exc
            raise

    async def apply_webhook_configuration(self, body: dict[str, Any]) -> None:
        """Server-side apply rikugame's MutatingWebhookConfiguration (forced: it is rikugame's own object)."""
        api = client.AdmissionregistrationV1Api(self.api)
        await _json(await api.patch_mutating_webhook_configuration(  # type: ignore[call-arg]
            body["metadata"]["name"], body, field_manager=FIELD_MANAGER, force=True, _content_type=APPLY,
            _preload_content=False))

    async def kill_switch(self, namespace: str, name: str) -> bool:
        """``killSwitch: "true"`` in ConfigMap ``namespace/name`` (absent: off)."""
        try:
            cm = await _json(await self.core.read_namespaced_config_map(name, namespace, _preload_content=False))
        except ApiException as exc:
            if exc.status in (403, 404):
                return False
            raise
        return str((cm.get("data") or {}).get("killSwitch", "")).strip().lower() == "true"

    async def shared_serving_certificate(self, namespace: str, name: str,
                                         make: Callable[[], ServingCertificate]) -> ServingCertificate:
        """The webhook's CA and serving certificate from Secret ``namespace/name``, made by ``make`` and stored
        when absent or ending within 30 days: every replica serves the webhook with the same CA, so the
        caBundle any replica writes is valid for all of them. Two replicas racing to create it: the loser
        reads the winner's."""
        for _ in range(3):
            try:
                secret = await self.core.read_namespaced_secret(name, namespace)
            except ApiException as exc:
                if exc.status != 404:
                    raise
                secret = None
            if secret is not None:
                data = {k: base64.b64decode(v) for k, v in (secret.data or {}).items()}
                if {"ca.crt", "tls.crt", "tls.key"} <= set(data) and not expires_within(data["tls.crt"], 30):
                    return ServingCertificate(data["ca.crt"], data["tls.crt"], data["tls.key"])
            fresh = make()
            body: Any = {"apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/tls",
                    "metadata": {"name": name, "namespace": namespace,
                                 **({"resourceVersion": secret.metadata.resource_version} if secret else {})},
                    "data": {k: base64.b64encode(v).decode() for k, v in
                             (("ca.crt", fresh.ca_pem), ("tls.crt", fresh.cert_pem), ("tls.key", fresh.key_pem))}}
            try:
                if secret is None:
                    await self.core.create_namespaced_secret(namespace, body)
                else:
                    await self.core.replace_namespaced_secret(name, namespace, body)
            except ApiException as exc:
                if exc.status == 409:  # another replica stored one first: use it
                    continue
                raise
            return fresh
        raise RuntimeError(f"Secret {namespace}/{name}: could not be read or stored (kept changing)")
