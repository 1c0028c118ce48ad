"""The three HTML pages (issue 14.2): one look, the verdict first, words instead of field names, plots that
read (percent axes, better ↗, labels that do not overlap, envelopes with gaps), self-contained."""

from __future__ import annotations

import re
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pytest
import yaml

from report_pages import backtest_page, recommend_page, traffic_page
from rikugame.report import machine, page, plots

INTERNAL_NAMES = ("stageSeconds", "responseBytes", "OOM feedback", "cpu_alloc_ratio", "oom_free", "load_scale",
                  "warmup_seconds", "ready_delay_seconds", "historyHours")


@pytest.fixture(scope="module")
def pages(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    d = tmp_path_factory.mktemp("pages")
    return {"backtest": backtest_page(d).read_text(), "hpa": traffic_page(d).read_text(),
            "recommend": recommend_page(d).read_text()}


@pytest.mark.parametrize("name", ["backtest", "hpa", "recommend"])
def test_every_page_uses_the_one_template_and_opens_with_the_summary(pages: dict[str, str], name: str) -> None:
    html = pages[name]
    assert page.STYLE.strip()[:60] in html
    assert html.index("id='summary'") < html.index("<table")
    assert html.index("id='summary'") < html.index("<section><h2>")


@pytest.mark.parametrize("name", ["backtest", "hpa", "recommend"])
def test_no_page_shows_internal_field_names_or_an_absolute_path_title(pages: dict[str, str], name: str) -> None:
    html = pages[name]
    visible = re.sub(r"<(script|style)>.*?</\1>", "", html, flags=re.S)
    for word in INTERNAL_NAMES:
        assert word not in visible, word
    title = re.search(r"<title>(.*?)</title>", html).group(1)
    assert not title.startswith("/") and "/tmp" not in title and "pytest" not in title, title


@pytest.mark.parametrize("name", ["backtest", "hpa", "recommend"])
def test_pages_are_self_contained(pages: dict[str, str], name: str) -> None:
    html = pages[name]
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html)
    assert "<link" not in html
    assert "@import" not in html


def test_backtest_summary_gives_saving_exposures_against_vpa_and_the_riskiest(pages: dict[str, str]) -> None:
    summary = pages["backtest"].split("id='summary'>")[1].split("</section>")[0]
    assert re.search(r"<b>rikugame</b> would have (saved|added) <b>[\d.,]+ cores</b>", summary)
    assert re.search(r"GiB</b> of memory \([+−][\d.]+ %\)", summary)
    assert re.search(r"<b>\d+</b> OOM-exposed entity-days vs <b>\d+</b> for VPA", summary)
    assert "riskiest workloads under rikugame" in summary and "vm-0" in summary


def test_backtest_page_charts_workloads_chosen_by_stated_rules(pages: dict[str, str]) -> None:
    html = pages["backtest"]
    for rule in ("Chosen as the largest saving of rikugame against vpa", "Chosen as the riskiest under rikugame",
                 "Chosen as the biggest CPU usage"):
        assert rule in html
    assert html.count("days since the workload's first sample") == 6  # CPU + memory for 3 workloads
    assert "warm-up (not scored)" in html and "OOM exposure (rikugame)" in html
    assert html.count("better ↗") == 2 and "%</text>" in html  # percent tick labels


def test_hpa_page_compares_rikugame_with_static_80_and_tortoise_and_shows_the_settings(pages: dict[str, str]) -> None:
    html = pages["hpa"]
    summary = html.split("id='summary'>")[1].split("</section>")[0]
    assert "<b>rikugame</b> ran" in summary and "static-80:" in summary and "tortoise:" in summary
    assert "overload minutes" in summary
    assert "Replicas, load and floor over one week" in html and "busiest scored minute" in html
    assert "minReplicas (floor)" in html
    assert "HPA settings each policy chose" in html and "target 80 %, min 2, max 1000" in html


def test_recommend_page_has_a_sortable_table_copyable_yaml_and_counts(pages: dict[str, str]) -> None:
    html = pages["recommend"]
    summary = html.split("id='summary'>")[1].split("</section>")[0]
    assert "save $27.40 per month" in summary  # 43.2 − 15.8
    assert "<b>1</b> containers to shrink, <b>1</b> to grow" in summary
    assert "<b>1</b> with too little history" in summary
    assert "<table class='sortable'>" in html and "addEventListener('click'" in html
    blocks = re.findall(r"<pre class='yaml' id='([^']+)'>(.*?)</pre>", html, flags=re.S)
    assert [b[0] for b in blocks] == ["patch-shop-deployment-api", "patch-shop-deployment-web"]
    web = yaml.safe_load(blocks[1][1].replace("&#x27;", "'").replace("&quot;", '"'))
    assert web["spec"]["template"]["spec"]["containers"][0]["resources"]["requests"] == {"cpu": "250m",
                                                                                        "memory": "1Gi"}
    assert html.count("class='copy'") == 2


