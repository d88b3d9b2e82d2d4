"""The `optimise` command: parses options, calls the package, prints. No logic lives here."""

from __future__ import annotations

import os
import signal
import sys


def _interrupted_while_starting(signum: int, frame: object) -> None:
    """Ctrl-C while the imports below load (a second or so), before the command's own handling
    exists: the same line and exit code as later, not a traceback from inside an import.
    The process ends at once (``os._exit``): nothing has been written yet, and an exception
    raised here can land in an import's callback, which ignores it and carries on."""
    sys.stderr.write("interrupted (Ctrl-C): stopped, no results half-written\n")
    sys.stderr.flush()
    os._exit(130)


signal.signal(signal.SIGINT, _interrupted_while_starting)

# the imports come after the handler, so that a Ctrl-C while they load is heard by it
import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Self

import click
from rich.console import Console
from rich.markup import escape

from optimiser.errors import InputError, Problem, SolveError
from optimiser.loading import load_instance
from optimiser.solvers import SOLVERS
from optimiser.verify import verify_results

# from here Ctrl-C raises KeyboardInterrupt, which OptimiseGroup turns into the same exit
signal.signal(signal.SIGINT, signal.default_int_handler)

console = Console(stderr=True)
#: what --log FILE records: each command's stages with their times, warnings, errors, outputs
log = logging.getLogger("optimise")
# without a handler, logging's last resort would print every error to stderr a second time
log.addHandler(logging.NullHandler())


class OptimiseGroup(click.Group):
    """Turns known errors into a short message and an exit code (never a traceback)."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except InputError as error:
            log.error("input error: %s", error.report())
            console.print(f"[red]error:[/red] {escape(error.report())}", highlight=False, soft_wrap=True)
            sys.exit(2)
        except SolveError as error:
            log.error("no plan: %s", error)
            console.print(f"[red]no plan:[/red] {escape(str(error))}", highlight=False, soft_wrap=True)
            sys.exit(1)
        except KeyboardInterrupt:
            # 130 = 128 + SIGINT, as shells report it; results are written whole or not at all
            # (optimiser.writers.write_folder), so there is nothing to clean up here
            log.error("interrupted (Ctrl-C)")
            console.print("[red]interrupted[/red] (Ctrl-C): stopped, no results half-written",
                          highlight=False)
            sys.exit(130)


@click.group(cls=OptimiseGroup)
@click.version_option(package_name="optimise")
def main() -> None:
    """optimise: plan placements across a consortium framework's authorities and providers."""


def _options(*decorators):
    """One decorator applying several click options (shared by the commands)."""
    def apply(function):
        for decorator in reversed(decorators):
            function = decorator(function)
        return function
    return apply


#: where independent solves run (compare, guarantee)
executor_options = _options(
    click.option("--workers", type=click.IntRange(min=1),
                 help="processes solving in parallel (default: all cores)"),
    click.option("--executor", type=click.Choice(["local", "dask"]), default="local",
                 show_default=True, help="local process pool, or a Dask cluster"),
    click.option("--address", help="Dask scheduler, e.g. tcp://host:8786 (default with "
                 "--executor dask: a local Dask cluster of --workers processes)"),
)

#: the solver and the policy overrides (every command that solves)
solver_options = _options(
    click.option("--solver", type=click.Choice(sorted(SOLVERS))),
    click.option("--time-limit", type=float, help="seconds per solve"),
    click.option("--set", "settings", multiple=True, metavar="KEY=VALUE",
                 help="override any policy key (repeatable)"),
)


#: what an analysis command shows and adds: its progress bar, and the reports
display_options = _options(
    click.option("--quiet", is_flag=True, help="no progress bar"),
    click.option("--report/--no-report", default=True, show_default=True,
                 help="report.html and report.xlsx beside the result files"),
)


def _print_warnings(warnings) -> None:
    for warning in warnings:
        log.warning("%s", warning)
        console.print(f"[yellow]warning:[/yellow] {escape(warning)}", highlight=False, soft_wrap=True)


