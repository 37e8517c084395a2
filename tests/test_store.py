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


# ---------------------------------------------------------------- tables held in memory (batch kernels)
def _many_values() -> pd.DataFrame:
    """36 rows: 3 areas x 2 indicators x 3 periods x 2 sexes, some values missing."""
    import itertools

    rows = list(itertools.product([1, 2], ["E92000001", "E06000001", "E06000002"], ["2019/20", "2020/21", "2021/22"],
                                  ["Male", "Female"]))
    frame = pd.DataFrame(rows, columns=["indicator_id", "area_code", "period", "sex"])
    n = len(frame)
    frame["area_type"] = frame["area_code"].map({"E92000001": "england"}).fillna("utla")
    frame["age"] = "All ages"
    frame["period_sort"] = frame["period"].str[:4].astype(int) * 10000
    frame["value"] = [float(i) if i % 7 else float("nan") for i in range(n)]
    frame["lower_95"] = frame["value"] - 1
    frame["upper_95"] = frame["value"] + 1
    frame["count"] = frame["value"] * 10
    frame["denominator"] = 1000.0
    return frame


def _preload_store(tmp_path):
    store = Store(tmp_path / "s", create=True)
    values = _many_values()
    store.write("values", values, source="test", row_group_size=5)
    return store, values


FILTERS = [
    None,
    [("area_code", "=", "E06000001")],
    [("area_code", "in", ["E06000002", "E92000001"]), ("period", "=", "2021/22")],
    [("period", "=", "2021/22"), ("area_code", "=", "E06000001"), ("sex", "in", ["Female"])],
    [("area_code", "=", "NOT-A-CODE")],
    [("indicator_id", "!=", 1), ("area_code", "not in", ["E92000001"])],
    [("value", ">", 10.0), ("area_code", "==", "E06000002")],
    [("value", "<=", 10.0)],
]


@pytest.mark.parametrize("filters", FILTERS)
@pytest.mark.parametrize("columns", [None, ["area_code", "value"]])
def test_preloaded_reads_equal_parquet_reads(tmp_path, filters, columns) -> None:
    store, _ = _preload_store(tmp_path)
    from_disk = store.read("values", columns=columns, filters=filters)
    try:
        assert store_mod.preload(store.path) == 36
        from_memory = store.read("values", columns=columns, filters=filters)
    finally:
        store_mod.forget_preloaded()
    assert filters is None or len(from_disk) < 36  # the filters do select
    assert len(from_disk) > 0 or filters == [("area_code", "=", "NOT-A-CODE")]
    pd.testing.assert_frame_equal(from_memory, from_disk)


def test_preloaded_table_is_not_changed_by_a_reader_and_is_dropped_when_the_store_changes(tmp_path) -> None:
    store, values = _preload_store(tmp_path)
    try:
        store_mod.preload(store.path)
        first = store.read("values")
        first.loc[1, "value"] = -1.0
        assert store.read("values").loc[1, "value"] == 1.0
        # a new version of the table (new sha256) is read from disk, not from the memory copy
        changed = values.assign(value=values["value"] + 1)
        store.write("values", changed, source="test")
        reread = Store(store.path).read("values")
        assert reread["value"].tolist() == pytest.approx(changed["value"].tolist(), nan_ok=True)
    finally:
        store_mod.forget_preloaded()


def test_preload_from_environment_respects_the_size_limit(tmp_path, monkeypatch) -> None:
    store, _ = _preload_store(tmp_path)
    monkeypatch.setenv(store_mod.PRELOAD_ENV, str(store.path))
    try:
        monkeypatch.setenv("JSNA_PRELOAD_MAX_MB", "0")
        assert store_mod.preload_from_environment() == 0
        monkeypatch.setenv("JSNA_PRELOAD_MAX_MB", "100")
        assert store_mod.preload_from_environment() == 36
        monkeypatch.setenv(store_mod.PRELOAD_ENV, str(tmp_path / "missing"))
        store_mod.forget_preloaded()
        assert store_mod.preload_from_environment() == 0
    finally:
        store_mod.forget_preloaded()
