"""The right-sizing report as plain data: one row per workload container, and what produced it.

Built by ``commands.recommend_pipeline`` (Prometheus history → the decision core); rendered by
``report.formats`` (table, JSON, YAML, CSV, HTML).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

GIB = 2**30
MIB = 2**20
HOURS_PER_MONTH = 730.0
DEFAULT_CPU_PRICE = 0.0316
"""USD per core-hour: ≈ the vCPU share of a general-purpose on-demand cloud VM (an m5.large's $0.096/h
split as 2 × $0.0316 per vCPU + 8 × $0.0042 per GiB)."""
DEFAULT_MEMORY_PRICE = 0.0042
"""USD per GiB-hour (same split)."""

SEVERITIES = ("UNKNOWN", "GOOD", "OK", "WARNING", "CRITICAL")
CPU_SEVERITY_CORES = (0.1, 0.25, 0.5)
"""|change| thresholds for OK / WARNING / CRITICAL (KRR's defaults)."""
MEMORY_SEVERITY_BYTES = (100 * MIB, 250 * MIB, 500 * MIB)


@dataclass(frozen=True)
class ReportRow:
    """One workload container."""

    cluster: str
    namespace: str
    kind: str
    workload: str
    container: str
    pods: int
    cpu_request: int
    """Millicores now (-1 = none); the same convention for every current/recommended value."""
    cpu_request_recommended: int
    cpu_limit: int
    cpu_limit_recommended: int
    memory_request: int
    memory_request_recommended: int
    memory_limit: int
    memory_limit_recommended: int
    sufficient: bool
    history_seconds: float
    severity: str
    monthly_saving: float
    cpu_reasons: list[str]
    memory_reasons: list[str]
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """Plain data (for JSON/YAML/CSV)."""
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


@dataclass
class Report:
    """The whole report with what produced it."""

    rows: list[ReportRow]
    recommender: str
    end: int
    history_seconds: int
    step_seconds: int
    cpu_explanation: str
    memory_explanation: str
    cpu_price: float
    memory_price: float
    queries: int = 0
    response_bytes: int = 0
    elapsed_seconds: float = 0.0
    path: str = ""
    """``summary`` (window statistics computed by Prometheus) or ``samples`` (every sample streamed)."""
    stage_seconds: dict[str, float] = field(default_factory=dict)
    """Wall time of discovery, usage queries and the decision core."""
    trace_samples: int | None = None
    """Samples written by ``--export-trace`` (None: no trace exported)."""

    def total_saving(self) -> float:
        """Monthly saving over all rows with a recommendation."""
        return float(sum(r.monthly_saving for r in self.rows if r.sufficient))
