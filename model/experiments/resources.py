"""Refusing runs that cannot finish, before anything runs: too many replicates, bad seeds or
worker counts, and populations that would not fit in memory.

The memory estimate is households × ``BYTES_PER_HOUSEHOLD`` (peak bytes of one replicate: the
household arrays, the year's random draws and temporaries, measured with ``tracemalloc``) plus
``BYTES_PER_WORKER`` (a Python process with numpy, pandas and Mesa), times the processes that
run at once. It is compared with the memory the system reports available.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from tuopin.errors import UserError
from tuopin.sim.agents import Population
from tuopin.scenario import MAX_REPLICATES, Scenario

BYTES_PER_HOUSEHOLD = 300
"""Peak bytes per simulated household in one replicate (measured with tracemalloc: about 220 on
Shangluo at 1:20 and 1:5; the rest is margin)."""
BYTES_PER_WORKER = 200_000_000
"""A worker process's own footprint (interpreter and libraries)."""
MEMORY_SHARE = 0.8
"""Share of the available memory a run may plan to use."""
MAX_SEED = 2**63 - 1


def available_memory() -> int:
    """Bytes of memory available now: ``MemAvailable`` from /proc/meminfo, else free pages."""
    meminfo = Path("/proc/meminfo")
    if meminfo.is_file():
        for line in meminfo.read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")


def expected_households(scenario: Scenario, population: Population | None = None) -> int:
    """Households one replicate simulates: the register's, or the synthetic draw's expectation."""
    if population is not None:
        return len(population[0])
    poor = sum(row.poor_people for row in scenario.counties.rows) * scenario.scale
    people = poor * (1 + scenario.population.near_poor_ratio)
    return int(people / scenario.population.household_size_mean) + 1


def estimate_bytes(scenario: Scenario, replicates: int, workers: int, population: Population | None = None) -> int:
    """Peak memory of a run: every process at once (no more than the replicates or the cores, see
    :func:`cap_workers`), each with one replicate's households."""
    processes = max(1, min(workers, replicates, cores()))
    return processes * (expected_households(scenario, population) * BYTES_PER_HOUSEHOLD + BYTES_PER_WORKER)


def check_run(scenario: Scenario, replicates: int, seed: int, workers: int, source: str,
              population: Population | None = None) -> None:
    """Refuse, before anything runs, options and sizes that cannot give a result.

    Raises:
        UserError: naming ``source`` (the scenario file) and the option, with what is allowed,
            or the memory the run needs against what is available.
    """
    if not 1 <= replicates <= MAX_REPLICATES:
        raise UserError(f"{replicates:,} replicates asked; give at least 1 and at most {MAX_REPLICATES:,}",
                        source=source, key="--replicates")
    if not 0 <= seed <= MAX_SEED:
        raise UserError(f"seed {seed} is out of range; give a whole number from 0 to {MAX_SEED}",
                        source=source, key="--seed")
    if workers < 1:
        raise UserError(f"{workers} workers asked; give at least 1", source=source, key="--workers")
    need = estimate_bytes(scenario, replicates, workers, population)
    have = available_memory()
    if need > MEMORY_SHARE * have:
        households = expected_households(scenario, population)
        processes = max(1, min(workers, replicates, cores()))
        raise UserError(
            f"this run needs about {need / 1e9:,.1f} GB of memory ({households:,} households × "
            f"{BYTES_PER_HOUSEHOLD} bytes, {processes} process(es)) but {have / 1e9:,.1f} GB is available; "
            "lower the scale (--scale) or the workers (--workers)", source=source, key="scale")


def cores() -> int:
    """CPU cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def cap_workers(workers: int, tasks: int, what: str) -> int:
    """The processes worth starting for ``tasks`` pieces of work (replicates, chunks): never more
    than the tasks or the cores. Prints a one-line note on stderr when that is fewer than asked;
    the numbers are the same for any count."""
    useful = max(1, min(workers, tasks, cores()))
    if useful < workers:
        print(f"tuopin: note: --workers {workers} capped at {useful} ({tasks:,} {what}, {cores()} cores); "
              "the numbers are the same", file=sys.stderr)
    return useful
