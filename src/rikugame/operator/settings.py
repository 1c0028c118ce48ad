"""The operator's own settings (flags of ``rikugame operator``), one place for their defaults."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class OperatorSettings:
    """How often the operator reads, decides, writes, and when it stops acting."""

    metrics_interval_seconds: int = 60
    """One metrics.k8s.io list (all pods) per interval, then one decision pass over every Tuner."""
    checkpoint_interval_seconds: int = 3600
    """How often each Tuner's state is written to its TunerCheckpoint: a crash loses at most this much
    history (a graceful stop or handover writes every checkpoint first); one write per Tuner per hour."""
    emergency_after_seconds: int = 300
    """Without metrics for a Tuner's pods this long, it behaves as Emergency (nothing shrinks)."""
    resize_deadline_seconds: int = 300
    """An in-place resize not done this long after it was sent counts as failed (status ``resizes``)."""
    backfills_per_cycle: int = 5
    """With a history source (``--prometheus``): at most this many new Tuners read their past per cycle
    (the others wait a cycle, so a restart of a large install does not stall a cycle)."""
    kill_switch: bool = False
    """``--kill-switch``: decide and publish, never act."""
    kill_switch_configmap: str = "rikugame-kill-switch"
    """ConfigMap (in ``namespace``) whose key ``killSwitch: "true"`` stops all actuation, read every cycle."""
    watch_namespaces: tuple[str, ...] = ()
    """Only Tuners of these namespaces (empty: every namespace)."""
    namespace: str = "rikugame-system"
    """The operator's own namespace (kill-switch ConfigMap, Lease)."""
    checkpoint_budget_seconds: float = 10.0
    """Time budget per cycle for checkpoint writes; the rest wait for the next cycle."""
    webhook_port: int | None = 8443
    """HTTPS port of the mutating webhook (None: no webhook)."""
    webhook_url: str | None = None
    """Reach the webhook at this URL (out of cluster, tests) instead of the Service ``webhook_service``."""
    webhook_service: str = "rikugame-webhook"
    """The Service (in ``namespace``) in front of the operator's webhook port."""
    webhook_configuration: str = "rikugame"
    """Name of the MutatingWebhookConfiguration the operator keeps (caBundle included)."""
