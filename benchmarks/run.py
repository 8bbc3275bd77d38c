"""``make bench``: time and memory of the vectorized model, against the per-agent Mesa reference.

Writes ``benchmarks/results.json`` and ``benchmarks/results.md`` (see ``benchmarks/README.md``)
and regenerates the Performance table of the top-level README from them (between its
``bench:targets`` marker comments). Every measurement runs in a fresh child process (this file
with ``--child``), which reports its own wall and CPU times and peak resident memory
(``resource.getrusage(RUSAGE_SELF).ru_maxrss``), so one measurement's memory never hides
another's. What is compared (vectorized against reference, 1 against 2 workers, processes
against Dask) is measured interleaved, A B A B, so that a change of load hits both alike.

    .venv/bin/python benchmarks/run.py [--quick] [--pairs N] [--sweep-reps N]
"""

from __future__ import annotations

import argparse
import json
import re
import tempfile
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "benchmarks"
SHANGLUO = ROOT / "scenarios" / "shangluo.yaml"
NATIONAL = ROOT / "scenarios" / "national.yaml"
MEMORY_CAP = 12 * 2**30  # the target's peak memory budget for national scale
NATIONAL_SIZES = (0.01, 0.03, 0.1)  # then national at 1:1 (or the largest fraction that fits): 100x
SHANGLUO_SIZES = (0.01, 0.1, 0.3)  # and full scale (the run above): 100x
README = ROOT / "README.md"
README_MARKERS = ("<!-- bench:targets:start (written by benchmarks/run.py from results.json) -->",
                  "<!-- bench:targets:end -->")
SWEEP_POINTS, SWEEP_REPLICATES = 16, 4  # 64 runs in 16 chunks: about 25 s on 2 workers, so start-up is not all
SWEEP_BACKENDS = ({"workers": 1, "dask": False}, {"workers": 2, "dask": False}, {"workers": 2, "dask": True})
STARTUP = {"import tuopin": [sys.executable, "-c", "import tuopin"],
           "tuopin --help": [str(Path(sys.executable).with_name("tuopin")), "--help"],
           # what a process pays before its first national-scale pass: numba and its cached kernels (no target)
           "first large keyed draw": [sys.executable, "-c", "import numpy as np; from tuopin.sim.keyed import Draws; "
                                      "Draws(1).normal(np.arange(2**20, dtype=np.uint64), 'x')"]}
# issue 14's targets
TARGET_RUN_CPU, TARGET_RATIO = 0.1, 150
TARGET_NATIONAL_S, TARGET_NATIONAL_PEAK = 40, 3 * 2**30
TARGET_TWO_WORKERS, TARGET_DASK = 1.8, 0.9
TARGET_STARTUP = {"import tuopin": 0.6, "tuopin --help": 0.5}
TARGET_BENCH_S = 15 * 60  # make bench from a fresh clone
RUN_REPLICATES = 20  # `tuopin run scenarios/national.yaml`: its 20 replicates at 1:100 and the summaries
REGISTER_PEOPLE = 500_000  # the register target: person rows of an .xlsx read and aggregated in < 30 s, < 2 GB
REGISTER_TARGET = (30.0, 2 * 2**30)
MAKER = ROOT / "scenarios" / "data" / "make_township_register.py"


# ------------------------------------------------------------------ child side


