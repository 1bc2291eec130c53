"""Accounts, sign-in sessions and API tokens.

Passwords are hashed with argon2id; sessions and tokens are random secrets of which only the
SHA-256 is stored, so a copy of the database lets nobody sign in. Five failed sign-ins in a row
lock an account for fifteen minutes. Every change is audited (sign-in failures included).
"""

from __future__ import annotations

import hashlib
import re
import secrets
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import or_, select, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from digiden.domain.access import (
    ALL_SCOPES,
    READ,
    Principal,
    Role,
    can_manage_accounts,
    require,
)
from digiden.domain.errors import Conflict, InvalidInput, NotFound, PermissionDenied, SignInRequired
from digiden.domain.text import bounded
from digiden.services import audit
from digiden.services.registry.localgov import resolve_org
from digiden.services.uow import UnitOfWork
from digiden.shapes.accounts import TokenOut, UserOut
from digiden.store.dataversion import unversioned
from digiden.store.db import as_utc
from digiden.store.models import ApiToken, OrgUnit, UserAccount, WebSession

if TYPE_CHECKING:
    from argon2 import PasswordHasher

MAX_FAILURES = 5
LOCK_FOR = timedelta(minutes=15)
SESSION_TTL = timedelta(hours=8)
MIN_PASSWORD = 10
MAX_PASSWORD = 256
TOKEN_PREFIX = "dgd_"
USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{2,63}$")

# argon2 is loaded, and its hasher made, on first use (a password set or checked), not at import:
# the web app and most commands start without it. The dummy hash that makes an unknown username
# cost as much as a wrong password (64 MiB and about 0.1-0.3 s of argon2) is computed once, at
# the first sign-in of an unknown username.
_hasher: PasswordHasher | None = None
_dummy_hash: str | None = None
_hasher_lock = threading.Lock()
_dummy_lock = threading.Lock()


def _password_hasher() -> PasswordHasher:
    """argon2id with the library's RFC 9106 "low memory" defaults, unless `use_hasher` chose."""
    global _hasher
    hasher = _hasher
    if hasher is None:
        from argon2 import PasswordHasher
        with _hasher_lock:
            hasher = _hasher
            if hasher is None:
                hasher = _hasher = PasswordHasher()
    return hasher


def _dummy() -> str:
    """A hash of a fixed password with the current hasher, made once."""
    global _dummy_hash
    with _dummy_lock:
        if _dummy_hash is None:
            _dummy_hash = _password_hasher().hash("digiden-timing-equaliser")
        return _dummy_hash


def _verify(password_hash: str, password: str) -> bool:
    """Whether the password matches; False for a wrong password and for a damaged hash."""
    from argon2.exceptions import InvalidHashError, VerificationError
    try:
        return bool(_password_hasher().verify(password_hash, password))
    except (VerificationError, InvalidHashError):
        return False


def use_hasher(hasher: PasswordHasher) -> None:
    """Swap the password hasher (the test suite uses cheaper parameters; hashes made with other
    parameters still verify, and are upgraded at the next sign-in)."""
    global _hasher, _dummy_hash
    with _dummy_lock, _hasher_lock:   # the order _dummy takes them in
        _hasher, _dummy_hash = hasher, None


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


class SignInFailed(SignInRequired):
    """One message for unknown user, wrong password, locked and disabled: it tells no one
    which usernames exist."""

    def __init__(self) -> None:
        super().__init__("sign-in failed", message_ja=(
            "ユーザー名またはパスワードが正しくないか、アカウントがロックまたは無効化されています。"
            "連続して失敗した場合は15分後に再度お試しください。"), field="password")


@dataclass(frozen=True)
class UserView:
    id: int
    username: str
    display_name: str
    role: Role
    org_code: str | None
    org_name: str | None
    ministry: str | None
    disabled: bool
    locked_until: datetime | None
    created_at: datetime
    last_login_at: datetime | None
    synthetic: bool

    @property
    def role_ja(self) -> str:
        return self.role.label_ja

    def shape(self) -> UserOut:
        return UserOut(username=self.username, display_name=self.display_name, role=self.role.value,
                       org_unit=self.org_code, ministry=self.ministry, disabled=self.disabled,
                       locked_until=_iso(self.locked_until), created_at=self.created_at.isoformat(),
                       synthetic=self.synthetic)


