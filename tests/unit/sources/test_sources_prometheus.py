"""Fast tests of the Prometheus client and query building (httpx.MockTransport; no server).

These cover pure logic only; the integration claims live in tests/prom (a real Prometheus).
"""

from __future__ import annotations

import asyncio
import itertools
import json
from urllib.parse import parse_qs

import httpx
import numpy as np
import pytest
import yaml

from rikugame.core.decisions import Reason
from rikugame.core.quantities import duration_seconds
from rikugame.errors import PrometheusError
from rikugame.report import formats
from rikugame.report.recommend_report import Report, ReportRow
from rikugame.sources import kube_discovery as discovery
from rikugame.sources import kube_usage as usage
from rikugame.sources import promql
from rikugame.sources.prometheus import PrometheusClient, PrometheusSettings, Series


def vector(*items: tuple[dict[str, str], float]) -> dict[str, object]:
    return {"status": "success", "data": {"resultType": "vector", "result": [
        {"metric": m, "value": [1700000000, str(v)]} for m, v in items]}}


def run(handler, coro_fn, **settings):  # type: ignore[no-untyped-def]
    async def go():  # type: ignore[no-untyped-def]
        s = PrometheusSettings("http://prom.example:9090/", backoff_seconds=0.0, **settings)
        async with PrometheusClient(s, transport=httpx.MockTransport(handler)) as prom:
            return await coro_fn(prom), prom.stats

    return asyncio.run(go())


def test_queries_are_posted_as_forms_with_auth_and_headers() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=vector(({"pod": "a"}, 0.25)))

    result, stats = run(handler, lambda p: p.query('up{pod=~"a|b"}', 1700000000.5),
                        bearer_token="tok", headers={"X-Scope-OrgID": "t1"})
    assert result[0].labels == {"pod": "a"} and result[0].values[0] == 0.25
    (req,) = seen
    assert req.method == "POST" and req.url.path == "/api/v1/query"
    form = parse_qs(req.content.decode())
    assert form == {"query": ['up{pod=~"a|b"}'], "time": ["1700000000.5"]}
    assert req.headers["authorization"] == "Bearer tok"
    assert req.headers["x-scope-orgid"] == "t1"
    assert stats.queries == 1


def test_range_query_parses_matrix_into_arrays() -> None:
    body = {"status": "success", "data": {"resultType": "matrix", "result": [
        {"metric": {"pod": "a"}, "values": [[100, "1"], [160, "2.5"]]},
        {"metric": {"pod": "b"}, "values": []}]}}
    result, _ = run(lambda r: httpx.Response(200, json=body), lambda p: p.query_range("x", 100, 160, 60))
    assert len(result) == 1
    np.testing.assert_array_equal(result[0].timestamps, [100, 160])
    np.testing.assert_array_equal(result[0].values, [1.0, 2.5])


def test_5xx_is_retried_then_succeeds() -> None:
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        return httpx.Response(503, text="busy") if len(calls) < 3 else httpx.Response(200, json=vector())

    _, stats = run(handler, lambda p: p.query("up", 1))
    assert len(calls) == 3 and stats.retries == 2 and stats.queries == 1


def test_4xx_fails_at_once_with_prometheus_error_text() -> None:
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        return httpx.Response(400, json={"status": "error", "errorType": "bad_data",
                                         "error": "parse error at char 5"})

    with pytest.raises(PrometheusError, match=r"rejected the query \(HTTP 400: bad_data: parse error"):
        run(handler, lambda p: p.query("sum(", 1))
    assert len(calls) == 1


def test_unreachable_after_retries() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    with pytest.raises(PrometheusError, match=r"cannot reach Prometheus at http://prom\.example:9090/"):
        run(handler, lambda p: p.query("up", 1), retries=2)


def test_not_prometheus_json() -> None:
    with pytest.raises(PrometheusError, match="did not answer with Prometheus JSON"):
        run(lambda r: httpx.Response(200, text="login required"), lambda p: p.query("up", 1))


@pytest.mark.parametrize("status", [200, 404])
def test_an_html_answer_asks_whether_the_url_is_prometheus(status: int) -> None:
    page = "<!DOCTYPE html><html><head><title>Grafana</title></head></html>"
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        return httpx.Response(status, text=page, headers={"content-type": "text/html; charset=utf-8"})

    with pytest.raises(PrometheusError, match=rf"answered with an HTML page \(HTTP {status}\).*is this a "
                                              r"Prometheus URL\?"):
        run(handler, lambda p: p.query_range("up", 1, 61, 60))
    assert len(calls) == 1


@pytest.mark.parametrize("url", ["prometheus.monitoring:9090", "localhost:9090", "ftp://prom:9090", "http://"])
def test_a_url_without_scheme_or_host_fails_before_any_request(url: str) -> None:
    with pytest.raises(PrometheusError, match=r"scheme|no host|not a URL"):
        PrometheusClient(PrometheusSettings(url))