def _peak_rss() -> int:
    """This process's peak resident memory in bytes (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def child(task: dict) -> dict:
    """Run one measurement in this (fresh) process and return its figures."""
    import numpy as np

    from tuopin import PovertyModel, load_scenario
    from tuopin.sim.reference import ReferenceModel

    kind = task["kind"]
    if kind == "baseline":  # the interpreter and libraries alone
        return {"peak_rss": _peak_rss()}
    if kind == "register_file":
        return write_big_register(Path(task["path"]), task["people"])
    if kind == "register":  # read and aggregate a register file, nothing else
        from tuopin.sim.register import households_from_register

        scenario = load_scenario(SHANGLUO)
        t0, c0 = time.perf_counter(), time.process_time()
        hh, _, _ = households_from_register(task["path"], scenario, start_year=2018, allow_partial=True)
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        return {"wall": wall, "cpu": cpu, "households": len(hh), "people": int(hh.size.sum()), "peak_rss": _peak_rss(),
                "bytes": Path(task["path"]).stat().st_size}
    if kind == "sweep":
        from tuopin.experiments.sweep import Backend, run_sweep
        from tuopin.experiments.sweep_spec import load_spec

        with tempfile.TemporaryDirectory() as tmp:
            spec = Path(tmp) / "spec.yaml"
            spec.write_text(json.dumps(task["spec"]), encoding="utf-8")  # JSON is YAML
            plan = load_spec(spec)
            # the kernels a sweep loads before its workers start (kernels.prepare), timed apart: the
            # one-worker sweep would pay them in its own CPU time, the workers of two never
            from tuopin.sim import kernels

            k0 = time.process_time()
            kernels.prepare(plan.runs)
            prepare_cpu = time.process_time() - k0
            t0, c0, started = time.perf_counter(), time.process_time(), time.time()
            run_sweep(plan, Path(tmp) / "out", Backend(workers=task["workers"], dask=task["dask"]), progress=False)
            wall, cpu = time.perf_counter() - t0, time.process_time() - c0
            # when each chunk was finished (its part file written), seconds from the start
            done = sorted(p.stat().st_mtime - started for p in (Path(tmp) / "out" / "runs").glob("part-*.parquet"))
        # local workers stay for the next call (the shared pool): which processes ran the chunks,
        # and the CPU time of each (all of it the sweep's, start-up included)
        workers = {pid: _cpu_of(pid) for pid in _children()} if not task["dask"] else {}
        return {"wall": wall, "cpu_main": cpu, "runs": plan.runs, "chunks": len(plan.chunks),
                "runs_per_second": plan.runs / wall, "chunk_done": done, "worker_cpu": list(workers.values()),
                "load_1min": os.getloadavg()[0], "peak_rss": _peak_rss(), "prepare_cpu": prepare_cpu,
                "prepare_from_runs": kernels.WORTH_RUNS}
    if kind == "run":  # what `tuopin run` computes: the replicates, then the year and county summaries
        from tuopin.experiments.replicates import run_replicates
        from tuopin.experiments.results import result_writers

        scenario = load_scenario(task["scenario"], overrides={"scale": task["scale"]})
        t0, c0 = time.perf_counter(), time.process_time()
        result = run_replicates(scenario, replicates=task["replicates"], seed=1)
        t1 = time.perf_counter()
        result_writers(result, "benchmark")
        return {"wall": time.perf_counter() - t0, "cpu": time.process_time() - c0, "summaries": time.perf_counter() - t1,
                "counties": len(scenario.counties.rows), "peak_rss": _peak_rss()}
    # a process's one-off costs first, untimed: a small run. (numba is loaded by the first pass over
    # 2^20 households or more, in the set-up of a national run from 1:33 on, and counted there:
    # "first large keyed draw" is what it costs.)
    PovertyModel(load_scenario(SHANGLUO, overrides={"scale": 0.01}), rng=1).run()
    if kind == "interleaved":  # vectorized and reference in turn, same seeds, order alternating
        return interleaved(task)
    scenario = load_scenario(task["scenario"], overrides={"scale": task["scale"]})
    cls = ReferenceModel if kind == "reference" else PovertyModel
    inits, runs, cpu_runs, households, state = [], [], [], 0, 0
    for r in range(task["runs"]):
        t0 = time.perf_counter()
        model = cls(scenario, rng=np.random.SeedSequence(1000 + r))
        t1, c1 = time.perf_counter(), time.process_time()
        model.run()
        t2, c2 = time.perf_counter(), time.process_time()
        inits.append(t1 - t0)
        runs.append(t2 - t1)
        cpu_runs.append(c2 - c1)
        if cls is PovertyModel:
            households, state = len(model.hh), model.hh.nbytes
            people = int(model.hh.size.sum())
        else:
            households = len(model.households)
            people = sum(a.size for a in model.households)
        years = model.year - model.p.years[0] + 1
        del model
    return {"init": inits, "run": runs, "cpu_run": cpu_runs, "households": households, "people": people, "years": years,
            "state_bytes": state, "peak_rss": _peak_rss()}


def _children() -> list[int]:
    """This process's child processes (from /proc)."""
    me, found = os.getpid(), []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == me:
                found.append(int(stat.parent.name))
        except (OSError, ValueError, IndexError):
            pass
    return found


