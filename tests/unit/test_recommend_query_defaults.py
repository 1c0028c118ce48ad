"""``rikugame recommend``'s query resolution per recommender (issue 12: krr-simple queries as KRR master does)."""

from __future__ import annotations

from rikugame.commands.recommend_pipeline import query_resolution
from rikugame.sources.kube_usage import Batch, UsageQueries


def test_krr_simple_defaults_to_krrs_75s_step_and_rate_window() -> None:
    assert query_resolution("krr-simple") == (75, 75)
    assert query_resolution("krr-simple", 60, 300) == (60, 300)  # explicit flags win
    assert query_resolution("krr-simple", rate_window_seconds=300) == (75, 300)
    assert query_resolution("krr-simple", 300) == (300, 300)  # KRR: the rate window is the step
    for name in ("vpa", "tortoise", "window"):
        assert query_resolution(name) == (60, 300)


def test_rikugame_defaults_to_non_overlapping_five_minute_rates() -> None:
    assert query_resolution("rikugame") == (300, 300)
    assert query_resolution("rikugame", 60) == (60, 300)  # an explicit step keeps the 5-minute window
    assert query_resolution("rikugame", 60, 120) == (60, 120)


def test_krr_simple_cpu_query_is_krrs_subquery() -> None:
    step, window = query_resolution("krr-simple")
    query = UsageQueries(rate_window_seconds=window, resolution_seconds=step).cpu_quantile(
        Batch("", ('namespace="shop"',), 2), "", 0.95, 14 * 86400)
    assert "quantile_over_time(0.95, rate(container_cpu_usage_seconds_total{" in query
    assert query.endswith("[75s])[14d:75s]))")
