"""Accounts, API tokens and the acting principal, as the API and the CLI show them."""

from __future__ import annotations

from pydantic import Field

from digiden.domain.access import Principal
from digiden.shapes.base import Shape


class PrincipalOut(Shape):
    """Who a request is acting as."""

    name: str
    role: str
    role_ja: str
    org_unit: str | None
    prefecture_code: str | None
    ministry: str | None
    scopes: list[str]
    signed_in: bool

    @classmethod
    def of(cls, p: Principal) -> PrincipalOut:
        return cls(name=p.name, role=p.role.value, role_ja=p.role.label_ja, org_unit=p.org_code,
                   prefecture_code=p.prefecture_code, ministry=p.ministry, scopes=sorted(p.scopes),
                   signed_in=p.signed_in)


class UserOut(Shape):
    username: str
    display_name: str
    role: str
    org_unit: str | None
    ministry: str | None
    disabled: bool
    locked_until: str | None
    created_at: str
    synthetic: bool


class UserIn(Shape):
    username: str
    password: str = Field(min_length=1, max_length=256)
    role: str = Field(description="national_admin, ministry_editor, prefecture_staff, municipality_staff")
    display_name: str = ""
    org_unit: str = Field(default="", description="local government code (local staff)")
    ministry: str = Field(default="", description="ministry (ministry editors)")


class TokenOut(Shape):
    """Never the secret: it is shown once, when the token is made."""

    id: int
    username: str
    name: str
    prefix: str
    scopes: str
    created_at: str
    expires_at: str | None
    revoked_at: str | None
    last_used_at: str | None


class TokenCreatedOut(TokenOut):
    token: str = Field(description="the secret; shown this once")


class TokenIn(Shape):
    username: str
    name: str = "token"
    scopes: str = Field(default="read", description="'read' or 'read write'")
    days: int | None = Field(default=None, ge=1, le=3650)
