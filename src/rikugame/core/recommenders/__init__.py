"""Recommenders: pure algorithms from a usage history to container sizes, selectable by name.

A recommender is created for a batch of ``rows`` containers, ingests samples with ``observe`` (and OOM
events with ``record_oom``), and answers ``estimate(now)`` with per-row targets. It never reads the clock:
``now`` is an argument. New recommenders register with :func:`register` and need no change elsewhere.
"""

from __future__ import annotations

from rikugame.core.recommenders.base import (
    Coverage,
    Estimates,
    Recommender,
    create,
    names,
    register,
)

# Importing the modules registers their recommenders.
from rikugame.core.recommenders import krr, rikugame_default, vpa, window  # noqa: F401  isort: skip

__all__ = ["Coverage", "Estimates", "Recommender", "create", "names", "register"]
