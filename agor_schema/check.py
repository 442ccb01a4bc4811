"""`check`: do schema, generated files, snapshots, journals and migration files agree?

No database is needed. When the schema sources hash to what the last compile recorded, the
schema is not recompiled (no pydantic, no sqlglot): only checksums and journals are read.
"""

from __future__ import annotations

from agor_schema.config import Config
from agor_schema.folder_check import (
    CheckResult,
    check_checksums,
    check_folder,
    forget_removed_migrations,
    migration_problems,
    rel_path,
)
from agor_schema.manifest import manifest_path, read_manifest, source_hash

__all__ = ["CheckResult", "check_project", "forget_removed_migrations", "migration_problems"]


def check_project(cfg: Config) -> CheckResult:
    """Every inconsistency, each as one actionable sentence (SchemaErrors on bad input)."""
    result = CheckResult()
    manifest = read_manifest(cfg)
    if manifest is None:
        result.problems.append(
            f"{rel_path(cfg, manifest_path(cfg))} is missing: run `agorschema compile` and commit")
        return result
    forgotten = forget_removed_migrations(cfg, manifest)
    edited = manifest.source != source_hash(cfg)
    if edited and not forgotten and _same_meaning(cfg, manifest):
        result.notes.append(_REFRESH_NOTE)
    elif edited or forgotten:
        result.recompiled = True
        result.notes.append(
            "the schema files differ from what the last compile recorded, so the schema was "
            "compiled again to compare (slower than the checksum-only check)")
        _check_schema_compiled(cfg, result)
    check_checksums(cfg, manifest, result)
    for dialect in cfg.dialects:
        check_folder(cfg, dialect, manifest, result)
    return result


def _check_schema_compiled(cfg: Config, result: CheckResult) -> None:
    from agor_schema.compiler import DestructiveChange, compile_project

    try:
        compiled = compile_project(cfg, write=False, allow_destructive=True)
    except DestructiveChange:  # pragma: no cover - allow_destructive=True
        return
    for dialect, out in compiled.outputs.items():
        if out.migration is not None:
            kinds = ", ".join(sorted({op.kind for op in out.operations}))
            result.problems.append(
                f"the schema changed since the last compile ({dialect}: {kinds}): "
                "run `agorschema compile` and commit the new migration")
    for path, text in compiled.files.items():
        if not path.is_file() or path.read_bytes() != text.encode("utf-8"):
            result.problems.append(
                f"{rel_path(cfg, path)} is stale: run `agorschema compile` (do not edit it by hand)")
    if not result.problems:
        result.notes.append(_REFRESH_NOTE)


_REFRESH_NOTE = ("schema sources changed without changing the schema; "
                 "`agorschema compile` refreshes the checksum")


def _same_meaning(cfg: Config, manifest) -> bool:
    """Only comments or layout changed since compile (known from the project cache)?"""
    from agor_schema.meaning import unchanged_since

    return unchanged_since(cfg, manifest.source)
