"""Reliability, round two: faults while writing, a second writer, SIGTERM, workers that end with
their parent, symlinked outputs, implausible values, the dashboard's guard.

The fault tests inject an operating-system error (disk full, read-only, permission, name too
long) at every write operation of a command in turn, and count, over the attempts, how often the
previous results were intact and how often a half-written directory was found (must be never).
"""

from __future__ import annotations

import asyncio
import builtins
import contextlib
import errno
import hashlib
import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pydantic
import pytest
import yaml

from conftest import ROOT
from tuopin import errors
from tuopin.app.guard import OriginGuard, allowed_hosts
from tuopin.cli import main
from tuopin.errors import UserError
from tuopin.experiments import replicates
from tuopin.experiments.calibration import read_observed
from tuopin.experiments.outputs import output_lock, recover
from tuopin.experiments.resources import cap_workers
from tuopin.experiments.sweep import read_runs
from tuopin.scenario import load_scenario
from tuopin.scenario.strict import P, Strict

TOWNSHIP = ROOT / "scenarios" / "township.yaml"
FAULTS = (errno.ENOSPC, errno.EROFS, errno.EACCES, errno.ENAMETOOLONG)


def digest(out: Path) -> dict[str, str]:
    """Every entry below ``out`` with its SHA-256 (directories show up as "dir")."""
    return {str(p.relative_to(out)): hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else "dir"
            for p in sorted(out.rglob("*"))}


def cli(*args: str) -> tuple[int, str, str]:
    """``tuopin ARGS`` in this process: exit code, stdout, stderr."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main([str(a) for a in args])
        except SystemExit as exc:
            code = int(exc.code or 0)
    return code, out.getvalue(), err.getvalue()


class Faults:
    """Counts write operations below ``root`` (opening a file to write, mkdir, rename, Parquet
    writes, the lock) and raises ``OSError(code)`` at operation number ``at`` (None: only count)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, root: Path, at: int | None = None,
                 code: int = errno.ENOSPC) -> None:
        self.count, self.at, self.code, self.root = 0, at, code, str(root)
        real_open, real_replace, real_mkdir, real_parquet = builtins.open, os.replace, os.mkdir, pd.DataFrame.to_parquet
        real_os_open = os.open

        def hit(path: object) -> None:
            if not os.fspath(path).startswith(self.root):  # type: ignore[arg-type]
                return  # not the command's output (a library's cache, say)
            self.count += 1
            if self.at is not None and self.count - 1 == self.at:
                raise OSError(self.code, os.strerror(self.code), str(path))

        def fake_open(file, mode="r", *args, **kwargs):  # noqa: ANN001
            if isinstance(file, str | Path) and any(c in mode for c in "wax+"):
                hit(file)
            return real_open(file, mode, *args, **kwargs)

        def fake_replace(src, dst, *args, **kwargs):  # noqa: ANN001
            hit(dst)
            return real_replace(src, dst, *args, **kwargs)

        def fake_mkdir(path, *args, **kwargs):  # noqa: ANN001
            if not os.path.lexists(path):  # else the system answers EEXIST first
                hit(path)
            return real_mkdir(path, *args, **kwargs)

        def fake_parquet(frame, path, *args, **kwargs):  # noqa: ANN001
            hit(path)
            return real_parquet(frame, path, *args, **kwargs)

        def fake_os_open(path, flags, *args, **kwargs):  # noqa: ANN001
            if flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT):
                hit(path)
            return real_os_open(path, flags, *args, **kwargs)

        monkeypatch.setattr(builtins, "open", fake_open)
        monkeypatch.setattr(os, "open", fake_os_open)
        monkeypatch.setattr(os, "replace", fake_replace)
        monkeypatch.setattr(os, "mkdir", fake_mkdir)
        monkeypatch.setattr(pd.DataFrame, "to_parquet", fake_parquet)


def check_fault_line(code: int, err: str, fault: int) -> None:
    lines = err.strip().splitlines()
    assert code == 2, err
    assert len(lines) == 1 and "Traceback" not in err, err
    assert lines[0].startswith("tuopin: error:") and os.strerror(fault) in lines[0], lines[0]


@pytest.fixture(scope="module")
def township_run():
    """One real run of the township (2 replicates), reused so that each fault attempt only writes."""
    return replicates.run_replicates(load_scenario(TOWNSHIP), replicates=2, seed=5)


