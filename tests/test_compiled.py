"""The numba kernels (``tuopin/sim/compiled.py``) give the numpy code's numbers bit for bit, and a
whole run is the same with them and without them."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest
from scipy.special import ndtri

from conftest import ROOT
from tuopin import PovertyModel, load_scenario
from tuopin.experiments.replicates import annual_table, county_table
from tuopin.sim import compiled, kernels
from tuopin.sim.funding import smallest_first, stable_order
from tuopin.sim.keyed import Draws, child_keys, key_order


@pytest.fixture(autouse=True)
def _restore_choice():
    yield
    kernels._chosen.clear()


def both(make):
    """``make()`` with the numpy code, then with the kernels at every size."""
    assert not kernels.use_compiled(False)
    a = make()
    assert kernels.use_compiled(True, smallest=0)
    return a, make()


def same_bits(a: np.ndarray, b: np.ndarray) -> bool:
    return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()


KEYS = np.concatenate([np.random.default_rng(5).integers(0, 2**64 - 1, 300_000, dtype=np.uint64, endpoint=True),
                       np.array([0, 1, 2**63, 2**64 - 1], dtype=np.uint64)])


@pytest.mark.parametrize("draw", ["bits", "uniform", "normal"])
def test_each_keyed_draw_has_the_numpy_codes_bits(draw):
    d = Draws(20161231)
    a, b = both(lambda: getattr(d, draw)(KEYS, "illness", 2017))
    assert same_bits(a, b)


def test_chance_and_child_keys_have_the_numpy_codes_bits():
    d = Draws(3)
    exposed = np.random.default_rng(1).random(len(KEYS)) < 0.2
    a, b = both(lambda: d.chance(KEYS, exposed, 0.3, "job loss", 2018))
    assert same_bits(a, b) and 0.05 < a.mean() < 0.07
    index = np.arange(len(KEYS)) % 977
    a, b = both(lambda: child_keys(KEYS, index, "household", 1))
    assert same_bits(a, b) and len(np.unique(a)) == len(a)


def test_the_key_order_is_the_stable_argsort_ties_included():
    keys = KEYS.copy()
    keys[::7] = keys[3]  # ties keep their positions' order
    keys[1::11] = np.uint64(2**64 - 1)
    a, b = both(lambda: key_order(keys))
    assert same_bits(a, b) and same_bits(a, np.argsort(keys, kind="stable"))


@pytest.mark.parametrize("first", [1, 2, 999, 7_919, 100_000, 199_999])
def test_a_queues_front_is_the_stable_argsorts_front(first):
    """``smallest_first``: the kernel finds the front's last value by a histogram of the keys'
    bits, numpy by a partition; either way the front is the stable argsort's, ties at its edge
    taken earliest first (incomes with many ties, both zeros, infinities)."""
    rng = np.random.default_rng(first)
    keys = np.round(rng.normal(3000, 2500, 200_000), 0)
    keys[::13], keys[5::17], keys[7::19], keys[11::23] = 0.0, -0.0, -np.inf, np.inf
    a, b = both(lambda: smallest_first(keys, first))
    assert same_bits(a.astype(np.int64), b.astype(np.int64))
    assert same_bits(a.astype(np.int64), np.argsort(keys, kind="stable")[:first].astype(np.int64))
    same = np.full(5000, 7.5)  # every key equal: the first positions
    a, b = both(lambda: smallest_first(same, first % 5000 or 1))
    assert same_bits(b.astype(np.int64), np.arange(first % 5000 or 1, dtype=np.int64))


def test_a_queue_is_ordered_as_by_the_stable_argsort():
    """Incomes with ties, both zeros (equal to numpy's sort), negatives and infinities."""
    rng = np.random.default_rng(9)
    keys = np.round(rng.normal(3000, 2500, 200_000), 0)  # many equal incomes
    keys[::13], keys[5::17], keys[7::19] = 0.0, -0.0, -np.inf
    keys[11::23] = np.inf
    a, b = both(lambda: stable_order(keys))
    assert same_bits(a, b) and same_bits(a, np.argsort(keys, kind="stable"))
    keys[3] = np.nan  # NaN: numpy's own stable sort, with or without the kernels
    a, b = both(lambda: stable_order(keys))
    assert same_bits(a, b) and same_bits(a, np.argsort(keys, kind="stable"))


def test_the_inverse_normal_is_scipys_in_every_branch():
    """The centre, both tails (z < 8 and beyond) and the edges of the 53-bit grid a draw can hit."""
    rng = np.random.default_rng(2)
    y = np.concatenate([rng.uniform(0.14, 0.86, 500), np.exp(-rng.uniform(2, 32, 500)),
                        np.exp(-rng.uniform(32, 700, 500)), 1 - np.exp(-rng.uniform(2, 36, 500)),
                        [0.5 * 2.0**-53, (2.0**53 - 1.5) * 2.0**-53, 1.0, 0.0, 0.5, np.exp(-2), 1 - np.exp(-2), np.exp(-32)]])
    ours = np.array([compiled._ndtri(float(v)) for v in y])
    assert same_bits(ours, ndtri(y))


def test_group_sums_are_bincounts_of_the_selected_households():
    rng = np.random.default_rng(4)
    n = 100_000
    mask, group, w = rng.random(n) < 0.4, rng.integers(0, 37, n).astype(np.int16), rng.random(n) * 7.3
    a, b = both(lambda: kernels.group_sum(mask, group, w, 40))
    assert same_bits(a, b)
    assert np.allclose(a, [w[mask & (group == g)].sum() for g in range(40)], rtol=1e-13, atol=0)
    a, b = both(lambda: kernels.group_sum(mask, group, group, 40))  # integer weights (household sizes)
    assert same_bits(a, b) and a[3] == 3 * np.count_nonzero(mask & (group == 3))


@pytest.mark.parametrize("path, scale", [("scenarios/shangluo.yaml", 0.05), ("scenarios/national.yaml", 0.002)])
def test_a_run_is_the_same_with_the_kernels_and_without(path, scale):
    s = load_scenario(ROOT / path, overrides={"scale": scale})

    def run():
        m = PovertyModel(s, rng=np.random.SeedSequence(11))
        m.run()
        return m

    a, b = both(run)
    assert annual_table(a, 0).equals(annual_table(b, 0))
    assert county_table(a, 0).equals(county_table(b, 0))
    for name in ("net", "stable", "market", "status", "enrolled", "key", "weight"):
        assert same_bits(getattr(a.hh, name), getattr(b.hh, name)), name


def test_import_tuopin_leaves_numba_unloaded():
    """numba is loaded by the first draw, not by ``import tuopin`` (start-up: issue 14)."""
    code = "import sys, tuopin, tuopin.sim.model; print('numba' in sys.modules)"
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert r.stdout.strip() == "False"


@pytest.mark.parametrize("n, env, loaded", [(1000, "1", False), (kernels.LARGE, "1", True), (kernels.LARGE, "0", False)])
def test_numba_is_loaded_for_large_passes_unless_turned_off(n, env, loaded):
    """A Shangluo-sized process never pays numba's start-up; ``TUOPIN_NUMBA=0`` keeps it out."""
    code = ("import numpy as np, sys; from tuopin.sim.keyed import Draws;"
            f"Draws(1).uniform(np.arange({n}, dtype=np.uint64), 'x'); print('numba' in sys.modules)")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True,
                       env={**os.environ, "TUOPIN_NUMBA": env})
    assert r.stdout.strip() == str(loaded)


