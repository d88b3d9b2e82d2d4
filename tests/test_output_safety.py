"""Result folders never lose a user's files (issue 18 item 1, issue 13 items 7 and 8).

Everything runs the installed `optimise` command in a subprocess, as a user would: `--out`
replaces only a folder optimise wrote (its marker), refuses anything else before solving with
exit 2, never leaves a hidden staging folder, keeps `--log` out of the instance and the results,
honours the umask, and gives each membership its own default folder and heading.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import tempfile
from pathlib import Path

import pytest
from conftest import EXAMPLE, OPTIMISE, run_optimise, unwrapped

from optimiser import writers
from optimiser.destination import MARKER

#: the example's run without reports and investment signals: about a second
QUICK = ("--no-report", "--no-investment", "--quiet")
NOBODY = 65534


def names(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file()}


def refused(result: subprocess.CompletedProcess, *words: str) -> None:
    """Exit 2 with a message naming the problem, before any solve, and no traceback."""
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    for word in words:
        assert word in unwrapped(result.stderr), (word, result.stderr)
    assert "results written" not in result.stdout


# --------------------------------------------------------------------------- item 1: --out

def test_out_never_replaces_a_folder_of_the_users_files(tmp_path):
    folder = tmp_path / "d"
    folder.mkdir()
    (folder / "budget.xlsx").write_bytes(b"a\n")
    log = tmp_path / "run.log"
    result = run_optimise("run", EXAMPLE, "--out", folder, "--log", log, *QUICK)
    refused(result, f"{folder} is a folder optimise did not write (it holds budget.xlsx)")
    assert snapshot(folder) == {"budget.xlsx": b"a\n"}
    assert names(tmp_path) == ["d", "run.log"]  # no staging folder beside it
    assert "solving" not in log.read_text()  # refused before any solve


def test_out_never_replaces_the_instance_folder(tmp_path):
    instance = tmp_path / "x"
    shutil.copytree(EXAMPLE, instance)
    before = snapshot(instance)
    refused(run_optimise("run", instance, "--out", instance, *QUICK),
            "holds files the command reads (authorities.csv")
    assert snapshot(instance) == before
    assert names(tmp_path) == ["x"]


def test_a_new_or_optimise_written_folder_inside_the_instance_is_fine(tmp_path):
    instance = tmp_path / "x"
    shutil.copytree(EXAMPLE, instance)
    for _ in range(2):  # made, then replaced: it carries the marker
        result = run_optimise("run", instance, "--out", instance / "results", *QUICK)
        assert result.returncode == 0, result.stderr
    written = json.loads((instance / "results" / MARKER).read_text())
    assert written["command"] == "optimise run"
    assert "summary.json" in written["files"]
    assert names(instance / "results") == sorted([MARKER, *written["files"]])


def test_an_empty_folder_may_be_used(tmp_path):
    folder = tmp_path / "empty"
    folder.mkdir()
    assert run_optimise("run", EXAMPLE, "--out", folder, *QUICK).returncode == 0
    assert (folder / "summary.json").is_file()


def test_a_file_added_to_a_results_folder_is_never_lost(tmp_path):
    folder = tmp_path / "r"
    assert run_optimise("run", EXAMPLE, "--out", folder, *QUICK).returncode == 0
    (folder / "notes.docx").write_bytes(b"mine\n")
    refused(run_optimise("run", EXAMPLE, "--out", folder, *QUICK),
            "holds files optimise did not write (notes.docx)")
    assert (folder / "notes.docx").read_bytes() == b"mine\n"


@pytest.mark.parametrize("out", [".", "..", "/"])
def test_the_current_folder_and_above_are_refused_cleanly(tmp_path, out):
    here = tmp_path / "work" / "here"
    here.mkdir(parents=True)
    root = names(Path("/"))
    result = run_optimise("run", EXAMPLE, "--out", out, *QUICK, cwd=here)
    refused(result, f"--out: {out} is the current folder or holds it")
    assert names(here) == [] and names(here.parent) == ["here"]  # no ..old.* left behind
    assert names(Path("/")) == root


@pytest.mark.parametrize("command", [("init", "."), ("generate", "--force", ".")])
def test_instance_writers_refuse_the_current_folder_too(tmp_path, command):
    """`init` and `generate` write whole folders the same way (``write_folder``)."""
    refused(run_optimise(*command, cwd=tmp_path), ". is the current folder or holds it")
    assert names(tmp_path) == []


def test_a_destination_below_a_file_is_refused_before_solving(tmp_path):
    (tmp_path / "f").write_text("a file\n")
    refused(run_optimise("run", EXAMPLE, "--out", tmp_path / "f" / "sub", *QUICK),
            f"cannot be made: {tmp_path / 'f'} is a file, not a folder")
    refused(run_optimise("run", EXAMPLE, "--out", tmp_path / "f", *QUICK), "is a file")
    assert names(tmp_path) == ["f"]


def run_as_user(tmp: Path, *args: object) -> subprocess.CompletedProcess:
    """Run as an ordinary user: root writes anywhere, so as root the command runs as nobody
    (through util-linux's setpriv, which can still start the virtualenv's interpreter)."""
    user = []
    if os.geteuid() == 0:
        if shutil.which("setpriv") is None:
            pytest.skip("running as root without setpriv to become an ordinary user")
        user = ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups"]
    return subprocess.run([*user, str(OPTIMISE), *map(str, args)], cwd=tmp,
                          capture_output=True, text=True, timeout=300,
                          env={**os.environ, "HOME": str(tmp), "COLUMNS": "80"})


@pytest.fixture
def shared_tmp():
    """A folder any user may enter (pytest's own are private to their owner)."""
    folder = Path(tempfile.mkdtemp(prefix="optimise-safety-"))
    folder.chmod(0o777)
    yield folder
    for path in [folder, *folder.rglob("*")]:
        if path.is_dir():
            path.chmod(0o777)
    shutil.rmtree(folder)


def test_a_read_only_destination_is_refused_before_solving(shared_tmp):
    folder = shared_tmp / "r"
    assert run_optimise("run", EXAMPLE, "--out", folder, *QUICK).returncode == 0
    before = snapshot(folder)
    folder.chmod(0o555)
    log = shared_tmp / "run.log"
    log.touch()
    log.chmod(0o666)
    result = run_as_user(shared_tmp, "run", EXAMPLE, "--out", folder, "--log", log, *QUICK)
    refused(result, f"{folder} cannot be")
    assert "solving" not in log.read_text()
    assert snapshot(folder) == before
    assert names(shared_tmp) == ["r", "run.log"]


def test_an_unwritable_parent_is_refused_before_solving(shared_tmp):
    parent = shared_tmp / "locked"
    parent.mkdir()
    parent.chmod(0o555)
    result = run_as_user(shared_tmp, "run", EXAMPLE, "--out", parent / "r", *QUICK)
    refused(result, f"{parent / 'r'} cannot be written: {parent} is not writable")
    assert names(parent) == []


def test_a_failed_swap_leaves_no_hidden_folder(tmp_path, monkeypatch):
    """Renaming the old results aside can fail (a folder turned read-only meanwhile): the old
    results stay, and neither the staging folder nor the retired one is left beside them."""
    folder = tmp_path / "r"
    writers.write_folder(folder, {"old.csv": "old\n"})

    def refuse(*_args):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(writers.os, "replace", refuse)
    with pytest.raises(PermissionError):
        writers.write_folder(folder, {"new.csv": "new\n"})
    assert names(tmp_path) == ["r"]
    assert names(folder) == ["old.csv"]


# --------------------------------------------------------------------------- item 1: --log

@pytest.mark.parametrize("file", ["offers.csv", "instance.yaml"])
def test_log_never_appends_to_a_file_of_the_instance(tmp_path, file):
    instance = tmp_path / "x"
    shutil.copytree(EXAMPLE, instance)
    before = snapshot(instance)
    for command in (("run", instance, "--out", tmp_path / "r", *QUICK), ("validate", instance)):
        refused(run_optimise(*command, "--log", instance / file),
                f"--log: {instance / file} is a file of the instance")
    assert snapshot(instance) == before


def test_log_never_goes_into_a_results_folder(tmp_path):
    folder = tmp_path / "r"
    assert run_optimise("run", EXAMPLE, "--out", folder, *QUICK).returncode == 0
    before = snapshot(folder)
    for out in (folder, tmp_path / "other"):  # the folder being replaced, or an earlier one
        refused(run_optimise("run", EXAMPLE, "--out", out, "--log", folder / "run.log",
                             *QUICK),
                f"is inside the results folder {folder}, which is replaced as a whole")
    assert snapshot(folder) == before
    assert names(tmp_path) == ["r"]


# --------------------------------------------------------------------------- item 2: umask

@pytest.mark.parametrize("umask, folder_mode, file_mode",
                         [(0o022, 0o755, 0o644), (0o002, 0o775, 0o664)])
def test_results_get_the_modes_the_umask_gives(tmp_path, umask, folder_mode, file_mode):
    result = subprocess.run([str(OPTIMISE), "run", str(EXAMPLE), *QUICK], cwd=tmp_path,
                            capture_output=True, text=True, timeout=300,
                            preexec_fn=lambda: os.umask(umask))
    assert result.returncode == 0, result.stderr
    results = tmp_path / "results"
    for folder in (results, results / "example"):
        assert stat.S_IMODE(folder.stat().st_mode) == folder_mode, folder
    files = list((results / "example").iterdir())
    assert {p.name for p in files} >= {MARKER, "summary.json", "assignment.csv"}
    assert {stat.S_IMODE(p.stat().st_mode) for p in files} == {file_mode}


# --------------------------------------------------------------------------- item 3: memberships

def test_a_consortium_gets_its_own_default_folder_and_heading(tmp_path):
    everyone = run_optimise("run", EXAMPLE, "--no-investment", cwd=tmp_path)
    assert everyone.returncode == 0, everyone.stderr
    assert everyone.stdout.startswith("example: optimal")
    whole = snapshot(tmp_path / "results" / "example")

    pair = run_optimise("run", EXAMPLE, "--consortium", "North pair", "--no-investment",
                        cwd=tmp_path)
    assert pair.returncode == 0, pair.stderr
    assert pair.stdout.startswith("example — North pair: optimal")
    assert pair.stdout.rstrip().endswith("results written to results/example--north-pair")
    folder = tmp_path / "results" / "example--north-pair"
    summary = json.loads((folder / "summary.json").read_text())
    assert summary["instance"] == "example" and summary["membership"] == "North pair"
    assert summary["members"] == ["A1", "A2"]
    assert "<title>example — North pair: consortium plan</title>" in (
        folder / "report.html").read_text(encoding="utf-8")
    # the whole instance's results are untouched
    assert snapshot(tmp_path / "results" / "example") == whole
    assert json.loads(whole["summary.json"])["membership"] is None


def test_ad_hoc_members_get_a_deterministic_folder_named_after_them(tmp_path):
    few = run_optimise("run", EXAMPLE, "--members", "A4,A1", *QUICK, cwd=tmp_path)
    assert few.returncode == 0, few.stderr
    assert few.stdout.startswith("example — Smallham, Northtown: optimal")
    many = run_optimise("run", EXAMPLE, "--members", "A1,A2,A3,A4", *QUICK, cwd=tmp_path)
    assert many.returncode == 0, many.stderr
    assert many.stdout.startswith("example — 4 chosen authorities: optimal")
    assert names(tmp_path / "results") == ["example--members-4-b3bc3673",
                                           "example--members-a1-a4"]


def test_stress_and_compare_default_to_a_folder_per_membership(tmp_path):
    result = run_optimise("stress", EXAMPLE, "--n-1", "1", "--consortium", "North pair",
                          "--quiet", "--workers", "1", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    result = run_optimise("compare", EXAMPLE, "--consortium", "North pair", "--members",
                          "Odd pair=A3,A4", "--quiet", "--no-report", "--workers", "1",
                          cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert names(tmp_path / "results") == ["example--north-pair+odd-pair-compare",
                                           "example--north-pair-stress"]


# --------------------------------------------------------------------------- item 4: one rule

def test_the_default_folder_is_the_instance_file_name_as_typed(tmp_path):
    """Not the manifest's `name:` (the example's says `example`): what a user typed."""
    instance = tmp_path / "Kent Plan"
    shutil.copytree(EXAMPLE, instance)
    (instance / "instance.yaml").rename(instance / "Kent Plan 2025.yaml")
    result = run_optimise("run", instance / "Kent Plan 2025.yaml", *QUICK, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.rstrip().endswith("results written to results/kent-plan-2025")
    (instance / "Kent Plan 2025.yaml").rename(instance / "instance.yaml")
    result = run_optimise("run", instance / "instance.yaml", *QUICK, cwd=tmp_path)
    assert result.stdout.rstrip().endswith("results written to results/kent-plan")
    assert names(tmp_path / "results") == ["kent-plan", "kent-plan-2025"]