# --quiet, --log and the progress of a command's stages ------------------------------------

def _start_log(ctx: click.Context, _param: click.Parameter, path: str | None) -> None:
    """Append this command's log to ``path``; the handler goes when the command ends (tests
    run many commands in one process)."""
    if path is None:
        return
    try:
        handler = logging.FileHandler(path, mode="a", encoding="utf-8")
    except OSError as error:
        raise click.BadParameter(f"cannot write {path}: {error.strerror}") from None
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    log.addHandler(handler)
    log.setLevel(logging.INFO)

    def close() -> None:
        log.removeHandler(handler)
        handler.close()

    # the root context closes last, after OptimiseGroup.invoke has logged any error
    ctx.find_root().call_on_close(close)
    log.info("optimise %s", ctx.info_name)


def log_option(command: Callable) -> Callable:
    """``--log FILE``: append the command's stages, timings, warnings and errors to FILE."""
    return click.option("--log", type=click.Path(dir_okay=False), callback=_start_log,
                        expose_value=False, metavar="FILE",
                        help="append progress, timings, warnings and errors to FILE")(command)


class Stages:
    """A command's stages as one transient progress bar (on a terminal, unless ``--quiet``),
    each stage logged with its time. Stages whose own work reports finer progress (compare's
    coalition solves) keep their own bar; this one covers the rest."""

    def __init__(self, total: int, quiet: bool = False):
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            SpinnerColumn,
            TextColumn,
            TimeElapsedColumn,
        )

        self._progress = None
        if console.is_terminal and not quiet:
            self._progress = Progress(SpinnerColumn(), TextColumn("{task.description}"),
                                      BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                                      console=console, transient=True)
            self._task = self._progress.add_task("", total=total)

    def __enter__(self) -> Self:
        if self._progress is not None:
            self._progress.start()
        return self

    def __exit__(self, *exc) -> None:
        if self._progress is not None:
            self._progress.stop()

    @contextmanager
    def stage(self, text: str) -> Iterator[None]:
        log.info("%s ...", text)
        if self._progress is not None:
            self._progress.update(self._task, description=text)
        started = time.perf_counter()
        yield
        log.info("%s: done in %.1f s", text, time.perf_counter() - started)
        if self._progress is not None:
            self._progress.advance(self._task)


def _load(instance: str, overrides: dict[str, str] | None = None):
    """Load and validate INSTANCE, print its warnings, log what was loaded."""
    loaded = load_instance(instance, overrides)
    log.info("instance %s (%s): %d authorities, %d providers, %d offers", loaded.name, instance,
             len(loaded.authorities), len(loaded.providers), len(loaded.offers))
    _print_warnings(loaded.warnings)
    return loaded


def _add_reports(files: dict, reports: Callable, loaded, stages: Stages) -> None:
    """report.html and report.xlsx, added to ``files`` so they are written with the rest."""
    with stages.stage("writing report.html and report.xlsx"):
        files.update(reports(loaded, files))


def _deliver(files: dict, loaded, out: str | None, default: str, json_name: str,
             as_json: bool, show: Callable[[dict], None], reports: Callable | None = None,
             quiet: bool = False) -> Path:
    """The end of every analysis command: reports (when asked for), the files written whole,
    then the JSON summary on stdout or the table on screen."""
    from optimiser.writers import write_folder

    if reports is not None:
        with Stages(1, quiet) as stages:
            _add_reports(files, reports, loaded, stages)
    folder = write_folder(Path(out) if out else _default_out(default), files)
    log.info("results written to %s", folder)
    if as_json:
        click.echo(files[json_name], nl=False)
    else:
        show(files)
        click.echo(f"results written to {folder}")
    return folder


@main.command()
@click.argument("instance", type=click.Path(exists=True, dir_okay=True, file_okay=True))
@log_option
def validate(instance: str) -> None:
    """Check INSTANCE (a folder, a manifest or a workbook) and report every problem."""
    loaded = _load(instance)
    click.echo(
        f"{loaded.name}: valid ({len(loaded.authorities)} authorities, "
        f"{len(loaded.providers)} providers, {len(loaded.offers)} offers, "
        f"{len(loaded.placement_types)} placement types)"
    )


