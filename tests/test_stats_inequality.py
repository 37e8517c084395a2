"""quantiles() and sii(): hand calculations, an independent regression and a published
worked example."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from jsna_lib import stats

Z95 = 1.959963984540054

# Published example from PHEindicatormethods (tests/testthat/testdata_SII.xlsx, "default (e.g.
# life expectancy) - default parameters", area1): life expectancy by deprivation decile.
# Published SII 6.934616, simulated 95% limits 3.127595 to 10.758687 (100,000 repetitions).
SII_POP = [7291, 7997, 6105, 7666, 5790, 6934, 5918, 5974, 7147, 7534]
SII_VALUE = [75.933459, 78.344238, 83.836063, 83.637540, 80.465503, 81.115676, 81.693084, 84.190006,
             80.595564, 86.289435]
SII_LOWER = [72.722053, 75.250980, 80.869730, 80.157578, 77.130879, 78.049999, 79.011578, 81.445728,
             75.827185, 83.219059]
SII_UPPER = [79.144865, 81.437496, 86.802397, 87.117502, 83.800128, 84.181353, 84.374589, 86.934284,
             85.363943, 89.359811]


@pytest.fixture
def sii_example() -> pd.DataFrame:
    return pd.DataFrame({"decile": range(1, 11), "pop": SII_POP, "le": SII_VALUE, "lo": SII_LOWER,
                         "up": SII_UPPER})


def test_quantiles_by_hand() -> None:
    # 10 values into 5 quantiles: two per quantile, lowest values in quantile 1.
    df = pd.DataFrame({"v": [5.0, 1.0, 9.0, 3.0, 7.0, 2.0, 10.0, 4.0, 8.0, 6.0]})
    out = stats.quantiles(df, "v", n=5)
    assert out["quantile"].tolist() == [3, 1, 5, 2, 4, 1, 5, 2, 4, 3]
    inverted = stats.quantiles(df, "v", n=5, invert=True)
    assert inverted["quantile"].tolist() == [3, 5, 1, 4, 2, 5, 1, 4, 2, 3]
    assert str(out["quantile"].dtype) == "Int64"


def test_quantiles_ties_missing_groups_and_too_few() -> None:
    df = pd.DataFrame(
        {
            "g": ["a"] * 7 + ["b"] * 3,
            "v": [1.0, 1.0, 1.0, 2.0, np.nan, 3.0, 4.0, 5.0, 6.0, 7.0],
        }
    )
    out = stats.quantiles(df, "v", by="g", n=3)
    # group a: N = 6 non-missing; ties share the lowest rank (1); OHID's formula
    # floor((n + 1) - ceiling(((N + 1) - r) / (N / n))) gives rank 1 -> 1, rank 4 -> 2, ranks 5, 6 -> 3
    assert out["quantile"].tolist()[:7] == [1, 1, 1, 2, pd.NA, 3, 3]
    # group b: N = 3 = n: one each
    assert out["quantile"].tolist()[7:] == [1, 2, 3]
    too_few = stats.quantiles(df, "v", by="g", n=4)
    assert too_few["quantile"].iloc[7:].isna().all()


def test_quantiles_agree_with_pandas_rank_formula() -> None:
    rng = np.random.default_rng(5)
    df = pd.DataFrame({"g": rng.integers(0, 40, 3000), "v": rng.integers(0, 60, 3000).astype(float)})
    df.loc[::13, "v"] = np.nan
    out = stats.quantiles(df, "v", by="g", n=10)
    rank = df.groupby("g")["v"].rank(method="min")
    count = df.groupby("g")["v"].transform("count")
    q = np.floor(11 - np.ceil(((count + 1) - rank) / (count / 10))).replace(0, 1)
    q[count < 10] = np.nan
    np.testing.assert_array_equal(out["quantile"].to_numpy(dtype=float, na_value=np.nan), q.to_numpy())


@pytest.mark.parametrize("n", [2, 3, 5, 7, 10, 20])
@pytest.mark.parametrize("invert", [False, True])
def test_quantiles_single_group_agree_with_rank_formula(n: int, invert: bool) -> None:
    # One group takes a separate, sort-free path (order statistics): check it against the
    # rank formula on data with many ties and missing values, at several sizes.
    rng = np.random.default_rng(n)
    for size in (0, 1, n - 1, n, n + 1, 37, 500):
        v = rng.integers(0, 12, size).astype(float)
        v[rng.random(size) < 0.1] = np.nan
        out = stats.quantiles(pd.DataFrame({"v": v}), "v", n=n, invert=invert)
        s = pd.Series(-v if invert else v)
        rank = s.rank(method="min")
        count = s.notna().sum()
        with np.errstate(invalid="ignore", divide="ignore"):
            q = np.floor((n + 1) - np.ceil(((count + 1) - rank) / (count / n))).replace(0, 1)
        q[rank.isna() | (count < n)] = np.nan
        np.testing.assert_array_equal(out["quantile"].to_numpy(dtype=float, na_value=np.nan), q.to_numpy())


def test_sii_point_estimate_by_independent_regression(sii_example: pd.DataFrame) -> None:
    # Weighted least squares of value on the cumulative-population midpoints, solved with lstsq
    # on sqrt(weight)-scaled rows (Low & Low 2004).
    a = np.array(SII_POP) / sum(SII_POP)
    b = np.cumsum(a) - a / 2
    design = np.column_stack([np.sqrt(a), b * np.sqrt(a)])
    coef, *_ = np.linalg.lstsq(design, np.sqrt(a) * np.array(SII_VALUE), rcond=None)
    out = stats.sii(sii_example, "le", "pop", by=None, quantile="decile", lower="lo", upper="up",
                    repetitions=1000, seed=1)
    assert out.loc[0, "value"] == pytest.approx(coef[1], rel=1e-12)
    assert out.loc[0, "value"] == pytest.approx(6.934616, abs=1e-6)  # published
    assert out.loc[0, "pop"] == sum(SII_POP)


def test_sii_simulated_interval_matches_published(sii_example: pd.DataFrame) -> None:
    out = stats.sii(sii_example, "le", "pop", by=None, quantile="decile", lower="lo", upper="up",
                    repetitions=100_000, seed=20240601)
    # Monte Carlo error of a 2.5% point from 100,000 draws is about 0.02 here.
    assert out.loc[0, "lower_95"] == pytest.approx(3.127595, abs=0.1)
    assert out.loc[0, "upper_95"] == pytest.approx(10.758687, abs=0.1)


def test_sii_simulation_matches_its_normal_limit(sii_example: pd.DataFrame) -> None:
    # The SII is linear in the values, so the simulated SIIs are normal with
    # sd = sqrt(sum (w_j SE_j)^2); the simulated limits must approach SII -/+ z sd.
    a = np.array(SII_POP) / sum(SII_POP)
    b = np.cumsum(a) - a / 2
    w = a * (b - 0.5) / (a * (b - 0.5) ** 2).sum()
    se = (np.array(SII_UPPER) - np.array(SII_LOWER)) / (2 * Z95)
    sd = math.sqrt(((w * se) ** 2).sum())
    out = stats.sii(sii_example, "le", "pop", by=None, quantile="decile", lower="lo", upper="up",
                    repetitions=200_000, seed=7)
    centre = out.loc[0, "value"]
    assert out.loc[0, "lower_95"] == pytest.approx(centre - Z95 * sd, abs=0.03 * sd)
    assert out.loc[0, "upper_99_8"] == pytest.approx(centre + 3.090232306167813 * sd, abs=0.06 * sd)


def test_sii_reproducible_and_vectorised_over_groups(sii_example: pd.DataFrame) -> None:
    many = pd.concat([sii_example.assign(area=f"A{i:02d}", le=sii_example["le"] + i) for i in range(12)])
    one = stats.sii(many, "le", "pop", by="area", quantile="decile", lower="lo", upper="up",
                    repetitions=5000, seed=3)
    two = stats.sii(many, "le", "pop", by="area", quantile="decile", lower="lo", upper="up",
                    repetitions=5000, seed=3)
    pd.testing.assert_frame_equal(one, two)
    other = stats.sii(many, "le", "pop", by="area", quantile="decile", lower="lo", upper="up",
                      repetitions=5000, seed=4)
    assert not np.allclose(one["lower_95"], other["lower_95"])
    # adding a constant to every value leaves the slope unchanged
    assert one["value"].tolist() == pytest.approx([6.934616] * 12, abs=1e-6)


def test_sii_blocks_of_draws_do_not_change_results(monkeypatch: pytest.MonkeyPatch,
                                                   sii_example: pd.DataFrame) -> None:
    from jsna_lib.stats import inequality

    many = pd.concat([sii_example.assign(area=i) for i in range(3)])
    kw = dict(by="area", quantile="decile", lower="lo", upper="up", repetitions=4000, seed=11)
    big = stats.sii(many, "le", "pop", **kw)
    monkeypatch.setattr(inequality, "SII_BLOCK", 10_000)  # forces 1 group x 1,000 draws per block
    small = stats.sii(many, "le", "pop", **kw)
    # different blocking draws different numbers, but both are valid simulations of the same law
    np.testing.assert_allclose(big["lower_95"], small["lower_95"], atol=0.4)
    np.testing.assert_allclose(big["value"], small["value"], rtol=1e-14)


def test_sii_incomplete_missing_and_invalid(sii_example: pd.DataFrame) -> None:
    a = sii_example.assign(area="a")
    b = sii_example.assign(area="b").iloc[1:]
    c = sii_example.assign(area="c", lo=[np.nan, *SII_LOWER[1:]])
    out = stats.sii(pd.concat([a, b, c]), "le", "pop", by="area", quantile="decile", lower="lo", upper="up",
                    repetitions=1000, seed=1).set_index("area")
    assert out["value_note"].to_dict() == {
        "a": "", "b": "Missing quantile(s)", "c": "Missing value, population or confidence limits"
    }
    no_ci = stats.sii(sii_example, "le", "pop", by=None, quantile="decile")
    assert no_ci.loc[0, "value"] == pytest.approx(6.934616, abs=1e-6)
    assert np.isnan(no_ci.loc[0, "lower_95"])
    with pytest.raises(ValueError, match="repeats a quantile"):
        stats.sii(pd.concat([sii_example, sii_example]), "le", "pop", by=None, quantile="decile")
    with pytest.raises(ValueError, match="between 5 and 100"):
        stats.sii(sii_example.iloc[:4], "le", "pop", by=None, quantile="decile")
    with pytest.raises(ValueError, match=r"population column 'pop' has zero or negative values in rows \[2\]"):
        stats.sii(sii_example.assign(pop=[1, 1, 0, 1, 1, 1, 1, 1, 1, 1]), "le", "pop", by=None,
                  quantile="decile")
    with pytest.raises(ValueError, match="repetitions"):
        stats.sii(sii_example, "le", "pop", by=None, quantile="decile", lower="lo", upper="up",
                  repetitions=10)
