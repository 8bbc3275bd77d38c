"""Writing a run's results so that nothing is lost: a results directory is whole or untouched.

Every file is first written into a staging directory beside ``out`` (``.<name>.staging-<pid>``),
each through a temporary name and an atomic rename, ``run.json`` last: a directory with a
``run.json`` holds a complete run. Then the staging directory takes ``out``'s place:

* ``out`` absent: one rename.
* ``out`` holds only a previous run's results (the files its ``run.json`` lists, or nothing):
  ``out`` is renamed to ``.<name>.backup``, the staging directory to ``out``, and the backup is
  removed. An interrupted swap is undone on the spot; after a hard kill the next write (or
  ``recover``) puts the backup back if ``out`` is missing and removes leftovers otherwise.
* ``out`` holds other tuopin files too (a sweep's dataset, which ``tuopin sensitivity`` writes
  beside; a run's ``figures_<lang>/``; a calibration's rounds): ``run.json`` is removed first, then
  each file is moved in with an atomic rename and ``run.json`` last, so those files are kept and the
  run is complete once ``run.json`` is back.

So at any moment ``out`` holds the previous results intact or the new ones whole.

**Only our own results are ever replaced** (:func:`check_output_dir`): ``out`` must be absent,
empty, or a tuopin result (a ``run.json`` or sweep ``manifest.json`` and nothing but the files
they name, tuopin results below it and tuopin's own leftovers). Anything else is refused before
any work: a folder with other files (the scenarios folder, a home directory), the current
directory or one holding it, the filesystem root. A symlink is followed and its target judged by
the same rule; the link itself is never replaced.

**One writer at a time** (:func:`output_lock`): a command holds an advisory lock (``flock``) on
``.<name>.lock`` beside ``out`` from its check to its last write; a second command on the same
``out`` refuses in one line. So the recovery step, which runs under the lock, knows that a
backup or staging directory it finds was left by a process that is gone, never by a live one.

**Operating-system errors** while writing (disk full, read-only, permission, name too long) become
one line naming the path and the cause (:func:`os_error`); the previous results stay in place.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import fcntl
import hashlib
import json
import os
import re
import platform
import shutil
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from tuopin.errors import UserError, interrupt_code, short, stop_word

DEPENDENCIES = ("numpy", "scipy", "pandas", "mesa", "pydantic", "pyyaml", "matplotlib", "pyarrow")


def os_error(exc: OSError, fallback: Path | str) -> UserError:
    """A one-line UserError for an OS error while writing: the path and the cause (disk full, ...)."""
    path = exc.filename or fallback
    cause = exc.strerror or str(exc)
    hint = {errno.ENOSPC: "; free some space and run the same command again",
            errno.EDQUOT: "; free some space and run the same command again",
            errno.EROFS: "; choose a writable --out", errno.EACCES: "; choose a writable --out",
            errno.EPERM: "; choose a writable --out",
            errno.ENAMETOOLONG: "; choose a shorter --out"}.get(exc.errno or 0, "")
    return UserError(f"cannot write: {cause}{hint}; results already there were left as they were",
                     source=short(path, 200))


_LEFTOVER = re.compile(r"^\.(tmp-\d+-.*|.*\.staging-.*|.*\.backup|.*\.lock|.*\.tmp)$")
"""Names tuopin itself leaves while writing (temporary files, staging, backup, lock)."""

_ROUND_SPEC = re.compile(r"^round-\d+\.spec\.yaml$")
ROUND_SPEC_HEADER = "# written by tuopin calibrate"
"""First line of a calibration round's spec, so that it is recognised as tuopin's own file."""

SWEEP_FILES = ("manifest.json", "spec.yaml", "points.parquet", "runs")
"""What a sweep directory holds besides any results written beside it."""

MAX_DEPTH = 4
"""How deep below ``out`` tuopin results are looked for (``round-N/``, ``figures_<lang>/``)."""


def read_json(path: Path) -> object:
    """A JSON file's content, or None if it is missing, unreadable, not JSON or nested too deep
    (a UTF-8 BOM is allowed)."""
    try:
        return json.loads(path.read_text(encoding="utf-8-sig"))
    except (OSError, ValueError, RecursionError):
        return None


def _plain_file(path: Path) -> bool:
    return path.is_file() and not path.is_symlink()


def own_files(d: Path) -> set[str] | None:
    """The names a tuopin result directory ``d`` says are its own (None if ``d`` is not one):
    ``run.json`` and the files it lists, and a sweep's files if it has a sweep manifest."""
    names: set[str] = set()
    meta = read_json(d / "run.json")
    if isinstance(meta, dict) and isinstance(meta.get("files"), dict):
        listed = (n for n in map(str, meta["files"]) if n not in ("", ".", "..") and "/" not in n)
        names |= {"run.json", *(n for n in listed if _plain_file(d / n))}  # a run writes plain files only
    manifest = read_json(d / "manifest.json")
    if isinstance(manifest, dict) and "spec_sha256" in manifest:
        names |= set(SWEEP_FILES)
    return names or None


