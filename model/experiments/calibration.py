"""Calibration: fit scenario parameters to observed annual counts by ABC-SMC (pyabc).

Method (approximate Bayesian computation, sequential Monte Carlo; Del Moral et al. 2012, as
implemented by pyabc):

1. **Priors**: each ``--fit PATH=LOW:HIGH`` is uniform on its range; without ``--fit`` the
   scenario's own ``uncertainty:`` entries are the priors (uniform, or triangular with its mode).
2. **Simulation**: one replicate of the scenario per particle, with the particle's values as
   overrides and a seed drawn from the sampler's seeded stream; it returns every simulated
   year's count of every observable quantity.
3. **Discrepancy**: the mean squared error over the n fitted (year, quantity) observations, each
   error relative to the observation with a floor: ``e = (sim - obs) / max(|obs|, floor_q)``,
   ``floor_q`` = 5% of the quantity's mean observed size (at least 1). A zero observation counts
   (its error is ``sim / floor_q``); no observation is dropped.
4. **ABC-SMC**: a first population from the prior sets the tolerance; each next generation
   perturbs the weighted particles of the last (pyabc's multivariate normal kernel) and keeps
   those within a tolerance lowered to the median discrepancy of the last generation. It stops
   when ``--max-runs`` simulations are spent: the last complete generation is the posterior
   sample, and the estimate is its weighted median, the interval its weighted 5-95% quantiles.
5. **Sampler**: a pyabc ``Sampler`` that evaluates proposals in fixed-size batches, each with a
   seed from the run's seed, its generation, batch and position, and accepts them in that order:
   the same command gives the same numbers on one or many worker processes (pyabc's own
   multicore samplers reseed their workers from entropy).
6. **Held out**: years of ``--held-out`` (or of the observed file outside ``--fit-years``) are
   never used in fitting; the posterior's simulations predict them, and that error is the
   honest test of the fit.
"""

from __future__ import annotations

import csv
import math
import random
import tempfile
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from tuopin.errors import UserError
from tuopin.experiments.outputs import check_output_dir
from tuopin.scenario import Scenario
from tuopin.sim import flows

QUANTITIES = tuple(flows.names("observed"))
"""Observed columns that can be fitted (real people, counties, villages per year, as in annual.csv): the
outputs tagged ``observed`` in ``flows.FIELDS``."""
FLOOR_SHARE = 0.05
"""An error's floor, as a share of the quantity's mean observed size."""


@dataclass(frozen=True)
class Prior:
    """One fitted parameter: dotted path and prior range (``mode``: triangular); ``integer`` for
    whole-number parameters."""

    path: str
    low: float
    high: float
    mode: float | None = None
    integer: bool = False

    def rv(self) -> Any:
        """The pyabc random variable of this prior."""
        import pyabc

        width = self.high - self.low
        if self.mode is None:
            return pyabc.RV("uniform", self.low, width)
        return pyabc.RV("triang", (self.mode - self.low) / width, self.low, width)

    def value(self, x: float) -> float | int:
        """A drawn value as the scenario takes it."""
        return int(round(x)) if self.integer else float(x)


def parse_fit(text: str, scenario: Scenario, raw: dict[str, Any]) -> Prior:
    """``PATH=LOW:HIGH`` -> Prior, checked against the scenario (path exists, both ends valid)."""
    from tuopin.scenario import apply_overrides, validate

    key = f"--fit {text}"
    try:
        path, rng = text.split("=", 1)
        low_s, high_s = rng.split(":", 1)
        low, high = float(low_s), float(high_s)
    except ValueError:
        raise UserError("expected PARAM=LOW:HIGH, e.g. economy.income_growth=0.02:0.12", key=key) from None
    if not (math.isfinite(low) and math.isfinite(high)) or not low < high:
        raise UserError(f"empty or invalid range: LOW ({low_s}) must be below HIGH ({high_s})", key=key)
    current = _value_at(raw, path, key)
    integer = isinstance(current, int) and not isinstance(current, bool)
    if not isinstance(current, int | float) or isinstance(current, bool):
        raise UserError(f"not a numeric parameter (its value is {current!r})", key=key)
    for value in (low, high):
        try:
            validate(apply_overrides(raw, {path: round(value) if integer else value}, key), key)
        except UserError as exc:
            detail = str(exc).removeprefix(f"{key}: ")
            raise UserError(f"value {value:g} gives an invalid scenario: {detail}", key=key) from None
    return Prior(path, low, high, None, integer)


