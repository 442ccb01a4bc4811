"""The package's shape: the pipeline spec -> snapshot -> operations -> SQL -> files -> database
has no import circle, and only agor_schema/dialects/ asks which dialect it holds.

Both rules are read from the source with `ast` (no import runs), so a new function-level
`from agor_schema.x import y` that closes a circle fails here, not at some later call.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import agor_schema

PACKAGE = Path(agor_schema.__file__).parent

# Import circles that are accepted, each as the sorted module names of one strongly connected
# component, with the reason. Keep this empty: break a new circle by moving the shared piece
# into a module below both (see folder_check.py, spec/types.timestamp_ms, version.py).
ALLOWED_CYCLES: set[tuple[str, ...]] = set()

# Comparisons with a dialect name outside dialects/ that are accepted, as (file, code), and
# why: each names a dialect the user chose, none asks which engine the code talks to.
DIALECT_NAME_ALLOWED = {
    # `verify --require-postgres` names the dialect in the option itself
    ("cli_verify.py", "'postgres' not in cfg.dialects"),
    ("cli_verify.py", "r.dialect == 'postgres'"),
}
DIALECT_NAMES = {"sqlite", "postgres", "postgresql", "pg"}
# a dialect's own classes: `isinstance(d, SQLiteDialect)` asks which engine it is, too
_ENGINE_CLASS = re.compile(r"\b(?:Postgres|SQLite)\w*\b")


def _module_name(root: Path, path: Path) -> str:
    parts = [root.name, *path.relative_to(root).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _typing_only(tree: ast.AST) -> set[int]:
    """Nodes under `if TYPE_CHECKING:` (never executed, so they close no circle)."""
    skip: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skip.update(id(inner) for stmt in node.body for inner in ast.walk(stmt))
    return skip


def _imported(module: str, is_package: bool, node: ast.AST, modules: set[str]) -> Iterator[str]:
    """The package modules an import statement loads (top-level or inside a function)."""
    top = module.split(".")[0]
    if isinstance(node, ast.Import):
        yield from (a.name for a in node.names if a.name.split(".")[0] == top)
        return
    if not isinstance(node, ast.ImportFrom):
        return
    base = node.module or ""
    if node.level:
        here = module.split(".") if is_package else module.split(".")[:-1]
        here = here[:len(here) - (node.level - 1)]
        base = ".".join([*here, *([node.module] if node.module else [])])
    if base.split(".")[0] != top:
        return
    for alias in node.names:
        sub = f"{base}.{alias.name}"
        yield sub if sub in modules else base


def import_graph(root: Path) -> dict[str, set[str]]:
    """module -> the package modules it imports anywhere in its body."""
    files = {_module_name(root, p): p for p in sorted(root.rglob("*.py"))}
    graph: dict[str, set[str]] = {}
    for module, path in files.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        skip = _typing_only(tree)
        targets = {t for node in ast.walk(tree) if id(node) not in skip
                   for t in _imported(module, path.name == "__init__.py", node, set(files))}
        graph[module] = {t for t in targets if t in files and t != module}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[tuple[str, ...]]:
    """Strongly connected components with more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[tuple[str, ...]] = []
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, edges = work[-1]
            nxt = next(edges, None)
            if nxt is not None:
                if nxt not in index:
                    index[nxt] = low[nxt] = len(index)
                    stack.append(nxt)
                    on_stack.add(nxt)
                    work.append((nxt, iter(sorted(graph[nxt]))))
                elif nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(tuple(sorted(component)))
    return sorted(found)


def _describe(graph: dict[str, set[str]], component: tuple[str, ...]) -> str:
    members = set(component)
    return "; ".join(f"{m} -> {', '.join(sorted(graph[m] & members))}" for m in component)


def test_the_package_has_no_import_circle() -> None:
    graph = import_graph(PACKAGE)
    assert len(graph) > 40 and "agor_schema.dialects.base" in graph  # the walk saw the package
    assert "agor_schema.folder_check" in graph["agor_schema.compiler"]  # function-level seen
    new = [c for c in cycles(graph) if c not in ALLOWED_CYCLES]
    assert not new, "import circles (move the shared piece into a module below both):\n" + \
        "\n".join(_describe(graph, c) for c in new)


def test_the_circle_finder_sees_function_level_and_relative_imports(tmp_path: Path) -> None:
    pkg = tmp_path / "pkg"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "sub" / "__init__.py").write_text("")
    (pkg / "a.py").write_text("def f():\n    from pkg.sub import b\n    return b\n")
    (pkg / "sub" / "b.py").write_text("from ..c import x\n")
    (pkg / "c.py").write_text("import pkg.a\nx = 1\n")
    (pkg / "d.py").write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
                              "    from pkg import e\n")
    (pkg / "e.py").write_text("from pkg import d\n")
    graph = import_graph(pkg)
    assert graph["pkg.sub.b"] == {"pkg.c"}
    assert cycles(graph) == [("pkg.a", "pkg.c", "pkg.sub.b")]  # d <-> e is typing only


