"""Input you can trust (issue 14.1): every bad trace or output path is one ``error:`` line and exit 2, and
every accepted time encoding scores exactly like plain Unix seconds.

Each row builds its file in ``tmp_path`` (Parquet through pyarrow, CSV as text) and runs the real CLI.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from rikugame.cli import app
from rikugame.commands import traffic as traffic_command
from rikugame.sim import replaying

T0 = 1_372_636_800  # 2013-07-01 00:00 UTC
STEP = 300
HOURS = 30  # 6 h scored after the 24 h warm-up
PER_ENTITY = HOURS * 3600 // STEP
GIB = 2**30
BAD = PER_ENTITY + 7
"""Index of the bad cell in the bad-value rows: entity vm-1's 8th sample; reported as row BAD + 1."""
runner = CliRunner()


@dataclass(frozen=True)
class Outcome:
    code: int
    stdout: str
    stderr: str
    exception: BaseException | None


def cli(*args: str) -> Outcome:
    result = runner.invoke(app, list(args))
    return Outcome(result.exit_code, result.stdout, result.stderr, result.exception)


def columns(hours: int = HOURS, entities: int = 2) -> dict[str, list]:
    """A plain trace: Unix-second integers, two VMs with varying CPU and memory."""
    n = hours * 3600 // STEP
    ts, ent, cpu, mem = [], [], [], []
    for e in range(entities):
        for i in range(n):
            ts.append(T0 + i * STEP)
            ent.append(f"vm-{e}")
            cpu.append(round(0.5 * (e + 1) + 0.2 * np.sin(i / 9 + e), 4))
            mem.append(int(GIB * (e + 1) * (1 + 0.1 * np.cos(i / 13))))
    return {"timestamp": ts, "entity": ent, "cpu_cores": cpu, "memory_bytes": mem}


def parquet(path: Path, data: dict[str, list | pa.Array]) -> Path:
    pq.write_table(pa.table(data), path)
    return path


def csv(path: Path, data: dict[str, list]) -> Path:
    names = list(data)
    lines = [",".join(names)] + [",".join("" if v is None else str(v) for v in row)
                                 for row in zip(*(data[c] for c in names), strict=True)]
    path.write_text("\n".join(lines) + "\n")
    return path


def with_cell(data: dict[str, list], column: str, index: int, value: object) -> dict[str, list]:
    changed = {k: list(v) for k, v in data.items()}
    changed[column][index] = value
    return changed


def iso(seconds: int, offset_hours: int | None = None) -> str:
    """ISO-8601 text of a Unix time: naive (UTC) or with an offset (same instant)."""
    stamp = datetime.fromtimestamp(seconds, UTC)
    if offset_hours is None:
        return stamp.replace(tzinfo=None).isoformat()
    zone = UTC if offset_hours == 0 else timezone(timedelta(hours=offset_hours))
    return stamp.astimezone(zone).isoformat().replace("+00:00", "Z")


def unwritable_directory(tmp_path: Path) -> Path:
    """A directory no file can be created in (as root only a kernel file system refuses)."""
    if os.geteuid() == 0:
        directory = Path("/sys")
    else:
        directory = tmp_path / "locked"
        directory.mkdir()
        directory.chmod(0o555)
    try:
        with tempfile.NamedTemporaryFile(dir=directory):
            pytest.skip(f"{directory} is writable here")
    except OSError:
        pass
    return directory


# ---- bad input: one line, exit 2 -------------------------------------------------------------------------

Build = Callable[[Path], list[str]]


def data_args(path: Path, *extra: str) -> list[str]:
    return ["backtest", "--data", str(path), "-r", "vpa", *extra]


