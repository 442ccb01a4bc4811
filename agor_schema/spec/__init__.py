"""The schema DSL: loading, resolving per dialect, validating.

`schema_files` and `display_name` live here, free of PyYAML, so `agorschema check` can hash
the sources without importing the YAML stack.
"""

from __future__ import annotations

from pathlib import Path

SCHEMA_SUFFIXES = (".yaml", ".yml")
MAX_FILE_BYTES = 8 * 1024 * 1024  # a schema file is text a person writes


def schema_files(source: Path) -> list[Path]:
    """The YAML files of a schema: the file itself, or every *.yaml/*.yml in the folder, sorted."""
    if source.is_dir():
        return sorted(p for p in source.iterdir() if p.suffix in SCHEMA_SUFFIXES and p.is_file())
    return [source]


def display_name(path: Path, root: Path | None) -> str:
    """How errors and the cache name a schema file: relative to the project root if inside."""
    if root is not None:
        try:
            return str(path.resolve().relative_to(root.resolve()))
        except ValueError:
            pass
    return str(path)
