"""PromQL building blocks for kube-state-metrics and cAdvisor queries (pure string helpers and the scope)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

CONTAINER_FILTER = 'container!="",container!="POD"'


@dataclass(frozen=True)
class Scope:
    """Which part of the (possibly multi-cluster) Prometheus to read."""

    namespaces: tuple[str, ...] = ()
    """Namespaces to read (empty = all)."""
    pod_selector: tuple[tuple[str, str, str], ...] = ()
    """Pod label matchers (label, op, value) read from ``kube_pod_labels`` (op ``=`` or ``!=``)."""
    cluster_label: str | None = None
    cluster: str | None = None

    def matchers(self, *, namespace_label: str = "namespace") -> list[str]:
        """PromQL matchers for the cluster and namespace scope."""
        out: list[str] = []
        if self.cluster_label and self.cluster is not None:
            out.append(f'{self.cluster_label}="{escape(self.cluster)}"')
        if self.namespaces:
            out.append(f'{namespace_label}=~"{alternation(self.namespaces)}"')
        return out

    def group_labels(self) -> str:
        """Extra ``by`` labels so series from different clusters never merge."""
        return f"{self.cluster_label}, " if self.cluster_label else ""


def escape(value: str) -> str:
    """A string as the inside of a PromQL double-quoted literal."""
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def alternation(values: Iterable[str]) -> str:
    """A regex matching exactly these values (RE2 metacharacters escaped), for ``label=~"…"``."""
    return escape("|".join(re.sub(r"([\\.^$|?*+()\[\]{}])", r"\\\1", v) for v in sorted(set(values))))


def selector(metric: str, *matchers: str) -> str:
    """``metric{m1,m2,…}``."""
    inner = ",".join(m for m in matchers if m)
    return f"{metric}{{{inner}}}"


def duration(seconds: int) -> str:
    """Seconds as a PromQL duration (``14d``, ``90m``, ``45s``)."""
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % size == 0 and seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


# ----------------------------------------------------------------------------------------------- workloads