def foreign_entries(d: Path, depth: int = 0) -> list[str]:
    """Entries of directory ``d`` that are not tuopin's (empty list: ``d`` may be replaced)."""
    entries = sorted(p.name for p in d.iterdir())
    own = own_files(d) or set()
    foreign = []
    for name in entries:
        path = d / name
        if name in own or _LEFTOVER.match(name):
            continue
        if _ROUND_SPEC.match(name) and path.is_file() and not path.is_symlink():
            with contextlib.suppress(OSError, UnicodeDecodeError):
                if path.read_text(encoding="utf-8")[:200].startswith(ROUND_SPEC_HEADER):
                    continue
        if (path.is_dir() and not path.is_symlink() and depth < MAX_DEPTH and any(path.iterdir())
                and (own_files(path) or any(_ROUND_SPEC.match(p.name) for p in path.iterdir()))
                and not foreign_entries(path, depth + 1)):
            continue
        foreign.append(name)
    return foreign


def check_output_dir(out: Path, inputs: tuple[Path | str | None, ...] = ()) -> Path:
    """Fail early, before any work, if ``out`` cannot become (or is not) a tuopin results directory.

    Returns the directory to write: ``out`` with symlinks followed. Refused, in one line: the
    current directory or one holding it (``.``, ``..``, an empty path), the filesystem root, a
    directory holding the ``inputs`` or any file that is not tuopin's, a file, an unwritable place.
    """
    text = str(out)
    try:
        if out.is_symlink():
            try:
                os.stat(out)
            except FileNotFoundError:
                pass  # a dangling link: its target is created
            except OSError as exc:
                if exc.errno == errno.ELOOP:
                    raise UserError("is a loop of symbolic links; give a results folder", source=text,
                                    key="--out") from None
                raise
        target = Path(os.path.realpath(out))
        cwd = Path.cwd().resolve()
        if target == target.parent:
            raise UserError("is the filesystem root; give a results folder of its own", source=text, key="--out")
        if text in ("", ".") or out.name in ("", ".", ".."):
            raise UserError("names the current directory or a parent of it; give a results folder of its "
                            "own, e.g. results/try", source=short(text), key="--out")
        if target == cwd or target in cwd.parents:
            raise UserError("is the current directory or holds it; give a results folder of its own, "
                            "e.g. results/try", source=text, key="--out")
        for given in inputs:
            if given is not None and (real := Path(os.path.realpath(given))).is_relative_to(target):
                raise UserError(f"holds the input file {short(real.relative_to(target), 200)}; give a results "
                                "folder of its own", source=text, key="--out")
        if target.exists() and not target.is_dir():
            raise UserError("output path exists and is not a directory; choose a directory", source=text)
        if target.is_dir():
            if foreign := foreign_entries(target):
                more = f" and {len(foreign) - 3} more" if len(foreign) > 3 else ""
                raise UserError(f"holds files that are not tuopin results ({short(', '.join(foreign[:3]))}{more}); "
                                "tuopin only replaces a folder it wrote. Choose another --out (a new or empty "
                                "folder)", source=text)
        parent = target
        while not parent.exists() and parent != parent.parent:
            parent = parent.parent
        if not parent.is_dir():
            raise UserError(f"{parent} is a file, not a directory; choose another output directory", source=text)
        if not os.access(parent, os.W_OK | os.X_OK):
            raise UserError("output directory is not writable", source=str(parent))
    except OSError as exc:
        raise UserError(f"cannot use this output path: {exc.strerror or exc}", source=short(text, 200)) from None
    return target


def out_path(text: str) -> Path:
    """argparse type of ``--out``: a path, not empty (an empty one would name the current directory)."""
    if not text.strip():
        raise argparse.ArgumentTypeError("empty path; give a results folder, e.g. results/try")
    return Path(text)


_held: dict[Path, int] = {}


