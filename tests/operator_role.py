"""The operator's identity in the api and e2e tiers: `rikugame manifests`' RBAC applied with kubectl exactly as
generated in a fresh namespace, and a token of its ServiceAccount (anything the role lacks fails as in a
cluster)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import Path

from kubeharness.cluster import Cluster
from kubeharness.kubeconfig import write_kubeconfig
from kubeharness.kubectl import kubectl
from rikugame.manifests.install import NAME, install_objects
from rikugame.manifests.render import to_yaml

RBAC_KINDS = {"Namespace", "ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding"}


@dataclass
class OperatorRole:
    """The operator's namespace, its ServiceAccount token, a kubeconfig carrying it, and the applied RBAC."""

    namespace: str
    token: str
    kubeconfig: Path
    rbac_file: Path


def apply_operator_role(cluster: Cluster, tmp_path: Path, *, expiration_seconds: int = 3600) -> OperatorRole:
    """Apply the generated RBAC in a fresh operator namespace; a token (and kubeconfig) of its ServiceAccount."""
    op_ns = f"op-{uuid.uuid4().hex[:8]}"
    rbac = [o for o in install_objects(namespace=op_ns) if o["kind"] in RBAC_KINDS]
    rbac_file = tmp_path / "rbac.yaml"
    rbac_file.write_text(to_yaml(rbac))
    kubectl(cluster, "apply", "-f", str(rbac_file))
    token = cluster.kube.request(
        "POST", f"/api/v1/namespaces/{op_ns}/serviceaccounts/{NAME}/token",
        {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest",
         "spec": {"expirationSeconds": expiration_seconds}},
    )["status"]["token"]
    kubeconfig = write_kubeconfig(tmp_path / "operator.kubeconfig", cluster.server, cluster.ca, token=token)
    return OperatorRole(op_ns, token, kubeconfig, rbac_file)
