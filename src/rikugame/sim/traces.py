"""The trace type the simulator replays; reading trace files is a source (``rikugame.sources.traces``)."""

from rikugame.usage_trace import Trace

__all__ = ["Trace"]
