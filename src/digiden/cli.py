"""The `digiden` command line. Every command is a thin call into a service.

Each command imports its service inside the function, on purpose: `digiden --help` and a single
command load only what they use (all services at once would add about a second per call, and
argon2, openpyxl, fpdf, uvicorn and the web app stay unloaded). What commands share lives in
digiden.cli_common, which digiden.cli_knowledge imports too."""

from __future__ import annotations

import sys
from collections.abc import MutableMapping
from pathlib import Path
from typing import Annotated, Any

import typer
import typer.main
from rich.table import Table
from sqlalchemy import Engine
from typer.core import TyperGroup

from digiden.cli_common import JsonOpt, LgArg, app, emit_json, err, out, runtime
from digiden.cli_common import Runtime as Runtime  # re-exported: tests and embedders build one from digiden.cli
from digiden.domain.errors import Conflict, DigidenError, InvalidInput, NotFound, PermissionDenied, SignInRequired
from digiden.domain.quantities import INT64_MAX

db_app = typer.Typer(pretty_exceptions_enable=False, no_args_is_help=True,
                     help="Create and update the database.\n\n"
                          "Example:\n\n"
                          "digiden db upgrade && digiden db init")
kpi_app = typer.Typer(pretty_exceptions_enable=False, no_args_is_help=True,
                      help="KPIs of the national strategy, their targets and status.\n\n"
                           "Examples:\n\n"
                           "digiden kpi list\n"
                           "digiden kpi show 5g-population-coverage")
observe_app = typer.Typer(pretty_exceptions_enable=False, no_args_is_help=True,
                          help="Observed values of KPIs.\n\n"
                               "Examples:\n\n"
                               "digiden observe list --kpi smart-city-selections\n"
                               "digiden observe add --kpi smart-city-selections --as-of 2024-03 \\\n"
                               "    --value 60 --source \"国土交通省 発表\"")
lg_app = typer.Typer(pretty_exceptions_enable=False, no_args_is_help=True,
                     help="Local governments (地方公共団体).\n\n"
                          "Examples:\n\n"
                          "digiden lg search あいづ\n"
                          "digiden lg show 072028")
batch_app = typer.Typer(pretty_exceptions_enable=False, no_args_is_help=True,
                        help="Import batches: list, show, revert.\n\n"
                             "Examples:\n\n"
                             "digiden batch list\n"
                             "digiden batch show 1")
mapping_app = typer.Typer(pretty_exceptions_enable=False, no_args_is_help=True,
                          help="Saved column mappings for imports.\n\n"
                               "Example:\n\n"
                               "digiden mapping list")
app.add_typer(db_app, name="db")
app.add_typer(kpi_app, name="kpi")
app.add_typer(observe_app, name="observe")
app.add_typer(lg_app, name="lg")
app.add_typer(batch_app, name="batch")
app.add_typer(mapping_app, name="mapping")
user_app = typer.Typer(pretty_exceptions_enable=False, no_args_is_help=True,
                       help="Accounts: create, list, disable, enable.\n\n"
                            "Examples:\n\n"
                            "digiden user create aizu-sato --role municipality_staff --org-unit 072028\n"
                            "digiden user list")
token_app = typer.Typer(pretty_exceptions_enable=False, no_args_is_help=True,
                        help="API tokens for machine clients: create, list, revoke.\n\n"
                             "Examples:\n\n"
                             "digiden token create aizu-sato --scopes \"read write\" --days 90\n"
                             "digiden token list")
local_app = typer.Typer(pretty_exceptions_enable=False, no_args_is_help=True,
                        help="Local strategies (地方版総合戦略): list, show, import, the approval cycle, diff.\n\n"
                             "The examples act as the accounts `digiden demo` creates (password digiden-demo-2026).\n\n"
                             "Examples:\n\n"
                             "digiden local list\n"
                             "digiden --as demo-fukushima local inbox\n"
                             "digiden --as demo-fukushima local approve 072087 1")
app.add_typer(user_app, name="user")
app.add_typer(token_app, name="token")
app.add_typer(local_app, name="local")

EXIT_CODES: dict[type[DigidenError], int] = {InvalidInput: 2, NotFound: 3, PermissionDenied: 4, SignInRequired: 4,
                                              Conflict: 5}


KpiArg = Annotated[str, typer.Argument(help="KPI code, e.g. 5g-population-coverage (digiden kpi list).")]
# Numbers typed at the command line are bounded like the API's: a database id fits 64 bits
# (INT64_MAX, from domain.quantities).
RevisionArg = Annotated[int, typer.Argument(help="Revision number (digiden local show CODE).", min=1, max=1_000_000)]
UserArg = Annotated[str, typer.Argument(help="Account name.")]
BatchArg = Annotated[int, typer.Argument(help="Batch id (digiden batch list).", min=1, max=INT64_MAX)]


# ------------------------------------------------------------------ serve / db

MAX_WORKERS = 64


@app.command()
def serve(ctx: typer.Context,
          host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
          port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
          workers: Annotated[int, typer.Option(
              help=f"Worker processes answering on the one port (1-{MAX_WORKERS}); about one per CPU core. "
                   "They share nothing but the database.")] = 1) -> None:
    """Serve the web app and the API (http://127.0.0.1:8000, API docs at /docs).

    With --workers N, N processes answer on the same port (uvicorn's supervisor restarts one
    that dies); sessions and import jobs live in the database and caches are checked against
    it, so any worker answers any request. uvicorn uses uvloop and httptools when they are
    installed (uvicorn's "standard" extras). Deployment behind a reverse proxy:
    docs/operations.md.

    Examples:

    digiden serve
    digiden serve --host 0.0.0.0 --port 8080 --workers 2
    """
    if not 1 <= workers <= MAX_WORKERS:
        raise InvalidInput(f"--workers must be between 1 and {MAX_WORKERS}, not {workers}",
                           message_ja=f"--workers は 1〜{MAX_WORKERS} で指定してください（指定値: {workers}）",
                           field="workers")
    import uvicorn

    fast = [name for name in ("uvloop", "httptools") if _installed(name)]
    # ws="none": the app has no WebSocket routes, and the websockets package (an extra of
    # uvicorn[standard]) would otherwise be imported at start.
    options: dict[str, Any] = {"host": host, "port": port, "log_level": "info", "loop": "auto", "http": "auto",
                               "ws": "none"}
    out.print(f"digiden: http://{host}:{port}  (API: http://{host}:{port}/docs)")
    out.print(f"workers: {workers}; event loop: {'uvloop' if 'uvloop' in fast else 'asyncio'}; "
              f"HTTP parser: {'httptools' if 'httptools' in fast else 'h11'}")
    if workers == 1:
        from digiden.web.app import create_app
        rt = runtime(ctx)
        uvicorn.run(create_app(rt.session_factory, clock=rt.clock), **options)
        return
    # Each worker is a fresh process (spawned) that builds the app from the same settings
    # (DIGIDEN_DATABASE_URL / DIGIDEN_DATA_DIR), so it needs the app as an import string.
    # A worker that has not answered the supervisor's ping within 30 s is replaced; uvicorn's 5 s
    # killed workers still importing the app on a busy 2-core machine.
    uvicorn.run("digiden.web.app:create_app", factory=True, workers=workers, timeout_worker_healthcheck=30,
                **options)


