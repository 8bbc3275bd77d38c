"""The year's counts in one pass (``tally.py``): each count equals the weighted sum over the
households its mask selects, by county and in all, with numpy's bincount and the numba kernel alike."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import ROOT
from tuopin import PovertyModel, load_scenario
from tuopin.sim import kernels, tally, villages
from tuopin.sim.agents import EXITED, NEAR, POOR


@pytest.fixture(autouse=True)
def _restore_choice():
    yield
    kernels._chosen.clear()


@pytest.fixture(scope="module")
def model() -> PovertyModel:
    """A national sample (weights far from 1) two years in, with some missed and wrongly exited."""
    m = PovertyModel(load_scenario(ROOT / "scenarios/national.yaml", overrides={"scale": 0.002}), rng=4)
    m.step()
    m.step()
    rng = np.random.default_rng(0)
    m.hh.missed[:] = (m.hh.status == NEAR) & (rng.random(len(m.hh)) < 0.1)
    m.hh.wrongly_exited[:] |= (m.hh.status == EXITED) & (rng.random(len(m.hh)) < 0.1)
    return m


def masks(m: PovertyModel) -> dict[str, np.ndarray]:
    """This year's events as the year makes them (exclusive, paper within exited) and marks."""
    hh, rng = m.hh, np.random.default_rng(1)
    exited = (hh.status == EXITED) & (rng.random(len(hh)) < 0.3)
    relapsed = (hh.status == POOR) & (rng.random(len(hh)) < 0.1)
    entered = (hh.status == POOR) & ~relapsed & (rng.random(len(hh)) < 0.1)
    pick = lambda p: rng.random(len(hh)) < p  # noqa: E731
    return {"exited": exited, "paper": exited & pick(0.2), "relapsed": relapsed, "entered": entered,
            "listed": pick(0.1), "flagged": pick(0.2), "helped": pick(0.05)}


@pytest.mark.parametrize("compiled", [False, True])
def test_every_count_is_the_weighted_sum_of_its_households(model, compiled):
    m, hh = model, model.hh
    x = masks(m)
    kernels.use_compiled(compiled, smallest=0)
    t = tally.count(m, **x)
    real, county, n = hh.real_people(), hh.county, len(m.counties)
    by = lambda mask: np.bincount(county[mask], weights=real[mask], minlength=n)  # noqa: E731
    status = hh.status
    cases = [
        (tally.EXITED_NOW, x["exited"]),
        (tally.EVENT == tally.DECLARED, x["paper"]),
        (tally.EXITED_NOW & tally.WRONG, x["exited"] & hh.wrongly_exited),
        (tally.EVENT == tally.RELAPSED, x["relapsed"]),
        (tally.EVENT == tally.ENTERED, x["entered"]),
        (tally.STATUS == POOR, status == POOR),
        (tally.STATUS != NEAR, status != NEAR),
        ((tally.STATUS == POOR) | tally.MISSED | tally.WRONG, (status == POOR) | hh.missed | hh.wrongly_exited),
        (villages.COUNTED_POOR, villages.counted_poor(hh)),
        (tally.MISSED & (tally.STATUS == NEAR), hh.missed & (status == NEAR)),
    ]
    for codes, mask in cases:
        assert mask.any()
        np.testing.assert_allclose(t.county(codes), by(mask), rtol=1e-12, atol=0)
        assert t.total(codes) == pytest.approx(real[mask].sum(), rel=1e-12)
    for mark, mask in [(tally.LIFTED, m.lifted), (tally.LISTED, x["listed"]), (tally.FLAGGED, x["flagged"]),
                       (tally.HELPED, x["helped"])]:
        assert mask.any() and t.with_mark(mark) == pytest.approx(real[mask].sum(), rel=1e-12)
    assert t.total(np.ones(tally.CODES, dtype=bool)) == pytest.approx(real.sum(), rel=1e-12)


def test_the_kernel_adds_as_bincount_does(model):
    x = masks(model)
    kernels.use_compiled(False)
    a = tally.count(model, **x)
    assert kernels.use_compiled(True, smallest=0)
    b = tally.count(model, **x)
    assert a.people.tobytes() == b.people.tobytes() and a.marked.tobytes() == b.marked.tobytes()


def test_without_events_only_status_and_flags_are_counted(model):
    t = tally.count(model)
    assert t.total(tally.EVENT != tally.NONE) == 0
    assert t.with_mark(tally.LISTED | tally.FLAGGED | tally.HELPED) == 0
    assert t.total(tally.STATUS == POOR) == pytest.approx(model.hh.people(model.hh.status == POOR), rel=1e-12)
