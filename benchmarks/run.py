"""``make bench``: time and memory of the vectorized model, against the per-agent Mesa reference.

Writes ``benchmarks/results.json`` and ``benchmarks/results.md`` (see ``benchmarks/README.md``).
Every measurement runs in a fresh child process (this file with ``--child``), which reports its
own wall times and peak resident memory (``resource.getrusage(RUSAGE_SELF).ru_maxrss``), so one
measurement's memory never hides another's.

    .venv/bin/python benchmarks/run.py [--quick] [--ref-runs N] [--vec-runs N]
"""

from __future__ import annotations

import argparse
import json
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
SWEEP_REPLICATES = 40
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
        from tuopin.experiments.replicates import run_replicates

        scenario = load_scenario(task["scenario"])
        t0 = time.perf_counter()
        run_replicates(scenario, replicates=task["replicates"], seed=1, workers=task["workers"])
        wall = time.perf_counter() - t0
        return {"wall": wall, "runs_per_second": task["replicates"] / wall, "peak_rss": _peak_rss()}
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


def write_big_register(path: Path, people: int) -> dict:
    """Shangluo at the end of 2017 (the model's own state, full scale) as an official-layout .xlsx
    of about ``people`` person rows: the first households up to that many people."""
    import runpy
    from dataclasses import fields

    import numpy as np

    from tuopin import PovertyModel, load_scenario
    from tuopin.sim.agents import Households

    maker = runpy.run_path(str(MAKER))
    model = PovertyModel(load_scenario(SHANGLUO), rng=1)
    model.step()
    model.step()
    hh = model.hh
    keep = np.cumsum(hh.size) <= people
    hh = Households(**{f.name: getattr(hh, f.name)[..., keep] for f in fields(Households)})
    first = np.r_[0, np.cumsum(np.bincount(model.villages.county, minlength=len(model.counties)))][hh.county]
    local = hh.village - first  # villages are numbered within each county; 20 to a township
    county = np.asarray(model.counties.name)[hh.county]
    township = np.char.add(np.char.add(county.astype(str), "第"), np.char.add((local // 20 + 1).astype(str), "镇"))
    t0 = time.perf_counter()
    table = maker["person_rows"](hh, county, township, (local + 1).astype(str))
    maker["write_xlsx"](table, path, "商洛市建档立卡贫困人口信息表（2017年底）　合成数据")
    return {"wall": time.perf_counter() - t0, "rows": len(table), "households": len(hh)}


# ----------------------------------------------------------------- parent side


def measure(task: dict) -> dict:
    """Run a task in a child process; returns its figures plus the task."""
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, __file__, "--child", json.dumps(task)], capture_output=True,
                          text=True, cwd=ROOT)
    if proc.returncode != 0:
        return {**task, "error": (proc.stderr.strip().splitlines() or ["killed"])[-1],
                "returncode": proc.returncode, "wall": time.perf_counter() - t0}
    return {**task, **json.loads(proc.stdout.strip().splitlines()[-1])}


def measure_register(people: int) -> dict:
    """Write a register of ``people`` person rows (one child), then read it (another, measured)."""
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "register.xlsx"
        made = measure({"kind": "register_file", "path": str(path), "people": people})
        if "error" in made:
            return made
        return {**measure({"kind": "register", "path": str(path)}), "rows": made["rows"], "write_wall": made["wall"]}


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
    ap.add_argument("--vec-runs", type=int, default=5, help="vectorized runs per size (median reported)")
    ap.add_argument("--ref-runs", type=int, default=1, help="per-agent reference runs at full scale")
    ap.add_argument("--out", type=Path, default=OUT, help="where results.json and results.md go")
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

    vec = measure({"kind": "vectorized", "scenario": str(SHANGLUO), "scale": full, "runs": args.vec_runs})
    print(f"Shangluo vectorized: run {statistics.median(vec['run']):.3f} s", flush=True)
    ref = measure({"kind": "reference", "scenario": str(SHANGLUO), "scale": full, "runs": args.ref_runs})
    print(f"Shangluo reference: run {statistics.median(ref['run']):.1f} s", flush=True)

    shangluo_rows = [measure({"kind": "vectorized", "scenario": str(SHANGLUO), "scale": s * full, "runs": 3})
                     for s in SHANGLUO_SIZES] + [vec]
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

    sweeps = [measure({"kind": "sweep", "scenario": str(SHANGLUO) if not quick else str(ROOT / "scenarios/township.yaml"),
                       "replicates": SWEEP_REPLICATES, "workers": w}) for w in (1, 2)]
    for s in sweeps:
        print(f"sweep {s['workers']} workers: {s['runs_per_second']:.2f} runs/s", flush=True)

    register = measure_register(REGISTER_PEOPLE // 100 if quick else REGISTER_PEOPLE)
    print(f"register {register.get('people')} people: read {register.get('wall', float('nan')):.1f} s, "
          f"peak {register.get('peak_rss', 0) / 2**20:.0f} MiB", flush=True)

    load["after"] = os.getloadavg()
    results = {
        "machine": {"platform": platform.platform(), "python": platform.python_version(),
                    "cpus": os.cpu_count(), "load_average": load},
        "versions": _versions(),
        "baseline_rss": baseline["peak_rss"],
        "shangluo": {"vectorized": vec, "reference": ref,
                     "ratio_run": statistics.median(ref["run"]) / statistics.median(vec["run"]),
                     "ratio_init_plus_run": (statistics.median(ref["init"]) + statistics.median(ref["run"]))
                     / (statistics.median(vec["init"]) + statistics.median(vec["run"]))},
        "scaling": {"national": national_rows, "shangluo": shangluo_rows},
        "national": national,
        "sweep": sweeps,
        "register": register,
        "wall_seconds": time.time() - started,
        "quick": quick,
    }
    args.out.mkdir(parents=True, exist_ok=True)
    _write_atomic(args.out / "results.json", json.dumps(results, indent=2, ensure_ascii=False) + "\n")
    _write_atomic(args.out / "results.md", report(results))
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
        "shared the cores and every time below is that much slower than on an idle machine.",
        f"Whole benchmark: {r['wall_seconds']:.0f} s." + (" **--quick: small sizes, not the targets.**" if r["quick"] else ""),
        "",
        "## Targets",
        "",
        "| target | measured | met |",
        "|---|---|---|",
        f"| Shangluo full scale, one 5-year replicate ≤ 1 s (one core) | {med(vec['run']):.2f} s run "
        f"+ {med(vec['init']):.2f} s set-up, wall clock (median of {len(vec['run'])}); run CPU time "
        f"{med(vec['cpu_run']):.2f} s | {_yes(med(vec['run']) + med(vec['init']) <= 1)} (wall), "
        f"{_yes(med(vec['cpu_run']) + med(vec['init']) <= 1)} (CPU run + wall set-up) |",
        f"| ≥ 50× faster than the per-agent Mesa reference | {r['shangluo']['ratio_run']:.0f}× (run), "
        f"{r['shangluo']['ratio_init_plus_run']:.0f}× (set-up + run) | {_yes(r['shangluo']['ratio_run'] >= 50)} |",
    ]
    if "error" in nat:
        lines.append(f"| National 1:1 < 5 min within 12 GB | scale {nat['scale']:g} failed: {nat['error']} | **no** |")
    else:
        t = nat["init"][0] + nat["run"][0]
        ok = nat["scale"] >= 1 and t < 300 and nat["peak_rss"] <= MEMORY_CAP
        lines.append(
            f"| National 1:1 < 5 min within 12 GB (≤ ~300 bytes of state per household) | scale {nat['scale']:g}: "
            f"{nat['households']:,} households, {nat['people']:,} people: {t:.0f} s ({nat['init'][0]:.0f} s set-up "
            f"+ {nat['run'][0]:.0f} s run), peak {nat['peak_rss'] / 2**30:.2f} GiB, state "
            f"{nat['state_bytes'] / nat['households']:.0f} bytes/household | {_yes(ok)} |")
    lines += [
        f"| Linear: time per household-year within ±30% over 4 sizes spanning 100× | national "
        f"({nat_span:.0f}× span): largest deviation from the median {nat_dev:.0%} wall, {nat_cpu:.0%} CPU; "
        f"Shangluo ({sl_span:.0f}×): {sl_dev:.0%} wall, {sl_cpu:.0%} CPU | {_yes(nat_dev <= 0.30)} (national), "
        f"{_yes(sl_dev <= 0.30)} (Shangluo) |",
        "",
        "## Shangluo, full scale (one replicate, 5 years)",
        "",
        "| implementation | households | set-up s | run s | run CPU s | runs | peak MiB |",
        "|---|---|---|---|---|---|---|",
        f"| vectorized (`PovertyModel`) | {vec['households']:,} | {med(vec['init']):.2f} | {med(vec['run']):.3f} "
        f"| {med(vec['cpu_run']):.3f} | {len(vec['run'])} | {_mib(vec['peak_rss'])} |",
        f"| per-agent Mesa (`tuopin.sim.reference`) | {ref['households']:,} | {med(ref['init']):.1f} | {med(ref['run']):.1f} "
        f"| {med(ref['cpu_run']):.1f} | {len(ref['run'])} | {_mib(ref['peak_rss'])} |",
        "",
        f"Ratio of CPU times (run): {med(ref['cpu_run']) / med(vec['cpu_run']):.0f}×.",
    ]
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
    lines += [
        "",
        f"Interpreter with NumPy, pandas and Mesa loaded: {_mib(base)} MiB.",
        "",
        f"## Sweep throughput (Shangluo full scale, `run_replicates`, {SWEEP_REPLICATES} replicates)" if not r["quick"] else
        f"## Sweep throughput (township, {SWEEP_REPLICATES} replicates)",
        "",
        "| workers | wall s | runs per second |",
        "|---|---|---|",
    ]
    for s in r["sweep"]:
        lines.append(f"| {s['workers']} | {s['wall']:.1f} | {s['runs_per_second']:.2f} |")
    lines += ["", "Each worker is a fresh process that first imports tuopin (Mesa, pandas, pydantic): "
              f"seconds of start-up, paid once per run of {SWEEP_REPLICATES} replicates."]
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
                  f"{reg['write_wall']:.0f} s (not measured)."]
    elif reg:
        lines += ["", f"Household register benchmark failed: {reg.get('error')}"]
    if nat.get("limited_by"):
        lines += ["", f"National ran at scale {nat['scale']:g}, not 1:1: {nat['limited_by']}."]
    return "\n".join(lines) + "\n"


def _yes(ok: bool) -> str:
    return "yes" if ok else "**no**"


if __name__ == "__main__":
    main()