@dataclass(frozen=True)
class TokenView:
    id: int
    username: str
    name: str
    prefix: str
    scopes: str
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None

    def shape(self) -> TokenOut:
        """Never the secret: it is shown once, when the token is made."""
        return TokenOut(id=self.id, username=self.username, name=self.name, prefix=self.prefix,
                        scopes=self.scopes, created_at=self.created_at.isoformat(),
                        expires_at=_iso(self.expires_at), revoked_at=_iso(self.revoked_at),
                        last_used_at=_iso(self.last_used_at))


def _iso(t: datetime | None) -> str | None:
    return t.isoformat() if t else None


def principal_of(session: Session, user: UserAccount, scopes: frozenset[str] = ALL_SCOPES) -> Principal:
    org = session.get(OrgUnit, user.org_unit_id) if user.org_unit_id else None
    return Principal(Role(user.role), user.username, user_id=user.id,
                     org_unit_id=org.id if org else None, org_code=org.code if org else None,
                     prefecture_code=org.prefecture_code if org else None,
                     ministry=user.ministry, scopes=scopes, synthetic=user.synthetic)


def _view(session: Session, u: UserAccount) -> UserView:
    org = session.get(OrgUnit, u.org_unit_id) if u.org_unit_id else None
    return UserView(u.id, u.username, u.display_name, Role(u.role), org.code if org else None,
                    org.full_name if org else None, u.ministry, u.disabled_at is not None,
                    u.locked_until, u.created_at, u.last_login_at, u.synthetic)


def _require_admin(p: Principal) -> None:
    require(p, can_manage_accounts(p), message="only a national administrator manages accounts",
            message_ja="アカウントの管理は国の管理者だけが行えます",
            sign_in_ja="アカウントの管理にはサインインが必要です")


def check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise InvalidInput(f"password must have at least {MIN_PASSWORD} characters",
                           message_ja=f"パスワードは{MIN_PASSWORD}文字以上にしてください", field="password")
    if len(password) > MAX_PASSWORD:
        raise InvalidInput("password is too long", message_ja="パスワードが長すぎます", field="password")


def create_user(uow: UnitOfWork, actor: Principal, *, username: str, password: str, role: str,
                display_name: str = "", org_unit: str = "", ministry: str = "", now: datetime,
                synthetic: bool = False) -> UserView:
    _require_admin(actor)
    name = (username or "").strip().lower()
    if not USERNAME.match(name):
        raise InvalidInput("username: 3–64 of a–z 0–9 . _ -, starting with a letter or digit",
                           message_ja="ユーザー名は英小文字・数字・. _ - の3〜64文字にしてください",
                           field="username")
    check_password(password)
    r = Role.parse(role)
    if r is Role.PUBLIC:
        raise InvalidInput("the public has no accounts", message_ja="一般（未ログイン）のアカウントは作れません",
                           field="role")
    with uow:
        s = uow.session
        if s.scalars(select(UserAccount.id).where(UserAccount.username == name)).first() is not None:
            raise Conflict(f"username {name} is taken", message_ja=f"ユーザー名 {name} は既に使われています",
                           field="username")
        org_id = None
        if r in (Role.PREFECTURE, Role.MUNICIPALITY):
            org = resolve_org(s, org_unit)
            if (r is Role.PREFECTURE) != (org.kind == "prefecture") or org.code == "JP":
                raise InvalidInput(f"{r.label_ja} needs a {'prefecture' if r is Role.PREFECTURE else 'municipality'}",
                                   message_ja=(f"{r.label_ja}の所属は"
                                               f"{'都道府県' if r is Role.PREFECTURE else '市区町村'}にしてください"),
                                   field="org_unit")
            org_id = org.id
        elif org_unit:
            raise InvalidInput("only local staff belong to a local government",
                               message_ja="所属団体は都道府県・市区町村の職員にだけ指定できます", field="org_unit")
        m = bounded(ministry, 64, field="ministry", label_ja="府省名") or None
        if r is Role.MINISTRY_EDITOR and not m:
            raise InvalidInput("a ministry editor needs a ministry", message_ja="府省名を入力してください",
                               field="ministry")
        if r is not Role.MINISTRY_EDITOR:
            m = None
        shown = bounded(display_name or name, 100, field="display_name", label_ja="表示名")
        u = UserAccount(username=name, display_name=shown, role=r.value,
                        org_unit_id=org_id, ministry=m, password_hash=_password_hasher().hash(password),
                        created_at=now, synthetic=synthetic)
        s.add(u)
        s.flush()
        audit.record(s, actor=actor.name, action="create", entity="user", entity_key=name, at=now,
                     after={"role": r.value, "org_unit_id": org_id, "ministry": m}, org_unit_id=org_id,
                     summary=f"アカウント作成: {name}（{r.label_ja}）")
        view = _view(s, u)
        uow.commit()
        return view


