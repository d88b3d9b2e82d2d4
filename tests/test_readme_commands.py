"""Every command README.md shows works as shown (issue 13 item 4).

The commands are read from the README itself: each `optimise ...` and `python ...` line of a
code block (after a ``$`` prompt or not, each part of a ``&&`` chain, without its ``#``
comment) and each inline code span that is one. A concrete command (no placeholder such as
INSTANCE or DIR) must be listed below with how it is tested, so a command added to the README
fails :func:`test_every_readme_command_is_covered` until it is tested here:

- run here for real, in a scratch folder where ``instances`` is the repository's;
- on the North West: the README's two commands, fast on the session's shared run, and
  exactly as shown under ``slow``;
- slow (minutes): a real run marked ``slow``, and here at least parsed (``--help`` after the
  command's own arguments) with its instance validated;
- parsed only, with the reason it cannot run here (a Dask scheduler, a council's own files);
- scripts: ``--help`` must work and list every option the README gives them;
- set-up: the line CI runs.

Every option any command of the README names must exist in that command's ``--help``.
"""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import sys
from functools import cache
from pathlib import Path

import pytest
from conftest import REPO, run_optimise

README = REPO / "README.md"
#: an argument standing for what the user gives: INSTANCE, DIR, N, EPISODES..., [--xlsx]
PLACEHOLDER = re.compile(r"^\[.*\]$|^[A-Z][A-Z_]*(\.\.\.)?$")

#: run here for real; each is checked in its own test below
RUN_HERE = {
    "optimise run instances/example",
    "optimise verify instances/example results/example",
    "optimise compare instances/example",
    'optimise run instances/example --consortium "North pair"',
}
#: the North West in numbers, in this order
NORTH_WEST = (
    "optimise run instances/north-west",
    "python instances/north_west_in_numbers.py results/north-west",
)
#: minutes each: run for real only under ``-m slow``
SLOW = {
    "optimise stress instances/north-west --n-1 5",
    "optimise guarantee instances/thames-valley --sweep --places TV-BLOCK=0..30 --scenarios 500",
    "optimise guarantee instances/thames-valley",
    "optimise guarantee instances/thames-valley --places TV-BLOCK=0..30",
}
#: parsed only: why each cannot run here
PARSED_ONLY = {
    "optimise compare instances/north-west --executor dask --address tcp://scheduler:8786":
        "needs a running Dask scheduler",
    "optimise demand episodes_2023.csv episodes_2024.csv --authority E08000025 --out birmingham":
        "a council's own SSDA903 files",
    'optimise build wm --region "West Midlands" --demand birmingham/demand.csv':
        "the demand of a council's own SSDA903 files",
    "optimise run wm": "the instance built from a council's own files",
    "optimise demand episodes_2023.csv episodes_2024.csv --authority E08000025 --years 3 "
    "--into wm": "a council's own SSDA903 files",
}
#: scripts: benchmarks (minutes to hours) and the instance build (tests/test_real_instances.py)
SCRIPTS = {
    "python benchmarks/bench_compare.py",
    "python benchmarks/bench_compare.py --workers 2 --precision 5%,£50k --time-limit-total 780",
    "python benchmarks/bench_guarantee.py --saa --against-fresh 60",
    "python benchmarks/bench_agreement.py",
    "python benchmarks/bench_run.py",
    "python benchmarks/bench_run.py --cases north-west,england --no-reference",
    "python benchmarks/bench_fuzz.py",  # 200 of its cases: tests/test_fuzz.py
    "python instances/build.py",
}
#: the set-up lines: what .ci/run runs in a fresh virtual environment
SET_UP = {"python3 -m venv .venv"}

COVERED = RUN_HERE | set(NORTH_WEST) | SLOW | set(PARSED_ONLY) | SCRIPTS | SET_UP


def _commands_in(text: str) -> list[str]:
    """The `optimise`/`python` commands of one line or span, whitespace normalised."""
    text = text.split(" #")[0]
    return [" ".join(part.split()) for part in text.split("&&")
            if re.match(r"\s*(optimise|python3?) ", part)]