def _installed(module: str) -> bool:
    from importlib.util import find_spec
    return find_spec(module) is not None


@db_app.command("upgrade")
def db_upgrade(ctx: typer.Context) -> None:
    """Apply database migrations (Alembic) up to the newest.

    Example:

    digiden db upgrade
    """
    from digiden.store.migrate import current_revision, head_revision, upgrade
    rt = runtime(ctx)
    before = current_revision(rt.engine)
    upgrade(rt.engine)
    after = current_revision(rt.engine)
    out.print(f"database at revision {after} (was {before or 'empty'}; head {head_revision()})")


@db_app.command("init")
def db_init(ctx: typer.Context, json_out: JsonOpt = False) -> None:
    """Load the packaged reference data: local governments, the national strategy, reported actuals.

    Safe to run again: nothing is duplicated.

    Run `digiden db upgrade` first: on an older database it stops with that advice (exit 5) and writes nothing.

    Examples:

    digiden db upgrade && digiden db init
    digiden db init --json
    """
    from digiden.services.reference import init_reference_data
    rt = runtime(ctx)
    require_schema(rt.engine)
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                  console=err, disable=json_out or not err.is_terminal) as bar:
        tasks: dict[str, Any] = {}

        def progress(what: str, done: int, total: int) -> None:
            if what not in tasks:
                tasks[what] = bar.add_task(what, total=total)
            bar.update(tasks[what], completed=done)

        report = init_reference_data(rt.uow(), actor=rt.actor, now=rt.clock(), progress=progress)
    if json_out:
        emit_json(report.as_dict())
        return
    withdrawn, kept = getattr(report, "withdrawn", {}), getattr(report, "kept", {})
    for kind in sorted(set(report.created) | set(report.updated) | set(report.unchanged)
                       | set(withdrawn) | set(kept)):
        line = (f"{kind}: {report.created.get(kind, 0)} created, {report.updated.get(kind, 0)} updated, "
                f"{report.unchanged.get(kind, 0)} unchanged")
        if withdrawn.get(kind):
            line += f", {withdrawn[kind]} withdrawn (no longer in the packaged file)"
        if kept.get(kind):
            line += f", {kept[kind]} kept (someone else's value at the key; the file's row not applied)"
        out.print(line)


@app.command("backup")
def backup_cmd(ctx: typer.Context,
               path: Annotated[Path, typer.Argument(help="The backup file to write (a new file).")],
               force: Annotated[bool, typer.Option("--force", help="Replace PATH if it exists.")] = False,
               json_out: JsonOpt = False) -> None:
    """Back up the whole database to one file, consistently, while the server keeps running.

    Every table: accounts, tokens, sessions, strategies, local strategies, practices, batches, audit trail, search.

    SQLite: one SQLite file (online-backup API). PostgreSQL: a pg_dump custom archive of the schema in use.

    Examples:

    digiden backup /backup/digiden-$(date +%F).bak
    digiden backup digiden.bak --force --json
    """
    from digiden.store.backup import backup
    rt = runtime(ctx)
    r = backup(rt.engine, path, force=force)
    if json_out:
        emit_json(r.as_dict())
        return
    out.print(f"backed up to {r.path}: {r.tables} tables, {r.rows:,} rows, {r.bytes:,} bytes "
              f"({r.backend}, revision {r.revision})", markup=False, highlight=False, soft_wrap=True)


@app.command("restore")
def restore_cmd(ctx: typer.Context,
                path: Annotated[Path, typer.Argument(help="A file written by `digiden backup`.")],
                force: Annotated[bool, typer.Option(
                    "--force", help="Replace a database that already holds data (everything in it).")] = False,
                json_out: JsonOpt = False) -> None:
    """Restore a backup written by `digiden backup` into the configured database.

    The database is DIGIDEN_DATABASE_URL's (or the SQLite default). Stop the server first.

    One that already holds data is refused unless --force. PostgreSQL needs pg_restore.

    Examples:

    digiden restore /backup/digiden-2026-11-29.bak
    digiden restore /backup/digiden-2026-11-29.bak --force
    """
    from digiden.store.backup import restore
    from digiden.store.migrate import head_revision
    rt = runtime(ctx)
    r = restore(rt.engine, path, force=force)
    if json_out:
        emit_json(r.as_dict())
        return
    out.print(f"restored {r.path}: {r.tables} tables, {r.rows:,} rows (revision {r.revision})",
              markup=False, highlight=False, soft_wrap=True)
    if r.revision != head_revision():
        out.print(f"the backup is at revision {r.revision}; run `digiden db upgrade` to bring it to "
                  f"{head_revision()}", markup=False, highlight=False, soft_wrap=True)


# ------------------------------------------------------------------ kpi

@kpi_app.command("list")
def kpi_list(ctx: typer.Context, json_out: JsonOpt = False,
             block: Annotated[str | None, typer.Option(help="Only this KPI block.")] = None) -> None:
    """Every KPI with its targets and status.

    Examples:

    digiden kpi list
    digiden kpi list --block foundation --json
    """
    from digiden.services.national.kpis import list_kpis
    rt = runtime(ctx)
    views = [k for k in list_kpis(rt.uow(), today=rt.today) if block in (None, k.block_code)]
    if json_out:
        emit_json([k.shape().json_data() for k in views])
        return
    t = Table(title=f"KPIs ({rt.today.isoformat()})")
    for col in ("code", "KPI", "status", "latest", "next target", "forecast"):
        t.add_column(col)
    for k in views:
        nm = k.status.next_milestone
        t.add_row(k.code, k.name, f"{k.status.status.label} ({k.status.status.value})",
                  ", ".join((f"{o.breakdown} " if o.breakdown else "") + o.display
                            for o in k.latest) or "—",
                  f"{nm.display} {nm.deadline_display}" if nm else "—",
                  k.status.forecast.isoformat() if k.status.forecast else "—")
    out.print(t)


