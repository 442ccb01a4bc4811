"""YAML loading that can tell where every key and value came from (file, line, column).

Marks are only needed to report a problem, so the normal path builds plain data only (a lean
walk over libyaml's nodes that still refuses everything the marked walk refuses: duplicate
keys, `{type: numeric(12,2)}` split at the comma, keys that are not plain names...). A
Document remembers the text of its files and builds its marks on first use: it re-reads that
text with the marked walk, which maps each data path (tuple of keys/indexes) to the mark of
its node, so later stages can point at the exact place of a problem. Whenever the lean walk
meets anything unusual it hands the file to the marked walk, whose errors are the reference.
"""

from __future__ import annotations

import hashlib
import pickle
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agor_schema import cache
from agor_schema.errors import Mark, SchemaError, SchemaErrors, path_context
from agor_schema.spec import (  # noqa: F401 (re-exported)
    MAX_FILE_BYTES,
    SCHEMA_SUFFIXES,
    display_name,
    schema_files,
)

Path_ = tuple  # a data path: ("tables", "users", "columns", "email", "type")
_SPLIT_KEY = re.compile(r"^\s*\d+\s*\)\s*$")
_SPLIT_VALUE = re.compile(r"\(\s*\d+\s*$")

if TYPE_CHECKING:
    import yaml

_SURROGATE = re.compile("[\ud800-\udfff]")
MAX_DEPTH = 64  # a schema nests ~8 levels; deeper is not a schema (and would exhaust the stack)
MAX_NODES = 500_000  # nodes after alias expansion ("billion laughs" stops here)

marked_parses = 0  # how many times a file was read with marks (tests check it stays 0)


def _import_yaml() -> Any:
    """PyYAML, imported on the first file that is not in the cache (module global `yaml`)."""
    global yaml
    import yaml

    return yaml


class _Marks:
    """The marks of one or more Documents, built on first use from the text they came from.

    `pending` holds what is not taken yet: `(raw, name)` of a file (all its marks) or
    `(document, skipped)` of a merged file (its marks except the subtrees in `skipped`)."""

    __slots__ = ("marks", "key_marks", "pending")

    def __init__(self, marks: dict | None = None, key_marks: dict | None = None) -> None:
        self.marks: dict[Path_, Mark] = {} if marks is None else marks
        self.key_marks: dict[Path_, Mark] = {} if key_marks is None else key_marks
        self.pending: list[tuple[Any, Any]] = []

    @property
    def built(self) -> bool:
        return not self.pending

    def ready(self) -> _Marks:
        while self.pending:
            source, skipped = self.pending[0]
            if isinstance(source, Document):
                _copy_marks(self, source, skipped)
            else:
                parsed = _parse_file(*source)
                self.marks.update(parsed.marks)
                self.key_marks.update(parsed.key_marks)
            del self.pending[0]
        return self


class Document:
    """Plain data plus the marks of its values and keys, and aliases from merged overrides.

    `marks` and `key_marks` are built when first read; documents made by `derive` share them."""

    __slots__ = ("data", "aliases", "_marks")

    def __init__(
        self,
        data: Any,
        marks: dict[Path_, Mark] | None = None,
        key_marks: dict[Path_, Mark] | None = None,
        aliases: dict[Path_, Path_] | None = None,
    ) -> None:
        self.data = data
        self.aliases: dict[Path_, Path_] = {} if aliases is None else aliases
        self._marks = _Marks(marks, key_marks)

    @classmethod
    def _lazy(cls, data: Any, raw: bytes, name: str) -> Document:
        """A file's data whose marks come from re-reading `raw` when asked for."""
        doc = cls(data)
        doc._marks.pending.append(((raw, name), None))
        _SOURCES[name] = raw
        return doc

    def derive(self, data: Any = None) -> Document:
        """A document sharing this one's marks (built lazily, once), with its own aliases."""
        out = Document(data)
        out._marks = self._marks
        return out

    @property
    def marks(self) -> dict[Path_, Mark]:
        return self._marks.ready().marks

    @property
    def key_marks(self) -> dict[Path_, Mark]:
        return self._marks.ready().key_marks

    @property
    def marks_built(self) -> bool:
        """Whether the marks exist yet (they are only built to report a problem)."""
        return self._marks.built

    def mark(self, path: Path_, *, key: bool = False) -> Mark | None:
        """The mark of the deepest known node on `path` (the key's mark if `key`)."""
        path = self._unalias(tuple(path))
        marks = self._marks.ready()
        if key and path in marks.key_marks:
            return marks.key_marks[path]
        for end in range(len(path), -1, -1):
            found = marks.marks.get(path[:end])
            if found:
                return found
        return None

    def _unalias(self, path: Path_) -> Path_:
        for _ in range(8):  # overrides nest a few levels at most
            for end in range(len(path), 0, -1):
                target = self.aliases.get(path[:end])
                if target is not None:
                    path = target + path[end:]
                    break
            else:
                return path
        return path