def _cpu_of(pid: int) -> float:
    """CPU seconds (user + system) process ``pid`` has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _timed_run(cls: type, scenario: object, seed: int) -> dict:
    """Build (set-up) and run one replicate; wall and CPU seconds of each."""
    import numpy as np

    t0, c0 = time.perf_counter(), time.process_time()
    model = cls(scenario, rng=np.random.SeedSequence(seed))
    t1, c1 = time.perf_counter(), time.process_time()
    model.run()
    t2, c2 = time.perf_counter(), time.process_time()
    return {"init": t1 - t0, "cpu_init": c1 - c0, "run": t2 - t1, "cpu_run": c2 - c1}


def interleaved(task: dict) -> dict:
    """``task["pairs"]`` rounds of: vectorized, reference, vectorized, each vectorized run followed
    by one with the compiled kernels loaded (as a long job's workers run it: ``kernels.prepare``);
    the reference first in odd rounds; every run with the round's seed; load average per round."""
    from tuopin import PovertyModel, load_scenario
    from tuopin.sim import kernels
    from tuopin.sim.reference import ReferenceModel

    scenario = load_scenario(task["scenario"], overrides={"scale": task["scale"]})
    kernels.use_compiled(True)
    PovertyModel(scenario, rng=0).run()  # the kernels' code loaded before any is timed
    runs: dict[str, list[dict]] = {"vectorized": [], "compiled": [], "reference": []}
    loads = []
    for k in range(task["pairs"]):
        order = ["vectorized", "compiled", "reference", "vectorized", "compiled"] if k % 2 == 0 else \
            ["reference", "compiled", "vectorized", "compiled", "vectorized"]
        for name in order:
            cls = ReferenceModel if name == "reference" else PovertyModel
            kernels.use_compiled(name == "compiled")
            runs[name].append({**_timed_run(cls, scenario, 1000 + k), "round": k})
        loads.append(os.getloadavg()[0])
    kernels.use_compiled(False)
    out: dict = {"load_1min": loads, "peak_rss": _peak_rss(), "shocks_cpu": shocks_cpu(scenario, task["pairs"])}
    for name, rows in runs.items():
        out[name] = {key: [r[key] for r in rows] for key in ("init", "cpu_init", "run", "cpu_run", "round")}
    # per round: reference CPU / the round's median vectorized CPU
    out["ratio_cpu_per_round"] = [
        ref / statistics.median(v for v, rnd in zip(out["vectorized"]["cpu_run"], out["vectorized"]["round"]) if rnd == k)
        for k, ref in enumerate(out["reference"]["cpu_run"])]
    return out


def shocks_cpu(scenario: object, rounds: int) -> list[float]:
    """CPU seconds of a replicate's shocks alone (``income.draw_shocks`` each year: two normal and
    two or three uniform keyed draws and two ``exp`` a household), one figure per round (at least
    three): the part of a replicate that its random numbers take, as they are drawn now."""
    import numpy as np

    from tuopin import PovertyModel
    from tuopin.sim import income

    times = []
    for k in range(max(rounds, 3)):
        model = PovertyModel(scenario, rng=np.random.SeedSequence(1000 + k))
        c0 = time.process_time()
        while model.year < model.last_year:
            model.year += 1
            income.draw_shocks(model)
        times.append(time.process_time() - c0)
    return times


def write_big_register(path: Path, people: int) -> dict:
    """Shangluo at the end of 2017 (the model's own state, full scale) as an official-layout .xlsx
    of about ``people`` person rows: the first households up to that many people."""
    import runpy

    import numpy as np

    from tuopin import PovertyModel, load_scenario

    maker = runpy.run_path(str(MAKER))
    model = PovertyModel(load_scenario(SHANGLUO), rng=1)
    model.step()
    model.step()
    hh = model.hh
    keep = np.cumsum(hh.size) <= people
    hh = hh.select(keep)
    first = np.r_[0, np.cumsum(np.bincount(model.villages.county, minlength=len(model.counties)))][hh.county]
    local = hh.village - first  # villages are numbered within each county; 20 to a township
    county = np.asarray(model.counties.name)[hh.county]
    township = np.char.add(np.char.add(county.astype(str), "第"), np.char.add((local // 20 + 1).astype(str), "镇"))
    t0 = time.perf_counter()
    table = maker["person_rows"](hh, county, township, (local + 1).astype(str))
    maker["write_xlsx"](table, path, "商洛市建档立卡贫困人口信息表（2017年底）　合成数据")
    return {"wall": time.perf_counter() - t0, "rows": len(table), "households": len(hh)}


# ----------------------------------------------------------------- parent side


def _children_cpu() -> float:
    """CPU seconds of this process's finished children (and theirs, once reaped)."""
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def begin(task: dict) -> subprocess.Popen:
    """Start a task in a child process (``finish`` collects it)."""
    return subprocess.Popen([sys.executable, __file__, "--child", json.dumps(task)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, cwd=ROOT)


def finish(proc: subprocess.Popen, task: dict, t0: float) -> dict:
    """Wait for a child started at ``t0`` by ``begin``; its figures plus the task (or its error)."""
    out, err = proc.communicate()
    if proc.returncode != 0:
        return {**task, "error": (err.strip().splitlines() or ["killed"])[-1],
                "returncode": proc.returncode, "wall": time.perf_counter() - t0}
    return {**task, **json.loads(out.strip().splitlines()[-1])}


def measure(task: dict) -> dict:
    """Run a task in a child process; returns its figures plus the task and ``cpu_total``, the CPU
    time of the child and of every process it started (workers included), start-up included."""
    t0, c0 = time.perf_counter(), _children_cpu()
    out = finish(begin(task), task, t0)
    return out if "error" in out else {**out, "cpu_total": _children_cpu() - c0}


def startup(reps: int) -> dict[str, dict]:
    """CPU and wall seconds of ``import tuopin`` and ``tuopin --help`` in fresh processes,
    interleaved, ``reps`` times each."""
    out: dict[str, dict] = {name: {"cpu": [], "wall": []} for name in STARTUP}
    for _ in range(reps):
        for name, cmd in STARTUP.items():
            t0, c0 = time.perf_counter(), _children_cpu()
            subprocess.run(cmd, check=True, capture_output=True, cwd=ROOT)
            out[name]["cpu"].append(_children_cpu() - c0)
            out[name]["wall"].append(time.perf_counter() - t0)
    return out


def sweep_spec(scale: float) -> dict:
    """The sweep the backends are compared on: Shangluo, two parameters, 64 runs in 16 chunks."""
    return {"base": str(SHANGLUO), "scale": scale, "design": "latin", "points": SWEEP_POINTS,
            "replicates": SWEEP_REPLICATES, "seed": 7, "chunk_runs": SWEEP_REPLICATES,
            "parameters": {"economy.income_growth": {"low": 0.04, "high": 0.12},
                           "funding.multiplier": {"low": 0.6, "high": 1.4}}}


def backend_name(s: dict) -> str:
    """``processes x2``, ``Dask x2``."""
    return f"{'Dask' if s['dask'] else 'processes'} x{s['workers']}"


def measure_register(path: Path, made: dict) -> dict:
    """Read the register file ``path`` that a ``register_file`` child wrote (``made``: its figures),
    in a child of its own (measured)."""
    if "error" in made:
        return made
    read = measure({"kind": "register", "path": str(path)})
    read.pop("path", None)  # a temporary file, gone after the benchmark
    return {**read, "rows": made["rows"], "write_wall": made["wall"], "written_alongside": made["alongside"]}


def mem_available() -> int:
    """MemAvailable from /proc/meminfo (bytes), or the cap when unknown."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return MEMORY_CAP


def per_household_year(r: dict) -> float:
    """Median run seconds per household-year."""
    return statistics.median(r["run"]) / (r["households"] * r["years"])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--quick", action="store_true", help="small sizes only (checks the script, not the figures)")
    ap.add_argument("--pairs", type=int, default=2,
                    help="rounds of vectorized, reference, vectorized at Shangluo full scale (interleaved)")
    ap.add_argument("--sweep-reps", type=int, default=3,
                    help="rounds of the sweep on each backend, interleaved (the medians are compared)")
    ap.add_argument("--startup-reps", type=int, default=5, help="fresh processes per start-up measurement")
    ap.add_argument("--out", type=Path, default=OUT, help="where results.json and results.md go")
    ap.add_argument("--readme", type=Path, default=README,
                    help="README whose Performance table is regenerated (between its bench:targets markers)")
    args = ap.parse_args()
    if args.child:
        print(json.dumps(child(json.loads(args.child))))
        return

    quick = args.quick
    full = 0.05 if quick else 1.0
    shrink = 1 / 100 if quick else 1.0
    started = time.time()
    load = {"before": os.getloadavg()}
    print(f"load average {load['before']}", flush=True)

    baseline = measure({"kind": "baseline"})
    print(f"baseline: {baseline['peak_rss'] / 2**20:.0f} MiB", flush=True)

    # The register file the register benchmark reads takes about two minutes to write (Python, cell by
    # cell) and is not itself measured: it is written on the other core while the single-process
    # measurements below run (start-up, and Shangluo's interleaved pair: a ratio, both sides alike).
    scratch = tempfile.TemporaryDirectory()
    register_path = Path(scratch.name) / "register.xlsx"
    register_task = {"kind": "register_file", "path": str(register_path),
                     "people": REGISTER_PEOPLE // 100 if quick else REGISTER_PEOPLE}
    writer, writer_t0 = begin(register_task), time.perf_counter()

    starts = startup(args.startup_reps)
    for name, t in starts.items():
        print(f"{name}: {statistics.median(t['cpu']):.2f} s CPU (median of {len(t['cpu'])})", flush=True)

    pair = measure({"kind": "interleaved", "scenario": str(SHANGLUO), "scale": full, "pairs": args.pairs})
    vec, ref = pair["vectorized"], pair["reference"]
    print(f"Shangluo: vectorized run {statistics.median(vec['cpu_run']):.3f} s CPU, reference "
          f"{statistics.median(ref['cpu_run']):.1f} s CPU", flush=True)
    made = finish(writer, register_task, writer_t0)  # before anything else: the rest has both cores to itself
    made["alongside"] = "start-up, Shangluo interleaved"
    print(f"register file written alongside in {made.get('wall', float('nan')):.0f} s "
          f"(done {time.perf_counter() - writer_t0:.0f} s after it started)", flush=True)
    full_row = measure({"kind": "vectorized", "scenario": str(SHANGLUO), "scale": full, "runs": 3})

    shangluo_rows = [measure({"kind": "vectorized", "scenario": str(SHANGLUO), "scale": s * full, "runs": 3})
                     for s in SHANGLUO_SIZES] + [full_row]
    national_rows = []
    for s in NATIONAL_SIZES:
        r = measure({"kind": "vectorized", "scenario": str(NATIONAL), "scale": s * shrink, "runs": 3 if s < 0.1 else 1})
        national_rows.append(r)
        print(f"national {r['scale']:g}: {r['households']} households, run {statistics.median(r['run']):.2f} s, "
              f"peak {r['peak_rss'] / 2**20:.0f} MiB", flush=True)

    # National 1:1 if the memory it needs (extrapolated from the largest size so far) fits the
    # 12 GB cap and this machine's free memory, else the largest fraction that does.
    small, big = national_rows[-2:]
    per_hh = (big["peak_rss"] - small["peak_rss"]) / (big["households"] - small["households"])
    if per_hh <= 0:
        per_hh = (big["peak_rss"] - baseline["peak_rss"]) / big["households"]
    budget = min(MEMORY_CAP, int(mem_available() * 0.8)) - big["peak_rss"]
    fits = big["scale"] * (1 + budget / (per_hh * big["households"]))  # the scale that fills the budget
    nat_scale = shrink if fits >= shrink else round(max(fits * 0.9, big["scale"]), 2)
    national = measure({"kind": "vectorized", "scenario": str(NATIONAL), "scale": nat_scale, "runs": 1})
    national["limited_by"] = None if nat_scale >= shrink else \
        f"estimated {per_hh:.0f} bytes per household at peak; memory budget {(budget + big['peak_rss']) / 2**30:.1f} GiB"
    print(f"national {nat_scale}: {national.get('error') or national['run']}", flush=True)
    if "error" not in national:
        national_rows.append(national)

    run = measure({"kind": "run", "scenario": str(NATIONAL), "scale": 0.01 * shrink, "replicates": RUN_REPLICATES})
    print(f"national run, {RUN_REPLICATES} replicates: {run.get('error') or run['wall']}", flush=True)

    spec = sweep_spec(full)
    sweeps = []
    for _ in range(args.sweep_reps):  # interleaved: 1 process, 2 processes, Dask 2, then again
        for b in SWEEP_BACKENDS:
            sweeps.append(measure({"kind": "sweep", "spec": spec, **b}))
            print(f"sweep {backend_name(b)}: {sweeps[-1].get('error') or round(sweeps[-1]['wall'], 1)} s", flush=True)

    register = measure_register(register_path, made)
    scratch.cleanup()
    print(f"register {register.get('people')} people: read {register.get('wall', float('nan')):.1f} s, "
          f"peak {register.get('peak_rss', 0) / 2**20:.0f} MiB", flush=True)

    load["after"] = os.getloadavg()
    results = {
        "machine": {"platform": platform.platform(), "python": platform.python_version(),
                    "cpus": os.cpu_count(), "load_average": load},
        "versions": _versions(),
        "baseline_rss": baseline["peak_rss"],
        "startup": starts,
        "shangluo": {**pair,
                     "ratio_cpu": statistics.median(ref["cpu_run"]) / statistics.median(vec["cpu_run"]),
                     "ratio_run": statistics.median(ref["run"]) / statistics.median(vec["run"]),
                     "ratio_init_plus_run": (statistics.median(ref["init"]) + statistics.median(ref["run"]))
                     / (statistics.median(vec["init"]) + statistics.median(vec["run"]))},
        "scaling": {"national": national_rows, "shangluo": shangluo_rows},
        "national": national,
        "sweep": sweeps,
        "run": run,
        "sweep_spec": spec,
        "register": register,
        "wall_seconds": time.time() - started,
        "quick": quick,
    }
    args.out.mkdir(parents=True, exist_ok=True)
    text = json.dumps(results, indent=2, ensure_ascii=False).replace(json.dumps(str(ROOT))[1:-1] + "/", "")
    _write_atomic(args.out / "results.json", text + "\n")  # paths relative to the checkout
    _write_atomic(args.out / "results.md", report(results))
    if args.readme.exists() and not quick:
        _write_atomic(args.readme, with_readme_table(args.readme.read_text(encoding="utf-8"), results))
    print(f"wrote {args.out / 'results.md'} and results.json in {results['wall_seconds']:.0f} s")


def _versions() -> dict[str, str]:
    from importlib.metadata import version

    return {p: version(p) for p in ("tuopin", "mesa", "numpy")}


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


def _mib(b: float) -> str:
    return f"{b / 2**20:,.0f}"


def linearity(rows: list[dict], key: str = "run") -> tuple[float, float]:
    """Largest deviation of time per household-year from its median, and the span of sizes."""
    phy = [statistics.median(x[key]) / (x["households"] * x["years"]) for x in rows]
    dev = max(abs(p / statistics.median(phy) - 1) for p in phy)
    return dev, rows[-1]["households"] / rows[0]["households"]


def sweep_summary(r: dict) -> dict[str, dict]:
    """Per backend: median wall seconds, runs per second and total CPU seconds of its rounds."""
    out: dict[str, dict] = {}
    for b in SWEEP_BACKENDS:
        rows = [s for s in r["sweep"] if s["workers"] == b["workers"] and s["dask"] == b["dask"] and "error" not in s]
        if rows:
            wall = statistics.median(s["wall"] for s in rows)
            out[backend_name(b)] = {"wall": wall, "runs_per_second": rows[0]["runs"] / wall, "rounds": len(rows),
                                    "cpu_total": statistics.median(s["cpu_total"] for s in rows),
                                    "cpu_main": statistics.median(s["cpu_main"] for s in rows),
                                    "busiest_worker_cpu": statistics.median(max(s["worker_cpu"], default=0) for s in rows),
                                    "worker_processes": max(len(s["worker_cpu"]) for s in rows),
                                    "load_1min": [s["load_1min"] for s in rows],
                                    "started_rate": statistics.median(started_rate(s) for s in rows)}
    return out


def busiest(name: str, x: dict) -> str:
    """CPU seconds of a sweep's busiest worker process (the calling process for one worker;
    not known for Dask, whose workers are gone when the sweep ends)."""
    if "Dask" in name:
        return "–"
    return f"{x['busiest_worker_cpu'] or x['cpu_main']:.1f}"


def started_rate(s: dict) -> float:
    """Runs per second once the workers have started: the runs of every chunk but the first
    finished, over the time from the first chunk finished to the last."""
    done = s["chunk_done"]
    return (len(done) - 1) * s["runs"] / len(done) / (done[-1] - done[0])


def speedup_cpu(one: dict, two: dict) -> float:
    """CPU time of the sweep on one worker (in the calling process) / that of the busiest worker
    of two: the wall-time speed-up two workers give when each has a core."""
    return one["cpu_main"] / two["busiest_worker_cpu"] if two["busiest_worker_cpu"] else float("nan")


def _loads(xs: list[float]) -> str:
    return f"{min(xs):.1f}–{max(xs):.1f}"


def targets(r: dict) -> list[str]:
    """Issue 14's targets as a Markdown table: measured figure and whether met (results.md and
    the README's Performance section)."""
    med = statistics.median
    vec, ref, nat = r["shangluo"]["vectorized"], r["shangluo"]["reference"], r["national"]
    comp = r["shangluo"]["compiled"]
    sw = sweep_summary(r)
    rows = [
        f"| Shangluo full scale, one 5-year replicate ≤ {TARGET_RUN_CPU} s CPU | {med(vec['cpu_run']):.3f} s CPU run "
        f"({med(vec['run']):.3f} s wall; set-up {med(vec['cpu_init']):.3f} s CPU), median of {len(vec['run'])} "
        f"| {_yes(med(vec['cpu_run']) <= TARGET_RUN_CPU)} |",
        f"| of which the year's shocks alone (`income.draw_shocks`: 2 normal and 2–3 uniform keyed draws and 2 `exp` "
        f"a household, 5 years), the same numbers | {med(r['shangluo']['shocks_cpu']):.3f} s CPU, median of "
        f"{len(r['shangluo']['shocks_cpu'])} | {_yes(med(r['shangluo']['shocks_cpu']) <= TARGET_RUN_CPU)} |",
        f"| the same with the compiled kernels loaded (a sweep's, a calibration's or a long run's workers: "
        f"`kernels.prepare`), the same numbers | {med(comp['cpu_run']):.3f} s CPU run, median of {len(comp['run'])} "
        f"| {_yes(med(comp['cpu_run']) <= TARGET_RUN_CPU)} |",
        f"| ≥ {TARGET_RATIO}× the per-agent reference, same process, interleaved | {r['shangluo']['ratio_cpu']:.0f}× "
        f"CPU (reference {med(ref['cpu_run']):.1f} s; per round {', '.join(f'{x:.0f}' for x in r['shangluo']['ratio_cpu_per_round'])}×) "
        f"| {_yes(r['shangluo']['ratio_cpu'] >= TARGET_RATIO)} |",
    ]
    if "error" in nat:
        rows.append(f"| National 1:1 ≤ {TARGET_NATIONAL_S} s and ≤ 3 GiB peak | scale {nat['scale']:g} failed: "
                    f"{nat['error']} | **no** |")
    else:
        t = nat["init"][0] + nat["run"][0]
        ok = nat["scale"] >= 1 and t <= TARGET_NATIONAL_S and nat["peak_rss"] <= TARGET_NATIONAL_PEAK
        rows.append(f"| National 1:1 ≤ {TARGET_NATIONAL_S} s and ≤ 3 GiB peak | scale {nat['scale']:g}, "
                    f"{nat['households']:,} households: {t:.0f} s wall ({nat['init'][0]:.0f} s set-up + "
                    f"{nat['run'][0]:.0f} s run; run CPU {nat['cpu_run'][0]:.0f} s), peak {nat['peak_rss'] / 2**30:.2f} GiB "
                    f"| {_yes(ok)} |")
    one, two, dask = (sw.get(k) for k in ("processes x1", "processes x2", "Dask x2"))
    if one and two and dask:
        rows += [
            f"| Sweep, 2 workers ≥ {TARGET_TWO_WORKERS}× one worker | {one['wall'] / two['wall']:.2f}× wall "
            f"({one['wall']:.1f} s → {two['wall']:.1f} s, {r['sweep'][0]['runs']} runs, worker start-up included; "
            f"load average {_loads(one['load_1min'] + two['load_1min'])} on {r['machine']['cpus']} CPUs) "
            f"| {_yes(one['wall'] / two['wall'] >= TARGET_TWO_WORKERS)} |",
            f"| the same, in CPU time: one worker's CPU / the busiest of 2 workers' (the speed-up with a core "
            f"per worker, whatever the load) | {speedup_cpu(one, two):.2f}× ({one['cpu_main']:.1f} s → "
            f"{two['busiest_worker_cpu']:.1f} s CPU; all processes {one['cpu_total']:.1f} s → {two['cpu_total']:.1f} s) "
            f"| {_yes(speedup_cpu(one, two) >= TARGET_TWO_WORKERS)} |",
            f"| Sweep workers reused across chunks | {two['worker_processes']} worker processes ran the "
            f"{r['sweep'][0]['chunks']} chunks of each 2-worker sweep | {_yes(two['worker_processes'] == 2)} |",
            f"| Sweep, Dask ≥ {TARGET_DASK}× processes (2 workers) | {two['wall'] / dask['wall']:.2f}× "
            f"({dask['wall']:.1f} s against {two['wall']:.1f} s, start-up included) "
            f"| {_yes(two['wall'] / dask['wall'] >= TARGET_DASK)} |",
            f"| the same once started: runs per second from the first chunk finished to the last | "
            f"{dask['started_rate'] / two['started_rate']:.2f}× ({dask['started_rate']:.2f} against "
            f"{two['started_rate']:.2f} runs/s) | {_yes(dask['started_rate'] / two['started_rate'] >= TARGET_DASK)} |",
        ]
    else:
        rows.append("| Sweeps | a sweep failed (see results.json) | **no** |")
    for name, limit in TARGET_STARTUP.items():
        t = r["startup"][name]
        rows.append(f"| `{name}` ≤ {limit} s CPU | {med(t['cpu']):.2f} s CPU ({med(t['wall']):.2f} s wall), "
                    f"median of {len(t['cpu'])} | {_yes(med(t['cpu']) <= limit)} |")
    if not r["quick"]:
        rows.append(f"| `make bench` under {TARGET_BENCH_S // 60} minutes | {r['wall_seconds'] / 60:.1f} minutes of "
                    f"benchmarks (from a fresh clone, add the install: 2–2.5 minutes here) "
                    f"| {_yes(r['wall_seconds'] < TARGET_BENCH_S)} |")
    return ["| target (issue 14) | measured | met |", "|---|---|---|", *rows]


def with_readme_table(text: str, r: dict) -> str:
    """``text`` (the README) with the targets table between its markers replaced by ``r``'s."""
    start, end = README_MARKERS
    if start not in text or end not in text:
        raise SystemExit(f"benchmarks/run.py: {README}: the Performance section needs the markers {start} and {end}")
    load = r["machine"]["load_average"]
    block = "\n".join([start, f"Load average (1 min) {load['before'][0]:.1f} before, {load['after'][0]:.1f} after, "
                        f"on {r['machine']['cpus']} CPUs; {r['wall_seconds']:.0f} s in all.", "", *targets(r), end])
    return re.sub(re.escape(start) + ".*?" + re.escape(end), lambda _: block, text, count=1, flags=re.S)


def report(r: dict) -> str:
    """The results as Markdown tables, targets first."""
    med = statistics.median
    vec, ref = r["shangluo"]["vectorized"], r["shangluo"]["reference"]
    nat = r["national"]
    base = r["baseline_rss"]
    load = r["machine"]["load_average"]
    nat_dev, nat_span = linearity(r["scaling"]["national"])
    sl_dev, sl_span = linearity(r["scaling"]["shangluo"])
    nat_cpu, _ = linearity(r["scaling"]["national"], "cpu_run")
    sl_cpu, _ = linearity(r["scaling"]["shangluo"], "cpu_run")
    lines = [
        "# Benchmarks (written by `make bench`)",
        "",
        f"Machine: {r['machine']['platform']}, {r['machine']['cpus']} CPUs, Python {r['machine']['python']}; "
        f"tuopin {r['versions']['tuopin']}, Mesa {r['versions']['mesa']}, NumPy {r['versions']['numpy']}. "
        f"Load average (1, 5, 15 min) before: {', '.join(f'{x:.1f}' for x in load['before'])}; "
        f"after: {', '.join(f'{x:.1f}' for x in load['after'])}. A load above the CPU count means other jobs "
        "shared the cores: wall times are then slower by about that factor, CPU times much less.",
        f"Whole benchmark: {r['wall_seconds']:.0f} s." + (" **--quick: small sizes, not the targets.**" if r["quick"] else ""),
        "",
        "## Targets",
        "",
        *targets(r),
        f"| Linear: time per household-year within ±30% over 4 sizes spanning 100× (issue 6) | national "
        f"({nat_span:.0f}× span): largest deviation from the median {nat_dev:.0%} wall, {nat_cpu:.0%} CPU; "
        f"Shangluo ({sl_span:.0f}×): {sl_dev:.0%} wall, {sl_cpu:.0%} CPU | {_yes(nat_cpu <= 0.30)} (national), "
        f"{_yes(sl_cpu <= 0.30)} (Shangluo) |",
        "",
        "## Shangluo, full scale: vectorized and per-agent reference in one process, interleaved",
        "",
        f"{len(ref['run'])} rounds; each runs the vectorized model twice with numpy's passes, twice with the "
        "compiled kernels loaded and the reference once, with the round's seed (reference first in odd rounds). "
        "Load average (1 min) after each round: "
        f"{', '.join(f'{x:.1f}' for x in r['shangluo']['load_1min'])}.",
        "",
        "| implementation | runs | set-up s (CPU) | run s wall | run s CPU | min–max run CPU |",
        "|---|---|---|---|---|---|",
    ]
    for name, x in (("vectorized (`PovertyModel`)", vec), ("the same, compiled kernels loaded", r["shangluo"]["compiled"]),
                    ("per-agent Mesa (`tuopin.sim.reference`)", ref)):
        lines.append(f"| {name} | {len(x['run'])} | {med(x['cpu_init']):.3f} | {med(x['run']):.3f} | "
                     f"{med(x['cpu_run']):.3f} | {min(x['cpu_run']):.3f}–{max(x['cpu_run']):.3f} |")
    lines += ["", f"Ratio of median CPU times (run): {r['shangluo']['ratio_cpu']:.0f}×; of wall times "
              f"{r['shangluo']['ratio_run']:.0f}×; set-up + run (wall) {r['shangluo']['ratio_init_plus_run']:.0f}×. "
              f"Peak of the process: {_mib(r['shangluo']['peak_rss'])} MiB."]
    for name, rows in (("national", r["scaling"]["national"]), ("Shangluo", r["scaling"]["shangluo"])):
        lines += [
            "",
            f"## Scaling: {name} scenario at four sizes (one replicate, 5 years; median of the runs)",
            "",
            "| scale | households | people | runs | set-up s | run s | µs per household-year | CPU µs per "
            "household-year | peak MiB | peak above interpreter, bytes/household |",
            "|---|---|---|---|---|---|---|---|---|---|",
        ]
        for x in rows:
            lines.append(
                f"| 1:{1 / x['scale']:.0f} | {x['households']:,} | {x['people']:,} | {len(x['run'])} | "
                f"{med(x['init']):.2f} | {med(x['run']):.2f} | {per_household_year(x) * 1e6:.3f} | "
                f"{med(x['cpu_run']) / (x['households'] * x['years']) * 1e6:.3f} | {_mib(x['peak_rss'])} | {(x['peak_rss'] - base) / x['households']:.0f} |")
    spec = r["sweep_spec"]
    lines += [
        "",
        f"Interpreter with NumPy, pandas and Mesa loaded: {_mib(base)} MiB.",
        "",
        f"## Sweeps (`run_sweep`, Shangluo at scale {spec['scale']:g}, {spec['points']} points × "
        f"{spec['replicates']} replicates in {spec['points']} chunks; rounds interleaved)",
        "",
        "| backend | rounds | wall s (median) | runs per second | once started | first chunk done, s | "
        "CPU s, all processes | busiest worker CPU s | worker processes | load (1 min) |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, x in sweep_summary(r).items():
        first = statistics.median(s["chunk_done"][0] for s in r["sweep"] if backend_name(s) == name and "error" not in s)
        lines.append(f"| {name} | {x['rounds']} | {x['wall']:.1f} | {x['runs_per_second']:.2f} | "
                     f"{x['started_rate']:.2f} | {first:.1f} | {x['cpu_total']:.1f} | "
                     f"{busiest(name, x)} | {x['worker_processes'] or ('–' if 'Dask' in name else 'this one')} | "
                     f"{_loads(x['load_1min'])} |")
    prep = [s["prepare_cpu"] for s in r["sweep"] if "prepare_cpu" in s]
    lines += ["", "Wall time from the start of `run_sweep` to its end, worker start-up included: local workers "
              "are forked from the calling process when it has a single thread (tuopin already imported), "
              "and so are the processes of tuopin's Dask LocalCluster (`tuopin.experiments.cluster`). "
              "\"Once started\": runs per second from the first chunk finished to the last. CPU time of the "
              "measuring process and every worker, imports included. One worker runs in the calling process."
              + (f" Before each sweep the calling process loaded the compiled kernels, as `run_sweep` does for "
                 f"{r['sweep'][0]['prepare_from_runs']} runs or more (`kernels.prepare`): {statistics.median(prep):.2f} s CPU (median), "
                 "timed apart and in none of the figures above, so that the one-worker sweep's CPU time does not "
                 "hold a cost the workers of two inherit." if prep else "")]
    run = r["run"]
    lines += ["", f"## `tuopin run` of the national scenario (scale {run['scale']:g}, {run['replicates']} replicates, "
              "one process)", ""]
    lines.append(f"failed: {run['error']}" if "error" in run else
                 f"{run['wall']:.1f} s wall ({run['cpu']:.1f} s CPU), of which {run['summaries']:.1f} s the year and "
                 f"county summaries of its {run['counties']} counties; peak {_mib(run['peak_rss'])} MiB.")
    t = r["startup"]
    lines += ["", "## Start-up (fresh processes, interleaved)", "", "| command | CPU s (median) | wall s | runs |",
              "|---|---|---|---|"]
    lines += [f"| `{name}` | {med(x['cpu']):.3f} | {med(x['wall']):.3f} | {len(x['cpu'])} |" for name, x in t.items()]
    reg = r.get("register", {})
    if "wall" in reg and "error" not in reg:
        seconds, memory = REGISTER_TARGET
        fits = reg["peak_rss"] < memory
        lines += ["", "## Household register (.xlsx, official layout, person rows)", "",
                  "| target | measured | met |", "|---|---|---|",
                  f"| {REGISTER_PEOPLE:,}-person register (.xlsx) read and aggregated < {seconds:.0f} s, < "
                  f"{memory / 2**30:.0f} GB | {reg['rows']:,} person rows, {reg['households']:,} households, "
                  f"{reg['bytes'] / 2**20:.0f} MiB file: {reg['wall']:.1f} s ({reg['cpu']:.1f} s CPU), peak "
                  f"{reg['peak_rss'] / 2**30:.2f} GiB "
                  f"(process, interpreter included) | {_yes(reg['wall'] < seconds and fits)} (wall), "
                  f"{_yes(reg['cpu'] < seconds and fits)} (CPU) |", "",
                  f"`households_from_register` on Shangluo's state at the end of 2017 (the model's own, full scale; "
                  f"23 columns, a title row), from the file to the model's arrays; writing the file took "
                  f"{reg['write_wall']:.0f} s (not measured; on the other core, alongside: "
                  f"{reg['written_alongside']})."]
    elif reg:
        lines += ["", f"Household register benchmark failed: {reg.get('error')}"]
    if nat.get("limited_by"):
        lines += ["", f"National ran at scale {nat['scale']:g}, not 1:1: {nat['limited_by']}."]
    return "\n".join(lines) + "\n"


def _yes(ok: bool) -> str:
    return "yes" if ok else "**no**"


if __name__ == "__main__":
    main()
