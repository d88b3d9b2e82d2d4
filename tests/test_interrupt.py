"""Ctrl-C: exit 130 with one line, and never a partial results folder (nor a hidden one).

A real SIGINT is sent to `optimise run` in a subprocess while it solves (with HiGHS, and with
the ortools back-end's solver child), and to `optimise compare` while its two spawned workers
solve coalitions, after which no process of the command is left; KeyboardInterrupt is
raised in-process inside write_folder (while files are written, and between the two renames of
the swap); and a real SIGINT arriving during the swap is held back until the swap is complete.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import EXAMPLE, REPO

from cli import main
from optimiser import writers
from optimiser.destination import MARKER, marker_text
from optimiser.generate import generate_instance, write_instance

pytestmark = pytest.mark.skipif(os.name != "posix", reason="POSIX signals and process groups")


def folder_names(parent: Path) -> list[str]:
    return sorted(p.name for p in parent.iterdir())


def interrupt_run_while_solving(instance: Path, out: Path, log: Path, *options: str,
                                command: str = "run", started: str = "solving",
                                wait: float = 0.1) -> subprocess.CompletedProcess:
    """Start `optimise run` (or ``command``), wait until its log says ``started`` and ``wait``
    seconds more, then press Ctrl-C (SIGINT to its process group, as a terminal does, so any
    worker or solver child gets it too). Every process of the group must be gone after."""
    extra = ("--no-investment",) if command == "run" else ()
    process = subprocess.Popen(
        [sys.executable, "-m", "cli", command, str(instance), "--out", str(out), "--quiet",
         "--no-report", "--log", str(log), *extra, *options],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        start_new_session=True,
    )
    deadline = time.monotonic() + 60
    while started not in (log.read_text() if log.exists() else ""):
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, f"the {command} never started solving"
        time.sleep(0.05)
    time.sleep(wait)  # the log line comes just before the solving: any wait is inside it
    os.killpg(process.pid, signal.SIGINT)
    stdout, stderr = process.communicate(timeout=60)
    assert "results written" not in stdout, f"the {command} finished before the interrupt"
    assert_group_gone(process.pid)
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)


def assert_group_gone(group: int, seconds: float = 10.0) -> None:
    """No process is left in the command's process group (workers, solver children)."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            os.killpg(group, 0)
        except ProcessLookupError:
            return
        assert time.monotonic() < deadline, "a worker or solver process outlived the command"
        time.sleep(0.1)


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> Path:
    # 30 authorities, 120 providers, 4 types: about 1.8 s of solving (30 baselines, the
    # consortium and the fairness reference) on an idle machine, long enough to be interrupted
    # in the middle (12 x 60 took 0.7 s once HiGHS got faster, and a run finished first)
    folder = tmp_path_factory.mktemp("generated") / "instance"
    return write_instance(generate_instance(30, 120, 4, seed=1), folder)


def test_sigint_while_solving_exits_130_and_writes_nothing(generated, tmp_path):
    out = tmp_path / "results"
    finished = interrupt_run_while_solving(generated, out, tmp_path / "run.log")
    assert finished.returncode == 130, finished.stderr
    assert finished.stderr.strip().splitlines() == [
        "interrupted (Ctrl-C): stopped, no results half-written"]
    assert "Traceback" not in finished.stderr
    assert folder_names(tmp_path) == ["run.log"]  # no results folder, no hidden temp folder


@pytest.mark.parametrize("solver", ["highs", "ortools"])
def test_sigint_while_workers_solve_coalitions_exits_130_and_writes_nothing(generated,
                                                                           tmp_path, solver):
    """`compare` with a pool of two spawned workers: the workers (and, with ortools, their
    solver children) stop with the command."""
    out = tmp_path / "results"
    finished = interrupt_run_while_solving(generated, out, tmp_path / "compare.log",
                                           "--workers", "2", "--solver", solver,
                                           command="compare",
                                           started="comparing memberships", wait=2.5)
    assert finished.returncode == 130, finished.stderr
    assert finished.stderr.strip().splitlines() == [
        "interrupted (Ctrl-C): stopped, no results half-written"]
    assert folder_names(tmp_path) == ["compare.log"]


def test_sigint_while_the_ortools_child_solves_exits_130_and_writes_nothing(generated,
                                                                            tmp_path):
    """The ortools back-end solves in a child process: Ctrl-C stops it with the command."""
    out = tmp_path / "results"
    finished = interrupt_run_while_solving(generated, out, tmp_path / "run.log",
                                           "--solver", "ortools", wait=1.5)
    assert finished.returncode == 130, finished.stderr
    assert finished.stderr.strip().splitlines() == [
        "interrupted (Ctrl-C): stopped, no results half-written"]
    assert folder_names(tmp_path) == ["run.log"]


