"""Who did something, as the public may read it: the organisation a login works for, never
the login itself (nor the command line's operator name)."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select

from digiden.domain.access import Role
from digiden.domain.labels import MINISTRY_ACTOR_JA, NATION_ACTOR_JA, SYSTEM_ACTOR_JA, UNKNOWN_ACTOR_JA
from digiden.services.uow import UnitOfWork
from digiden.store.models import OrgUnit, UserAccount


def public_actor_labels(uow: UnitOfWork, names: Iterable[str]) -> dict[str, str]:
    """For each recorded actor name, what an anonymous reader is shown: the local government
    of its staff, the ministry of its editors, the Digital Agency for national administrators;
    a name with no account (the CLI's operator, a loader) is the system's administrator."""
    wanted = {n for n in names if n}
    if not wanted:
        return {}
    out = dict.fromkeys(wanted, SYSTEM_ACTOR_JA)
    with uow:
        rows = uow.session.execute(
            select(UserAccount.username, UserAccount.role, UserAccount.ministry, OrgUnit.full_name)
            .outerjoin(OrgUnit, OrgUnit.id == UserAccount.org_unit_id)
            .where(UserAccount.username.in_(sorted(wanted))))
        for username, role, ministry, org_name in rows:
            if role == Role.NATIONAL_ADMIN.value:
                label = NATION_ACTOR_JA
            elif role == Role.MINISTRY_EDITOR.value:
                label = ministry or MINISTRY_ACTOR_JA
            else:
                label = org_name or UNKNOWN_ACTOR_JA
            out[username] = label
    return out
