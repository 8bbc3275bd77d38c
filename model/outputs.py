"""Writing a run's results: all files staged first, then moved in, ``run.json`` last.

A results directory is complete when its ``run.json`` exists: it is removed before new files are
moved in and written last, each file with an atomic rename. An interrupted run leaves the
previous results as they were (nothing is touched until every new file is ready).
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from .errors import UserError

DEPENDENCIES = ("numpy", "scipy", "pandas", "mesa", "pydantic", "pyyaml", "matplotlib", "pyarrow")


def check_output_dir(out: Path) -> None:
    """Fail early, before any work, if ``out`` cannot become a results directory."""
    if out.exists() and not out.is_dir():
        raise UserError("output path exists and is not a directory", source=str(out))
    parent = out if out.exists() else out.parent
    while not parent.exists():
        parent = parent.parent
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


def write_results(out: Path, writers: dict[str, Callable[[Path], None]], meta: dict) -> None:
    """Write every file through its writer into a staging directory, then move them into ``out``.

    ``meta`` goes into ``run.json`` together with each file's SHA-256; ``run.json`` is last.
    """
    check_output_dir(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.staging-", dir=out.parent))
    try:
        for name, write in writers.items():
            write(staging / name)
        meta = {**meta, "files": {name: sha256(staging / name) for name in writers}}
        (staging / "run.json").write_text(json.dumps(meta, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        out.mkdir(exist_ok=True)
        (out / "run.json").unlink(missing_ok=True)
        for name in writers:
            os.replace(staging / name, out / name)
        os.replace(staging / "run.json", out / "run.json")
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def command_line() -> str:
    """The command that was run, for the record."""
    return " ".join([Path(sys.argv[0]).name, *sys.argv[1:]])


def provenance(started: datetime, t0: float) -> dict[str, str | float]:
    """What every ``run.json`` records of how it was made: start time, wall time, command, versions.

    ``started`` is the UTC start and ``t0`` the ``time.perf_counter()`` reading at the start.
    """
    return {
        "started_utc": started.isoformat(timespec="seconds"),
        "wall_time_s": round(time.perf_counter() - t0, 3),
        "command": command_line(),
        "versions": environment(),
    }