def list_users(uow: UnitOfWork, actor: Principal) -> list[UserView]:
    _require_admin(actor)
    with uow:
        return [_view(uow.session, u) for u in uow.session.scalars(select(UserAccount).order_by(UserAccount.username))]


def _user(s: Session, username: str) -> UserAccount:
    u = s.scalars(select(UserAccount).where(UserAccount.username == (username or "").strip().lower())).one_or_none()
    if u is None:
        raise NotFound(f"no user {username}", message_ja=f"ユーザー {username} はいません", field="username")
    return u


def set_disabled(uow: UnitOfWork, actor: Principal, username: str, *, disabled: bool, now: datetime) -> UserView:
    """Disable (or re-enable) an account: its sessions end and its tokens stop working."""
    _require_admin(actor)
    with uow:
        s = uow.session
        u = _user(s, username)
        if disabled and u.disabled_at is None:
            _check_may_disable(s, actor, u)
        before = u.disabled_at is not None
        u.disabled_at = now if disabled else None
        if disabled:
            for ws in s.scalars(select(WebSession).where(WebSession.user_id == u.id, WebSession.ended_at.is_(None))):
                ws.ended_at = now
        else:
            u.failed_logins, u.locked_until = 0, None
        audit.record(s, actor=actor.name, action="disable" if disabled else "enable", entity="user",
                     entity_key=u.username, at=now, before={"disabled": before}, after={"disabled": disabled},
                     org_unit_id=u.org_unit_id,
                     summary=f"アカウント{'無効化' if disabled else '再有効化'}: {u.username}")
        view = _view(s, u)
        uow.commit()
        return view


def _check_may_disable(s: Session, actor: Principal, u: UserAccount) -> None:
    """Nobody disables their own account, and the last active national administrator stays:
    without one, no account could be managed from the web any more. The active administrators
    are locked (PostgreSQL ``FOR UPDATE``; SQLite's writer lock), so two administrators
    disabling each other at the same moment cannot both succeed."""
    if actor.name == u.username:
        raise Conflict("you cannot disable your own account",
                       message_ja="自分のアカウントは無効にできません。別の管理者に依頼してください", field="username")
    if u.role != Role.NATIONAL_ADMIN.value:
        return
    active = s.scalars(select(UserAccount.id).where(UserAccount.role == Role.NATIONAL_ADMIN.value,
                                                    UserAccount.disabled_at.is_(None))
                       .order_by(UserAccount.id).with_for_update()).all()
    if len(active) <= 1:
        raise Conflict("the last active national administrator cannot be disabled",
                       message_ja="有効な国の管理者が他にいないため、このアカウントは無効にできません。"
                                  "先に別の管理者アカウントを作成してください", field="username")


def sign_in(uow: UnitOfWork, username: str, password: str, *, now: datetime) -> tuple[str, str, Principal]:
    """Check the password and open a session: (cookie secret, CSRF token, principal).
    Failures are counted and audited even though the sign-in itself is refused.

    The password is checked outside any write transaction (argon2 is slow on purpose); the
    failure counter is then changed by one atomic ``UPDATE … SET failed_logins = failed_logins
    + 1``, so parallel wrong guesses all count and the account locks after five of them."""
    name = (username or "").strip().lower()[:64]
    with uow.for_reading() as r:
        u = r.session.scalars(select(UserAccount).where(UserAccount.username == name)).one_or_none()
        found = (u.id, u.password_hash) if u is not None else None
    if found is None:
        _verify(_dummy(), password or "x")
        raise SignInFailed()
    user_id, password_hash = found
    ok = bool(password) and len(password) <= MAX_PASSWORD and _verify(password_hash, password)
    with uow:
        s = uow.session
        if not ok:
            _count_failure(s, user_id, name, now)
            uow.commit()
            raise SignInFailed()
        u = s.get(UserAccount, user_id, with_for_update=True)
        if u is None or (u.locked_until is not None and as_utc(u.locked_until) > now) or u.disabled_at is not None:
            raise SignInFailed()
        u.failed_logins, u.locked_until, u.last_login_at = 0, None, now
        if _password_hasher().check_needs_rehash(u.password_hash):
            u.password_hash = _password_hasher().hash(password)
        secret, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        s.add(WebSession(token_hash=digest(secret), user_id=u.id, csrf_token=csrf, created_at=now,
                         expires_at=now + SESSION_TTL))
        audit.record(s, actor=name, action="sign_in", entity="user", entity_key=name, at=now,
                     org_unit_id=u.org_unit_id, summary=f"サインイン: {name}")
        p = principal_of(s, u)
        uow.commit()
        return secret, csrf, p


