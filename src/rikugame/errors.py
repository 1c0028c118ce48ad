"""The error hierarchy of rikugame.

RikugameError
├── ConfigError        invalid settings or policy given by the user
├── InputError         unusable input data (trace file, flags)
└── AdapterError       a failure talking to an outside system
    ├── KubeAPIError
    │   ├── ResizeRefused
    │   └── FieldConflict
    └── PrometheusError

Errors are chained with ``raise … from`` so the cause is never lost. Missing data is not an error:
the core returns a result that carries the reason.
"""


class RikugameError(Exception):
    """Base class of every error rikugame raises on purpose."""


class ConfigError(RikugameError):
    """Settings or a Tuner policy are invalid."""


class InputError(RikugameError):
    """Input data (a trace, a flag value) cannot be used."""


class AdapterError(RikugameError):
    """An outside system (Kubernetes, Prometheus) failed or answered something unusable."""


class KubeAPIError(AdapterError):
    """The Kubernetes API failed or refused a request."""


class PrometheusError(AdapterError):
    """Prometheus failed, refused a query, or is unreachable."""


class ResizeRefused(KubeAPIError):
    """The API server refused an in-place resize (e.g. 422: it would change the pod's QoS class)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"{status}: {message}")
        self.status = status
        self.message = message


class FieldConflict(KubeAPIError):
    """A server-side apply met fields another field manager owns (e.g. GitOps); not overwritten."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def one_line(exc: BaseException) -> str:
    """An exception's message on a single line."""
    return " ".join(str(exc).split())
