"""drizzle-orm TypeScript schemas generated from the spec (`generated/schema.<dialect>.ts`).

Apps that query with drizzle-orm get both dialects' table objects from the one YAML source,
and drizzle-kit sees the same state as our snapshots (so `drizzle-kit generate` on these
files reports no change). Builders differ per dialect: `Dialect.ts_column` and friends.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

from agor_schema.snapshot import Snapshot, Table
from agor_schema.spec.models import SchemaSpec, enum_labels
from agor_schema.ts_literals import (
    custom_const,
    enum_const,
    schema_const,
    ts_identifier,
    ts_sql,
    ts_string,
)

_IDENTIFIER = re.compile(r"^[A-Za-z_$][A-Za-z0-9_$]*$")
# Words a table's `export const` may not be: JavaScript's reserved words and globals, the
# names the module imports or defines (sql, builders, the preamble's bytea) and the
# callback parameter `table` that extra-config closures use.
_JS_RESERVED = frozenset("""
    break case catch class const continue debugger default delete do else enum export extends
    false finally for function if import in instanceof new null return super switch this throw
    true try typeof var void while with yield let static implements interface package private
    protected public await arguments eval undefined NaN Infinity globalThis require module
    exports process __proto__ constructor prototype table sql bytea
    pgTable sqliteTable text varchar integer bigint real doublePrecision numeric boolean
    timestamp date jsonb uuid customType index uniqueIndex primaryKey foreignKey unique check
    blob smallint serial smallserial bigserial json pgEnum pgSchema
""".split())
_LINE_BREAKS = re.compile("\r\n|[\n\r\u2028\u2029\x85]")
_CONSTS: dict[str, str] = {}  # table name -> its export const, for the schema being rendered


MODULE_TEMPLATE = "drizzle_schema.ts.j2"
TABLE_TEMPLATE = "drizzle_table.ts.j2"  # one table's declaration, memoized per table


def _template(name: str = MODULE_TEMPLATE):
    from agor_schema import cache

    folder = cache.active().folder
    if folder is not None and (folder / "jinja2").is_symlink():
        folder = None  # a planted link: keep compiled code out of wherever it leads
    return _load_template(str(folder / "jinja2") if folder is not None else None, name)


@cache
def _load_template(bytecode_dir: str | None, name: str = MODULE_TEMPLATE):
    """The template; its compiled code is kept in `bytecode_dir` (keyed by the template
    source and jinja2/Python versions), so a warm process skips compiling it. Compiled code
    is code: a file there is loaded only when sealed by this user (agor_schema.sealed)."""
    import jinja2

    from agor_schema import sealed

    class SealedBytecodeCache(jinja2.BytecodeCache):
        def __init__(self, directory: str) -> None:
            self.directory = Path(directory)

        def _file(self, bucket) -> Path:
            return self.directory / f"__jinja2_{bucket.key}.cache"

        def load_bytecode(self, bucket) -> None:
            data = sealed.read("jinja2 bytecode", self._file(bucket))
            if data is None:  # missing, or not written by this user: compile again
                return
            try:
                bucket.bytecode_from_string(data)
            except Exception:  # our own file from another jinja2/Python: compile again
                bucket.reset()

        def dump_bytecode(self, bucket) -> None:
            try:
                self.directory.mkdir(parents=True, exist_ok=True)
                sealed.write("jinja2 bytecode", self._file(bucket), bucket.bytecode_to_string())
            except OSError:
                pass

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(Path(__file__).with_name("templates"))),
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=False,
        bytecode_cache=SealedBytecodeCache(bytecode_dir) if bytecode_dir else None,
    )
    return env.get_template(name)


def ts_doc(text: str) -> str:
    """Text for a /** ... */ comment: `*/` cannot close it early, each line is one line."""
    lines = _LINE_BREAKS.split(text.replace("*/", "*\\/"))
    return "\n * ".join(line.rstrip() for line in lines)


def ts_line_comment(text: str) -> str:
    """Text for a // comment: no line break can end it early."""
    return _LINE_BREAKS.sub(" ", text)


def ts_key(name: str) -> str:
    """An object-literal key for `name` (`__proto__` computed, so it is a real property)."""
    if name == "__proto__":
        return f"[{ts_string(name)}]"
    return name if _IDENTIFIER.match(name) else ts_string(name)


def type_consts(spec: SchemaSpec) -> set[str]:
    """The constants enum and custom type declarations take (tables keep clear of them)."""
    return ({enum_const(n) for n in spec.enums} | {custom_const(n) for n in spec.types}
            | {schema_const(e.schema_) for e in spec.enums.values() if e.schema_})


def table_const(name: str) -> str:
    """The `export const` of a table: unique in the module, never a reserved or imported
    name (see `_table_consts`)."""
    found = _CONSTS.get(name)
    return found if found is not None else _safe_const(name)


def _safe_const(name: str) -> str:
    const = ts_identifier(name)
    return f"{const}Table" if const in _JS_RESERVED else const


