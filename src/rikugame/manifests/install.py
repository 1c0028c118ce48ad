"""Everything ``kubectl apply -k deploy/`` installs: the CRDs, least-privilege RBAC, the operator's
ServiceAccount, Deployment and Service, and its mutating webhook configuration (plain dicts, in apply order).
"""

from __future__ import annotations

from typing import Any

from rikugame import __version__
from rikugame.manifests.crds import GROUP, tuner_checkpoint_crd, tuner_crd

NAME = "rikugame"
DEFAULT_NAMESPACE = "rikugame-system"
DEFAULT_IMAGE = f"rikugame:{__version__}"
METRICS_PORT = 8080
WEBHOOK_PORT = 8443
WEBHOOK_PATH = "/mutate"
WEBHOOK_SERVICE = "rikugame-webhook"
WEBHOOK_SECRET = "rikugame-webhook-tls"
KILL_SWITCH_CONFIGMAP = "rikugame-kill-switch"
LEASE = "rikugame-operator"
LABELS = {"app.kubernetes.io/name": NAME, "app.kubernetes.io/component": "operator"}
SKIP_LABEL = "rikugame.dev/webhook"
"""A pod labelled ``rikugame.dev/webhook: skip`` is never sent to the webhook."""

Obj = dict[str, Any]


def _meta(name: str, namespace: str | None = None) -> Obj:
    meta: Obj = {"name": name, "labels": {"app.kubernetes.io/name": NAME}}
    if namespace is not None:
        meta["namespace"] = namespace
    return meta


def cluster_role_rules() -> list[Obj]:
    """What the operator may do in every namespace: exactly the verbs it uses."""
    return [
        {"apiGroups": [GROUP], "resources": ["tuners"], "verbs": ["get", "list", "watch"]},
        {"apiGroups": [GROUP], "resources": ["tuners/status"], "verbs": ["patch", "update"]},
        {"apiGroups": [GROUP], "resources": ["tunercheckpoints"],
         "verbs": ["get", "list", "watch", "create", "update", "patch"]},
        {"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list", "watch"]},
        {"apiGroups": [""], "resources": ["pods/resize"], "verbs": ["patch"]},
        # patch: `rikugame persist` writes the decided resources into the pod template, and the rolling-restart
        # fallback sets a template annotation.
        {"apiGroups": ["apps"], "resources": ["deployments", "statefulsets", "daemonsets"],
         "verbs": ["get", "list", "watch", "patch"]},
        {"apiGroups": ["apps"], "resources": ["deployments/scale", "statefulsets/scale"], "verbs": ["get"]},
        # Pods are owned by ReplicaSets; their owner references lead to the Deployment.
        {"apiGroups": ["apps"], "resources": ["replicasets"], "verbs": ["get", "list", "watch"]},
        {"apiGroups": ["autoscaling"], "resources": ["horizontalpodautoscalers"],
         "verbs": ["get", "list", "watch", "create", "patch"]},
        {"apiGroups": ["metrics.k8s.io"], "resources": ["pods"], "verbs": ["get", "list"]},
        {"apiGroups": ["", "events.k8s.io"], "resources": ["events"], "verbs": ["create", "patch"]},
        # Only its own webhook configuration, to keep the CA bundle in step with its serving certificate.
        {"apiGroups": ["admissionregistration.k8s.io"], "resources": ["mutatingwebhookconfigurations"],
         "resourceNames": [NAME], "verbs": ["get", "patch"]},
    ]


def namespace_role_rules() -> list[Obj]:
    """What the operator may do in its own namespace only."""
    return [
        {"apiGroups": ["coordination.k8s.io"], "resources": ["leases"], "verbs": ["get", "create", "update"]},
        {"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get", "list", "watch"]},
        # create cannot be limited to a name (the name is not known to RBAC before the object exists).
        {"apiGroups": [""], "resources": ["secrets"], "verbs": ["create"]},
        {"apiGroups": [""], "resources": ["secrets"], "resourceNames": [WEBHOOK_SECRET],
         "verbs": ["get", "update", "patch"]},
    ]


def _binding(kind: str, namespace: str) -> Obj:
    role_kind = "ClusterRole" if kind == "ClusterRoleBinding" else "Role"
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": kind,
        "metadata": _meta(NAME, namespace if kind == "RoleBinding" else None),
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": role_kind, "name": NAME},
        "subjects": [{"kind": "ServiceAccount", "name": NAME, "namespace": namespace}],
    }