def _count_failure(s: Session, user_id: int, name: str, now: datetime) -> None:
    """One more failed sign-in, counted in the database row itself; the failure that reaches
    the limit (exactly one of any number of parallel ones) locks the account."""
    count = s.execute(update(UserAccount).where(UserAccount.id == user_id)
                      .values(failed_logins=UserAccount.failed_logins + 1)
                      .returning(UserAccount.failed_logins, UserAccount.org_unit_id)).one()
    failures, org_unit_id = int(count[0]), count[1]
    if failures >= MAX_FAILURES:
        locked = s.execute(update(UserAccount).where(UserAccount.id == user_id,
                                                     UserAccount.failed_logins >= MAX_FAILURES)
                           .values(locked_until=now + LOCK_FOR, failed_logins=0))
        if locked.rowcount:  # type: ignore[attr-defined]
            audit.record(s, actor=name, action="lock", entity="user", entity_key=name, at=now,
                         org_unit_id=org_unit_id, summary=f"{MAX_FAILURES}回連続のサインイン失敗でロック: {name}")
    audit.record(s, actor=name, action="sign_in_failed", entity="user", entity_key=name, at=now,
                 org_unit_id=org_unit_id, summary=f"サインイン失敗: {name}")


def session_principal(uow: UnitOfWork, secret: str, *, now: datetime) -> tuple[Principal, str] | None:
    """The principal and CSRF token of a live session, or None (unknown, tampered, expired,
    signed out, or the account disabled)."""
    if not secret or len(secret) > 200:
        return None
    with uow.for_reading() as r:
        s = r.session
        ws = s.scalars(select(WebSession).where(WebSession.token_hash == digest(secret))).one_or_none()
        if ws is None or ws.ended_at is not None or as_utc(ws.expires_at) <= now:
            return None
        u = s.get(UserAccount, ws.user_id)
        if u is None or u.disabled_at is not None:
            return None
        return principal_of(s, u), ws.csrf_token


def sign_out(uow: UnitOfWork, secret: str, *, now: datetime) -> None:
    with uow:
        s = uow.session
        ws = s.scalars(select(WebSession).where(WebSession.token_hash == digest(secret))).one_or_none()
        if ws is None or ws.ended_at is not None:
            return
        ws.ended_at = now
        u = s.get(UserAccount, ws.user_id)
        audit.record(s, actor=u.username if u else "?", action="sign_out", entity="user",
                     entity_key=u.username if u else "?", at=now, summary="サインアウト")
        uow.commit()


def parse_scopes(text: str) -> frozenset[str]:
    parts = frozenset(p for p in re.split(r"[\s,]+", (text or "read").strip().lower()) if p)
    unknown = parts - ALL_SCOPES
    if unknown or not parts:
        raise InvalidInput(f"scopes are read and/or write, not {', '.join(sorted(unknown))}",
                           message_ja="権限範囲は read または read write で指定してください", field="scopes")
    return parts | {READ}