BAD_TRACES: dict[str, tuple[Build, list[str]]] = {
    "negative-cpu-parquet": (
        lambda d: data_args(parquet(d / "t.parquet", with_cell(columns(), "cpu_cores", BAD, -0.5))),
        ["column 'cpu_cores'", "entity 'vm-1'", f"row {BAD + 1}", "negative value -0.5"]),
    "negative-memory-parquet": (
        lambda d: data_args(parquet(d / "t.parquet", with_cell(columns(), "memory_bytes", BAD, -GIB))),
        ["column 'memory_bytes'", "entity 'vm-1'", f"row {BAD + 1}", "negative value"]),
    "infinite-memory-parquet": (
        lambda d: data_args(parquet(d / "t.parquet", {**columns(), "memory_bytes": pa.array(
            with_cell(columns(), "memory_bytes", BAD, float("inf"))["memory_bytes"], pa.float64())})),
        ["column 'memory_bytes'", "entity 'vm-1'", f"row {BAD + 1}", "infinite value"]),
    "infinite-cpu-csv": (
        lambda d: data_args(csv(d / "t.csv", with_cell(columns(), "cpu_cores", BAD, "inf"))),
        ["column 'cpu_cores'", "entity 'vm-1'", f"row {BAD + 1}", "infinite value"]),
    "non-numeric-cpu-csv": (
        lambda d: data_args(csv(d / "t.csv", with_cell(columns(), "cpu_cores", BAD, "1x5"))),
        ["column 'cpu_cores'", "entity 'vm-1'", f"row {BAD + 1}", "'1x5' is not a number"]),
    "non-numeric-memory-parquet-text": (
        lambda d: data_args(parquet(d / "t.parquet", {**columns(), "memory_bytes": [
            str(v) for v in with_cell(columns(), "memory_bytes", BAD, "lots")["memory_bytes"]]})),
        ["column 'memory_bytes'", "entity 'vm-1'", f"row {BAD + 1}", "'lots' is not a number"]),
    "non-numeric-cpu-percent-csv": (
        lambda d: data_args(csv(d / "t.csv", {"timestamp": columns()["timestamp"], "entity": columns()["entity"],
                                              "cpu_percent_avg": with_cell(columns(), "cpu_cores", BAD,
                                                                           "n/a%")["cpu_cores"]})),
        ["column 'cpu_percent_avg'", "entity 'vm-1'", f"row {BAD + 1}", "'n/a%' is not a number"]),
    "non-time-text-csv": (
        lambda d: data_args(csv(d / "t.csv", with_cell(columns(), "timestamp", BAD, "yesterday"))),
        ["column 'timestamp'", "entity 'vm-1'", f"row {BAD + 1}", "'yesterday' is neither Unix seconds nor"]),
    "missing-time-csv": (
        lambda d: data_args(csv(d / "t.csv", with_cell(columns(), "timestamp", BAD, None))),
        ["column 'timestamp'", "entity 'vm-1'", f"row {BAD + 1}", "missing time"]),
    "milliseconds-as-plain-integers": (
        lambda d: data_args(parquet(d / "t.parquet", {**columns(), "timestamp": [
            t * 1000 for t in columns()["timestamp"]]})),
        ["column 'timestamp'", "entity 'vm-0'", "row 1", "not milliseconds"]),
    "negative-time": (
        lambda d: data_args(parquet(d / "t.parquet", with_cell(columns(), "timestamp", BAD, -60))),
        ["column 'timestamp'", "entity 'vm-1'", f"row {BAD + 1}", "before 1970"]),
    "missing-entity-csv": (
        lambda d: data_args(csv(d / "t.csv", with_cell(columns(), "entity", BAD, None))),
        ["column 'entity'", f"row {BAD + 1}", "missing entity name"]),
    "entity-of-float-type": (
        lambda d: data_args(parquet(d / "t.parquet", {**columns(), "entity": [
            float(e[-1]) for e in columns()["entity"]]})),
        ["t.parquet: column 'entity'", "type double is not an entity name"]),
    "bad-file-named-in-directory": (
        lambda d: data_args(_two_files(d)),
        ["b.csv: column 'cpu_cores'", "entity 'vm-1'", f"row {BAD + 1}", "negative value"]),
    "every-entity-shorter-than-warm-up": (
        lambda d: data_args(parquet(d / "t.parquet", _uneven_short_entities())),
        ["nothing to score", "warm-up (24h)", "the longest, 'vm-1', spans 5h 55m"]),
    "shorter-than-a-given-warm-up": (
        lambda d: data_args(parquet(d / "t.parquet", columns()), "--warmup", "2d"),
        ["nothing to score", "warm-up (2d)", "spans 1d 5h"]),
    "max-entities-zero": (
        lambda d: data_args(parquet(d / "t.parquet", columns()), "--max-entities", "0"),
        ["--max-entities", "got 0"]),
    "max-entities-negative": (
        lambda d: data_args(parquet(d / "t.parquet", columns()), "--max-entities", "-3"),
        ["--max-entities", "got -3"]),
}