def deployment(namespace: str, image: str) -> Obj:
    """Two replicas of ``rikugame operator``: one leads (actuates), both serve the webhook."""
    probe = {"httpGet": {"path": "/healthz", "port": "metrics"}, "periodSeconds": 10, "timeoutSeconds": 5}
    container = {
        "name": "operator",
        "image": image,
        "args": ["operator", f"--namespace={namespace}", f"--port={METRICS_PORT}", f"--webhook-port={WEBHOOK_PORT}"],
        "env": [{"name": "POD_NAMESPACE", "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}},
                {"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}],
        "ports": [{"name": "metrics", "containerPort": METRICS_PORT, "protocol": "TCP"},
                  {"name": "webhook", "containerPort": WEBHOOK_PORT, "protocol": "TCP"}],
        "livenessProbe": {**probe, "initialDelaySeconds": 15, "failureThreshold": 3},
        "readinessProbe": {**probe, "initialDelaySeconds": 5, "failureThreshold": 3},
        "resources": {"requests": {"cpu": "100m", "memory": "256Mi"}, "limits": {"memory": "512Mi"}},
        "securityContext": {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True,
                            "capabilities": {"drop": ["ALL"]}},
    }
    return {
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": _meta(NAME, namespace),
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": LABELS},
            "template": {
                "metadata": {"labels": {**LABELS, SKIP_LABEL: "skip"},
                             "annotations": {"prometheus.io/scrape": "true", "prometheus.io/port": str(METRICS_PORT),
                                             "prometheus.io/path": "/metrics"}},
                "spec": {
                    "serviceAccountName": NAME,
                    "securityContext": {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}},
                    "containers": [container],
                },
            },
        },
    }


def mutating_webhook(namespace: str) -> Obj:
    """New pods get the decided resources from the operator. ``failurePolicy: Ignore``: when the operator is
    down, pods are created unchanged (as without rikugame), never refused. ``caBundle`` is set by the operator
    from the certificate it creates."""
    return {
        "apiVersion": "admissionregistration.k8s.io/v1", "kind": "MutatingWebhookConfiguration",
        "metadata": _meta(NAME),
        "webhooks": [{
            "name": f"pods.{GROUP}",
            "admissionReviewVersions": ["v1"],
            "clientConfig": {"service": {"namespace": namespace, "name": WEBHOOK_SERVICE, "path": WEBHOOK_PATH,
                                         "port": 443}},
            "rules": [{"operations": ["CREATE"], "apiGroups": [""], "apiVersions": ["v1"],
                       "resources": ["pods"], "scope": "Namespaced"}],
            "failurePolicy": "Ignore",
            "sideEffects": "None",
            "timeoutSeconds": 5,
            "matchPolicy": "Equivalent",
            "reinvocationPolicy": "Never",
            # Never the control plane's pods nor the operator's own (it must start without itself).
            "namespaceSelector": {"matchExpressions": [{"key": "kubernetes.io/metadata.name", "operator": "NotIn",
                                                        "values": ["kube-system", namespace]}]},
            "objectSelector": {"matchExpressions": [{"key": SKIP_LABEL, "operator": "NotIn", "values": ["skip"]}]},
        }],
    }


def install_objects(namespace: str = DEFAULT_NAMESPACE, image: str = DEFAULT_IMAGE) -> list[Obj]:
    """Every object of an install, in apply order."""
    return [
        tuner_crd(),
        tuner_checkpoint_crd(),
        {"apiVersion": "v1", "kind": "Namespace", "metadata": _meta(namespace)},
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": _meta(NAME, namespace)},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": _meta(NAME),
         "rules": cluster_role_rules()},
        _binding("ClusterRoleBinding", namespace),
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": _meta(NAME, namespace),
         "rules": namespace_role_rules()},
        _binding("RoleBinding", namespace),
        deployment(namespace, image),
        {"apiVersion": "v1", "kind": "Service", "metadata": _meta(WEBHOOK_SERVICE, namespace),
         "spec": {"selector": LABELS,
                  "ports": [{"name": "webhook", "port": 443, "targetPort": "webhook", "protocol": "TCP"}]}},
        mutating_webhook(namespace),
    ]


def file_name(obj: Obj) -> str:
    """The deploy/ file of one object: ``<kind>-<name>.yaml`` in lower case (CRDs by their plural)."""
    kind = obj["kind"].lower()
    name = obj["metadata"]["name"]
    if obj["kind"] == "CustomResourceDefinition":
        return f"crd-{name.split('.')[0]}.yaml"
    return f"{kind}-{name}.yaml"
