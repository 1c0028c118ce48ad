"""The CustomResourceDefinitions ``tuners.rikugame.dev`` and ``tunercheckpoints.rikugame.dev``, generated from
the pydantic models (``TunerSpec``, ``TunerStatus``, ``TunerCheckpointSpec``); never written by hand."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from rikugame.core.policy import TunerSpec
from rikugame.core.tuner_checkpoint import TunerCheckpointSpec
from rikugame.core.tuner_status import TunerStatus
from rikugame.manifests import cel
from rikugame.manifests.schema import Schema, structural

GROUP = "rikugame.dev"
VERSION = "v1alpha1"


def model_schema(model: type[BaseModel], *, keep_defaults: bool = True) -> Schema:
    """The structural schema of ``model``, with its CEL rules."""
    raw = model.model_json_schema(by_alias=True, mode="validation")
    return structural(raw, rules_for=cel.rules_for, root_name=model.__name__, keep_defaults=keep_defaults)


def _crd(plural: str, kind: str, short_names: list[str], schema: Schema, *, status: bool,
         columns: list[dict[str, Any]]) -> dict[str, Any]:
    version: dict[str, Any] = {"name": VERSION, "served": True, "storage": True,
                               "schema": {"openAPIV3Schema": schema}}
    if status:
        version["subresources"] = {"status": {}}
    version["additionalPrinterColumns"] = columns
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{plural}.{GROUP}"},
        "spec": {
            "group": GROUP,
            "scope": "Namespaced",
            "names": {"plural": plural, "singular": kind.lower(), "kind": kind, "listKind": f"{kind}List",
                      "shortNames": short_names, "categories": ["rikugame"]},
            "versions": [version],
        },
    }


def _object(description: str, spec: Schema, status: Schema | None = None) -> Schema:
    properties: dict[str, Any] = {
        "apiVersion": {"type": "string"}, "kind": {"type": "string"}, "metadata": {"type": "object"},
        "spec": spec}
    if status is not None:
        properties["status"] = status
    return {"type": "object", "description": description, "required": ["spec"], "properties": properties}


def tuner_crd() -> dict[str, Any]:
    """``tuners.rikugame.dev``: spec from ``TunerSpec``, status (a subresource) from ``TunerStatus``."""
    schema = _object("A Tuner keeps one workload's container requests/limits and its HPA right-sized.",
                     model_schema(TunerSpec), model_schema(TunerStatus, keep_defaults=False))
    columns = [
        {"name": "Mode", "type": "string", "jsonPath": ".spec.mode", "description": "Off, Auto or Emergency."},
        {"name": "Target", "type": "string", "jsonPath": ".status.target", "description": "The workload, Kind/name."},
        {"name": "Phase", "type": "string", "jsonPath": ".status.phase"},
        {"name": "Last Action", "type": "string", "jsonPath": ".status.lastAction"},
        {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"},
    ]
    return _crd("tuners", "Tuner", ["tuner"], schema, status=True, columns=columns)


def tuner_checkpoint_crd() -> dict[str, Any]:
    """``tunercheckpoints.rikugame.dev``: one Tuner's WorkloadTuning state (``data`` an opaque JSON string)."""
    schema = _object("The decision core's state for one Tuner, written by the operator, read at its start.",
                     model_schema(TunerCheckpointSpec))
    columns = [
        {"name": "Tuner", "type": "string", "jsonPath": ".spec.tunerRef.name"},
        {"name": "Version", "type": "integer", "jsonPath": ".spec.version"},
        {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"},
    ]
    return _crd("tunercheckpoints", "TunerCheckpoint", ["tunercheckpoint"], schema, status=False, columns=columns)