def create_token(uow: UnitOfWork, actor: Principal, *, username: str, name: str, scopes: str = "read",
                 days: int | None = None, now: datetime) -> tuple[str, TokenView]:
    """A new API token for a user; the secret is returned once and never stored."""
    _require_admin(actor)
    sc = parse_scopes(scopes)
    if days is not None and not 1 <= days <= 3650:
        raise InvalidInput("days must be 1–3650", message_ja="有効日数は1〜3650日です", field="days")
    with uow:
        s = uow.session
        u = _user(s, username)
        secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
        label = bounded(name or "token", 100, field="name", label_ja="トークン名")
        t = ApiToken(user_id=u.id, name=label, prefix=secret[:10],
                     token_hash=digest(secret), scopes=" ".join(sorted(sc)), created_at=now,
                     expires_at=now + timedelta(days=days) if days else None)
        s.add(t)
        s.flush()
        audit.record(s, actor=actor.name, action="create", entity="api_token", entity_key=str(t.id), at=now,
                     after={"user": u.username, "name": t.name, "scopes": t.scopes}, org_unit_id=u.org_unit_id,
                     summary=f"APIトークン発行: {u.username}（{t.scopes}）")
        view = _token_view(t, u.username)
        uow.commit()
        return secret, view


def _token_view(t: ApiToken, username: str) -> TokenView:
    return TokenView(t.id, username, t.name, t.prefix, t.scopes, t.created_at, t.expires_at, t.revoked_at,
                     t.last_used_at)


def list_tokens(uow: UnitOfWork, actor: Principal) -> list[TokenView]:
    _require_admin(actor)
    with uow:
        rows = uow.session.execute(select(ApiToken, UserAccount.username).join(
            UserAccount, UserAccount.id == ApiToken.user_id).order_by(ApiToken.id))
        return [_token_view(t, n) for t, n in rows]


def revoke_token(uow: UnitOfWork, actor: Principal, token_id: int, *, now: datetime) -> TokenView:
    _require_admin(actor)
    with uow:
        s = uow.session
        t = s.get(ApiToken, token_id)
        if t is None:
            raise NotFound(f"no token {token_id}", message_ja=f"トークン {token_id} はありません", field="token")
        if t.revoked_at is None:
            t.revoked_at = now
            audit.record(s, actor=actor.name, action="revoke", entity="api_token", entity_key=str(t.id), at=now,
                         summary=f"APIトークン失効: {t.prefix}…")
        u = s.get(UserAccount, t.user_id)
        view = _token_view(t, u.username if u else "?")
        uow.commit()
        return view


#: How often a token's ``last_used_at`` is written: reads must not write on every request.
TOKEN_TOUCH_EVERY = timedelta(minutes=5)


def token_principal(uow: UnitOfWork, secret: str, *, now: datetime) -> Principal | None:
    """The principal behind a bearer token (with the token's scopes), or None.

    Reading a token does not write: ``last_used_at`` is brought up to date at most every
    ``TOKEN_TOUCH_EVERY``, in a short write of its own that gives way (rather than waiting) when
    another writer holds the database."""
    if not secret.startswith(TOKEN_PREFIX) or len(secret) > 200:
        return None
    with uow.for_reading() as r:
        s = r.session
        t = s.scalars(select(ApiToken).where(ApiToken.token_hash == digest(secret))).one_or_none()
        if t is None or t.revoked_at is not None or (t.expires_at is not None and as_utc(t.expires_at) <= now):
            return None
        u = s.get(UserAccount, t.user_id)
        if u is None or u.disabled_at is not None:
            return None
        p = principal_of(s, u, frozenset(t.scopes.split()))
        token_id = t.id
        stale = t.last_used_at is None or as_utc(t.last_used_at) <= now - TOKEN_TOUCH_EVERY
    if stale:
        _touch_token(uow, token_id, now)
    return p


def _touch_token(uow: UnitOfWork, token_id: int, now: datetime) -> None:
    try:
        with uow.for_writing(wait_seconds=0.2) as w:
            unversioned(w.session)     # a token's last use changes no figure anyone computes
            w.session.execute(update(ApiToken).where(
                ApiToken.id == token_id,
                or_(ApiToken.last_used_at.is_(None), ApiToken.last_used_at <= now - TOKEN_TOUCH_EVERY))
                .values(last_used_at=now))
            w.commit()
    except OperationalError:
        pass  # the database is busy with a writer: the next request will record the use


def user_principal(uow: UnitOfWork, username: str) -> Principal:
    """Act as a named user at the command line (``digiden --as USER``)."""
    with uow:
        u = _user(uow.session, username)
        if u.disabled_at is not None:
            raise PermissionDenied(f"user {u.username} is disabled", message_ja=f"ユーザー {u.username} は無効です")
        return principal_of(uow.session, u)