def priors_from_scenario(scenario: Scenario, raw: dict[str, Any], source: str) -> list[Prior]:
    """The scenario's ``uncertainty:`` entries as priors; an error when it has none."""
    if not scenario.uncertainty:
        raise UserError("the scenario has no uncertainty: entries to use as priors; add some or give --fit",
                        source=source, key="uncertainty")
    out = []
    for path, u in scenario.uncertainty.items():
        current = _value_at(raw, path, f"uncertainty.{path}")
        out.append(Prior(path, u.low, u.high, u.mode, isinstance(current, int) and not isinstance(current, bool)))
    return out


def _value_at(raw: dict[str, Any], path: str, key: str) -> Any:
    """The current value of a fitted parameter; UserError naming ``key`` when there is none."""
    from tuopin.scenario import get_path

    try:
        return get_path(raw, path, key)
    except UserError:
        raise UserError("no such parameter in the scenario", key=key) from None


def read_observed(path: Path, scenario: Scenario) -> pd.DataFrame:
    """Observed annual counts: ``year`` and any of QUANTITIES; an empty cell is 'not observed'.

    Lines starting with ``#`` are comments (sources). Errors name the file, row and column.
    """
    src = str(path)
    if not path.is_file():
        raise UserError("file not found", source=src)
    try:
        with path.open(encoding="utf-8-sig", newline="") as f:  # a BOM (Excel's UTF-8) is allowed
            rows = [r for r in csv.reader(f) if not (r and r[0].lstrip().startswith("#"))]
    except UnicodeDecodeError:
        raise UserError("not UTF-8 text; save the CSV as UTF-8", source=src) from None
    if not rows or not any(cell.strip() for cell in rows[0]):
        raise UserError("empty file; expected a header: year and any of " + ", ".join(QUANTITIES), source=src)
    header = [h.strip() for h in rows[0]]
    if "year" not in header:
        raise UserError("missing column 'year'", source=src, key="header")
    if unknown := [h for h in header if h != "year" and h not in QUANTITIES]:
        raise UserError(f"unknown column {unknown[0]!r}; expected year and any of {', '.join(QUANTITIES)}",
                        source=src, key="header")
    if len(set(header)) != len(header):
        raise UserError("duplicate column", source=src, key="header")
    if len(header) < 2:
        raise UserError(f"no observed quantity; add any of {', '.join(QUANTITIES)}", source=src, key="header")
    horizon = set(scenario.horizon)
    records = []
    for n, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(header):
            raise UserError(f"{len(row)} fields, expected {len(header)}", source=src, key=f"row {n}")
        rec: dict[str, float] = {}
        for col, cell in zip(header, row):
            where = f"row {n}, column {col}"
            if not cell.strip() and col != "year":
                rec[col] = math.nan
                continue
            try:
                value = float(cell)
            except ValueError:
                raise UserError(f"expected a number, got {cell!r}", source=src, key=where) from None
            if not math.isfinite(value) or (value < 0 and col != "net_reduction"):
                raise UserError(f"expected a finite number >= 0, got {cell!r}", source=src, key=where)
            rec[col] = value
        if rec["year"] not in horizon:
            raise UserError(f"year {rec['year']:g} outside the scenario's years {min(horizon)}-{max(horizon)}",
                            source=src, key=f"row {n}, column year")
        records.append(rec)
    frame = pd.DataFrame(records)
    if frame.empty:
        raise UserError("no data rows", source=src)
    frame["year"] = frame["year"].astype(int)
    if frame["year"].duplicated().any():
        raise UserError(f"year {int(frame.year[frame.year.duplicated()].iloc[0])} appears twice", source=src,
                        key="column year")
    return frame.sort_values("year", ignore_index=True)


def parse_years(text: str | None, observed: pd.DataFrame) -> list[int]:
    """``2016-2017`` or ``2016,2018`` -> years (default: every observed year)."""
    years = list(observed["year"])
    if not text:
        return years
    chosen: set[int] = set()
    try:
        for part in text.split(","):
            a, _, b = part.strip().partition("-")
            chosen.update(range(int(a), int(b or a) + 1))
    except ValueError:
        raise UserError("expected years like 2016-2017 or 2016,2018", key="--fit-years") from None
    if missing := sorted(chosen - set(years)):
        raise UserError(f"year(s) {missing} not in the observed file", key="--fit-years")
    return sorted(chosen)


