"""Choosing the Prometheus Service from in-memory Service objects (issue 12: discovery as KRR does)."""

from __future__ import annotations

from typing import Any

from rikugame.sources.prometheus_discovery import SELECTORS, choose, matches


def service(ns: str, name: str, labels: dict[str, str], *ports: tuple[str, int]) -> dict[str, Any]:
    return {"metadata": {"namespace": ns, "name": name, "labels": labels},
            "spec": {"ports": [{"name": n, "port": p} for n, p in ports]}}


KPS = service("monitoring", "kps-kube-prometheus-stack-prometheus",
              {"app": "kube-prometheus-stack-prometheus", "release": "kps", "self-monitor": "true"},
              ("http-web", 9090), ("reloader-web", 8080))
OPERATED = service("monitoring", "prometheus-operated", {"operated-prometheus": "true"}, ("web", 9090))
ALERTMANAGER = service("monitoring", "kps-alertmanager", {"app": "kube-prometheus-stack-alertmanager"},
                       ("http-web", 9093))
GRAFANA = service("monitoring", "kps-grafana", {"app.kubernetes.io/name": "grafana"}, ("http-web", 80))
COMMUNITY = service("observability", "prometheus-server", {"app": "prometheus", "component": "server"},
                    ("http", 80))
KUBE_PROMETHEUS = service("monitoring", "prometheus-k8s", {"app.kubernetes.io/name": "prometheus",
                                                           "app.kubernetes.io/component": "prometheus"},
                          ("web", 9090), ("reloader-web", 8080))


def test_kube_prometheus_stack_wins_over_the_operated_service_and_says_so() -> None:
    chosen = choose([GRAFANA, OPERATED, ALERTMANAGER, KPS])
    assert chosen is not None
    assert (chosen.namespace, chosen.name, chosen.port) == ("monitoring", "kps-kube-prometheus-stack-prometheus",
                                                            9090)
    assert chosen.selector == "app=kube-prometheus-stack-prometheus"
    assert chosen.others == ("monitoring/prometheus-operated",)
    assert "label app=kube-prometheus-stack-prometheus" in chosen.describe()
    assert "also matched: monitoring/prometheus-operated" in chosen.describe()


def test_krrs_order_then_the_operators_names() -> None:
    assert choose([KUBE_PROMETHEUS, COMMUNITY]).name == "prometheus-server"  # type: ignore[union-attr]
    kp = choose([OPERATED, KUBE_PROMETHEUS])
    assert kp is not None and kp.name == "prometheus-k8s" and kp.port == 9090  # the web port, not the reloader
    op = choose([OPERATED, GRAFANA])
    assert op is not None and op.name == "prometheus-operated" and op.selector == "operated-prometheus=true"
    assert SELECTORS[0] == "app=kube-prometheus-stack-prometheus"


def test_nothing_matching_or_no_port_gives_none() -> None:
    assert choose([GRAFANA, ALERTMANAGER]) is None
    assert choose([service("m", "p", {"app": "prometheus-server"})]) is None
    assert choose([]) is None


def test_ties_are_broken_by_name_and_urls() -> None:
    a = service("b-ns", "prometheus-server", {"app": "prometheus-server"}, ("http", 80))
    b = service("a-ns", "prometheus-server", {"app": "prometheus-server"}, ("metrics", 9090), ("x", 1))
    chosen = choose([a, b])
    assert chosen is not None and chosen.namespace == "a-ns" and chosen.port == 9090
    assert chosen.url("https://10.0.0.1:6443/") == \
        "https://10.0.0.1:6443/api/v1/namespaces/a-ns/services/prometheus-server:9090/proxy"
    assert chosen.url(None) == "http://prometheus-server.a-ns.svc:9090"


def test_selector_matching() -> None:
    assert matches({"app": "prometheus", "component": "server", "x": "y"}, "app=prometheus,component=server")
    assert not matches({"app": "prometheus"}, "app=prometheus,component=server")