def _overrides(settings: tuple[str, ...], **options: object) -> dict[str, str]:
    """Policy overrides from ``--set KEY=VALUE`` and the named options (which win)."""
    overrides: dict[str, str] = {}
    for setting in settings:
        key, sep, value = setting.partition("=")
        if not sep or not key.strip():
            raise InputError(Problem("--set", f"expected KEY=VALUE, got {setting!r}"))
        overrides[key.strip()] = value.strip()
    overrides.update({k: str(v) for k, v in options.items() if v is not None})
    return overrides


def _member_list(members: str | None) -> list[str] | None:
    return [m.strip() for m in members.split(",") if m.strip()] if members else None


def _default_out(name: str) -> Path:
    safe = "".join(ch if ch.isalnum() or ch in "-_." else "-" for ch in name).strip("-.")
    return Path("results") / (safe or "instance")


@main.command()
@click.argument("instance", type=click.Path(exists=True, dir_okay=True, file_okay=True))
@click.option("--out", type=click.Path(file_okay=False), help="results folder "
              "(default results/<instance name>)")
@click.option("--members", help="comma-separated authority ids forming the consortium")
@click.option("--consortium", help="a named consortium of the instance's consortia table")
@click.option("--voice", type=click.Choice(["volume", "equal", "maxmin"]))
@solver_options
@click.option("--json", "as_json", is_flag=True, help="print summary.json on stdout")
@click.option("--investment/--no-investment", default=True, show_default=True,
              help="investment signals (investment.csv): the saving of one more place of "
              "each type at each member")
@click.option("--report/--no-report", default=True, show_default=True,
              help="report.html and report.xlsx beside the result files")
@click.option("--quiet", is_flag=True, help="no progress bar")
@log_option
def run(instance: str, out: str | None, members: str | None, consortium: str | None,
        voice: str | None, solver: str | None, time_limit: float | None,
        settings: tuple[str, ...], as_json: bool, investment: bool, report: bool,
        quiet: bool) -> None:
    """Solve INSTANCE, print a summary and write the result files."""
    from optimiser.display import print_run
    from optimiser.investment import INVESTMENT, investment_signals
    from optimiser.reports import run_reports
    from optimiser.run import run as run_instance
    from optimiser.sufficiency import SUFFICIENCY, local_sufficiency
    from optimiser.writers import result_files, write_folder

    overrides = _overrides(settings, voice=voice, solver=solver, time_limit_s=time_limit)
    loaded = _load(instance, overrides)
    with Stages(2 + investment + report, quiet) as stages:
        with stages.stage("solving: baselines alone, the consortium, the fairness reference"):
            outcome = run_instance(loaded, _member_list(members), consortium)
        signals = None
        if investment:
            with stages.stage("investment signals"):
                signals = investment_signals(outcome)
        with stages.stage("local sufficiency and result tables"):
            files = result_files(outcome, local_sufficiency(outcome), signals)
        if report:
            _add_reports(files, run_reports, loaded, stages)
    folder = write_folder(Path(out) if out else _default_out(loaded.name), files)
    log.info("results written to %s", folder)
    if as_json:
        click.echo(files["summary.json"], nl=False)
    else:
        print_run(Console(), files["summary.json"], files["authorities.csv"], files["gaps.csv"],
                  files[SUFFICIENCY], files.get(INVESTMENT))
        click.echo(f"results written to {folder}")


@main.command()
@click.argument("folder", type=click.Path(file_okay=False))
@click.option("--xlsx", is_flag=True, help="one workbook (a sheet per table, instructions, "
              "drop-down lists) instead of CSV files and instance.yaml")
