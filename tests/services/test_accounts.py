"""Accounts, sign-in, lock-out, sessions and API tokens, on both databases."""

from __future__ import annotations

from datetime import timedelta

import pytest
from argon2 import PasswordHasher

from digiden.domain.access import Role, system
from digiden.domain.errors import Conflict, InvalidInput, NotFound, PermissionDenied, SignInRequired
from digiden.services.audit import history
from digiden.services.local import accounts as acc
from digiden.services.uow import UnitOfWork
from tests.conftest import FIXED_NOW as NOW
from tests.conftest import PASSWORD

ADMIN = system("root")


def test_production_hashes_are_argon2id_with_library_defaults() -> None:
    h = PasswordHasher().hash("x" * 12)
    assert h.startswith("$argon2id$") and "m=65536,t=3" in h


def test_create_sign_in_and_the_principal_knows_its_local_government(uow: UnitOfWork) -> None:
    u = acc.create_user(uow, ADMIN, username="Aizu.Staff", password=PASSWORD, role="municipality_staff",
                        org_unit="07202", now=NOW)   # 5-digit code, check digit added
    assert u.username == "aizu.staff" and u.org_code == "072028" and u.role is Role.MUNICIPALITY
    secret, csrf, p = acc.sign_in(uow, "aizu.staff", PASSWORD, now=NOW)
    assert p.org_code == "072028" and p.prefecture_code == "07" and len(csrf) > 20
    found = acc.session_principal(uow, secret, now=NOW + timedelta(hours=1))
    assert found is not None and found[0].name == "aizu.staff" and found[1] == csrf
    # expired, tampered, or signed out: anonymous
    assert acc.session_principal(uow, secret, now=NOW + acc.SESSION_TTL) is None
    assert acc.session_principal(uow, secret[:-1] + ("A" if secret[-1] != "A" else "B"), now=NOW) is None
    acc.sign_out(uow, secret, now=NOW)
    assert acc.session_principal(uow, secret, now=NOW) is None


@pytest.mark.parametrize(("kw", "field"), [
    ({"username": "x"}, "username"),
    ({"password": "short"}, "password"),
    ({"role": "king"}, "role"),
    ({"role": "municipality_staff", "org_unit": "070009"}, "org_unit"),   # a prefecture
    ({"role": "prefecture_staff", "org_unit": "072028"}, "org_unit"),     # a municipality
    ({"role": "ministry_editor"}, "ministry"),
    ({"display_name": "名" * 101}, "display_name"),
])
def test_bad_accounts_are_refused_naming_the_field(uow: UnitOfWork, kw: dict[str, str], field: str) -> None:
    args = {"username": "someone", "password": PASSWORD, "role": "national_admin"} | kw
    with pytest.raises(InvalidInput) as e:
        acc.create_user(uow, ADMIN, now=NOW, **args)
    assert e.value.field == field
    assert not [u for u in acc.list_users(uow, ADMIN) if u.username == "someone"]


def test_only_administrators_manage_accounts_and_names_are_unique(uow: UnitOfWork, accounts) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(PermissionDenied):
        acc.create_user(uow, accounts["aizu"], username="x-user", password=PASSWORD, role="national_admin", now=NOW)
    with pytest.raises(PermissionDenied):
        acc.create_token(uow, accounts["fukushima"], username="aizu", name="t", now=NOW)
    with pytest.raises(Conflict):
        acc.create_user(uow, ADMIN, username="aizu", password=PASSWORD, role="national_admin", now=NOW)


def test_five_failures_lock_the_account_for_fifteen_minutes_and_are_audited(uow: UnitOfWork, accounts) -> None:  # type: ignore[no-untyped-def]
    for i in range(acc.MAX_FAILURES):
        with pytest.raises(SignInRequired) as e:
            acc.sign_in(uow, "aizu", "wrong password", now=NOW + timedelta(seconds=i))
    assert "ロック" in e.value.message_ja
    with pytest.raises(SignInRequired):     # locked: even the right password fails
        acc.sign_in(uow, "aizu", PASSWORD, now=NOW + timedelta(minutes=14))
    assert acc.sign_in(uow, "aizu", PASSWORD, now=NOW + timedelta(minutes=16))[2].name == "aizu"
    actions = [e.action for e in history(uow, ADMIN, limit=50) if e.entity_key == "aizu"]
    assert actions.count("sign_in_failed") == acc.MAX_FAILURES and "lock" in actions and "sign_in" in actions