def key(quantity: str, year: int) -> str:
    """The summary-statistic name of one quantity in one year."""
    return f"{quantity}:{year}"


def observations(observed: pd.DataFrame, years: list[int], quantities: list[str]) -> dict[str, float]:
    """The fitted observations ``{quantity:year: value}`` (cells left empty are not observations)."""
    rows = observed.set_index("year").loc[years, quantities]
    return {key(q, int(str(y))): float(v) for q in quantities for y, v in rows[q].items() if not math.isnan(v)}


def error_scales(obs: dict[str, float]) -> dict[str, float]:
    """Each observation's error scale: itself, floored at FLOOR_SHARE of its quantity's mean size (>= 1)."""
    sizes: dict[str, list[float]] = {}
    for k, v in obs.items():
        sizes.setdefault(k.split(":")[0], []).append(abs(v))
    floor = {q: max(FLOOR_SHARE * float(np.mean(v)), 1.0) for q, v in sizes.items()}
    return {k: max(abs(v), floor[k.split(":")[0]]) for k, v in obs.items()}


class Discrepancy:
    """Mean squared relative error with a floor over the fitted observations (see module doc)."""

    def __init__(self, obs: dict[str, float]) -> None:
        self.keys = sorted(obs)
        self.scale = error_scales(obs)

    def __call__(self, x: dict[str, float], x0: dict[str, float]) -> float:
        return float(np.mean([((x[k] - x0[k]) / self.scale[k]) ** 2 for k in self.keys]))


class Simulator:
    """One replicate of the scenario with a particle's values; returns ``{quantity:year: value}``
    for every simulated year and quantity. Its seed comes from the sampler's seeded stream."""

    def __init__(self, scenario: Scenario, priors: list[Prior], names: list[str]) -> None:
        self.scenario = scenario
        self.priors = priors
        self.names = names

    def overrides(self, particle: dict[str, float]) -> dict[str, float | int]:
        """A particle's values as scenario overrides."""
        return {p.path: p.value(particle[n]) for p, n in zip(self.priors, self.names)}

    def __call__(self, particle: dict[str, float]) -> dict[str, float]:
        from tuopin.sim.model import PovertyModel

        seed = int(np.random.randint(2**31))
        model = PovertyModel(self.scenario, rng=seed, overrides=self.overrides(particle))
        model.run()
        df = model.datacollector.get_model_vars_dataframe()
        return {key(q, int(y)): float(v) for q in QUANTITIES for y, v in zip(df["year"], df[q])}


def _evaluate(args: tuple[bytes, int]) -> Any:
    """Worker: seed the global generators pyabc draws from, then make one proposal and simulate it."""
    import cloudpickle

    simulate_one, seed = args
    np.random.seed(seed)
    random.seed(seed)
    return cloudpickle.loads(simulate_one)()