@click.option("--force", is_flag=True, help="replace FOLDER if it exists and is not empty")
def init(folder: str, xlsx: bool, force: bool) -> None:
    """Write a template instance into FOLDER for a team to fill in: every table with its
    columns and one example row where one is needed, every policy key, instructions."""
    from optimiser.template import write_template

    written = write_template(Path(folder), xlsx=xlsx, overwrite=force)
    click.echo(f"template written to {written}: replace the EXAMPLE rows, then run "
               f"`optimise validate {written}`")


@main.command()
@click.argument("instance", type=click.Path(exists=True, dir_okay=True, file_okay=True))
@click.argument("results", type=click.Path(exists=True, dir_okay=True, file_okay=False))
def verify(instance: str, results: str) -> None:
    """Recompute every figure in RESULTS (a run's output folder) from INSTANCE alone and check
    every constraint; exit 1 if anything disagrees."""
    report = verify_results(load_instance(instance), Path(results))
    if report.ok:
        click.echo(f"{report.checks} checks, all agree")
        return
    click.echo(f"{len(report.disagreements)} of {report.checks} checks disagree:")
    for disagreement in report.disagreements:
        click.echo(f"  - {disagreement}")
    sys.exit(1)


@main.command()
@click.option("--authorities", type=click.IntRange(min=1), default=10, show_default=True,
              help="member authorities")
@click.option("--providers", type=click.IntRange(min=1), default=50, show_default=True,
              help="providers, in-house ones included")
@click.option("--types", type=click.IntRange(1, 6), default=6, show_default=True,
              help="placement types: the first K of foster_standard, foster_specialist, "
              "residential, supported_16plus, parent_child, residential_complex")
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True,
              help="random seed: the same arguments give the same files")
@click.option("--force", is_flag=True, help="replace OUT if it exists and is not empty")
@click.argument("out", type=click.Path(file_okay=False))
def generate(authorities: int, providers: int, types: int, seed: int, force: bool,
             out: str) -> None:
    """Write a seeded synthetic instance (realistic geography and prices) into folder OUT."""
    from optimiser.generate import check_destination, generate_instance, write_instance

    check_destination(Path(out), overwrite=force)
    instance = generate_instance(authorities, providers, types, seed)
    folder = write_instance(instance, Path(out), overwrite=force)
    click.echo(
        f"{instance.name}: {len(instance.authorities)} authorities, "
        f"{len(instance.providers)} providers, {len(instance.offers)} offers, "
        f"{len(instance.tiers)} tiers written to {folder}"
    )


@main.command()
@click.argument("instance", type=click.Path(exists=True, dir_okay=True, file_okay=True))
@click.option("--fail", "fail", multiple=True, metavar="P",
              help="provider id that fails; repeated, they fail together (one scenario)")
@click.option("--n-1", "n_minus_1", type=click.IntRange(min=1), metavar="K",
              help="each of the K largest providers of the base plan fails alone")
@click.option("--demand", "demand", multiple=True, metavar="SPEC",
              help="demand shock, e.g. +20%, -10%, +20%:foster_standard, +20%:E08000003 "
              "(repeatable, each its own scenario)")
@click.option("--members", help="comma-separated authority ids forming the consortium")
@click.option("--consortium", help="a named consortium of the instance's consortia table")
@solver_options
@click.option("--out", type=click.Path(file_okay=False), help="results folder "
              "(default results/<instance name>-stress)")
@click.option("--workers", type=click.IntRange(min=1), default=1, show_default=True,
              help="scenarios solved in parallel (spawned processes)")