def _print_counted(c: Any) -> None:
    """A KPI counted from records in digiden: the published national figure and the count of
    the records side by side, each labelled for what it is, and no difference between them (a
    national total and a count of the records in digiden, demo records among them, are not two
    measurements of one thing; the KPI page says the same)."""
    if c.reported_value is not None:
        out.print(f"全国の公表値 / published national figure: {c.reported_display}"
                  f"（{c.reported_as_of_label or c.reported_as_of}時点、出典: {c.reported_source}）",
                  markup=False, highlight=False, soft_wrap=True)
    else:
        out.print("全国の公表値 / published national figure: —（登録されていません / none recorded）",
                  markup=False, highlight=False, soft_wrap=True)
    demo = f"、うち合成データ（デモ用）{c.synthetic_count}団体 / {c.synthetic_count} synthetic (demo)" \
        if c.synthetic_count else ""
    out.print(f"digidenの記録から数えた団体 / counted from records in digiden: {c.value:,}{c.unit}"
              f"（受理された地方版総合戦略で「{c.rule_ja}」、{c.denominator:,}団体中{demo}; "
              f"newest acceptance {c.as_of.isoformat() if c.as_of else '—'}）",
              markup=False, highlight=False, soft_wrap=True)
    out.print("二つは別のものなので差は示しません / two different things: no difference is shown",
              markup=False, highlight=False, soft_wrap=True)


@kpi_app.command("show")
def kpi_show(ctx: typer.Context, code: KpiArg, json_out: JsonOpt = False) -> None:
    """One KPI: targets, milestones, status and observations.

    Examples:

    digiden kpi show 5g-population-coverage
    digiden kpi show digital-implementation --json
    """
    from digiden.services.national.kpis import get_kpi
    rt = runtime(ctx)
    d = get_kpi(rt.uow(), code, today=rt.today)
    k = d.kpi
    computed = None
    if k.local_fact:
        from digiden.services.national.local_facts import computed as local_computed
        computed = local_computed(rt.uow(), k.code)
    if json_out:
        emit_json(k.shape().json_data() | {"observations": [o.shape().json_data() for o in d.observations],
                                           "computed": computed.shape().json_data() if computed else None})
        return
    out.print(f"[bold]{k.name}[/bold] ({k.code})")
    if computed:
        _print_counted(computed)
    out.print(f"strategy wording: {k.wording}")
    out.print(f"status: {k.status.status.label} ({k.status.status.value}) — {k.status.reason}")
    t = Table(title="targets")
    for col in ("breakdown", "target", "due", "state", "forecast"):
        t.add_column(col)
    for p in k.status.parts:
        for r in p.assessment.milestones:
            tv = next(x for x in k.targets if x.breakdown == p.breakdown
                      and x.deadline == r.milestone.deadline and x.value == r.milestone.value)
            t.add_row(p.breakdown or "—", tv.display, tv.deadline_display, r.state.label,
                      r.forecast.isoformat() if r.forecast else "—")
    out.print(t)
    t = Table(title="observations")
    for col in ("as of", "breakdown", "value", "source"):
        t.add_column(col)
    for o in d.observations:
        t.add_row(o.as_of.iso(), o.breakdown or "—", o.display, o.source_title)
    out.print(t)


# ------------------------------------------------------------------ observe

@observe_app.command("add")
def observe_add(
    ctx: typer.Context,
    kpi: Annotated[str, typer.Option(help="KPI code or exact name.")],
    as_of: Annotated[str, typer.Option("--as-of", help="YYYY-MM-DD, YYYY-MM or 令和6年3月31日.")],
    value: Annotated[str, typer.Option(help="The value: 1,234 / 98.1 / 2万人強 / 1000超.")],
    source: Annotated[str, typer.Option(help="Where the number comes from (required).")],
    org_unit: Annotated[str, typer.Option("--org-unit", help="Local government code, or JP.")]
    = "JP",
    breakdown: Annotated[str, typer.Option(help="Breakdown (小学校, 中学校, 選定 …).")] = "",
    qualifier: Annotated[str, typer.Option(help="超 / 強 / 程度 / 以上.")] = "",
    source_url: Annotated[str, typer.Option("--source-url", help="URL of the source.")] = "",
    note: Annotated[str, typer.Option(help="A note.")] = "",
    json_out: JsonOpt = False,
) -> None:
    """Record an observed value (the same KPI, unit, date and breakdown is updated).

    Examples:

    digiden observe add --kpi smart-city-selections --as-of 2024-03 \\
        --value 60 --source "国土交通省 発表"
    digiden observe add --kpi 5g-population-coverage --as-of 令和6年3月31日 \\
        --value 98.1 --source "総務省 発表" --json
    """
    from digiden.services.national.observations import ObservationInput, add_observation
    rt = runtime(ctx)
    view, created = add_observation(
        rt.uow(), ObservationInput(kpi, as_of, value, org_unit, breakdown, qualifier, source,
                                   source_url, note),
        actor=rt.principal(), now=rt.clock(), today=rt.today)
    if json_out:
        emit_json(view.shape().json_data() | {"created": created})
        return
    out.print(f"{'recorded' if created else 'updated'}: {view.kpi_code} {view.org_unit_name} "
              f"{view.as_of.iso()} = {view.display}")


@observe_app.command("list")
def observe_list(
    ctx: typer.Context, kpi: Annotated[str | None, typer.Option(help="KPI code.")] = None,
    org_unit: Annotated[str | None, typer.Option("--org-unit", help="Local government code.")]
    = None,
    date_from: Annotated[str | None, typer.Option("--from", help="From this as-of date.")] = None,
    date_to: Annotated[str | None, typer.Option("--to", help="Up to this as-of date.")] = None,
    json_out: JsonOpt = False,
) -> None:
    """List observations, filtered by KPI, local government and period.

    Examples:

    digiden observe list --kpi 5g-population-coverage
    digiden observe list --kpi smart-city-selections --from 2023-04 --json
    """
    from digiden.services.national.observations import list_observations
    rt = runtime(ctx)
    rows = list_observations(rt.uow(), kpi=kpi, org_unit=org_unit, date_from=date_from,
                             date_to=date_to)
    if json_out:
        emit_json([o.shape().json_data() for o in rows])
        return
    t = Table()
    for col in ("kpi", "unit", "as of", "breakdown", "value", "source"):
        t.add_column(col)
    for o in rows:
        t.add_row(o.kpi_code, o.org_unit_name, o.as_of.iso(), o.breakdown or "—", o.display,
                  o.source_title)
    out.print(t)


# ------------------------------------------------------------------ lg

@lg_app.command("search")
def lg_search(ctx: typer.Context,
              query: Annotated[str, typer.Argument(help="Name, kana or 5/6-digit code.")] = "",
              prefecture: Annotated[str | None, typer.Option(help="Prefecture name or number.")]
              = None,
              kind: Annotated[str | None, typer.Option(help="prefecture, designated_city, city, "
                                                      "town, village, special_ward")] = None,
              limit: Annotated[int, typer.Option(help="At most this many.", min=1, max=2000)] = 50,
              json_out: JsonOpt = False) -> None:
    """Search local governments by name, kana (any script) or code.

    Examples:

    digiden lg search あいづ
    digiden lg search ｱｲﾂﾞ --kind city
    digiden lg search --prefecture 福島県 --kind village --json
    """
    from digiden.services.registry.localgov import search
    from digiden.shapes.registry import LocalGovernmentPage
    rt = runtime(ctx)
    rows, total = search(rt.uow(), query, prefecture=prefecture, kind=kind, limit=limit)
    if json_out:
        emit_json(LocalGovernmentPage(total=total, items=[r.shape() for r in rows]).json_data())
        return
    t = Table(title=f"{total} found")
    for col in ("code", "name", "kana", "kind", "prefecture"):
        t.add_column(col)
    for r in rows:
        t.add_row(r.code, r.name, r.kana, r.kind_label, r.prefecture)
    out.print(t)