def load_file(path: Path, display: str | None = None) -> Document:
    """Load one YAML file into a Document; syntax errors become SchemaError with a mark."""
    name = display or str(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise SchemaError(
            f"schema file or folder not found: {name}; set 'schema' in [tool.agorschema] to a "
            "YAML file or a folder of them"
        ) from None
    # The data depends only on the bytes and the name shown in errors: cache it (not the
    # marks, which are rebuilt from `raw` in the rare run that reports a problem).
    store = cache.active()
    key = (name, hashlib.sha256(raw).hexdigest())
    blob = store.get("yaml", key)
    if blob is not None:
        try:
            doc = Document._lazy(pickle.loads(blob), raw, name)
        except Exception:  # a corrupt entry: parse again
            blob = None
    if blob is None:
        doc, lines = _read_data(raw, name)
        blob = pickle.dumps(doc.data, protocol=pickle.HIGHEST_PROTOCOL)
        store.put("yaml", key, blob)
        if lines is not None:
            store.put(SCALAR_LINES_KIND, key, lines)
    # what the file says, for `check` to tell a comment-only edit (agor_schema.meaning)
    store.memo("datahash", key, lambda: hashlib.sha256(blob).hexdigest())
    store.get(SCALAR_LINES_KIND, key)  # kept while the file is unchanged
    return doc


class _Unusual(Exception):
    """The lean walk met something the marked walk must judge (usually an error)."""


_STR_TAG = "tag:yaml.org,2002:str"
_KEY_TAGS = frozenset(f"tag:yaml.org,2002:{t}" for t in ("str", "bool", "int", "float", "null",
                                                         "timestamp"))
_SOURCES: dict[str, bytes] = {}  # display name -> bytes of the files read by this process


def written_text(mark: Mark | None) -> str | None:
    """The plain scalar as written at `mark` (e.g. `yes`, `0x10`), to show how to quote it."""
    raw = _SOURCES.get(mark.file) if mark is not None else None
    if raw is None:
        return None
    lines = raw.decode("utf-8", "replace").splitlines()
    if not 0 < mark.line <= len(lines):
        return None
    text = lines[mark.line - 1][mark.column - 1:].lstrip("[{- ")
    token = re.split(r"[,\]\}#]|: ", text, maxsplit=1)[0]
    return token.strip() or None
_PLAIN_TAGS = tuple(f"tag:yaml.org,2002:{t}" for t in ("null", "bool", "int", "float",
                                                       "timestamp"))


def _check_bounds(raw: bytes, text: str, name: str, yaml: Any) -> None:
    """Refuse, after work linear in the file, what would make loading unbounded: a huge file,
    deep nesting, an alias to itself, or aliases that expand to too many nodes."""
    if len(raw) > MAX_FILE_BYTES:
        raise SchemaError(f"the file is {len(raw):,} bytes; a schema file may hold at most "
                          f"{MAX_FILE_BYTES:,} bytes (split it into several files)",
                          mark=Mark(name, 1, 1))
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)(text)
    frames: list[list] = [[0, None]]  # [expanded size, anchor] of each open collection
    sizes: dict[str, int] = {}
    total = 0

    def refuse(message: str, event: Any) -> None:
        mark = event.start_mark
        raise SchemaError(message, mark=Mark(name, mark.line + 1, mark.column + 1))

    try:
        while loader.check_event():
            event = loader.get_event()
            kind = type(event).__name__
            if kind in ("MappingStartEvent", "SequenceStartEvent"):
                if len(frames) > MAX_DEPTH:
                    refuse(f"the YAML nests deeper than {MAX_DEPTH} levels; a schema needs a "
                           "handful", event)
                frames.append([1, event.anchor])
                continue
            if kind in ("MappingEndEvent", "SequenceEndEvent"):
                size, anchor = frames.pop()
                if anchor is not None:
                    sizes[anchor] = size
                frames[-1][0] += size
                continue
            if kind == "AliasEvent":
                if any(frame[1] == event.anchor for frame in frames):
                    refuse(f"alias *{event.anchor} refers to the collection that contains it "
                           "(a recursive alias); write the value out", event)
                size = sizes.get(event.anchor, 1)
            elif kind == "ScalarEvent":
                size = 1
                if event.anchor is not None:
                    sizes[event.anchor] = 1
            else:
                continue
            frames[-1][0] += size
            total += size
            if total > MAX_NODES:
                refuse(f"the YAML expands to more than {MAX_NODES:,} values (aliases that "
                       "repeat aliases?); write the schema out", event)
    except yaml.YAMLError:
        return  # a syntax error: the marked walk reports it with its location
    finally:
        loader.dispose()


