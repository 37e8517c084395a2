"""Fingertips display colours and labels (DESIGN.md §4): the one table of them in the workbench.

Pure constants, standard library only, so that :mod:`jsna_lib.compare` (which makes the
significance labels) and :mod:`jsna_lib.charts` (which draws them) share one source and can
never disagree.

* :data:`SIGNIFICANCE_COLOURS`: significance label → colour, for the labels
  :func:`jsna_lib.compare.compare_to_benchmark` gives (``Better``, ``Better (95%)``,
  ``Better (99.8%)``, ``Similar``, ``Worse``..., ``Lower``/``Higher`` for "BOB" polarity and
  ``Not compared``);
* :data:`QUINTILE_COLOURS` and the two quintile label sets (RAG: best → worst; BOB / not
  applicable: lowest → highest), both coloured quintile 1 → 5;
* :data:`COLOURS`: every label above → its colour (what ``compare.COLOURS`` is);
* the spine chart's greys (:data:`SPINE_OUTER`, :data:`SPINE_INNER`);
* :data:`SIGNIFICANCE_ORDER`, :data:`SIGNIFICANCE_SHAPES` and :data:`SIGNIFICANCE_SYMBOLS`: a
  fixed legend order and a shape/symbol per label, so a chart never relies on colour alone.
"""

from __future__ import annotations

NOT_COMPARED = "Not compared"
SIMILAR = "Similar"

# Fingertips colours (DESIGN.md §4).
BETTER_COLOUR = "#92D050"
SIMILAR_COLOUR = "#FFC000"
WORSE_COLOUR = "#C00000"
BETTER_99_8_COLOUR = "#00B092"
WORSE_99_8_COLOUR = "#821733"
LOWER_COLOUR = "#5555E6"
HIGHER_COLOUR = "#C2CCFF"
NOT_COMPARED_COLOUR = "#C9C9C9"

#: Significance label → colour. "(95%)" labels come from the two-level ("ci_both") method and
#: share the plain colour; BOB labels do not change colour with the level.
SIGNIFICANCE_COLOURS: dict[str, str] = {
    "Better": BETTER_COLOUR,
    "Better (95%)": BETTER_COLOUR,
    "Better (99.8%)": BETTER_99_8_COLOUR,
    SIMILAR: SIMILAR_COLOUR,
    "Worse": WORSE_COLOUR,
    "Worse (95%)": WORSE_COLOUR,
    "Worse (99.8%)": WORSE_99_8_COLOUR,
    "Lower": LOWER_COLOUR,
    "Lower (95%)": LOWER_COLOUR,
    "Lower (99.8%)": LOWER_COLOUR,
    "Higher": HIGHER_COLOUR,
    "Higher (95%)": HIGHER_COLOUR,
    "Higher (99.8%)": HIGHER_COLOUR,
    NOT_COMPARED: NOT_COMPARED_COLOUR,
}

#: Quintile 1 (best, or lowest for BOB / not applicable) to quintile 5.
QUINTILE_COLOURS: tuple[str, ...] = ("#DED3EC", "#BEA7DA", "#9E7CC8", "#7E50B6", "#5E25A4")
#: Quintile labels for RAG polarity (quintile 1 is the best).
RAG_QUINTILE_LABELS: tuple[str, ...] = (
    "Best quintile", "2nd best quintile", "Middle quintile", "2nd worst quintile", "Worst quintile",
)
#: Quintile labels for BOB / not-applicable polarity (quintile 1 is the lowest).
BOB_QUINTILE_LABELS: tuple[str, ...] = (
    "Lowest quintile", "2nd lowest quintile", "Middle quintile", "2nd highest quintile", "Highest quintile",
)
QUINTILE_LABEL_COLOURS: dict[str, str] = {
    **dict(zip(RAG_QUINTILE_LABELS, QUINTILE_COLOURS, strict=True)),
    **dict(zip(BOB_QUINTILE_LABELS, QUINTILE_COLOURS, strict=True)),
}

