"""One CLI dialect (issue 14.3), table-driven: the same -f/-o on every command, camelCase keys in every machine
format, one error line ``error: <flag>: <what is wrong>`` (exit 2, nothing on stdout, no work started),
choices and no Python type names in help, ignored or conflicting flags refused, ``wrote <path>`` for every
file written."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from report_pages import traffic_trace, usage_trace
from rikugame.cli import app
from rikugame.commands import traffic as traffic_command
from rikugame.core import recommenders
from rikugame.sim import replaying

runner = CliRunner()


def invoke(*args: str) -> Any:
    return runner.invoke(app, list(args), env={"COLUMNS": "120"})


# ---- help ---------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("command", ["demo", "backtest", "recommend"])
def test_help_lists_format_choices_output_and_no_python_type_names(command: str) -> None:
    result = invoke(command, "--help")
    assert result.exit_code == 0
    text = result.stdout
    assert re.search(r"-f, --format <table\|json\|yaml\|csv\|html>", text)
    assert re.search(r"-o, --output FILE", text)
    for python_type in ("<bool>", "<list[", "<str>", "<int>", "<float>", "<path>", "<Path>"):
        assert python_type not in text, python_type


@pytest.mark.parametrize("command", ["backtest", "recommend"])
def test_help_lists_every_registered_recommender(command: str) -> None:
    text = " ".join(invoke(command, "--help").stdout.split())
    for name in recommenders.names():
        assert name in text.replace("- ", "-"), name


def test_backtest_help_says_data_is_required_unless_traffic() -> None:
    text = " ".join(invoke("backtest", "--help").stdout.split())
    assert "Required unless --traffic is given" in text
    assert "--report FILE Deprecated: use -f html -o FILE" in text


# ---- errors: one line, the flag first -----------------------------------------------------------------------

TRACE = "missing-usage.parquet"  # never read: every row below is refused before any input is opened
TRAFFIC = "missing-requests.parquet"
ERRORS: dict[str, tuple[list[str], str]] = {
    "data-missing": (["backtest"], "--data: required"),
    "data-with-traffic": (["backtest", "--data", TRACE, "--traffic", TRAFFIC], "--data: not used with --traffic"),
    "recompute-with-traffic": (["backtest", "--traffic", TRAFFIC, "--recompute", "2h"],
                               "--recompute: not used with --traffic"),
    "warmup-with-traffic": (["backtest", "--traffic", TRAFFIC, "--warmup", "2h"], "--warmup: not used with"),
    "export-requests-with-traffic": (["backtest", "--traffic", TRAFFIC, "--export-requests", "q.parquet"],
                                     "--export-requests: not used with --traffic"),
    "policy-with-traffic": (["backtest", "--traffic", TRAFFIC, "--policy", "p.yaml"], "--policy: not used with"),
    "oom-feedback-with-traffic": (["backtest", "--traffic", TRAFFIC, "--oom-feedback"],
                                  "--oom-feedback: not used with"),
    "max-entities-with-traffic": (["backtest", "--traffic", TRAFFIC, "--max-entities", "3"],
                                  "--max-entities: not used with"),
    "memory-risk-curve-with-traffic": (["backtest", "--traffic", TRAFFIC, "--memory-risk-curve"],
                                       "--memory-risk-curve: not used with"),
    "memory-risk-curve-without-rikugame": (["backtest", "--data", TRACE, "-r", "vpa", "--memory-risk-curve"],
                                           "--memory-risk-curve: the knob is rikugame's"),
    "load-scale-without-traffic": (["backtest", "--data", TRACE, "--load-scale", "5"],
                                   "--load-scale: only used with --traffic"),
    "export-hpa-without-traffic": (["backtest", "--data", TRACE, "--export-hpa", "h.parquet"],
                                   "--export-hpa: only used with --traffic"),
    "bad-format": (["backtest", "--data", TRACE, "-f", "xml"], "--format: 'xml' is not one of 'table', 'json'"),
    "bad-format-recommend": (["recommend", "-p", "http://x", "--format", "xml"], "--format: 'xml' is not one of"),
    "bad-format-demo": (["demo", "-f", "pdf"], "--format: 'pdf' is not one of"),
    "unknown-recommender": (["backtest", "--data", TRACE, "-r", "nope"],
                            "--recommender: unknown recommender 'nope'; choose from: krr-simple"),
    "unknown-policy": (["backtest", "--traffic", TRAFFIC, "-r", "nope"],
                       "--recommender: unknown horizontal policy nope; choose from"),
    "negative-load-scale": (["backtest", "--traffic", TRAFFIC, "--load-scale", "-1"],
                            "--load-scale: must be a positive number, got -1"),
    "unknown-flag": (["backtest", "--nope"], "--nope: no such option"),
    "flag-without-value": (["backtest", "--data"], "--data: needs a value"),
    "not-a-number": (["backtest", "--data", TRACE, "--max-entities", "many"], "--max-entities: input should be"),
    "bad-duration": (["backtest", "--data", TRACE, "--recompute", "soon"], "--recompute: "),
    "prometheus-missing": (["recommend"], "--prometheus: give the Prometheus URL"),  # and no kubeconfig
    "cluster-without-label": (["recommend", "-p", "http://x", "--cluster", "eu"], "--cluster: needs --cluster-label"),
    "client-key-without-cert": (["recommend", "-p", "http://x", "--client-key", "k.pem"],
                                "--client-key: needs --client-cert"),
    "unknown-kind": (["recommend", "-p", "http://x", "--kind", "Pod"], "--kind: choose from"),
    "output-in-missing-directory": (["backtest", "--data", TRACE, "-o", "no/such/dir/out.json"],
                                    "--output no/such/dir/out.json: directory no/such/dir does not exist"),
}


@pytest.fixture
def no_work(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("work started before the flags were checked")

    monkeypatch.setattr(replaying, "replay", refuse)
    monkeypatch.setattr(traffic_command, "evaluate", refuse)


@pytest.mark.parametrize("case", list(ERRORS))
@pytest.mark.usefixtures("no_work")
def test_refused_flags_are_one_error_line_naming_the_flag(case: str, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOME", str(tmp_path))  # no ~/.kube/config: recommend would look for Prometheus there
    monkeypatch.delenv("KUBECONFIG", raising=False)
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    args, expected = ERRORS[case]
    result = invoke(*args)
    assert result.exit_code == 2, (result.stdout, result.stderr, result.exception)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"error: {expected}"), lines[0]
    assert result.stdout == ""
    assert "Traceback" not in result.stderr and "Usage:" not in result.stderr


# ---- formats: the same five everywhere, camelCase keys -------------------------------------------------------

def keys(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [k for k in value] + [k2 for v in value.values() for k2 in keys(v)]
    if isinstance(value, list):
        return [k for v in value for k in keys(v)]
    return []


def snake(names: list[str]) -> list[str]:
    return [k for k in names if "_" in k]


def check_json(text: str) -> None:
    assert snake(keys(json.loads(text))) == []


def check_yaml(text: str) -> None:
    assert snake(keys(yaml.safe_load(text))) == []


def check_csv(text: str) -> None:
    rows = list(csv.DictReader(io.StringIO(text)))
    assert rows and snake(list(rows[0])) == []


def check_table(text: str) -> None:
    assert "─" in text or "━" in text


def check_html(text: str) -> None:
    assert text.startswith("<!doctype html>") and "id='summary'" in text


CHECKS: dict[str, Callable[[str], None]] = {"json": check_json, "yaml": check_yaml, "csv": check_csv,
                                            "table": check_table, "html": check_html}


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("inputs")
    return {"usage": usage_trace(d / "usage.parquet", days=3, entities=2),
            "traffic": traffic_trace(d / "traffic.parquet")}


@pytest.mark.parametrize("fmt", list(CHECKS))
@pytest.mark.parametrize("scenario", ["vertical", "traffic"])
def test_every_format_to_a_file_says_wrote_and_uses_camel_case(inputs: dict[str, Path], tmp_path: Path, fmt: str,
                                                               scenario: str) -> None:
    out = tmp_path / f"out.{fmt}"
    source = (["--data", str(inputs["usage"]), "-r", "vpa"] if scenario == "vertical"
              else ["--traffic", str(inputs["traffic"]), "-r", "static-65", "--load-scale", "20"])
    result = invoke("backtest", *source, "-f", fmt, "-o", str(out))
    assert result.exit_code == 0, (result.stderr, result.exception)
    assert result.stdout == ""
    assert re.search(rf"^wrote {re.escape(str(out))} \(", result.stderr, flags=re.M), result.stderr
    CHECKS[fmt](out.read_text())


@pytest.mark.parametrize("fmt", ["json", "yaml", "csv", "table"])
def test_every_format_goes_to_stdout_without_output(inputs: dict[str, Path], fmt: str) -> None:
    result = invoke("backtest", "--data", str(inputs["usage"]), "-r", "vpa", "--format", fmt)
    assert result.exit_code == 0, (result.stderr, result.exception)
    CHECKS[fmt](result.stdout)
    assert "wrote" not in result.stderr


def test_machine_formats_keep_checkpoint_fields_in_camel_case(inputs: dict[str, Path]) -> None:
    vertical = json.loads(invoke("backtest", "--data", str(inputs["usage"]), "-r", "vpa", "-f", "json",
                                 "--restart-every", "10h").stdout)
    assert vertical["restartEverySeconds"] == 36000
    assert vertical["recommenders"]["vpa"]["checkpoints"]["restarts"] > 0
    assert vertical["recommenders"]["vpa"]["cpuAllocRatio"] > 0
    horizontal = json.loads(invoke("backtest", "--traffic", str(inputs["traffic"]), "-r", "static-65",
                                   "--load-scale", "20", "-f", "json", "--restart-every", "1d").stdout)
    assert horizontal["checkpointBytes"]["static-65"]["checkpoints"] == 7
    assert horizontal["scales"][0]["loadScale"] == 20
    assert horizontal["policies"]["static-65"]["replicaHours"] > 0


def test_report_still_works_as_a_deprecated_alias(inputs: dict[str, Path], tmp_path: Path) -> None:
    page = tmp_path / "old.html"
    result = invoke("backtest", "--data", str(inputs["usage"]), "-r", "vpa", "--report", str(page))
    assert result.exit_code == 0, (result.stderr, result.exception)
    assert "warning: --report: deprecated, use -f html -o FILE" in result.stderr
    assert f"wrote {page}" in result.stderr
    check_html(page.read_text())
    check_table(result.stdout)  # the --format output (table) as before


def test_every_exported_file_gets_a_wrote_line(inputs: dict[str, Path], tmp_path: Path) -> None:
    export = tmp_path / "req.parquet"
    result = invoke("backtest", "--data", str(inputs["usage"]), "-r", "vpa", "-r", "krr-simple",
                    "--export-requests", str(export), "-f", "json", "-o", str(tmp_path / "s.json"))
    assert result.exit_code == 0, (result.stderr, result.exception)
    for path in (tmp_path / "req-vpa.parquet", tmp_path / "req-krr-simple.parquet", tmp_path / "s.json"):
        assert path.exists() and f"wrote {path} (" in result.stderr
    hpa = tmp_path / "hpa.parquet"
    result = invoke("backtest", "--traffic", str(inputs["traffic"]), "-r", "static-65", "--load-scale", "20",
                    "--export-hpa", str(hpa))
    assert result.exit_code == 0 and f"wrote {hpa} (" in result.stderr


def test_traffic_reports_progress_for_every_run(inputs: dict[str, Path]) -> None:
    trace = traffic_command.read_traffic(inputs["traffic"])
    seen: list[tuple[int, int]] = []
    traffic_command.evaluate(trace, [20.0], ["static-65", "static-80"], workers=1,
                             progress=lambda done, total: seen.append((done, total)))
    assert seen == [(1, 3), (2, 3), (3, 3)]  # two policies, then the oracle
