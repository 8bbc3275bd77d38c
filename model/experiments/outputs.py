"""Writing a run's results so that nothing is lost: a results directory is whole or untouched.

Every file is first written into a staging directory beside ``out`` (``.<name>.staging-<pid>``),
each through a temporary name and an atomic rename, ``run.json`` last: a directory with a
``run.json`` holds a complete run. Then the staging directory takes ``out``'s place:

* ``out`` absent: one rename.
* ``out`` holds only a previous run's results (the files its ``run.json`` lists, or nothing):
  ``out`` is renamed to ``.<name>.backup``, the staging directory to ``out``, and the backup is
  removed. An interrupted swap is undone on the spot; after a hard kill the next write (or
  ``recover``) puts the backup back if ``out`` is missing and removes leftovers otherwise.
* ``out`` holds other files too (e.g. a sweep's dataset, which ``tuopin sensitivity`` writes
  beside): ``run.json`` is removed first, then each file is moved in with an atomic rename and
  ``run.json`` last, so other files are kept and the run is complete once ``run.json`` is back.

So at any moment ``out`` holds the previous results intact or the new ones whole.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import shutil
import sys
import time
from collections.abc import Callable, Mapping
from datetime import datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from tuopin.errors import UserError

DEPENDENCIES = ("numpy", "scipy", "pandas", "mesa", "pydantic", "pyyaml", "matplotlib", "pyarrow")


def check_output_dir(out: Path) -> None:
    """Fail early, before any work, if ``out`` cannot become a results directory."""
    if out.exists() and not out.is_dir():
        raise UserError("output path exists and is not a directory; choose a directory", source=str(out))
    parent = out if out.exists() else out.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir():
        raise UserError(f"{parent} is a file, not a directory; choose another output directory", source=str(out))
    if not os.access(parent, os.W_OK | os.X_OK):
        raise UserError("output directory is not writable", source=str(parent))


def environment() -> dict[str, str]:
    """Versions of Python, tuopin and its dependencies."""
    versions = {"python": platform.python_version()}
    for name in ("tuopin", *DEPENDENCIES):
        try:
            versions[name] = version(name)
        except PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def sha256(path: Path) -> str:
    """Hex SHA-256 of a file."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


TEMPORARY = ".tmp-*"
"""Glob of the temporary files ``write_atomic`` leaves behind when killed."""


def staging_dir(out: Path) -> Path:
    """The staging directory of this process beside ``out`` (``recover`` removes dead ones)."""
    return out.parent / f".{out.name}.staging-{os.getpid()}"


def _backup(out: Path) -> Path:
    return out.parent / f".{out.name}.backup"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def recover(out: Path) -> None:
    """Repair what a killed write left beside ``out``: restore the previous results from the
    backup if ``out`` is missing, else drop the backup; remove staging directories of processes
    that are gone."""
    backup = _backup(out)
    if backup.is_dir():
        if out.exists():
            shutil.rmtree(backup, ignore_errors=True)
        else:
            os.replace(backup, out)
    for stale in out.parent.glob(f".{out.name}.staging-*"):
        pid = stale.name.rsplit("-", 1)[-1]
        if pid.isdigit() and not _alive(int(pid)):
            shutil.rmtree(stale, ignore_errors=True)


def _previous_files(out: Path) -> set[str] | None:
    """Names in ``out`` that belong to its previous run (None if ``out`` holds anything else)."""
    names = {p.name for p in out.iterdir()}
    if not names:
        return names
    try:
        meta = json.loads((out / "run.json").read_text(encoding="utf-8"))
        listed = set(meta.get("files", {})) | {"run.json"}
    except (OSError, ValueError, AttributeError):
        return None
    return names if names <= listed else None


def write_atomic(path: Path, write: Callable[[Path], object]) -> None:
    """Write ``path`` through ``write`` into a temporary name beside it (``TEMPORARY``), then
    rename it in: ``path`` is never seen half-written."""
    tmp = path.with_name(f".tmp-{os.getpid()}-{path.name}")  # keeps the suffix writers go by
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_results(out: Path, writers: Mapping[str, Callable[[Path], object]], meta: dict[str, Any]) -> None:
    """Write every file through its writer, then put them in ``out`` whole (see the module doc).

    ``meta`` goes into ``run.json`` together with each file's SHA-256; ``run.json`` is last.
    """
    check_output_dir(out)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        recover(out)
        staging = staging_dir(out)
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir()
    except OSError as exc:
        raise UserError(f"cannot write results here: {exc.strerror or exc}", source=str(out)) from None
    try:
        for name, write in writers.items():
            write_atomic(staging / name, write)
        meta = {**meta, "files": {name: sha256(staging / name) for name in writers}}
        text = json.dumps(meta, indent=2, ensure_ascii=False) + "\n"
        write_atomic(staging / "run.json", lambda p: p.write_text(text, encoding="utf-8"))
        if not out.exists():
            os.replace(staging, out)
        elif _previous_files(out) is not None:
            _swap(staging, out)
        else:
            _move_into(staging, out, [*writers, "run.json"])
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _swap(staging: Path, out: Path) -> None:
    """Replace the directory ``out`` by ``staging``: old -> backup, staging -> out, drop backup."""
    backup = _backup(out)
    os.replace(out, backup)
    try:
        os.replace(staging, out)
    except BaseException:
        if not out.exists():
            os.replace(backup, out)
        raise
    shutil.rmtree(backup, ignore_errors=True)


def _move_into(staging: Path, out: Path, names: list[str]) -> None:
    """Move files into a directory that holds other files too: ``run.json`` out first, in last."""
    (out / "run.json").unlink(missing_ok=True)
    for name in names:
        os.replace(staging / name, out / name)


def interrupted(out: Path | None) -> int:
    """After Ctrl-C: say in one line what was kept and how to go on; returns exit code 130."""
    where = f"{out}/" if out else "the results directory"
    print(f"tuopin: interrupted; nothing half-written: {where} holds complete results (the previous ones if "
          "the new ones were not finished) or none. Run the same command again to redo the run.", file=sys.stderr)
    return 130


def command_line() -> str:
    """The command that was run, for the record."""
    return " ".join([Path(sys.argv[0]).name, *sys.argv[1:]])


def provenance(started: datetime, t0: float) -> dict[str, Any]:
    """What every ``run.json`` records of how it was made: start time, wall time, command, versions.

    ``started`` is the UTC start and ``t0`` the ``time.perf_counter()`` reading at the start.
    """
    return {
        "started_utc": started.isoformat(timespec="seconds"),
        "wall_time_s": round(time.perf_counter() - t0, 3),
        "command": command_line(),
        "versions": environment(),
    }