def _table_consts(names: list[str], reserved: set[str] | None = None) -> dict[str, str]:
    """One distinct, safe const per table, in table order (a later clash gets a suffix);
    `reserved` holds the consts of enum and custom type declarations."""
    taken: set[str] = set(reserved or ())
    out = {}
    for name in names:
        const, n = _safe_const(name), 2
        base = const
        while const in taken or const in _JS_RESERVED:
            const, n = f"{base}{n}", n + 1
        taken.add(const)
        out[name] = const
    return out


def typescript_schema(spec: SchemaSpec, snapshot: Snapshot, dialect, source: str,
                      raw: dict | None = None) -> str:
    """The drizzle-orm schema module for one dialect. `raw`, the schema's data as read from
    the YAML files, lets each table's part be taken from the project cache (`_tables`)."""
    _CONSTS.clear()
    _CONSTS.update(_table_consts(list(snapshot.tables), type_consts(spec)))
    try:
        return _typescript_schema(spec, snapshot, dialect, source, raw)
    finally:
        _CONSTS.clear()


def _tables(spec: SchemaSpec, snapshot: Snapshot, dialect, raw: dict | None
            ) -> list[tuple[dict, str, tuple[str, ...]]]:
    """Every table's `_table_part`. With `raw`, memoized in the
    project cache by what determines them: the dialect, the table's YAML data, that of the
    tables its foreign keys name and every top-level setting (pickled, so types and order
    count), and the consts of those tables. A compile that changes one table renders that
    table only."""
    from agor_schema.spec import TableKeys

    if not TableKeys.usable(raw):
        return [_table_part(spec, snapshot.tables[name], dialect) for name in snapshot.tables]
    from agor_schema import cache

    store = cache.active()
    keys = TableKeys(raw, dialect.name)
    out = []
    for name, table in snapshot.tables.items():
        related = {fk.table_to for fk in table.foreign_keys.values()}
        key = keys.key(name, related, *(table_const(n) for n in sorted({name, *related})))
        out.append(store.memo(f"tstable{key[0] >> 5:x}", key,  # 8 files: few rewritten
                              lambda t=table: _table_part(spec, t, dialect)))
    return out


def _typescript_schema(spec: SchemaSpec, snapshot: Snapshot, dialect, source: str,
                       raw: dict | None = None) -> str:
    parts = _tables(spec, snapshot, dialect, raw)
    tables = [context for context, _text, _called in parts]
    builders = " ".join(c["builder"] for t in tables for c in t["columns"]) + " " + \
        " ".join(e for t in tables for e in t["extras"])
    declarations = dialect.ts_declarations(spec, snapshot)
    preamble = "".join(line + "\n" for line in declarations) + dialect.ts_preamble(builders)
    called = set(_called(preamble)).union(*(names for _c, _t, names in parts))
    imports = [name for name in dialect.ts_imports() if name in called]
    imports.insert(0, dialect.ts_table_fn)
    return _template().render(
        source=ts_line_comment(source), dialect=dialect.name, folder=dialect.name, module=dialect.ts_module,
        imports=sorted(set(imports), key=imports.index), preamble=preamble,
        tables="\n".join(text for _context, text, _called in parts),
    )


def _table_part(spec: SchemaSpec, table: Table, dialect) -> tuple[dict, str, tuple[str, ...]]:
    """A table's template context, its rendered `export const` declaration and the functions
    its builders call (they decide the module's imports)."""
    context = _table_context(spec, table, dialect)
    text = _template(TABLE_TEMPLATE).render(table=context, table_fn=dialect.ts_table_fn)
    code = " ".join(c["builder"] for c in context["columns"]) + " " + " ".join(context["extras"])
    return context, text, _called(code)


_CALL = re.compile(r"\b([A-Za-z_]\w*)[(<]")


def _called(code: str) -> tuple[str, ...]:
    """Names called (or instantiated with type arguments) in TypeScript code, sorted."""
    return tuple(sorted(set(_CALL.findall(code))))


def _table_context(spec: SchemaSpec, table: Table, dialect) -> dict:
    table_spec = spec.tables[table.name]
    columns = []
    single_fks = {fk.columns_from[0]: fk for fk in table.foreign_keys.values()
                  if len(fk.columns_from) == 1 and fk.name == _default_fk_name(fk)}
    for column in table.columns.values():
        column_spec = table_spec.columns[column.name]
        builder = dialect.ts_column(column, column_spec.logical_type,
                                    enum_labels(column_spec, spec))
        if _plain_column_unique(column_spec):
            builder += ".unique()"
        fk = single_fks.get(column.name)
        if fk is not None:
            builder += _ts_references(fk)
        columns.append({"key": ts_key(column.name), "builder": builder})
    column_uniques = {name for name, c in table_spec.columns.items() if _plain_column_unique(c)}
    extras = common_extras(table, set(single_fks), column_uniques,
                           unique_in_indexes=dialect.uniques_are_indexes)
    comment = ts_doc(table_spec.comment) if table_spec.comment else None
    return {"name": ts_string(table.name), "const": table_const(table.name), "comment": comment,
            "columns": columns, "extras": extras}