def _load_data(raw: bytes, name: str) -> Document:
    """The file's data without marks; anything unusual goes to the marked walk instead."""
    return _read_data(raw, name)[0]


def _read_data(raw: bytes, name: str) -> tuple[Document, tuple | None]:
    """`_load_data`, plus the lines its multi-line scalars span: `((first, last), ...)`,
    0-based lines of the text split at "\n" after newline normalisation (None when the lean
    walk did not read the file, or the text holds a line break other than \n and \r, which
    libyaml counts as a line but a split at "\n" does not). `check` needs them to tell a
    comment line from a line of text (agor_schema.comment_lines)."""
    yaml = _import_yaml()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return _parse_file(raw, name), None
    _check_bounds(raw, text, name, yaml)
    spans: list[tuple[int, int]] = []
    try:
        data = _lean_data(raw, yaml, spans)
    except Exception:  # an error to report (or a case to leave to the reference walk)
        return _parse_file(raw, name), None
    plain_lines = not any(brk in text for brk in _OTHER_BREAKS)
    return Document._lazy(data, raw, name), tuple(sorted(set(spans))) if plain_lines else None


SCALAR_LINES_KIND = "scalarlines"  # cache kind: (name, sha256) -> `_read_data`'s line spans
_OTHER_BREAKS = ("\x85", "\u2028", "\u2029")  # line breaks to libyaml, not to str.split("\n")


def _lean_data(raw: bytes, yaml: Any, spans: list | None = None) -> Any:
    """What `_parse_file` builds as data, without marks; `_Unusual` where it would object.
    When `spans` is given, the (first, last) line of every scalar written over several lines
    is appended to it."""
    text = raw.decode("utf-8").replace("\r\n", "\n").replace("\r", "\n")
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)(text)
    try:
        node = loader.get_single_node()
        if not isinstance(node, yaml.MappingNode):
            raise _Unusual
        scalar_node, mapping_node = yaml.ScalarNode, yaml.MappingNode
        constructors = loader.yaml_constructors
        plain = {tag: constructors[tag] for tag in _PLAIN_TAGS if tag in constructors}
        construct_object, flatten_mapping = loader.construct_object, loader.flatten_mapping
        split_key = _SPLIT_KEY.match
        surrogate = _SURROGATE.search

        def scalar(node: Any) -> Any:
            if spans is not None and node.start_mark.line != node.end_mark.line:
                spans.append((node.start_mark.line, node.end_mark.line))
            tag = node.tag
            if tag == _STR_TAG:
                if surrogate(node.value):
                    raise _Unusual
                return node.value
            constructor = plain.get(tag)
            if constructor is not None:
                return constructor(loader, node)
            return construct_object(node, deep=True)

        def build(node: Any) -> Any:  # the same data as `_build`, tags of collections ignored
            kind = node.__class__
            if kind is scalar_node:
                return scalar(node)
            if kind is mapping_node:
                flatten_mapping(node)
                result: dict = {}
                for key_node, value_node in node.value:
                    if key_node.__class__ is not scalar_node:
                        raise _Unusual
                    # a key is the text written: `on:` is "on", `0x10:` is "0x10"
                    key = key_node.value
                    if split_key(key) or surrogate(key) or key_node.tag not in _KEY_TAGS:
                        raise _Unusual
                    if spans is not None and key_node.start_mark.line != key_node.end_mark.line:
                        spans.append((key_node.start_mark.line, key_node.end_mark.line))
                    if key in result:
                        raise _Unusual
                    result[key] = build(value_node)
                return result
            return [build(item) for item in node.value]

        data = build(node)
    finally:
        loader.dispose()
    if not isinstance(data, dict):
        raise _Unusual
    return data


