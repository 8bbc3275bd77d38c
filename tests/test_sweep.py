"""Sweeps: same dataset on 1 or 2 processes and on Dask, resume after SIGKILL or Ctrl-C.

Bad sweep specs and calibration inputs are cases of the corpus in tests/bad_inputs/ (sweep_*,
calibrate_*), run by test_bad_inputs.py.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import types
from pathlib import Path

import pandas as pd
import pytest
import yaml

from conftest import SHANGLUO
from tuopin.cli import main as cli
from tuopin.experiments.sweep import Backend, read_runs, run_sweep
from tuopin.experiments.sweep_spec import load_spec


def write_spec(tmp_path: Path, **extra) -> Path:
    spec = {
        "base": str(SHANGLUO), "scale": 0.01, "design": "latin", "points": 8, "replicates": 2, "seed": 11,
        "chunk_runs": 4,
        "parameters": {
            "economy.income_growth": {"low": 0.0, "high": 0.08},
            "relapse.support_continuation_years": {"low": 0, "high": 5, "integer": True},
            "batches.industry.targeting": {"values": ["need", "near_line", "random"]},
        },
        **extra,
    }
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(spec), encoding="utf-8")
    return path


def dataset(out: Path) -> pd.DataFrame:
    return read_runs(out)


def test_same_dataset_on_one_or_two_processes_and_dask(tmp_path, monkeypatch):
    monkeypatch.delenv("MALLOC_TRIM_THRESHOLD_", raising=False)
    plan = load_spec(write_spec(tmp_path))
    assert len(plan.chunks) == 4
    one = run_sweep(plan, tmp_path / "one", Backend(workers=1), progress=False)
    two = run_sweep(plan, tmp_path / "two", Backend(workers=2), progress=False)
    dask = run_sweep(plan, tmp_path / "dask", Backend(workers=2, dask=True), progress=False)
    ref = dataset(one)
    assert len(ref) == 8 * 2 * 5
    assert not ref.duplicated(["point", "replicate", "year"]).any()
    assert ref["exits"].gt(0).all()
    # different points give different results (the parameters reach the model)
    assert ref.groupby("point")["exits"].sum().nunique() > 1
    for other in (two, dask):
        pd.testing.assert_frame_equal(dataset(other), ref)
        for part in sorted((one / "runs").glob("part-*.parquet")):
            assert (other / "runs" / part.name).read_bytes() == part.read_bytes()
    manifest = json.loads((one / "manifest.json").read_text())
    assert manifest["complete"] and manifest["points"] == 8 and len(manifest["chunks"]) == 4
    # the local cluster's nannies (in this process) set their workers' environment here: glibc's
    # malloc defaults are kept, not Dask's 64 KiB trim threshold
    assert "MALLOC_TRIM_THRESHOLD_" not in os.environ


PROBE = "tuopin_test_fork_probe"  # a module only this process has: a forked worker has it too


def _worker_state() -> dict:
    """What a Dask worker runs with (sent to each worker by ``client.run``)."""
    import threading

    import dask

    from tuopin.experiments.cluster import settings

    return {"config": {key: dask.config.get(key) for key in settings() if "pre-spawn-environ" not in key},
            "trim": os.environ.get("MALLOC_TRIM_THRESHOLD_"), "forked": PROBE in sys.modules,
            "threads": sorted(t.name for t in threading.enumerate())}


def test_local_cluster_workers_run_with_the_shipped_dask_settings(monkeypatch):
    from dask.distributed import Client

    from tuopin.experiments.cluster import SETTINGS_FILE, local_cluster, settings

    monkeypatch.delenv("MALLOC_TRIM_THRESHOLD_", raising=False)
    flat = settings()
    assert flat["distributed.worker.profile.enabled"] is False and flat["distributed.admin.tick.interval"] == "1s"
    assert SETTINGS_FILE.name == "dask.yaml" and "DASK_CONFIG" in SETTINGS_FILE.read_text(encoding="utf-8")
    monkeypatch.setitem(sys.modules, PROBE, types.ModuleType(PROBE))
    with local_cluster(2) as cluster, Client(cluster) as client:
        states = list(client.run(_worker_state).values())
    assert len(states) == 2
    for state in states:
        assert state["config"] == {k: v for k, v in flat.items() if "pre-spawn-environ" not in k}
        assert state["trim"] is None  # glibc's defaults, not Dask's 65536
        assert state["forked"]  # starts with what this process imported (tuopin), not spawned afresh
        assert "Profile" not in state["threads"]  # no statistical profiler taking the interpreter lock


def test_rerun_resumes_and_a_different_spec_is_refused(tmp_path):
    spec = write_spec(tmp_path)
    out = tmp_path / "out"
    run_sweep(load_spec(spec), out, progress=False)
    before = {p.name: p.stat().st_mtime_ns for p in (out / "runs").glob("part-*.parquet")}
    (out / "runs" / "part-00002.parquet").unlink()
    run_sweep(load_spec(spec), out, progress=False)
    after = {p.name: p.stat().st_mtime_ns for p in (out / "runs").glob("part-*.parquet")}
    assert set(after) == set(before)
    assert all(after[n] == before[n] for n in before if n != "part-00002.parquet")  # finished chunks skipped
    (tmp_path / "other").mkdir()
    other = write_spec(tmp_path / "other", seed=12)
    assert cli(["sweep", str(other), "--out", str(out), "--quiet"]) == 2


def test_resume_after_sigkill_equals_uninterrupted_run(tmp_path):
    spec = write_spec(tmp_path, points=24, replicates=1, chunk_runs=2, scale=0.02)
    out = tmp_path / "killed"
    cmd = [sys.executable, "-m", "tuopin.cli", "sweep", str(spec), "--out", str(out), "--quiet"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while not list((out / "runs").glob("part-*.parquet")) and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    finished = len(list((out / "runs").glob("part-*.parquet")))
    assert 1 <= finished < 12, "the kill should land partway through the sweep"
    assert not json.loads((out / "manifest.json").read_text()).get("complete")
    rerun = subprocess.run(cmd, capture_output=True, text=True)
    assert rerun.returncode == 0, rerun.stderr
    full = run_sweep(load_spec(spec), tmp_path / "full", progress=False)
    resumed = dataset(out)
    assert not resumed.duplicated(["point", "replicate", "year"]).any()
    assert sorted(resumed["point"].unique()) == list(range(24))
    pd.testing.assert_frame_equal(resumed, dataset(full))
    assert not list((out / "runs").glob(".part-*"))


def test_ctrl_c_stops_cleanly_and_says_how_to_resume(tmp_path):
    spec = write_spec(tmp_path, points=24, replicates=1, chunk_runs=2, scale=0.02)
    out = tmp_path / "out"
    proc = subprocess.Popen([sys.executable, "-m", "tuopin.cli", "sweep", str(spec), "--out", str(out), "--quiet"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not list((out / "runs").glob("part-*.parquet")) and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    proc.send_signal(signal.SIGINT)
    err = proc.communicate(timeout=120)[1]
    assert proc.returncode == 130, err
    assert "Traceback" not in err and "rerun the same command" in err
    assert not json.loads((out / "manifest.json").read_text()).get("complete")


def test_worker_processes_are_reused_across_calls():
    from tuopin.experiments import workers

    first = workers.start(2)
    pids = {first.submit(os.getpid).result() for _ in range(8)}
    assert workers.start(2) is first  # the next call (sweep, replicates) takes the same processes
    assert {workers.start(2).submit(os.getpid).result() for _ in range(8)} <= pids and os.getpid() not in pids
    assert workers.start(1) is not first  # another size: a new pool


TORN_DOWN = """
import json, signal, time
from tuopin.errors import on_signal
from tuopin.experiments import workers
assert workers.start_method() == "fork", workers.start_method()
signal.signal(signal.SIGTERM, on_signal)  # the command's handler, which unwinds
pool = workers.start(2)
processes = list(pool._processes.values())
for _ in range(2):
    pool.submit(signal.pause)