def test_cpu_only_trace_summary_speaks_of_cpu_only(tmp_path: Path) -> None:
    import pyarrow.parquet as pq

    from report_pages import run, usage_trace

    trace = tmp_path / "cpu.parquet"
    pq.write_table(pq.read_table(usage_trace(tmp_path / "full.parquet")).drop(["memory_bytes"]), trace)
    out = tmp_path / "cpu.html"
    run("backtest", "--data", str(trace), "-r", "vpa", "-r", "rikugame", "-f", "html", "-o", str(out))
    summary = out.read_text().split("id='summary'>")[1].split("</section>")[0]
    assert re.search(r"would have (saved|added) <b>[\d.]+ cores</b>", summary)
    assert "OOM" not in summary and "GiB" not in summary


def test_comparison_table_marks_better_and_worse_by_each_columns_direction() -> None:
    cols = [page.Column("cost", "$", "lower"), page.Column("safety", "%", "higher"), page.Column("size")]
    html = page.comparison_table("name", cols, [("ref", [10.0, 0.9, 1.0]), ("a", [8.0, 0.8, 2.0])],
                                 reference="ref")
    cells = re.findall(r"<td( class='(better|worse)')?", html.split("<td>a</td>")[1])
    assert [c[1] for c in cells] == ["better", "worse", ""]
    assert "↓ better" in html and "↑ better" in html


def test_labels_of_clustered_points_do_not_overlap() -> None:
    points = {f"recommender-{i}": (0.30 + 0.002 * i, 0.95 + 0.001 * (i % 3)) for i in range(8)}
    points["far"] = (0.9, 0.5)
    result = plots.tradeoff(points, xlabel="x", ylabel="y", title="t")
    assert result.overlaps == []
    for name in points:
        assert f">{name}</text>" in result.svg


def test_overlap_check_detects_overlapping_labels() -> None:
    """Guards the test above: two labels at the same spot are reported."""
    fig, ax = plt.subplots()
    texts = [ax.annotate("same place", (0.5, 0.5)), ax.annotate("same place too", (0.5, 0.5))]
    assert plots.overlapping_labels(fig, texts) == [("same place", "same place too")]
    plt.close(fig)


def test_envelope_keeps_min_and_max_per_bucket_and_leaves_gaps_empty() -> None:
    times = np.concatenate([np.arange(0, 1000, 10), np.arange(2000, 3000, 10)])  # a gap 1000–2000
    values = np.sin(times / 50.0)
    env = plots.envelope(times, values, 0, 2990, buckets=30)
    width = 2990 / 30
    counts = np.histogram(times, bins=np.linspace(0, 2990, 31))[0]
    assert (counts == 0).sum() >= 8  # the gap spans several buckets
    assert (np.isnan(env.high) == (counts == 0)).all()  # a bucket is empty exactly when it has no sample
    assert np.isnan(env.high[(env.centres > 1100) & (env.centres < 1900)]).all()
    first = times < width
    assert env.low[0] == values[first].min() and env.high[0] == values[first].max()
    assert env.mean[0] == pytest.approx(values[first].mean())


def test_ninety_days_at_five_minutes_become_a_few_hundred_points() -> None:
    times = np.arange(0, 90 * 86400, 300)
    env = plots.envelope(times, np.random.default_rng(1).random(len(times)), 0, float(times[-1]))
    assert len(env.centres) == plots.PIXEL_BUCKETS
    assert np.isfinite(env.high).all()  # no false gaps


def test_few_samples_make_no_false_gaps() -> None:
    times = np.arange(0, 200 * 300, 300)  # fewer samples than buckets
    env = plots.envelope(times, np.ones(len(times)), 0, float(times[-1]),
                         min_width=1.5 * plots.sample_interval(times))
    assert np.isfinite(env.high).all()


def test_machine_formats_use_camel_case_but_keep_names() -> None:
    doc = {"cpu_alloc_ratio": 1.5, "recommenders": {"krr-simple": {"oom_free_entity_days_ratio": float("nan")}},
           "rows": [{"memory_request_bytes": 1}], "static-65": 1}
    assert machine.to_json(doc).count("_") == 0
    assert '"krr-simple"' in machine.to_json(doc) and '"oomFreeEntityDaysRatio": null' in machine.to_json(doc)
    assert machine.to_csv([{"policy": "static-65", "checkpoint_bytes": {"mean_bytes": 3}}]).splitlines()[0] == (
        "policy,checkpointBytesMeanBytes")


def test_page_title_is_the_trace_name() -> None:
    assert page.trace_name("/data/shared/bitbrains_rnd/") == "bitbrains_rnd"
    assert page.trace_name(str(Path("/a/b/trace.parquet"))) == "trace.parquet"
