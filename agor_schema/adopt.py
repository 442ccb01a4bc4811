"""Files of an adoption (`import`, `pull`): the schema YAML and the project's settings.

Nothing is written outside the project; an existing schema is replaced only with `force`; the
settings keep every other key of `[tool.agorschema]` (and the rest of pyproject.toml) as they
were, and are read back before the command reports success.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path

from agor_schema.config import ConfigError


class Refused(Exception):
    """Writing would overwrite something the user has (exit code 1, nothing written)."""


def schema_target(out: Path) -> Path:
    """The YAML file to write: `out` itself when it names a .yaml/.yml file, else
    `<out>/schema.yaml` (the schema setting may name a folder of files)."""
    return out if out.suffix in (".yaml", ".yml") else out / "schema.yaml"


def inside(root: Path, path: Path, what: str) -> Path:
    """`path` (absolute) if it lies inside the project `root`, else ConfigError."""
    resolved, base = path.resolve(), root.resolve()
    if resolved != base and base not in resolved.parents:
        raise ConfigError(f"{what} {path} is outside the project {root}; run the command from "
                          "the project (or pass --project) so settings can point at it")
    return resolved


def check_writable(root: Path, out: Path, force: bool) -> None:
    """Refuse to replace an existing schema unless `force`; never merge into other files;
    never write through a symlink that leaves the project (`out` itself is inside)."""
    target = schema_target(out)
    resolved = target.resolve()
    if root.resolve() not in resolved.parents:
        raise ConfigError(f"{target} resolves to {resolved}, outside the project {root} (a "
                          "symlink?): agorschema writes only inside the project", target)
    if out.suffix not in (".yaml", ".yml") and out.is_dir():
        others = sorted(p.name for p in out.iterdir()
                        if p.suffix in (".yaml", ".yml") and p != target)
        if others:
            raise Refused(f"{out} already holds schema files ({', '.join(others)}); they would "
                          "be merged with the imported schema: choose another --out")
    if target.exists() and not force:
        raise Refused(f"{target} exists: pass --force to overwrite it, or choose --out")


def write_schema(out: Path, text: str) -> Path:
    from agor_schema.writes import write_file

    target = schema_target(out)
    write_file(target, text.encode("utf-8"))
    return target


def adopt_files(root: Path, out: Path, text: str, settings: Mapping[str, str] | None
                ) -> list[Path]:
    """Write the schema and (for import) the settings, all or nothing (agor_schema.writes):
    if a write fails or the settings do not load, every file is put back as it was."""
    from agor_schema.writes import all_or_nothing

    targets = [schema_target(out)] + ([root / "pyproject.toml"] if settings is not None else [])
    with all_or_nothing(root, targets):
        written = [write_schema(out, text)]
        if settings is not None:
            written.append(write_settings(root, settings))
    return written


def _toml_string(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)  # a TOML basic string is JSON-compatible


def settings_lines(root: Path, schema: Path, folders: Mapping[str, Path]) -> dict[str, str]:
    """`key = value` lines for [tool.agorschema]."""
    rel = lambda p: p.resolve().relative_to(root.resolve()).as_posix()  # noqa: E731
    table = ", ".join(f"{d} = {_toml_string(rel(p))}" for d, p in folders.items())
    return {
        "schema": f"schema = {_toml_string(rel(schema))}",
        "dialects": "dialects = [" + ", ".join(_toml_string(d) for d in folders) + "]",
        "migration_folders": f"migration_folders = {{{table}}}",
    }


def write_settings(root: Path, lines: Mapping[str, str]) -> Path:
    """Set these keys in pyproject.toml's [tool.agorschema] (created when missing); the file
    is restored if the result does not load."""
    from agor_schema.config import load_config
    from agor_schema.writes import all_or_nothing, replace_file

    path = root / "pyproject.toml"
    original = path.read_text(encoding="utf-8") if path.is_file() else None
    with all_or_nothing(root, [path]):
        replace_file(path, _with_settings(original or "", lines).encode("utf-8"))
        load_config(root)
    return path


_HEADER = re.compile(r"\s*\[\s*tool\s*\.\s*agorschema\s*\]\s*(?:#.*)?")


def _with_settings(text: str, lines: Mapping[str, str]) -> str:
    """`text` with these keys set in its `[tool.agorschema]` table: a key's whole value is
    replaced (also one written over several lines, such as a formatter's multi-line array),
    every other line is kept as it was."""
    rows = text.splitlines()
    header = next((i for i, r in enumerate(rows) if _HEADER.fullmatch(r)), None)
    if header is None:
        _refuse_other_spellings(text, lines)
        block = "\n".join(["[tool.agorschema]", *lines.values()]) + "\n"
        return (text.rstrip("\n") + "\n\n" + block) if text.strip() else block
    missing = dict(lines)
    out, i = rows[:header + 1], header + 1
    while i < len(rows):
        if rows[i].lstrip().startswith("["):  # the next table
            break
        end, key = _key_value_at(rows, i)
        out.extend([missing.pop(key)] if key in missing else rows[i:end + 1])
        i = end + 1
    out[header + 1:header + 1] = list(missing.values())
    return "\n".join(out + rows[i:]) + "\n"


def _key_value_at(rows: list[str], i: int) -> tuple[int, str | None]:
    """The last line of the key/value pair starting at line `i` and its key (None for a
    comment, a blank line or a dotted key): the shortest run of lines TOML reads whole."""
    from agor_schema.config import _tomllib

    tomllib = _tomllib()
    if not rows[i].strip() or rows[i].lstrip().startswith("#"):
        return i, None
    for end in range(i, len(rows)):
        try:
            pair = tomllib.loads("\n".join(rows[i:end + 1]))
        except tomllib.TOMLDecodeError:
            continue
        key = rows[i].split("=", 1)[0].strip().strip("\"'")
        return end, key if key in pair else None  # `a.b = 1` reads as {"a": ...}: None
    return i, None


def _refuse_other_spellings(text: str, lines: Mapping[str, str]) -> None:
    """[tool.agorschema] written as an inline table or dotted keys cannot be edited line by
    line: say what to write instead of failing on a table declared twice."""
    from agor_schema.config import _tomllib

    try:
        tool = _tomllib().loads(text).get("tool", {})
    except ValueError:
        return  # load_config reports it
    if isinstance(tool, dict) and "agorschema" in tool:
        raise ConfigError(
            "pyproject.toml sets [tool.agorschema] as an inline table or dotted keys, which "
            "import does not rewrite: make it a `[tool.agorschema]` table, or add these "
            "settings yourself: " + "; ".join(lines.values()))