def _plain_column_unique(column_spec) -> bool:
    """`.unique()` on the column builder: drizzle's derived name, NULLs distinct (other
    uniques are written as table-level `unique(name)` entries)."""
    return column_spec.unique and column_spec.unique_name is None \
        and not column_spec.nulls_not_distinct


def _default_fk_name(fk) -> str:
    return f"{fk.table_from}_{'_'.join(fk.columns_from)}_{fk.table_to}_{'_'.join(fk.columns_to)}_fk"


def _ts_references(fk) -> str:
    actions = []
    if fk.on_delete != "no action":
        actions.append(f"onDelete: {ts_string(fk.on_delete)}")
    if fk.on_update != "no action":
        actions.append(f"onUpdate: {ts_string(fk.on_update)}")
    options = f", {{ {', '.join(actions)} }}" if actions else ""
    column = fk.columns_to[0]
    target = (f"{table_const(fk.table_to)}.{column}" if _plain(column)
              else f"{table_const(fk.table_to)}[{ts_string(column)}]")
    return f".references(() => {target}{options})"


def index_builder(index, table_var: str = "table") -> str:
    """index('n').on(...).where(sql`...`) — the same in both dialects; PostgreSQL options
    as drizzle spells them: .using(method, ...), .op(), .desc(), .nullsFirst(), .with()."""
    fn = "uniqueIndex" if index.unique else "index"
    parts = []
    for part in index.columns:
        if part.is_expression:
            parts.append(ts_sql(part.expression))
            continue
        if _plain(part.expression):
            text = f"{table_var}.{part.expression}"
        else:
            text = f"{table_var}[{ts_string(part.expression)}]"
        if part.opclass:
            text += f".op({ts_string(part.opclass)})"
        if not part.asc:
            text += ".desc()"
        if part.nulls != "last":
            text += ".nullsFirst()"
        parts.append(text)
    if index.method != "btree":
        text = f"{fn}({ts_string(index.name)}).using({ts_string(index.method)}, {', '.join(parts)})"
    else:
        text = f"{fn}({ts_string(index.name)}).on({', '.join(parts)})"
    if index.with_:
        items = ", ".join(f"{ts_key(k)}: {_ts_value(v)}" for k, v in index.with_.items())
        text += f".with({{ {items} }})"
    if index.where:
        text += f".where({ts_sql(index.where)})"
    return text


def _ts_value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    return ts_string(str(value))


def column_refs(columns: list[str], table_var: str) -> str:
    return ", ".join(f"{table_var}.{c}" if _plain(c) else f"{table_var}[{ts_string(c)}]"
                     for c in columns)


def _plain(name: str) -> bool:
    """True when `table.<name>` reads the column (an identifier, not `__proto__`)."""
    return bool(_IDENTIFIER.match(name)) and name != "__proto__"


def common_extras(table: Table, inline_fks: set[str], column_uniques: set[str], *,
                  unique_in_indexes: bool) -> list[str]:
    """Composite keys, foreign keys, checks and indexes as drizzle extra-config entries."""
    extras = []
    for pk in table.primary_keys.values():
        extras.append(f"primaryKey({{ name: {ts_string(pk.name)}, columns: "
                      f"[{column_refs(pk.columns, 'table')}] }})")
    for fk in table.foreign_keys.values():
        if len(fk.columns_from) == 1 and fk.columns_from[0] in inline_fks:
            continue
        text = (f"foreignKey({{ name: {ts_string(fk.name)}, columns: "
                f"[{column_refs(fk.columns_from, 'table')}], foreignColumns: "
                f"[{column_refs(fk.columns_to, table_const(fk.table_to))}] }})")
        if fk.on_delete != "no action":
            text += f".onDelete({ts_string(fk.on_delete)})"
        if fk.on_update != "no action":
            text += f".onUpdate({ts_string(fk.on_update)})"
        extras.append(text)
    for u in table.uniques.values():
        if len(u.columns) == 1 and u.columns[0] in column_uniques \
                and u.name == f"{table.name}_{u.columns[0]}_unique":
            continue  # written as .unique() on the column
        text = f"unique({ts_string(u.name)}).on({column_refs(u.columns, 'table')})"
        extras.append(text + (".nullsNotDistinct()" if u.nulls_not_distinct else ""))
    for index in table.indexes.values():
        if unique_in_indexes and _is_unique_constraint(table, index):
            cols = [c.expression for c in index.columns]
            if not (len(cols) == 1 and cols[0] in column_uniques):
                extras.append(f"unique({ts_string(index.name)}).on({column_refs(cols, 'table')})")
            continue
        extras.append(index_builder(index))
    for check in table.checks.values():
        extras.append(f"check({ts_string(check.name)}, {ts_sql(check.value)})")
    return extras


def _is_unique_constraint(table: Table, index) -> bool:
    """SQLite keeps `.unique()` / `unique()` as <table>_<cols>_unique indexes."""
    cols = [c.expression for c in index.columns]
    return index.unique and not index.where and index.name == f"{table.name}_{'_'.join(cols)}_unique"
