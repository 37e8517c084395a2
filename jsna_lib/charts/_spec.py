"""Vega-Lite specs built as plain dicts, and the chart object the builders return.

Why not Altair objects: building a 13-chart area profile through Altair's object model cost about
3 s of every area's kernel time (schema validation ~1.5 s, deep copies of the object tree ~1.4 s,
DataFrame sanitising ~0.9 s, measured with cProfile on the demo store), and the explorer's spine
row alone 480 ms. The builders write the same Vega-Lite (https://vega.github.io/vega-lite/docs/)
that Altair would emit, directly:

* :class:`SpecBuilder` collects the inline datasets (``{"data": {"name": ...}}`` plus a top-level
  ``datasets`` table, the layout Altair uses) and adds ``$schema`` and the workbench theme's
  ``config`` when finished;
* :func:`records` turns a DataFrame into JSON-ready rows (NaN/NA → null, numpy scalars → Python,
  datetimes → ISO text) column by column;
* :class:`Chart` is what the builders return. It displays in a notebook through the active
  Altair renderer (so :func:`jsna_lib.charts.enable_offline` applies), and has ``to_dict``,
  ``to_json``, ``save``, ``properties`` and ``to_altair`` (an ``altair`` chart, validated, for
  people who want to keep building on it with Altair's API).
"""

from __future__ import annotations

import copy
import json
import math
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from . import theme

#: The Vega-Lite schema the specs are written for (Altair's, so ``to_altair`` accepts them).
SCHEMA_URL = "https://vega.github.io/schema/vega-lite/v6.json"


def _schema_url() -> str:
    try:
        import altair as alt

        return str(alt.SCHEMA_URL)
    except Exception:  # pragma: no cover - altair is a dependency
        return SCHEMA_URL


def _column_values(series: pd.Series) -> list[Any]:
    """One column as a list of JSON-ready Python values (missing → None)."""
    dtype = series.dtype
    if pd.api.types.is_bool_dtype(dtype) and not pd.api.types.is_extension_array_dtype(dtype):
        return series.to_numpy().tolist()
    if pd.api.types.is_datetime64_any_dtype(dtype):
        text = series.dt.strftime("%Y-%m-%dT%H:%M:%S")
        return text.astype(object).where(series.notna(), None).tolist()
    if pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype):
        if pd.api.types.is_integer_dtype(dtype) and not series.isna().any():
            return series.to_numpy(dtype="int64").tolist()
        return json_floats(series.to_numpy(dtype="float64", na_value=np.nan))
    values = series.to_numpy(dtype=object, na_value=None)
    out = values.tolist()
    missing = pd.isna(values)
    for i in np.flatnonzero(missing):
        out[i] = None
    if not set(map(type, out)) <= _JSON_TYPES:  # rare: numpy scalars or other objects in an object column
        out = [value if type(value) in _JSON_TYPES else _plain(value) for value in out]
    return out


_JSON_TYPES = frozenset({str, bool, int, float, type(None)})


def json_floats(values: np.ndarray) -> list[float | None]:
    """Floats as JSON-ready Python values: missing or infinite → None (JSON has no NaN)."""
    out = values.tolist()
    for i in np.flatnonzero(~np.isfinite(values)):  # only the missing cells
        out[i] = None
    return out


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, (pd.Timestamp,)):
        return value.isoformat()
    if isinstance(value, (str, bool, int, float)) or value is None:
        return value
    return str(value)


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """The rows of ``frame`` as JSON-ready dicts (what Vega-Lite's ``values`` holds).

    Missing values (NaN, None, pd.NA, NaT) become ``null``; numpy scalars become Python numbers;
    datetimes become ISO-8601 text; categoricals their labels. Built column by column.
    """
    names = [str(c) for c in frame.columns]
    columns = [_column_values(frame.iloc[:, i]) for i in range(frame.shape[1])]
    if not columns:
        return [{} for _ in range(len(frame))]
    return _zip_rows(names, columns)


def array_records(columns: Mapping[str, Any], n: int) -> list[dict[str, Any]]:
    """:func:`records` for columns already held as numpy arrays (``n`` rows each), or as one value
    for every row: float arrays with missing → ``null``, other arrays as their Python values."""
    values = [json_floats(v) if isinstance(v, np.ndarray) and v.dtype.kind == "f"
              else v.tolist() if isinstance(v, np.ndarray) else [v] * n for v in columns.values()]
    return _zip_rows(list(columns), values)


def _zip_rows(names: list[str], columns: list[list[Any]]) -> list[dict[str, Any]]:
    return [dict(zip(names, row, strict=True)) for row in zip(*columns, strict=True)]