def readme_commands(text: str) -> list[str]:
    """Every command the README shows, in order, once each."""
    commands = []
    for block in re.findall(r"^```[^\n]*\n(.*?)^```", text, flags=re.DOTALL | re.MULTILINE):
        for line in block.splitlines():
            commands += _commands_in(line.removeprefix("$ "))
    prose = re.sub(r"^```.*?^```", "", text, flags=re.DOTALL | re.MULTILINE)
    for span in re.findall(r"(?<!`)`([^`]+)`(?!`)", prose):
        commands += _commands_in(span)
    return list(dict.fromkeys(commands))


def is_concrete(command: str) -> bool:
    """A command to run as it stands: no placeholder, and more than `optimise SUBCOMMAND`
    (which names the command in prose)."""
    words = shlex.split(command)
    if words[0] == "optimise" and len(words) <= 2:
        return False
    return not any(PLACEHOLDER.match(word) for word in words)


COMMANDS = readme_commands(README.read_text(encoding="utf-8"))
CONCRETE = [c for c in COMMANDS if is_concrete(c)]
SUBCOMMANDS = sorted({shlex.split(c)[1] for c in COMMANDS if c.startswith("optimise ")})


def options(command: str) -> list[str]:
    """The ``--option`` names a command gives (``[--xlsx]`` as ``--xlsx``)."""
    return [word.strip("[]").split("=")[0] for word in shlex.split(command)
            if word.strip("[]").startswith("--")]


@pytest.fixture
def readme_cwd(tmp_path) -> Path:
    """A scratch folder to run README commands in: its ``instances`` is the repository's,
    so their results land here."""
    (tmp_path / "instances").symlink_to(REPO / "instances")
    return tmp_path


def optimise(command: str, cwd: Path, *extra: str) -> subprocess.CompletedProcess:
    return run_optimise(*shlex.split(command)[1:], *extra, cwd=cwd)


def python(command: str, cwd: Path, *extra: str) -> subprocess.CompletedProcess:
    """A README `python ...` line with this environment's interpreter."""
    return subprocess.run([sys.executable, *shlex.split(command)[1:], *extra], cwd=cwd,
                          capture_output=True, text=True, timeout=600)


# --------------------------------------------------------------------------- coverage

def test_every_readme_command_is_covered():
    untested = [c for c in CONCRETE if c not in COVERED]
    assert not untested, ("README.md shows commands tests/test_readme_commands.py does not "
                          f"test; add each to one of its lists: {untested}")
    stale = sorted(COVERED - set(CONCRETE))
    assert not stale, f"listed here but no longer in README.md: {stale}"


def test_the_readme_is_read_as_a_user_reads_it():
    """The extraction itself: a prompt, a chain, a comment, a span, a placeholder."""
    text = ("```bash\npython3 -m venv v && pip install x && optimise run a  # why\n```\n"
            "```\n$ optimise verify a b\nresults written to b\n```\n"
            "Then `optimise init DIR [--xlsx]`, `optimise run`, `python s.py --x 1`.\n")
    commands = readme_commands(text)
    assert commands == ["python3 -m venv v", "optimise run a", "optimise verify a b",
                        "optimise init DIR [--xlsx]", "optimise run", "python s.py --x 1"]
    assert [c for c in commands if is_concrete(c)] == [
        "python3 -m venv v", "optimise run a", "optimise verify a b", "python s.py --x 1"]
    assert options("optimise init DIR [--xlsx] --set a=b") == ["--xlsx", "--set"]


@cache
def help_text(*subcommand: str) -> str:
    """``optimise [SUBCOMMAND] --help``, wide enough that no option name is wrapped."""
    result = run_optimise(*subcommand, "--help", env={"COLUMNS": "200"})
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.mark.parametrize("subcommand", SUBCOMMANDS)
def test_every_option_the_readme_gives_exists(subcommand):
    assert re.search(rf"^\s+{subcommand}\b", help_text().split("Commands:")[1], re.MULTILINE)
    given = {o for c in COMMANDS if shlex.split(c)[1] == subcommand for o in options(c)}
    missing = sorted(o for o in given
                     if not re.search(rf"{re.escape(o)}\b", help_text(subcommand)))
    assert not missing, f"README.md gives `optimise {subcommand}` unknown options {missing}"


@pytest.mark.parametrize("command", [c for c in CONCRETE if c.startswith("optimise ")])
def test_every_concrete_command_parses(command, readme_cwd):
    """Its own arguments, then --help: an unknown option or a missing value fails."""
    result = optimise(command, readme_cwd, "--help")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("Usage: optimise")


