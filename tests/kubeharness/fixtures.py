"""pytest fixtures for the `api` and `e2e` tiers (registered from tests/conftest.py).

Everything is lazy: nothing is built or started until a test asks for a cluster fixture. When the
binaries cannot be built, tests fail with the build error if CI=true, and skip with it otherwise.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Generator, Iterator
from typing import TYPE_CHECKING, Any, NoReturn

import pytest
import pytest_asyncio

if TYPE_CHECKING:
    from kubernetes_asyncio.client import ApiClient

    from .cluster import Cluster

_CLUSTER = pytest.StashKey["Cluster"]()
_FAILED = pytest.StashKey[bool]()


def _unavailable(reason: str) -> NoReturn:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(reason, pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def k8s_cluster(request: pytest.FixtureRequest) -> Iterator[Cluster]:
    """etcd + kube-apiserver for the whole session (the api tier). The e2e tier extends the same one."""
    from .binaries import binaries_dir
    from .cluster import Cluster
    from .errors import BinariesUnavailable, HarnessError

    try:
        bin_dir = binaries_dir()
    except BinariesUnavailable as exc:
        _unavailable(f"Kubernetes test binaries unavailable: {exc}")
    cluster = Cluster(bin_dir)
    request.config.stash[_CLUSTER] = cluster
    try:
        cluster.start_api()
    except HarnessError as exc:
        cluster.stop(keep_logs=True)
        pytest.fail(f"control plane did not start: {exc}\nlogs: {cluster.log_dir}", pytrace=False)
    yield cluster
    failed = request.config.stash.get(_FAILED, False)
    cluster.stop(keep_logs=failed)
    if failed:
        print(f"\nkube logs kept in {cluster.log_dir}")


@pytest.fixture(scope="session")
def e2e_cluster(k8s_cluster: Cluster) -> Cluster:
    """The api-tier cluster plus controller-manager, scheduler, kwok nodes and metrics-server."""
    from .errors import HarnessError

    try:
        k8s_cluster.start_e2e()
    except HarnessError as exc:
        pytest.fail(f"e2e components did not start: {exc}\n{k8s_cluster.log_tails()}", pytrace=False)
    return k8s_cluster


@pytest.fixture
def namespace(k8s_cluster: Cluster) -> Iterator[str]:
    """A fresh namespace for one test, deleted afterwards (without waiting)."""
    name = f"t-{uuid.uuid4().hex[:10]}"
    k8s_cluster.kube.create("/api/v1/namespaces", {"metadata": {"name": name}})
    yield name
    k8s_cluster.kube.delete(f"/api/v1/namespaces/{name}")


@pytest_asyncio.fixture(loop_scope="function")
async def kube_api(k8s_cluster: Cluster) -> AsyncIterator[ApiClient]:
    """An admin kubernetes_asyncio ApiClient (client certificate in system:masters)."""
    from kubernetes_asyncio.config import new_client_from_config

    client = await new_client_from_config(config_file=str(k8s_cluster.kubeconfig))
    async with client:
        yield client


@pytest_asyncio.fixture(loop_scope="function")
async def sa_client(
    k8s_cluster: Cluster, namespace: str
) -> AsyncIterator[Callable[..., Awaitable[ApiClient]]]:
    """Factory for non-admin clients: `await sa_client(name, cluster_role, rules=..., cluster_wide=...)`.

    Each client authenticates as ServiceAccount `name` in the test's namespace, bound to `cluster_role`.
    """
    from kubernetes_asyncio.config import new_client_from_config

    from .rbac import service_account_kubeconfig

    clients: list[ApiClient] = []

    async def make(name: str, cluster_role: str, **kwargs: Any) -> ApiClient:
        path = service_account_kubeconfig(k8s_cluster, namespace, name, cluster_role, **kwargs)
        client = await new_client_from_config(config_file=str(path))
        clients.append(client)
        return client

    yield make
    for client in clients:
        await client.close()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Attach the control-plane log tails to the report of a failing test that used the cluster."""
    report: pytest.TestReport = yield
    cluster = item.config.stash.get(_CLUSTER, None)
    if report.failed and cluster is not None and "k8s_cluster" in getattr(item, "fixturenames", ()):
        item.config.stash[_FAILED] = True
        report.sections.append(("kube logs (tails)", cluster.log_tails()))
    return report