class SpecBuilder:
    """Collects a chart's inline datasets; :meth:`finish` returns the top-level :class:`Chart`."""

    def __init__(self) -> None:
        self.datasets: dict[str, list[dict[str, Any]] | Any] = {}

    def data(self, frame: pd.DataFrame | list[dict[str, Any]] | Mapping[str, Any], name: str | None = None
             ) -> dict[str, str]:
        """Register a dataset and return the ``{"name": ...}`` reference to put under ``"data"``.

        ``frame`` is a DataFrame (converted with :func:`records`), a list of row dicts, or any JSON
        value (e.g. GeoJSON). Names are ``data-0``, ``data-1``… unless given.
        """
        values = records(frame) if isinstance(frame, pd.DataFrame) else frame
        key = name or f"data-{len(self.datasets)}"
        self.datasets[key] = values
        return {"name": key}

    def finish(self, spec: dict[str, Any]) -> Chart:
        """Add ``$schema``, the theme's ``config`` and the datasets to ``spec`` (a top-level spec)."""
        top: dict[str, Any] = {"$schema": _schema_url(), "config": theme.config()["config"]}
        top.update(spec)
        if self.datasets:
            top["datasets"] = {**self.datasets, **top.get("datasets", {})}
        return Chart(top)


def title(text: str | list[str], subtitle: list[str] | str | None = None, **extra: Any) -> dict[str, Any]:
    """A Vega-Lite title with subtitle lines (anchored at the start, as the theme does)."""
    lines = [subtitle] if isinstance(subtitle, str) else [s for s in (subtitle or []) if s]
    out: dict[str, Any] = {"text": text, "anchor": "start"}
    if lines:
        out["subtitle"] = lines
    out.update(extra)
    return out


def field(name: str, type_: str, **extra: Any) -> dict[str, Any]:
    """An encoding channel definition: ``field("value", "quantitative", title="Value")``."""
    return {"field": name, "type": type_, **extra}


def tooltip(*fields: tuple[str, str] | tuple[str, str, str]) -> list[dict[str, Any]]:
    """Tooltip channel from ``(field, title)`` pairs (nominal) or ``(field, type, title)`` triples."""
    out = []
    for item in fields:
        if len(item) == 2:
            out.append({"field": item[0], "type": "nominal", "title": item[1]})
        else:
            out.append({"field": item[0], "type": item[1], "title": item[2]})
    return out


class Chart:
    """A finished Vega-Lite chart (a plain spec), as returned by the :mod:`jsna_lib.charts` builders.

    Shown in a notebook through the active Altair renderer, so ``charts.enable_offline(...)`` and
    ``alt.renderers.enable(...)`` apply. ``to_dict()`` gives a copy of the spec;
    ``to_altair()`` an Altair chart built from it (validated against the schema).
    """

    __slots__ = ("spec",)

    def __init__(self, spec: Mapping[str, Any]) -> None:
        self.spec: dict[str, Any] = dict(spec)

    # --- what Altair charts offer that people use on finished charts
    def to_dict(self, *, validate: bool = False, **_: Any) -> dict[str, Any]:
        """The Vega-Lite spec (a deep copy). ``validate=True`` checks it against the schema first."""
        if validate:
            self.to_altair()
        return copy.deepcopy(self.spec)

    def to_json(self, indent: int | None = 2, **kwargs: Any) -> str:
        return json.dumps(self.spec, indent=indent, **kwargs)

    def properties(self, **kwargs: Any) -> Chart:
        """A copy with top-level properties set (``width``, ``height``, ``title``, ``description``…)."""
        spec = dict(self.spec)
        spec.update(kwargs)
        return Chart(spec)

    def to_altair(self) -> Any:
        """This chart as an Altair object (validated), to extend with Altair's API."""
        import altair as alt

        spec = dict(self.spec)
        spec.pop("$schema", None)
        return alt.Chart.from_dict(spec) if "mark" in spec else _altair_top(spec)

    def save(self, path: str | os.PathLike[str], **kwargs: Any) -> Path:
        """Write the chart (.svg, .png, .pdf, .html or .json): see :func:`jsna_lib.charts.save`."""
        from .render import save

        return save(self, path, **kwargs)

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> Any:
        import altair as alt

        return alt.renderers.get()(self.spec)

    def __repr__(self) -> str:
        title_ = self.spec.get("title")
        text = title_.get("text") if isinstance(title_, dict) else title_
        if isinstance(text, list):
            text = " ".join(str(t) for t in text)
        return f"<jsna chart: {text or 'untitled'}>"


def _altair_top(spec: dict[str, Any]) -> Any:
    import altair as alt

    for key, cls in (("layer", alt.LayerChart), ("vconcat", alt.VConcatChart), ("hconcat", alt.HConcatChart),
                     ("concat", alt.ConcatChart), ("facet", alt.FacetChart), ("repeat", alt.RepeatChart)):
        if key in spec:
            return cls.from_dict(spec)
    return alt.TopLevelUnitSpec.from_dict(spec)  # pragma: no cover


def note(message: str, *, heading: str = "", width: int = 420) -> Chart:
    """A small chart that only says something (used instead of failing, e.g. a map without boundaries)."""
    lines = message.split("\n")
    builder = SpecBuilder()
    spec: dict[str, Any] = {
        "data": builder.data([{"line": line, "row": i} for i, line in enumerate(lines)]),
        "mark": {"type": "text", "align": "left", "baseline": "top", "fontSize": theme.FONT_SIZE,
                 "color": theme.MUTED, "x": 4},
        "encoding": {"y": {"field": "row", "type": "ordinal", "axis": None},
                     "text": {"field": "line", "type": "nominal"}},
        "width": width, "height": 18 * len(lines),
    }
    if heading:
        spec["title"] = title(heading)
    return builder.finish(spec)
