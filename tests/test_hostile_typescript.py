"""Generated TypeScript with hostile names and comments: it loads in Node, names exactly the
tables and columns of the schema, and never runs smuggled code.

Each generated `schema.<dialect>.ts` is bundled with esbuild (the one drizzle-kit installs)
and required by Node; a script prints every exported table's SQL name and column names,
which must equal the schema's. Every payload tries to create a marker file: it must not
appear. drizzle-kit then reads the same files (`drizzle-kit generate`: "No schema changes").
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from hostile_helpers import cli, make_project
from test_drizzle_kit import drizzle_kit  # noqa: F401 (session fixture)

MARKER = "PWNED_MARKER"
PAYLOAD = f"require('fs').writeFileSync('{MARKER}', 'x')"

# name -> its columns; every name is valid SQL for both engines (quoted identifiers)
TABLES = {
    "it's": ["a'b", "back\\slash", "new\nline"],
    f"x'); {PAYLOAD}; ('": [f"c'); {PAYLOAD}; //", "tab\there"],
    "sql": ["id"],
    "pgTable": ["id"],
    "sqliteTable": ["id"],
    "table": ["id", "${dollar}"],
    "default": ["id"],
    "a-b": ["id"],
    "a_b": ["id", "line\u2028sep", "para\u2029sep"],
    "bytea": ["id", "*/ x /*"],
    "ünï": ["ëmoji🎉", "2col"],
}
COMMENTS = {
    "it's": f"*/ {PAYLOAD}; /*",
    "sql": f"line one\n*/ {PAYLOAD}; /* \u2028 */ {PAYLOAD}; /*",
    "a_b": "ends with a backslash \\",
}


def _yaml_string(text: str) -> str:
    # a JSON string is a YAML double-quoted scalar; YAML reads U+2028/9 as line breaks
    return json.dumps(text, ensure_ascii=False).replace("\u2028", "\\u2028").replace(
        "\u2029", "\\u2029")


def hostile_schema() -> str:
    lines = ["tables:"]
    for table, columns in TABLES.items():
        lines.append(f"  {_yaml_string(table)}:")
        if table in COMMENTS:
            lines.append(f"    comment: {_yaml_string(COMMENTS[table])}")
        lines.append("    columns:")
        for i, column in enumerate(columns):
            extra = ", primary_key: true" if i == 0 else ""
            lines.append(f"      {_yaml_string(column)}: {{type: text{extra}}}")
        lines.append("    indexes:")
        lines.append(f"      {_yaml_string(table + '_i' + chr(39))}: "
                     f"{{columns: [{_yaml_string(columns[0])}]}}")
    lines.append('  "child\'s":')
    lines.append("    columns:")
    lines.append('      id: {type: text, primary_key: true}')
    lines.append(f'      ref: {{type: text, references: "{_js_escape_yaml("it" + chr(39) + "s")}'
                 f'.{_js_escape_yaml("a" + chr(39) + "b")}"}}')
    return "\n".join(lines) + "\n"


def _js_escape_yaml(text: str) -> str:
    return _yaml_string(text)[1:-1]


LOADER = """
const schema = require(process.argv[2]);
const { getTableName, getTableColumns } = require('drizzle-orm');
const out = {};
for (const [key, value] of Object.entries(schema)) {
  out[getTableName(value)] = Object.values(getTableColumns(value)).map((c) => c.name);
}
console.log(JSON.stringify(out));
"""


@pytest.mark.parametrize("dialect", ["postgres", "sqlite"])
def test_hostile_names_load_in_node(dialect: str, drizzle_kit: Path,  # noqa: F811
                                    tmp_path: Path) -> None:
    root = make_project(tmp_path / "project", hostile_schema())
    code, out = cli("compile", root=root)
    assert code == 0, out
    work = drizzle_kit / "work" / f"hostile-{tmp_path.name}"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    shutil.copy(root / "generated" / f"schema.{dialect}.ts", work / "schema.ts")
    (work / "load.cjs").write_text(LOADER)
    bundle = subprocess.run(
        [str(drizzle_kit / "node_modules" / ".bin" / "esbuild"), "schema.ts", "--format=cjs",
         "--platform=node", "--outfile=schema.cjs", "--log-level=error"],
        cwd=work, capture_output=True, text=True, timeout=120)
    assert bundle.returncode == 0, bundle.stderr
    run = subprocess.run(["node", "load.cjs", str(work / "schema.cjs")], cwd=work,
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert not (work / MARKER).exists() and not (root / MARKER).exists()
    loaded = json.loads(run.stdout)
    expected = {table: columns for table, columns in TABLES.items()}
    expected["child's"] = ["id", "ref"]
    assert loaded == expected
    text = (work / "schema.ts").read_text(encoding="utf-8")
    assert f"*/ {PAYLOAD}" not in text  # the comment was not closed early
    assert "*\\/ " + PAYLOAD in text  # it is there, escaped


@pytest.mark.parametrize("dialect", ["postgresql", "sqlite"])
def test_drizzle_kit_reads_hostile_names_as_our_snapshot(dialect: str,
                                                          drizzle_kit: Path,  # noqa: F811
                                                          tmp_path: Path) -> None:
    """drizzle-kit loads the same files (its own loader) and sees exactly our latest
    snapshot: no change, nothing written, no marker."""
    folder = "sqlite" if dialect == "sqlite" else "postgres"
    work = drizzle_kit / "work" / f"hostile-kit-{tmp_path.name}"
    shutil.rmtree(work, ignore_errors=True)
    root = make_project(work, hostile_schema())
    code, out = cli("compile", root=root)
    assert code == 0, out
    listing = {p: p.read_bytes() for p in sorted((root / "drizzle" / folder).rglob("*"))
               if p.is_file()}
    done = subprocess.run(
        [str(drizzle_kit / "node_modules" / ".bin" / "drizzle-kit"), "generate", "--dialect",
         dialect, "--schema", f"./generated/schema.{folder}.ts", "--out", f"drizzle/{folder}"],
        cwd=root, capture_output=True, text=True, timeout=180)
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    assert "No schema changes" in output, output
    assert {p: p.read_bytes() for p in sorted((root / "drizzle" / folder).rglob("*"))
            if p.is_file()} == listing
    assert not (root / MARKER).exists() and not (work / MARKER).exists()
    shutil.rmtree(work, ignore_errors=True)
