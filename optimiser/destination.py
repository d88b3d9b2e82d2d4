"""Where results go, and the rule that writing them never loses a user's file.

A results folder is written whole and replaces what was there (``optimiser.writers``), so the
only folder that may be replaced is one optimise wrote itself: it carries :data:`MARKER`, which
lists the files written beside it. Anything else at ``--out`` (a user's folder, an instance, the
current folder) is refused before any solve, with exit code 2, as is a place that cannot be
written. Default folders are named the way a user types them: ``results/<slug of the instance
folder or file>``, with ``--<membership>`` when the command plans one membership and the
command's suffix (``-stress``, ``-compare``, ``-guarantee``).
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import unicodedata
from collections.abc import Iterable
from pathlib import Path

import yaml

from optimiser.errors import InputError, Problem

#: the file that marks a folder as optimise's own results, which a later command may replace
MARKER = ".optimise-results"
#: the manifest inside an instance folder (``optimiser.loading.MANIFEST``, not imported: that
#: module pulls in pandas and openpyxl, and this one runs before any of them are needed)
MANIFEST = "instance.yaml"
#: an ad-hoc membership of more members than this is named by its size and a hash
NAMED_MEMBERS_MAX = 3


def slug(text: str) -> str:
    """``text`` as a folder name a user would type: lower case ASCII letters, digits, ``.``,
    ``_`` and single ``-`` between words (``North West`` -> ``north-west``)."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    kept = "".join(ch if ch.isalnum() or ch in "._" else "-" for ch in ascii_text.lower())
    return "-".join(part for part in kept.split("-") if part).strip(".") or "instance"


def instance_slug(instance: str | Path) -> str:
    """The default name of an instance's results: its folder's name, or its file's stem (the
    folder's name for a manifest called instance.yaml, which says nothing)."""
    path = Path(instance).resolve()
    if path.is_dir() or path.name == MANIFEST:
        return slug(path.name if path.is_dir() else path.parent.name)
    return slug(path.stem)


def membership_slug(consortium: str | None = None, members: Iterable[str] = ()) -> str | None:
    """The folder name of a membership: the consortium's slug, ``members-<ids>`` for a few
    ad-hoc members, ``members-<count>-<hash>`` for more; None for every authority."""
    if consortium:
        return slug(consortium)
    chosen = sorted({m.strip() for m in members if m.strip()})
    if not chosen:
        return None
    if len(chosen) <= NAMED_MEMBERS_MAX:
        return "members-" + slug("-".join(chosen))
    digest = hashlib.sha256(",".join(chosen).encode()).hexdigest()[:8]
    return f"members-{len(chosen)}-{digest}"


def default_folder(instance: str | Path, membership: str | None = None, suffix: str = "") -> Path:
    """``results/<instance>[--<membership>]<suffix>``, relative to the current folder."""
    name = instance_slug(instance) + (f"--{membership}" if membership else "")
    return Path("results") / f"{name}{suffix}"


# --------------------------------------------------------------------------- the inputs

def instance_files(instance: str | Path) -> set[Path]:
    """Every file the instance at ``instance`` reads (resolved): the manifest and the CSV
    files it names, or the workbook. A manifest that cannot be read names none."""
    path = Path(instance)
    manifest = path / MANIFEST if path.is_dir() else path
    files = {_resolved(manifest)}
    if manifest.suffix.lower() in (".yaml", ".yml"):
        files |= {_resolved(manifest.parent / table) for table in _table_paths(manifest)}
    return files


def _table_paths(manifest: Path) -> list[str]:
    try:
        document = yaml.safe_load(manifest.read_text(encoding="utf-8"))
    except (OSError, ValueError, yaml.YAMLError):
        return []
    tables = document.get("tables") if isinstance(document, dict) else None
    if not isinstance(tables, dict):
        return []
    return [given for given in tables.values() if isinstance(given, str) and "\0" not in given]


def _resolved(path: Path) -> Path:
    try:
        return path.resolve()
    except (OSError, RuntimeError):  # a symlink loop: the path as given still names the file
        return path.absolute()


# --------------------------------------------------------------------------- the checks

def check_results_folder(folder: Path, inputs: Iterable[Path]) -> Path:
    """``folder`` if a command may write its results there, given the files it reads
    (``inputs``, resolved); otherwise :class:`InputError` saying why, before any work."""
    reason = _refusal(Path(folder), set(inputs))
    if reason:
        raise InputError(Problem("--out", f"{folder} {reason}"))
    return Path(folder)


def _refusal(folder: Path, inputs: set[Path]) -> str | None:
    return (_place_refusal(folder, inputs) or _content_refusal(folder)
            or _write_refusal(folder))


