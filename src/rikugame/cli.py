"""The ``rikugame`` command line: demo, backtest, recommend (typer app).

One dialect for every command: ``-f/--format`` (table, json, yaml, csv, html) and ``-o/--output``; machine
formats in camelCase; every error is one line ``error: <flag>: <what is wrong>`` and exit code 2 (usage
errors from the parser too, see :class:`OneLineErrors`); help shows choices and plain metavars (no Python
type names); a flag that would be ignored is refused; every file written gets a ``wrote <path>`` line.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from typer._click.exceptions import (  # typer vendors click; these are its parser errors
    BadOptionUsage,
    BadParameter,
    MissingParameter,
    NoArgsIsHelpError,
    NoSuchOption,
    UsageError,
)
from typer.core import TyperGroup

from rikugame import __version__
from rikugame.commands.options import FORMAT_HELP, Format, fail
from rikugame.commands.traffic_policies import POLICIES
from rikugame.core import recommenders as registry
from rikugame.errors import InputError, RikugameError


def usage_error_line(exc: UsageError) -> str:
    """A parser error as ``<flag>: <what is wrong>`` (the part after ``error: ``)."""
    message = exc.message.removeprefix("Value error, ")
    if isinstance(exc, BadParameter) and exc.param is not None and exc.param.opts:
        flag = max(exc.param.opts, key=len)
        if isinstance(exc, MissingParameter):
            return f"{flag}: required"
        return f"{flag}: {message[:1].lower() + message[1:]}"
    if isinstance(exc, NoSuchOption):
        hint = f" ({', '.join(exc.possibilities)}?)" if exc.possibilities else ""
        return f"{exc.option_name}: no such option{hint}"
    if isinstance(exc, BadOptionUsage):
        if "requires an argument" in message:
            return f"{exc.option_name}: needs a value"
        return f"{exc.option_name}: {message}"
    return message[:1].lower() + message[1:]


class OneLineErrors(TyperGroup):
    """The app's group: parser errors (bad choice, unknown flag, missing value) are one line in the wording
    of every other error, ``error: <flag>: <what is wrong>``, exit code 2 — not click's usage block."""

    def main(self, args: Sequence[str] | None = None, prog_name: str | None = None,
             complete_var: str | None = None, standalone_mode: bool = True, windows_expand_args: bool = True,
             **extra: Any) -> Any:
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, False, windows_expand_args, **extra)
        try:
            code = super().main(args, prog_name, complete_var, False, windows_expand_args, **extra)
        except NoArgsIsHelpError as exc:
            exc.show()
            sys.exit(0)
        except UsageError as exc:
            fail(usage_error_line(exc))
            sys.exit(2)
        except typer.Abort:
            Console(stderr=True).print("aborted", highlight=False)
            sys.exit(1)
        sys.exit(code if isinstance(code, int) else 0)


app = typer.Typer(
    name="rikugame",
    help="Keeps Kubernetes workloads right-sized: requests/limits and HPA settings from real usage.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    cls=OneLineErrors,
)


@app.callback(invoke_without_command=True)
def _root(version: Annotated[bool, typer.Option("--version", help="Print the version.")] = False) -> None:
    if version:
        typer.echo(__version__)
        raise typer.Exit(0)


VERTICAL = ", ".join(registry.names())
HORIZONTAL = ", ".join(dict.fromkeys([*POLICIES, *(p.recommender for p in POLICIES.values())]))


@app.command()
def demo(
    fmt: Annotated[Format, typer.Option("--format", "-f", help="What to write to --output: the html page "
                                        "(default), or the scores as table, json, yaml or csv.")] = "html",
    output: Annotated[Path, typer.Option("--output", "-o", metavar="FILE", help="Where to write it.")] = Path(
        "rikugame-demo.html"),
) -> None:
    """Backtest every recommender on the bundled Bitbrains sample: the table on the terminal, the report page
    (or another format) in a file."""
    from rikugame.commands import backtest as backtest_command

    try:
        backtest_command.run_demo(output, fmt)
    except RikugameError as exc:
        raise fail(str(exc)) from exc


def refuse(flag: str, reason: str) -> None:
    """A flag that would be ignored or conflicts: one line, exit 2."""
    raise InputError(f"{flag}: {reason}")