def _sampler_class() -> type:
    """``SeededSampler``, defined on first use so that importing this module does not import pyabc."""
    from pyabc.sampler import Sampler

    class SeededSampler(Sampler):
        """A reproducible parallel pyabc sampler: proposals are evaluated in batches of the
        population size, each with a seed from (run seed, generation, batch, position), and
        accepted in that order; at most ``max_runs`` simulations in all (then the sample is
        marked not ok and pyabc stops with the last complete generation)."""

        def __init__(self, seed: int, workers: int, max_runs: int,
                     progress: Callable[[int], None] | None = None) -> None:
            super().__init__()
            self.seed, self.workers, self.max_runs = seed, workers, max_runs
            self.runs = 0
            self.progress = progress
            self.pool: ProcessPoolExecutor | None = None

        def _map(self, tasks: list[tuple[bytes, int]]) -> list[Any]:
            if self.workers <= 1:
                from tuopin.sim.kernels import prepare

                prepare(self.max_runs)
                return [_evaluate(t) for t in tasks]
            if self.pool is None:
                import multiprocessing

                from tuopin.sim.kernels import prepare

                self.pool = ProcessPoolExecutor(self.workers, mp_context=multiprocessing.get_context("spawn"),
                                                initializer=prepare, initargs=(self.max_runs // self.workers,))
            return list(self.pool.map(_evaluate, tasks, chunksize=max(1, len(tasks) // (4 * self.workers))))

        def sample_until_n_accepted(self, n, simulate_one, t, *, max_eval=np.inf, all_accepted=False,
                                    ana_vars=None):
            import cloudpickle

            fn = cloudpickle.dumps(simulate_one)
            sample = self._create_empty_sample()
            accepted = evaluations = batch = 0
            while accepted < n:
                size = min(n, self.max_runs - self.runs)
                if size <= 0 or evaluations >= max_eval:
                    sample.ok = False
                    break
                seeds = [int(np.random.SeedSequence([self.seed, t + 2, batch, i]).generate_state(1)[0])
                         for i in range(size)]
                for particle in self._map([(fn, s) for s in seeds]):
                    evaluations += 1
                    if particle.accepted and accepted < n:
                        accepted += 1
                        sample.append(particle)
                    elif not particle.accepted and self.sample_factory.record_rejected:
                        sample.append(particle)
                self.runs += size
                batch += 1
                if self.progress:
                    self.progress(size)
            self.nr_evaluations_ = evaluations
            return sample

        def stop(self) -> None:
            if self.pool is not None:
                self.pool.shutdown()
                self.pool = None

    return SeededSampler


@dataclass
class Posterior:
    """The last complete generation: parameter values (by path), weights, discrepancies and the
    simulated counts of each particle."""

    values: pd.DataFrame
    weights: np.ndarray
    distances: np.ndarray
    stats: pd.DataFrame
    generations: int
    epsilons: list[float]
    runs: int


def run_abc(simulator: Simulator, priors: list[Prior], obs: dict[str, float], population: int, max_runs: int,
            seed: int, workers: int, db: Path, progress: Callable[[int], None] | None = None) -> Posterior:
    """ABC-SMC with pyabc (see module doc); returns the posterior sample."""
    import logging

    import pyabc

    for name in ("ABC", "pyabc", "Sampler", "Epsilon", "Distance", "History", "Acceptor"):
        logging.getLogger(name).setLevel(logging.WARNING)
    prior = pyabc.Distribution(**{n: p.rv() for n, p in zip(simulator.names, priors)})
    sampler = _sampler_class()(seed, workers, max_runs, progress)
    np.random.seed(seed % 2**32)  # what pyabc draws outside the sampler (none expected), fixed
    abc = pyabc.ABCSMC(simulator, prior, Discrepancy(obs), population_size=population, sampler=sampler,
                       eps=pyabc.QuantileEpsilon(alpha=0.5))
    if db.exists():
        db.unlink()
    abc.new(f"sqlite:///{db}", obs)
    try:
        history = abc.run(max_total_nr_simulations=max_runs)
    finally:
        sampler.stop()
    t = history.max_t
    if t < 0:
        raise UserError(f"{max_runs} runs did not complete one generation of {population} particles after the "
                        "prior sample; raise --max-runs or lower --population", key="--max-runs")
    pop = history.get_population(t)
    particles = pop.particles
    values = pd.DataFrame([{p.path: p.value(x.parameter[n]) for p, n in zip(priors, simulator.names)}
                           for x in particles])
    weights = np.array([x.weight for x in particles], dtype=float)
    eps = history.get_all_populations()
    return Posterior(values=values, weights=weights / weights.sum(),
                     distances=np.array([x.distance for x in particles], dtype=float),
                     stats=pd.DataFrame([x.sum_stat for x in particles]), generations=t + 1,
                     epsilons=[float(e) for e in eps.loc[eps["t"] >= 0, "epsilon"]], runs=sampler.runs)


def weighted_quantile(x: np.ndarray, w: np.ndarray, q: float) -> float:
    """The ``q`` quantile of values ``x`` with weights ``w`` (interpolated between particles)."""
    order = np.argsort(x, kind="stable")
    x, w = np.asarray(x, dtype=float)[order], np.asarray(w, dtype=float)[order]
    cum = np.cumsum(w) - 0.5 * w
    return float(np.interp(q * w.sum(), cum, x))


def estimates(priors: list[Prior], post: Posterior) -> pd.DataFrame:
    """Per parameter: best particle, posterior median and 5-95% interval, quartiles, prior range."""
    best = int(np.argmin(post.distances))
    rows = []
    for p in priors:
        x = post.values[p.path].to_numpy(dtype=float)
        q = {f"q{int(100 * v):02d}": weighted_quantile(x, post.weights, v) for v in (0.05, 0.25, 0.5, 0.75, 0.95)}
        rows.append({"parameter": p.path, "best": x[best], "median": q["q50"], "interval_low": q["q05"],
                     "interval_high": q["q95"], "q25": q["q25"], "q75": q["q75"], "prior_low": p.low,
                     "prior_high": p.high, "particles": len(x)})
    return pd.DataFrame(rows)


def fit_table(post: Posterior, scenario: Scenario, observed: pd.DataFrame, fit_years: list[int],
              quantities: list[str]) -> pd.DataFrame:
    """Per simulated year and quantity: observed (if any), the posterior's weighted median and
    5-95% band, the best particle, and whether the year was fitted."""
    best = int(np.argmin(post.distances))
    obs = observed.set_index("year")
    rows = []
    for q in quantities:
        for year in scenario.horizon:
            sims = post.stats[key(q, year)].to_numpy(dtype=float)
            seen = obs[q].get(year, math.nan) if q in obs.columns else math.nan
            rows.append({"year": year, "quantity": q, "observed": seen,
                         "sim_median": weighted_quantile(sims, post.weights, 0.5),
                         "sim_q05": weighted_quantile(sims, post.weights, 0.05),
                         "sim_q95": weighted_quantile(sims, post.weights, 0.95),
                         "best_point": sims[best], "in_fit": year in fit_years})
    return pd.DataFrame(rows)


def errors(fit: pd.DataFrame) -> dict[str, Any]:
    """RMSE and mean absolute percentage error of the posterior median, fit and held-out years."""
    out: dict[str, Any] = {}
    seen = fit[fit["observed"].notna()]
    for label, part in (("fit_years", seen[seen["in_fit"]]), ("held_out_years", seen[~seen["in_fit"]])):
        if part.empty:
            out[label] = None
            continue
        err = part["sim_median"] - part["observed"]
        nonzero = part["observed"] != 0
        by_q = {}
        for q in dict.fromkeys(part["quantity"]):
            sel = part["quantity"] == q
            nz = sel & nonzero
            by_q[q] = {"rmse": float(np.sqrt((err[sel] ** 2).mean())),
                       "mape": float((err[nz].abs() / part.loc[nz, "observed"]).mean()) if nz.any() else None}
        out[label] = {
            "years": sorted({int(y) for y in part["year"]}),
            "by_quantity": by_q,
            "mape": float((err[nonzero].abs() / part.loc[nonzero, "observed"]).mean()) if nonzero.any() else None,
            "observed_within_band": float(((part["observed"] >= part["sim_q05"]) &
                                           (part["observed"] <= part["sim_q95"])).mean()),
        }
    return out


def variant_yaml(scenario_path: Path, out: Path, name: str, est: pd.DataFrame, priors: list[Prior]) -> str:
    """The calibrated scenario as a variant file (base: + overrides:), base relative to ``out``."""
    import os

    integer = {p.path: p.integer for p in priors}
    overrides = {str(r["parameter"]): int(round(float(r["median"]))) if integer[str(r["parameter"])]
                 else float(f"{float(r['median']):.6g}") for r in est.to_dict("records")}
    base = os.path.relpath(scenario_path.resolve(), out.resolve())
    doc = {"base": base, "name": f"{name}_calibrated",
           "description": "posterior medians from tuopin calibrate (ABC-SMC); intervals in estimates.csv",
           "overrides": overrides}
    return yaml.safe_dump(doc, sort_keys=False, allow_unicode=True)


LABELS = {"poor_end": "registered poor at year end", "net_reduction": "net reduction (poor_start - poor_end)",
          "exits": "declared exits (gross)", "relapses": "relapses", "new_entrants": "new entrants",
          "counties_exited": "counties exiting (grant year)",
          "counties_qualified": "counties exiting (assessment year)", "villages_exited": "villages exiting"}


def figure(fit: pd.DataFrame, path: Path, title: str) -> None:
    """Observed points against the posterior's median and 5-95% band; years not fitted shaded
    (the projection, compared with held-out figures where given)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    quantities = list(dict.fromkeys(fit["quantity"]))
    cols = min(3, len(quantities))
    rows = -(-len(quantities) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4.6 * cols, 3.5 * rows), squeeze=False)
    for ax in axes.flat[len(quantities):]:
        ax.set_visible(False)
    for ax, q in zip(axes.flat, quantities):
        part = fit[fit["quantity"] == q]
        ax.fill_between(part["year"], part["sim_q05"], part["sim_q95"], alpha=0.3, color="#4c72b0",
                        label="posterior, 5-95%")
        ax.plot(part["year"], part["sim_median"], color="#4c72b0", label="posterior median")
        fitted, held = part[part["in_fit"]], part[~part["in_fit"]]
        ax.scatter(fitted["year"], fitted["observed"], color="black", zorder=3, label="record (fitted)")
        ax.scatter(held["year"], held["observed"], facecolors="white", edgecolors="#c44e52", zorder=3,
                   label="record (held out)")
        for year in held["year"]:
            ax.axvspan(year - 0.5, year + 0.5, color="#eeeeee", zorder=0)
        ax.set_title(LABELS.get(q, q) + "\n(grey: projection, not fitted)", fontsize=9)
        ax.set_xticks(sorted(part["year"].unique()))
        ax.ticklabel_format(axis="y", style="sci", scilimits=(0, 4))
        ax.set_ylim(bottom=min(0.0, ax.get_ylim()[0]))
    axes[0][0].legend(fontsize=7)
    fig.suptitle(title, fontsize=11)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


@dataclass
class Calibration:
    """The outcome of :func:`calibrate`: ``estimates`` per parameter (best particle, posterior
    median and 5-95% interval, prior), ``posterior`` the last generation's particles, ``fit`` per
    year and quantity (observed, posterior median and band), ``summary`` the method, the runs and
    the errors on fit and held-out years."""

    scenario: Scenario
    scenario_file: Path
    priors: list[Prior]
    estimates: pd.DataFrame
    posterior: pd.DataFrame
    fit: pd.DataFrame
    summary: dict[str, Any]
    seed: int


def calibrate(scenario_file: Path, observed_file: Path, fit: list[str] | None, out: Path, *,
              fit_years: str | None = None, held_out: Path | None = None, quantities: str | None = None,
              max_runs: int = 600, population: int | None = None, seed: int | None = None,
              scale: float | None = None, workers: int = 1, progress: Callable[[int], None] | None = None,
              warn: Callable[[str], None] | None = None) -> Calibration:
    """Fit parameters to observed yearly counts by ABC-SMC (see the module doc).

    Args:
        scenario_file: the scenario (or variant) file.
        observed_file: the observed counts, ``year`` and any of ``QUANTITIES``.
        fit: ``PATH=LOW:HIGH`` per fitted parameter (a uniform prior); None or empty: the
            scenario's ``uncertainty:`` entries are the priors.
        out: the results folder it is for, refused before any run if tuopin may not replace it
            (``write_calibration`` writes the results there).
        fit_years: years to fit, e.g. ``2016-2017`` (default: every observed year).
        held_out: observed counts used only to test the projection.
        quantities: observed columns to fit, comma-separated (default: all of the file's).
        max_runs, population: simulations in all; particles a generation (default max_runs / 10,
            within 20-200).
        seed, scale: default the scenario's.
        workers: processes (the same numbers for any number).
        progress: called with the number of simulations just finished.
        warn: called with a warning (more parameters than observations).

    Raises:
        UserError: a bad file, parameter, range, year or count, naming it.
    """
    from tuopin.scenario import load_raw, load_scenario

    population = population or min(200, max(20, max_runs // 10))
    if not 10 <= max_runs <= 10_000_000:
        raise UserError(f"{max_runs} is out of range (10 to 10,000,000)", key="--max-runs")
    if not 5 <= population <= 100_000:
        raise UserError(f"{population} is out of range (5 to 100,000)", key="--population")
    if max_runs < 4 * population:
        raise UserError(f"{max_runs} runs are too few for {population} particles a generation (at least 4x); raise "
                        "--max-runs or lower --population", key="--max-runs")
    if not 1 <= workers <= 256:
        raise UserError(f"{workers} is out of range (1 to 256)", key="--workers")
    scenario = load_scenario(scenario_file, {"scale": scale} if scale is not None else None)
    raw, _ = load_raw(scenario_file)
    priors = [parse_fit(text, scenario, raw) for text in fit] if fit else \
        priors_from_scenario(scenario, raw, str(scenario_file))
    if len({p.path for p in priors}) != len(priors):
        raise UserError("the same parameter is fitted twice", key="--fit")
    observed = read_observed(observed_file, scenario)
    years = parse_years(fit_years, observed)
    present = [q for q in QUANTITIES if q in observed.columns]
    chosen = [q.strip() for q in quantities.split(",") if q.strip()] if quantities else present
    if bad := [q for q in chosen if q not in present]:
        raise UserError(f"{bad[0]!r} is not a column of the observed file ({', '.join(present)})", key="--quantities")
    obs = observations(observed, years, chosen)
    if not obs:
        raise UserError("no observation in the fitted years and columns", source=str(observed_file))
    shown = observed
    if held_out is not None:
        held = read_observed(held_out, scenario)
        if overlap := sorted(set(held["year"]) & set(years)):
            raise UserError(f"year(s) {overlap} are also fitted; held-out years must not be", source=str(held_out))
        shown = pd.concat([observed[~observed["year"].isin(held["year"])], held], ignore_index=True)
    if len(priors) > len(obs) and warn:
        warn(f"{len(priors)} parameters outnumber the {len(obs)} observations; the data cannot pin them all down "
             "and the posterior stays near the prior for some")
    seed = scenario.seed if seed is None else seed
    check_output_dir(out, inputs=(scenario_file, observed_file, held_out))
    simulator = Simulator(scenario, priors, [f"p{i}" for i in range(len(priors))])
    with tempfile.TemporaryDirectory(prefix="tuopin-abc-") as tmp:  # pyabc's history: working state, not a result
        post = run_abc(simulator, priors, obs, population, max_runs, seed, workers, Path(tmp) / "abc.db", progress)
    shown_q = list(dict.fromkeys([*chosen, *[q for q in QUANTITIES if q in shown.columns]]))
    est = estimates(priors, post)
    table = fit_table(post, scenario, shown, years, shown_q)
    posterior = pd.concat([post.values, pd.DataFrame({"weight": post.weights, "distance": post.distances})], axis=1)
    summary = {"method": "ABC-SMC (pyabc), quantile epsilon 0.5, one simulation per particle, seeded batch sampler",
               "discrepancy": "mean squared relative error, floor 5% of the quantity's mean observed size",
               "priors": {p.path: {"low": p.low, "high": p.high, "mode": p.mode} for p in priors},
               "population": population, "max_runs": max_runs, "runs": post.runs,
               "generations": post.generations, "epsilons": post.epsilons, "observations": len(obs),
               "parameters": len(priors), "fit_years": years, "quantities": chosen,
               "held_out": str(held_out) if held_out else None,
               "best_distance": float(post.distances.min()), "errors": errors(table)}
    return Calibration(scenario, Path(scenario_file), priors, est, posterior, table, summary, seed)


def write_calibration(cal: Calibration, out: Path, *, observed_file: Path | None = None, fit: list[str] | None = None,
                      t0: float | None = None) -> None:
    """Write a calibration's files into ``out`` whole (``estimates.csv``, ``posterior.csv``,
    ``fit.csv``, ``fit_vs_observed.png``, ``calibrated.yaml``, ``summary.json``, then ``run.json``)."""
    import json
    import time
    from datetime import UTC, datetime

    from tuopin.experiments.outputs import provenance, write_results

    title = f"{cal.scenario.name}: posterior fit and projection (scale {cal.scenario.scale:g})"
    variant = variant_yaml(cal.scenario_file, out, cal.scenario.name, cal.estimates, cal.priors)
    summary = json.dumps(cal.summary, indent=2) + "\n"
    writers = {
        "estimates.csv": lambda p: cal.estimates.to_csv(p, index=False, float_format="%.6g"),
        "posterior.csv": lambda p: cal.posterior.to_csv(p, index=False, float_format="%.6g"),
        "fit.csv": lambda p: cal.fit.to_csv(p, index=False, float_format="%.6g"),
        "fit_vs_observed.png": lambda p: figure(cal.fit, p, title),
        "calibrated.yaml": lambda p: p.write_text(variant, encoding="utf-8"),
        "summary.json": lambda p: p.write_text(summary, encoding="utf-8"),
    }
    meta = {"scenario": str(cal.scenario_file), "observed": str(observed_file) if observed_file else None,
            "held_out": cal.summary["held_out"], "fit": fit, "seed": cal.seed, "scale": cal.scenario.scale,
            **provenance(datetime.now(UTC), time.perf_counter() if t0 is None else t0)}
    write_results(out, writers, meta)