def test_os_errors_while_writing_a_run_leave_the_previous_results(township_run, tmp_path, monkeypatch):
    """A fault at every write operation of `tuopin run` in turn: one line, exit 2, previous intact."""
    out = tmp_path / "out"
    args = ("run", TOWNSHIP, "--replicates", "2", "--out", out, "--quiet")
    monkeypatch.setattr("tuopin.experiments.replicates.run_replicates", lambda *a, **k: township_run)
    assert cli(*args)[0] == 0
    with monkeypatch.context() as m:
        counter = Faults(m, tmp_path)
        assert cli(*args)[0] == 0
    previous = digest(out)
    operations = counter.count
    assert operations >= 10
    intact = half = 0
    for at in range(operations):
        fault = FAULTS[at % len(FAULTS)]
        with monkeypatch.context() as m:
            Faults(m, tmp_path, at, fault)
            code, _, err = cli(*args)
        check_fault_line(code, err, fault)
        state = digest(out)
        intact += state == previous
        half += state != previous
        assert sorted(p.name for p in tmp_path.iterdir()) == ["out"], "staging, backup or lock left behind"
    print(f"run: {operations} attempts, previous results intact {intact}, half-written {half}")
    assert (intact, half) == (operations, 0)


def test_os_errors_while_writing_figures_leave_the_previous_ones(township_run, tmp_path, monkeypatch):
    out = tmp_path / "run"
    monkeypatch.setattr("tuopin.experiments.replicates.run_replicates", lambda *a, **k: township_run)
    assert cli("run", TOWNSHIP, "--out", out, "--quiet")[0] == 0
    args = ("figures", out, "--lang", "en", "--format", "png")
    assert cli(*args)[0] == 0
    with monkeypatch.context() as m:
        counter = Faults(m, tmp_path)
        assert cli(*args)[0] == 0
    previous = digest(out)
    attempts = list(range(0, counter.count, 3))
    intact = 0
    for at in attempts:
        fault = FAULTS[at % len(FAULTS)]
        with monkeypatch.context() as m:
            Faults(m, tmp_path, at, fault)
            code, _, err = cli(*args)
        check_fault_line(code, err, fault)
        intact += digest(out) == previous
        assert sorted(p.name for p in out.iterdir() if p.name.startswith(".")) == []
    print(f"figures: {len(attempts)} attempts, previous figures intact {intact}, half-written {len(attempts) - intact}")
    assert intact == len(attempts)


def tiny_spec(tmp_path: Path) -> Path:
    spec = {"base": str(TOWNSHIP), "design": "latin", "points": 4, "replicates": 1, "seed": 3, "chunk_runs": 1,
            "parameters": {"economy.income_growth": {"low": 0.02, "high": 0.08}}}
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(spec), encoding="utf-8")
    return path


def test_os_errors_during_a_sweep_are_one_line_and_it_resumes(tmp_path, monkeypatch):
    """A fault at each write of a sweep: one line, exit 2; the same command then finishes it, and
    the dataset equals an uninterrupted sweep's."""
    spec = tiny_spec(tmp_path)
    reference = tmp_path / "reference"
    with monkeypatch.context() as m:
        counter = Faults(m, tmp_path)
        assert cli("sweep", spec, "--out", reference, "--quiet")[0] == 0
    expected = read_runs(reference)
    attempts = list(range(0, counter.count, 2))
    resumed = 0
    for at in attempts:
        out = tmp_path / f"sweep{at}"
        fault = FAULTS[at % len(FAULTS)]
        with monkeypatch.context() as m:
            Faults(m, tmp_path, at, fault)
            code, _, err = cli("sweep", spec, "--out", out, "--quiet")
        check_fault_line(code, err, fault)
        assert cli("sweep", spec, "--out", out, "--quiet")[0] == 0
        pd.testing.assert_frame_equal(read_runs(out), expected)
        assert json.loads((out / "manifest.json").read_text())["complete"] is True
        resumed += 1
    print(f"sweep: {len(attempts)} attempts, resumed to the uninterrupted dataset {resumed}, broken {len(attempts) - resumed}")


