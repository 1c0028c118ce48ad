"""Generated manifests: deploy/ equals `rikugame manifests`, the CRD schema is structural and mirrors pydantic."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any, Literal

import pytest
import yaml
from pydantic import BaseModel, Field
from typer.testing import CliRunner

from rikugame.cli import app
from rikugame.core import quantities
from rikugame.core.policy import ResourceBounds, TunerSpec
from rikugame.manifests import cel
from rikugame.manifests.crds import tuner_checkpoint_crd, tuner_crd
from rikugame.manifests.install import install_objects
from rikugame.manifests.schema import StructuralSchemaError, structural

DEPLOY = Path(__file__).resolve().parents[3] / "deploy"


def _key(obj: dict[str, Any]) -> str:
    meta = obj["metadata"]
    return f"{obj['kind']} {meta.get('namespace', '')}/{meta['name']}".replace(" /", " ")


def _nodes(schema: dict[str, Any], path: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    yield path, schema
    for key, prop in schema.get("properties", {}).items():
        yield from _nodes(prop, f"{path}.{key}")
    if "items" in schema:
        yield from _nodes(schema["items"], f"{path}[]")


def _spec_schema() -> dict[str, Any]:
    schema: dict[str, Any] = tuner_crd()["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]
    return schema


def test_deploy_directory_holds_exactly_the_generated_objects():
    kustomization = yaml.safe_load((DEPLOY / "kustomization.yaml").read_text())
    on_disk = {}
    for name in kustomization["resources"]:
        obj = yaml.safe_load((DEPLOY / name).read_text())
        on_disk[_key(obj)] = obj
    generated = {_key(obj): obj for obj in install_objects()}
    regenerate = "run `rikugame manifests --write deploy/` and commit the result"
    assert sorted(on_disk) == sorted(generated), f"deploy/ lists other objects than generated; {regenerate}"
    for key, obj in generated.items():
        assert on_disk[key] == obj, f"deploy/ object {key} drifted from the generated one; {regenerate}"


def test_manifests_command_prints_every_object_in_the_chosen_namespace_and_image():
    result = CliRunner().invoke(app, ["manifests", "--namespace", "tuning", "--image", "example/rikugame:1"])
    assert result.exit_code == 0, result.output
    docs = [d for d in yaml.safe_load_all(result.output) if d]
    assert [_key(d) for d in docs] == [_key(o) for o in install_objects("tuning", "example/rikugame:1")]
    namespaced = [d for d in docs if "namespace" in d["metadata"]]
    assert namespaced and {d["metadata"]["namespace"] for d in namespaced} == {"tuning"}
    deployment = next(d for d in docs if d["kind"] == "Deployment")
    assert deployment["spec"]["template"]["spec"]["containers"][0]["image"] == "example/rikugame:1"
    hook = next(d for d in docs if d["kind"] == "MutatingWebhookConfiguration")["webhooks"][0]
    assert hook["clientConfig"]["service"]["namespace"] == "tuning"
    assert hook["failurePolicy"] == "Ignore" and hook["sideEffects"] == "None" and hook["timeoutSeconds"] == 5


def test_write_option_regenerates_a_base_equal_to_deploy(tmp_path: Path):
    result = CliRunner().invoke(app, ["manifests", "--write", str(tmp_path / "base")])
    assert result.exit_code == 0, result.output
    written = sorted(p.name for p in (tmp_path / "base").iterdir())
    assert written == sorted(p.name for p in DEPLOY.iterdir() if p.suffix == ".yaml")
    for name in written:
        assert (tmp_path / "base" / name).read_text() == (DEPLOY / name).read_text(), name


@pytest.mark.parametrize("crd", [tuner_crd(), tuner_checkpoint_crd()], ids=["tuners", "tunercheckpoints"])
def test_crd_schema_is_structural(crd: dict[str, Any]):
    schema = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    for path, node in _nodes(schema):
        assert not {"$ref", "$defs", "oneOf", "allOf", "not", "nullable", "title", "additionalProperties",
                    "const", "discriminator"} & set(node), path
        if node.get("x-kubernetes-int-or-string"):
            assert "type" not in node and node["anyOf"] == [{"type": "integer"}, {"type": "string"}], path
        else:
            assert "anyOf" not in node and node.get("type") in {"object", "array", "string", "integer", "number",
                                                                "boolean"}, path
        for exclusive in ("exclusiveMinimum", "exclusiveMaximum"):
            assert node.get(exclusive, True) is True, f"{path}: {exclusive} must be a boolean (OpenAPI 3.0)"


def test_tuner_crd_has_the_status_subresource_short_name_and_printer_columns():
    crd = tuner_crd()
    version = crd["spec"]["versions"][0]
    assert (crd["metadata"]["name"], crd["spec"]["scope"], version["name"]) == (
        "tuners.rikugame.dev", "Namespaced", "v1alpha1")
    assert crd["spec"]["names"]["shortNames"] == ["tuner"]
    assert version["subresources"] == {"status": {}}
    assert [c["name"] for c in version["additionalPrinterColumns"]] == ["Mode", "Target", "Phase", "Last Action",
                                                                        "Age"]


def test_containers_are_a_list_map_keyed_by_name():
    containers = _spec_schema()["properties"]["containers"]
    assert containers["x-kubernetes-list-type"] == "map"
    assert containers["x-kubernetes-list-map-keys"] == ["name"]
    assert "name" in containers["items"]["required"]


def test_crd_defaults_equal_the_pydantic_defaults():
    spec = _spec_schema()
    assert spec["properties"]["mode"]["default"] == TunerSpec.model_fields["mode"].default.value
    bounds = spec["properties"]["bounds"]["properties"]
    for field, info in ResourceBounds.model_fields.items():
        assert bounds[info.alias or field]["default"] == info.default
    vertical = spec["properties"]["vertical"]["properties"]
    assert "default" not in vertical["scaleDownMaxRatio"], "unset means the recommender's preset: no default"


def test_every_model_validator_has_its_cel_rule():
    missing = [f"{model.__name__}.{name}" for model, name in cel.model_validators(TunerSpec)
               if (model, name) not in cel.VALIDATOR_RULES]
    assert not missing, f"model validators without a CEL rule in manifests/cel.py: {missing}"
    assert len(cel.model_validators(TunerSpec)) >= 5


def test_cel_rules_sit_on_the_object_of_their_model():
    spec = _spec_schema()
    messages = {r["message"] for r in spec["x-kubernetes-validations"]}
    assert "recommenderSettings.name must equal recommender" in messages
    assert any("DaemonSet" in m for m in messages)
    bounds_rules = spec["properties"]["bounds"]["x-kubernetes-validations"]
    assert [r["fieldPath"] for r in bounds_rules] == [".minCpu", ".minMemory"]
    assert all("quantity(" in r["rule"] and "compareTo" in r["rule"] for r in bounds_rules)
    per_container = spec["properties"]["containers"]["items"]["properties"]["bounds"]
    assert per_container["x-kubernetes-validations"] == bounds_rules
    horizontal = spec["properties"]["horizontal"]["x-kubernetes-validations"]
    assert len(horizontal) == 4


def test_recommender_settings_union_rules_forbid_fields_of_other_recommenders():
    settings = _spec_schema()["properties"]["recommenderSettings"]
    assert settings["required"] == ["name"]
    assert settings["properties"]["name"]["enum"] == ["rikugame", "vpa", "tortoise", "krr-simple", "window"]
    rules = {r["fieldPath"]: r["rule"] for r in settings["x-kubernetes-validations"]}
    assert rules[".bufferRatio"] == "!has(self.bufferRatio) || self.name in ['tortoise']"
    assert ".minHistorySeconds" not in rules, "a field every recommender has needs no rule"


@pytest.mark.parametrize("text", ["0", "1", "250m", "1.5", ".5", "512Mi", "1Gi", "1e3", "100k", "+2"])
def test_quantity_pattern_accepts_what_the_parser_reads(text: str):
    assert re.fullmatch(quantities.QUANTITY_PATTERN, text)
    quantities.memory_bytes(text)


@pytest.mark.parametrize("text", ["-1", "", "1 Gi", "1GB", "abc", "1.5.0", "Mi", "1e"])
def test_quantity_pattern_refuses_what_the_tuner_spec_refuses(text: str):
    assert not re.fullmatch(quantities.QUANTITY_PATTERN, text)
    with pytest.raises(ValueError):
        ResourceBounds(max_cpu=text)


def test_cluster_role_grants_no_delete_and_no_secrets_cluster_wide():
    role = next(o for o in install_objects() if o["kind"] == "ClusterRole")
    verbs = {v for rule in role["rules"] for v in rule["verbs"]}
    assert not verbs & {"delete", "deletecollection", "*", "escalate", "bind", "impersonate"}
    assert not any("secrets" in rule["resources"] for rule in role["rules"])
    webhook_rule = next(r for r in role["rules"] if r["resources"] == ["mutatingwebhookconfigurations"])
    assert webhook_rule["resourceNames"] == ["rikugame"]


@pytest.mark.parametrize("namespace", ["", "Rikugame", "a_b", "x" * 64])
def test_manifests_command_refuses_a_namespace_kubernetes_would_refuse(namespace: str):
    result = CliRunner().invoke(app, ["manifests", "--namespace", namespace])
    assert result.exit_code == 2
    assert "--namespace" in result.output


class _Plain(BaseModel):
    value: int | str


class _A(BaseModel):
    name: Literal["a"] = "a"
    knob: int = Field(0, ge=0)


class _B(BaseModel):
    name: Literal["b"] = "b"
    knob: int = Field(0, ge=1)


class _Either(BaseModel):
    settings: Annotated[_A | _B, Field(discriminator="name")]


@pytest.mark.parametrize(("model", "says"), [(_Plain, "union of 2 types"), (_Either, "'knob' differs")],
                         ids=["plain-union", "union-variants-disagree"])
def test_converter_refuses_what_has_no_structural_form(model: type[BaseModel], says: str):
    with pytest.raises(StructuralSchemaError, match=says):
        structural(model.model_json_schema(by_alias=True), rules_for=lambda _name: [], root_name=model.__name__)