def test_a_host_that_does_not_resolve_is_not_retried() -> None:
    import socket

    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        try:
            raise socket.gaierror(-2, "Name or service not known")
        except socket.gaierror as exc:
            raise httpx.ConnectError("[Errno -2] Name or service not known", request=request) from exc

    with pytest.raises(PrometheusError, match=r"host name 'prom\.example' does not resolve"):
        run(handler, lambda p: p.query("up", 1), retries=4)
    assert len(calls) == 1


def test_a_refused_connection_is_retried() -> None:
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        raise httpx.ConnectError("[Errno 111] Connection refused", request=request)

    with pytest.raises(PrometheusError, match="cannot reach Prometheus"):
        run(handler, lambda p: p.query("up", 1), retries=2)
    assert len(calls) == 3


def test_durations_and_regex_escaping() -> None:
    assert duration_seconds("14d") == 14 * 86400
    assert duration_seconds("1h30m") == 5400
    assert promql.duration(14 * 86400) == "14d" and promql.duration(90) == "90s" and promql.duration(5400) == "90m"
    with pytest.raises(ValueError):
        duration_seconds("fortnight")
    assert promql.alternation(["b.x", "a"]) == "a|b\\\\.x"
    assert promql.escape('a"b') == 'a\\"b'


def _fleet(pods_per_ns: dict[str, int]) -> discovery.Fleet:
    results: dict[str, list[Series]] = {"pod_owner": [], "rs_owner": [], "requests": []}

    def s(labels: dict[str, str], v: float = 1.0) -> Series:
        return Series(labels, np.array([1], np.int64), np.array([v]))

    for ns, n in pods_per_ns.items():
        results["rs_owner"].append(s({"namespace": ns, "replicaset": "web-1", "owner_kind": "Deployment",
                                      "owner_name": "web"}))
        for i in range(n):
            results["pod_owner"].append(s({"namespace": ns, "pod": f"web-1-{i}", "owner_kind": "ReplicaSet",
                                           "owner_name": "web-1"}))
            results["requests"].append(s({"namespace": ns, "pod": f"web-1-{i}", "container": "app",
                                          "resource": "cpu"}, 0.25))
    return discovery.build_fleet(results, promql.Scope())


def test_build_fleet_resolves_owners_and_requests() -> None:
    fleet = _fleet({"a": 2, "b": 1})
    assert [(k.namespace, k.kind, k.workload, k.container) for k in fleet.containers] == [
        ("a", "Deployment", "web", "app"), ("b", "Deployment", "web", "app")]
    np.testing.assert_array_equal(fleet.cpu_request_millicores, [250, 250])
    np.testing.assert_array_equal(fleet.memory_request_bytes, [-1, -1])
    assert fleet.row("", "a", "web-1-1", "app") == 0 and fleet.row("", "a", "other", "app") == -1


def test_batches_group_small_namespaces_and_split_large_ones() -> None:
    fleet = _fleet({"a": 3, "b": 3, "c": 7})
    batches = usage.plan_batches(fleet, promql.Scope(), max_pods=6)
    assert sum(b.pods for b in batches) == 13
    assert all(b.pods <= 6 for b in batches)
    assert any('namespace=~"a|b"' in m for b in batches for m in b.matchers)
    assert sum('pod=~"' in m for b in batches for m in b.matchers) == 2  # c split in two


