"""JSON API: accounts and tokens, local strategies and their approval, the inbox, national KPIs
counted from local records, and the model-region coverage. Access is decided in the services."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Query

from digiden.domain.errors import InvalidInput
from digiden.domain.quantities import INT64_MAX
from digiden.services.local import accounts, local_strategies
from digiden.services.national import local_facts
from digiden.shapes.accounts import PrincipalOut, TokenCreatedOut, TokenIn, TokenOut, UserIn, UserOut
from digiden.shapes.consult import InboxWithDeskOut
from digiden.shapes.errors import ErrorOut
from digiden.shapes.local import (
    ActionIn,
    ChangeOut,
    CoverageOut,
    LocalStrategyOut,
    MarkedOut,
    RevisionRefOut,
)
from digiden.shapes.national import ComputedKpiOut
from digiden.web.auth import Actor
from digiden.web.deps import Now, Uow
from digiden.web.edge import IdPath, RevisionPath, RevisionQuery

router = APIRouter(prefix="/api/v1")


@router.get("/me", tags=["accounts"], summary="Who the request is acting as")
def me(actor: Actor) -> PrincipalOut:
    return PrincipalOut.of(actor)


@router.get("/users", tags=["accounts"], summary="Accounts (national administrators)")
def users(uow: Uow, actor: Actor) -> list[UserOut]:
    return [u.shape() for u in accounts.list_users(uow, actor)]


@router.post("/users", tags=["accounts"], status_code=201, summary="Create an account")
def create_user(body: UserIn, uow: Uow, actor: Actor, now: Now) -> UserOut:
    return accounts.create_user(uow, actor, username=body.username, password=body.password, role=body.role,
                                display_name=body.display_name, org_unit=body.org_unit, ministry=body.ministry,
                                now=now).shape()


@router.post("/users/{username}/disable", tags=["accounts"], summary="Disable an account")
def disable_user(username: str, uow: Uow, actor: Actor, now: Now) -> UserOut:
    return accounts.set_disabled(uow, actor, username, disabled=True, now=now).shape()


@router.get("/tokens", tags=["accounts"], summary="API tokens (national administrators)")
def tokens(uow: Uow, actor: Actor) -> list[TokenOut]:
    return [t.shape() for t in accounts.list_tokens(uow, actor)]


@router.post("/tokens", tags=["accounts"], status_code=201,
             summary="Issue an API token; the secret is in the answer, once")
def create_token(body: TokenIn, uow: Uow, actor: Actor, now: Now) -> TokenCreatedOut:
    secret, view = accounts.create_token(uow, actor, username=body.username, name=body.name, scopes=body.scopes,
                                         days=body.days, now=now)
    return TokenCreatedOut(**dict(view.shape()), token=secret)


@router.post("/tokens/{token_id}/revoke", tags=["accounts"], summary="Revoke an API token")
def revoke_token(token_id: IdPath, uow: Uow, actor: Actor, now: Now) -> TokenOut:
    return accounts.revoke_token(uow, actor, token_id, now=now).shape()


# ---------------------------------------------------------------- local strategies


@router.get("/local-strategies", tags=["local strategies"],
            summary="The newest revision you may see of each local government's strategy")
def list_local(uow: Uow, actor: Actor, prefecture: str | None = None, status: str | None = None,
               q: Annotated[str, Query(max_length=50)] = "") -> list[RevisionRefOut]:
    return [r.shape() for r in local_strategies.list_revisions(uow, actor, prefecture=prefecture, status=status,
                                                                 q=q)]


@router.get("/local-strategies/{code}", tags=["local strategies"],
            summary="A local strategy (the newest visible revision, or ?revision=N)")
def get_local(code: str, uow: Uow, actor: Actor, revision: RevisionQuery | None = None) -> LocalStrategyOut:
    return local_strategies.get(uow, actor, code, revision).shape()


@router.put("/local-strategies/{code}", tags=["local strategies"],
            summary="Save the open revision (draft); send `version` to detect concurrent edits",
            responses={409: {"model": ErrorOut,
                             "description": "someone saved in between, or the revision is under review"}})
def save_local(code: str, uow: Uow, actor: Actor, now: Now,
               body: Annotated[dict[str, Any], Body()]) -> LocalStrategyOut:
    return local_strategies.save(uow, actor, code, body, now=now,
                                 expected_version=_version(body.get("version"))).shape()


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


@router.post("/local-strategies/{code}/revisions/{revision}/actions", tags=["local strategies"],
             summary="Submit, approve, accept, return or re-open a revision")
def act_local(code: str, revision: RevisionPath, body: ActionIn, uow: Uow, actor: Actor,
              now: Now) -> LocalStrategyOut:
    return local_strategies.act(uow, actor, code, revision, body.action, now=now, comment=body.comment,
                                expected_version=body.version).shape()


@router.get("/local-strategies/{code}/diff", tags=["local strategies"], summary="What changed between two revisions")
def diff_local(code: str, a: RevisionQuery, b: RevisionQuery, uow: Uow, actor: Actor) -> list[ChangeOut]:
    return [ChangeOut.model_validate(c) for c in local_strategies.diff_revisions(uow, actor, code, a, b)]


@router.get("/inbox", tags=["local strategies"],
            summary="What waits for you, your messages and the consultation desk's notices to you")
def get_inbox(uow: Uow, actor: Actor) -> InboxWithDeskOut:
    shape = local_strategies.inbox(uow, actor).shape()
    assert isinstance(shape, InboxWithDeskOut)
    return shape


def _ids(body: dict[str, Any], key: str) -> list[int] | None:
    v = body.get(key)
    if v is None:
        return None
    if not isinstance(v, list) or len(v) > 10_000 or not all(
            isinstance(x, int) and not isinstance(x, bool) and 0 < x <= INT64_MAX for x in v):
        raise InvalidInput(f"{key} is a list of ids", field=key,
                           message_ja=f"{key} には通知の番号を一覧で指定してください")
    return v


@router.post("/inbox/read", tags=["local strategies"],
             summary="Mark your messages read: all of them, or body `ids` (messages) and/or `desk_ids` "
                     "(the desk's notices)")
def read_inbox(uow: Uow, actor: Actor, now: Now,
               body: Annotated[dict[str, Any] | None, Body()] = None) -> MarkedOut:
    doc = body or {}
    return MarkedOut(marked=local_strategies.mark_read(uow, actor, now=now, ids=_ids(doc, "ids"),
                                                       desk_ids=_ids(doc, "desk_ids")))


@router.get("/kpis/{code}/local-facts", tags=["kpis"],
            summary="A national KPI counted live from accepted local strategies, with the list behind it")
def kpi_local_facts(code: str, uow: Uow) -> ComputedKpiOut:
    return local_facts.computed(uow, code).shape()


@router.get("/coverage", tags=["local strategies"],
            summary="Prefectures with and without a model of each model-region type")
def coverage(uow: Uow) -> list[CoverageOut]:
    return [r.shape() for r in local_facts.coverage(uow)]
