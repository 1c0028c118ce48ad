"""The generated RBAC is enough for every operator verb and no more: checked as the generated ServiceAccount.

The ServiceAccount, ClusterRole, Role and bindings come from `rikugame manifests` (applied with kubectl), in an
operator namespace of the test's own; the client authenticates with a TokenRequest token of that account.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from kubeharness.cluster import Cluster
from kubeharness.kubectl import kubectl
from kubeharness.kubehttp import KubeHttp
from operator_role import apply_operator_role
from rikugame.manifests.install import (
    KILL_SWITCH_CONFIGMAP,
    LEASE,
    NAME,
    WEBHOOK_SECRET,
    cluster_role_rules,
    mutating_webhook,
    namespace_role_rules,
)

pytestmark = pytest.mark.api

API = "/apis/rikugame.dev/v1alpha1"


@pytest.fixture
def operator_client(k8s_cluster: Cluster, tmp_path: Any) -> Iterator[tuple[KubeHttp, str]]:
    """(a client authenticated as the generated ServiceAccount, its operator namespace)."""
    role = apply_operator_role(k8s_cluster, tmp_path, expiration_seconds=600)
    client = KubeHttp(k8s_cluster.server, k8s_cluster.ca, token=role.token)
    yield client, role.namespace
    client.close()
    kubectl(k8s_cluster, "delete", "--wait=false", "-f", str(role.rbac_file))


# What the operator does, written out independently of the generated rules: (verb, group, resource[/sub],
# where: "any" = a workload namespace, "own" = the operator's namespace, "" = cluster scope; name).
OPERATOR_NEEDS = [
    *((v, "rikugame.dev", "tuners", "any", "") for v in ("get", "list", "watch")),
    *((v, "rikugame.dev", "tuners/status", "any", "") for v in ("patch", "update")),
    *((v, "rikugame.dev", "tunercheckpoints", "any", "") for v in ("get", "list", "watch", "create", "update",
                                                                   "patch")),
    *((v, "", "pods", "any", "") for v in ("get", "list", "watch")),
    ("patch", "", "pods/resize", "any", ""),
    *((v, "apps", kind, "any", "") for kind in ("deployments", "statefulsets", "daemonsets", "replicasets")
      for v in ("get", "list", "watch")),
    *(("patch", "apps", kind, "any", "") for kind in ("deployments", "statefulsets", "daemonsets")),
    ("get", "apps", "deployments/scale", "any", ""), ("get", "apps", "statefulsets/scale", "any", ""),
    *((v, "autoscaling", "horizontalpodautoscalers", "any", "") for v in ("get", "list", "watch", "create",
                                                                         "patch")),
    ("get", "metrics.k8s.io", "pods", "any", ""), ("list", "metrics.k8s.io", "pods", "any", ""),
    *((v, g, "events", "any", "") for v in ("create", "patch") for g in ("", "events.k8s.io")),
    ("get", "admissionregistration.k8s.io", "mutatingwebhookconfigurations", "", NAME),
    ("patch", "admissionregistration.k8s.io", "mutatingwebhookconfigurations", "", NAME),
    *((v, "coordination.k8s.io", "leases", "own", "") for v in ("get", "create", "update")),
    *((v, "", "configmaps", "own", "") for v in ("get", "list", "watch")),
    ("create", "", "secrets", "own", ""),
    *((v, "", "secrets", "own", WEBHOOK_SECRET) for v in ("get", "update", "patch")),
]


def _allowed(client: KubeHttp, attributes: dict[str, Any]) -> bool:
    review = client.request("POST", "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", {
        "apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview",
        "spec": {"resourceAttributes": attributes}})
    return bool(review["status"]["allowed"])


def _attributes(rule: dict[str, Any], verb: str, namespace: str) -> Iterator[dict[str, Any]]:
    for group in rule["apiGroups"]:
        for resource in rule["resources"]:
            name, _, sub = resource.partition("/")
            for res_name in rule.get("resourceNames", [""]):
                yield {"group": group, "resource": name, "subresource": sub, "verb": verb, "namespace": namespace,
                       "name": res_name}


def _status(call: Any) -> int:
    try:
        call()
    except httpx.HTTPStatusError as exc:
        return exc.response.status_code
    return 200


def test_generated_service_account_may_use_every_operator_verb_and_nothing_else(
        k8s_cluster: Cluster, namespace: str, crds: Any, operator_client: tuple[KubeHttp, str]) -> None:
    client, op_ns = operator_client
    # Each need, asked as the account itself.
    where = {"any": namespace, "own": op_ns, "": ""}
    for verb, group, resource, scope, name in OPERATOR_NEEDS:
        res, _, sub = resource.partition("/")
        attrs = {"verb": verb, "group": group, "resource": res, "subresource": sub, "namespace": where[scope],
                 "name": name}
        assert _allowed(client, attrs), f"the generated RBAC does not allow {attrs}"
    # ... and nothing beyond them: every (verb, group, resource) the generated rules grant is a need.
    needed = {(v, g, r) for v, g, r, _, _ in OPERATOR_NEEDS}
    granted = {(verb, a["group"], f"{a['resource']}/{a['subresource']}".rstrip("/"))
               for rule in [*cluster_role_rules(), *namespace_role_rules()] for verb in rule["verbs"]
               for a in _attributes(rule, verb, "")}
    assert granted == needed, f"granted but not needed: {granted - needed}; needed, not granted: {needed - granted}"

    # Real requests an operator makes.
    admin = k8s_cluster.kube
    admin.create(f"{API}/namespaces/{namespace}/tuners", {
        "apiVersion": "rikugame.dev/v1alpha1", "kind": "Tuner", "metadata": {"name": "web"},
        "spec": {"targetRef": {"name": "web"}}})
    assert client.get(f"{API}/tuners")["items"], "lists Tuners in every namespace"
    client.request("PATCH", f"{API}/namespaces/{namespace}/tuners/web/status", {"status": {"phase": "Gathering"}},
                   content_type="application/merge-patch+json")
    client.request("PATCH", f"{API}/namespaces/{namespace}/tunercheckpoints/web", {
        "apiVersion": "rikugame.dev/v1alpha1", "kind": "TunerCheckpoint", "metadata": {"name": "web"},
        "spec": {"tunerRef": {"name": "web"}, "version": 1, "data": "{}"}},
        content_type="application/apply-patch+yaml", params={"fieldManager": "rikugame"})
    client.get("/api/v1/pods")
    client.get("/apis/apps/v1/deployments")
    client.get("/apis/apps/v1/replicasets")
    client.get("/apis/autoscaling/v2/horizontalpodautoscalers")
    client.create(f"/apis/coordination.k8s.io/v1/namespaces/{op_ns}/leases", {
        "apiVersion": "coordination.k8s.io/v1", "kind": "Lease", "metadata": {"name": LEASE},
        "spec": {"holderIdentity": "operator-0", "leaseDurationSeconds": 15}})
    assert _status(lambda: client.get(f"/api/v1/namespaces/{op_ns}/configmaps/{KILL_SWITCH_CONFIGMAP}")) == 404
    client.create(f"/api/v1/namespaces/{op_ns}/secrets", {"metadata": {"name": WEBHOOK_SECRET},
                                                          "type": "kubernetes.io/tls",
                                                          "data": {"tls.crt": "", "tls.key": ""}})
    assert client.get(f"/api/v1/namespaces/{op_ns}/secrets/{WEBHOOK_SECRET}")["metadata"]["name"] == WEBHOOK_SECRET

    # What it must not do: each refused with 403.
    pod = {"metadata": {"name": "p"}, "spec": {"containers": [{"name": "c", "image": "x"}]}}
    admin.create(f"/api/v1/namespaces/{namespace}/pods", pod)
    refused = {
        "delete a pod": lambda: client.request("DELETE", f"/api/v1/namespaces/{namespace}/pods/p"),
        "patch a pod's spec": lambda: client.request(
            "PATCH", f"/api/v1/namespaces/{namespace}/pods/p", {"metadata": {"labels": {"x": "y"}}},
            content_type="application/merge-patch+json"),
        "change a Tuner's spec": lambda: client.request(
            "PATCH", f"{API}/namespaces/{namespace}/tuners/web", {"spec": {"mode": "Auto"}},
            content_type="application/merge-patch+json"),
        "delete a Tuner": lambda: client.request("DELETE", f"{API}/namespaces/{namespace}/tuners/web"),
        "read secrets of a workload namespace": lambda: client.get(f"/api/v1/namespaces/{namespace}/secrets"),
        "list secrets of its own namespace": lambda: client.get(f"/api/v1/namespaces/{op_ns}/secrets"),
        "take a lease elsewhere": lambda: client.create(
            f"/apis/coordination.k8s.io/v1/namespaces/{namespace}/leases",
            {"metadata": {"name": LEASE}, "spec": {"holderIdentity": "x"}}),
        "read configmaps elsewhere": lambda: client.get(f"/api/v1/namespaces/{namespace}/configmaps"),
        "patch another webhook configuration": lambda: client.request(
            "PATCH", "/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/other",
            {"metadata": {"labels": {"x": "y"}}}, content_type="application/merge-patch+json"),
        "delete an HPA": lambda: client.request(
            "DELETE", f"/apis/autoscaling/v2/namespaces/{namespace}/horizontalpodautoscalers/web"),
        "create a ClusterRoleBinding": lambda: client.create(
            "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings",
            {"metadata": {"name": "x"}, "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                                                    "name": "cluster-admin"}, "subjects": []}),
    }
    codes = {what: _status(call) for what, call in refused.items()}
    assert codes == dict.fromkeys(refused, 403)

    # Its own webhook configuration: deploy/ creates it (creating is not granted), the operator server-side
    # applies it (caBundle, clientConfig) under its field manager.
    hook = mutating_webhook(op_ns)
    hook_path = f"/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/{NAME}"
    apply = {"content_type": "application/apply-patch+yaml", "params": {"fieldManager": "rikugame", "force": "true"}}
    assert _status(lambda: client.request("PATCH", hook_path, hook, **apply)) == 403, "creating it is not granted"
    admin.request("PATCH", hook_path, hook, content_type="application/apply-patch+yaml",
                  params={"fieldManager": "kubectl"})
    try:
        ca = {**hook["webhooks"][0], "clientConfig": {**hook["webhooks"][0]["clientConfig"], "caBundle": "Y2E="}}
        client.request("PATCH", hook_path, {**hook, "webhooks": [ca]}, **apply)
        assert client.get(hook_path)["webhooks"][0]["clientConfig"]["caBundle"] == "Y2E="
    finally:
        admin.delete(hook_path)