@lg_app.command("show")
def lg_show(ctx: typer.Context, code: Annotated[str, typer.Argument(help="5- or 6-digit code.")],
            json_out: JsonOpt = False) -> None:
    """One local government: population, aging rate, city hall, website, case studies.

    Examples:

    digiden lg show 072028
    digiden lg show 07202 --json
    """
    from digiden.services.registry.localgov import get
    rt = runtime(ctx)
    d = get(rt.uow(), code, with_observations=json_out)
    if json_out:
        emit_json(d.shape().json_data())
        return
    u = d.unit
    out.print(f"[bold]{u.full_name}[/bold] {u.kana} ({u.code}, {u.kind_label})")
    if d.population is not None:
        out.print(f"population {d.population:,} (aging rate {d.aging_rate_pct}%, "
                  f"as of {d.population_as_of})")
    if d.lat is not None:
        out.print(f"city hall {d.lat:.5f}, {d.lng:.5f}")
    if d.website:
        out.print(f"website {d.website}")
    for p in d.practices:
        out.print(f"case study: {p.title}")


@lg_app.command("list")
def lg_list(ctx: typer.Context, json_out: JsonOpt = False) -> None:
    """All 1,788 local governments.

    Examples:

    digiden lg list
    digiden lg list --json
    """
    from digiden.services.registry.localgov import list_all
    rt = runtime(ctx)
    rows = list_all(rt.uow())
    if json_out:
        emit_json([{"code": r.code, "name": r.name, "prefecture": r.prefecture, "kind": r.kind,
                    "parent": r.parent} for r in rows])
        return
    for r in rows:
        out.print(f"{r.code}\t{r.prefecture}\t{r.name}\t{r.kind}")


@app.command("audit")
def audit_cmd(ctx: typer.Context, kpi: Annotated[str | None, typer.Option(help="KPI code.")] = None,
              org_unit: Annotated[str | None, typer.Option("--org-unit", help="Local government.")]
              = None, limit: Annotated[int, typer.Option(help="At most this many events.", min=1, max=10_000)] = 50,
              after: Annotated[str | None, typer.Option(
                  help="Continue with older events: the cursor printed after the previous page.")] = None,
              json_out: JsonOpt = False) -> None:
    """Show the audit history (who changed what, when, before and after), newest first.

    When older events follow, a last line on stderr gives the --after cursor of the next page.

    Examples:

    digiden audit --kpi 5g-population-coverage
    digiden audit --org-unit 072028 --limit 20 --json
    """
    from digiden.services.audit import history_page
    rt = runtime(ctx)
    page = history_page(rt.uow(), rt.principal(), kpi_code=kpi, org_unit_code=org_unit, limit=limit, after=after)
    rows = page.items
    if json_out:
        emit_json([{"at": e.at.isoformat(), "actor": e.actor, "action": e.action,
                    "entity": e.entity, "key": e.entity_key, "summary": e.summary,
                    "before": e.before, "after": e.after} for e in rows])
    else:
        for e in rows:
            out.print(f"{e.at:%Y-%m-%d %H:%M} {e.actor} {e.action} {e.summary}")
    if page.next_after is not None:
        err.print(f"続きがあります / more events follow: --after {page.next_after}", markup=False,
                  highlight=False, soft_wrap=True)


# ------------------------------------------------------------------ import / export

def check_import_file(file: Path) -> None:
    """One clear line for a path that is not a readable file (a folder, a typo)."""
    if file.is_dir():
        hint_en = hint_ja = ""
        if (file / "observations.csv").is_file():
            hint_en = f"; to import the observations of an export, give {file / 'observations.csv'}"
            hint_ja = f"。エクスポートの観測値を取り込むには {file / 'observations.csv'} を指定してください"
        raise InvalidInput(f"{file} is a folder: give one .csv or .xlsx file{hint_en}",
                           message_ja=f"{file} はフォルダです。.csv か .xlsx のファイルを1つ指定してください{hint_ja}",
                           field="file")
    if not file.is_file():
        raise InvalidInput(f"{file}: no such file", message_ja=f"{file} というファイルはありません", field="file")


@app.command("import")
def import_cmd(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="A .csv (UTF-8, UTF-8 BOM or CP932) or .xlsx file.")],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Check and report; write nothing.")] = False,
    kpi: Annotated[str | None, typer.Option(help="The KPI, for files without a KPI column.")] = None,
    encoding: Annotated[str | None, typer.Option(help="utf-8, utf-8-sig or cp932 (detected if omitted).")]
    = None,
    sheet: Annotated[str | None, typer.Option(help="The .xlsx sheet (first readable one if omitted).")]
    = None,
    mapping: Annotated[str | None, typer.Option(help="Use a saved column mapping.")] = None,
    column: Annotated[list[str] | None, typer.Option(
        "--column", help="Map a column: ROLE=HEADER (roles: kpi, org_code, org_name, prefecture, "
                         "as_of, breakdown, value, qualifier, source_title, source_url, note).")] = None,
    save_mapping: Annotated[str | None, typer.Option("--save-mapping", help="Save the mapping used.")]
    = None,
    source: Annotated[str | None, typer.Option(help="Source for rows that have none.")] = None,
    json_out: JsonOpt = False,
) -> None:
    """Import observations from a file: all-or-nothing, as one batch that can be reverted.

    Exits 0 when the file imported (or would import, with --dry-run), 2 when it has errors.

    Examples:

    digiden import 実績.csv --dry-run
    digiden import 年度別.xlsx --kpi digital-promotion-talent
    digiden import 実績.csv --column value=実績値 --save-mapping 実績様式
    digiden import 実績2.csv --mapping 実績様式 --json
    """
    from digiden.services.data.imports import ImportFailed, ImportOptions, run_import
    check_import_file(file)
    rt = runtime(ctx)
    cols = {}
    for c in column or []:
        role, _, header = c.partition("=")
        if not header:
            raise InvalidInput(f"--column takes ROLE=HEADER, got {c!r}",
                               message_ja=f"--column は 役割=見出し の形で指定します: {c}", field="column")
        cols[role.strip()] = header.strip()
    opts = ImportOptions(dry_run=dry_run, kpi=kpi, encoding=encoding, sheet=sheet,
                         mapping=cols or None, mapping_name=mapping, save_mapping=save_mapping,
                         source_title=source)
    from rich.progress import BarColumn, Progress, TextColumn
    with Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.percentage:>3.0f}%"),
                  console=err, disable=json_out or not err.is_terminal) as bar:
        task = bar.add_task(f"importing {file.name}", total=1.0)
        try:
            report = run_import(rt.uow(), file, opts, actor=rt.principal(), now=rt.clock(),
                                progress=lambda _w, share: bar.update(task, completed=share))
        except ImportFailed as e:
            report = e.report
    if json_out:
        d = report.as_dict()
        emit_json({k: d[k] for k in ("rows", "created", "updated", "unchanged", "errors")}
                  | {k: d[k] for k in d if k not in ("rows", "created", "updated", "unchanged", "errors")})
    else:
        verb = "would import" if dry_run else "imported"
        if report.ok:
            out.print(f"{verb} {file.name}: {report.rows} rows ({report.shape}, {report.file_format}"
                      f"{' ' + report.encoding if report.encoding else ''}) — {report.created} created, "
                      f"{report.updated} updated, {report.unchanged} unchanged, {report.missing} missing"
                      + (f"; batch {report.batch_id}" if report.batch_id else ""))
        for w in report.warnings:
            out.print(f"warning: row {w.row}: {w.message}")
        for e in report.errors:
            err.print(f"row {e.row}, column {e.column}: {e.message} [{e.value}]", markup=False,
                      highlight=False)
        if not report.ok:
            err.print(f"{report.error_count} error(s); nothing was written", markup=False)
    if not report.ok:
        raise SystemExit(2)


