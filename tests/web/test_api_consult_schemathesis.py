"""Schemathesis over the 相談窓口 operations alone (issue 15), deeper than the whole-API run
(tests/hostile/test_schemathesis.py, which covers them too at its own depth): every generated
request answered without a server error and as documented, for the public, a national
administrator and municipality staff. SQLite only, on a database of this module's own."""

from __future__ import annotations

import os

import pytest
from hypothesis import given, settings

from tests.hostile.test_schemathesis import CHECKS, FUZZ, api_schema, app, fuzz_db, principals  # noqa: F401

pytestmark = pytest.mark.sqlite_only

EXAMPLES = int(os.environ.get("DIGIDEN_SCHEMATHESIS_EXAMPLES", "4")) * 3
CONSULT = ("/api/v1/consultations", "/api/v1/desk", "/api/v1/faq", "/api/v1/plans", "/api/v1/plan-goals",
           "/api/v1/plan-actions")


def run(op, headers: dict[str, str]):  # type: ignore[no-untyped-def]
    @given(case=op.as_strategy())
    @settings(FUZZ, max_examples=EXAMPLES)
    def one(case) -> None:  # type: ignore[no-untyped-def]
        case.call_and_validate(headers=headers, checks=CHECKS)
    return one


@pytest.mark.timeout(600)
@pytest.mark.parametrize("who", ["anonymous", "national_admin", "municipality_staff"])
def test_consult_api_contract_holds_for(api_schema, principals, who: str) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    failures, ran = [], 0
    for result in api_schema.get_all_operations():
        op = result.ok()
        if not op.path.startswith(CONSULT):
            continue
        ran += 1
        try:
            run(op, principals[who])()
        except (Exception, BaseExceptionGroup) as e:
            first = str(e).strip().splitlines()
            failures.append(f"{op.method.upper()} {op.path}: {' | '.join(first[:6])[:600]}")
    assert ran >= 30, f"only {ran} desk operations in the schema"
    assert not failures, "\n".join(failures)
