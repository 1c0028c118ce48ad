"""The ``rikugame`` command line: demo, backtest, recommend (typer app)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from rikugame import __version__
from rikugame.commands.options import fail
from rikugame.errors import RikugameError

app = typer.Typer(
    name="rikugame",
    help="Keeps Kubernetes workloads right-sized: requests/limits and HPA settings from real usage.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
@app.callback(invoke_without_command=True)
def _root(version: Annotated[bool, typer.Option("--version", help="Print the version.")] = False) -> None:
    if version:
        typer.echo(__version__)
        raise typer.Exit(0)


@app.command()
def demo(
    output: Annotated[Path, typer.Option("--output", "-o", help="Where to write the HTML report.")] = Path(
        "rikugame-demo.html"),
) -> None:
    """Backtest every recommender on the bundled Bitbrains sample and write an HTML report."""
    from rikugame.commands import backtest as backtest_command

    try:
        backtest_command.run_demo(output)
    except RikugameError as exc:
        raise fail(str(exc)) from exc


@app.command()
def backtest(
    data: Annotated[Path | None, typer.Option("--data", help="Usage trace: a .parquet/.csv file or a directory.")]
    = None,
    recommender: Annotated[list[str] | None, typer.Option(
        "--recommender", "-r", help="Recommender to score (repeatable). Default: all.")] = None,
    recompute: Annotated[str, typer.Option("--recompute", help="Recompute period, e.g. 1h, 30m.")] = "1h",
    warmup: Annotated[str, typer.Option("--warmup", help="Unscored warm-up per entity.")] = "24h",
    export_requests: Annotated[Path | None, typer.Option(
        "--export-requests", help="Write the applied request timeline (Parquet).")] = None,
    fmt: Annotated[str, typer.Option("--format", help="table or json.")] = "table",
    report: Annotated[Path | None, typer.Option("--report", help="Write an HTML report with plots.")] = None,
    policy: Annotated[Path | None, typer.Option(
        "--policy", help="YAML Tuner spec whose guardrails and bounds apply to every recommender.")] = None,
    oom_feedback: Annotated[bool, typer.Option(
        "--oom-feedback/--no-oom-feedback",
        help="Report memory over the limit to the tuner as OOM kills (off: treat as exposures).")] = False,
    max_entities: Annotated[int | None, typer.Option("--max-entities", help="Use only the first N entities.")]
    = None,
    traffic: Annotated[Path | None, typer.Option(
        "--traffic", help="Request-rate trace: run the horizontal (HPA) scenario instead.")] = None,
    load_scale: Annotated[list[float] | None, typer.Option(
        "--load-scale", help="Traffic multiplier for --traffic (repeatable).")] = None,
    export_hpa: Annotated[Path | None, typer.Option(
        "--export-hpa", help="With --traffic: write the HPA settings each policy applied (Parquet).")] = None,
    restart_every: Annotated[str | None, typer.Option(
        "--restart-every", help="Save every tuning to JSON and rebuild it from that at every multiple of this "
                                "duration (e.g. 5h), as an operator restart would; results must not change.")]
    = None,
) -> None:
    """Replay a usage trace through the decision core and score slack, OOM risk and churn."""
    from rikugame.commands import backtest as backtest_command

    try:
        if traffic is not None:
            from rikugame.commands import traffic as traffic_command

            traffic_command.run(traffic=traffic, load_scales=load_scale or [], fmt=fmt, report=report,
                                export_hpa=export_hpa, recommenders=recommender or [],
                                restart_every=restart_every)
            return
        if data is None:
            raise fail("--data (or --traffic) is required")
        backtest_command.run_backtest(
            data=data, recommenders=recommender or [], recompute=recompute, warmup=warmup,
            export_requests=export_requests, fmt=fmt, report=report, policy=policy,
            oom_feedback=oom_feedback, max_entities=max_entities, restart_every=restart_every)
    except RikugameError as exc:
        raise fail(str(exc)) from exc


def _register_optional_commands() -> None:
    """Commands whose modules live with their front end (recommend, operator, manifests)."""
    from rikugame.commands import manifests, operator, persist, recommend

    app.command(name="recommend")(recommend.recommend)
    app.command(name="operator")(operator.operator)
    app.command(name="persist")(persist.persist)
    app.command(name="manifests")(manifests.manifests)


_register_optional_commands()


def main() -> None:
    """Console-script entry point."""
    try:
        app()
    except BrokenPipeError:  # e.g. `rikugame backtest … | head`
        sys.stderr.close()


if __name__ == "__main__":
    main()