@app.command("export")
def export_cmd(
    ctx: typer.Context,
    out_path: Annotated[Path, typer.Option("--out", help="File (or folder for CSV of several tables).")],
    fmt: Annotated[str, typer.Option("--format", help="csv, xlsx or json.")] = "csv",
    table: Annotated[list[str] | None, typer.Option(
        help="kpis, targets, observations, statuses (all if omitted).")] = None,
    encoding: Annotated[str, typer.Option(help="CSV encoding: utf-8-sig (Excel) or cp932.")] = "utf-8-sig",
    kpi: Annotated[str | None, typer.Option(help="Only this KPI.")] = None,
) -> None:
    """Export KPIs, targets, observations and statuses (CSV for Excel, .xlsx, JSON).

    Examples:

    digiden export --format xlsx --out digiden.xlsx
    digiden export --out export/ --table observations --encoding cp932
    digiden export --format json --out 5g.json --kpi 5g-population-coverage
    """
    from digiden.services.data.exports import TABLES, export
    rt = runtime(ctx)
    counts = export(rt.uow(), fmt, out_path, today=rt.today, encoding=encoding,
                    tables=tuple(table) if table else TABLES, kpi=kpi)
    out.print(f"wrote {out_path}: " + ", ".join(f"{t} {n}" for t, n in counts.items()))


@app.command("validate")
def validate_cmd(ctx: typer.Context, kpi: Annotated[str | None, typer.Option(help="Only this KPI.")] = None,
                 json_out: JsonOpt = False) -> None:
    """Run every KPI's validation rules over the stored data. Exits 1 if an error-level rule fails.

    Examples:

    digiden validate
    digiden validate --kpi 5g-population-coverage --json
    """
    from digiden.services.national.validation import run_rules
    rt = runtime(ctx)
    found = run_rules(rt.uow(), kpi=kpi)
    if json_out:
        emit_json([v.as_dict() for v in found])
    else:
        for v in found:
            out.print(f"{v.severity}: {v.kpi} {v.org_unit} {v.as_of} {v.breakdown}: {v.message}")
        out.print(f"{len(found)} violation(s)")
    if any(v.severity == "error" for v in found):
        raise SystemExit(1)


@batch_app.command("list")
def batch_list(ctx: typer.Context, json_out: JsonOpt = False) -> None:
    """Import batches, newest first.

    Examples:

    digiden batch list
    digiden batch list --json
    """
    from digiden.services.data.imports import list_batches
    rt = runtime(ctx)
    rows = list_batches(rt.uow(), rt.principal())
    if json_out:
        emit_json([b.as_dict() for b in rows])
        return
    t = Table()
    for col in ("id", "when", "who", "file", "rows", "created", "updated", "status"):
        t.add_column(col)
    for b in rows:
        t.add_row(str(b.id), f"{b.created_at:%Y-%m-%d %H:%M}", b.created_by, b.file_name, str(b.rows),
                  str(b.created), str(b.updated), b.status)
    out.print(t)


@batch_app.command("show")
def batch_show(ctx: typer.Context, batch_id: BatchArg, json_out: JsonOpt = False) -> None:
    """One import batch.

    Example:

    digiden batch show 1
    """
    from digiden.services.data.imports import get_batch
    rt = runtime(ctx)
    b = get_batch(rt.uow(), rt.principal(), batch_id)
    if json_out:
        emit_json(b.as_dict())
    else:
        for k, v in b.as_dict().items():
            out.print(f"{k}: {v}")


@batch_app.command("revert")
def batch_revert(ctx: typer.Context, batch_id: BatchArg, json_out: JsonOpt = False) -> None:
    """Revert a whole import batch: what it created goes, what it overwrote comes back.

    Example:

    digiden batch list && digiden batch revert 2
    """
    from digiden.services.data.imports import revert_batch
    rt = runtime(ctx)
    b = revert_batch(rt.uow(), batch_id, actor=rt.principal(), now=rt.clock())
    if json_out:
        emit_json(b.as_dict())
    else:
        out.print(f"batch {b.id} ({b.file_name}) reverted")


@mapping_app.command("list")
def mapping_list(ctx: typer.Context, json_out: JsonOpt = False) -> None:
    """Saved column mappings (saved by `digiden import --save-mapping`).

    Examples:

    digiden mapping list
    digiden mapping list --json
    """
    from digiden.services.data.imports import list_mappings
    rt = runtime(ctx)
    rows = list_mappings(rt.uow(), rt.principal())
    if json_out:
        emit_json(rows)
    else:
        for m in rows:
            out.print(f"{m['name']}: {m['mapping']}")


# ------------------------------------------------------------------ accounts


@user_app.command("create")
def user_create(
    ctx: typer.Context, username: UserArg,
    role: Annotated[str, typer.Option(help="national_admin, ministry_editor, prefecture_staff, municipality_staff.")],
    org_unit: Annotated[str, typer.Option("--org-unit", help="Local government code (local staff).")] = "",
    ministry: Annotated[str, typer.Option(help="Ministry (ministry editors), e.g. 総務省.")] = "",
    display_name: Annotated[str, typer.Option("--display-name", help="Name shown in the app.")] = "",
    password: Annotated[str | None, typer.Option(
        help="Password (10+ characters). Omit to be asked; or set DIGIDEN_PASSWORD.", envvar="DIGIDEN_PASSWORD",
        show_envvar=False)] = None,
    json_out: JsonOpt = False,
) -> None:
    """Create an account (national administrators; the server operator is one).

    Without --password it asks for one (twice).

    Examples:

    digiden user create aizu-sato --role municipality_staff --org-unit 072028
    digiden user create soumu-tanaka --role ministry_editor --ministry 総務省
    """
    from digiden.services.local.accounts import create_user
    rt = runtime(ctx)
    if password is None:
        password = typer.prompt("password", hide_input=True, confirmation_prompt=True)
    u = create_user(rt.uow(), rt.principal(), username=username, password=password, role=role,
                    display_name=display_name, org_unit=org_unit, ministry=ministry, now=rt.clock())
    if json_out:
        emit_json(u.shape().json_data())
        return
    out.print(f"created {u.username}: {u.role.label_ja} {u.org_name or u.ministry or ''}")