HOLD = ("import sys; from pathlib import Path; from tuopin.experiments.outputs import output_lock\n"
        "with output_lock(Path(sys.argv[1])):\n"
        "    out = Path(sys.argv[1])\n"
        "    if len(sys.argv) > 2: out.rename(out.parent / ('.' + out.name + '.backup'))  # as mid-swap\n"
        "    print('locked', flush=True)\n"
        "    sys.stdin.read()\n")


def test_a_second_writer_is_refused_and_a_live_backup_is_left_alone(township_run, tmp_path, monkeypatch):
    """While another process holds the output's lock (here in the middle of its swap: the previous
    results moved to the backup), a run refuses in one line and recovery touches nothing; once that
    process is gone, the next run puts the backup back first and then writes whole."""
    out = tmp_path / "out"
    monkeypatch.setattr("tuopin.experiments.replicates.run_replicates", lambda *a, **k: township_run)
    assert cli("run", TOWNSHIP, "--out", out, "--quiet")[0] == 0
    previous = digest(out)
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(out), "mid-swap"], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        code, _, err = cli("run", TOWNSHIP, "--out", out, "--quiet")
        assert code == 2 and len(err.splitlines()) == 1, err
        assert f"another tuopin command (process {holder.pid})" in err
        with pytest.raises(UserError, match="another tuopin command"):
            recover(out)
        assert not out.exists() and digest(tmp_path / ".out.backup") == previous  # the live backup is kept
    finally:
        holder.communicate("")
    assert cli("run", TOWNSHIP, "--out", out, "--quiet")[0] == 0
    assert set(digest(out)) == set(previous)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_two_runs_on_one_output_at_once_lose_nothing(tmp_path):
    """Two `tuopin run` into the same folder at the same time: each finishes or refuses in one line
    naming the other; the folder is a whole run."""
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "tuopin.cli", "run", str(TOWNSHIP), "--replicates", "2", "--out", str(out), "--quiet"]
    procs = [subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    results = [(p.wait(timeout=300), p.stderr.read()) for p in procs]
    for code, err in results:
        assert code in (0, 2), err
        if code == 2:
            assert len(err.splitlines()) == 1 and "another tuopin command" in err, err
    assert 0 in [code for code, _ in results]
    listed = json.loads((out / "run.json").read_text())["files"]
    assert {k: v for k, v in digest(out).items() if k != "run.json"} == listed
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


# The test's own launcher: two cores whatever the machine has, so that workers are started.
LAUNCH = ("import sys, tuopin.experiments.resources as r, tuopin.cli; r.cores = lambda: 2; "
          "sys.exit(tuopin.cli.main(sys.argv[1:]))")


def children(pid: int) -> set[int]:
    """Processes whose parent is ``pid`` (from /proc)."""
    found = set()
    for status in Path("/proc").glob("[0-9]*/status"):
        with contextlib.suppress(OSError):
            fields = dict(line.split(":\t", 1) for line in status.read_text().splitlines() if ":\t" in line)
            if int(fields.get("PPid", "0")) == pid:
                found.add(int(status.parent.name))
    return found


def workers_of(pid: int) -> set[int]:
    """The multiprocessing workers among ``pid``'s children: spawned ones (``spawn_main``) and
    forked ones (the parent's own command line)."""
    found = set()
    with contextlib.suppress(OSError):
        parent = Path(f"/proc/{pid}/cmdline").read_bytes()
        for child in children(pid):
            with contextlib.suppress(OSError):
                line = Path(f"/proc/{child}/cmdline").read_bytes()
                if b"spawn_main" in line or line == parent:
                    found.add(child)
    return found


def cpu_seconds(pid: int) -> float:
    """CPU time a process has used (user + system), 0 if it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


BUSY = 5.0
"""CPU seconds after which a worker is surely at work (its start-up, imports and all, takes about 2):
a worker killed while starting ends anyway, on the closed pipe to its parent."""


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
    except OSError:
        return False
    return state != "Z"


SHANGLUO = ROOT / "scenarios" / "shangluo.yaml"
COMMANDS = {  # each worker's share is minutes of work, so a worker that outlives its parent is seen
    "run": ["run", str(SHANGLUO), "--scale", "0.02", "--replicates", "2000", "--workers", "2", "--quiet"],
    "compare": ["compare", str(SHANGLUO), str(ROOT / "scenarios" / "variants" / "budget_cut_20.yaml"),
                "--scale", "0.02", "--replicates", "2000", "--workers", "2", "--quiet"],
    "sweep": ["sweep", "{spec}", "--workers", "2", "--quiet"],
}
GRACE = 30
"""Seconds a worker may take to go after its parent (it goes at once; its share of work is minutes)."""


@pytest.mark.parametrize("command, sig", [("run", signal.SIGKILL), ("run", signal.SIGTERM),
                                          ("compare", signal.SIGKILL), ("sweep", signal.SIGKILL),
                                          ("sweep", signal.SIGTERM)])
def test_workers_end_with_their_parent(command, sig, tmp_path):
    """SIGKILL or SIGTERM of the command while its workers run: no worker outlives it; after
    SIGTERM the command says so in one line and exits with code 143, the output left absent."""
    spec = {"base": str(SHANGLUO), "scale": 0.02, "design": "latin", "points": 2000, "replicates": 1, "seed": 3,
            "chunk_runs": 1000, "parameters": {"economy.income_growth": {"low": 0.02, "high": 0.08}}}
    (tmp_path / "spec.yaml").write_text(yaml.safe_dump(spec), encoding="utf-8")
    args = [a.replace("{spec}", str(tmp_path / "spec.yaml")) for a in COMMANDS[command]]
    log = tmp_path / "stderr"  # a file, not a pipe: an orphan holding the pipe would hide from wait()
    with log.open("w") as stderr:
        proc = subprocess.Popen([sys.executable, "-c", LAUNCH, *args, "--out", str(tmp_path / "out")], stderr=stderr)
    deadline = time.monotonic() + 120
    while len(workers := workers_of(proc.pid)) < 2 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(workers) == 2, "the workers did not start"
    while min(cpu_seconds(w) for w in workers) < BUSY and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert proc.poll() is None and min(cpu_seconds(w) for w in workers) >= BUSY, "the workers did not get to work"
    proc.send_signal(sig)
    proc.wait(timeout=120)
    err = log.read_text()
    deadline = time.monotonic() + GRACE
    while any(alive(w) for w in workers) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(alive(w) for w in workers), "a worker outlived its parent"
    if sig == signal.SIGTERM:
        lines = err.strip().splitlines()
        assert proc.returncode == 143, err
        assert len(lines) == 1 and lines[0].startswith("tuopin: terminated") and "Traceback" not in err, err
    if command != "sweep":
        assert not (tmp_path / "out").exists()
    assert not list(tmp_path.glob(".out.staging-*"))


def test_symlinked_output_is_followed_and_the_link_kept(township_run, tmp_path, monkeypatch):
    monkeypatch.setattr("tuopin.experiments.replicates.run_replicates", lambda *a, **k: township_run)
    target = tmp_path / "real"
    link = tmp_path / "link"
    link.symlink_to(target)  # dangling: the run creates the target
    assert cli("run", TOWNSHIP, "--out", link, "--quiet")[0] == 0
    assert link.is_symlink() and (target / "run.json").is_file()
    assert cli("run", TOWNSHIP, "--out", link, "--quiet")[0] == 0  # replaces the target's results
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link", "real"]


def test_implausible_values_warn_in_one_line_and_load(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(errors, "_warned", set())
    cases = {
        "poverty_line": ("poverty_line", "{2016: 3000, 2017: 1400, 2018: 3800}", "poverty_line.2017"),
        "funding": ("funding.sources.poverty_fund.amount", "{2016: 4000000, 2017: 4000000000, 2018: 3000000}",
                    "amount.2017"),
    }
    for name, (path, value, where) in cases.items():
        variant = tmp_path / f"{name}.yaml"
        variant.write_text(f"base: {TOWNSHIP}\nname: {name}\noverrides:\n  {path}: {value}\n", encoding="utf-8")
        load_scenario(variant)
        lines = capsys.readouterr().err.splitlines()
        assert len(lines) == 1 and lines[0].startswith("tuopin: warning:") and where in lines[0], lines
    load_scenario(TOWNSHIP)
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize("stop", [KeyboardInterrupt, errors.Terminated])
def test_an_interruption_while_a_scenario_is_dumped_stays_an_interruption(stop):
    """Ctrl-C or SIGTERM landing in Python code that pydantic calls while serializing (which wraps
    whatever it raises) reaches the command as the interruption, however deep the model."""

    class Leaf(Strict):
        rate: P[float]

        @pydantic.field_serializer("rate")
        def _rate(self, value: float) -> float:
            raise stop()

    class Node(Strict):
        leaf: Leaf

    class Root(Strict):
        node: Node

    leaf = {"rate": {"value": 0.1, "unit": "share", "source": "assumption: test"}}
    for model in (Leaf.model_validate(leaf), Root.model_validate({"node": {"leaf": leaf}})):
        with pytest.raises(stop) as raised:
            model.model_dump()
        assert type(raised.value) is stop


def test_workers_are_capped_with_a_note(capsys, monkeypatch):
    monkeypatch.setattr("tuopin.experiments.resources.cores", lambda: 4)
    assert cap_workers(16, 3, "replicates") == 3
    assert cap_workers(16, 100, "replicates") == 4
    assert cap_workers(2, 100, "replicates") == 2
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 2 and all(line.startswith("tuopin: note: --workers 16 capped") for line in lines)


def test_observed_csv_with_a_bom_reads_like_without(tmp_path):
    scenario = load_scenario(TOWNSHIP)
    plain, bom = tmp_path / "plain.csv", tmp_path / "bom.csv"
    plain.write_text("year,exits\n2016,320\n2017,480\n", encoding="utf-8")
    bom.write_bytes(b"\xef\xbb\xbf" + plain.read_bytes())
    pd.testing.assert_frame_equal(read_observed(bom, scenario), read_observed(plain, scenario))


async def _ask(guard: OriginGuard, kind: str, headers: dict[str, str]) -> str:
    """What the guard does with one request: 'passed', or the status it answered itself."""
    sent: list[dict] = []

    async def inner(scope, receive, send):  # noqa: ANN001
        sent.append({"type": "passed"})

    async def receive():
        return {"type": "websocket.connect"}

    async def send(message):  # noqa: ANN001
        sent.append(message)

    guard.app = inner
    scope = {"type": kind, "headers": [(k.encode(), v.encode()) for k, v in headers.items()]}
    await guard(scope, receive, send)
    first = sent[0]
    return "passed" if first["type"] == "passed" else str(first.get("status", first.get("code")))


@pytest.mark.parametrize("kind", ["http", "websocket"])
def test_dashboard_refuses_other_hosts_and_origins(kind):
    guard = OriginGuard(lambda *a: None, "127.0.0.1", 8765)  # type: ignore[arg-type, return-value]
    refused = "403" if kind == "http" else "1008"
    asks = {
        ("127.0.0.1:8765", None): "passed",
        ("localhost:8765", "http://localhost:8765"): "passed",
        ("127.0.0.1:8765", "http://evil.example"): refused,          # cross-site page
        ("evil.example:8765", None): refused,                         # DNS rebinding
        ("evil.example:8765", "http://evil.example:8765"): refused,
        ("127.0.0.1:8766", None): refused,
        ("127.0.0.1:8765", "null"): refused,
    }
    for (host, origin), expected in asks.items():
        headers = {"host": host, **({"origin": origin} if origin else {})}
        assert asyncio.run(_ask(guard, kind, headers)) == expected, (host, origin)
    assert asyncio.run(_ask(guard, kind, {})) == refused  # no Host at all
    assert allowed_hosts("0.0.0.0", 80) is None  # every address: any Host, but Origin must match it
    open_guard = OriginGuard(lambda *a: None, "0.0.0.0", 8765)  # type: ignore[arg-type, return-value]
    assert asyncio.run(_ask(open_guard, kind, {"host": "10.0.0.5:8765", "origin": "http://evil.example"})) == refused
    assert asyncio.run(_ask(open_guard, kind, {"host": "10.0.0.5:8765", "origin": "http://10.0.0.5:8765"})) == "passed"


def test_a_lock_is_reentrant_and_removed_after(tmp_path):
    out = tmp_path / "out"
    with output_lock(out):
        with output_lock(out):
            assert (tmp_path / ".out.lock").is_file()
        assert (tmp_path / ".out.lock").is_file()
    assert not (tmp_path / ".out.lock").exists()
