"""The snapshot serialisers (indented file text, sorted text behind the id) equal
json.dumps byte for byte, whether a table's text comes from the cache or not."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from agor_schema import cache
from agor_schema.snapshot import _sorted_json, derive_id, dump_snapshot_json

scalars = st.one_of(st.none(), st.booleans(), st.integers(-10**12, 10**12),
                    st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=8))
values = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=6), inner, max_size=4)),
    max_leaves=12)
documents = st.fixed_dictionaries({
    "id": st.text(max_size=4), "prevId": st.text(max_size=4),
    "tables": st.dictionaries(st.text(max_size=8), values, max_size=5),
}, optional={"enums": values, "_meta": values, "zzz": values})


@settings(max_examples=80, deadline=None)
@given(documents)
def test_same_bytes_as_json_dumps_cold_and_warm(doc: dict) -> None:
    store = cache.Store(None, "test")
    previous = cache.activate(store)
    try:
        for _ in range(2):  # the second round takes every table from the memo
            assert dump_snapshot_json(doc) == json.dumps(doc, indent=2, ensure_ascii=False)
            assert _sorted_json(doc) == json.dumps(doc, sort_keys=True, ensure_ascii=False)
    finally:
        cache.activate(previous)


def test_equal_tables_of_different_key_order_or_types_are_not_confused() -> None:
    a = {"tables": {"t": {"x": 1, "y": True}}}
    b = {"tables": {"t": {"y": True, "x": 1}}}
    c = {"tables": {"t": {"x": 1.0, "y": 1}}}
    for doc in (a, b, c, a):
        assert dump_snapshot_json(doc) == json.dumps(doc, indent=2, ensure_ascii=False)
    assert derive_id("p", a) == derive_id("p", b)  # the id is over sorted keys, as before
    assert derive_id("p", a) != derive_id("p", c)