def previous_results(out: Path, name: str, text: str) -> None:
    """A results folder an earlier command wrote (with its marker, so it may be replaced)."""
    out.mkdir()
    (out / name).write_text(text)
    (out / MARKER).write_text(marker_text("run", [name]))


def test_sigint_while_solving_keeps_the_previous_results(generated, tmp_path):
    out = tmp_path / "results"
    previous_results(out, "summary.json", "previous\n")
    finished = interrupt_run_while_solving(generated, out, tmp_path / "run.log")
    assert finished.returncode == 130, finished.stderr
    assert folder_names(out) == [MARKER, "summary.json"]
    assert (out / "summary.json").read_text() == "previous\n"
    assert folder_names(tmp_path) == ["results", "run.log"]


def interrupted_on(monkeypatch, owner, attribute: str, count: int):
    """Make the ``count``-th call of ``owner.attribute`` raise KeyboardInterrupt, as Ctrl-C
    would at that moment."""
    original = getattr(owner, attribute)
    calls = []

    def wrapped(*args, **kwargs):
        calls.append(args)
        if len(calls) == count:
            raise KeyboardInterrupt
        return original(*args, **kwargs)

    monkeypatch.setattr(owner, attribute, wrapped)
    return calls


def run_example(out: Path):
    return CliRunner().invoke(main, ["run", str(EXAMPLE), "--out", str(out), "--no-investment",
                                      "--no-report"])


def test_interrupt_while_files_are_written(monkeypatch, tmp_path):
    calls = interrupted_on(monkeypatch, Path, "write_text", 3)
    out = tmp_path / "results"
    result = run_example(out)
    assert result.exit_code == 130, result.output
    assert calls[-1][0].parent.name.startswith(".results.")  # the hidden staging folder
    assert "interrupted (Ctrl-C): stopped, no results half-written" in result.output
    assert "Traceback" not in result.output
    assert folder_names(tmp_path) == []


def test_interrupt_between_the_renames_of_the_swap_restores_the_old_results(monkeypatch,
                                                                            tmp_path):
    out = tmp_path / "results"
    previous_results(out, "old.csv", "old\n")
    # os.replace: 1st moves the old results aside, 2nd would move the new ones in
    interrupted_on(monkeypatch, writers.os, "replace", 2)
    result = run_example(out)
    assert result.exit_code == 130, result.output
    assert folder_names(tmp_path) == ["results"]
    assert folder_names(out) == [MARKER, "old.csv"]


@pytest.mark.skipif(threading.current_thread() is not threading.main_thread(),
                    reason="signal handlers belong to the main thread")
def test_real_sigint_during_the_swap_waits_for_it_to_finish(monkeypatch, tmp_path):
    out = tmp_path / "results"
    out.mkdir()
    (out / "old.csv").write_text("old\n")
    original = os.replace

    def replace_with_ctrl_c(source, target):
        os.kill(os.getpid(), signal.SIGINT)  # Ctrl-C pressed between the two renames
        original(source, target)

    monkeypatch.setattr(writers.os, "replace", replace_with_ctrl_c)
    with pytest.raises(KeyboardInterrupt):
        writers.write_folder(out, {"new.csv": "new\n"})
    # the interrupt came once the swap was whole: the new results, nothing else beside them
    assert folder_names(tmp_path) == ["results"]
    assert folder_names(out) == ["new.csv"]
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_sigint_while_the_command_starts_exits_130_without_a_traceback(tmp_path):
    """Ctrl-C during the imports (about a second before any command runs)."""
    out = tmp_path / "results"
    process = subprocess.Popen(
        [sys.executable, "-m", "cli", "run", str(EXAMPLE), "--out", str(out), "--quiet"],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        start_new_session=True)
    time.sleep(0.15)
    os.killpg(process.pid, signal.SIGINT)
    stdout, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stderr
    assert stderr.strip().splitlines() == [
        "interrupted (Ctrl-C): stopped, no results half-written"]
    assert not out.exists()


def _sigint_handler_of_a_worker_importing_cli(queue) -> None:
    import cli  # noqa: F401  (what a spawned worker of the command does as it starts)

    queue.put(signal.getsignal(signal.SIGINT) is signal.SIG_IGN)


def test_a_spawned_worker_importing_the_cli_leaves_ctrl_c_to_the_main_process():
    """A worker re-imports the command's module as it starts; with the start-up handler it
    would print the interrupted line a second time (a flaky double line in the tests above)."""
    import multiprocessing

    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    worker = context.Process(target=_sigint_handler_of_a_worker_importing_cli, args=(queue,))
    worker.start()
    ignored = queue.get(timeout=60)
    worker.join(timeout=60)
    assert ignored
