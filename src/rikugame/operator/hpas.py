"""HPAs as the operator sees them: which one scales a workload, who owns it, and the body rikugame applies.

Pure functions over autoscaling/v2 JSON. rikugame writes an HPA by server-side apply under its own field
manager, so a field another manager (GitOps) owns is a conflict to report, never to overwrite.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rikugame.core.horizontal.hpa import (
    Behavior,
    HPASettings,
    PolicyType,
    ScalingPolicy,
    ScalingRules,
    SelectPolicy,
)
from rikugame.operator.pods import WorkloadKey

KEDA_GROUP = "keda.sh"


def hpa_target(hpa: Mapping[str, Any]) -> WorkloadKey:
    """(namespace, kind, name) the HPA scales."""
    ref = hpa.get("spec", {}).get("scaleTargetRef", {})
    return hpa.get("metadata", {}).get("namespace", ""), ref.get("kind", ""), ref.get("name", "")


def keda_owned(hpa: Mapping[str, Any]) -> bool:
    """Whether a KEDA ScaledObject owns the HPA (then rikugame never touches it)."""
    return any(str(ref.get("apiVersion", "")).startswith(KEDA_GROUP + "/")
               for ref in hpa.get("metadata", {}).get("ownerReferences") or [])


def cpu_target_percent(hpa: Mapping[str, Any]) -> int | None:
    """The CPU Utilization target of the HPA (None when it has none)."""
    for metric in hpa.get("spec", {}).get("metrics") or []:
        resource = metric.get("resource") or {}
        target = resource.get("target") or {}
        if metric.get("type") == "Resource" and resource.get("name") == "cpu" and target.get("type") == "Utilization":
            return int(target.get("averageUtilization", 0)) or None
    return None


def _quantity(value: float) -> str:
    """A tolerance as a Kubernetes quantity (milli-units: 0.025 → "25m", exact for 3 decimals)."""
    return f"{round(value * 1000)}m"


def _read_quantity(value: Any) -> float | None:
    """A tolerance quantity as the apiserver returns it ("25m", "0.025" or a number); None if unset."""
    if value is None:
        return None
    text = str(value)
    return int(text[:-1]) / 1000 if text.endswith("m") else float(text)


def _read_rules(data: Mapping[str, Any] | None, default: ScalingRules) -> ScalingRules:
    if not data:
        return default
    policies = tuple(ScalingPolicy(PolicyType(p["type"]), int(p["value"]), int(p["periodSeconds"]))
                     for p in data.get("policies") or []) or default.policies
    window = data.get("stabilizationWindowSeconds")
    return ScalingRules(policies, None if window is None else int(window),
                        SelectPolicy(data.get("selectPolicy", "Max")), _read_quantity(data.get("tolerance")))


def settings_of(hpa: Mapping[str, Any]) -> HPASettings | None:
    """The settings rikugame tunes, read from an existing HPA (None without a CPU Utilization target)."""
    target = cpu_target_percent(hpa)
    if target is None:
        return None
    spec = hpa.get("spec", {})
    behavior = spec.get("behavior") or {}
    d = Behavior()
    return HPASettings(target, int(spec.get("minReplicas", 1)), int(spec["maxReplicas"]),
                       Behavior(_read_rules(behavior.get("scaleUp"), d.scale_up),
                                _read_rules(behavior.get("scaleDown"), d.scale_down)))


def apply_body(name: str, namespace: str, workload: WorkloadKey, api_version: str,
               settings: HPASettings) -> dict[str, Any]:
    """The HPA fields rikugame owns, for server-side apply (one CPU Utilization metric)."""
    return {
        "apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "scaleTargetRef": {"apiVersion": api_version, "kind": workload[1], "name": workload[2]},
            "minReplicas": settings.min_replicas, "maxReplicas": settings.max_replicas,
            "metrics": [{"type": "Resource", "resource": {"name": "cpu", "target": {
                "type": "Utilization", "averageUtilization": settings.target_utilization_percent}}}],
            "behavior": settings.behavior.to_api(tolerance=_quantity),
        },
    }
