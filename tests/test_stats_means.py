"""mean(): Student's t interval written out by hand."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from jsna_lib import stats


def test_t_interval_by_hand() -> None:
    values = [12.0, 15.5, 9.0, 11.25, 14.0, 10.5]
    k = len(values)
    m = sum(values) / k
    s = math.sqrt(sum((v - m) ** 2 for v in values) / (k - 1))
    out = stats.mean(pd.DataFrame({"v": values}), "v")
    assert out.loc[0, "value"] == pytest.approx(m)
    assert out.loc[0, "value_count"] == k
    assert out.loc[0, "value_sd"] == pytest.approx(s)
    for level, suffix in ((0.95, "95"), (0.998, "99_8")):
        t = sps.t.ppf(0.5 + level / 2, k - 1)  # 2.5706 for 95% and 5 d.f.
        assert out.loc[0, f"lower_{suffix}"] == pytest.approx(m - t * s / math.sqrt(k), rel=1e-12)
        assert out.loc[0, f"upper_{suffix}"] == pytest.approx(m + t * s / math.sqrt(k), rel=1e-12)
    assert sps.t.ppf(0.975, 5) == pytest.approx(2.5706, abs=1e-4)  # printed t tables


def test_grouped_single_value_and_missing() -> None:
    df = pd.DataFrame({"g": ["a", "a", "b", "c", "c"], "v": [1.0, 3.0, 7.0, 2.0, np.nan]})
    out = stats.mean(df, "v", by="g", confidence=0.95).set_index("g")
    assert out.loc["a", "value"] == 2.0
    assert out.loc["a", "lower_95"] == pytest.approx(2 - sps.t.ppf(0.975, 1) * math.sqrt(2) / math.sqrt(2))
    assert out.loc["b", "value"] == 7.0 and np.isnan(out.loc["b", "lower_95"])
    assert out.loc["b", "value_note"] == "Fewer than 2 values: no confidence interval"
    assert np.isnan(out.loc["c", "value"])
    assert out.loc["c", "value_note"] == "Missing value in group"


def test_large_values_are_stable() -> None:
    # two-pass variance: no catastrophic cancellation around a large mean
    df = pd.DataFrame({"v": 1e9 + np.array([1.0, 2.0, 3.0, 4.0])})
    out = stats.mean(df, "v")
    assert out.loc[0, "value_sd"] == pytest.approx(np.std([1, 2, 3, 4], ddof=1), rel=1e-9)
