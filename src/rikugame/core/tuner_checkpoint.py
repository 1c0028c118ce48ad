"""The spec of a ``TunerCheckpoint`` object: one Tuner's ``WorkloadTuning`` checkpoint, kept in the cluster.

``data`` is the checkpoint as one compact JSON **string**, not a nested object, on purpose:

- exact: the API server decodes a nested object's numbers into Go int64 / float64 and writes them back, so
  ``3.0`` may come back as ``3``; inside a string every byte comes back as written, and
  ``WorkloadTuning.from_checkpoint`` restores bit-for-bit;
- cheap to store and apply: server-side apply tracks one field (``spec.data``) in ``managedFields`` instead of
  every leaf of a ~30 KB tree, and the API server validates one string instead of walking the tree;
- versioned by ``version`` (the checkpoint's own ``version``), so a reader can refuse what it cannot read
  before parsing.

The CRD caps ``data`` at :data:`MAX_DATA_CHARS` (etcd's default request limit is 1.5 MiB).
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from rikugame.core import checkpoints

MAX_DATA_CHARS = 1_048_576


class _Model(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True)


class TunerRef(_Model):
    """The Tuner this checkpoint belongs to (same namespace)."""

    name: str = Field(min_length=1, description="Name of the Tuner.")


class TunerCheckpointSpec(_Model):
    """One Tuner's WorkloadTuning state."""

    tuner_ref: TunerRef = Field(description="The Tuner this checkpoint belongs to.")
    version: int = Field(ge=1, description="Format version of data (the checkpoint's own version field).")
    data: str = Field(min_length=2, max_length=MAX_DATA_CHARS,
                      description="The WorkloadTuning checkpoint as one compact JSON string (opaque to the API "
                                  "server, so it comes back byte for byte).")

    def checkpoint(self) -> dict[str, Any]:
        """The checkpoint dict (ValueError when data is not a JSON object)."""
        parsed = json.loads(self.data)
        if not isinstance(parsed, dict):
            raise ValueError("TunerCheckpoint data must hold a JSON object")
        return parsed


def checkpoint_spec(tuner_name: str, checkpoint: dict[str, Any]) -> TunerCheckpointSpec:
    """The spec holding ``checkpoint`` (a ``to_checkpoint()`` dict) for Tuner ``tuner_name``."""
    data = json.dumps(checkpoint, separators=(",", ":"), allow_nan=False)
    return TunerCheckpointSpec(tuner_ref=TunerRef(name=tuner_name),
                               version=int(checkpoint.get("version", checkpoints.FORMAT_VERSION)), data=data)
