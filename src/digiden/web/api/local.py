"""JSON API: accounts and tokens, local strategies and their approval, the inbox, national KPIs
counted from local records, and the model-region coverage. Access is decided in the services."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Query
from pydantic import BaseModel, Field

from digiden.domain.access import Principal
from digiden.domain.errors import InvalidInput
from digiden.services.local import accounts, local_strategies
from digiden.services.national import local_facts
from digiden.web.auth import Actor
from digiden.web.deps import Now, Uow
from digiden.web.edge import INT64_MAX, ErrorOut, IdPath, RevisionPath, RevisionQuery

router = APIRouter(prefix="/api/v1")


def principal_dict(p: Principal) -> dict[str, Any]:
    return {"name": p.name, "role": p.role.value, "role_ja": p.role.label_ja, "org_unit": p.org_code,
            "prefecture_code": p.prefecture_code, "ministry": p.ministry, "scopes": sorted(p.scopes),
            "signed_in": p.signed_in}


@router.get("/me", tags=["accounts"], summary="Who the request is acting as")
def me(actor: Actor) -> dict[str, Any]:
    return principal_dict(actor)


class UserIn(BaseModel):
    username: str
    password: str = Field(min_length=1, max_length=256)
    role: str = Field(description="national_admin, ministry_editor, prefecture_staff, municipality_staff")
    display_name: str = ""
    org_unit: str = Field(default="", description="local government code (local staff)")
    ministry: str = Field(default="", description="ministry (ministry editors)")


@router.get("/users", tags=["accounts"], summary="Accounts (national administrators)")
def users(uow: Uow, actor: Actor) -> list[dict[str, Any]]:
    return [u.as_dict() for u in accounts.list_users(uow, actor)]


@router.post("/users", tags=["accounts"], status_code=201, summary="Create an account")
def create_user(body: UserIn, uow: Uow, actor: Actor, now: Now) -> dict[str, Any]:
    return accounts.create_user(uow, actor, username=body.username, password=body.password, role=body.role,
                                display_name=body.display_name, org_unit=body.org_unit, ministry=body.ministry,
                                now=now).as_dict()


@router.post("/users/{username}/disable", tags=["accounts"], summary="Disable an account")
def disable_user(username: str, uow: Uow, actor: Actor, now: Now) -> dict[str, Any]:
    return accounts.set_disabled(uow, actor, username, disabled=True, now=now).as_dict()


class TokenIn(BaseModel):
    username: str
    name: str = "token"
    scopes: str = Field(default="read", description="'read' or 'read write'")
    days: int | None = Field(default=None, ge=1, le=3650)


@router.get("/tokens", tags=["accounts"], summary="API tokens (national administrators)")
def tokens(uow: Uow, actor: Actor) -> list[dict[str, Any]]:
    return [t.as_dict() for t in accounts.list_tokens(uow, actor)]


@router.post("/tokens", tags=["accounts"], status_code=201,
             summary="Issue an API token; the secret is in the answer, once")
def create_token(body: TokenIn, uow: Uow, actor: Actor, now: Now) -> dict[str, Any]:
    secret, view = accounts.create_token(uow, actor, username=body.username, name=body.name, scopes=body.scopes,
                                         days=body.days, now=now)
    return view.as_dict() | {"token": secret}


@router.post("/tokens/{token_id}/revoke", tags=["accounts"], summary="Revoke an API token")
def revoke_token(token_id: IdPath, uow: Uow, actor: Actor, now: Now) -> dict[str, Any]:
    return accounts.revoke_token(uow, actor, token_id, now=now).as_dict()


# ---------------------------------------------------------------- local strategies


@router.get("/local-strategies", tags=["local strategies"],
            summary="The newest revision you may see of each local government's strategy")
def list_local(uow: Uow, actor: Actor, prefecture: str | None = None, status: str | None = None,
               q: Annotated[str, Query(max_length=50)] = "") -> list[dict[str, Any]]:
    return [r.as_dict() for r in local_strategies.list_revisions(uow, actor, prefecture=prefecture, status=status,
                                                                 q=q)]


@router.get("/local-strategies/{code}", tags=["local strategies"],
            summary="A local strategy (the newest visible revision, or ?revision=N)")
def get_local(code: str, uow: Uow, actor: Actor, revision: RevisionQuery | None = None) -> dict[str, Any]:
    return local_strategies.get(uow, actor, code, revision).as_dict()


@router.put("/local-strategies/{code}", tags=["local strategies"],
            summary="Save the open revision (draft); send `version` to detect concurrent edits",
            responses={409: {"model": ErrorOut,
                             "description": "someone saved in between, or the revision is under review"}})
def save_local(code: str, uow: Uow, actor: Actor, now: Now,
               body: Annotated[dict[str, Any], Body()]) -> dict[str, Any]:
    return local_strategies.save(uow, actor, code, body, now=now,
                                 expected_version=_version(body.get("version"))).as_dict()


def _version(value: object) -> int | None:
    """The version the editor loaded: absent (no check), or a whole number — also written as
    "3" or 3.0. Anything else is refused, never ignored: ignoring it would let a stale save
    overwrite a newer one."""
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    elif isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= INT64_MAX:
        raise InvalidInput("version must be a whole number (the version you loaded)",
                           message_ja="version には読み込んだ時の版数（整数）を指定してください", field="version")
    return value


class ActionIn(BaseModel):
    action: str = Field(description="submit, approve, accept, return, reopen")
    comment: str = Field(default="", max_length=4000)
    version: int | None = Field(default=None, ge=0, le=INT64_MAX)


@router.post("/local-strategies/{code}/revisions/{revision}/actions", tags=["local strategies"],
             summary="Submit, approve, accept, return or re-open a revision")
def act_local(code: str, revision: RevisionPath, body: ActionIn, uow: Uow, actor: Actor, now: Now) -> dict[str, Any]:
    return local_strategies.act(uow, actor, code, revision, body.action, now=now, comment=body.comment,
                                expected_version=body.version).as_dict()


@router.get("/local-strategies/{code}/diff", tags=["local strategies"], summary="What changed between two revisions")
def diff_local(code: str, a: RevisionQuery, b: RevisionQuery, uow: Uow, actor: Actor) -> list[dict[str, Any]]:
    return [c.as_dict() for c in local_strategies.diff_revisions(uow, actor, code, a, b)]


@router.get("/inbox", tags=["local strategies"], summary="What waits for you, and your messages")
def get_inbox(uow: Uow, actor: Actor) -> dict[str, Any]:
    return local_strategies.inbox(uow, actor).as_dict()


@router.post("/inbox/read", tags=["local strategies"], summary="Mark your messages read")
def read_inbox(uow: Uow, actor: Actor, now: Now) -> dict[str, int]:
    return {"marked": local_strategies.mark_read(uow, actor, now=now)}


@router.get("/kpis/{code}/local-facts", tags=["kpis"],
            summary="A national KPI counted live from accepted local strategies, with the list behind it")
def kpi_local_facts(code: str, uow: Uow) -> dict[str, Any]:
    return local_facts.computed(uow, code).as_dict()


@router.get("/coverage", tags=["local strategies"],
            summary="Prefectures with and without a model of each model-region type")
def coverage(uow: Uow) -> list[dict[str, Any]]:
    return [{"model_type": r.model_type, "name": r.name,
             "with": [{"prefecture_code": c, "prefecture": n, "places": list(p)} for c, n, p in r.with_model],
             "without": [{"prefecture_code": c, "prefecture": n} for c, n in r.without]}
            for r in local_facts.coverage(uow)]
