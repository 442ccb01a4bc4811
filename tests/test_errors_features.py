"""Invalid use of generated columns, named keys, NULLS NOT DISTINCT, index options and
verbatim SQL: one located message (file:line:col, table, column/index, field, what is valid),
exit code 2, nothing written. Same driver as test_errors.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from test_errors import A, Case, assert_case_refused, column, users_plus

CASES: list[Case] = [
    # ----------------------------------------------------------------- NULLS NOT DISTINCT
    Case("nulls-not-distinct-on-sqlite",
         {"a.yaml": column("code: {type: text, unique: true, nulls_not_distinct: true}")},
         f"{A}:6:60",
         ("table 'users'", "column 'code'", "field 'nulls_not_distinct'", "does not exist in sqlite",
          "postgres: {nulls_not_distinct: true}", "not_null")),
    Case("nulls-not-distinct-needs-unique",
         {"a.yaml": column("code: {type: text, postgres: {nulls_not_distinct: true}}")},
         f"{A}:6:57", ("column 'code'", "needs 'unique: true'")),
    Case("unique-name-needs-unique", {"a.yaml": column("code: {type: text, unique_name: k}")},
         f"{A}:6:39", ("column 'code'", "field 'unique_name'", "needs 'unique: true'")),
    Case("nulls-not-distinct-index-with-expression", {"a.yaml": users_plus("""\
        |    indexes:
        |      users_x_uq: {expressions: ["lower(email)"], unique: true, only: postgres,
        |                   nulls_not_distinct: true}
        """)}, f"{A}:8:40",
         ("index 'users_x_uq'", "plain columns only", "unique constraints")),
    Case("unique-name-clashes-with-index", {"a.yaml": users_plus("""\
        |      code: {type: text, unique: true, unique_name: users_code_idx}
        |    indexes:
        |      users_code_idx: [code]
        """)}, f"{A}:8:7", ("index 'users_code_idx'", "already used")),
    # ----------------------------------------------------------------- index options
    Case("gin-method-on-sqlite", {"a.yaml": users_plus("""\
        |    indexes:
        |      users_email_gin: {columns: [email], method: gin}
        """)}, f"{A}:7:51",
         ("index 'users_email_gin'", "field 'method'", "does not exist in sqlite",
          "postgres: {...}", "only: postgres")),
    Case("method-not-an-identifier", {"a.yaml": users_plus("""\
        |    indexes:
        |      users_email_x: {columns: [email], method: "gin (email); DROP TABLE users; --"}
        """)}, f"{A}:7:49", ("index 'users_email_x'", "field 'method'", "access method name")),
    Case("opclass-not-a-name", {"a.yaml": users_plus("""\
        |    indexes:
        |      users_email_x:
        |        only: postgres
        |        parts: [{column: email, opclass: "text_ops) WITH (x"}]
        """)}, f"{A}:9:42", ("index 'users_email_x'", "operator class name")),
    Case("with-value-not-a-word", {"a.yaml": users_plus("""\
        |    indexes:
        |      users_email_x:
        |        only: postgres
        |        columns: [email]
        |        with: {fillfactor: "70); DROP TABLE users; --"}
        """)}, f"{A}:10:28", ("index 'users_email_x'", "field 'with'", "fillfactor",
                              "a number, true/false or a bare word")),
    Case("with-key-not-a-name", {"a.yaml": users_plus("""\
        |    indexes:
        |      users_email_x: {columns: [email], only: postgres, with: {"fill factor": 70}}
        """)}, f"{A}:7:64", ("index 'users_email_x'", "storage parameter", "fill factor")),
    Case("desc-on-expression-part", {"a.yaml": users_plus("""\
        |    indexes:
        |      users_email_x:
        |        only: postgres
        |        parts: [{expression: "lower(email)", desc: true}]
        """)}, f"{A}:9:52", ("index 'users_email_x'", "expression part", "column part")),
    Case("desc-on-sqlite", {"a.yaml": users_plus("""\
        |    indexes:
        |      users_email_x: {parts: [{column: email, desc: true}]}
        """)}, f"{A}:7:53", ("index 'users_email_x'", "'desc' does not exist in sqlite")),
    Case("part-with-column-and-expression", {"a.yaml": users_plus("""\
        |    indexes:
        |      users_email_x: {parts: [{column: email, expression: "lower(email)"}]}
        """)}, f"{A}:7:31", ("index 'users_email_x'", "either {column: name} or {expression")),
    Case("parts-and-columns", {"a.yaml": users_plus("""\
        |    indexes:
        |      users_email_x: {columns: [email], parts: [email]}
        """)}, f"{A}:7:22", ("index 'users_email_x'", "not both")),
    Case("part-names-missing-column", {"a.yaml": users_plus("""\
        |    indexes:
        |      users_email_x: {parts: [id, emial]}
        """)}, f"{A}:7:35", ("index 'users_email_x'", "column 'emial' does not exist",
                             "did you mean 'email'?")),
    # ----------------------------------------------------------------- generated columns
    Case("virtual-generated-on-postgres",
         {"a.yaml": column('twice: {type: integer, generated: {as: "id * 2", type: virtual}}')},
         f"{A}:6:62", ("column 'twice'", "field 'generated'", "does not exist in postgres",
                       "only: sqlite")),
    Case("generated-reads-generated", {"a.yaml": users_plus("""\
        |      twice: {type: integer, generated: "id * 2"}
        |      four:  {type: integer, generated: "twice * 2"}
        """)}, f"{A}:7:41", ("column 'four'", "reads 'twice'", "another generated column")),
    Case("generated-with-default",
         {"a.yaml": column('twice: {type: integer, generated: "id * 2", default: 1}')},
         f"{A}:6:41", ("column 'twice'", "cannot also have a default")),
    Case("generated-names-missing-column",
         {"a.yaml": column('twice: {type: integer, generated: "idd * 2"}')},
         f"{A}:6:41", ("column 'twice'", "field 'generated'", "names column 'idd'",
                       "did you mean 'id'?")),
    # ----------------------------------------------------------------- verbatim
    Case("verbatim-second-statement", {"a.yaml": users_plus("""\
        |    checks:
        |      users_x: {verbatim: "id > 0); DROP TABLE users; --"}
        """)}, f"{A}:7:27", ("table 'users'", "users_x", "verbatim", "exactly one expression")),
    Case("verbatim-subquery", {"a.yaml": users_plus("""\
        |    indexes:
        |      users_x_idx:
        |        columns: [email]
        |        where: {postgres: {verbatim: "id IN (SELECT 1)"}}
        """)}, f"{A}:9:27", ("index 'users_x_idx'", "field 'where'", "not one expression")),
    Case("verbatim-unknown-column", {"a.yaml": users_plus("""\
        |    checks:
        |      users_x: {sqlite: {verbatim: "emial <> ''"}, postgres: {verbatim: "true"}}
        """)}, f"{A}:7:36", ("table 'users'", "names column 'emial'", "did you mean 'email'?")),
    Case("verbatim-default-reads-nothing-else",
         {"a.yaml": column('n: {type: integer, default: {verbatim: "1 +"}}')},
         f"{A}:6:46", ("column 'n'", "field 'default'", "verbatim SQL: cannot parse")),
]


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_invalid_feature_input(case: Case, tmp_path: Path) -> None:
    assert_case_refused(case, tmp_path)
