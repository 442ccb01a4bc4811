"""The text rule `check` uses to pass an edited file without parsing it
(agor_schema.comment_lines) never says "only comments changed" when YAML reads other data:
hypothesis applies small line edits to texts full of multi-line scalars and compares what
the real loader reads."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agor_schema.comment_lines import normalised_lines, only_comment_lines_differ
from agor_schema.errors import SchemaError, SchemaErrors
from agor_schema.spec import loader

BASES = [
    # block scalars: a comment-looking or blank line inside is text
    "tables:\n  t:\n    comment: |\n      first\n      # not a comment\n\n      last\n"
    "    columns: {id: integer}\n",
    "a: |+\n  kept\n\n",
    "a: |+\n  kept\n",
    "a: >\n  folded\n  lines\n\n  para\nb: 1\n",
    "a: |-\n  x\n# after\nb: |\n  y\n",
    "a: |\nb: 1\n",
    "l:\n- |\n  item\n- >-\n   more\n",
    "? |\n  long key\n: value\n",
    # quoted and plain scalars over several lines
    "a: \"one\n  two\\\n  three\"\nb: 'x\n\n  y'\n",
    "a: plain\n  continued\n\n  again\nb: 2\n",
    "k: {a: b\n  c, d: [1,\n 2]}\n",
    "x: &anchor !!str\n  tagged text\ny: *anchor\n",
    # nothing multi-line: comment lines may go anywhere
    "tables:\n  users:\n    columns:\n      id: {type: integer, primary_key: true}\n"
    "      # a comment\n\n      email: text\n",
    "a: 1\r\nb:\r\n  - 2\r\n  - 3\r\n",
    "a: 1",
]
LINES = ["# c", "  # indented", "", "   ", "#", "\t# tab", "  text", "  # c\x07", "x: 1",
         "  - 2", "---", "#\u2028", "\ufeff# bom", "      # deeper", "        more"]


def read(text: str):
    """What the loader reads ("error" when it refuses the text)."""
    try:
        data = loader._load_data(text.encode("utf-8"), "x.yaml").data
    except (SchemaError, SchemaErrors):
        return "error"
    return repr(data)


def spans_of(text: str):
    doc, spans = loader._read_data(text.encode("utf-8"), "x.yaml")
    assert spans is not None
    return spans


edits = st.lists(st.tuples(st.sampled_from(["insert", "delete", "replace"]),
                           st.integers(0, 40), st.sampled_from(LINES)), min_size=1, max_size=4)


def apply(text: str, ops) -> str:
    lines = text.split("\n")
    for op, at, line in ops:
        at %= len(lines) + (op == "insert")
        if op == "insert":
            lines.insert(at, line)
        elif op == "delete" and len(lines) > 1:
            del lines[at]
        elif op == "replace":
            lines[at] = line
    return "\n".join(lines)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(base=st.sampled_from(BASES), ops=edits)
def test_never_says_unchanged_when_the_data_changed(base: str, ops):
    new = apply(base, ops)
    old_lines = normalised_lines(base.encode())
    new_lines = normalised_lines(new.encode("utf-8", "surrogatepass"))
    if new_lines is not None and only_comment_lines_differ(old_lines, new_lines, spans_of(base)):
        assert read(new) == read(base), (base, new)


@pytest.mark.parametrize("base", BASES)
def test_the_bases_are_valid_and_spans_are_recorded(base: str):
    assert read(base) != "error"
    multi = any(s != e for s, e in spans_of(base))
    assert multi == (base not in BASES[-3:])


@pytest.mark.parametrize("base", BASES)
def test_a_comment_on_top_and_at_the_end_is_only_a_comment(base: str):
    new = "# a new comment\n\n" + base.rstrip("\n") + "\n\n"
    last_line = len(base.split("\n")) - 1
    if any(end >= last_line - 1 for _, end in spans_of(base)):  # the end may be the value's
        new = "# a new comment\n\n" + base
    assert only_comment_lines_differ(normalised_lines(base.encode()),
                                     normalised_lines(new.encode()), spans_of(base))


@pytest.mark.parametrize(("base", "new"), [
    ("a: |+\n  kept\n", "a: |+\n  kept\n\n"),  # one more newline in the value
    ("a: |\n  x\n  y\n", "a: |\n  x\n  # y\n  y\n"),  # a line of text
    ("a: |\nb: 1\n", "a: |\n  # text\nb: 1\n"),
    ("a: plain\n  more\n", "a: plain\n\n  more\n"),  # a folded newline
    ("a: 'x\n  y'\n", "a: 'x\n  # y\n  y'\n"),
    ("a: 1\n", "a: 1  # trailing\n"),  # not a whole line: parsed instead
    ("a: 1\n", "\ufeff# bom\na: 1\n"),
    ("a: 1\n", "\t# tab\na: 1\n"),
    ("a: 1\n", "a: 2\n"),
])
def test_edits_it_does_not_accept(base: str, new: str):
    new_lines = normalised_lines(new.encode())
    assert new_lines is None or not only_comment_lines_differ(
        normalised_lines(base.encode()), new_lines, spans_of(base))


def test_other_line_breaks_record_no_spans():
    _, spans = loader._read_data("a: 'x\u2028y'\nb: 1\n".encode(), "x.yaml")
    assert spans is None