@app.command()
def backtest(
    data: Annotated[Path | None, typer.Option(
        "--data", metavar="PATH", help="Usage trace: a .parquet/.csv file or a directory of them. Required "
                                       "unless --traffic is given.")] = None,
    recommender: Annotated[list[str] | None, typer.Option(
        "--recommender", "-r", metavar="NAME",
        help=f"Recommender to score (repeatable; default: all). One of: {VERTICAL}. "
             f"With --traffic, an HPA policy: {HORIZONTAL}.")] = None,
    fmt: Annotated[Format, typer.Option("--format", "-f", help=FORMAT_HELP)] = "table",
    output: Annotated[Path | None, typer.Option(
        "--output", "-o", metavar="FILE", help="Write the output to this file instead of stdout.")] = None,
    recompute: Annotated[str | None, typer.Option(
        "--recompute", metavar="DURATION", help="How often the core decides, e.g. 1h, 30m. [default: 1h]")] = None,
    warmup: Annotated[str | None, typer.Option(
        "--warmup", metavar="DURATION", help="Unscored warm-up per entity. [default: 24h]")] = None,
    export_requests: Annotated[Path | None, typer.Option(
        "--export-requests", metavar="FILE", help="Write the applied request timeline (Parquet).")] = None,
    policy: Annotated[Path | None, typer.Option(
        "--policy", metavar="FILE",
        help="YAML Tuner spec whose guardrails and bounds apply to every recommender.")] = None,
    oom_feedback: Annotated[bool | None, typer.Option(
        "--oom-feedback/--no-oom-feedback",
        help="Report memory over the limit to the tuner as OOM kills (default: no, count them as exposures).")]
    = None,
    max_entities: Annotated[int | None, typer.Option(
        "--max-entities", metavar="N", help="Use only the first N entities.")] = None,
    memory_risk_curve: Annotated[bool | None, typer.Option(
        "--memory-risk-curve/--no-memory-risk-curve",
        help="Also sweep rikugame's memory risk knob (memoryHeadroomCapBytes, 0 to 2 GiB) and show memory "
             "allocated against OOM-free entity-days for each setting (one replay per setting).")] = None,
    traffic: Annotated[Path | None, typer.Option(
        "--traffic", metavar="FILE", help="Request-rate trace: run the horizontal (HPA) scenario instead.")]
    = None,
    load_scale: Annotated[list[float] | None, typer.Option(
        "--load-scale", metavar="FACTOR",
        help="With --traffic: serve FACTOR times the users (repeatable). [default: 1000 and 100]")] = None,
    write_budget: Annotated[list[str] | None, typer.Option(
        "--write-budget", metavar="WRITES_PER_HOUR",
        help="With --traffic: add a rikugame row run at this HPA write budget (writes per hour, or 'unlimited'; "
             "repeatable), to show what the budget costs. [default: the policy's 2 per hour only]")] = None,
    scale_mode: Annotated[str | None, typer.Option(
        "--scale-mode", metavar="MODE",
        help="With --traffic: how --load-scale N grows the service: aggregate (N independent user populations, "
             "noise grows like √N; the default) or copy (every minute × N: a burst stress test).")] = None,
    export_hpa: Annotated[Path | None, typer.Option(
        "--export-hpa", metavar="FILE", help="With --traffic: write the HPA settings each policy applied "
                                             "(Parquet).")] = None,
    restart_every: Annotated[str | None, typer.Option(
        "--restart-every", metavar="DURATION",
        help="Save every tuning to JSON and rebuild it from that at every multiple of this duration (e.g. 5h), "
             "as an operator restart would; results must not change.")] = None,
    report: Annotated[Path | None, typer.Option(
        "--report", metavar="FILE", help="Deprecated: use -f html -o FILE. Still writes the HTML page "
                                         "besides the --format output.")] = None,
) -> None:
    """Replay a usage trace through the decision core and score slack, OOM risk and churn (or, with
    --traffic, HPA policies on a request-rate trace)."""
    from rikugame.commands import backtest as backtest_command

    try:
        if traffic is not None:
            from rikugame.commands import traffic as traffic_command

            vertical_only = (("--data", data, "not used with --traffic: the HPA scenario reads only the "
                                              "request-rate trace"),
                             ("--recompute", recompute, "not used with --traffic: HPA policies decide every "
                                                        "minute"),
                             ("--warmup", warmup, "not used with --traffic: its warm-up is the model's 7 days"),
                             ("--export-requests", export_requests, "not used with --traffic (see --export-hpa)"),
                             ("--policy", policy, "not used with --traffic"),
                             ("--oom-feedback", oom_feedback, "not used with --traffic"),
                             ("--max-entities", max_entities, "not used with --traffic"),
                             ("--memory-risk-curve", memory_risk_curve, "not used with --traffic"))
            for flag, value, reason in vertical_only:
                if value is not None:
                    refuse(flag, reason)
            traffic_command.run(traffic=traffic, load_scales=load_scale or [], fmt=fmt, output=output,
                                report=report, export_hpa=export_hpa, recommenders=recommender or [],
                                restart_every=restart_every, scale_mode=scale_mode or "aggregate",
                                write_budgets=write_budget or [])
            return
        if data is None:
            refuse("--data", "required (a usage trace), or --traffic FILE for the HPA scenario")
        if load_scale is not None:
            refuse("--load-scale", "only used with --traffic (the vertical backtest replays usage as it is)")
        if export_hpa is not None:
            refuse("--export-hpa", "only used with --traffic")
        if scale_mode is not None:
            refuse("--scale-mode", "only used with --traffic")
        if write_budget is not None:
            refuse("--write-budget", "only used with --traffic")
        assert data is not None
        backtest_command.run_backtest(
            data=data, recommenders=recommender or [], recompute=recompute or "1h", warmup=warmup or "24h",
            export_requests=export_requests, fmt=fmt, output=output, report=report, policy=policy,
            oom_feedback=bool(oom_feedback), max_entities=max_entities, restart_every=restart_every,
            memory_risk_curve=bool(memory_risk_curve))
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