@user_app.command("list")
def user_list(ctx: typer.Context, json_out: JsonOpt = False) -> None:
    """Every account with its role, local government or ministry, and state.

    Examples:

    digiden user list
    digiden user list --json
    """
    from digiden.services.local.accounts import list_users
    rt = runtime(ctx)
    users = list_users(rt.uow(), rt.principal())
    if json_out:
        emit_json([u.shape().json_data() for u in users])
        return
    t = Table(title="accounts")
    for col in ("username", "name", "role", "belongs to", "state"):
        t.add_column(col)
    for u in users:
        t.add_row(u.username, u.display_name + (" (synthetic)" if u.synthetic else ""), u.role.value,
                  u.org_code or u.ministry or "—",
                  "disabled" if u.disabled else "locked" if u.locked_until else "active")
    out.print(t)


@user_app.command("disable")
def user_disable(ctx: typer.Context, username: UserArg) -> None:
    """Disable an account: its sessions end and its API tokens stop working.

    Example:

    digiden user disable aizu-sato
    """
    from digiden.services.local.accounts import set_disabled
    rt = runtime(ctx)
    set_disabled(rt.uow(), rt.principal(), username, disabled=True, now=rt.clock())
    out.print(f"disabled {username}")


@user_app.command("enable")
def user_enable(ctx: typer.Context, username: UserArg) -> None:
    """Enable a disabled account again (and lift a lock-out).

    Example:

    digiden user enable aizu-sato
    """
    from digiden.services.local.accounts import set_disabled
    rt = runtime(ctx)
    set_disabled(rt.uow(), rt.principal(), username, disabled=False, now=rt.clock())
    out.print(f"enabled {username}")


@token_app.command("create")
def token_create(
    ctx: typer.Context, username: UserArg,
    name: Annotated[str, typer.Option(help="What the token is for.")] = "token",
    scopes: Annotated[str, typer.Option(help="'read' or 'read write'.")] = "read",
    days: Annotated[int | None, typer.Option(help="Expires after this many days (default: never).",
                                             min=1, max=3650)] = None,
    json_out: JsonOpt = False,
) -> None:
    """Issue an API token for an account. The secret is printed once; only its hash is kept.

    Examples:

    digiden token create aizu-sato --scopes "read write" --days 90
    digiden token create demo-admin --name dashboard --json
    """
    from digiden.services.local.accounts import create_token
    rt = runtime(ctx)
    secret, view = create_token(rt.uow(), rt.principal(), username=username, name=name, scopes=scopes, days=days,
                                now=rt.clock())
    if json_out:
        emit_json(view.shape().json_data() | {"token": secret})
        return
    out.print(f"token {view.id} for {view.username} ({view.scopes}); send it as 'Authorization: Bearer <token>':")
    sys.stdout.write(secret + "\n")


@token_app.command("list")
def token_list(ctx: typer.Context, json_out: JsonOpt = False) -> None:
    """Every API token (never the secret).

    Examples:

    digiden token list
    digiden token list --json
    """
    from digiden.services.local.accounts import list_tokens
    rt = runtime(ctx)
    rows = list_tokens(rt.uow(), rt.principal())
    if json_out:
        emit_json([t.shape().json_data() for t in rows])
        return
    t = Table(title="API tokens")
    for col in ("id", "user", "name", "prefix", "scopes", "state"):
        t.add_column(col)
    for x in rows:
        t.add_row(str(x.id), x.username, x.name, x.prefix + "…", x.scopes, "revoked" if x.revoked_at else "active")
    out.print(t)


@token_app.command("revoke")
def token_revoke(ctx: typer.Context,
                 token_id: Annotated[int, typer.Argument(help="Token id (digiden token list).",
                                                         min=1, max=INT64_MAX)]) -> None:
    """Revoke an API token: it stops working at once.

    Example:

    digiden token list && digiden token revoke 1
    """
    from digiden.services.local.accounts import revoke_token
    rt = runtime(ctx)
    revoke_token(rt.uow(), rt.principal(), token_id, now=rt.clock())
    out.print(f"revoked token {token_id}")


@kpi_app.command("assign")
def kpi_assign(ctx: typer.Context, code: KpiArg,
               ministry: Annotated[str, typer.Option(help="The responsible ministry; empty to clear.")]) -> None:
    """Make a ministry responsible for a KPI: its editors may then record its values.

    Examples:

    digiden kpi assign fiber-household-coverage --ministry 総務省
    digiden kpi assign fiber-household-coverage --ministry ""
    """
    from digiden.services.national.kpis import assign_ministry
    rt = runtime(ctx)
    m = assign_ministry(rt.uow(), rt.principal(), code, ministry, now=rt.clock())
    out.print(f"{code}: {m or 'no ministry'}")


# ------------------------------------------------------------------ local strategies


@local_app.command("list")
def local_list(ctx: typer.Context,
               prefecture: Annotated[str | None, typer.Option(help="Two-digit prefecture code.")] = None,
               status: Annotated[str | None, typer.Option(help="draft, submitted, prefecture_approved, "
                                                                "accepted, returned.")] = None,
               json_out: JsonOpt = False) -> None:
    """The newest revision you may see of each local government's strategy.

    Examples:

    digiden local list
    digiden local list --prefecture 07 --status submitted --json
    """
    from digiden.services.local.local_strategies import list_revisions
    rt = runtime(ctx)
    rows = list_revisions(rt.uow(), rt.principal(), prefecture=prefecture, status=status)
    if json_out:
        emit_json([r.shape().json_data() for r in rows])
        return
    t = Table(title="local strategies")
    for col in ("code", "local government", "revision", "FY", "status"):
        t.add_column(col)
    for r in rows:
        t.add_row(r.org_code, r.org_name + (" (synthetic)" if r.synthetic else ""), str(r.revision),
                  str(r.fiscal_year), r.status.value)
    out.print(t)


