"""``rikugame persist``: the template patch from a Tuner status (pure)."""

from rikugame.commands.persist import template_patch
from rikugame.core.tuner_status import TunerStatus

STATUS = TunerStatus.model_validate({"containers": [
    {"name": "app", "current": {"cpu": "500m", "memory": "64Mi"}, "decided": {"cpu": "350m", "memory": "80Mi"},
     "decidedLimits": {"memory": "80Mi"}, "lowerBound": {}, "upperBound": {}}]})


def test_persist_sets_only_the_values_the_template_has():
    containers = [{"name": "app", "resources": {"requests": {"cpu": "500m", "memory": "64Mi"},
                                                "limits": {"memory": "64Mi"}}},
                  {"name": "side", "resources": {"requests": {"cpu": "10m"}}}]
    assert template_patch(STATUS, containers) == {"spec": {"template": {"spec": {"containers": [
        {"name": "app", "resources": {"requests": {"cpu": "350m", "memory": "80Mi"}, "limits": {"memory": "80Mi"}}}]}}}}


def test_persist_has_nothing_to_do_when_the_template_already_agrees():
    containers = [{"name": "app", "resources": {"requests": {"cpu": "350m", "memory": "80Mi"},
                                                "limits": {"memory": "80Mi"}}}]
    assert template_patch(STATUS, containers) is None
