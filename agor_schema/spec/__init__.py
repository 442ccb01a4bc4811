"""The schema DSL: loading, resolving per dialect, validating.

`schema_files` lives here, free of PyYAML, so `agorschema check` can hash the sources
without importing the YAML stack.
"""

from __future__ import annotations

from pathlib import Path

SCHEMA_SUFFIXES = (".yaml", ".yml")


def schema_files(source: Path) -> list[Path]:
    """The YAML files of a schema: the file itself, or every *.yaml/*.yml in the folder, sorted."""
    if source.is_dir():
        return sorted(p for p in source.iterdir() if p.suffix in SCHEMA_SUFFIXES and p.is_file())
    return [source]