@contextlib.contextmanager
def output_lock(out: Path) -> Iterator[Path]:
    """Hold the advisory lock of results directory ``out`` (re-entrant in one process).

    The lock is ``flock`` on ``.<name>.lock`` beside ``out``; it is released (and the file removed)
    when the block ends, and by the system if the process dies. A second command on the same
    ``out`` gets a one-line UserError naming the process that holds it. Yields ``out`` resolved.
    """
    target = Path(os.path.realpath(out))
    if target in _held:
        _held[target] += 1
        try:
            yield target
        finally:
            _held[target] -= 1
        return
    path = target.parent / f".{target.name}.lock"
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        while True:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = os.read(fd, 32).decode("ascii", "replace").strip() or "?"
                os.close(fd)
                raise UserError(f"another tuopin command (process {holder}) is writing these results now; "
                                "wait for it to finish, or choose another --out", source=str(out)) from None
            mine = os.fstat(fd)
            try:
                now = os.stat(path)
            except FileNotFoundError:
                now = None
            if now is not None and (now.st_dev, now.st_ino) == (mine.st_dev, mine.st_ino):
                break  # else its last holder removed it after we opened it: take the new one
            os.close(fd)
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
    except OSError as exc:
        raise os_error(exc, path) from None
    _held[target] = 1
    try:
        yield target
    finally:
        del _held[target]
        with contextlib.suppress(OSError):
            os.unlink(path)
        os.close(fd)


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


def recover(out: Path) -> None:
    """Repair what a killed write left beside ``out``: restore the previous results from the
    backup if ``out`` is missing, else drop the backup; remove other processes' staging
    directories. Runs under ``out``'s lock, so whatever it finds was left by a process that is
    gone (a live writer would hold the lock)."""
    with output_lock(out) as target:
        backup = _backup(target)
        if backup.is_dir():
            if target.exists():
                shutil.rmtree(backup, ignore_errors=True)
            else:
                os.replace(backup, target)
        for stale in target.parent.glob(f".{target.name}.staging-*"):
            if stale != staging_dir(target):
                shutil.rmtree(stale, ignore_errors=True)


def _previous_files(out: Path) -> set[str] | None:
    """Names in ``out`` that belong to its previous run (None if ``out`` holds anything else)."""
    names = {p.name for p in out.iterdir()}
    if not names:
        return names
    listed = own_files(out)
    if listed is None or "runs" in listed:
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
    ``out`` must be ours to replace (:func:`check_output_dir`); a symlink is followed. An OS error
    (disk full, read-only, ...) is a one-line UserError and leaves ``out`` as it was.
    """
    check_output_dir(out)
    with output_lock(out) as target:
        check_output_dir(target)  # again under the lock: nobody else writes it now
        staging = staging_dir(target)
        try:
            recover(target)
            shutil.rmtree(staging, ignore_errors=True)
            staging.mkdir()
            for name, write in writers.items():
                write_atomic(staging / name, write)
            meta = {**meta, "files": {name: sha256(staging / name) for name in writers}}
            text = json.dumps(meta, indent=2, ensure_ascii=False) + "\n"
            write_atomic(staging / "run.json", lambda p: p.write_text(text, encoding="utf-8"))
            if not target.exists():
                os.replace(staging, target)
            elif _previous_files(target) is not None:
                _swap(staging, target)
            else:
                _move_into(staging, target, [*writers, "run.json"])
        except OSError as exc:
            raise os_error(exc, target) from None
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
    """Move files into a directory that holds other tuopin files too (kept): ``run.json`` out
    first, the new files in, the previous run's files that the new one lacks out, ``run.json`` in."""
    previous = own_files(out) or set()
    (out / "run.json").unlink(missing_ok=True)
    for name in names[:-1]:
        os.replace(staging / name, out / name)
    for name in previous - set(names) - set(SWEEP_FILES):
        with contextlib.suppress(FileNotFoundError):
            (out / name).unlink()
    os.replace(staging / names[-1], out / names[-1])


def interrupted(out: Path | None) -> int:
    """After Ctrl-C or SIGTERM: say in one line what was kept and how to go on; returns the exit
    code (130 for Ctrl-C, 143 for SIGTERM)."""
    where = f"{out}/" if out else "the results directory"
    print(f"tuopin: {stop_word()}; nothing half-written: {where} holds complete results (the previous ones if "
          "the new ones were not finished) or none. Run the same command again to redo the run.", file=sys.stderr)
    return interrupt_code()


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
