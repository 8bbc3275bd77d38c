"""``mesa.batch_run`` drives ``PovertyModel`` with dotted-path parameters and returns yearly rows."""

from __future__ import annotations

import mesa
import pandas as pd

from conftest import ROOT

TOWNSHIP = str(ROOT / "scenarios" / "township.yaml")


def batch(processes: int) -> pd.DataFrame:
    rows = mesa.batch_run(
        mesa_model(), parameters={"plan": TOWNSHIP, "relapse.support_continuation_years": [0, 3]},
        rng=[1, 2], number_processes=processes, data_collection_period=1, display_progress=False)
    return pd.DataFrame(rows).sort_values(["relapse.support_continuation_years", "iteration", "year"],
                                          ignore_index=True)


def mesa_model():
    from tuopin import PovertyModel

    return PovertyModel


def test_batch_run_varies_dotted_parameters_reproducibly():
    one = batch(1)
    years = 3  # township: 2016-2018
    assert len(one) == 2 * 2 * years
    assert {"exits", "relapses", "poor_end", "year", "RunId", "Step"} <= set(one.columns)
    assert sorted(one["year"].unique()) == [2016, 2017, 2018]
    # the swept parameter reaches the model: no support continuation means more relapses
    relapses = one.groupby("relapse.support_continuation_years")["relapses"].sum()
    assert relapses[0] > relapses[3]
    pd.testing.assert_frame_equal(batch(1).drop(columns="RunId"), one.drop(columns="RunId"))
    pd.testing.assert_frame_equal(batch(2).drop(columns="RunId"), one.drop(columns="RunId"))