#: Every label the comparisons table can hold → its colour.
COLOURS: dict[str, str] = {**SIGNIFICANCE_COLOURS, **QUINTILE_LABEL_COLOURS}

#: Legend order: better → similar → worse, then BOB, then quintiles, then not compared.
SIGNIFICANCE_ORDER: tuple[str, ...] = (
    "Better (99.8%)", "Better", "Better (95%)", SIMILAR, "Worse (95%)", "Worse", "Worse (99.8%)",
    "Lower (99.8%)", "Lower", "Lower (95%)", "Higher (95%)", "Higher", "Higher (99.8%)",
    *dict.fromkeys(label for pair in zip(RAG_QUINTILE_LABELS, BOB_QUINTILE_LABELS, strict=True) for label in pair),
    NOT_COMPARED,
)

#: A Vega shape per label (colour is never the only cue): better/higher ▲, worse/lower ▼,
#: similar ●, not compared ■; quintiles are circles (their label says which quintile).
SIGNIFICANCE_SHAPES: dict[str, str] = {
    **{label: "triangle-up" for label in COLOURS if label.startswith(("Better", "Higher"))},
    **{label: "triangle-down" for label in COLOURS if label.startswith(("Worse", "Lower"))},
    SIMILAR: "circle",
    **{label: "circle" for label in QUINTILE_LABEL_COLOURS},
    NOT_COMPARED: "square",
}
#: The same cue as a text symbol (table cells, labels).
SIGNIFICANCE_SYMBOLS: dict[str, str] = {
    **{label: "\u25b2" for label in COLOURS if label.startswith(("Better", "Higher"))},
    **{label: "\u25bc" for label in COLOURS if label.startswith(("Worse", "Lower"))},
    SIMILAR: "\u25cf",
    **{label: f"Q{i}" for labels in (RAG_QUINTILE_LABELS, BOB_QUINTILE_LABELS)
       for i, label in enumerate(labels, start=1)},
    NOT_COMPARED: "\u25a0",
}

# Spine chart (DESIGN.md §4): worst→P25 and P75→best light grey, P25→P75 dark grey.
SPINE_OUTER = "#C9C9C9"
SPINE_INNER = "#8B8B8B"
#: England's centre line and the region marker.
ENGLAND_LINE = "#000000"
REGION_MARKER = "#FFFFFF"

#: Series colours for lines that are not significance (the area, England, the region...).
AREA_COLOUR = "#1F4E79"
ENGLAND_COLOUR = "#000000"
REGION_COLOUR = "#7F7F7F"
NEUTRAL_BAR = "#6F8FAF"
BENCHMARK_LINE = "#000000"
NO_DATA = "#F2F2F2"


#: Deprivation category names (Fingertips wording with "(IMD2019)"-style suffixes removed, lower
#: case) → rank, most deprived first; used to order inequality breakdowns in tables and charts.
DEPRIVATION_RANK: dict[str, int] = {
    **{name: i for i, name in enumerate([
        "most deprived decile", "second most deprived decile", "third more deprived decile",
        "fourth more deprived decile", "fifth more deprived decile", "fifth less deprived decile",
        "fourth less deprived decile", "third less deprived decile", "second least deprived decile",
        "least deprived decile"], start=1)},
    **{name: i for i, name in enumerate([
        "most deprived quintile", "second most deprived quintile", "average deprived quintile",
        "second least deprived quintile", "least deprived quintile"], start=1)},
    "middle quintile": 3, "third more deprived quintile": 3,
    "2nd most deprived quintile": 2, "2nd least deprived quintile": 4, "3rd more deprived quintile": 3,
}
#: A trailing "(IMD2019)"-style qualifier on a category name (regular expression).
CATEGORY_SUFFIX = r"\s*\([^)]*\)\s*$"
#: The age group of the whole population, as the projections label it (``projection.ALL_AGES``) and the
#: narrative and fan charts read it.
ALL_AGES = "All ages"
