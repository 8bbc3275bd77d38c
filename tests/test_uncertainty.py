"""Parameter uncertainty: each replicate draws its own values, reproducibly, within range."""

from __future__ import annotations

import pytest

from conftest import SHANGLUO
from tuopin import load_scenario
from tuopin.errors import UserError
from tuopin.sim.model import PovertyModel
from tuopin.experiments.replicates import run_replicates

GROWTH = "economy.income_growth"


def test_each_replicate_draws_its_own_values_within_range_and_reproducibly(small):
    u = small.uncertainty[GROWTH]
    first = run_replicates(small, replicates=6, seed=11).annual
    again = run_replicates(small, replicates=6, seed=11).annual
    drawn = first.groupby("replicate")[f"param.{GROWTH}"].first()
    assert drawn.between(u.low, u.high).all()
    assert drawn.nunique() == 6  # a fresh value per replicate
    assert first.equals(again)
    assert (first.groupby("replicate")[f"param.{GROWTH}"].nunique() == 1).all()  # fixed within a run


def test_drawn_value_is_the_one_the_model_uses(small):
    m = PovertyModel(small, rng=3)
    assert m.p.economy.income_growth == m.drawn[GROWTH]
    assert not m.plan.uncertainty  # every uncertain parameter was fixed for this replicate


def test_an_override_fixes_an_uncertain_parameter(small):
    m = PovertyModel(small, rng=3, overrides={GROWTH: 0.05})
    assert GROWTH not in m.drawn
    assert m.p.economy.income_growth == 0.05


def test_whole_number_parameters_are_drawn_as_whole_numbers(small):
    extra = {"relapse.support_continuation_years": {"low": 0, "high": 5, "unit": "years", "source": "test"}}
    raw = small.model_dump()
    raw["uncertainty"] = {**raw["uncertainty"], **extra}
    from tuopin.scenario import validate

    m = PovertyModel(validate(raw, "test"), rng=5)
    assert isinstance(m.p.relapse.support_continuation_years, int)


@pytest.mark.parametrize("entry, expected", [
    ({"economy.no_such_rate": {"low": 0, "high": 1}}, "names no parameter"),
    ({GROWTH: {"low": 0.2, "high": 0.1}}, "must be below high"),
    ({"batches.industry.success_prob": {"low": 0.5, "high": 1.5}}, "high end of the range is not a valid value"),
    ({"years": {"low": 2016, "high": 2018}}, "single number"),
])
def test_bad_uncertainty_entries_are_named(tmp_path, entry, expected):
    """The one-line error names the file and ``uncertainty.<path>``."""
    import yaml

    lines = {path: {**spec, "unit": "u", "source": "test"} for path, spec in entry.items()}
    variant = tmp_path / "scenario.yaml"
    text = SHANGLUO.read_text(encoding="utf-8").split("\nuncertainty:")[0]
    variant.write_text(text + "\n" + yaml.safe_dump({"uncertainty": lines}, allow_unicode=True), encoding="utf-8")
    with pytest.raises(UserError, match=expected) as err:
        load_scenario(variant)
    assert f"{variant}: uncertainty.{next(iter(entry))}" in str(err.value)
