"""Running a sweep: chunks of runs on local processes or Dask, streamed to a Parquet dataset.

Layout of a sweep directory::

    DIR/manifest.json         spec hash, points, replicates, chunks (and ``complete`` at the end)
    DIR/spec.yaml             a copy of the spec
    DIR/points.parquet        one row per point: its parameter values
    DIR/runs/part-00000.parquet  one file per finished chunk: a row per (point, replicate, year)

Run ``(point, replicate)`` uses ``SeedSequence(seed, spawn_key=(point, replicate))`` (or
``(replicate,)`` with common random numbers), so its numbers do not depend on chunking, on
the number of workers or on the backend. A chunk file is written under a temporary name and
renamed when complete, so a chunk file that exists is a finished chunk: rerunning the same
command skips them (resume). Only the chunks in flight are held in memory.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
from collections.abc import Generator
from contextlib import ExitStack, closing
from concurrent.futures import FIRST_COMPLETED, wait
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from tuopin.errors import UserError
from tuopin.experiments.outputs import TEMPORARY, read_json, staging_dir, write_atomic
from tuopin.experiments.replicates import annual_table, run_model
from tuopin.experiments.sweep_spec import SweepPlan
from tuopin.experiments.workers import prestart, worker_pool
from tuopin.scenario import apply_overrides, validate
from tuopin.sim import flows, kernels

RUNS_DIR = "runs"
MANIFEST = "manifest.json"


@dataclass(frozen=True)
class Backend:
    """Where chunks run: ``workers`` local processes, or Dask (``dask=True``, optional ``scheduler``)."""

    workers: int = 1
    dask: bool = False
    scheduler: str | None = None


ChunkJob = tuple[dict[str, Any], list[tuple[int, int, dict[str, Any], tuple[int, ...]]], int, list[str], list[str]]


def run_chunk(job: ChunkJob) -> pd.DataFrame:
    """Run every (point, replicate) of one chunk; returns its rows (a worker's whole job)."""
    base_raw, runs, seed, names, outputs = job
    kernels.prepare(len(runs))  # a long chunk on a worker that did not inherit the kernels (remote Dask) loads them
    frames = []
    scenarios: dict[int, Any] = {}
    for point, replicate, overrides, key in runs:
        if point not in scenarios:
            scenarios[point] = validate(apply_overrides(base_raw, overrides, "sweep"), "sweep")
        annual = annual_table(run_model(scenarios[point], np.random.SeedSequence(seed, spawn_key=key)), replicate)
        frames.append(run_rows(annual, point, replicate, {name: overrides[name] for name in names}, outputs))
    return pd.concat(frames, ignore_index=True)


def run_rows(annual: pd.DataFrame, point: int, replicate: int, parameters: dict[str, Any],
             outputs: list[str]) -> pd.DataFrame:
    """One run's rows of the dataset, built in one constructor: point, replicate, year, the point's
    ``parameters``, the scenario's other uncertain parameters as drawn (``param.*``) and the
    ``outputs`` (floats, or text)."""
    n = len(annual)
    columns: dict[str, Any] = {"point": np.full(n, point, np.int64), "replicate": np.full(n, replicate, np.int64),
                               "year": annual["year"].to_numpy(np.int64)}
    columns.update((name, [value] * n) for name, value in parameters.items())
    columns.update((col, annual[col].to_numpy()) for col in annual.columns if col.startswith("param."))
    for col in outputs:
        values = annual[col].to_numpy()
        columns[col] = values.astype(np.float64) if flows.BY_NAME[col].unit != "text" else values.astype(str).astype(object)
    return pd.DataFrame(columns)


def chunk_job(plan: SweepPlan, index: int) -> ChunkJob:
    """The self-contained job of chunk ``index``: plain data only, safe to send to any worker."""
    start, stop = plan.chunks[index]
    runs = [(p, r, plan.overrides(p), plan.seed_key(p, r))
            for p in range(start, stop) for r in range(plan.spec.replicates)]
    return plan.base_raw, runs, plan.spec.seed, plan.names, plan.outputs


def part_path(out: Path, index: int) -> Path:
    """The Parquet file of chunk ``index``."""
    return out / RUNS_DIR / f"part-{index:05d}.parquet"


def _write_part(out: Path, index: int, frame: pd.DataFrame) -> None:
    write_atomic(part_path(out, index), lambda p: frame.to_parquet(p, index=False, compression="zstd"))


def prepare(plan: SweepPlan, out: Path) -> list[int]:
    """Create or reopen the sweep directory; returns the chunks still to run.

    A directory made by a different spec (or scenario) is refused rather than mixed.
    """
    manifest_path = out / MANIFEST
    digest = plan.spec_hash()
    if out.exists() and not out.is_dir():
        raise UserError("output path exists and is not a directory", source=str(out))
    if manifest_path.exists():
        old = read_json(manifest_path)
        if not isinstance(old, dict):
            raise UserError("unreadable manifest (not a sweep's JSON object); use another --out or delete the "
                            "directory", source=str(manifest_path))
        if old.get("spec_sha256") != digest:
            raise UserError("this directory holds a sweep of a different spec or scenario; use another "
                            "--out or delete the directory", source=str(manifest_path), key="spec_sha256")
    elif out.exists() and any(out.iterdir()):
        raise UserError("output directory is not empty and holds no sweep manifest; use another --out",
                        source=str(out))
    else:
        _create(plan, out, digest)
    for stale in (out / RUNS_DIR).glob(TEMPORARY):  # left by a killed run
        stale.unlink(missing_ok=True)
    return [i for i in range(len(plan.chunks)) if not part_path(out, i).exists()]


def _create(plan: SweepPlan, out: Path, digest: str) -> None:
    """Write points, spec copy and manifest, staged then renamed (the manifest last)."""
    from tuopin import __version__

    out.parent.mkdir(parents=True, exist_ok=True)
    staging = staging_dir(out)
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir()
    try:
        (staging / RUNS_DIR).mkdir()
        plan.points.to_parquet(staging / "points.parquet", index=False)
        shutil.copyfile(plan.spec_path, staging / "spec.yaml")
        manifest = {
            "spec_file": str(plan.spec_path),
            "spec_sha256": digest,
            "tuopin": __version__,
            "design": plan.spec.design,
            "parameters": plan.names,
            "points": len(plan.points),
            "replicates": plan.spec.replicates,
            "seed": plan.spec.seed,
            "common_random_numbers": plan.spec.common_random_numbers,
            "runs": plan.runs,
            "outputs": plan.outputs,
            "chunks": [{"file": f"{RUNS_DIR}/part-{i:05d}.parquet", "points": [a, b]}
                       for i, (a, b) in enumerate(plan.chunks)],
        }
        (staging / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
        if out.exists():
            _move_into(staging, out)
        else:
            os.replace(staging, out)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _move_into(staging: Path, out: Path) -> None:
    for name in (RUNS_DIR, "points.parquet", "spec.yaml", MANIFEST):
        os.replace(staging / name, out / name)


def _local(plan: SweepPlan, todo: list[int], workers: int) -> Generator[tuple[int, pd.DataFrame], None, None]:
    """Chunks on local processes, at most two per worker in flight (flat memory)."""
    if workers <= 1:
        for i in todo:
            yield i, run_chunk(chunk_job(plan, i))
        return
    pending: dict[Any, int] = {}
    queue = iter(todo)
    with worker_pool(workers) as pool:
        for i in queue:
            pending[pool.submit(run_chunk, chunk_job(plan, i))] = i
            if len(pending) >= 2 * workers:
                break
        while pending:
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for fut in sorted(done, key=lambda f: pending[f]):
                i = pending.pop(fut)
                yield i, fut.result()
                nxt = next(queue, None)
                if nxt is not None:
                    pending[pool.submit(run_chunk, chunk_job(plan, nxt))] = nxt


def run_sweep(plan: SweepPlan, out: Path, backend: Backend = Backend(), progress: bool = True) -> Path:
    """Run (or resume) a sweep into ``out``; returns ``out``.

    Finished chunks are skipped; each newly finished chunk is written at once, so an
    interrupted sweep loses only the chunks in flight.
    """
    from tqdm import tqdm

    todo = prepare(plan, out)
    t0 = time.perf_counter()
    per_chunk = {i: (b - a) * plan.spec.replicates for i, (a, b) in enumerate(plan.chunks)}
    runs = sum(per_chunk[i] for i in todo)  # still to run
    done_runs = plan.runs - runs
    quiet = not progress or not sys.stderr.isatty()  # no bar in logs and pipes
    with ExitStack() as stack:
        # workers start before the progress bar's thread does
        if todo and (backend.dask or backend.scheduler):
            from tuopin.experiments.cluster import chunks_on_dask, dask_client

            if not backend.scheduler:  # tuopin's LocalCluster forks its workers: they start with the kernels
                kernels.prepare(runs)
            client = stack.enter_context(dask_client(backend.workers, backend.scheduler))
            source = chunks_on_dask(plan, todo, client)
        else:
            if todo:
                prestart(backend.workers, runs)
            source = _local(plan, todo, backend.workers)
        stack.enter_context(closing(source))
        bar = stack.enter_context(tqdm(total=plan.runs, initial=done_runs, unit="run", disable=quiet,
                                       file=sys.stderr, desc="sweep", smoothing=0.1))
        for index, frame in source:
            _write_part(out, index, frame)
            bar.update(per_chunk[index])
    _mark_complete(out, runs, time.perf_counter() - t0, backend)
    return out


def _mark_complete(out: Path, runs: int, seconds: float, backend: Backend) -> None:
    """Record that every chunk is in, and how fast this session ran (runs per second)."""
    manifest = json.loads((out / MANIFEST).read_text(encoding="utf-8"))
    manifest["complete"] = True
    if runs:
        manifest.setdefault("sessions", []).append({
            "runs": runs, "wall_time_s": round(seconds, 2), "runs_per_second": round(runs / seconds, 3),
            "workers": backend.workers, "dask": backend.dask or bool(backend.scheduler)})
    write_atomic(out / MANIFEST, lambda p: p.write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8"))


def read_runs(out: Path, columns: list[str] | None = None) -> pd.DataFrame:
    """The sweep's rows, sorted by point, replicate and year (reads only ``columns`` if given)."""
    files = sorted((out / RUNS_DIR).glob("part-*.parquet"))
    if not files:
        return pd.DataFrame()
    frame = pd.concat([pd.read_parquet(f, columns=columns) for f in files], ignore_index=True)
    return frame.sort_values(["point", "replicate", "year"], ignore_index=True)
