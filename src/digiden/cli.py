"""The `digiden` command line. Every command is a thin call into a service."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from digiden.domain.errors import DigidenError, InvalidInput, NotFound
from digiden.services.uow import UnitOfWork

app = typer.Typer(pretty_exceptions_enable=False,
                  help="digiden — デジタル田園都市国家構想: the national strategy, its KPIs, their "
                       "progress and Japan's 1,788 local governments.",
                  no_args_is_help=True, add_completion=False)
db_app = typer.Typer(pretty_exceptions_enable=False, help="Create and update the database.", no_args_is_help=True)
kpi_app = typer.Typer(pretty_exceptions_enable=False, help="KPIs of the national strategy, their targets and status.",
                      no_args_is_help=True)
observe_app = typer.Typer(pretty_exceptions_enable=False, help="Observed values of KPIs.", no_args_is_help=True)
lg_app = typer.Typer(pretty_exceptions_enable=False, help="Local governments (地方公共団体).", no_args_is_help=True)
batch_app = typer.Typer(pretty_exceptions_enable=False, help="Import batches: list, show, revert.",
                        no_args_is_help=True)
mapping_app = typer.Typer(pretty_exceptions_enable=False, help="Saved column mappings for imports.",
                          no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(kpi_app, name="kpi")
app.add_typer(observe_app, name="observe")
app.add_typer(lg_app, name="lg")
app.add_typer(batch_app, name="batch")
app.add_typer(mapping_app, name="mapping")

out = Console()
err = Console(stderr=True)

EXIT_CODES = {InvalidInput: 2, NotFound: 3}


@dataclass
class Runtime:
    """What commands need: a session factory, an engine and the clock. Tests pass their own."""

    session_factory: sessionmaker[Session]
    engine: Engine
    clock: Callable[[], datetime]
    actor: str

    def uow(self) -> UnitOfWork:
        return UnitOfWork(self.session_factory)

    @property
    def today(self) -> date:
        return self.clock().date()


def runtime(ctx: typer.Context) -> Runtime:
    if isinstance(ctx.obj, Runtime):
        return ctx.obj
    from digiden.config import get_settings
    from digiden.store.db import make_engine, make_session_factory
    s = get_settings()
    engine = make_engine(s.url)
    ctx.obj = Runtime(make_session_factory(engine), engine, lambda: datetime.now(UTC),
                      s.actor)
    return ctx.obj


def emit_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2, default=str) + "\n")


JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]


# ------------------------------------------------------------------ serve / db

@app.command()
def serve(ctx: typer.Context,
          host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
          port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000) -> None:
    """Serve the web app and the API (http://127.0.0.1:8000, API docs at /docs)."""
    import uvicorn

    from digiden.web.app import create_app
    rt = runtime(ctx)
    out.print(f"digiden: http://{host}:{port}  (API: http://{host}:{port}/docs)")
    uvicorn.run(create_app(rt.session_factory, clock=rt.clock), host=host, port=port,
                log_level="info")


@db_app.command("upgrade")
def db_upgrade(ctx: typer.Context) -> None:
    """Apply database migrations (Alembic) up to the newest."""
    from digiden.store.migrate import current_revision, head_revision, upgrade
    rt = runtime(ctx)
    before = current_revision(rt.engine)
    upgrade(rt.engine)
    after = current_revision(rt.engine)
    out.print(f"database at revision {after} (was {before or 'empty'}; head {head_revision()})")


@db_app.command("init")
def db_init(ctx: typer.Context, json_out: JsonOpt = False) -> None:
    """Load the packaged reference data: local governments, the national strategy, reported
    actuals. Safe to run again: nothing is duplicated."""
    from digiden.services.reference import init_reference_data
    rt = runtime(ctx)
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
    for kind in sorted(set(report.created) | set(report.updated) | set(report.unchanged)):
        out.print(f"{kind}: {report.created.get(kind, 0)} created, "
                  f"{report.updated.get(kind, 0)} updated, "
                  f"{report.unchanged.get(kind, 0)} unchanged")


# ------------------------------------------------------------------ kpi

@kpi_app.command("list")
def kpi_list(ctx: typer.Context, json_out: JsonOpt = False,
             block: Annotated[str | None, typer.Option(help="Only this KPI block.")] = None) -> None:
    """Every KPI with its targets and status."""
    from digiden.services.kpis import list_kpis
    rt = runtime(ctx)
    views = [k for k in list_kpis(rt.uow(), today=rt.today) if block in (None, k.block_code)]
    if json_out:
        emit_json([k.as_dict() for k in views])
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


@kpi_app.command("show")
def kpi_show(ctx: typer.Context, code: str, json_out: JsonOpt = False) -> None:
    """One KPI: targets, milestones, status and observations."""
    from digiden.services.kpis import get_kpi
    rt = runtime(ctx)
    d = get_kpi(rt.uow(), code, today=rt.today)
    k = d.kpi
    if json_out:
        emit_json(k.as_dict() | {"observations": [o.as_dict() for o in d.observations]})
        return
    out.print(f"[bold]{k.name}[/bold] ({k.code})")
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
    """Record an observed value (the same KPI, unit, date and breakdown is updated)."""
    from digiden.services.observations import ObservationInput, add_observation
    rt = runtime(ctx)
    view, created = add_observation(
        rt.uow(), ObservationInput(kpi, as_of, value, org_unit, breakdown, qualifier, source,
                                   source_url, note),
        actor=rt.actor, now=rt.clock(), today=rt.today)
    if json_out:
        emit_json(view.as_dict() | {"created": created})
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
    """List observations, filtered by KPI, local government and period."""
    from digiden.services.observations import list_observations
    rt = runtime(ctx)
    rows = list_observations(rt.uow(), kpi=kpi, org_unit=org_unit, date_from=date_from,
                             date_to=date_to)
    if json_out:
        emit_json([o.as_dict() for o in rows])
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
              limit: Annotated[int, typer.Option(help="At most this many.")] = 50,
              json_out: JsonOpt = False) -> None:
    """Search local governments by name, kana (any script) or code."""
    from digiden.services.localgov import search
    rt = runtime(ctx)
    rows, total = search(rt.uow(), query, prefecture=prefecture, kind=kind, limit=limit)
    if json_out:
        emit_json({"total": total, "items": [r.as_dict() for r in rows]})
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
    """One local government: population, aging rate, city hall, website, case studies."""
    from digiden.services.localgov import get
    rt = runtime(ctx)
    d = get(rt.uow(), code)
    if json_out:
        emit_json(d.as_dict())
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
    """All 1,788 local governments."""
    from digiden.services.localgov import list_all
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
              = None, limit: int = 50, json_out: JsonOpt = False) -> None:
    """Show the audit history (who changed what, when, before and after)."""
    from digiden.services.audit import history
    rt = runtime(ctx)
    rows = history(rt.uow(), kpi_code=kpi, org_unit_code=org_unit, limit=limit)
    if json_out:
        emit_json([{"at": e.at.isoformat(), "actor": e.actor, "action": e.action,
                    "entity": e.entity, "key": e.entity_key, "summary": e.summary,
                    "before": e.before, "after": e.after} for e in rows])
        return
    for e in rows:
        out.print(f"{e.at:%Y-%m-%d %H:%M} {e.actor} {e.action} {e.summary}")


