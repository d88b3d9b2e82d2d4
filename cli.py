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


def _spawned_worker() -> bool:
    """Whether this process is a spawned worker of a command (compare, baselines, stress,
    guarantee). A spawned worker imports this module again as it starts (it runs the command's
    main module), and it must leave Ctrl-C to the main process, which ends it: otherwise a
    worker starting when Ctrl-C arrives prints the interrupted line a second time."""
    multiprocessing = sys.modules.get("multiprocessing")
    if multiprocessing is None:
        return False
    # while a spawned child imports its main module and unpickles its task, its parent is not
    # yet recorded; multiprocessing marks that phase on the current process (``_inheriting``)
    return (getattr(multiprocessing.current_process(), "_inheriting", False)
            or multiprocessing.parent_process() is not None)


_IN_WORKER = _spawned_worker()
signal.signal(signal.SIGINT, signal.SIG_IGN if _IN_WORKER else _interrupted_while_starting)

# the imports come after the handler, so that a Ctrl-C while they load is heard by it
import functools
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
if not _IN_WORKER:
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
            _print_input_error(error)
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


ERROR_TAG = "error: "


def _print_input_error(error: InputError) -> None:
    """The report, "error: " first, fitted to the terminal's width (``COLUMNS``; 80 when
    stderr is not a terminal)."""
    lines = wrap_report(error.report(), console.width, _places(error.problems))
    console.print(f"[red]{ERROR_TAG.rstrip()}[/red] {escape(lines[0][len(ERROR_TAG):])}",
                  highlight=False, soft_wrap=True)
    for line in lines[1:]:
        console.print(escape(line), highlight=False, soft_wrap=True)


def _places(problems: list[Problem]) -> set[str]:
    """What names where a problem is: its file, "sheet S", "row R", "column C"."""
    found = set()
    for p in problems:
        found |= {p.file, p.sheet and f"sheet {p.sheet}",
                  p.row is not None and f"row {p.row}", p.column and f"column {p.column}"}
    return {text for text in found if text}


def wrap_report(report: str, width: int, unbroken: set[str] = frozenset()) -> list[str]:
    """An error report's lines after :data:`ERROR_TAG`, broken between words to fit ``width``,
    each continuation indented under the text it continues (a listed problem's text, after
    its "- "). A word longer than the width, or a text of ``unbroken`` (a file name, spaces
    and all; "row 12"), is never split: a line with one too long for it runs over instead."""
    import textwrap

    fitted = []
    for number, line in enumerate(report.splitlines()):
        body = line.lstrip(" ")
        lead = line[:len(line) - len(body)]
        bullet = "- " if body.startswith("- ") else ""
        rest = " " * len(lead + bullet) if bullet else lead + "  "
        body = body.removeprefix(bullet)
        for text in sorted(unbroken, key=len, reverse=True):
            body = body.replace(text, text.replace(" ", "\0"))
        first = (ERROR_TAG if number == 0 else "") + lead + bullet
        fitted += [part.replace("\0", " ") for part in textwrap.wrap(
            body, width, initial_indent=first, subsequent_indent=rest,
            break_long_words=False, break_on_hyphens=False)] or [first]
    return fitted


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
    click.option("--solver", type=click.Choice(sorted(SOLVERS)),
                 help="highs: HiGHS in-process (installed with optimise); cbc: PuLP's bundled "
                 "CBC; ortools: SCIP through OR-Tools (pip install 'optimise[ortools]') "
                 "(default: the instance's policy, highs unless set)"),
    click.option("--time-limit", type=float, metavar="SECONDS",
                 help="seconds per solve (default: the instance's policy time_limit_s, 120 s "
                 "unless set)"),
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

