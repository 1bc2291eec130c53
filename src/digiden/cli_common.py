"""What every `digiden` command shares: the root Typer app, the consoles, the runtime (session
factory, engine, clock, acting account), JSON output and the common argument types.

digiden.cli (the entry point, `digiden.cli:main`) and digiden.cli_knowledge both import this
module; neither imports the other back."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Annotated, Any

import typer
from rich.console import Console
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from digiden.domain.access import Principal, system
from digiden.services.uow import UnitOfWork

app = typer.Typer(pretty_exceptions_enable=False,
                  help="digiden — デジタル田園都市国家構想: the national strategy, its KPIs, their progress "
                       "and Japan's 1,788 local governments.\n\n"
                       "Each command's --help ends with examples; docs/cli.md collects every command's help.\n\n"
                       "Examples:\n\n"
                       "digiden db upgrade && digiden db init\n"
                       "digiden kpi list\n"
                       "digiden lg show 072028\n"
                       "digiden search \"子育て 相談\"\n"
                       "digiden --as demo-fukushima local inbox",
                  no_args_is_help=True, add_completion=False)

out = Console()
err = Console(stderr=True)


@dataclass
class Runtime:
    """What commands need: a session factory, an engine and the clock. Tests pass their own."""

    session_factory: sessionmaker[Session]
    engine: Engine
    clock: Callable[[], datetime]
    actor: str
    as_user: str | None = None

    def uow(self) -> UnitOfWork:
        return UnitOfWork(self.session_factory)

    def principal(self) -> Principal:
        """Who the command acts as: the account named by --as (DIGIDEN_USER), with exactly that
        account's rights; otherwise the server operator, a national administrator recorded as
        DIGIDEN_ACTOR."""
        if self.as_user:
            from digiden.services.local.accounts import user_principal
            return user_principal(self.uow(), self.as_user)
        return system(self.actor)

    @property
    def today(self) -> date:
        from digiden.domain.calendar import japan_date
        return japan_date(self.clock())


def runtime(ctx: typer.Context) -> Runtime:
    if isinstance(ctx.obj, Runtime):
        return ctx.obj
    from digiden.config import get_settings
    from digiden.store.db import make_engine, make_session_factory
    s = get_settings()
    engine = make_engine(s.url)
    ctx.obj = Runtime(make_session_factory(engine), engine, lambda: datetime.now(UTC),
                      s.actor, s.user)
    return ctx.obj


@app.callback()
def global_options(ctx: typer.Context, as_user: Annotated[str | None, typer.Option(
        "--as", help="Act as this account, with its role and local government (env DIGIDEN_USER). "
                     "Without it the command runs as the server operator (a national administrator).")] = None,
            ) -> None:
    if as_user:
        runtime(ctx).as_user = as_user


def emit_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2, default=str) + "\n")


JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]
LgArg = Annotated[str, typer.Argument(help="Local government code, 5 or 6 digits, e.g. 072028 (会津若松市).")]
