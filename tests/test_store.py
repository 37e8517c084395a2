"""The parquet store: round trips, manifest, atomic writes and nothing written on failure."""

from __future__ import annotations

import json
import os

import pandas as pd
import pytest

from jsna_lib import schema
from jsna_lib import store as store_mod
from jsna_lib.store import Store, StoreError
from tests.test_schema import _values


def _indicators() -> pd.DataFrame:
    return pd.DataFrame({"indicator_id": [1, 2], "name": ["Rate", "Share"], "value_type": ["Crude rate", "Proportion"],
                         "polarity": ["RAG - Low is good", "RAG - High is good"],
                         "comparator_method": ["ci_95", "ci_99_8"]})


def test_round_trip_and_manifest(tmp_path) -> None:
    s = Store(tmp_path / "st", create=True)
    s.write_many({"values": _values(), "indicators": _indicators()}, source="unit test")
    again = Store(tmp_path / "st")
    values = again.read("values")
    assert len(values) == 3 and values["indicator_id"].dtype == "Int64"
    assert values.loc[2, "value"] == 55.5
    manifest = json.loads((tmp_path / "st" / "manifest.json").read_text())
    assert manifest["tables"]["values"]["rows"] == 3
    assert manifest["tables"]["values"]["source"] == "unit test"
    assert len(manifest["tables"]["values"]["sha256"]) == 64
    # filters and columns push down to parquet
    one = again.read("values", columns=["area_code", "value"], filters=[("area_code", "=", "E92000001")])
    assert list(one.columns) == ["area_code", "value"] and one["value"].tolist() == [10.0]


def test_missing_store_and_table_errors_say_what_to_do(tmp_path) -> None:
    with pytest.raises(StoreError, match="jsna demo --data-dir"):
        Store(tmp_path / "nope")
    s = Store(tmp_path / "st", create=True)
    with pytest.raises(StoreError, match="has no table 'values'"):
        s.read("values")


def test_invalid_table_writes_nothing(tmp_path) -> None:
    s = Store(tmp_path / "st", create=True)
    s.write("indicators", _indicators(), source="first")
    before = {p.name: p.read_bytes() for p in (tmp_path / "st").iterdir()}
    bad = _values(count=[1.0, -5.0, 3.0])
    with pytest.raises(ValueError, match="negative"):
        s.write_many({"values": bad, "indicators": _indicators()}, source="second")
    after = {p.name: p.read_bytes() for p in (tmp_path / "st").iterdir()}
    assert before == after


def test_proportion_count_above_denominator_checked_against_stored_indicators(tmp_path) -> None:
    s = Store(tmp_path / "st", create=True)
    s.write("indicators", _indicators(), source="meta")
    bad = _values(count=[100.0, 12.0, 1555.0])  # indicator 2 is a proportion: 1555 > 1000
    with pytest.raises(ValueError, match="above 'denominator' for a proportion"):
        s.write("values", bad, source="x")


def test_crash_during_write_leaves_previous_table_intact(tmp_path, monkeypatch) -> None:
    s = Store(tmp_path / "st", create=True)
    s.write("values", _values(), source="good")
    good = (tmp_path / "st" / "values.parquet").read_bytes()

    def boom(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError, match="disk full"):
        s.write("values", _values(value=[1.0, 2.0, 3.0]), source="bad")
    monkeypatch.undo()
    assert (tmp_path / "st" / "values.parquet").read_bytes() == good
    assert not [p for p in (tmp_path / "st").iterdir() if p.name.endswith(".tmp")]
    assert Store(tmp_path / "st").read("values")["value"].tolist() == [10.0, 12.0, 55.5]


def test_checksum_changes_with_content(tmp_path) -> None:
    s = Store(tmp_path / "st", create=True)
    s.write("values", _values(), source="a")
    first = s.checksum()
    s.write("values", _values(value=[1.0, 12.0, 55.5]), source="a")
    assert s.checksum() != first


def test_merge_values_replaces_rows_with_the_same_key() -> None:
    old = schema.validate(_values(), "values")
    new = schema.validate(_values(value=[99.0, 12.0, 55.5]).iloc[[0]], "values")
    merged = store_mod.merge_values(old, new)
    assert len(merged) == 3
    assert merged.loc[merged["area_code"] == "E92000001", "value"].tolist() == [99.0]


def test_manifest_keeps_every_source_that_wrote_a_table(tmp_path) -> None:
    s = Store(tmp_path / "st", create=True)
    s.write("values", _values(), source="first.csv")
    s.write("values", _values(value=[1.0, 2.0, 3.0]), source="second.csv")
    entry = Store(tmp_path / "st").manifest["tables"]["values"]
    assert entry["source"] == "second.csv"
    assert entry["sources"] == ["first.csv", "second.csv"]
    assert [h["source"] for h in entry["history"]] == ["first.csv", "second.csv"]
    assert s.summary()["tables"]["values"]["source"] == "first.csv; second.csv"