def _start_log(ctx: click.Context, path: str) -> None:
    """Append this command's log to ``path``; the handler goes when the command ends (tests
    run many commands in one process). A log that would append to one of the command's
    inputs, or land in a results folder (replaced whole), is refused."""
    from optimiser.destination import check_log

    check_log(Path(path), _inputs(ctx.params), _destination(ctx.info_name, ctx.params))
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
    """``--log FILE``: append the command's stages, timings, warnings and errors to FILE.

    The log opens as the command starts rather than as its option is parsed: only then are
    the instance and the results folder known, which the log must stay out of."""
    @functools.wraps(command)
    def logged(*args: object, log_file: str | None = None, **params: object) -> object:
        if log_file is not None:
            _start_log(click.get_current_context(), log_file)
        return command(*args, **params)

    return click.option("--log", "log_file", type=click.Path(dir_okay=False), metavar="FILE",
                        help="append progress, timings, warnings and errors to FILE")(logged)


# where results go: --out, or the default folder; refused before any work if unsafe ---------

#: the default folder of each command writing results: results/<instance>[--<membership>]<suffix>
RESULT_SUFFIX = {"run": "", "stress": "-stress", "compare": "-compare", "guarantee": "-guarantee"}
#: the parameters naming files a command reads (an instance folder stands for its files)
INSTANCE_PARAMS = ("instance", "into")
FILE_PARAMS = ("episodes", "mapping", "postcodes", "own_demand", "price_list")


def _inputs(params: dict) -> set[Path]:
    """Every file the command reads, resolved: results and logs must never land on them."""
    from optimiser.destination import instance_files

    files: set[Path] = set()
    for name in INSTANCE_PARAMS:
        if params.get(name):
            files |= instance_files(params[name])
    for name in FILE_PARAMS:
        given = params.get(name)
        files |= {Path(p).resolve() for p in ([given] if isinstance(given, str) else given or ())}
    return files


def _membership(params: dict) -> str | None:
    """The folder name of the membership the command plans (None: every authority)."""
    from optimiser.destination import membership_slug, slug

    if "consortia" in params:  # compare: each membership asked for, in order
        names = [*params["consortia"], *(m.partition("=")[0] for m in params["ad_hoc"])]
        return "+".join(slug(name) for name in names) or None
    return membership_slug(params.get("consortium"), _member_list(params.get("members")) or ())


def _destination(command: str | None, params: dict) -> Path | None:
    """Where ``command`` writes its results folder: ``--out``, or its default; None when it
    writes none."""
    from optimiser.destination import default_folder

    if command == "demand":  # its folder is written unless only --into was asked for
        if params.get("out") or not params.get("into"):
            return Path(params["out"]) if params.get("out") else \
                _default_out(f"{params['authority']}-demand")
        return None
    if command not in RESULT_SUFFIX:
        return None
    if params.get("out"):
        return Path(params["out"])
    return default_folder(params["instance"], _membership(params), RESULT_SUFFIX[command])


def _results_folder() -> Path | None:
    """This command's results folder, checked before any solve: exit 2 now, not after an hour,
    if writing it could lose a user's file or cannot succeed (``optimiser.destination``)."""
    from optimiser.destination import check_results_folder

    ctx = click.get_current_context()
    folder = _destination(ctx.info_name, ctx.params)
    return None if folder is None else check_results_folder(folder, _inputs(ctx.params))


def _write_results(folder: Path, files: dict) -> Path:
    """The files written whole into ``folder``, with the marker that lets a later command
    replace it."""
    from optimiser.destination import write_results

    ctx = click.get_current_context()
    written = write_results(folder, files, ctx.info_name, _inputs(ctx.params))
    log.info("results written to %s", written)
    return written


class Stages:
    """A command's stages on the common progress bar (``optimiser.executor.ProgressBar``: on a
    terminal, unless ``--quiet``), each stage logged with its time. Stages whose own work
    reports finer progress (compare's coalition solves) keep their own bar; this one covers
    the rest."""

    def __init__(self, total: int, quiet: bool = False):
        from optimiser.executor import ProgressBar

        self._bar = ProgressBar(console, enabled=not quiet, show_hits=False, unit="stages",
                                time_left=False)
        self._total = total

    def __enter__(self) -> Self:
        self._bar.plan(self._total)
        return self

    def __exit__(self, *exc) -> None:
        self._bar.__exit__(*exc)

    @contextmanager
    def stage(self, text: str) -> Iterator[None]:
        log.info("%s ...", text)
        self._bar.describe(text)
        started = time.perf_counter()
        yield
        log.info("%s: done in %.1f s", text, time.perf_counter() - started)
        self._bar.solved()


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


