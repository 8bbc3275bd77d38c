"""Nothing lost: ``tuopin run`` killed or interrupted at random points leaves the previous results
in its output directory intact or replaced whole by the new run; results are written whole."""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import random
import signal
import subprocess
import sys
import shutil
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from conftest import ROOT
from tuopin.cli import main
from tuopin.errors import UserError
from tuopin.experiments.outputs import recover, write_results

TOWNSHIP = ROOT / "scenarios" / "township.yaml"
REPLICATES = "20"
# The test's own launcher: import first, say so, then the same entry point as the console script,
# so that a signal can be timed from the moment the command starts (not from interpreter start).
LAUNCH = "import sys, tuopin.cli; tuopin.cli.build_parser(); print('ready', flush=True); sys.exit(tuopin.cli.main(sys.argv[1:]))"


def digest(out: Path) -> dict[str, str]:
    """Every entry of a directory with its SHA-256 (directories and strays show up too)."""
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else "dir" for p in out.iterdir()}


def run_inprocess(*args: str) -> None:
    with contextlib.redirect_stdout(io.StringIO()):
        assert main(["run", str(TOWNSHIP), "--replicates", REPLICATES, "--quiet", *args]) == 0


def is_whole_new_run(out: Path, reference: dict[str, str]) -> bool:
    """``out`` is a complete run equal to the reference: same data files, run.json listing them."""
    files = digest(out)
    if "run.json" not in files:
        return False
    listed = json.loads((out / "run.json").read_text(encoding="utf-8"))["files"]
    data = {k: v for k, v in files.items() if k != "run.json"}
    return data == listed == {k: v for k, v in reference.items() if k != "run.json"}


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Previous results (seed 1) and a reference of the new run (seed 2), with its duration."""
    base = tmp_path_factory.mktemp("interrupt")
    run_inprocess("--seed", "1", "--out", str(base / "previous"))
    t0 = time.perf_counter()
    run_inprocess("--seed", "2", "--out", str(base / "reference"))
    return base, digest(base / "previous"), digest(base / "reference"), time.perf_counter() - t0


ATTEMPTS = [  # (signal, when): "random" = uniformly over the run, "writing" = once results are being
    # written (the staging directory exists). A kill between the two renames of the swap is too short
    # a window to hit from outside; test_recover_restores_a_backup_left_mid_swap covers that state.
    (signal.SIGKILL, "random"), (signal.SIGKILL, "writing"), (signal.SIGKILL, "writing"),
    (signal.SIGINT, "random"), (signal.SIGINT, "random"), (signal.SIGINT, "writing"),
    (signal.SIGTERM, "random"), (signal.SIGTERM, "writing"),
]
EXIT_CODES = {signal.SIGINT: (130, "tuopin: interrupted"), signal.SIGTERM: (143, "tuopin: terminated")}
PARALLEL = 2  # runs at a time


def interrupt(attempt: int, work: Path, duration: float) -> tuple[int, str]:
    """Start ``tuopin run`` into ``work/out`` (seed 2), signal it as ``ATTEMPTS[attempt]`` says;
    returns its exit code and stderr."""
    sig, when = ATTEMPTS[attempt]
    rng = random.Random(attempt)
    proc = subprocess.Popen(
        [sys.executable, "-c", LAUNCH, "run", str(TOWNSHIP), "--replicates", REPLICATES, "--seed", "2",
         "--out", str(work / "out"), "--quiet"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "ready"
    if when == "random":
        time.sleep(rng.uniform(0.0, 1.1 * duration))
    else:
        deadline = time.monotonic() + 120
        while not list(work.glob(".out.staging-*")) and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.001)
        time.sleep(rng.uniform(0.0, 0.2))
    proc.send_signal(sig)
    _, stderr = proc.communicate(timeout=300)
    return proc.returncode, stderr


def test_interrupted_runs_leave_previous_results_or_the_new_ones_whole(runs, tmp_path):
    """Runs two at a time, each killed (SIGKILL) or interrupted (SIGINT) at its own moment."""
    base, previous, reference, duration = runs
    works = [tmp_path / str(i) for i in range(len(ATTEMPTS))]
    for work in works:
        work.mkdir()
        shutil.copytree(base / "previous", work / "out")
    with ThreadPoolExecutor(PARALLEL) as pool:
        results = list(pool.map(interrupt, range(len(ATTEMPTS)), works, [duration] * len(ATTEMPTS)))
    outcomes = []
    for attempt, (work, (code, stderr)) in enumerate(zip(works, results)):
        sig, when = ATTEMPTS[attempt]
        if sig in EXIT_CODES and code != 0:  # code 0: the run finished before the signal came
            expected, start = EXIT_CODES[sig]
            assert code == expected, stderr
            lines = stderr.strip().splitlines()
            assert len(lines) == 1 and "Traceback" not in stderr, stderr
            assert lines[0].startswith(start), lines[0]
            assert "Run the same command again" in lines[0] or "left as they were" in lines[0], lines[0]
        out = work / "out"
        recover(out)  # what the next write does first: puts back what a kill left mid-swap
        state = "intact" if digest(out) == previous else "replaced whole" if is_whole_new_run(out, reference) else "BROKEN"
        outcomes.append(f"{sig.name} ({when}): exit {code}, previous results {state}")
        assert state != "BROKEN", (attempt, digest(out))
        assert [p.name for p in work.iterdir()] == ["out"], "staging or backup left behind"
    print("\n".join(outcomes))


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_that_compiled_code_turned_into_an_error_still_stops_the_run_as_interrupted(sig, tmp_path, monkeypatch,
                                                                                              capsys):
    """A signal landing while an extension module is imported (pandas, say) comes out as an
    ImportError with the interruption dropped (what CI once saw): the run stops with the one line and
    exit code of the signal, the previous results left whole."""
    from tuopin.experiments import replicates

    def imports_pandas(*args: object, **kwargs: object) -> None:
        try:
            os.kill(os.getpid(), sig)
            time.sleep(5)  # the handler raises here
        except KeyboardInterrupt:
            raise ImportError("numpy._core.multiarray failed to import") from None
        raise AssertionError("the signal did not come")

    out = tmp_path / "out"
    run_inprocess("--seed", "1", "--out", str(out))
    before = digest(out)
    monkeypatch.setattr(replicates, "run_replicates", imports_pandas)
    handlers = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)
    capsys.readouterr()
    code = main(["run", str(TOWNSHIP), "--replicates", REPLICATES, "--quiet", "--out", str(out)])
    expected, start = EXIT_CODES[sig]
    lines = capsys.readouterr().err.strip().splitlines()
    assert code == expected and len(lines) == 1 and lines[0].startswith(start), lines
    assert digest(out) == before and [p.name for p in tmp_path.iterdir()] == ["out"]
    assert (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)) == handlers  # the command's are gone


def test_recover_restores_a_backup_left_mid_swap_and_drops_dead_staging(tmp_path):
    out = tmp_path / "out"
    write_results(out, {"a.csv": lambda p: p.write_text("old\n")}, {})
    before = digest(out)
    os.replace(out, tmp_path / ".out.backup")  # killed between the two renames
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    (tmp_path / f".out.staging-{dead.stdout.strip()}").mkdir()  # staging of a process that is gone
    recover(out)
    assert digest(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_rewrite_replaces_the_directory_whole_and_keeps_other_tuopin_files(tmp_path):
    out = tmp_path / "out"
    write_results(out, {"a.csv": lambda p: p.write_text("1\n"), "b.csv": lambda p: p.write_text("2\n")}, {})
    write_results(out, {"a.csv": lambda p: p.write_text("3\n")}, {})
    assert sorted(digest(out)) == ["a.csv", "run.json"]  # b.csv of the old run does not linger
    write_results(out / "figures_en", {"f.png": lambda p: p.write_text("figure")}, {})  # tuopin's own: kept
    write_results(out, {"a.csv": lambda p: p.write_text("4\n"), "b.csv": lambda p: p.write_text("5\n")}, {})
    write_results(out, {"a.csv": lambda p: p.write_text("6\n")}, {})
    assert sorted(digest(out)) == ["a.csv", "figures_en", "run.json"]
    assert (out / "a.csv").read_text() == "6\n"
    assert json.loads((out / "run.json").read_text())["files"] == {"a.csv": hashlib.sha256(b"6\n").hexdigest()}

    def fail(path: Path) -> None:
        path.write_text("half")
        raise RuntimeError("writer failed")

    before = digest(out)
    with pytest.raises(RuntimeError):
        write_results(out, {"a.csv": lambda p: p.write_text("7\n"), "b.csv": fail}, {})
    assert digest(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_a_folder_with_other_files_is_never_replaced(tmp_path):
    """Only our own results: a results folder the user put a file in is refused, nothing touched."""
    out = tmp_path / "out"
    write_results(out, {"a.csv": lambda p: p.write_text("1\n")}, {})
    (out / "notes.txt").write_text("the user's own notes")
    before = digest(out)
    with pytest.raises(UserError, match="not tuopin results"):
        write_results(out, {"a.csv": lambda p: p.write_text("2\n")}, {})
    assert digest(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]