def dialect_name_comparisons(path: Path) -> Iterator[tuple[int, str]]:
    """(line, code) of every comparison with a dialect name literal: `x == "sqlite"`,
    `name in ("postgres", ...)`, `match` cases on one, and `isinstance(d, PostgresDialect)`."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Compare):
            if any(_names_a_dialect(side) for side in (node.left, *node.comparators)):
                yield node.lineno, ast.unparse(node)
        elif isinstance(node, ast.MatchValue) and _names_a_dialect(node.value):
            yield node.lineno, f"case {ast.unparse(node.value)}"
        elif isinstance(node, ast.Call) and ast.unparse(node.func) in ("isinstance", "issubclass") \
                and len(node.args) == 2 and _ENGINE_CLASS.search(ast.unparse(node.args[1])):
            yield node.lineno, ast.unparse(node)


def _names_a_dialect(node: ast.AST) -> bool:
    items = node.elts if isinstance(node, (ast.Tuple, ast.List, ast.Set)) else [node]
    return any(_is_dialect_name(i) for i in items)


Finder = Callable[[Path], Iterator[tuple[int, str]]]


def outside_dialects(finder: Finder, allowed: set[tuple[str, str]]) -> list[str]:
    """`file:line: code` of what `finder` sees outside agor_schema/dialects/, less `allowed`."""
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE).as_posix()
        if not rel.startswith("dialects/"):
            found += [f"agor_schema/{rel}:{line}: {code}" for line, code in finder(path)
                      if (rel, code) not in allowed]
    return found


def stale(finder: Finder, allowed: set[tuple[str, str]]) -> set[tuple[str, str]]:
    """Allow-list entries `finder` no longer sees (keep the lists short)."""
    return allowed - {(rel, code) for rel, _ in allowed for _, code in finder(PACKAGE / rel)}


def test_only_the_dialects_compare_dialect_names() -> None:
    found = outside_dialects(dialect_name_comparisons, DIALECT_NAME_ALLOWED)
    assert not found, ("a dialect difference outside agor_schema/dialects/: make it a method "
                       "or capability attribute of the dialect\n" + "\n".join(found))


def test_the_dialect_name_finder_sees_each_spelling(tmp_path: Path) -> None:
    code = ('if dialect == "sqlite": pass\n'
            'if "postgres" != d.name: pass\n'
            'if scheme in ("postgresql", "x"): pass\n'
            'match d:\n    case "pg": pass\n'
            'if kind == "sqlite_master" or name == other: pass\n'
            'label = "sqlite"\n'
            'if isinstance(d, (PostgresDialect, X)) or isinstance(d, Dialect): pass\n')
    path = tmp_path / "m.py"
    path.write_text(code)
    assert [line for line, _ in dialect_name_comparisons(path)] == [1, 2, 3, 5, 8]
    assert not stale(dialect_name_comparisons, DIALECT_NAME_ALLOWED)


# Per-dialect data outside dialects/ that is accepted, as (file, code), and why: each is a
# spelling the user writes or reads, not a fact about an engine.
DIALECT_DATA_ALLOWED = {
    # the DSL's `only:` values
    ("spec/models.py", "Literal['sqlite', 'postgres']"),
    # `verify --require-postgres URL`: the option names its dialect
    ("cli_verify.py", "{'postgres': pg_url}"),
    # the `dialects` setting's default, as the README documents it
    ("config.py", "['sqlite', 'postgres']"),
    # probes of what the DSL accepts are schema documents, written in the DSL's own keys
    ("spelling.py", "('sqlite',)"),
    ("spelling.py", "{'postgres': 'citext', 'sqlite': 'text'}"),
}
# a module-level name that says it holds one engine's data (PG_IDENTIFIER_MAX, _SQLITE_TYPES)
_ENGINE_NAME = re.compile(r"(?:^|_)(?:PG|PGSQL|POSTGRES|POSTGRESQL|SQLITE)(?:_|$)")


def dialect_data(path: Path) -> Iterator[tuple[int, str]]:
    """(line, code) of data keyed by or listing dialect names, outside a comparison:
    `{"sqlite": ...}`, `x["postgres"]`, `("sqlite", "postgres")`, and module or class
    constants named after one engine (`PG_IDENTIFIER_MAX = 63`)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    seen = {id(side) for node in ast.walk(tree) if isinstance(node, ast.Compare)
            for side in (node.left, *node.comparators)}
    for node in ast.walk(tree):
        if isinstance(node, ast.Dict) and any(k is not None and _is_dialect_name(k)
                                              for k in node.keys):
            yield node.lineno, ast.unparse(node)
        elif isinstance(node, ast.Subscript) and (_is_dialect_name(node.slice)
                                                  or _lists_dialect_names(node.slice)):
            seen.add(id(node.slice))
            yield node.lineno, ast.unparse(node)
        elif id(node) not in seen and _lists_dialect_names(node):
            yield node.lineno, ast.unparse(node)
    for scope in [tree, *(n for n in ast.walk(tree) if isinstance(n, ast.ClassDef))]:
        for stmt in scope.body:
            targets = stmt.targets if isinstance(stmt, ast.Assign) else \
                [stmt.target] if isinstance(stmt, ast.AnnAssign) else []
            for target in targets:
                if isinstance(target, ast.Name) and target.id.isupper() \
                        and _ENGINE_NAME.search(target.id):
                    yield stmt.lineno, f"{target.id} = ..."