def _deliver(files: dict, loaded, folder: Path, json_name: str, as_json: bool,
             show: Callable[[dict], None], reports: Callable | None = None,
             quiet: bool = False) -> Path:
    """The end of every analysis command: reports (when asked for), the files written whole
    into ``folder`` (:func:`_results_folder`), then the JSON summary on stdout or the table on
    screen."""
    if reports is not None:
        with Stages(1, quiet) as stages:
            _add_reports(files, reports, loaded, stages)
    _write_results(folder, files)
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
    from rich.text import Text

    from optimiser.reports.formats import counted

    loaded = _load(instance)
    # wrapped between words at the screen's width, as the other commands' summaries are
    Console().print(Text(
        f"{loaded.name}: valid ({counted(len(loaded.authorities), 'authority', 'authorities')}, "
        f"{counted(len(loaded.providers), 'provider')}, {counted(len(loaded.offers), 'offer')}, "
        f"{counted(len(loaded.placement_types), 'placement type')})"))


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
    from optimiser.destination import slug

    return Path("results") / slug(name)


@main.command()
@click.argument("instance", type=click.Path(exists=True, dir_okay=True, file_okay=True))
@click.option("--out", type=click.Path(file_okay=False), help="results folder: a new or "
              "empty one, or one optimise wrote (default results/<instance folder>, "
              "results/<instance folder>--<consortium> with --consortium)")
@click.option("--members", help="comma-separated authority ids or names forming the "
              "consortium, e.g. Bolton,Bury")
@click.option("--consortium", help="a named consortium of the instance's consortia table")
@click.option("--voice", type=click.Choice(["volume", "equal", "maxmin"]),
              help="whose costs the plan weighs: volume: the total (big members dominate); "
              "equal: each member's cost relative to its cost alone, one voice each; maxmin: "
              "the smallest saving % as large as it can be, then the total (default: the "
              "instance's policy, volume unless set)")
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
    from optimiser.investment import INVESTMENT
    from optimiser.run import run_files, run_stages
    from optimiser.sufficiency import SUFFICIENCY

    folder = _results_folder()
    overrides = _overrides(settings, voice=voice, solver=solver, time_limit_s=time_limit)
    loaded = _load(instance, overrides)
    with Stages(run_stages(investment, report), quiet) as stages:
        files = run_files(loaded, _member_list(members), consortium, investment, report,
                          stages.stage)
    _write_results(folder, files)
    if as_json:
        click.echo(files["summary.json"], nl=False)
    else:
        print_run(Console(), files["summary.json"], files["authorities.csv"], files["gaps.csv"],
                  files[SUFFICIENCY], files.get(INVESTMENT),
                  {t: p.name for t, p in loaded.placement_types.items()})
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
@click.option("--set", "settings", multiple=True, metavar="KEY=VALUE",
              help="a policy key the run was given with --set (repeatable); any other "
              "difference from the instance's policy is reported")