try:
    with workers.worker_pool(2):
        raise KeyboardInterrupt  # Ctrl-C while the jobs run
except KeyboardInterrupt:
    pass
deadline = time.monotonic() + 10  # the pool's own thread may be the one to reap a worker
while None in [p.exitcode for p in processes] and time.monotonic() < deadline:
    time.sleep(0.05)
print(json.dumps([p.exitcode for p in processes]))
"""


def test_workers_end_at_once_when_the_pool_is_torn_down():
    """A forked worker does not keep the command's SIGTERM handler (which unwinds instead of
    ending): an interrupted pool's workers end by the signal at once, their jobs unfinished.

    Run in a fresh process, single-threaded like a command at its start, so the pool is forked
    as a command's is (forking pytest's own multi-threaded process can deadlock a child)."""
    done = subprocess.run([sys.executable, "-c", TORN_DOWN], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.strip().splitlines()[-1]) == [-signal.SIGTERM] * 2


ONE_FORK_AT_A_TIME = """
import os, threading, time
from dask.distributed import Client
from tuopin.experiments.cluster import local_cluster
forking, overlaps = set(), []
def before():  # a fork hook that lets other threads run mid-fork, as filelock 4's can
    forking.add(threading.get_ident())
    time.sleep(0.2)
def audit(event, args):
    if event == "os.fork" and forking - {threading.get_ident()}:
        overlaps.append(event)
os.register_at_fork(before=before, after_in_parent=lambda: forking.discard(threading.get_ident()))
import sys; sys.addaudithook(audit)
with local_cluster(3) as cluster, Client(cluster) as client:
    print(len(client.nthreads()), len(overlaps))
"""


def test_the_local_cluster_forks_its_workers_one_at_a_time():
    """Each nanny forks its worker from a thread of its own; a fork hook that lets another thread
    run mid-fork (filelock 4's, loaded by solara, then refuses the second fork) must never see
    a second fork begin. Run in a fresh process, so the hooks stay out of pytest's."""
    done = subprocess.run([sys.executable, "-c", ONE_FORK_AT_A_TIME], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["3", "0"]  # three workers, no fork begun while another was under way