def _parse_file(raw: bytes, name: str) -> Document:
    """The file's data and all its marks (the reference walk: its errors are the ones shown)."""
    global marked_parses
    marked_parses += 1
    _SOURCES[name] = raw
    yaml = _import_yaml()
    try:  # what Path.read_text does: decode, then universal newlines
        text = raw.decode("utf-8").replace("\r\n", "\n").replace("\r", "\n")
    except UnicodeDecodeError:
        raise _not_utf8(raw, name) from None
    _check_bounds(raw, text, name, yaml)
    # libyaml's parser when present: same nodes and marks, ~10x faster
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)(text)
    try:
        node = _compose(loader, text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = Mark(name, mark.line + 1, mark.column + 1) if mark else Mark(name, 1, 1)
        raise SchemaError(f"YAML syntax error: {_yaml_problem(exc)}", mark=where) from None
    except yaml.YAMLError as exc:
        raise SchemaError(f"YAML error: {exc}", mark=Mark(name, 1, 1)) from None
    finally:
        loader.dispose()
    if node is None:
        raise SchemaError(
            "the file is empty; a schema file is a mapping with a 'tables:' key",
            mark=Mark(name, 1, 1),
        )
    doc = Document(data=None)
    doc.data = _build(node, (), doc, name, loader)
    if not isinstance(doc.data, dict):
        raise SchemaError(
            "a schema file must be a mapping with a 'tables:' key, "
            f"not a {type(doc.data).__name__}",
            mark=doc.marks.get(()),
        )
    return doc


def _compose(loader: yaml.SafeLoader, text: str) -> yaml.Node | None:
    """The document's node; on a syntax error, re-parse with PyYAML for its clearer wording."""
    try:
        return loader.get_single_node()
    except yaml.YAMLError:
        if isinstance(loader, yaml.SafeLoader):
            raise
    fallback = yaml.SafeLoader(text)
    try:
        return fallback.get_single_node()
    finally:
        fallback.dispose()


def _not_utf8(raw: bytes, name: str) -> SchemaError:
    """The error for a file that is not UTF-8, at the line and column of the first bad byte."""
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as exc:  # the whole file: offsets are file offsets
        before = raw[: exc.start]
        return SchemaError(
            f"the file is not UTF-8 text (byte 0x{raw[exc.start]:02x}: {exc.reason}); "
            "save it as UTF-8",
            mark=Mark(name, before.count(b"\n") + 1, exc.start - before.rfind(b"\n")),
        )
    return SchemaError("the file is not UTF-8 text; save it as UTF-8", mark=Mark(name, 1, 1))


def _yaml_problem(exc: yaml.MarkedYAMLError) -> str:
    """PyYAML's problem in words, with where the unfinished construct began and a hint."""
    problem = (exc.problem or exc.context or "invalid YAML").replace("<stream end>",
                                                                      "the end of the file")
    started = exc.context_mark
    if exc.context and started is not None and started is not exc.problem_mark:
        problem += f" ({exc.context} that starts at line {started.line + 1}, " \
                   f"column {started.column + 1})"
    problem = problem.replace("end of stream", "end of the file")
    if "'\\t'" in problem:
        problem += "; indent with spaces, not tabs"
    elif "quoted scalar" in problem:
        problem += "; close the quote"
    elif "flow" in problem:
        problem += "; close every '{' with '}' and '[' with ']', and quote values with ',' or ':'"
    elif "block" in problem or "indent" in problem:
        problem += "; check the indentation of this line (spaces only, aligned with its siblings)"
    return problem


def _build(node: yaml.Node, path: Path_, doc: Document, name: str, loader: yaml.SafeLoader) -> Any:
    doc.marks[path] = _mark(node, name)
    if isinstance(node, yaml.MappingNode):
        return _build_mapping(node, path, doc, name, loader)
    if isinstance(node, yaml.SequenceNode):
        return [_build(item, (*path, i), doc, name, loader) for i, item in enumerate(node.value)]
    value = loader.construct_object(node, deep=True)
    if isinstance(value, str):
        _refuse_surrogates(value, node, name)
    return value


def _refuse_surrogates(text: str, node: Any, name: str) -> None:
    """A "\\ud83c" escape in YAML makes a lone UTF-16 half that no file or database holds."""
    if _SURROGATE.search(text):
        raise SchemaError("the text holds a lone UTF-16 surrogate (an escape such as "
                          "\"\\ud83c\"); write the character itself or its \\U0001F389 "
                          "escape", mark=_mark(node, name))


def _build_mapping(
    node: yaml.MappingNode, path: Path_, doc: Document, name: str, loader: yaml.SafeLoader
) -> dict:
    loader.flatten_mapping(node)
    result: dict = {}
    for key_node, value_node in node.value:
        if isinstance(key_node, yaml.ScalarNode) and _SPLIT_KEY.match(str(key_node.value)):
            _raise_split_type(node, key_node, path, name, loader)
        if not isinstance(key_node, yaml.ScalarNode) or key_node.tag not in _KEY_TAGS:
            key = loader.construct_object(key_node, deep=True)
            raise SchemaError(f"keys must be plain names, got {key!r}", mark=_mark(key_node, name))
        # the text written is the name: YAML 1.1 would read `on:` as true, `0x10:` as 16
        key = key_node.value
        _refuse_surrogates(key, key_node, name)
        if key in result:
            raise SchemaError(
                f"key '{key}' appears twice in the same mapping (first at line "
                f"{doc.key_marks[(*path, key)].line}); YAML keeps only one of them: "
                "remove or rename one",
                mark=_mark(key_node, name),
                **path_context((*path, key)),
            )
        doc.key_marks[(*path, key)] = _mark(key_node, name)
        result[key] = _build(value_node, (*path, key), doc, name, loader)
    return result


def _raise_split_type(
    node: yaml.MappingNode, key_node: yaml.Node, path: Path_, name: str, loader: yaml.SafeLoader
) -> None:
    """`{type: numeric(12,2)}` in flow style: YAML split the type at the comma."""
    head, split_field = "", "type"
    for other_key, other_value in node.value:
        if isinstance(other_value, yaml.ScalarNode) and _SPLIT_VALUE.search(str(other_value.value)):
            head, split_field = f"{other_key.value}: {other_value.value}", str(other_key.value)
            fixed = f'{other_key.value}: "{other_value.value},{str(key_node.value).strip()}"'
            break
    else:
        fixed = 'type: "numeric(12,2)"'
    raise SchemaError(
        f"YAML split the value at the comma inside a flow mapping ({{...}}): it read "
        f"'{head}' and a key '{key_node.value}'; quote the value: {{{fixed}}}",
        mark=_mark(key_node, name),
        **path_context((*path, split_field)),
    )


def _mark(node: yaml.Node, name: str) -> Mark:
    return Mark(name, node.start_mark.line + 1, node.start_mark.column + 1)


def load_sources(source: Path, root: Path | None = None) -> Document:
    """Load and merge every schema file of `source`; a table defined twice is an error."""
    files = schema_files(source)
    if not files:
        raise SchemaError(f"no schema files (*.yaml, *.yml) found in {source}")
    merged = Document(data={"tables": {}})
    errors: list[SchemaError] = []
    for path in files:
        display = display_name(path, root)
        doc = load_file(path, display)
        _merge_file(merged, doc, errors)
    if errors:
        raise SchemaErrors(errors)
    return merged


MERGED_SECTIONS = {"tables": "table", "enums": "enum", "types": "type"}  # merged by name


def _merge_file(merged: Document, doc: Document, errors: list[SchemaError]) -> None:
    skipped: set[Path_] = set()  # subtrees of this file not taken into the merge
    for key, value in doc.data.items():
        if key not in MERGED_SECTIONS:
            if key in merged.data and merged.data[key] != value:
                errors.append(
                    SchemaError(
                        f"'{key}' is set differently in two files (also at "
                        f"{merged.key_marks[(key,)]})",
                        mark=doc.key_marks[(key,)],
                    )
                )
            merged.data[key] = value
            continue
        if value is None:
            value = {}
        if not isinstance(value, dict):
            errors.append(
                SchemaError(
                    f"'{key}' must be a mapping of {MERGED_SECTIONS[key]} names",
                    mark=doc.marks[(key,)]
                )
            )
            skipped.add((key,))
            continue
        section = merged.data.setdefault(key, {})
        what = MERGED_SECTIONS[key]
        for item, spec in value.items():
            if item in section:
                first = merged.key_marks[(key, item)]
                errors.append(
                    SchemaError(
                        f"{what} '{item}' is defined twice (first at {first}); "
                        f"each {what} lives in exactly one file",
                        mark=doc.key_marks[(key, item)],
                        **({"table": item} if key == "tables" else {"kind": what, "item": item}),
                    )
                )
                skipped.add((key, item))
                continue
            section[item] = spec
    merged._marks.pending.append((doc, skipped))  # its marks, taken if ever needed


def _copy_marks(merged: _Marks, doc: Document, skipped: set[Path_]) -> None:
    """Take the file's marks in one pass, except those of skipped subtrees."""
    for store_from, store_to in ((doc.marks, merged.marks), (doc.key_marks, merged.key_marks)):
        for path, mark in store_from.items():
            if path[:1] and path[0] in MERGED_SECTIONS and len(path) <= 1:
                store_to.setdefault(path, mark)
            elif path[:2] in skipped or path[:1] in skipped:
                continue
            elif path:
                store_to[path] = mark
