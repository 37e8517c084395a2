"""rate(): Byar's method for counts of 10 and over, exact Poisson below 10 (OHID's rule),
checked against closed forms, scipy's chi-square quantiles and Byar's formula written out."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from jsna_lib import stats

Z95 = 1.959963984540054


def byar(o: float, z: float) -> tuple[float, float]:
    """Breslow & Day (1987), vol. II, p. 69: Byar's approximation to the Poisson limits."""
    lower = o * (1 - 1 / (9 * o) - z / (3 * math.sqrt(o))) ** 3
    upper = (o + 1) * (1 - 1 / (9 * (o + 1)) + z / (3 * math.sqrt(o + 1))) ** 3
    return lower, upper


def exact(o: float, level: float) -> tuple[float, float]:
    """Exact Poisson limits from the chi-square distribution (OHID Technical Guide)."""
    a = 1 - level
    lower = 0.0 if o == 0 else sps.chi2.ppf(a / 2, 2 * o) / 2
    return lower, sps.chi2.ppf(1 - a / 2, 2 * o + 2) / 2


def one(count: float, denominator: float = 1.0, **kw: object) -> pd.Series:
    return stats.rate(pd.DataFrame({"o": [count], "n": [denominator]}), "o", "n", **kw).iloc[0]


def test_zero_count_closed_form() -> None:
    # O = 0: lower limit 0; upper limit solves exp(-mu) = alpha/2, i.e. mu = -ln(0.025) = 3.6889.
    r = one(0, multiplier=1)
    assert r["value"] == 0.0
    assert r["lower_95"] == 0.0
    assert r["upper_95"] == pytest.approx(-math.log(0.025), rel=1e-12)
    assert r["upper_99_8"] == pytest.approx(-math.log(0.001), rel=1e-12)


def test_count_of_one_closed_form() -> None:
    # O = 1: lower solves 1 - exp(-mu) = 0.025 -> mu = -ln(0.975) = 0.025318;
    # upper solves exp(-mu)(1 + mu) = 0.025 -> mu = 5.571643 (also PHE's funnel tables).
    r = one(1, multiplier=1)
    assert r["lower_95"] == pytest.approx(-math.log(0.975), rel=1e-12)
    assert r["upper_95"] == pytest.approx(5.571643, abs=1e-6)
    mu = r["upper_95"]
    assert math.exp(-mu) * (1 + mu) == pytest.approx(0.025, rel=1e-10)


@pytest.mark.parametrize("o", range(1, 10))
@pytest.mark.parametrize("level", [0.95, 0.998])
def test_below_ten_is_exact(o: int, level: float) -> None:
    r = one(o, 250_000, confidence=level)
    lo, up = exact(o, level)
    s = "95" if level == 0.95 else "99_8"
    assert r[f"lower_{s}"] == pytest.approx(lo / 250_000 * 100_000, rel=1e-10)
    assert r[f"upper_{s}"] == pytest.approx(up / 250_000 * 100_000, rel=1e-10)


@pytest.mark.parametrize("o", [10, 11, 37, 100, 2_000, 1e6])
@pytest.mark.parametrize(("level", "z"), [(0.95, Z95), (0.998, 3.090232306167813)])
def test_ten_and_over_is_byar(o: float, level: float, z: float) -> None:
    r = one(o, 1_000_000, confidence=level, multiplier=1000)
    lo, up = byar(o, z)
    s = "95" if level == 0.95 else "99_8"
    assert r[f"lower_{s}"] == pytest.approx(lo / 1e6 * 1000, rel=1e-12)
    assert r[f"upper_{s}"] == pytest.approx(up / 1e6 * 1000, rel=1e-12)


def test_switch_happens_between_nine_and_ten() -> None:
    nine, ten = one(9), one(10)
    assert nine["lower_95"] == pytest.approx(exact(9, 0.95)[0] * 100_000)
    assert nine["lower_95"] != pytest.approx(byar(9, Z95)[0] * 100_000, rel=1e-4)
    assert ten["lower_95"] == pytest.approx(byar(10, Z95)[0] * 100_000)
    assert ten["lower_95"] != pytest.approx(exact(10, 0.95)[0] * 100_000, rel=1e-4)


def test_exact_method_for_every_count() -> None:
    r = one(50, 10_000, method="exact", confidence=0.95)
    lo, up = exact(50, 0.95)
    assert r["lower_95"] == pytest.approx(lo / 10_000 * 100_000, rel=1e-10)
    assert r["upper_95"] == pytest.approx(up / 10_000 * 100_000, rel=1e-10)
    with pytest.raises(ValueError, match="method"):
        one(5, method="wald")


def test_fractional_counts() -> None:
    # Counts can be fractional (e.g. apportioned); the chi-square quantile takes real df.
    r = one(2.5, 1, multiplier=1, confidence=0.95)
    assert r["lower_95"] == pytest.approx(sps.chi2.ppf(0.025, 5) / 2)


def test_vectorised_mixture_of_small_and_large_counts() -> None:
    counts = np.array([0, 3, 9, 10, 55, 0, 7, 1234], dtype=float)
    df = pd.DataFrame({"o": counts, "n": 1e5})
    out = stats.rate(df, "o", "n", confidence=0.998)
    for o, lo, up in zip(counts, out["lower_99_8"], out["upper_99_8"], strict=True):
        want = exact(o, 0.998) if o < 10 else byar(o, 3.090232306167813)
        assert (lo, up) == pytest.approx(want, rel=1e-10)
