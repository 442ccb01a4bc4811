"""`drizzle/agorschema.sum`: checksums of what compile wrote, and of the schema it read.

`check` uses it to tell a hand edit from a generated file, and to skip re-compiling when the
schema sources are byte-identical to the last compile (the fast path of the pre-commit hook).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from agor_schema.config import Config
from agor_schema.version import __version__

HEADER = "# agorschema checksums of files written by `agorschema compile`. Do not edit.\n"
CUSTOM = "custom"


@dataclass
class Manifest:
    source: str = ""  # hash of the schema sources and settings compile read
    files: dict[str, str] = field(default_factory=dict)  # relative path -> sha256 | "custom"

    def text(self) -> str:
        lines = [HEADER, f"source {self.source}\n"]
        lines += [f"{digest}  {path}\n" for path, digest in sorted(self.files.items())]
        return "".join(lines)


def manifest_path(cfg: Config) -> Path:
    return cfg.manifest_path


def read_manifest(cfg: Config) -> Manifest | None:
    path = manifest_path(cfg)
    if not path.is_file():
        return None
    manifest = Manifest()
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line or line.startswith("#"):
            continue
        if line.startswith("source "):
            manifest.source = line.split(" ", 1)[1].strip()
            continue
        digest, _, rel = line.partition("  ")
        manifest.files[rel] = digest
    return manifest


def output_settings(cfg: Config) -> bytes:
    """The settings that shape what compile writes or refuses, as bytes to hash: a change
    to one of them must make `check` compile again. Settings at their default add nothing,
    so a project's hash stays what earlier versions wrote."""
    from agor_schema.config import Config as _Defaults

    text = repr((cfg.dialects, _rel(cfg, cfg.generated), _rel(cfg, cfg.migrations)))
    if cfg.migration_folders:
        text += repr(sorted((d, _rel(cfg, p)) for d, p in cfg.migration_folders.items()))
    if cfg.migrations_table != _Defaults._field_defaults["migrations_table"]:
        text += repr(("migrations_table", cfg.migrations_table))  # compile refuses clashes
    return text.encode()


def source_hash(cfg: Config) -> str:
    """Hash of every schema file (name and bytes), the settings and the tool version."""
    from agor_schema.spec import schema_files  # not spec.loader: no PyYAML import

    h = hashlib.sha256(f"agorschema {__version__}\n".encode())
    h.update(output_settings(cfg))
    for path in schema_files(cfg.schema):
        h.update(f"\n{_rel(cfg, path)}\n".encode())
        h.update(path.read_bytes())
    return h.hexdigest()


def file_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def update_manifest(cfg: Config, result, manifest: Manifest | None = None) -> list[Path]:
    """Record generated files, new migrations and the source hash; keep earlier entries
    (of `manifest` when given: compile's, with removed migrations forgotten)."""
    manifest = manifest or read_manifest(cfg) or Manifest()
    manifest.source = getattr(result, "source", None) or source_hash(cfg)
    for path in result.files:
        manifest.files[_rel(cfg, path)] = file_digest(path)
    for out in result.outputs.values():
        if out.migration is None:
            continue
        earlier = [f for _state, f in getattr(out, "earlier", [])]
        for files in [*earlier, *out.migrations]:
            for path in files.paths(out.folder_state.folder):
                is_sql = path.suffix == ".sql"
                manifest.files[_rel(cfg, path)] = CUSTOM if files.custom and is_sql \
                    else file_digest(path)
        manifest.files[_rel(cfg, out.folder_state.folder / "meta" / "_journal.json")] = \
            file_digest(out.folder_state.folder / "meta" / "_journal.json")
    path = manifest_path(cfg)
    text = manifest.text()
    if path.is_file() and path.read_text(encoding="utf-8") == text:
        return []
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode("utf-8"))
    return [path]


def _rel(cfg: Config, path: Path) -> str:
    try:
        return path.resolve().relative_to(cfg.root.resolve()).as_posix()
    except ValueError:
        return path.as_posix()
