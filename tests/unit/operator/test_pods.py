"""Reading pods and building in-place resize patches (pure)."""

from rikugame.core.workload import ContainerResources as R
from rikugame.operator.pods import oom_kills, owner_workload, pod_resources, qos_class, resize_patch, resize_target

MIB = 2**20


def pod(containers, owner=("ReplicaSet", "web-7d9f"), statuses=None):
    return {"metadata": {"namespace": "shop", "name": "web-7d9f-abc", "uid": "u1",
                         "ownerReferences": [{"kind": owner[0], "name": owner[1], "controller": True}]},
            "spec": {"containers": containers}, "status": {"containerStatuses": statuses or []}}


def container(name, requests=None, limits=None):
    return {"name": name, "resources": {k: v for k, v in (("requests", requests), ("limits", limits)) if v}}


def test_owner_of_a_deployment_pod_goes_through_its_replicaset():
    p = pod([container("app")])
    assert owner_workload(p, {("shop", "web-7d9f"): ("Deployment", "web")}) == ("shop", "Deployment", "web")
    assert owner_workload(pod([container("app")], owner=("StatefulSet", "db")), {}) == ("shop", "StatefulSet", "db")
    assert owner_workload(p, {}) is None


def test_resources_are_read_in_integer_units_with_minus_one_for_unset():
    p = pod([container("app", {"cpu": "250m", "memory": "512Mi"}, {"memory": "1Gi"})])
    assert pod_resources(p) == {"app": R(250, 512 * MIB, -1, 1024 * MIB)}


def test_oom_kill_is_read_from_the_last_termination():
    statuses = [{"name": "app", "restartCount": 3,
                 "lastState": {"terminated": {"reason": "OOMKilled", "finishedAt": "2026-12-01T10:00:00Z"}}},
                {"name": "side", "restartCount": 1, "lastState": {"terminated": {"reason": "Error"}}}]
    p = pod([container("app", {"memory": "100Mi"}, {"memory": "128Mi"}), container("side")], statuses=statuses)
    kills = oom_kills(p)
    assert [(k.container, k.restart_count, k.limit_bytes) for k in kills] == [("app", 3, 128 * MIB)]


def test_resize_never_adds_a_request_or_limit_and_never_lowers_a_memory_limit():
    current = {"app": R(500, 512 * MIB, -1, 512 * MIB), "side": R(-1, -1, -1, -1)}
    decided = {"app": R(300, 256 * MIB, -1, 256 * MIB), "side": R(100, 64 * MIB, -1, 64 * MIB)}
    target = resize_target(current, decided)
    assert target["app"] == R(300, 256 * MIB, -1, 512 * MIB)
    assert target["side"] == current["side"]
    patch = resize_patch(current, target)
    assert patch == {"spec": {"containers": [{"name": "app", "resources": {
        "requests": {"cpu": "300m", "memory": "256Mi"}, "limits": {"memory": "512Mi"}}}]}}


def test_a_guaranteed_pod_stays_guaranteed():
    current = {"app": R(1000, 1024 * MIB, 1000, 1024 * MIB)}
    assert qos_class(current) == "Guaranteed"
    target = resize_target(current, {"app": R(600, 700 * MIB, -1, 700 * MIB)})
    assert qos_class(target) == "Guaranteed"
    assert target["app"].cpu_request_millicores == target["app"].cpu_limit_millicores == 600


def test_a_memory_increase_raises_the_limit_with_it():
    current = {"app": R(500, 64 * MIB, -1, 64 * MIB)}
    target = resize_target(current, {"app": R(350, 80 * MIB, -1, 80 * MIB)})
    assert target["app"] == R(350, 80 * MIB, -1, 80 * MIB)


def test_nothing_to_change_gives_no_patch():
    current = {"app": R(500, 64 * MIB, -1, 64 * MIB)}
    assert resize_patch(current, resize_target(current, {"app": R(500, 64 * MIB, -1, 64 * MIB)})) is None
