"""The CEL rule beside every pydantic model validator of the Tuner spec.

A model validator (a check across fields) has no JSON-schema form, so the CRD carries a CEL
``x-kubernetes-validations`` rule for each one, on the object schema of the same model. The rules are built
from the model itself (field aliases, defaults, the validator's own message) so that pydantic stays the
single source of truth; ``VALIDATOR_RULES`` names, for every model validator, the rules that mirror it, and
a unit test fails when a model validator has no entry.

Defaults: the API server fills in scalar defaults before validating, but the rules fall back to the pydantic
default themselves (``has(self.x) ? self.x : default``) so they hold with or without CRD defaulting.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel

from rikugame.core.horizontal.policy import HorizontalPolicy
from rikugame.core.policy import ResourceBounds, TunerSpec

Rule = dict[str, str]


def _alias(model: type[BaseModel], field: str) -> str:
    info = model.model_fields[field]
    return info.alias or field


def _value(model: type[BaseModel], field: str) -> str:
    """CEL for the field's value, its pydantic default when absent."""
    alias = _alias(model, field)
    default = model.model_fields[field].default
    return f"(has(self.{alias}) ? self.{alias} : {json.dumps(default).replace(chr(34), chr(39))})"


def ordered_quantities(model: type[BaseModel], low: str, high: str) -> Rule:
    """``low`` ≤ ``high`` for two quantity fields (integers or strings), compared as quantities."""
    lo, hi = (f"string({_value(model, f)})" for f in (low, high))
    return {
        "rule": f"!isQuantity({lo}) || !isQuantity({hi}) || quantity({lo}).compareTo(quantity({hi})) <= 0",
        "message": f"{_alias(model, low)} must not exceed {_alias(model, high)}",
        "fieldPath": f".{_alias(model, low)}",
        "reason": "FieldValueInvalid",
    }


def ordered_numbers(model: type[BaseModel], low: str, high: str) -> Rule:
    """``low`` ≤ ``high`` for two numeric fields."""
    return {
        "rule": f"{_value(model, low)} <= {_value(model, high)}",
        "message": f"{_alias(model, low)} must not exceed {_alias(model, high)}",
        "fieldPath": f".{_alias(model, low)}",
        "reason": "FieldValueInvalid",
    }


def _settings_match() -> Rule:
    return {
        "rule": "!has(self.recommenderSettings) || "
                f"self.recommenderSettings.name == {_value(TunerSpec, 'recommender')}",
        "message": "recommenderSettings.name must equal recommender",
        "fieldPath": ".recommenderSettings.name",
        "reason": "FieldValueInvalid",
    }


def _no_horizontal_for_daemonsets() -> Rule:
    return {
        "rule": "!has(self.horizontal) || !has(self.targetRef.kind) || self.targetRef.kind != 'DaemonSet'",
        "message": "horizontal must be unset when targetRef.kind is DaemonSet (a DaemonSet has no replicas to "
                   "scale)",
        "fieldPath": ".horizontal",
        "reason": "FieldValueForbidden",
    }


LIST_MAP = "x-kubernetes-list-type: map"
"""Marks a model validator whose rule is the list-map itself (the API server rejects a repeated key)."""

VALIDATOR_RULES: dict[tuple[type[BaseModel], str], Callable[[], list[Rule]] | str] = {
    (ResourceBounds, "_ordered"): lambda: [ordered_quantities(ResourceBounds, "min_cpu", "max_cpu"),
                                           ordered_quantities(ResourceBounds, "min_memory", "max_memory")],
    (HorizontalPolicy, "_ordered"): lambda: [
        ordered_numbers(HorizontalPolicy, "min_target_utilization_percent", "max_target_utilization_percent"),
        ordered_numbers(HorizontalPolicy, "min_replicas_floor", "min_replicas_cap"),
        ordered_numbers(HorizontalPolicy, "max_replicas_floor", "max_replicas_cap"),
        ordered_numbers(HorizontalPolicy, "min_replicas", "max_replicas")],
    (TunerSpec, "_settings_match"): lambda: [_settings_match()],
    (TunerSpec, "_no_horizontal_for_daemonsets"): lambda: [_no_horizontal_for_daemonsets()],
    (TunerSpec, "_container_names_unique"): LIST_MAP,
}


def rules_for(model_name: str) -> list[Rule]:
    """The CEL rules of the model named ``model_name`` (a ``$defs`` key, or the root model's class name)."""
    out: list[Rule] = []
    for (model, _validator), rules in VALIDATOR_RULES.items():
        if model.__name__ == model_name and not isinstance(rules, str):
            out.extend(rules())
    return out


def model_validators(root: type[BaseModel]) -> list[tuple[type[BaseModel], str]]:
    """Every (model, validator name) reachable from ``root`` through its fields."""
    seen: list[type[BaseModel]] = []

    def walk(annotation: Any) -> None:
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            if annotation not in seen:
                seen.append(annotation)
                for info in annotation.model_fields.values():
                    walk(info.annotation)
            return
        for arg in getattr(annotation, "__args__", ()):
            walk(arg)
        origin = getattr(annotation, "__origin__", None)
        if origin is not None and hasattr(annotation, "__metadata__"):
            walk(origin)

    walk(root)
    return [(model, name) for model in seen for name in model.__pydantic_decorators__.model_validators]
