"""The mutating admission webhook: a new pod of a tuned workload starts with the decided resources.

Without it, every pod the HPA adds, every eviction and every rollout would start from the pod template's
old requests and undo the in-place resizes. The decision is the one the tuning last applied (what running
pods already have), so new and running pods agree. ``failurePolicy: Ignore``: if the operator is down, pods
are created unchanged (with the template's resources) — never blocked.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from rikugame.core import quantities
from rikugame.core.workload import ContainerResources
from rikugame.operator.pods import WorkloadKey, container_resources, resize_target


@dataclass(frozen=True)
class WebhookTLS:
    """PEM bytes of the webhook's serving certificate, its key, and the CA that signed it (the caBundle)."""

    cert_pem: bytes
    key_pem: bytes
    ca_pem: bytes


Lookup = Callable[[WorkloadKey], Mapping[str, ContainerResources] | None]
"""Workload → the resources decided for its containers (None: not tuned, or not in Auto)."""


def _path_escape(key: str) -> str:
    return key.replace("~", "~0").replace("/", "~1")


def pod_patch(pod: Mapping[str, Any], decided: Mapping[str, ContainerResources]) -> list[dict[str, Any]]:
    """JSON Patch operations setting each container's existing requests/limits to the decided values
    (never adding or removing one, keeping the QoS class: the same rules as an in-place resize)."""
    containers = pod.get("spec", {}).get("containers", [])
    current = {c["name"]: container_resources(c) for c in containers}
    target = resize_target(current, decided)
    ops: list[dict[str, Any]] = []
    for i, c in enumerate(containers):
        want, have = target[c["name"]], current[c["name"]]
        if want == have:
            continue
        for section, resource, value, fmt in (
                ("requests", "cpu", want.cpu_request_millicores, quantities.format_cpu),
                ("requests", "memory", want.memory_request_bytes, quantities.format_memory),
                ("limits", "cpu", want.cpu_limit_millicores, quantities.format_cpu),
                ("limits", "memory", want.memory_limit_bytes, quantities.format_memory)):
            if value < 0:
                continue
            ops.append({"op": "replace", "path": f"/spec/containers/{i}/resources/{section}/{_path_escape(resource)}",
                        "value": fmt(value)})
    return ops


def review_response(review: Mapping[str, Any], workload: WorkloadKey | None, lookup: Lookup) -> dict[str, Any]:
    """The AdmissionReview answer: always allowed, with a patch when the pod's workload is tuned in Auto."""
    request = review.get("request") or {}
    response: dict[str, Any] = {"uid": request.get("uid", ""), "allowed": True}
    pod = request.get("object") or {}
    decided = lookup(workload) if workload is not None else None
    if decided:
        ops = pod_patch(pod, decided)
        if ops:
            response["patchType"] = "JSONPatch"
            response["patch"] = base64.b64encode(json.dumps(ops).encode()).decode()
    return {"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "response": response}
