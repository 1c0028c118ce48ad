"""pydantic's JSON schema → a Kubernetes structural schema (OpenAPI v3 as apiextensions.k8s.io/v1 takes it).

pydantic emits JSON Schema 2020-12; a CRD needs a *structural* schema: every node typed, no ``$ref``, no
``anyOf``/``oneOf`` carrying types, no ``additionalProperties: false`` beside ``properties``. The conversions:

- ``$ref`` to ``$defs`` is inlined (the referring property's description and default win);
- ``anyOf: [X, {type: null}]`` (an optional field) becomes X: an optional field is simply omitted, and a
  ``null`` sent for it is pruned by the API server (no ``nullable``);
- numeric ``exclusiveMinimum: 0`` (2020-12) becomes ``minimum: 0`` + ``exclusiveMinimum: true`` (OpenAPI 3.0);
- ``const`` becomes a one-value ``enum``;
- a field marked ``x-kubernetes-int-or-string`` (the quantities) becomes ``anyOf: [integer, string]`` with the
  int-or-string flag and its pattern, as Kubernetes' own Quantity schema is;
- a discriminated union (``oneOf`` + ``discriminator``) becomes one object holding the union of the variants'
  properties, ``name`` an enum of the tags, and one CEL rule per property that only some variants have;
- ``x-kubernetes-list-type`` / ``-list-map-keys`` (``policy.list_map``) pass through, on the array;
- ``title`` and ``additionalProperties: false`` are dropped (the API server prunes unknown fields, and rejects
  them when the client asks for strict field validation, as kubectl does);
- scalar defaults are kept (the API server fills them in, so ``kubectl get -o yaml`` shows what is in force)
  and named in the description; ``default: null`` is dropped.

Model validators have no JSON-schema form: :mod:`rikugame.manifests.cel` adds the CEL rule beside each.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from rikugame.errors import ConfigError

Schema = dict[str, Any]
RulesFor = Callable[[str], list[dict[str, str]]]
"""CEL ``x-kubernetes-validations`` of the object schema built from the ``$defs`` entry of this name."""

_DROPPED = {"title", "additionalProperties", "discriminator", "$defs"}
_NULL = {"type": "null"}


class StructuralSchemaError(ConfigError):
    """The pydantic model uses a construct this converter does not turn into a structural schema."""


def structural(json_schema: Mapping[str, Any], *, rules_for: RulesFor, root_name: str,
               keep_defaults: bool = True) -> Schema:
    """The structural schema of a pydantic ``model_json_schema(by_alias=True)``; ``root_name`` is the model's
    class name (its CEL rules are looked up by it, as those of ``$defs`` entries are by their key)."""
    return _Converter(json_schema.get("$defs", {}), rules_for, keep_defaults).convert(dict(json_schema), root_name)


class _Converter:
    def __init__(self, defs: Mapping[str, Any], rules_for: RulesFor, keep_defaults: bool) -> None:
        self.defs = defs
        self.rules_for = rules_for
        self.keep_defaults = keep_defaults

    def resolve(self, node: Schema) -> tuple[Schema, str | None]:
        """``node`` with its ``$ref`` (or the non-null branch of an optional) merged in; the def name."""
        node = dict(node)
        name = None
        if "anyOf" in node:
            branches = [b for b in node["anyOf"] if b != _NULL]
            if len(branches) != 1:
                raise StructuralSchemaError(f"a union of {len(branches)} types has no structural form: "
                                            f"{json.dumps(node)[:200]}")
            del node["anyOf"]
            node = {**branches[0], **node}
        if "$ref" in node:
            name = node.pop("$ref").rsplit("/", 1)[-1]
            target = self.defs[name]
            node = {**target, **{k: v for k, v in node.items() if k in ("description", "default")}}
            if "$ref" in node or "anyOf" in node:
                inner, _ = self.resolve(node)
                node = inner
        return node, name

    def convert(self, node: Schema, name: str | None = None) -> Schema:
        node, ref_name = self.resolve(node)
        name = ref_name or name
        if "oneOf" in node:
            return self.union(node)
        out: Schema = {}
        description = node.get("description")
        if node.get("x-kubernetes-int-or-string"):
            out["x-kubernetes-int-or-string"] = True
            out["anyOf"] = [{"type": "integer"}, {"type": "string"}]
        elif "type" in node:
            out["type"] = node["type"]
        elif "const" not in node and "enum" not in node:
            raise StructuralSchemaError(f"a schema node without a type: {json.dumps(node)[:200]}")
        if "const" in node:
            out["type"] = "string" if isinstance(node["const"], str) else out.get("type", "string")
            out["enum"] = [node["const"]]
        if "enum" in node:
            out.setdefault("type", "string")
            out["enum"] = list(node["enum"])
        default = node.get("default")
        if default is not None and self.keep_defaults and not isinstance(default, dict | list):
            out["default"] = default
            description = f"{(description or '').rstrip('.')}. Default: {default}.".lstrip(". ")
        if description:
            out["description"] = _plain(description)
        for key in ("minimum", "maximum", "minLength", "maxLength", "minItems", "maxItems", "pattern", "format"):
            if key in node:
                out[key] = node[key]
        for bound, exclusive in (("minimum", "exclusiveMinimum"), ("maximum", "exclusiveMaximum")):
            if isinstance(node.get(exclusive), bool):
                out[exclusive] = node[exclusive]
            elif exclusive in node:
                out[bound] = node[exclusive]
                out[exclusive] = True
        if node.get("type") == "object" and "properties" in node:
            out["properties"] = {key: self.convert(value, None) for key, value in node["properties"].items()}
            if node.get("required"):
                out["required"] = list(node["required"])
            rules = self.rules_for(name) if name else []
            if rules:
                out["x-kubernetes-validations"] = rules
        if node.get("type") == "array":
            out["items"] = self.convert(node["items"], None)
            for key in ("x-kubernetes-list-type", "x-kubernetes-list-map-keys"):
                if key in node:
                    out[key] = node[key]
        unknown = set(node) - _KNOWN
        if unknown:
            raise StructuralSchemaError(f"schema keywords without a structural form: {sorted(unknown)}")
        return out

    def union(self, node: Schema) -> Schema:
        """A discriminated union as one object: the variants' properties merged, CEL per variant-only field."""
        tag = node["discriminator"]["propertyName"]
        variants = {}
        for branch in node["oneOf"]:
            resolved, def_name = self.resolve(branch)
            converted = self.convert(resolved, def_name)
            variants[converted["properties"][tag]["enum"][0]] = converted
        owners: dict[str, list[str]] = {}
        merged: dict[str, Schema] = {}
        for variant, schema in variants.items():
            for key, prop in schema["properties"].items():
                owners.setdefault(key, []).append(variant)
                if key == tag:
                    continue
                if key in merged and _without_description(merged[key]) != _without_description(prop):
                    raise StructuralSchemaError(f"{key!r} differs between union variants ({owners[key]}); a "
                                                f"structural schema holds one type per field")
                if key in merged and merged[key].get("description") != prop.get("description"):
                    merged[key] = {**merged[key], "description": _joined_descriptions(
                        merged[key].get("description", ""), prop.get("description", ""))}
                else:
                    merged.setdefault(key, prop)
        tags = list(variants)
        properties = {tag: {"type": "string", "enum": tags,
                            "description": "Which recommender these settings are for."}, **merged}
        rules = [{"rule": f"!has(self.{key}) || self.{tag} in {_cel_list(names)}",
                  "message": f"{key} is a setting of {', '.join(names)} only",
                  "fieldPath": f".{key}", "reason": "FieldValueForbidden"}
                 for key, names in owners.items() if key != tag and len(names) < len(tags)]
        out: Schema = {"type": "object"}
        if node.get("description"):
            out["description"] = _plain(node["description"])
        out["properties"] = properties
        out["required"] = [tag]
        out["x-kubernetes-validations"] = rules
        return out


_KNOWN = {"type", "description", "default", "properties", "required", "items", "enum", "const", "minimum",
          "maximum", "exclusiveMinimum", "exclusiveMaximum", "minLength", "maxLength", "minItems", "maxItems",
          "pattern", "format", "x-kubernetes-int-or-string", "x-kubernetes-list-type", "x-kubernetes-list-map-keys",
          "oneOf"} | _DROPPED


def _plain(text: str) -> str:
    return " ".join(text.replace("``", "").split())


def _without_description(schema: Schema) -> Schema:
    return {k: v for k, v in schema.items() if k != "description"}


def _joined_descriptions(first: str, second: str) -> str:
    return first if second in first else f"{first} / {second}"


def _cel_list(items: list[str]) -> str:
    return "[" + ", ".join(f"'{i}'" for i in items) + "]"