def _place_refusal(folder: Path, inputs: set[Path]) -> str | None:
    """Folders that can never be results: the current one or above it, an instance's."""
    if folder.is_symlink():
        return "is a symbolic link: give the folder it points to, or a new folder"
    target, here = _resolved(folder), Path.cwd().resolve()
    if target == here or target in here.parents:
        return ("is the current folder or holds it, which cannot be replaced: "
                "give a new folder's name, e.g. --out results/mine")
    held = sorted(str(f.relative_to(target)) for f in inputs if target in f.parents)
    if held:
        return (f"holds files the command reads ({_some(held)}): results never go into an "
                "instance's own folder; give a new folder, e.g. --out results/mine")
    if folder.exists() and not folder.is_dir():
        return "is a file, not a folder: give a folder's name"
    return None


def _content_refusal(folder: Path) -> str | None:
    """An existing folder is used only when empty or when optimise wrote all it holds."""
    if not folder.is_dir():
        return None
    try:
        entries = sorted(p.name for p in folder.iterdir())
    except OSError as error:
        return f"cannot be read: {error.strerror}"
    if not entries:
        return None
    written = written_files(folder)
    if written is None:
        return (f"is a folder optimise did not write (it holds {_some(entries)}): replacing "
                "it would lose those files; give a new or empty folder")
    others = [e for e in entries if e != MARKER and e not in written]
    if others:
        return (f"holds files optimise did not write ({_some(others)}): replacing it would "
                "lose them; move them out, or give another folder")
    return None


def _some(names: list[str], shown: int = 3) -> str:
    more = len(names) - shown
    return ", ".join(names[:shown]) + (f" and {more} more" if more > 0 else "")


def _write_refusal(folder: Path) -> str | None:
    """Try writing where the results will go now, rather than after an hour of solving."""
    base = folder.parent if folder.exists() else _nearest_existing(folder.parent)
    if not base.is_dir():
        return f"cannot be made: {base} is a file, not a folder"
    if folder.exists() and not os.access(folder, os.W_OK | os.X_OK):
        return "cannot be replaced: it is read-only (no write permission)"
    try:
        os.rmdir(tempfile.mkdtemp(prefix=".optimise-probe.", dir=base))
    except OSError as error:
        return f"cannot be written: {base} is not writable ({error.strerror})"
    return None


def _nearest_existing(path: Path) -> Path:
    path = _resolved(path)
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def written_files(folder: Path) -> set[str] | None:
    """The files optimise wrote into ``folder`` (its marker's list); None when it has no
    readable marker, so optimise did not write it."""
    try:
        marker = json.loads((folder / MARKER).read_text(encoding="utf-8"))
        return {str(name) for name in marker["files"]}
    except (OSError, ValueError, TypeError, KeyError):
        return None


def marker_text(command: str, files: Iterable[str]) -> str:
    """The marker of a results folder: who wrote it and which files; no time, so the same
    command gives the same bytes."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        written_by = f"optimise {version('optimise')}"
    except PackageNotFoundError:  # run from a source tree that was never installed
        written_by = "optimise"
    document = {"written_by": written_by, "command": f"optimise {command}",
                "files": sorted(files),
                "note": "optimise may replace this folder as a whole; files added here "
                        "make it refuse to"}
    return json.dumps(document, indent=2) + "\n"


def write_results(folder: Path, files: dict[str, str | bytes], command: str,
                  inputs: Iterable[Path]) -> Path:
    """Write ``files`` with the marker into ``folder`` whole, checked again first: the folder
    may have changed during a long solve."""
    from optimiser.writers import write_folder

    check_results_folder(folder, inputs)
    try:
        return write_folder(folder, {**files, MARKER: marker_text(command, files)})
    except OSError as error:
        raise InputError(Problem("--out", f"{folder} cannot be written: "
                                 f"{error.strerror or error}")) from None


def check_log(log: Path, inputs: Iterable[Path], folder: Path | None) -> None:
    """Refuse a ``--log`` FILE that appending would damage: a file the command reads, or a
    file inside a results folder (``folder``, or any folder optimise wrote)."""
    target = _resolved(log)
    if target in set(inputs):
        raise InputError(Problem("--log", f"{log} is a file of the instance: appending the "
                                 "log would change it; give another file"))
    holders = [p for p in target.parents if (p / MARKER).is_file()]
    if folder is not None and _resolved(folder) in (target, *target.parents):
        holders.insert(0, _resolved(folder))
    if holders:
        raise InputError(Problem("--log", f"{log} is inside the results folder {holders[0]}, "
                                 "which is replaced as a whole: give a file outside it"))