def test_unknown_users_get_the_same_answer_as_wrong_passwords(uow: UnitOfWork, accounts) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(SignInRequired) as a:
        acc.sign_in(uow, "nobody", PASSWORD, now=NOW)
    with pytest.raises(SignInRequired) as b:
        acc.sign_in(uow, "aizu", "wrong password", now=NOW)
    assert a.value.message_ja == b.value.message_ja


def test_disabling_ends_sessions_and_tokens(uow: UnitOfWork, accounts) -> None:  # type: ignore[no-untyped-def]
    secret, _, _ = acc.sign_in(uow, "aizu", PASSWORD, now=NOW)
    token, _ = acc.create_token(uow, ADMIN, username="aizu", name="script", scopes="read write", now=NOW)
    assert acc.token_principal(uow, token, now=NOW) is not None
    acc.set_disabled(uow, ADMIN, "aizu", disabled=True, now=NOW)
    assert acc.session_principal(uow, secret, now=NOW) is None
    assert acc.token_principal(uow, token, now=NOW) is None
    with pytest.raises(SignInRequired):
        acc.sign_in(uow, "aizu", PASSWORD, now=NOW)


def test_tokens_are_scoped_expire_and_can_be_revoked(uow: UnitOfWork, accounts) -> None:  # type: ignore[no-untyped-def]
    token, view = acc.create_token(uow, ADMIN, username="aizu", name="dashboard", scopes="read", days=30, now=NOW)
    assert token.startswith("dgd_") and view.prefix == token[:10]
    p = acc.token_principal(uow, token, now=NOW)
    assert p is not None and p.scopes == {"read"} and not p.can_write_at_all
    assert acc.token_principal(uow, token, now=NOW + timedelta(days=31)) is None
    with pytest.raises(InvalidInput):
        acc.create_token(uow, ADMIN, username="aizu", name="x", scopes="admin", now=NOW)
    acc.revoke_token(uow, ADMIN, view.id, now=NOW)
    assert acc.token_principal(uow, token, now=NOW) is None
    with pytest.raises(NotFound):
        acc.revoke_token(uow, ADMIN, 999_999, now=NOW)
    # only the hash is stored
    from sqlalchemy import select

    from digiden.store.models import ApiToken
    with uow:
        stored = uow.session.scalars(select(ApiToken.token_hash)).all()
    assert token not in stored and acc.digest(token) in stored


def test_nobody_disables_their_own_account_or_the_last_active_administrator(uow: UnitOfWork, accounts) -> None:  # type: ignore[no-untyped-def]
    admin = accounts["admin"]
    with pytest.raises(Conflict) as e:
        acc.set_disabled(uow, admin, "admin", disabled=True, now=NOW)
    assert "自分のアカウント" in e.value.message_ja
    # "admin" is the only national administrator: not even the operator may disable it
    with pytest.raises(Conflict) as e:
        acc.set_disabled(uow, ADMIN, "admin", disabled=True, now=NOW)
    assert "国の管理者" in e.value.message_ja
    assert acc.sign_in(uow, "admin", PASSWORD, now=NOW)[2].role is Role.NATIONAL_ADMIN   # still works
    acc.create_user(uow, ADMIN, username="admin2", password=PASSWORD, role="national_admin", now=NOW)
    assert acc.set_disabled(uow, admin, "admin2", disabled=True, now=NOW).disabled
    acc.set_disabled(uow, ADMIN, "admin2", disabled=False, now=NOW)
    assert acc.set_disabled(uow, ADMIN, "admin", disabled=True, now=NOW).disabled
    # other roles are never "the last administrator"
    assert acc.set_disabled(uow, ADMIN, "aizu", disabled=True, now=NOW).disabled


def test_reading_a_token_does_not_write_on_every_request(uow: UnitOfWork, accounts) -> None:  # type: ignore[no-untyped-def]
    secret, view = acc.create_token(uow, ADMIN, username="aizu", name="t", scopes="read", now=NOW)
    assert acc.token_principal(uow, secret, now=NOW) is not None
    first = next(t for t in acc.list_tokens(uow, ADMIN) if t.id == view.id).last_used_at
    assert first is not None
    later = NOW + timedelta(minutes=1)
    assert acc.token_principal(uow, secret, now=later) is not None
    assert next(t for t in acc.list_tokens(uow, ADMIN) if t.id == view.id).last_used_at == first   # throttled
    much_later = NOW + acc.TOKEN_TOUCH_EVERY + timedelta(seconds=1)
    assert acc.token_principal(uow, secret, now=much_later) is not None
    assert next(t for t in acc.list_tokens(uow, ADMIN) if t.id == view.id).last_used_at != first
