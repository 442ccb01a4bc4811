"""The real drizzle-kit folders of ../shared/data (read in place; Dokploy's tarball is unpacked
once per session into a tmp dir). Tests skip cleanly when ../shared is absent."""

from __future__ import annotations

import tarfile
from pathlib import Path

SHARED = Path(__file__).resolve().parents[2] / "shared"
CORPUS = SHARED / "data" / "corpus"
AGOR = SHARED / "data" / "agor"
NAMES = (
    "homarr-labs__homarr__sqlite",
    "homarr-labs__homarr__postgresql",
    "richardr1126__openreader__sqlite",
    "dittofeed__dittofeed__postgresql",
    "usekaneo__kaneo__postgresql",
    "Dokploy__dokploy__postgresql",
)


def dialect_of(name: str) -> str:
    return "sqlite" if name.endswith("__sqlite") else "postgres"


def corpus_folder(name: str, scratch: Path) -> Path:
    """The migrations/ folder of one corpus; a tarball is unpacked below `scratch` once."""
    base = CORPUS / name
    if (base / "migrations").is_dir():
        return base / "migrations"
    target = scratch / name
    if not (target / "migrations" / "meta" / "_journal.json").is_file():
        target.mkdir(parents=True, exist_ok=True)
        with tarfile.open(base / "migrations.tar.xz") as archive:
            archive.extractall(target, filter="data")
    return target / "migrations"


def available() -> bool:
    return CORPUS.is_dir()
