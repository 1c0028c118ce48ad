"""What the operator needs from a cluster, as a Protocol (the real one is ``cluster.kube_access``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

import numpy as np
from numpy.typing import NDArray

from rikugame.errors import FieldConflict, ResizeRefused

__all__ = ["ClusterAccess", "ContainerHistory", "FieldConflict", "HistorySource", "LeaderElection",
           "ResizeRefused"]


class ContainerHistory(Protocol):
    """One container's past samples (all its pods) and OOM kills."""

    timestamps: NDArray[np.int64]
    cpu_cores: NDArray[np.float64]
    memory_bytes: NDArray[np.float64]
    oom_timestamps: NDArray[np.int64]
    oom_memory_bytes: NDArray[np.float64]


class HistorySource(Protocol):
    """Where a new Tuner's past usage comes from (``--prometheus``: ``sources.history.PrometheusHistory``)."""

    history_seconds: int

    async def workload_history(self, namespace: str, kind: str, name: str,
                               end: int) -> Mapping[str, ContainerHistory]:
        """Per container name, the workload's usage over ``history_seconds`` before ``end``."""


class LeaderElection(Protocol):
    """A lock only one replica holds at a time (a coordination.k8s.io Lease)."""

    duration_seconds: int

    async def acquire_or_renew(self) -> bool:
        """True when this replica holds the lock after the call."""

    async def release(self) -> None:
        """Give the lock up now."""


class ClusterAccess(Protocol):
    """Reads are one list per kind per cycle (never per Tuner); writes name one object."""

    async def list_tuners(self) -> list[dict[str, Any]]:
        """Every Tuner in the cluster."""

    async def list_pods(self) -> list[dict[str, Any]]:
        """Every pod in the cluster."""

    async def replicaset_owners(self) -> dict[tuple[str, str], tuple[str, str]]:
        """(namespace, ReplicaSet) → (kind, name) of its controller."""

    async def replicaset_owner(self, namespace: str, name: str) -> tuple[str, str] | None:
        """(kind, name) of one ReplicaSet's controller (the webhook's lookup of a ReplicaSet made since the
        last cycle's list, e.g. by a rollout)."""

    async def list_pod_metrics(self) -> list[dict[str, Any]] | None:
        """Every PodMetrics of metrics.k8s.io (None when the metrics API does not answer)."""

    async def list_workloads(self) -> dict[tuple[str, str, str], dict[str, Any]]:
        """Every Deployment, StatefulSet and DaemonSet, by (namespace, kind, name)."""

    async def read_checkpoint(self, namespace: str, name: str) -> dict[str, Any] | None:
        """The TunerCheckpoint object of Tuner ``name`` (None when there is none)."""

    async def write_checkpoint(self, namespace: str, name: str, owner: dict[str, Any], data: str) -> None:
        """Create or replace the TunerCheckpoint of Tuner ``name`` (owned by the Tuner)."""

    async def patch_tuner_status(self, namespace: str, name: str, status: dict[str, Any]) -> None:
        """Merge ``status`` into the Tuner's status subresource."""

    async def resize_pod(self, namespace: str, name: str, patch: dict[str, Any]) -> int:
        """Patch ``pods/resize``: the pod's new ``metadata.generation``; ResizeRefused when the API server
        refuses."""

    async def restart_workload(self, namespace: str, kind: str, name: str, stamp: str) -> None:
        """A rolling restart: set the pod template annotation ``rikugame.dev/restartedAt`` to ``stamp``."""

    async def emit_event(self, involved: dict[str, Any], reason: str, message: str, type_: str = "Normal") -> None:
        """A Kubernetes Event about ``involved`` (best effort)."""

    async def list_hpas(self) -> list[dict[str, Any]]:
        """Every autoscaling/v2 HPA."""

    async def apply_hpa(self, namespace: str, name: str, body: dict[str, Any]) -> None:
        """Server-side apply ``body`` as field manager rikugame, never forced; FieldConflict on a conflict."""

    async def apply_webhook_configuration(self, body: dict[str, Any]) -> None:
        """Server-side apply rikugame's own MutatingWebhookConfiguration (forced: rikugame owns it)."""

    async def kill_switch(self, namespace: str, name: str) -> bool:
        """Whether ConfigMap ``namespace/name`` holds ``killSwitch: "true"``."""