def _lists_dialect_names(node: ast.AST) -> bool:
    return isinstance(node, (ast.Tuple, ast.List, ast.Set)) and bool(node.elts) \
        and all(_is_dialect_name(e) for e in node.elts)


def _is_dialect_name(node: ast.AST) -> bool:
    return isinstance(node, ast.Constant) and isinstance(node.value, str) \
        and node.value.lower() in DIALECT_NAMES


def test_only_the_dialects_hold_per_dialect_data() -> None:
    found = outside_dialects(dialect_data, DIALECT_DATA_ALLOWED)
    assert not found, ("per-dialect data outside agor_schema/dialects/: make it a capability "
                       "attribute of the dialect, or iterate DIALECT_NAMES\n" + "\n".join(found))


def test_the_dialect_data_finder_sees_each_shape(tmp_path: Path) -> None:
    code = ('VERSIONS = {"sqlite": "6", "postgres": "7"}\n'
            'DIALECTS = ("sqlite", "postgres")\n'
            'PG_IDENTIFIER_MAX = 63\n'
            'x = dialects["pg"]\n'
            'Name = Literal["sqlite", "postgres"]\n'
            'if d in ("sqlite", "postgres"): pass\n'
            'class K:\n    SQLITE_TYPES = {}\n    PGX = 1\n'
            'def f():\n    POSTGRES_ONLY = 1\n'
            'label = "sqlite"; n = sql(dialect="postgres"); t = ("sqlite", x)\n'
            'sqlite_master = {"sqlite_master": 1, "type": "postgres"}\n')
    path = tmp_path / "m.py"
    path.write_text(code)
    assert sorted(line for line, _ in dialect_data(path)) == [1, 2, 3, 4, 5, 8]
    assert not stale(dialect_data, DIALECT_DATA_ALLOWED)


# What agor_schema/dialects/ may import from the rest of the package: the stages below it and
# shared leaves, each with its reason. The spec, the differ, lint, TypeScript, the compiler and
# the runner sit above the dialects and ask them for data; a dialect never calls up into them.
BELOW_DIALECTS = {
    "agor_schema.ops": "the operations a dialect renders",
    "agor_schema.snapshot": "the state a dialect writes and reads",
    "agor_schema.spec.types": "logical column types (no pydantic)",
    "agor_schema.expr": "neutral expressions a dialect renders",
    "agor_schema.sqlnorm": "expressions compared by meaning",
    "agor_schema.introspect": "catalog readers' shared helpers",
    "agor_schema.ts_literals": "TypeScript literals for drizzle builders",
    "agor_schema.journal": "the migration files a runtime applies",
    "agor_schema.db": "connections and the runner's shared types",
    "agor_schema.errors": "located input errors",
    "agor_schema.cache": "memoized pure computations",
    "agor_schema.sealed": "the cache's files are sealed with the user's key",
    "agor_schema.writes": "sealed files are written by temp file and rename",
    "agor_schema.redact": "secrets out of messages",
    "agor_schema.version": "cache keys",
    "agor_schema.records": "NamedTuple records without importing typing (app start-up)",
}


def test_the_dialects_import_only_what_lies_below_them() -> None:
    graph = import_graph(PACKAGE)
    dialects = {m for m in graph if m.startswith("agor_schema.dialects")}
    up = sorted(f"{m} -> {t}" for m in dialects for t in graph[m] - dialects - set(BELOW_DIALECTS))
    assert not up, ("a dialect imports an upper stage: move the piece it needs below the "
                    "dialects, or let the upper module ask the dialect for data\n" + "\n".join(up))
    # and what lies below never reaches up again (not even through another lower module)
    reach = {t for m in BELOW_DIALECTS for t in graph[m]} - set(BELOW_DIALECTS)
    assert not reach, f"modules below the dialects import {sorted(reach)}"
    assert "agor_schema.ops" in graph["agor_schema.dialects.base"]  # the walk saw the edges
