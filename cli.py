"""The `optimise` command: parses options, calls the package, prints. No logic lives here."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from rich.console import Console
from rich.markup import escape

from optimiser.errors import InputError, Problem, SolveError
from optimiser.loading import load_instance
from optimiser.verify import verify_results

console = Console(stderr=True)


class OptimiseGroup(click.Group):
    """Turns known errors into a short message and an exit code (never a traceback)."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except InputError as error:
            console.print(f"[red]error:[/red] {escape(error.report())}", highlight=False, soft_wrap=True)
            sys.exit(2)
        except SolveError as error:
            console.print(f"[red]no plan:[/red] {escape(str(error))}", highlight=False, soft_wrap=True)
            sys.exit(1)


@click.group(cls=OptimiseGroup)
@click.version_option(package_name="optimise")
def main() -> None:
    """optimise: plan placements across a consortium framework's authorities and providers."""


def _print_warnings(warnings) -> None:
    for warning in warnings:
        console.print(f"[yellow]warning:[/yellow] {escape(warning)}", highlight=False, soft_wrap=True)


@main.command()
@click.argument("instance", type=click.Path(exists=True, dir_okay=True, file_okay=True))
def validate(instance: str) -> None:
    """Check INSTANCE (a folder, a manifest or a workbook) and report every problem."""
    loaded = load_instance(instance)
    _print_warnings(loaded.warnings)
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
@click.option("--solver", type=click.Choice(["highs", "cbc"]))
@click.option("--time-limit", type=float, help="seconds per solve")
@click.option("--set", "settings", multiple=True, metavar="KEY=VALUE",
              help="override any policy key (repeatable)")
@click.option("--json", "as_json", is_flag=True, help="print summary.json on stdout")
@click.option("--investment/--no-investment", default=True, show_default=True,
              help="investment signals (investment.csv): the saving of one more place of "
              "each type at each member")
def run(instance: str, out: str | None, members: str | None, consortium: str | None,
        voice: str | None, solver: str | None, time_limit: float | None,
        settings: tuple[str, ...], as_json: bool, investment: bool) -> None:
    """Solve INSTANCE, print a summary and write the result files."""
    from optimiser.display import print_run
    from optimiser.investment import INVESTMENT, investment_signals
    from optimiser.run import run as run_instance
    from optimiser.sufficiency import SUFFICIENCY, local_sufficiency
    from optimiser.writers import result_files, write_folder

    overrides = _overrides(settings, voice=voice, solver=solver, time_limit_s=time_limit)
    loaded = load_instance(instance, overrides)
    _print_warnings(loaded.warnings)
    outcome = run_instance(loaded, _member_list(members), consortium)
    signals = investment_signals(outcome) if investment else None
    files = result_files(outcome, local_sufficiency(outcome), signals)
    folder = write_folder(Path(out) if out else _default_out(loaded.name), files)
    if as_json:
        click.echo(files["summary.json"], nl=False)
    else:
        print_run(Console(), files["summary.json"], files["authorities.csv"], files["gaps.csv"],
                  files[SUFFICIENCY], files.get(INVESTMENT))
        click.echo(f"results written to {folder}")


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
@click.option("--solver", type=click.Choice(["highs", "cbc"]))
@click.option("--time-limit", type=float, help="seconds per solve")
@click.option("--set", "settings", multiple=True, metavar="KEY=VALUE",
              help="override any policy key (repeatable)")
@click.option("--out", type=click.Path(file_okay=False), help="results folder "
              "(default results/<instance name>-stress)")
@click.option("--workers", type=click.IntRange(min=1), default=1, show_default=True,
              help="scenarios solved in parallel (spawned processes)")
