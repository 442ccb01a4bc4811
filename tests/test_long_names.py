"""PostgreSQL keeps 63 bytes of a name: compile warns about longer derived names (authored ones
are refused by validation), and reading the database back (verify's parity between the
replayed databases) compares the cut names."""

from __future__ import annotations

from pathlib import Path

from catalog import Project

from agor_schema.dialects import get_dialect
from agor_schema.verify import verify_project

LONG = "tenant_memberships_of_the_workspace"
SCHEMA = {
    "users": {"columns": {"user_id": {"type": "varchar(36)", "primary_key": True}}},
    LONG: {
        "columns": {"the_membership_row_identifier_column": {"type": "integer",
                                                             "primary_key": True,
                                                             "autoincrement": True},
                    "owner_user_identifier_column": {"type": "varchar(36)",
                                                     "references": "users.user_id"},
                    "secondary_reference_identifier_value": {"type": "text", "unique": True}},
    },
}


def test_stored_name_cuts_on_a_character_boundary() -> None:
    pg = get_dialect("postgres")
    assert pg.stored_name("x" * 70) == "x" * 63
    assert pg.stored_name("é" * 40) == "é" * 31  # 2 bytes each: 62 bytes, never half of one
    assert get_dialect("sqlite").stored_name("x" * 70) == "x" * 70


def test_compile_warns_about_names_postgres_cuts(tmp_path: Path) -> None:
    project = Project(tmp_path / "p")
    project.write(SCHEMA)
    result = project.compile()
    long_fk = f"{LONG}_owner_user_identifier_column_users_user_id_fk"
    warned = [f for f in result.findings if "keeps the first 63" in f.message]
    assert {f.dialect for f in warned} == {"postgres"}
    assert any(long_fk in f.message and long_fk.encode()[:63].decode() in f.message
               for f in warned)
    assert any(f"{LONG}_secondary_reference_identifier_value_unique" in f.message for f in warned)
    assert any(f.message.startswith("identity sequence name") for f in warned)


def test_verify_parity_reads_cut_names_back(tmp_path: Path, pg_admin_url: str | None) -> None:
    if pg_admin_url is None:
        import pytest
        pytest.skip("no PostgreSQL")
    project = Project(tmp_path / "p")
    project.write(SCHEMA)
    project.compile()
    result = verify_project(project.config, {"postgres": pg_admin_url})
    assert result.parity_checked == ["spec", "databases"]
    assert result.ok, [str(m) for m in result.mismatches]