def _uneven_short_entities() -> dict[str, list]:
    """vm-0 spans 2h 25m, vm-1 5h 55m: both shorter than the 24 h warm-up."""
    data = columns(hours=6)
    keep = [i for i, e in enumerate(data["entity"]) if e == "vm-1" or i < 30]
    return {k: [vs[i] for i in keep] for k, vs in data.items()}


def _two_files(directory: Path) -> Path:
    trace = directory / "trace"
    trace.mkdir()
    good = columns()
    csv(trace / "a.csv", good)
    csv(trace / "b.csv", with_cell(good, "cpu_cores", BAD, -1))
    return trace


def assert_one_error_line(out: Outcome, fragments: list[str]) -> None:
    assert out.code == 2, (out.stdout, out.stderr, out.exception)
    assert "Traceback" not in out.stdout + out.stderr
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1, out.stderr
    assert lines[0].startswith("error: ")
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])
    assert out.stdout == ""


@pytest.mark.parametrize("case", list(BAD_TRACES))
def test_bad_trace_is_one_error_line_naming_the_cell_and_exit_2(tmp_path: Path, case: str) -> None:
    build, fragments = BAD_TRACES[case]
    assert_one_error_line(cli(*build(tmp_path)), fragments)


# ---- output paths: checked before the replay starts -------------------------------------------------------

def _missing_dir(d: Path, flag: str, name: str) -> list[str]:
    return [flag, str(d / "missing" / name)]


BAD_OUTPUTS: dict[str, tuple[Callable[[Path], list[str]], list[str]]] = {
    "report-in-missing-directory": (lambda d: _missing_dir(d, "--report", "r.html"),
                                    ["--report", "directory", "missing", "does not exist"]),
    "report-is-a-directory": (lambda d: ["--report", str(d)], ["--report", "is a directory"]),
    "report-in-unwritable-directory": (lambda d: ["--report", str(unwritable_directory(d) / "r.html")],
                                       ["--report", "cannot write to directory"]),
    "report-parent-is-a-file": (lambda d: ["--report", str(d / "t.parquet" / "r.html")],
                                ["--report", "t.parquet is not a directory"]),
    "export-requests-in-missing-directory": (lambda d: _missing_dir(d, "--export-requests", "q.parquet"),
                                             ["--export-requests", "does not exist"]),
    "export-requests-per-recommender-is-a-directory": (
        lambda d: ["-r", "krr-simple", "--export-requests", str(_mkdir(d / "q-vpa.parquet").with_name("q.parquet"))],
        ["--export-requests", "q-vpa.parquet: is a directory"]),
}


def _mkdir(path: Path) -> Path:
    path.mkdir()
    return path