@click.option("--json", "as_json", is_flag=True, help="print stress_summary.json on stdout")
@click.option("--quiet", is_flag=True, help="no progress bar")
@log_option
def stress(instance: str, fail: tuple[str, ...], n_minus_1: int | None, demand: tuple[str, ...],
           members: str | None, consortium: str | None, solver: str | None,
           time_limit: float | None, settings: tuple[str, ...], out: str | None, workers: int,
           as_json: bool, quiet: bool) -> None:
    """Re-plan INSTANCE under provider failures and demand shocks; report each scenario's
    change in cost, unmet places and local share per member, and the worst case."""
    from optimiser.stress import STRESS_SUMMARY, ProgressBar, print_stress, stress_files
    from optimiser.stress import stress as stress_instance

    overrides = _overrides(settings, solver=solver, time_limit_s=time_limit)
    loaded = _load(instance, overrides)
    with ProgressBar(console, enabled=not quiet) as progress:
        outcome = stress_instance(loaded, _member_list(members), consortium, fail=fail,
                                  n_minus_1=n_minus_1 or 0, demand=demand, workers=workers,
                                  progress=progress)
    folder = _deliver(stress_files(outcome), loaded, out, f"{loaded.name}-stress",
                      STRESS_SUMMARY, as_json,
                      lambda files: print_stress(Console(), files[STRESS_SUMMARY]))
    if outcome.failed:
        raise SolveError(f"no plan for {len(outcome.failed)} scenario(s): "
                         f"{', '.join(outcome.failed)} (see {folder / STRESS_SUMMARY})")


@main.command()
@click.argument("instance", type=click.Path(exists=True, dir_okay=True, file_okay=True))
@click.option("--consortium", "consortia", multiple=True, metavar="NAME",
              help="a named consortium to compare (repeatable; default: all of them)")
@click.option("--members", "ad_hoc", multiple=True, metavar="NAME=a,b,c",
              help="an ad-hoc membership: its name and comma-separated authority ids "
              "(repeatable)")
@click.option("--exact-max", type=int, default=12, show_default=True,
              help="exact Shapley (all 2^n coalitions) up to this many members; sampled beyond")
@click.option("--samples", type=int, default=200, show_default=True,
              help="random member orders of sampled Shapley")
@click.option("--seed", type=int, default=0, show_default=True,
              help="seed of the sampled orders (order k draws from (seed, k))")
@executor_options
@solver_options
@click.option("--out", type=click.Path(file_okay=False), help="results folder "
              "(default results/<instance name>-compare)")
@click.option("--json", "as_json", is_flag=True, help="print core.json on stdout")
@display_options
@log_option
def compare(instance: str, consortia: tuple[str, ...], ad_hoc: tuple[str, ...], exact_max: int,
            samples: int, seed: int, workers: int | None, executor: str, address: str | None,
            solver: str | None, time_limit: float | None, settings: tuple[str, ...],
            out: str | None, as_json: bool, quiet: bool, report: bool) -> None:
    """Compare memberships of INSTANCE side by side; per consortium, each member's marginal
    value, the Shapley split of the savings, the least core and who would do better alone."""
    from optimiser.compare import CORE_JSON, compare_files, print_compare
    from optimiser.compare import compare as compare_instance
    from optimiser.executor import ProgressBar
    from optimiser.reports import compare_reports

    overrides = _overrides(settings, solver=solver, time_limit_s=time_limit)
    loaded = _load(instance, overrides)
    log.info("comparing memberships ...")
    started = time.perf_counter()
    with ProgressBar(console, enabled=not quiet) as bar:
        outcome = compare_instance(loaded, consortia, ad_hoc, exact_max=exact_max,
                                   samples=samples, seed=seed, workers=workers,
                                   executor=executor, address=address, bar=bar)
    log.info("comparing memberships: done in %.1f s", time.perf_counter() - started)
    folder = _deliver(compare_files(outcome), loaded, out, f"{loaded.name}-compare", CORE_JSON,
                      as_json, lambda files: print_compare(Console(), files),
                      compare_reports if report else None, quiet)
    if outcome.failed:
        raise SolveError(f"no plan for {len(outcome.failed)} membership(s): "
                         f"{', '.join(outcome.failed)} (see {folder / 'compare.csv'})")


@main.command()
@click.argument("instance", type=click.Path(exists=True, dir_okay=True, file_okay=True))
@click.option("--sweep", is_flag=True, help="evaluate each option (no guarantee, each offered "
              "guarantee, or each level of --places) instead of optimising the commitments")
@click.option("--places", metavar="P[:TYPE]=LO..HI",
              help="provider P's guaranteed places over a range of whole places (0: none)")
