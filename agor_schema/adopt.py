"""Files of an adoption (`import`, `pull`): the schema YAML and the project's settings.

Nothing is written outside the project; an existing schema is replaced only with `force`; the
settings keep every other key of `[tool.agorschema]` (and the rest of pyproject.toml) as they
were, and are read back before the command reports success.
"""

from __future__ import annotations

import json
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


def _with_settings(text: str, lines: Mapping[str, str]) -> str:
    rows = text.splitlines()
    header = next((i for i, r in enumerate(rows) if r.strip() == "[tool.agorschema]"), None)
    if header is None:
        block = "\n".join(["[tool.agorschema]", *lines.values()]) + "\n"
        return (text.rstrip("\n") + "\n\n" + block) if text.strip() else block
    end = next((i for i in range(header + 1, len(rows)) if rows[i].lstrip().startswith("[")),
               len(rows))
    missing = dict(lines)
    for i in range(header + 1, end):
        key = rows[i].split("=", 1)[0].strip()
        if key in missing and "=" in rows[i]:
            rows[i] = missing.pop(key)
    rows[header + 1:header + 1] = list(missing.values())
    return "\n".join(rows) + "\n"