def verify(instance: str, results: str, settings: tuple[str, ...]) -> None:
    """Recompute every figure in RESULTS (a run's output folder) from INSTANCE alone and check
    every constraint; exit 1 if anything disagrees."""
    overrides = _overrides(settings)
    own = load_instance(instance)
    told = load_instance(instance, overrides) if overrides else own
    report = verify_results(told, Path(results), file_policy=own.policy)
    for line in report.lines():
        click.echo(line)
    if not report.ok:
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
    from optimiser.reports.formats import counted

    click.echo(
        f"{instance.name}: {counted(len(instance.authorities), 'authority', 'authorities')}, "
        f"{counted(len(instance.providers), 'provider')}, "
        f"{counted(len(instance.offers), 'offer')}, "
        f"{counted(len(instance.tiers), 'tier')} written to {folder}"
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
@click.option("--members", help="comma-separated authority ids or names forming the "
              "consortium, e.g. Bolton,Bury")
@click.option("--consortium", help="a named consortium of the instance's consortia table")
@solver_options
@click.option("--out", type=click.Path(file_okay=False), help="results folder "
              "(default results/<instance folder>-stress)")
@click.option("--workers", type=click.IntRange(min=1),
              help="scenarios solved in parallel, in spawned processes (default: all cores); "
              "the results are the same whatever the number")
@click.option("--json", "as_json", is_flag=True, help="print stress_summary.json on stdout")
@click.option("--quiet", is_flag=True, help="no progress bar")
@log_option
def stress(instance: str, fail: tuple[str, ...], n_minus_1: int | None, demand: tuple[str, ...],
           members: str | None, consortium: str | None, solver: str | None,
           time_limit: float | None, settings: tuple[str, ...], out: str | None,
           workers: int | None, as_json: bool, quiet: bool) -> None:
    """Re-plan INSTANCE under provider failures and demand shocks; report each scenario's
    change in cost, unmet places and local share per member, and the worst case."""
    from optimiser.executor import ProgressBar, default_workers
    from optimiser.stress import (
        STRESS_SUMMARY,
        bar_progress,
        print_stress,
        stress_files,
    )
    from optimiser.stress import stress as stress_instance

    folder = _results_folder()
    overrides = _overrides(settings, solver=solver, time_limit_s=time_limit)
    loaded = _load(instance, overrides)
    with ProgressBar(console, enabled=not quiet, show_hits=False) as bar:
        outcome = stress_instance(loaded, _member_list(members), consortium, fail=fail,
                                  n_minus_1=n_minus_1 or 0, demand=demand,
                                  workers=workers or default_workers(),
                                  progress=bar_progress(bar))
    _deliver(stress_files(outcome), loaded, folder, STRESS_SUMMARY, as_json,
             lambda files: print_stress(Console(), files[STRESS_SUMMARY]))
    if outcome.failed:
        raise SolveError(f"no plan for {len(outcome.failed)} scenario(s): "
                         f"{', '.join(outcome.failed)} (see {folder / STRESS_SUMMARY})")


@main.command()
@click.argument("instance", type=click.Path(exists=True, dir_okay=True, file_okay=True))
@click.option("--consortium", "consortia", multiple=True, metavar="NAME",
              help="a named consortium to compare (repeatable; default: all of them)")
@click.option("--members", "ad_hoc", multiple=True, metavar="NAME=a,b,c",
              help="an ad-hoc membership: its name and comma-separated authority ids or names "
              "(repeatable)")
@click.option("--exact-max", type=int, default=12, show_default=True,
              help="exact Shapley (all 2^n coalitions) up to this many members; sampled beyond")
@click.option("--samples", type=int, default=200, show_default=True,
              help="random member orders of sampled Shapley (drawn in whole blocks of the "
              "members' rotations of one order, at least two blocks)")
@click.option("--seed", type=int, default=0, show_default=True,
              help="seed of the sampled orders (block k draws from (seed, k))")
@click.option("--precision", metavar="TARGET", help="sample Shapley until every member's "
              "saving is within TARGET at 95%: 5%, £50k, or both as 5%,£50k (the larger)")
@click.option("--time-limit-total", type=float, metavar="SECONDS",
              help="begin no more sampled orders after this many seconds of the whole run")
@executor_options
@solver_options
@click.option("--out", type=click.Path(file_okay=False), help="results folder "
              "(default results/<instance folder>-compare)")
@click.option("--json", "as_json", is_flag=True, help="print core.json on stdout")
@display_options
@log_option
def compare(instance: str, consortia: tuple[str, ...], ad_hoc: tuple[str, ...], exact_max: int,
            samples: int, seed: int, precision: str | None, time_limit_total: float | None,
            workers: int | None, executor: str, address: str | None,
            solver: str | None, time_limit: float | None, settings: tuple[str, ...],
            out: str | None, as_json: bool, quiet: bool, report: bool) -> None:
    """Compare memberships of INSTANCE side by side; per consortium, each member's marginal
    value, the Shapley split of the savings, the least core and who would do better alone."""
    from optimiser.compare import CORE_JSON, compare_files, print_compare
    from optimiser.compare import compare as compare_instance
    from optimiser.executor import ProgressBar
    from optimiser.reports import compare_reports

    folder = _results_folder()
    overrides = _overrides(settings, solver=solver, time_limit_s=time_limit)
    loaded = _load(instance, overrides)
    log.info("comparing memberships ...")
    started = time.perf_counter()
    with ProgressBar(console, enabled=not quiet) as bar:
        outcome = compare_instance(loaded, consortia, ad_hoc, exact_max=exact_max,
                                   samples=samples, seed=seed, workers=workers,
                                   executor=executor, address=address, bar=bar,
                                   precision=precision, time_limit_total=time_limit_total)
    log.info("comparing memberships: done in %.1f s", time.perf_counter() - started)
    _deliver(compare_files(outcome), loaded, folder, CORE_JSON, as_json,
             lambda files: print_compare(Console(), files), compare_reports if report else None,
             quiet)
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
@click.option("--members", help="comma-separated authority ids or names forming the "
              "consortium, e.g. Bolton,Bury")
@click.option("--consortium", help="a named consortium of the instance's consortia table")
@executor_options
@solver_options
@click.option("--out", type=click.Path(file_okay=False), help="results folder "
              "(default results/<instance folder>-guarantee)")
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

    folder = _results_folder()
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

    _deliver(guarantee_files(outcome), loaded, folder, GUARANTEE_SUMMARY, as_json,
             lambda files: print_guarantee(Console(), files[GUARANTEE_SUMMARY]),
             guarantee_reports if report else None, quiet)


@main.command()
@click.argument("episodes", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--authority", required=True,
              help="the authority's id in the instance (e.g. its GSS code, E08000025)")
@click.option("--start", help="first day of the period (default: 1 April of the latest "
              "return's year)")
@click.option("--end", help="last day of the period (default: 31 March ending the latest "
              "return's year)")
@click.option("--mapping", type=click.Path(dir_okay=False), help="PLACE, PLACE_PROVIDER -> "
              "placement_type table (default: the DfE codes' mapping shipped in "
              "optimiser/data/ssda903_placements.csv)")
@click.option("--postcodes", type=click.Path(dir_okay=False),
              help="postcode sector lookup (sector, lat, lon) for the 20-mile locality")
@click.option("--out", type=click.Path(file_okay=False), help="folder for demand.csv and "
              "demand_summary.csv (default results/<authority>-demand unless --into)")
@click.option("--into", type=click.Path(file_okay=False), help="instance folder whose demand "
              "table gets this authority's rows (replacing the ones it has)")
@click.option("--years", type=click.IntRange(1, 25), help="project this many contract years "
              "from the entry and exit rates: demand.csv then holds the contract's demand "
              "(the years' mean, sd with the trend) for `optimise guarantee`, forecast.csv "
              "each year")
@log_option
def demand(episodes: tuple[str, ...], authority: str, start: str | None, end: str | None,
           mapping: str | None, postcodes: str | None, out: str | None,
           into: str | None, years: int | None) -> None:
    """Demand per placement type from SSDA903 Episodes files (CSV, or the return's XML; one
    per year's return): average places a day over a period, a year-to-year sd, entry and
    exit rates and the share placed within 20 miles. Counts only: no child's data is
    written."""
    from optimiser.episode_demand import observe_files, summary_lines
    from optimiser.forecast import forecast, forecast_lines
    from optimiser.writers import csv_text

    folder = _results_folder()
    observed = observe_files([Path(e) for e in episodes], authority, start, end,
                             Path(mapping) if mapping else None,
                             Path(postcodes) if postcodes else None)
    for line in summary_lines(observed):
        click.echo(line)
    rows, files = observed.demand, {"demand_summary.csv": csv_text(observed.summary)}
    if years:
        rows, projection = forecast(observed, years)
        files["forecast.csv"] = csv_text(projection)
        for line in forecast_lines(rows, years):
            click.echo(line)
    if into:
        path = _merge_demand(Path(into), rows)
        click.echo(f"{authority}'s demand merged into {path}")
    if folder is not None:
        _write_results(folder, {"demand.csv": csv_text(rows), **files})
        click.echo(f"demand written to {folder}")


def _merge_demand(instance: Path, rows) -> Path:
    """Replace the authority's rows of INSTANCE's demand table; put the file back as it was
    if the instance no longer validates (an unknown authority or placement type)."""
    from optimiser.episode_demand import merged_demand

    path, old, new = merged_demand(instance, rows)
    staged = path.with_name(f".{path.name}.new")
    staged.write_text(new, encoding="utf-8")
    staged.replace(path)
    try:
        _load(str(instance))
    except InputError:
        path.write_text(old, encoding="utf-8")
        console.print(f"[red]not merged:[/red] {escape(str(instance))} would not validate; "
                      "its demand file is unchanged", highlight=False, soft_wrap=True)
        raise
    return path


@main.command()
@click.argument("out", type=click.Path(file_okay=False))
@click.option("--authorities", help="comma-separated authorities: names, GSS codes (E08000025) "
              "or DfE codes (330)")
@click.option("--region", help="every authority of an English region, e.g. 'West Midlands'")
@click.option("--name", help="the instance's and its consortium's name (default: the region's, "
              "or 'Consortium')")
@click.option("--demand", "own_demand", type=click.Path(dir_okay=False), help="demand.csv "
              "from `optimise demand`: replaces the DfE-based demand of its authorities")
@click.option("--prices", "price_list", type=click.Path(dir_okay=False), help="price list "
              "(price, weekly_price): base weekly prices in place of the assumed ones, by the "
              "names of the weekly_price assumption (foster_standard, residential, ...)")
@click.option("--sources", type=click.Path(file_okay=False), help="the raw public files "
              "(default: the project's instances/sources)")
@click.option("--force", is_flag=True, help="replace OUT if it exists and is not empty")
@log_option
def build(out: str, authorities: str | None, region: str | None, name: str | None,
          own_demand: str | None, price_list: str | None, sources: str | None,
          force: bool) -> None:
    """Build an instance into folder OUT for any English authorities from the public data
    shipped with the project (DfE counts, Ofsted register), with the shipped regions'
    assumptions and a PROVENANCE.md."""
    import shlex

    from optimiser.build.custom import DEFAULT_SOURCES, build_custom
    from optimiser.generate import check_destination

    check_destination(Path(out), overwrite=force)
    command = " ".join(["optimise build", shlex.quote(Path(out).name)]
                       + [f"--{flag} {shlex.quote(value)}" for flag, value in
                          (("authorities", authorities), ("region", region), ("name", name),
                           ("demand", own_demand and Path(own_demand).name),
                           ("prices", price_list and Path(price_list).name)) if value])
    folder = build_custom(Path(out), _member_list(authorities), region, name,
                          Path(own_demand) if own_demand else None,
                          Path(sources) if sources else DEFAULT_SOURCES, command,
                          Path(price_list) if price_list else None)
    loaded = _load(str(folder))
    click.echo(f"{loaded.name}: {len(loaded.authorities)} authorities, "
               f"{len(loaded.providers)} providers, {len(loaded.offers)} offers, "
               f"{sum(d.places for d in loaded.demand):,.1f} places of demand; "
               f"written to {folder}")


if __name__ == "__main__":
    main()