# ------------------------------------------------------------------ import / export

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
    """
    from digiden.services.imports import ImportFailed, ImportOptions, run_import
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
    with Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.percentage:>3.0f}%"),
                  console=err, disable=json_out or not err.is_terminal) as bar:
        task = bar.add_task(f"importing {file.name}", total=1.0)
        try:
            report = run_import(rt.uow(), file, opts, actor=rt.actor, now=rt.clock(),
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
    """Export KPIs, targets, observations and statuses (CSV for Excel, .xlsx, JSON)."""
    from digiden.services.exports import TABLES, export
    rt = runtime(ctx)
    counts = export(rt.uow(), fmt, out_path, today=rt.today, encoding=encoding,
                    tables=tuple(table) if table else TABLES, kpi=kpi)
    out.print(f"wrote {out_path}: " + ", ".join(f"{t} {n}" for t, n in counts.items()))


@app.command("validate")
def validate_cmd(ctx: typer.Context, kpi: Annotated[str | None, typer.Option(help="Only this KPI.")] = None,
                 json_out: JsonOpt = False) -> None:
    """Run every KPI's validation rules over the stored data. Exits 1 if an error-level rule fails."""
    from digiden.services.validation import run_rules
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
    """Import batches, newest first."""
    from digiden.services.imports import list_batches
    rows = list_batches(runtime(ctx).uow())
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
def batch_show(ctx: typer.Context, batch_id: int, json_out: JsonOpt = False) -> None:
    """One import batch."""
    from digiden.services.imports import get_batch
    b = get_batch(runtime(ctx).uow(), batch_id)
    if json_out:
        emit_json(b.as_dict())
    else:
        for k, v in b.as_dict().items():
            out.print(f"{k}: {v}")


@batch_app.command("revert")
def batch_revert(ctx: typer.Context, batch_id: int, json_out: JsonOpt = False) -> None:
    """Revert a whole import batch: what it created goes, what it overwrote comes back."""
    from digiden.services.imports import revert_batch
    rt = runtime(ctx)
    b = revert_batch(rt.uow(), batch_id, actor=rt.actor, now=rt.clock())
    if json_out:
        emit_json(b.as_dict())
    else:
        out.print(f"batch {b.id} ({b.file_name}) reverted")


@mapping_app.command("list")
def mapping_list(ctx: typer.Context, json_out: JsonOpt = False) -> None:
    """Saved column mappings."""
    from digiden.services.imports import list_mappings
    rows = list_mappings(runtime(ctx).uow())
    if json_out:
        emit_json(rows)
    else:
        for m in rows:
            out.print(f"{m['name']}: {m['mapping']}")


def exit_code_for(e: DigidenError) -> int:
    """The one place digiden errors become exit codes: 2 invalid input, 3 not found, else 1."""
    return EXIT_CODES.get(type(e), 1)


def error_line(e: DigidenError) -> str:
    return f"error: {e.message}" + (f" (field: {e.field})" if e.field else "")


def main() -> None:
    """Entry point: run the app, turning digiden errors into one message and an exit code."""
    try:
        app(standalone_mode=False)
    except DigidenError as e:
        err.print(error_line(e), markup=False, highlight=False)
        raise SystemExit(exit_code_for(e)) from None
    except typer.Abort:
        raise SystemExit(1) from None
    except Exception as e:  # click usage errors
        import click
        if isinstance(e, click.exceptions.ClickException):
            e.show()
            raise SystemExit(e.exit_code) from None
        if isinstance(e, click.exceptions.Exit):
            raise SystemExit(e.exit_code) from None
        raise
