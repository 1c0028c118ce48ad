"""``rikugame recommend``: connection errors that cannot succeed fail at once, with one line and exit 2."""

from __future__ import annotations

import time

from typer.testing import CliRunner

from rikugame.cli import app


def test_missing_scheme_is_one_line_before_any_request() -> None:
    result = CliRunner().invoke(app, ["recommend", "-p", "prometheus.monitoring:9090"], env={"COLUMNS": "300"})
    assert result.exit_code == 2
    assert "needs an http:// or https:// scheme" in result.output
    assert "Traceback" not in result.output and len(result.output.strip().splitlines()) == 1


def test_a_name_that_does_not_resolve_is_not_retried() -> None:
    started = time.monotonic()
    result = CliRunner().invoke(app, ["recommend", "-p", "http://no-such-prometheus.invalid:9090", "--retries",
                                      "6"], env={"COLUMNS": "300"})
    assert result.exit_code == 2
    assert "does not resolve" in result.output
    assert time.monotonic() - started < 20  # 6 retries with backoff would take > 30 s