@pytest.mark.parametrize("instance", sorted(
    {shlex.split(c)[2] for c in SLOW | set(PARSED_ONLY) if "instances/" in c}))
def test_the_instances_of_slower_commands_validate(instance):
    result = run_optimise("validate", REPO / instance)
    assert result.returncode == 0, result.stderr
    assert ": valid (" in result.stdout


@pytest.mark.parametrize("command", sorted(SCRIPTS))
def test_every_script_starts_and_knows_its_options(command, readme_cwd):
    result = python(command, REPO, "--help")
    assert result.returncode == 0, result.stderr
    for option in options(command):
        assert option in result.stdout, (command, option)


def test_the_set_up_lines_are_what_ci_runs():
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8")
    lines = [line for line in README.read_text(encoding="utf-8").splitlines()
             if line.startswith(tuple(SET_UP)) and "pytest" in line]
    assert lines and all(line in ci for line in lines), lines


# --------------------------------------------------------------------------- run for real

def test_worked_example_runs_and_verifies_as_shown(readme_cwd):
    run = optimise("optimise run instances/example", readme_cwd)
    assert run.returncode == 0, run.stderr
    assert run.stdout.startswith("example: optimal (highs")
    assert run.stdout.rstrip().endswith("results written to results/example")
    verified = optimise("optimise verify instances/example results/example", readme_cwd)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert "checks, all agree" in verified.stdout


def test_a_consortium_run_writes_the_folder_the_readme_names(readme_cwd):
    run = optimise('optimise run instances/example --consortium "North pair"', readme_cwd)
    assert run.returncode == 0, run.stderr
    assert run.stdout.startswith("example — North pair: optimal")
    assert run.stdout.rstrip().endswith("results written to results/example--north-pair")


def test_compare_on_the_example_runs_as_shown(readme_cwd):
    result = optimise("optimise compare instances/example", readme_cwd, "--quiet")
    assert result.returncode == 0, result.stderr
    assert "North pair: saving by Shapley (exact)" in " ".join(result.stdout.split())
    assert "least-core epsilon" in result.stdout
    assert result.stdout.rstrip().endswith("results written to results/example-compare")


def test_north_west_run_writes_where_the_readme_reads(readme_cwd):
    """The run's default folder is the README's results/north-west: a folder there holding
    a file of the user's is refused by name, before any solve."""
    (readme_cwd / "results" / "north-west").mkdir(parents=True)
    (readme_cwd / "results" / "north-west" / "notes.txt").write_text("mine\n")
    result = optimise(NORTH_WEST[0], readme_cwd)
    assert result.returncode == 2
    assert "--out: results/north-west is a folder optimise did not write" in result.stderr


def test_north_west_in_numbers_prints_the_readme_tables(readme_cwd, north_west_results):
    shutil.copytree(north_west_results, readme_cwd / "results" / "north-west")
    result = python(NORTH_WEST[1], readme_cwd)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("Plan: annual cost £") and "within 20 miles." in lines[0]
    assert "| authority | saving % | within 20 miles, plan |" in result.stdout
    assert "| placement type | demand | placed within 20 miles |" in result.stdout


def test_north_west_in_numbers_without_results_says_what_to_run(readme_cwd):
    result = python(NORTH_WEST[1], readme_cwd)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr == ("error: no results folder results/north-west: run `optimise run "
                             "instances/north-west` first (it writes results/north-west), or "
                             "give the folder of your run\n")


@pytest.mark.slow
def test_north_west_in_numbers_as_shown(readme_cwd):
    run = optimise(NORTH_WEST[0], readme_cwd, "--quiet")
    assert run.returncode == 0, run.stderr
    numbers = python(NORTH_WEST[1], readme_cwd)
    assert numbers.returncode == 0, numbers.stderr
    assert numbers.stdout.startswith("Plan: annual cost £")


@pytest.mark.slow
@pytest.mark.parametrize("command", sorted(SLOW))
def test_slow_commands_run(command, readme_cwd):
    result = optimise(command, readme_cwd, "--quiet")
    assert result.returncode == 0, result.stderr
    assert "results written to results/" in result.stdout