@pytest.mark.parametrize("runs, env, loaded", [(kernels.WORTH_RUNS - 1, "1", False), (kernels.WORTH_RUNS, "1", True),
                                               (kernels.WORTH_RUNS, "0", False)])
def test_a_long_job_loads_the_kernels_first_and_then_uses_them_for_small_passes(runs, env, loaded):
    """``prepare``: a job of many replicates loads numba before its workers start (they inherit it);
    a short one never pays its start-up. Once loaded, a pass of ``SMALL`` keys takes the kernels."""
    code = ("import sys; from tuopin.sim import kernels;"
            f"used = kernels.prepare({runs}); small = kernels.kernels(kernels.SMALL) is not None;"
            "tiny = kernels.kernels(kernels.SMALL - 1) is not None;"
            "print(used, small, tiny, 'numba' in sys.modules)")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True,
                       env={**os.environ, "TUOPIN_NUMBA": env})
    assert r.stdout.split() == [str(loaded), str(loaded), "False", str(loaded)]


def test_workers_started_after_prepare_inherit_the_kernels():
    """A job's workers are forked once ``prepare`` has loaded the kernels, so they use them too."""
    code = ("from tuopin.sim import kernels; from tuopin.experiments import workers;"
            "kernels.prepare(kernels.WORTH_RUNS); pool = workers.start(2);"
            "print(*pool.map(kernels.prepare, [0] * 4))")  # prepare(0) only says whether they are in use
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True,
                       env={**os.environ, "TUOPIN_NUMBA": "1"})
    assert r.stdout.split() == ["True"] * 4


@pytest.mark.parametrize("runs, loaded", [(kernels.WORTH_RUNS - 1, False), (kernels.WORTH_RUNS, True)])
def test_a_long_chunk_loads_the_kernels_on_a_worker_that_did_not_inherit_them(runs, loaded):
    """A sweep's chunk run by a fresh process (a remote Dask worker) loads the kernels itself when
    it holds ``WORTH_RUNS`` runs or more, as a local job's parent does for its workers."""
    code = ("import yaml; from tuopin.sim import kernels; from tuopin.experiments.sweep import run_chunk;"
            "base = yaml.safe_load(open('scenarios/township.yaml', encoding='utf-8'));"
            f"frame = run_chunk((base, [(0, r, {{}}, (0, r)) for r in range({runs})], 1, [], ['exits']));"
            "print(frame['replicate'].nunique(), kernels.prepare(0))")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True,
                       env={**os.environ, "TUOPIN_NUMBA": "1"})
    assert r.stdout.split() == [str(runs), str(loaded)]