@local_app.command("show")
def local_show(ctx: typer.Context, code: LgArg,
               revision: Annotated[int | None, typer.Option(help="This revision (default: newest visible).",
                                                            min=1, max=1_000_000)] = None,
               json_out: JsonOpt = False) -> None:
    """One local government's strategy: vision, issues, measures, KPIs, review history.

    Examples:

    digiden local show 072028
    digiden local show 072028 --revision 1 --json
    """
    from digiden.services.local.local_strategies import get
    rt = runtime(ctx)
    d = get(rt.uow(), rt.principal(), code, revision)
    if json_out:
        emit_json(d.shape().json_data())
        return
    out.print(f"[bold]{d.ref.title}[/bold] — {d.ref.org_name}, revision {d.ref.revision}, FY{d.ref.fiscal_year}, "
              f"{d.ref.status.value} ({d.ref.status_ja})")
    out.print(f"model types: {', '.join(n for _, n in d.model_types) or '—'}")
    for m in d.measures:
        out.print(f"- {m.title} [{m.kind.value}{', digital' if m.digital else ''}, {m.state.value}]")
    out.print(f"allowed now: {', '.join(a.value for a in d.actions) or 'nothing'}")


@local_app.command("import")
def local_import(ctx: typer.Context, code: LgArg,
                 file: Annotated[Path, typer.Argument(help="The strategy as a YAML or JSON file.")],
                 version: Annotated[int | None, typer.Option(
                     help="The version you edited (refuses if someone saved since).", min=0, max=INT64_MAX)] = None,
                 json_out: JsonOpt = False) -> None:
    """Save a strategy from a YAML or JSON file as the local government's open revision (draft).

    Examples:

    digiden --as demo-aizuwakamatsu local import 072028 strategy.yaml
    digiden --as demo-kitakata local import 072087 kitakata.json --version 3
    """
    import yaml

    from digiden.services.local.local_strategies import save
    rt = runtime(ctx)
    try:
        doc = yaml.safe_load(file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as e:
        raise InvalidInput(f"cannot read {file}: {e}", message_ja=f"{file} を読めません", field="file") from None
    d = save(rt.uow(), rt.principal(), code, doc or {}, now=rt.clock(), expected_version=version)
    if json_out:
        emit_json(d.shape().json_data())
        return
    out.print(f"saved {d.ref.org_name} revision {d.ref.revision} ({d.ref.status.value}, version {d.ref.version})")


def _act(ctx: typer.Context, code: str, revision: int, action: str, comment: str) -> None:
    from digiden.services.local.local_strategies import act
    rt = runtime(ctx)
    d = act(rt.uow(), rt.principal(), code, revision, action, now=rt.clock(), comment=comment)
    out.print(f"{d.ref.org_name} revision {d.ref.revision}: {d.ref.status.value} ({d.ref.status_ja})")


CommentOpt = Annotated[str, typer.Option(help="A comment (required to return or re-open).")]


@local_app.command("submit")
def local_submit(ctx: typer.Context, code: LgArg, revision: RevisionArg, comment: CommentOpt = "") -> None:
    """Submit a revision for review (owner).

    Example:

    digiden --as demo-aizuwakamatsu local submit 072028 2
    """
    _act(ctx, code, revision, "submit", comment)


@local_app.command("approve")
def local_approve(ctx: typer.Context, code: LgArg, revision: RevisionArg, comment: CommentOpt = "") -> None:
    """Approve a municipality's submission and pass it to the nation (its prefecture).

    Example:

    digiden --as demo-fukushima local approve 072087 1 --comment "確認しました"
    """
    _act(ctx, code, revision, "approve", comment)


@local_app.command("accept")
def local_accept(ctx: typer.Context, code: LgArg, revision: RevisionArg, comment: CommentOpt = "") -> None:
    """Accept a revision: it is published and locked (national administrators).

    Example:

    digiden --as demo-admin local accept 064033 1
    """
    _act(ctx, code, revision, "accept", comment)


@local_app.command("return")
def local_return(ctx: typer.Context, code: LgArg, revision: RevisionArg, comment: CommentOpt = "") -> None:
    """Return a revision to its owner with a comment (the reviewer at its stage).

    Example:

    digiden --as demo-fukushima local return 072028 2 \\
        --comment "KPIの目標年度を記入してください"
    """
    _act(ctx, code, revision, "return", comment)


@local_app.command("reopen")
def local_reopen(ctx: typer.Context, code: LgArg, revision: RevisionArg, comment: CommentOpt = "") -> None:
    """Re-open approved or accepted data for changes, with a comment (its approver).

    Example:

    digiden --as demo-admin local reopen 072028 1 --comment "人口推計の更新"
    """
    _act(ctx, code, revision, "reopen", comment)


@local_app.command("diff")
def local_diff(ctx: typer.Context, code: LgArg,
               a: Annotated[int, typer.Argument(help="The older revision.", min=1, max=1_000_000)],
               b: Annotated[int, typer.Argument(help="The newer revision.", min=1, max=1_000_000)],
               json_out: JsonOpt = False) -> None:
    """What changed between two revisions.

    Examples:

    digiden local diff 072028 1 2
    digiden local diff 072028 1 2 --json
    """
    from digiden.services.local.local_strategies import diff_revisions
    from digiden.shapes.local import ChangeOut
    rt = runtime(ctx)
    changes = diff_revisions(rt.uow(), rt.principal(), code, a, b)
    if json_out:
        emit_json([ChangeOut.model_validate(c).json_data() for c in changes])
        return
    for c in changes:
        out.print(f"{c.kind:8} {c.section}: {c.key}", markup=False)


@local_app.command("inbox")
def local_inbox(ctx: typer.Context, json_out: JsonOpt = False) -> None:
    """What waits for you (use --as USER), and your messages.

    Examples:

    digiden --as demo-fukushima local inbox
    digiden --as demo-admin local inbox --json
    """
    from digiden.services.local.local_strategies import inbox
    rt = runtime(ctx)
    i = inbox(rt.uow(), rt.principal())
    if json_out:
        emit_json(i.shape().json_data())
        return
    out.print(f"waiting: {len(i.waiting) + len(i.practices)}, unread messages: {i.unread}")
    for r in i.waiting:
        out.print(f"- {r.org_code} {r.org_name} revision {r.revision}: {r.status.value}")
    for p in i.practices:
        out.print(f"- practice {p.code} {p.title} ({p.place}): {p.status}")


@local_app.command("coverage")
def local_coverage(ctx: typer.Context, json_out: JsonOpt = False) -> None:
    """Prefectures with and without a model of each model-region type.

    Examples:

    digiden local coverage
    digiden local coverage --json
    """
    from digiden.services.national.local_facts import coverage
    rt = runtime(ctx)
    rows = coverage(rt.uow())
    if json_out:
        emit_json([{"model_type": r.model_type, "with": [c for c, _, _ in r.with_model],
                    "without": [c for c, _ in r.without]} for r in rows])
        return
    t = Table(title="model-region coverage (prefectures)")
    for col in ("model type", "with a model", "without"):
        t.add_column(col)
    for r in rows:
        t.add_row(r.name, str(len(r.with_model)), str(len(r.without)))
    out.print(t)


@app.command()
def demo(ctx: typer.Context, json_out: JsonOpt = False) -> None:
    """Create demo accounts and SYNTHETIC local strategies for a few municipalities.

    A newcomer can then click through the whole approval cycle. Never run by default.

    Every record is marked synthetic. Passwords are printed: do not run this on a production database.

    Examples:

    digiden demo
    digiden demo --json
    """
    from digiden.services.local.demo import create_demo
    rt = runtime(ctx)
    report = create_demo(rt.uow(), rt.principal(), now=rt.clock())
    if json_out:
        emit_json(report)
        return
    out.print("demo accounts (synthetic; password for all: "
              f"[bold]{report['password']}[/bold]):")
    for u in report["users"]:
        out.print(f"- {u['username']}: {u['role_ja']} {u.get('belongs_to') or ''}")
    out.print(f"local strategies: {len(report['strategies'])} created (synthetic). Sign in at /login.")


# Commands of the knowledge side (search, catalogue, practices, similarity) live in their own
# module, digiden.cli_knowledge, loaded when one of them is asked for (or the list of commands,
# for --help): a command of this module — `digiden serve` above all — does not import it (its
# models, rich.progress and the module itself were ~0.1 s of a cold start, issue 12 goal 6).

class _Commands(TyperGroup):
    """The top-level group: this module's commands, and cli_knowledge's from the first time the
    whole set is asked for (``commands``, ``list_commands``: --help, the command reference) or
    a name is not among this module's. Resolving one of this module's commands reads
    ``_commands`` alone."""

    _commands: MutableMapping[str, Any]
    _complete = False

    @property  # type: ignore[override]
    def commands(self) -> MutableMapping[str, Any]:
        if not self._complete:
            self._complete = True
            import digiden.cli_consult  # noqa: F401 - registers 相談窓口's commands (consult, plan) on `app`
            import digiden.cli_knowledge  # noqa: F401 - registers its commands on `app`
            import digiden.cli_support  # noqa: F401 - registers 重点支援's commands on `app`
            # in the order of the group built with every command registered (as before)
            full = typer.main.get_group(app)._commands     # type: ignore[attr-defined]
            self._commands = {name: self._commands.get(name) or command for name, command in full.items()}
        return self._commands

    @commands.setter
    def commands(self, value: MutableMapping[str, Any]) -> None:
        self._commands = value

    def get_command(self, ctx: typer.Context, cmd_name: str) -> Any:
        command = self._commands.get(cmd_name)
        return command if command is not None else self.commands.get(cmd_name)


app.info.cls = _Commands


class DatabaseNotReady(Conflict):
    """The database has no tables yet, or an older schema: `digiden db upgrade` first (exit 5)."""

    def __init__(self, current: str | None, head: str | None) -> None:
        if current is None:
            super().__init__("the database has no tables yet: run `digiden db upgrade` first",
                             message_ja="データベースにまだ表がありません。"
                                        "先に `digiden db upgrade` を実行してください")
        else:
            super().__init__(f"the database is at revision {current}, this digiden needs {head}: "
                             "run `digiden db upgrade` first",
                             message_ja=f"データベースの版 {current} が古いです（必要な版 {head}）。"
                                        "先に `digiden db upgrade` を実行してください")


def require_schema(engine: Engine) -> None:
    """Refuse to work on a database whose migrations are not applied (one line, not a traceback)."""
    from digiden.store.migrate import current_revision, head_revision
    current, head = current_revision(engine), head_revision()
    if current != head:
        raise DatabaseNotReady(current, head)


def _schema_problem() -> DigidenError | None:
    """After a database error: is the configured database simply not migrated? Then say so."""
    try:
        from digiden.config import get_settings
        from digiden.store.db import make_engine
        engine = make_engine(get_settings().url)
        try:
            require_schema(engine)
        finally:
            engine.dispose()
    except DatabaseNotReady as e:
        return e
    except Exception:  # noqa: BLE001 - the original error is the one to report
        return None
    return None


def exit_code_for(e: DigidenError) -> int:
    """The one place digiden errors become exit codes: 2 invalid input, 3 not found,
    4 not allowed, 5 conflict, else 1."""
    for kind in type(e).__mro__:
        if kind in EXIT_CODES:
            return EXIT_CODES[kind]
    return 1


def error_line(e: DigidenError) -> str:
    """One line: the English message, the field, and the Japanese message the pages show (the
    people at the terminal are the same national and municipal staff)."""
    line = f"error: {e.message}" + (f" (field: {e.field})" if e.field else "")
    if e.message_ja and e.message_ja != e.message:
        line += f" / {e.message_ja}"
    return line


def unexpected_line(e: BaseException) -> str:
    """One line for an error digiden did not foresee: what it was, and how to see more."""
    first = (str(e).strip().splitlines() or [""])[0]
    if len(first) > 300:
        first = first[:300] + "…"
    return (f"error: unexpected {type(e).__name__}: {first} "
            "(rerun with DIGIDEN_DEBUG=1 for the traceback / 詳細は DIGIDEN_DEBUG=1 で再実行)")


def main(argv: list[str] | None = None) -> None:
    """Entry point. Nothing a user can type ends in a Python traceback:

    - a mistyped command or option: click's usage line and one error line, exit 2;
    - a digiden error: one line, exit 2 invalid input, 3 not found, 4 not allowed, 5 conflict;
    - anything else: one line naming the error, exit 1; with DIGIDEN_DEBUG=1 the traceback is
      printed as well (and the exception re-raised)."""
    import os

    from typer.exceptions import Abort, Exit, TyperException
    debug = os.environ.get("DIGIDEN_DEBUG", "").lower() not in ("", "0", "false", "no")
    from digiden.services.data.imports.tempfiles import remove_stale_temp_files
    remove_stale_temp_files()   # uploads and exports left by a digiden process that was killed
    try:
        rv = app(args=argv, standalone_mode=False)
    except DigidenError as e:
        err.print(error_line(e), markup=False, highlight=False, soft_wrap=True)
        raise SystemExit(exit_code_for(e)) from None
    except TyperException as e:  # click's UsageError, NoSuchOption, BadParameter, NoArgsIsHelp …
        show = getattr(e, "show", None)
        if callable(show):
            show()
        else:
            err.print(f"Error: {e.format_message()}", markup=False, highlight=False)
        raise SystemExit(e.exit_code) from None
    except Exit as e:
        raise SystemExit(e.exit_code) from None
    except Abort:
        err.print("Aborted!", markup=False, highlight=False)
        raise SystemExit(1) from None
    except KeyboardInterrupt:
        raise SystemExit(130) from None
    except Exception as e:
        if debug:
            raise
        from sqlalchemy.exc import DBAPIError
        hint = _schema_problem() if isinstance(e, DBAPIError) else None
        if hint is not None:
            err.print(error_line(hint), markup=False, highlight=False, soft_wrap=True)
            raise SystemExit(exit_code_for(hint)) from None
        err.print(unexpected_line(e), markup=False, highlight=False, soft_wrap=True)
        raise SystemExit(1) from None
    if isinstance(rv, int) and rv:
        raise SystemExit(rv)
