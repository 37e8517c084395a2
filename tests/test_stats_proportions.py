"""proportion(): Wilson score intervals checked against a published worked example and against
the score interval written out independently (centre +/- half-width form)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from jsna_lib import stats

Z95 = 1.959963984540054  # Phi^-1(0.975)
Z998 = 3.090232306167813  # Phi^-1(0.999)


def wilson_centre_halfwidth(x: float, n: float, z: float) -> tuple[float, float]:
    """Wilson (1927) as usually printed: centre (x + z^2/2)/(n + z^2) +/- half-width
    z sqrt(x(n - x)/n + z^2/4)/(n + z^2) -- a different algebraic form from the library's."""
    centre = (x + z * z / 2) / (n + z * z)
    half = z * math.sqrt(x * (n - x) / n + z * z / 4) / (n + z * z)
    return centre - half, centre + half


def test_newcombe_1998_worked_example() -> None:
    # Newcombe RG. Two-sided confidence intervals for the single proportion: comparison of seven
    # methods. Stat Med 1998;17:857-872. Example 81/263: Wilson score 95% CI 0.2553 to 0.3662.
    out = stats.proportion(pd.DataFrame({"x": [81], "n": [263]}), "x", "n", multiplier=1, confidence=0.95)
    assert out.loc[0, "lower_95"] == pytest.approx(0.2553, abs=5e-5)
    assert out.loc[0, "upper_95"] == pytest.approx(0.3662, abs=5e-5)
    assert out.loc[0, "value"] == pytest.approx(81 / 263)


@pytest.mark.parametrize(("x", "n"), [(1, 2), (5, 17), (81, 263), (999, 1000), (12345, 987654), (3, 1e7)])
@pytest.mark.parametrize(("level", "z"), [(0.95, Z95), (0.998, Z998)])
def test_matches_textbook_formula(x: float, n: float, level: float, z: float) -> None:
    out = stats.proportion(pd.DataFrame({"x": [x], "n": [n]}), "x", "n", confidence=level)
    lo, up = wilson_centre_halfwidth(x, n, z)
    suffix = "95" if level == 0.95 else "99_8"
    assert out.loc[0, f"lower_{suffix}"] == pytest.approx(lo * 100, rel=1e-12)
    assert out.loc[0, f"upper_{suffix}"] == pytest.approx(up * 100, rel=1e-12)


@pytest.mark.parametrize(("level", "z"), [(0.95, Z95), (0.998, Z998)])
def test_zero_count(level: float, z: float) -> None:
    # x = 0: the interval is [0, z^2 / (n + z^2)].
    n = 40.0
    out = stats.proportion(pd.DataFrame({"x": [0], "n": [n]}), "x", "n", confidence=level, multiplier=1)
    lower, upper = out.iloc[0, -3], out.iloc[0, -2]
    assert lower == 0.0
    assert upper == pytest.approx(z * z / (n + z * z), rel=1e-12)


@pytest.mark.parametrize(("level", "z"), [(0.95, Z95), (0.998, Z998)])
def test_count_equal_to_denominator(level: float, z: float) -> None:
    # x = n: the interval is [n / (n + z^2), 1].
    n = 40.0
    out = stats.proportion(pd.DataFrame({"x": [n], "n": [n]}), "x", "n", confidence=level, multiplier=1)
    lower, upper = out.iloc[0, -3], out.iloc[0, -2]
    assert upper == 1.0
    assert lower == pytest.approx(n / (n + z * z), rel=1e-12)


def test_count_above_denominator_raises() -> None:
    df = pd.DataFrame({"x": [1, 5, 7], "n": [2, 4, 8]}, index=[10, 11, 12])
    with pytest.raises(ValueError, match=r"count column 'x' exceeds denominator column 'n'.*rows \[11\]"):
        stats.proportion(df, "x", "n")


def test_multiplier_and_grouping() -> None:
    df = pd.DataFrame({"g": ["a", "a", "b"], "x": [10, 15, 3], "n": [100, 150, 30]})
    pct = stats.proportion(df, "x", "n", by="g")
    per_1000 = stats.proportion(df, "x", "n", by="g", multiplier=1000)
    np.testing.assert_allclose(per_1000["upper_95"], pct["upper_95"] * 10)
    lo, up = wilson_centre_halfwidth(25, 250, Z95)
    assert pct.loc[0, "lower_95"] == pytest.approx(lo * 100)
    assert pct.loc[0, "upper_95"] == pytest.approx(up * 100)