@click.option("--discount", type=float, metavar="PCT",
              help="discount of the --places range (default: P's guarantee tier's)")
@click.option("--provider", "providers", multiple=True, metavar="P",
              help="sweep only P's offered guarantees (repeatable)")
@click.option("--scenarios", type=int, help="scenarios of the sweep (default 200), or of each "
              "SAA replication (default 50)")
@click.option("--seed", type=int, default=0, show_default=True,
              help="random seed: the same options give the same files")
@click.option("--replications", type=int, help="SAA replications (default 5)")
@click.option("--evaluation-scenarios", type=int,
              help="independent scenarios evaluating the SAA candidates (default 500)")
@click.option("--risk-level", type=float, default=0.9, show_default=True,
              help="CVaR level alpha: the mean of the worst 1 - alpha of years")
@click.option("--risk-weight", type=float, default=0.0, show_default=True,
              help="w of the objective (1 - w) * expected cost + w * CVaR")
@click.option("--cv", type=float, help="policy demand_cv: sd / mean where demand has no sd")
@click.option("--correlation", type=float,
              help="policy demand_correlation: shared regional factor's correlation")
@click.option("--years", type=int, help="policy contract_years: the contract horizon")
@click.option("--growth", type=float, help="policy demand_growth_pct: demand growth, %/year")
@click.option("--members", help="comma-separated authority ids forming the consortium")
@click.option("--consortium", help="a named consortium of the instance's consortia table")
@executor_options
@solver_options
@click.option("--out", type=click.Path(file_okay=False), help="results folder "
              "(default results/<instance name>-guarantee)")
@click.option("--json", "as_json", is_flag=True, help="print guarantee_summary.json on stdout")
@display_options
@log_option
def guarantee(instance: str, sweep: bool, places: str | None, discount: float | None,
              providers: tuple[str, ...], scenarios: int | None, seed: int,
              replications: int | None, evaluation_scenarios: int | None, risk_level: float,
              risk_weight: float, cv: float | None, correlation: float | None,
              years: int | None, growth: float | None, members: str | None,
              consortium: str | None, workers: int | None, executor: str,
              address: str | None, solver: str | None, time_limit: float | None,
              settings: tuple[str, ...], out: str | None, as_json: bool, quiet: bool,
              report: bool) -> None:
    """Test guaranteed volumes (block contracts) of INSTANCE under uncertain demand: expected
    cost and saving, void places, risk (CVaR) and the break-even discount of each option, or
    the commitments a two-stage stochastic model chooses, with confidence intervals."""
    from optimiser.executor import ProgressBar
    from optimiser.guarantee import (
        GUARANTEE_SUMMARY,
        Settings,
        guarantee_files,
        print_guarantee,
    )
    from optimiser.guarantee import guarantee as guarantee_instance

    overrides = _overrides(settings, solver=solver, time_limit_s=time_limit, demand_cv=cv,
                           demand_correlation=correlation, contract_years=years,
                           demand_growth_pct=growth)
    loaded = load_instance(instance, overrides)
    _print_warnings(loaded.warnings)
    options = Settings(sweep=sweep, scenarios=scenarios, seed=seed, replications=replications,
                       evaluation_scenarios=evaluation_scenarios, risk_level=risk_level,
                       risk_weight=risk_weight, places=places, discount=discount,
                       providers=providers)
    with ProgressBar(console, enabled=not quiet, show_hits=False) as bar:
        outcome = guarantee_instance(loaded, _member_list(members), consortium, options,
                                     workers=workers, executor=executor, address=address,
                                     bar=bar)
    from optimiser.reports import guarantee_reports

    _deliver(guarantee_files(outcome), loaded, out, f"{loaded.name}-guarantee",
             GUARANTEE_SUMMARY, as_json,
             lambda files: print_guarantee(Console(), files[GUARANTEE_SUMMARY]),
             guarantee_reports if report else None, quiet)


if __name__ == "__main__":
    main()
