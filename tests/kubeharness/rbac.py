"""Non-admin identities: a ServiceAccount bound to a ClusterRole, with a short-lived token."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .cluster import Cluster
from .kubeconfig import write_kubeconfig


def service_account_kubeconfig(
    cluster: Cluster,
    namespace: str,
    name: str,
    cluster_role: str,
    *,
    rules: list[dict[str, Any]] | None = None,
    cluster_wide: bool = False,
) -> Path:
    """Create ServiceAccount `name`, bind it to `cluster_role` and return a kubeconfig using its token.

    With `rules` the ClusterRole is created (or replaced) first. The binding is a RoleBinding in
    `namespace` unless `cluster_wide`, then a ClusterRoleBinding. The token comes from the TokenRequest
    API, so this works without the controller-manager.
    """
    kube = cluster.kube
    kube.create(f"/api/v1/namespaces/{namespace}/serviceaccounts",
                {"metadata": {"name": name}}, exist_ok=True)
    if rules is not None:
        kube.apply(f"/apis/rbac.authorization.k8s.io/v1/clusterroles/{cluster_role}", {
            "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
            "metadata": {"name": cluster_role}, "rules": rules,
        })
    binding = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": cluster_role},
        "subjects": [{"kind": "ServiceAccount", "name": name, "namespace": namespace}],
    }
    if cluster_wide:
        binding_name = f"{namespace}-{name}"
        kube.apply(f"/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/{binding_name}",
                   {**binding, "kind": "ClusterRoleBinding", "metadata": {"name": binding_name}})
    else:
        kube.apply(f"/apis/rbac.authorization.k8s.io/v1/namespaces/{namespace}/rolebindings/{name}",
                   {**binding, "kind": "RoleBinding", "metadata": {"name": name, "namespace": namespace}})
    token = kube.request(
        "POST", f"/api/v1/namespaces/{namespace}/serviceaccounts/{name}/token",
        {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest",
         "spec": {"expirationSeconds": 3600}},
    )["status"]["token"]
    path = cluster.work_dir / f"sa-{namespace}-{name}.kubeconfig"
    return write_kubeconfig(path, cluster.server, cluster.ca, token=token)