def test_time_chunks_cover_the_span_within_the_sample_and_point_limits() -> None:
    for max_samples, per_chunk in ((50_000, 5_000), (110_000, 11_000)):
        chunks = usage.time_chunks(0, 14 * 86400, 60, series=10, max_samples=max_samples)
        assert chunks[0][0] == 0 and chunks[-1][1] == 14 * 86400
        assert all((hi - lo) // 60 + 1 <= per_chunk for lo, hi in chunks)
        assert max((hi - lo) // 60 + 1 for lo, hi in chunks) == per_chunk
        assert all(b[0] == a[1] + 60 for a, b in itertools.pairwise(chunks))
    assert usage.time_chunks(0, 14 * 86400, 60, series=10) == [(0, 14 * 86400)]


def test_merge_samples_joins_cpu_and_memory_and_sorts_by_row_then_time() -> None:
    fleet = _fleet({"a": 2})
    cpu = [Series({"namespace": "a", "pod": f"web-1-{i}", "container": "app"}, np.array([120, 60]),
                  np.array([0.1 + i, 0.2 + i])) for i in range(2)]
    mem = [Series({"namespace": "a", "pod": "web-1-0", "container": "app"}, np.array([60, 180]),
                  np.array([5.0, 6.0]))]
    chunk = usage.merge_samples(fleet, promql.Scope(), cpu, mem)
    assert list(chunk.rows) == [0] * 5
    assert list(chunk.timestamps) == sorted(chunk.timestamps)
    assert int(np.isnan(chunk.cpu_cores).sum()) == 1 and int((~np.isnan(chunk.memory_bytes)).sum()) == 2


def test_merge_samples_takes_the_maximum_of_a_containers_duplicate_series() -> None:
    fleet = _fleet({"a": 1})
    labels = {"namespace": "a", "pod": "web-1-0", "container": "app"}
    cpu = [Series({**labels, "id": "/old"}, np.array([60, 120]), np.array([0.5, np.nan])),
           Series({**labels, "id": "/new"}, np.array([60, 120]), np.array([0.2, 0.3]))]
    mem = [Series({**labels, "id": "/old"}, np.array([60]), np.array([7.0])),
           Series({**labels, "id": "/new"}, np.array([60]), np.array([9.0]))]
    chunk = usage.merge_samples(fleet, promql.Scope(), cpu, mem)
    assert list(chunk.timestamps) == [60, 120]
    assert list(chunk.cpu_cores) == [0.5, 0.3]
    assert chunk.memory_bytes[0] == 9.0 and np.isnan(chunk.memory_bytes[1])


def test_formats_render_every_format() -> None:
    row = ReportRow(cluster="", namespace="ns", kind="Deployment", workload="web", container="app", pods=2,
                    cpu_request=500, cpu_request_recommended=120, cpu_limit=-1, cpu_limit_recommended=-1,
                    memory_request=2**30, memory_request_recommended=300 * 2**20 + 1, memory_limit=2**30,
                    memory_limit_recommended=300 * 2**20 + 1, sufficient=True, history_seconds=86400.0 * 14,
                    severity="WARNING", monthly_saving=12.5, cpu_reasons=Reason.RECOMMENDED.describe(),
                    memory_reasons=["RECOMMENDED"])
    report = Report(rows=[row], recommender="krr-simple", end=1767225600, history_seconds=14 * 86400,
                    step_seconds=60, cpu_explanation="P95", memory_explanation="max", cpu_price=0.03,
                    memory_price=0.004)
    doc = json.loads(formats.render(report, "json"))
    assert doc["rows"][0]["memoryRequestRecommended"] == "301Mi"  # rounded up to a whole MiB
    assert doc["rows"][0]["cpuLimit"] is None
    assert doc["report"]["monthlySaving"] == 12.5
    assert yaml.safe_load(formats.render(report, "yaml"))["rows"][0]["cpuRequestRecommendedMillicores"] == 120
    assert "500m → 120m" in formats.render(report, "table", width=200)
    csv_text = formats.render(report, "csv")
    assert csv_text.count("\n") == 2
    assert csv_text.split(",")[:3] == ["cluster", "namespace", "kind"]
    assert "memoryRequestRecommendedBytes" in csv_text.splitlines()[0]
    assert "_" not in csv_text.splitlines()[0]
    assert "class='sortable'" in formats.render(report, "html")
    with pytest.raises(ValueError):
        formats.render(report, "xml")


def test_coverage_from_bins() -> None:
    ends = np.array([3600, 7200, 10800, 14400])
    # 60 s scrape starting at 1830 and stopping at 12630: 30, 60, 30 samples in the three bins.
    count, first, last = usage.coverage_from_bins(ends, np.array([0.0, 30.0, 60.0, 30.0]), 3600)
    assert (count, first, last) == (120, 7200 - 1800, 10800 + 1800)
    assert usage.coverage_from_bins(ends, np.zeros(4), 3600) == (0, -1, -1)


def test_fast_matrix_parser_matches_json() -> None:
    from rikugame.sources.prometheus import parse_matrix_fast

    body = json.dumps({"status": "success", "data": {"resultType": "matrix", "result": [
        {"metric": {"pod": "a", "odd": 'x]]}"values":['}, "values": [[100, "1.5"], [160.5, "NaN"]]},
        {"metric": {"pod": "empty"}, "values": []},
        {"metric": {}, "values": [[200, "+Inf"]]}]}}, separators=(",", ":")).encode()
    series = parse_matrix_fast(body)
    assert series is not None and [s.labels.get("pod") for s in series] == ["a", None]
    assert series[0].labels["odd"] == 'x]]}"values":['
    np.testing.assert_array_equal(series[0].timestamps, [100, 160])
    assert series[0].values[0] == 1.5 and np.isnan(series[0].values[1]) and series[1].values[0] == np.inf
    assert parse_matrix_fast(b'{"status":"success","data":{"resultType":"vector","result":[]}}') is None


def test_cluster_label_scopes_every_selector() -> None:
    scope = promql.Scope(namespaces=("a", "b"), cluster_label="cluster", cluster="prod")
    assert scope.matchers() == ['cluster="prod"', 'namespace=~"a|b"']
    assert scope.group_labels() == "cluster, "
    results = {"pod_owner": [Series({"cluster": c, "namespace": "a", "pod": "p", "owner_kind": "StatefulSet",
                                     "owner_name": "db"}, np.array([1]), np.array([1.0])) for c in ("prod", "dev")]}
    fleet = discovery.build_fleet(results, scope)
    assert sorted(k.cluster for k in fleet.containers) == ["dev", "prod"]  # same names, two clusters
    batch = usage.plan_batches(fleet, scope)[0]
    assert batch.matchers[0].startswith('cluster="')
    assert 'by (cluster, namespace, pod, container)' in usage.UsageQueries().cpu_quantile(batch, "cluster, ", 0.95,
                                                                                        86400)