@pytest.fixture
def replay_must_not_start(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("the replay started before the output paths were checked")

    monkeypatch.setattr(replaying, "replay", refuse)
    monkeypatch.setattr(traffic_command, "evaluate", refuse)


@pytest.mark.parametrize("case", list(BAD_OUTPUTS))
@pytest.mark.usefixtures("replay_must_not_start")
def test_bad_output_path_fails_before_the_replay_and_creates_nothing(tmp_path: Path, case: str) -> None:
    build, fragments = BAD_OUTPUTS[case]
    data = parquet(tmp_path / "t.parquet", columns())
    args = data_args(data, *build(tmp_path))
    before = sorted(tmp_path.rglob("*"))
    assert_one_error_line(cli(*args), fragments)
    assert sorted(tmp_path.rglob("*")) == before


# ---- traffic (--traffic) ----------------------------------------------------------------------------------

TRAFFIC_DAYS = 8  # 7 days of warm-up + 1 scored


def traffic_columns(days: float = TRAFFIC_DAYS) -> dict[str, list]:
    minutes = int(days * 1440)
    t0 = 804_556_800  # 1995-07-01 00:00 UTC
    return {"timestamp": [t0 + 60 * i for i in range(minutes)],
            "requests": [float(round(40 + 30 * np.sin(i / 1440 * 2 * np.pi) + (i % 7), 1))
                         for i in range(minutes)]}


def traffic_args(path: Path, *extra: str) -> list[str]:
    return ["backtest", "--traffic", str(path), "-r", "static-50", "--load-scale", "20", *extra]


TRAFFIC_ROW = 1000
BAD_TRAFFIC: dict[str, tuple[Build, list[str]]] = {
    "negative-requests": (
        lambda d: traffic_args(parquet(d / "r.parquet", with_cell(traffic_columns(1), "requests", TRAFFIC_ROW,
                                                                  -3.0))),
        ["r.parquet: column 'requests'", f"row {TRAFFIC_ROW + 1}", "negative value -3"]),
    "infinite-requests": (
        lambda d: traffic_args(parquet(d / "r.parquet", with_cell(traffic_columns(1), "requests", TRAFFIC_ROW,
                                                                  float("inf")))),
        ["column 'requests'", f"row {TRAFFIC_ROW + 1}", "infinite value"]),
    "non-numeric-requests-csv": (
        lambda d: traffic_args(csv(d / "r.csv", with_cell(traffic_columns(1), "requests", TRAFFIC_ROW, "many"))),
        ["r.csv: column 'requests'", f"row {TRAFFIC_ROW + 1}", "'many' is not a number"]),
    "non-time-text-csv": (
        lambda d: traffic_args(csv(d / "r.csv", with_cell(traffic_columns(1), "timestamp", TRAFFIC_ROW, "noon"))),
        ["column 'timestamp'", f"row {TRAFFIC_ROW + 1}", "'noon' is neither Unix seconds nor"]),
    "nanoseconds-as-plain-integers": (
        lambda d: traffic_args(parquet(d / "r.parquet", {**traffic_columns(1), "timestamp": [
            t * 10**9 for t in traffic_columns(1)["timestamp"]]})),
        ["column 'timestamp'", "row 1", "not milliseconds or nanoseconds"]),
    "shorter-than-warm-up": (
        lambda d: traffic_args(parquet(d / "r.parquet", traffic_columns(2))),
        ["nothing to score", "7-day warm-up", "spans 2.0 days"]),
    "export-hpa-in-missing-directory": (
        lambda d: traffic_args(parquet(d / "r.parquet", traffic_columns(1)), "--export-hpa",
                               str(d / "nope" / "h.parquet")),
        ["--export-hpa", "does not exist"]),
    "report-is-a-directory": (
        lambda d: traffic_args(parquet(d / "r.parquet", traffic_columns(1)), "--report", str(d)),
        ["--report", "is a directory"]),
}


@pytest.mark.parametrize("case", list(BAD_TRAFFIC))
@pytest.mark.usefixtures("replay_must_not_start")
def test_bad_traffic_input_is_one_error_line_and_exit_2(tmp_path: Path, case: str) -> None:
    build, fragments = BAD_TRAFFIC[case]
    assert_one_error_line(cli(*build(tmp_path)), fragments)


# ---- accepted encodings: identical scores -----------------------------------------------------------------

def scores_json(out: Outcome) -> dict:
    assert out.code == 0, (out.stderr, out.exception)
    payload = json.loads(out.stdout)
    payload.pop("trace")
    for row in payload.get("recommenders", {}).values():
        row.pop("seconds")
    return payload


def _timestamps(unit: str, tz: str | None = None) -> Build:
    per_second = {"s": 1, "ms": 1_000, "us": 1_000_000, "ns": 1_000_000_000}[unit]
    return lambda d: data_args(parquet(d / "t.parquet", {**columns(), "timestamp": pa.array(
        [t * per_second for t in columns()["timestamp"]], pa.timestamp(unit, tz=tz))}))


ENCODINGS: dict[str, Build] = {
    "timestamp-s": _timestamps("s"),
    "timestamp-ms": _timestamps("ms"),
    "timestamp-us-utc": _timestamps("us", "UTC"),
    "timestamp-ns": _timestamps("ns"),
    "timestamp-ns-berlin": _timestamps("ns", "Europe/Berlin"),
    "float-seconds-with-fractions": lambda d: data_args(parquet(d / "t.parquet", {
        **columns(), "timestamp": [t + 0.75 for t in columns()["timestamp"]]})),
    "csv-unix-seconds": lambda d: data_args(csv(d / "t.csv", columns())),
    "csv-iso-naive": lambda d: data_args(csv(d / "t.csv", {**columns(), "timestamp": [
        iso(t) for t in columns()["timestamp"]]})),
    "csv-iso-z": lambda d: data_args(csv(d / "t.csv", {**columns(), "timestamp": [
        iso(t, 0) for t in columns()["timestamp"]]})),
    "csv-iso-offsets-mixed": lambda d: data_args(csv(d / "t.csv", {**columns(), "timestamp": [
        iso(t, 2 if i % 2 else -5) for i, t in enumerate(columns()["timestamp"])]})),
    "csv-pandas-style-utc": lambda d: data_args(csv(d / "t.csv", {**columns(), "timestamp": [
        iso(t).replace("T", " ") + "+00:00" for t in columns()["timestamp"]]})),
    "csv-iso-milliseconds-z": lambda d: data_args(csv(d / "t.csv", {**columns(), "timestamp": [
        iso(t) + ".250Z" for t in columns()["timestamp"]]})),
    "parquet-iso-text-space-separated": lambda d: data_args(parquet(d / "t.parquet", {**columns(), "timestamp": [
        iso(t).replace("T", " ") for t in columns()["timestamp"]]})),
    "parquet-integer-entities": lambda d: data_args(parquet(d / "t.parquet", {
        **columns(), "entity": [int(e[-1]) for e in columns()["entity"]]})),
    "parquet-dictionary-entities-float-memory": lambda d: data_args(parquet(d / "t.parquet", {
        **columns(), "entity": pa.array(columns()["entity"]).dictionary_encode(),
        "memory_bytes": pa.array(columns()["memory_bytes"], pa.float64())})),
}


@pytest.fixture(scope="module")
def plain_scores(tmp_path_factory: pytest.TempPathFactory) -> dict:
    path = parquet(tmp_path_factory.mktemp("plain") / "t.parquet", columns())
    return scores_json(cli(*data_args(path, "--format", "json")))


@pytest.mark.parametrize("case", list(ENCODINGS))
def test_time_encoding_scores_identical_to_plain_seconds(tmp_path: Path, case: str, plain_scores: dict) -> None:
    out = cli(*ENCODINGS[case](tmp_path), "--format", "json")
    assert scores_json(out) == plain_scores
    assert out.stderr.count("warning") == 0, out.stderr


def test_plain_scores_are_scored_at_all(plain_scores: dict) -> None:
    """Guards the comparisons above: a run that scored nothing would compare equal too."""
    vpa = plain_scores["recommenders"]["vpa"]
    assert vpa["scoredSamples"] == 2 * (HOURS - 24) * 3600 // STEP
    assert vpa["cpuAllocRatio"] > 1.0


def test_nan_cpu_rows_are_dropped_with_a_counted_warning(tmp_path: Path) -> None:
    data = columns()
    gap = range(BAD, BAD + 3)
    cpu = pa.array([None if i in gap else v for i, v in enumerate(data["cpu_cores"])], pa.float64())
    with_gaps = cli(*data_args(parquet(tmp_path / "gap.parquet", {**data, "cpu_cores": cpu}), "--format", "json"))
    without = cli(*data_args(parquet(tmp_path / "cut.parquet", {
        k: [v for i, v in enumerate(vs) if i not in gap] for k, vs in data.items()}), "--format", "json"))
    assert scores_json(with_gaps) == scores_json(without)
    warnings = [line for line in with_gaps.stderr.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1
    assert f"dropped 3 of {2 * PER_ENTITY:,} rows without a CPU value" in warnings[0]


def test_nan_memory_keeps_the_cpu_sample_with_a_counted_warning(tmp_path: Path, plain_scores: dict) -> None:
    data = columns()
    gap = range(PER_ENTITY - 10, PER_ENTITY)  # vm-0's last 10 samples, inside the scored hours
    mem = pa.array([float("nan") if i in gap else float(v) for i, v in enumerate(data["memory_bytes"])])
    out = cli(*data_args(parquet(tmp_path / "t.parquet", {**data, "memory_bytes": mem}), "--format", "json"))
    vpa, plain = scores_json(out)["recommenders"]["vpa"], plain_scores["recommenders"]["vpa"]
    assert vpa["scoredSamples"] == plain["scoredSamples"]
    assert vpa["cpuAllocRatio"] == plain["cpuAllocRatio"]
    assert vpa["memoryAllocRatio"] != plain["memoryAllocRatio"]
    assert "10 rows have no memory_bytes value" in out.stderr


def test_entities_shorter_than_the_warm_up_are_named_in_a_warning_and_the_rest_scored(tmp_path: Path) -> None:
    data = columns(entities=3)
    short = set([i for i, e in enumerate(data["entity"]) if e == "vm-2"][60:])  # vm-2 keeps 5 h
    cut = {k: [v for i, v in enumerate(vs) if i not in short] for k, vs in data.items()}
    out = cli(*data_args(parquet(tmp_path / "t.parquet", cut), "--format", "json"))
    assert scores_json(out)["recommenders"]["vpa"]["entities"] == 2
    assert "warning: 1 of 3 entities span less than the warm-up (24h) and are not scored" in out.stderr


@pytest.mark.parametrize("encode", [
    pytest.param(lambda d, c: parquet(d / "r.parquet", {**c, "timestamp": pa.array(
        [t * 1000 for t in c["timestamp"]], pa.timestamp("ms"))}), id="timestamp-ms"),
    pytest.param(lambda d, c: csv(d / "r.csv", {**c, "timestamp": [iso(t, 0) for t in c["timestamp"]]}),
                 id="csv-iso-z"),
])
def test_traffic_time_encoding_scores_identical_to_plain_seconds(tmp_path: Path, encode) -> None:
    data = traffic_columns()
    plain = cli(*traffic_args(parquet(tmp_path / "plain.parquet", data), "--format", "json"))
    encoded = cli(*traffic_args(encode(tmp_path, data), "--format", "json"))
    assert scores_json(encoded) == scores_json(plain)
    assert scores_json(plain)["policies"]["static-50"]["replicaHours"] > 0


# ---- the real console script ------------------------------------------------------------------------------

def test_console_script_reads_a_nanosecond_datetime_file_and_refuses_a_bad_cell(tmp_path: Path) -> None:
    """The two crashes of the issue ("Unable to allocate 536 GiB", ArrowInvalid) through a real process."""
    ns = parquet(tmp_path / "ns.parquet", {**columns(), "timestamp": pa.array(
        [t * 10**9 for t in columns()["timestamp"]], pa.timestamp("ns"))})
    bad = csv(tmp_path / "bad.csv", with_cell(columns(), "cpu_cores", BAD, "abc"))
    command = [sys.executable, "-m", "rikugame.cli", "backtest", "-r", "vpa", "--format", "json", "--data"]
    good = subprocess.run([*command, str(ns)], capture_output=True, text=True, timeout=300, check=False)
    assert good.returncode == 0, good.stderr
    assert json.loads(good.stdout)["recommenders"]["vpa"]["scoredSamples"] > 0
    refused = subprocess.run([*command, str(bad)], capture_output=True, text=True, timeout=300, check=False)
    assert refused.returncode == 2
    assert refused.stderr.strip().splitlines() == [
        f"error: {bad}: column 'cpu_cores', entity 'vm-1', row {BAD + 1}: 'abc' is not a number"]
    assert refused.stdout == ""