@click.option("--json", "as_json", is_flag=True, help="print stress_summary.json on stdout")
@click.option("--quiet", is_flag=True, help="no progress bar")
def stress(instance: str, fail: tuple[str, ...], n_minus_1: int | None, demand: tuple[str, ...],
           members: str | None, consortium: str | None, solver: str | None,
           time_limit: float | None, settings: tuple[str, ...], out: str | None, workers: int,
           as_json: bool, quiet: bool) -> None:
    """Re-plan INSTANCE under provider failures and demand shocks; report each scenario's
    change in cost, unmet places and local share per member, and the worst case."""
    from optimiser.stress import STRESS_SUMMARY, ProgressBar, print_stress, stress_files
    from optimiser.stress import stress as stress_instance
    from optimiser.writers import write_folder

    overrides = _overrides(settings, solver=solver, time_limit_s=time_limit)
    loaded = load_instance(instance, overrides)
    _print_warnings(loaded.warnings)
    with ProgressBar(console, enabled=not quiet) as progress:
        outcome = stress_instance(loaded, _member_list(members), consortium, fail=fail,
                                  n_minus_1=n_minus_1 or 0, demand=demand, workers=workers,
                                  progress=progress)
    files = stress_files(outcome)
    folder = write_folder(Path(out) if out else _default_out(f"{loaded.name}-stress"), files)
    if as_json:
        click.echo(files[STRESS_SUMMARY], nl=False)
    else:
        print_stress(Console(), files[STRESS_SUMMARY])
        click.echo(f"results written to {folder}")
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
@click.option("--workers", type=click.IntRange(min=1),
              help="processes solving in parallel (default: all cores)")
@click.option("--executor", type=click.Choice(["local", "dask"]), default="local",
              show_default=True, help="local process pool, or a Dask cluster")
@click.option("--address", help="Dask scheduler, e.g. tcp://host:8786 (default with --executor "
              "dask: a local Dask cluster of --workers processes)")
@click.option("--solver", type=click.Choice(["highs", "cbc"]))
@click.option("--time-limit", type=float, help="seconds per solve")
@click.option("--set", "settings", multiple=True, metavar="KEY=VALUE",
              help="override any policy key (repeatable)")
@click.option("--out", type=click.Path(file_okay=False), help="results folder "
              "(default results/<instance name>-compare)")
@click.option("--json", "as_json", is_flag=True, help="print core.json on stdout")
@click.option("--quiet", is_flag=True, help="no progress bar")
def compare(instance: str, consortia: tuple[str, ...], ad_hoc: tuple[str, ...], exact_max: int,
            samples: int, seed: int, workers: int | None, executor: str, address: str | None,
            solver: str | None, time_limit: float | None, settings: tuple[str, ...],
            out: str | None, as_json: bool, quiet: bool) -> None:
    """Compare memberships of INSTANCE side by side; per consortium, each member's marginal
    value, the Shapley split of the savings, the least core and who would do better alone."""
    from optimiser.compare import CORE_JSON, compare_files, print_compare
    from optimiser.compare import compare as compare_instance
    from optimiser.executor import ProgressBar
    from optimiser.writers import write_folder

    overrides = _overrides(settings, solver=solver, time_limit_s=time_limit)
    loaded = load_instance(instance, overrides)
    _print_warnings(loaded.warnings)
    with ProgressBar(console, enabled=not quiet) as bar:
        outcome = compare_instance(loaded, consortia, ad_hoc, exact_max=exact_max,
                                   samples=samples, seed=seed, workers=workers,
                                   executor=executor, address=address, bar=bar)
    files = compare_files(outcome)
    folder = write_folder(Path(out) if out else _default_out(f"{loaded.name}-compare"), files)
    if as_json:
        click.echo(files[CORE_JSON], nl=False)
    else:
        print_compare(Console(), files)
        click.echo(f"results written to {folder}")
    if outcome.failed:
        raise SolveError(f"no plan for {len(outcome.failed)} membership(s): "
                         f"{', '.join(outcome.failed)} (see {folder / 'compare.csv'})")


if __name__ == "__main__":
    main()
