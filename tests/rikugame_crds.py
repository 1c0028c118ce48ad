"""The generated Tuner and TunerCheckpoint CRDs, installed once per session with kubectl (api and e2e tiers)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from kubeharness.cluster import Cluster
from kubeharness.kubectl import kubectl
from rikugame.manifests.crds import tuner_checkpoint_crd, tuner_crd
from rikugame.manifests.render import to_yaml

TUNERS_API = "/apis/rikugame.dev/v1alpha1"


def _established(cluster: Cluster, name: str) -> bool:
    crd = cluster.kube.get(f"/apis/apiextensions.k8s.io/v1/customresourcedefinitions/{name}")
    return any(c.get("type") == "Established" and c.get("status") == "True"
               for c in (crd.get("status") or {}).get("conditions") or [])


@pytest.fixture(scope="session")
def crds(k8s_cluster: Cluster, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The generated CRDs, applied with kubectl from `rikugame manifests` YAML and Established."""
    path = tmp_path_factory.mktemp("crds") / "crds.yaml"
    path.write_text(to_yaml([tuner_crd(), tuner_checkpoint_crd()]))
    kubectl(k8s_cluster, "apply", "--server-side", "-f", str(path))
    # Established, read from the API (kubectl wait fails, instead of waiting, on a CRD whose status has no
    # conditions yet: "accessor error: <nil>"); then discovery of the new group, which can lag a moment.
    deadline = time.monotonic() + 30
    for name in ("tuners.rikugame.dev", "tunercheckpoints.rikugame.dev"):
        while not _established(k8s_cluster, name):
            if time.monotonic() > deadline:
                raise TimeoutError(f"CRD {name} not Established after 30 s")
            time.sleep(0.2)
    while True:
        try:
            k8s_cluster.kube.get(f"{TUNERS_API}/tuners")
            break
        except httpx.HTTPStatusError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)
    yield path
