"""The headline bullets of a hand-built profile, word for word, and their HTML escaping."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from jsna_lib import narrative
from jsna_lib.profile import AreaProfile

COLUMNS = ["indicator_id", "name", "domain", "value_type", "unit", "sex", "age", "period", "period_sort", "value",
           "england_value", "region_value", "vs_england", "vs_england_level", "vs_region", "vs_region_level", "trend"]

ROWS = [
    (1, "Smoking prevalence in adults", "Lifestyle", "Proportion", "%", "Persons", "18+ yrs", "2023", 20230000,
     18.26, 14.4, 17.0, "Worse", 95.0, "Similar", np.nan, "Increasing and getting worse"),
    (2, "Violent crime <offences> & 'assaults'", "Wider determinants", "Crude rate", "per 1,000", "Persons",
     "All ages", "2022/23", 20220000, 31.0, 29.5, 27.1, "Worse (99.8%)", 99.8, "Worse (95%)", 95.0,
     "No significant change"),
    (3, "Under 18s conception rate", "Children", "Crude rate", "per 1,000", "Female", "<18 yrs", "2021", 20210000,
     12.0, 13.1, 14.6, "Similar", 95.0, "Better", 95.0, "Decreasing and getting better"),
    (4, "Depression: QOF prevalence", "Mental health", "Proportion", "%", "Persons", "18+ yrs", "2022/23", 20220000,
     14.0, 12.7, 13.2, "Higher", 95.0, "Higher", 95.0, "Increasing"),
    (5, "Diabetes prevalence", "Long-term conditions", "Proportion", "%", "Persons", "17+ yrs", "2022/23", 20220000,
     7.4, 7.3, 7.6, "Not compared", np.nan, "Not compared", np.nan, "Increasing"),
    (6, "Life expectancy at birth", "Life expectancy", "Life expectancy", "years", "Male", "All ages", "2019 - 21",
     20190000, 77.9, 79.4, 78.3, "Worse", 95.0, "Similar", 95.0, "Cannot be calculated"),
    (6, "Life expectancy at birth", "Life expectancy", "Life expectancy", "years", "Female", "All ages", "2019 - 21",
     20190000, 82.0, 83.1, 82.1, "Similar", 95.0, "Similar", 95.0, "Cannot be calculated"),
]


def hand_built_profile() -> AreaProfile:
    indicators = pd.DataFrame(ROWS, columns=COLUMNS)
    # The conception rate's last five points (for the "improving" sentence).
    series = pd.DataFrame({"indicator_id": 3, "sex": "Female", "age": "<18 yrs",
                           "period": ["2016", "2017", "2018", "2019", "2020", "2021"],
                           "period_sort": [y * 10000 for y in range(2016, 2022)],
                           "value": [16.0, 15.5, 14.8, 14.0, 13.1, 12.0]})
    return AreaProfile(
        area_code="E06000008", area_name="Blackburn with Darwen", area_type="utla", region_code="E12000002",
        region_name="North West", parent_code="E12000002", parent_name="North West", comparator="england",
        comparator_code="E92000001", comparator_name="England", period="latest", indicators=indicators,
        time_series=series, population=pd.DataFrame(), population_year=None, inequalities=pd.DataFrame(),
        england_inequalities=pd.DataFrame())


EXPECTED = [
    ("summary", "Compared with England (latest data for each indicator, 2019 - 21 to 2023): of 7 indicators, "
                "0 are significantly better, 2 are similar and 3 are significantly worse; 1 is significantly higher "
                "or lower where neither is better and 1 is not compared."),
    ("summary", "Compared with the North West region: of 7 indicators, 1 is significantly better, 3 are similar "
                "and 1 is significantly worse; 1 is significantly higher or lower where neither is better and 1 is "
                "not compared."),
    ("meaning", "“Significantly” better or worse means the difference is unlikely to be chance: England's value "
                "lies outside the area's 95% confidence interval (99.8% where stated)."),
    ("concern", "Areas of concern: 1 indicator is significantly worse than England and getting worse."),
    ("concern", "Smoking prevalence in adults: 18.3% in 2023, significantly worse than England (14.4%; 95% "
                "confidence), and increasing and getting worse over the last 5 periods."),
    ("worse", "Violent crime <offences> & 'assaults': 31.0 per 1,000 in 2022/23, significantly worse than England "
              "(29.5 per 1,000; 99.8% confidence)."),
    ("improving", "Improving: Under 18s conception rate (females), decreasing and getting better from 15.5 per 1,000 "
                  "in 2017 to 12.0 per 1,000 in 2021."),
    ("life_expectancy", "Life expectancy at birth (females): 82.0 years in 2019 - 21, 1.1 years lower than England "
                        "(83.1 years); not significantly different from England."),
    ("life_expectancy", "Life expectancy at birth (males): 77.9 years in 2019 - 21, 1.5 years lower than England "
                        "(79.4 years); significantly worse than England (95% confidence)."),
    ("life_expectancy", "Life expectancy at birth: females 82.0 years and males 77.9 years in 2019 - 21, a gap of "
                        "4.1 years."),
]


def test_headlines_word_for_word():
    bullets = narrative.headlines(hand_built_profile())
    assert [(b.kind, b.text) for b in bullets] == EXPECTED


def test_headlines_are_deterministic_under_row_order():
    profile = hand_built_profile()
    profile.indicators = profile.indicators.iloc[::-1].reset_index(drop=True)
    assert [(b.kind, b.text) for b in narrative.headlines(profile)] == EXPECTED


def test_html_escapes_every_data_string():
    html = narrative.to_html(narrative.headlines(hand_built_profile()))
    assert "<offences>" not in html and "'assaults'" not in html
    assert "Violent crime &lt;offences&gt; &amp; &#x27;assaults&#x27;: 31.0 per 1,000" in html
    assert html.startswith("<h3>Summary</h3>\n<ul class=\"jsna-headlines jsna-summary\">\n<li>Compared with England")
    assert html.count("<ul") == html.count("</ul>") == 5
    # what "significantly" means is an explanation after the summary list, not one of its bullets
    assert re.search(r'</ul>\n<p class="jsna-headlines jsna-meaning">“Significantly” better or worse means [^<]*</p>\n'
                     r"<h3>Areas of concern</h3>", html)
    assert "<h3>Areas of concern</h3>" in html and "<h3>Improving</h3>" in html


def test_text_and_empty_profile():
    profile = hand_built_profile()
    assert narrative.to_text(narrative.headlines(profile)).splitlines()[3] == (
        "- Areas of concern: 1 indicator is significantly worse than England and getting worse.")
    profile.indicators = profile.indicators.iloc[0:0]
    assert [b.text for b in narrative.headlines(profile)] == [
        "There are no indicator values for Blackburn with Darwen in this data store."]


def test_format_value():
    assert narrative.format_value(24.04, "%") == "24.0%"
    assert narrative.format_value(1587.26, "per 100,000") == "1,587.3 per 100,000"
    assert narrative.format_value(81.25, "years") == "81.2 years"  # 81.25 is exact in binary: half to even
    assert narrative.format_value(26.308, "score") == "26.3"
    assert narrative.format_value(float("nan"), "%") == "no value"


def test_sex_gap_per_age():
    """Life expectancy with two ages for one indicator and period (at birth and at 65): one gap
    per age, each named by its age (this raised "truth value of a Series is ambiguous")."""
    le = pd.DataFrame({"indicator_id": [1, 1, 1, 1], "period": ["2021 - 23"] * 4,
                       "age": ["All ages", "All ages", "65", "65"], "sex": ["Male", "Female", "Male", "Female"],
                       "value": [79.0, 83.0, 18.6, 21.0], "name": ["Life expectancy"] * 4, "unit": ["years"] * 4})
    texts = sorted(b.text for b in narrative._sex_gaps(le))
    assert texts == ["Life expectancy (65): females 21.0 years and males 18.6 years in 2021 - 23, "
                     "a gap of 2.4 years.",
                     "Life expectancy (All ages): females 83.0 years and males 79.0 years in 2021 - 23, "
                     "a gap of 4.0 years."]
    # one age: not named (as before)
    one = narrative._sex_gaps(le[le["age"] == "65"])
    assert [b.text for b in one] == ["Life expectancy: females 21.0 years and males 18.6 years in 2021 - 23, "
                                     "a gap of 2.4 years."]
