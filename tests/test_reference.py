"""The vectorized model and the per-agent Mesa reference give the same distributions.

Statistical test, stated once: for each quantity (exits, relapses, new entrants, spending) and
each year, a paired t-test over replicates (``scipy.stats.ttest_rel``). Replicate ``s`` of both
models uses seed ``s``, so both start from the same synthetic register and read the same keyed
draws (``keyed.py``): under "same rules" each paired difference has mean zero (and is zero to
rounding, see ``tests/test_keyed_draws.py``). A cell disagrees when its p-value is below
``ALPHA / number of cells`` (Bonferroni, family-wise false alarm rate ``ALPHA``). The second test
changes one rule in the reference only and checks that the same procedure flags it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from tuopin import PovertyModel, load_scenario
from tuopin.sim.reference import ReferenceModel

from conftest import SHANGLUO

QUANTITIES = ("exits", "relapses", "new_entrants", "spending")
REPLICATES = 30
ALPHA = 0.001
SCALE = 0.01  # Shangluo at 1:100: about 1,800 households (4,900 registered poor)


def annual(model_cls, scenario, overrides=None) -> pd.DataFrame:
    """Every replicate's yearly flows (real units), one row per replicate and year."""
    rows = []
    for seed in range(REPLICATES):
        m = model_cls(scenario, rng=seed, overrides=overrides)
        m.run()
        if isinstance(m, PovertyModel):
            df = m.datacollector.get_model_vars_dataframe()
        else:
            df = pd.DataFrame(m.records)
        rows.append(df[["year", *QUANTITIES]].assign(replicate=seed))
    return pd.concat(rows, ignore_index=True)


def paired_p(a: np.ndarray, b: np.ndarray) -> float:
    """Paired t-test p-value; a constant difference is 'no difference' when zero, else certain.
    Both models read the same keyed draws, so most pairs differ only by the rounding of sums taken
    in another order: such differences count as none."""
    d = np.where(np.isclose(a, b, rtol=1e-9, atol=1e-6), 0.0, a - b)
    if np.ptp(d) == 0:
        return 1.0 if d[0] == 0 else 0.0
    return float(stats.ttest_rel(a, b).pvalue)


def disagreements(x: pd.DataFrame, y: pd.DataFrame) -> list[tuple[str, int, float]]:
    """Cells (quantity, year) where the two runs differ beyond sampling error (see module doc)."""
    x = x.sort_values(["year", "replicate"])
    y = y.sort_values(["year", "replicate"])
    years = sorted(x["year"].unique())
    cells = [(q, year) for q in QUANTITIES for year in years]
    out = []
    for q, year in cells:
        a = x.loc[x["year"] == year, q].to_numpy(float)
        b = y.loc[y["year"] == year, q].to_numpy(float)
        p = paired_p(a, b)
        if p < ALPHA / len(cells):
            out.append((q, int(year), p))
    return out


@pytest.fixture(scope="module")
def tiny():
    return load_scenario(SHANGLUO, overrides={"scale": SCALE})


@pytest.fixture(scope="module")
def vectorized(tiny) -> pd.DataFrame:
    return annual(PovertyModel, tiny)


@pytest.fixture(scope="module")
def reference(tiny) -> pd.DataFrame:
    return annual(ReferenceModel, tiny)


def test_reference_agrees_with_vectorized_model(vectorized, reference):
    assert len(vectorized) == len(reference) == REPLICATES * 5
    assert reference["exits"].sum() > 0 and reference["relapses"].sum() > 0
    assert disagreements(vectorized, reference) == []


def test_agreement_test_detects_one_rule_changed_in_one_implementation(tiny, vectorized):
    # Support stops at exit (脱贫不脱政策 off) in the reference only: more relapse, less spending.
    changed = annual(ReferenceModel, tiny, overrides={"relapse.support_continuation_years": 0})
    found = disagreements(vectorized, changed)
    assert found, "the agreement test missed a changed rule"
    assert {q for q, _, _ in found} & {"relapses", "spending"}
