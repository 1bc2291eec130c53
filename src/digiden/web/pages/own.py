"""The signed-in staff's own local strategy: whether an edit button may be shown, with its words,
or why not. One rule for every page that offers the button (the strategy list, the
local-government page, the strategy page)."""

from __future__ import annotations

from dataclasses import dataclass

from digiden.domain import access
from digiden.domain.access import OrgRef, Principal, Role
from digiden.domain.errors import NotFound
from digiden.domain.local import Status
from digiden.services.local import local_strategies
from digiden.services.registry import localgov
from digiden.services.uow import UnitOfWork


@dataclass(frozen=True)
class OwnStrategy:
    """The signed-in staff's own local government on the list page: the edit button only when
    opening the form would not be refused, else what is happening and what to do next."""

    org_code: str
    org_name: str
    editable: bool
    action: str            # the button's words ("" when it cannot be edited now)
    note: str              # what the button does, or why there is none
    revision: int | None = None     # the newest revision it is about (None: no strategy yet)
    accepted: bool = False          # that revision is accepted: editing starts the next one


def own_strategy(uow: UnitOfWork, actor: Principal) -> OwnStrategy | None:
    """None for whoever has no strategy of their own to edit (the public, the nation, ministry
    editors, read-only tokens): they see no button at all. The rule is the one the form itself
    applies (``access.can_edit_local``; a revision under review cannot be edited, an accepted one
    starts the next revision)."""
    if actor.org_code is None or actor.org_unit_id is None or actor.role not in (Role.MUNICIPALITY, Role.PREFECTURE):
        return None
    org = OrgRef(actor.org_unit_id, actor.org_code, actor.prefecture_code or "", actor.role is Role.PREFECTURE)
    if not access.can_edit_local(actor, org):
        return None
    try:
        d = local_strategies.get(uow, actor, actor.org_code, None)
    except NotFound:
        name = localgov.get(uow, actor.org_code).unit.full_name
        return OwnStrategy(actor.org_code, name, True, "自団体の戦略を作成する",
                           "まだ地方版総合戦略が登録されていません。作成して保存すると下書きになります。")
    r = d.ref
    if r.status.editable:
        return OwnStrategy(r.org_code, r.org_name, True, "自団体の戦略を編集する",
                           f"第{r.revision}版（{r.status_ja}）を編集します。", r.revision)
    if r.status is Status.ACCEPTED:
        return OwnStrategy(r.org_code, r.org_name, True, "自団体の戦略を編集する",
                           f"第{r.revision}版は受理済みです。"
                           f"編集すると、それをもとに第{r.revision + 1}版の下書きを作ります。",
                           r.revision, accepted=True)
    return OwnStrategy(r.org_code, r.org_name, False, "", (
        f"第{r.revision}版は「{r.status_ja}」で審査中のため、今は編集できません。"
        "審査が終わる（受理される）か差し戻されると、また編集できます。"
        "急いで直す必要があるときは、審査している都道府県（または国）の担当者に差し戻しを依頼してください。"),
        r.revision)
