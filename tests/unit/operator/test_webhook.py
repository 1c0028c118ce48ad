"""The mutating webhook's answer (pure): new pods of a tuned workload get the decided resources."""

import base64
import json

from rikugame.core.workload import ContainerResources as R
from rikugame.operator.webhook import pod_patch, review_response

MIB = 2**20
POD = {"metadata": {"namespace": "shop"}, "spec": {"containers": [
    {"name": "app", "resources": {"requests": {"cpu": "500m", "memory": "64Mi"}, "limits": {"memory": "64Mi"}}},
    {"name": "side", "resources": {}}]}}


def test_patch_replaces_only_the_values_that_exist():
    ops = pod_patch(POD, {"app": R(350, 80 * MIB, -1, 80 * MIB), "side": R(100, 10 * MIB, -1, -1)})
    assert ops == [
        {"op": "replace", "path": "/spec/containers/0/resources/requests/cpu", "value": "350m"},
        {"op": "replace", "path": "/spec/containers/0/resources/requests/memory", "value": "80Mi"},
        {"op": "replace", "path": "/spec/containers/0/resources/limits/memory", "value": "80Mi"},
    ]


def test_review_is_always_allowed_and_patched_only_for_a_tuned_workload():
    review = {"request": {"uid": "u-1", "object": POD}}
    tuned = review_response(review, ("shop", "Deployment", "web"), lambda w: {"app": R(350, 64 * MIB, -1, 64 * MIB)})
    response = tuned["response"]
    assert response["uid"] == "u-1" and response["allowed"] is True and response["patchType"] == "JSONPatch"
    assert json.loads(base64.b64decode(response["patch"]))[0]["value"] == "350m"
    untouched = review_response(review, ("shop", "Deployment", "web"), lambda w: None)["response"]
    assert untouched == {"uid": "u-1", "allowed": True}
    orphan = review_response(review, None, lambda w: {"app": R(1, 1, -1, -1)})["response"]
    assert "patch" not in orphan
