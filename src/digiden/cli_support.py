"""CLI commands of 重点支援 (issue 14): the support programmes with digiden's count of their
selections, a call with its rubric, the selection proposal (optimal beside greedy, every
application's outcome explained), an application's files, and the selected regions with their
yearly evaluation (選定地域の評価). Registered on the `digiden` app (digiden.cli_common) when
digiden.cli first needs the whole list of commands or one of these, so `digiden serve` never
imports the selection solver. ``--json`` prints the API's shapes (digiden.shapes.support)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from digiden.cli_common import JsonOpt, app, emit_json, out, runtime
from digiden.domain.errors import InvalidInput

STATE_JA = {"selected": "選定", "realised": "実現", "registered": "登録", "cancelled": "取消"}

programme_app = typer.Typer(pretty_exceptions_enable=False, no_args_is_help=True,
                            help="Support programmes (重点支援の制度) and their selected regions.\n\n"
                                 "Examples:\n\n"
                                 "digiden programme list\n"
                                 "digiden programme show decarbonization-leading --json")
call_app = typer.Typer(pretty_exceptions_enable=False, no_args_is_help=True,
                       help="Calls for proposals (公募) of a support programme.\n\n"
                            "Example:\n\n"
                            "digiden call show 1")
application_app = typer.Typer(pretty_exceptions_enable=False, no_args_is_help=True,
                              help="Applications to a call (申請) and their files (添付資料).\n\n"
                                   "Examples:\n\n"
                                   "digiden application files 1\n"
                                   "digiden --as demo-aizuwakamatsu application attach 5 計画書.pdf")
region_app = typer.Typer(pretty_exceptions_enable=False, no_args_is_help=True,
                         help="Selected model regions (選定地域), the KPIs they committed to and their progress.\n\n"
                              "Examples:\n\n"
                              "digiden region list --programme digital-garden-city-grant\n"
                              "digiden region show digital-garden-city-grant:call1:app1")
evaluation_app = typer.Typer(pretty_exceptions_enable=False, no_args_is_help=True,
                             help="The yearly evaluation of selected regions (自己評価 and 国の評価).\n\n"
                                  "Examples:\n\n"
                                  "digiden evaluation list --fy 2026\n"
                                  "digiden evaluation list --region digital-garden-city-grant:call1:app1")
app.add_typer(programme_app, name="programme")
app.add_typer(call_app, name="call")
app.add_typer(application_app, name="application")
app.add_typer(region_app, name="region")
app.add_typer(evaluation_app, name="evaluation")


def _dt(value: Any) -> str:
    from digiden.domain.support import jst_text
    return jst_text(value).removesuffix("（日本時間）") if value is not None else "—"


@programme_app.command("list")
def programme_list(ctx: typer.Context, json_out: JsonOpt = False) -> None:
    """The five support programmes, their national KPI and the selections digiden counts.

    The count is digiden's (published selections, cancelled ones left out); the national KPI's
    published figure is its own observation (digiden kpi show CODE), never added to it.

    --json prints the API's /api/v1/programmes.

    Examples:

    digiden programme list
    digiden programme list --json
    """
    from digiden.services.support import programmes as pg
    from digiden.shapes.support import ProgrammeOut
    rows = pg.list_programmes(runtime(ctx).uow())
    if json_out:
        emit_json([ProgrammeOut.model_validate(p).model_dump(mode="json") for p in rows])
        return
    t = Table(title="重点支援の制度")
    for col in ("code", "制度", "種類", "所管", "国のKPI", "digidenの集計"):
        t.add_column(col)
    for p in rows:
        t.add_row(p.code, p.name, p.kind_ja, p.ministry, p.national_kpi or "—", f"{p.selections}件")
    out.print(t)


@programme_app.command("show")
def programme_show(ctx: typer.Context,
                   code: Annotated[str, typer.Argument(help="Programme code (digiden programme list).")],
                   json_out: JsonOpt = False) -> None:
    """A programme: its calls, its selections counted (by state and prefecture) and its regions.

    --json prints the API's /api/v1/programmes/{code}.

    Examples:

    digiden programme show decarbonization-leading
    digiden programme show digital-garden-city-grant --json
    """
    from digiden.services.support import programmes as pg
    from digiden.shapes.support import CallOut, ProgrammeDetailOut, ProgrammeOut, SelectionCountOut
    rt = runtime(ctx)
    uow, now = rt.uow(), rt.clock()
    p = pg.get_programme(uow, code)
    calls = pg.list_calls(uow, programme=code, now=now)
    count = pg.count_selections(uow, code)
    if json_out:
        emit_json(ProgrammeDetailOut(**dict(ProgrammeOut.model_validate(p)),
                                     calls=[CallOut.model_validate(c) for c in calls],
                                     count=SelectionCountOut.model_validate(count)).model_dump(mode="json"))
        return
    out.print(f"[bold]{p.name}[/bold] ({p.code}) {p.kind_ja}・{p.ministry}")
    out.print(f"国のKPI: {p.national_kpi or '—'}（公表値は digiden kpi show で。下の集計とは合算しません）")
    states = "・".join(f"{STATE_JA.get(k, k)} {v}件" for k, v in count.by_state.items()) or "なし"
    out.print(f"digiden の集計: {count.total}件（{states}）、参加団体 {len(count.local_governments)}団体")
    t = Table(title="公募")
    for col in ("id", "回", "名称", "受付期間（日本時間）", "状況"):
        t.add_column(col)
    for c in calls:
        state = "採択結果公表済み" if c.published_at else "選定済み" if c.decided_at else c.phase
        t.add_row(str(c.id), str(c.round), c.title + (" (合成データ)" if c.synthetic else ""),
                  f"{_dt(c.opens_at)} 〜 {_dt(c.closes_at)}", state)
    out.print(t)
    if count.by_prefecture:
        t = Table(title="選定地域（代表団体の都道府県別、取消を除く）")
        t.add_column("都道府県コード")
        t.add_column("件数", justify="right")
        for pref, n in count.by_prefecture.items():
            t.add_row(pref, str(n))
        out.print(t)


@call_app.command("show")
def call_show(ctx: typer.Context, call_id: Annotated[int, typer.Argument(help="Call id (digiden programme show).",
                                                                         min=1)],
              json_out: JsonOpt = False) -> None:
    """A call: dates in Japan time, budget, rubric with weights, eligibility, and the applications
    you may open (--as an account; the server operator sees every one).

    --json prints {"call": the API's /api/v1/calls/{id}, "applications": [...]}.

    Examples:

    digiden call show 1
    digiden --as demo-aizuwakamatsu call show 1 --json
    """
    from digiden.services.support import applications as apps
    from digiden.services.support import programmes as pg
    from digiden.shapes.support import ApplicationOut, CallOut
    rt = runtime(ctx)
    c = pg.get_call(rt.uow(), call_id, now=rt.clock())
    visible = apps.list_for_call(rt.uow(), rt.principal(), call_id)
    if json_out:
        emit_json({"call": CallOut.model_validate(c).model_dump(mode="json"),
                   "applications": [ApplicationOut.model_validate(a).model_dump(mode="json") for a in visible]})
        return
    out.print(f"[bold]{c.title}[/bold]" + (" (合成データ)" if c.synthetic else ""))
    out.print(f"{c.programme_name} 第{c.round}回・受付 {_dt(c.opens_at)} 〜 {_dt(c.closes_at)}（日本時間）")
    budget = f"{c.budget:,}円" if c.budget is not None else "定めなし"
    cap = f"（1件あたり上限 {c.per_application_cap:,}円）" if c.per_application_cap is not None else ""
    out.print(f"予算: {budget}{cap}・共同提案: {'可' if c.joint_allowed else '不可'}"
              + (f"（加点 {c.joint_bonus:g}点）" if c.joint_allowed and c.joint_bonus else ""))
    if c.published_at:
        out.print(f"採択結果: {_dt(c.published_at)} 公表（/api/v1/calls/{c.id}/results?format=csv）")
    t = Table(title="評価基準")
    for col in ("code", "基準", "配点", "尺度"):
        t.add_column(col)
    for k in c.criteria:
        t.add_row(k.code, k.name + (" (地域間連携)" if k.regional_collaboration else ""), f"{k.weight:g}",
                  f"0〜{k.max_points:g}")
    out.print(t)
    t = Table(title="閲覧できる申請")
    for col in ("id", "提案", "代表団体", "要望額（円）", "状態"):
        t.add_column(col)
    for a in visible:
        t.add_row(str(a.id), a.title + (" (共同)" if a.joint else ""), a.lead_name,
                  "—" if a.requested_amount is None else f"{a.requested_amount:,}", a.status_ja)
    out.print(t)


@app.command("select")
def select_cmd(
    ctx: typer.Context,
    call_id: Annotated[int, typer.Argument(metavar="CALL", help="Call id (digiden programme show).", min=1)],
    every_prefecture: Annotated[bool, typer.Option(
        "--every-prefecture", help="At least one selection in every prefecture with an eligible application.")] = False,
    cap: Annotated[str | None, typer.Option("--cap", help="At most N selections per prefecture.")] = None,
    min_joint: Annotated[str | None, typer.Option(
        "--min-joint", help="Minimum share of joint proposals among the selected, 0..1 (or 30%).")] = None,
    min_score: Annotated[str | None, typer.Option("--min-score", help="Minimum score (of 100).")] = None,
    budget: Annotated[str | None, typer.Option("--budget", help="Yen; default the call's budget.")] = None,
    max_selections: Annotated[str | None, typer.Option("--max", help="At most N selections.")] = None,
    json_out: JsonOpt = False,
) -> None:
    """The selection proposal of a call (national administrators; nothing is written): the
    optimal set under the budget and the policy, beside greedy, every application's outcome
    with its reason. An infeasible policy is refused naming the constraint.

    --json prints {"selected", "not_selected": [{"application", "reason", ...}], "total_score",
    "budget_used", "budget", "constraints", "greedy": {...}, ...} as /api/v1/calls/{id}/selection.

    Examples:

    digiden select 1
    digiden select 1 --every-prefecture --cap 2 --json
    digiden select 1 --min-joint 0.3 --min-score 60
    """
    from digiden.services.support import selection
    rt = runtime(ctx)
    policy = {"budget": budget, "min_score": min_score, "max_selections": max_selections,
              "every_prefecture": every_prefecture, "per_prefecture_cap": cap, "min_joint_share": min_joint}
    d = selection.propose(rt.uow(), rt.principal(), call_id, policy).as_dict()
    if json_out:
        from digiden.shapes.support import SelectionOut
        emit_json(SelectionOut.model_validate(d).model_dump(mode="json"))
        return
    g = d["greedy"]
    budget_txt = f" / {d['budget']:,}円" if d["budget"] is not None else ""
    out.print(f"最適解: 評価点合計 {d['total_score']:.2f}・予算 {d['budget_used']:,}円{budget_txt}"
              f"・{len(d['selected'])}件")
    out.print(f"貪欲法: 評価点合計 {g['total_score']:.2f}・予算 {g['budget_used']:,}円・{len(g['selected'])}件"
              f"（差 {d['gain']:.2f}）")
    for k in d["constraints"]:
        out.print(f"- {'満たす' if k['met'] else '満たさない'}: {k['label_ja']} {k['detail']}".rstrip(),
                  markup=False)
    t = Table(title="申請ごとの結果")
    for col in ("id", "提案", "評価点", "要望額（円）", "結果", "理由"):
        t.add_column(col)
    chosen = set(d["selected"])
    for o in d["outcomes"]:
        t.add_row(str(o["application"]), o["title"], "未審査" if o["score"] is None else f"{o['score']:.2f}",
                  f"{o['amount']:,}", "選定" if o["application"] in chosen else "不選定", o["reason_ja"])
    out.print(t)
    for n in d["notes"]:
        out.print(n, markup=False)


# ---------------------------------------------------------------- application files


@application_app.command("files")
def application_files(ctx: typer.Context,
                      app_id: Annotated[int, typer.Argument(metavar="APP", help="Application id (digiden call show).",
                                                            min=1)],
                      json_out: JsonOpt = False) -> None:
    """The files attached to an application you may open (--as an account), with their size and
    SHA-256; an application you may not open is "not found" (exit 3), as in the app.

    --json prints the API's /api/v1/applications/{id}/attachments.

    Examples:

    digiden application files 1
    digiden --as demo-kitakata application files 1 --json
    """
    from digiden.services.support import attachments
    from digiden.shapes.support import AttachmentOut
    rt = runtime(ctx)
    rows = attachments.list_for(rt.uow(), rt.principal(), app_id)
    if json_out:
        emit_json([AttachmentOut.model_validate(x).model_dump(mode="json") for x in rows])
        return
    out.print(f"[bold]申請 {app_id} の添付資料[/bold]（{len(rows)}件）")
    for x in rows:      # lines, not a table: the SHA-256 is read and compared whole
        out.print(f"- {x.id}: {x.file_name}（{x.size:,}バイト）{x.uploaded_by}・{_dt(x.uploaded_at)}（日本時間）",
                  markup=False, highlight=False, soft_wrap=True)
        out.print(f"  SHA-256 {x.sha256}", markup=False, highlight=False, soft_wrap=True)


def _upload(path: Path, max_bytes: int) -> tuple[str, bytes]:
    """A file's name and bytes, read only up to the limit (the service's own check, naming the
    file in Japanese, refuses a larger one)."""
    try:
        with path.open("rb") as f:
            return path.name, f.read(max_bytes + 1)
    except OSError:
        raise InvalidInput(f"cannot read {path}", field="files",
                           message_ja=f"添付ファイル「{path}」を読めません（存在しないか、ファイルではありません）"
                           ) from None


@application_app.command("attach")
def application_attach(
    ctx: typer.Context,
    app_id: Annotated[int, typer.Argument(metavar="APP", help="Application id (a draft).", min=1)],
    files: Annotated[list[Path], typer.Argument(metavar="FILE...", help="PDF (.pdf) or Excel (.xlsx) files.")],
    json_out: JsonOpt = False,
) -> None:
    """Attach files to a draft application (its lead's staff: use --as). PDF and .xlsx only,
    recognised by their content, at most 10 MiB each and 20 per application. Every file is
    checked before anything is written: one refused file refuses them all (exit 2, naming it).

    --json prints the added files as the API's POST /api/v1/applications/{id}/attachments.

    Examples:

    digiden --as demo-aizuwakamatsu application attach 5 計画書.pdf 収支.xlsx
    digiden --as demo-aizuwakamatsu application attach 5 計画書.pdf --json
    """
    from digiden.services.support import attachments
    from digiden.shapes.support import AttachmentOut
    rt = runtime(ctx)
    got = [attachments.Upload(*_upload(f, attachments.MAX_BYTES)) for f in files]
    added = attachments.add(rt.uow(), rt.principal(), app_id, got, now=rt.clock())
    if json_out:
        emit_json([AttachmentOut.model_validate(x).model_dump(mode="json") for x in added])
        return
    for x in added:
        out.print(f"添付しました: {x.file_name}（{x.size:,}バイト、SHA-256 {x.sha256}）", markup=False)


# ---------------------------------------------------------------- selected regions and evaluations

RegionArg = Annotated[str, typer.Argument(metavar="KEY", help="The selected region's key (digiden region list).")]


@region_app.command("list")
def region_list(ctx: typer.Context,
                programme: Annotated[str | None, typer.Option(
                    "--programme", help="Only this programme's regions (digiden programme list).")] = None,
                json_out: JsonOpt = False) -> None:
    """Selected model regions (published selections; cancelled ones included with their state).
    Public, like the list of selections on the programme pages.

    --json prints the API's /api/v1/regions[?programme=CODE].

    Examples:

    digiden region list --programme digital-garden-city-grant
    digiden region list --programme decarbonization-leading --json
    """
    from digiden.services.support import programmes as pg
    from digiden.shapes.support import PublishedSelectionOut
    uow = runtime(ctx).uow()
    codes = [programme] if programme else [p.code for p in pg.list_programmes(uow)]
    rows = [x for c in codes for x in pg.list_selections(uow, c)]
    if json_out:
        emit_json([PublishedSelectionOut.model_validate(x).model_dump(mode="json") for x in rows])
        return
    t = Table(title="選定地域" + (f"（{programme}）" if programme else ""))
    t.add_column("key", no_wrap=True, min_width=max((len(x.key) for x in rows), default=3))  # copied whole
    if not programme:
        t.add_column("制度")
    for col in ("名称", "代表団体", "選定日", "状態"):
        t.add_column(col, overflow="fold")
    for x in rows:
        t.add_row(x.key, *([] if programme else [x.programme]), x.title + (" (合成データ)" if x.synthetic else ""),
                  x.lead_name + (f" ほか{len(x.members)}団体" if x.members else ""), x.selected_on.isoformat(),
                  STATE_JA.get(x.state, x.state))
    out.print(t)
    if synthetic := sum(x.synthetic for x in rows):
        out.print(f"うち合成データ（デモ用、実在の選定ではありません）: {synthetic}件")


def _number_text(v: float | None, unit: str = "") -> str:
    return "—" if v is None else f"{v:,.10g}{unit}"


def _print_evaluation(e: Any) -> None:
    rating = f"総合評価 {e.rating}（{e.rating_ja}）" if e.rating else "総合評価 未記入"
    out.print(f"[bold]{e.fiscal_year}年度 {e.kind_ja}[/bold]（{e.state_ja}）{rating}"
              + (" (合成データ)" if e.synthetic else ""))
    when = f"提出 {_dt(e.submitted_at)}" if e.submitted_at else f"保存 {_dt(e.updated_at)}"
    out.print(f"{e.created_by}・{when}（日本時間）・版 {e.version}", markup=False)
    if e.summary:
        out.print(e.summary, markup=False)
    if e.progress:
        t = Table()
        for col in ("#", "KPI", "実績", "進捗", "理由", "補足"):
            t.add_column(col, overflow="fold")
        for k in e.progress:
            t.add_row(str(k.index), k.name, _number_text(k.actual, k.unit), k.status_ja, k.reason, k.note)
        out.print(t)


@region_app.command("show")
def region_show(ctx: typer.Context, key: RegionArg, json_out: JsonOpt = False) -> None:
    """A selected region: its lead and members, the KPIs its application committed to, and the
    evaluation reports you may see (--as an account; the public sees submitted national
    assessments), each KPI's progress judged as the national KPIs' (docs/methodology.md).

    --json prints the API's /api/v1/regions/{key}.

    Examples:

    digiden region show digital-garden-city-grant:call1:app1
    digiden --as demo-iide region show digital-garden-city-grant:call1:app1 --json
    """
    from digiden.services.support import evaluations
    from digiden.shapes.support import RegionOut
    rt = runtime(ctx)
    r = evaluations.get_region(rt.uow(), rt.principal(), key)
    if json_out:
        emit_json(RegionOut.model_validate(r).model_dump(mode="json"))
        return
    out.print(f"[bold]{r.title}[/bold]" + (" (合成データ)" if r.synthetic else ""), highlight=False)
    out.print(f"{r.programme_name}・{STATE_JA.get(r.state, r.state)}・選定日 {r.selected_on.isoformat()}", markup=False)
    members = "、".join(name for _code, name in r.members)
    out.print(f"代表団体: {r.lead_name}（{r.lead_code}）" + (f"・構成団体: {members}" if members else ""),
              markup=False)
    if r.application is None:
        out.print("公表資料から読み込んだ選定地域です（digiden の申請で約束した KPI はなく、評価の対象外です）。")
    t = Table(title="約束した KPI")
    for col in ("#", "KPI", "基準値", "目標値", "目標年度"):
        t.add_column(col)
    for k in r.kpis:
        t.add_row(str(k.index), k.name, _number_text(k.baseline, k.unit), _number_text(k.target, k.unit),
                  f"{k.target_fy}年度" if k.target_fy else "—")
    out.print(t)
    if not r.evaluations:
        out.print("閲覧できる評価はまだありません。")
    for e in r.evaluations:
        _print_evaluation(e)
    can = [label for label, ok in (("自己評価", r.may_write_self), ("国の評価", r.may_write_national)) if ok]
    if can:
        out.print(f"あなたが記入できる評価: {'・'.join(can)}（digiden evaluation write {r.key} 年度 self|national）",
                  markup=False)


@evaluation_app.command("list")
def evaluation_list(
    ctx: typer.Context,
    region: Annotated[str | None, typer.Option("--region", help="Only this region's reports (its key).")] = None,
    fy: Annotated[int | None, typer.Option("--fy", help="Only this fiscal year (年度, 西暦).", min=2000,
                                           max=2200)] = None,
    programme: Annotated[str | None, typer.Option("--programme", help="Only this programme's regions.")] = None,
    json_out: JsonOpt = False,
) -> None:
    """The evaluation reports you may see (--as an account), newest fiscal year first: the public
    sees submitted national assessments; the region, its prefecture and national staff also the
    submitted self-assessments; a draft only its writers' side.

    --json prints the API's /api/v1/evaluations?programme=&fiscal_year= (with --region, only that
    region's reports; an unknown region is exit 3).

    Examples:

    digiden evaluation list --fy 2026
    digiden --as demo-fukushima evaluation list \\
        --region digital-garden-city-grant:call1:app1 --json
    """
    from digiden.services.support import evaluations
    from digiden.shapes.support import EvaluationOut
    rt = runtime(ctx)
    uow, p = rt.uow(), rt.principal()
    if region is not None:
        r = evaluations.get_region(uow, p, region)
        if programme and r.programme != programme:
            rows = []
        else:
            rows = sorted((e for e in r.evaluations if fy is None or e.fiscal_year == fy),
                          key=lambda e: (-e.fiscal_year, e.region, e.kind))
    else:
        rows = evaluations.list_evaluations(uow, p, programme=programme, fiscal_year_=fy)
    if json_out:
        emit_json([EvaluationOut.model_validate(e).model_dump(mode="json") for e in rows])
        return
    out.print("[bold]選定地域の評価[/bold]" + (f"（{len(rows)}件）" if rows else ""))
    for e in rows:      # lines, not a table: the region's key is read and copied whole
        rating = f"総合評価 {e.rating}（{e.rating_ja}）" if e.rating else "総合評価 未記入"
        out.print(f"- {e.region} {e.fiscal_year}年度 {e.kind_ja}（{e.state_ja}）{rating}"
                  + (" (合成データ)" if e.synthetic else ""), markup=False, highlight=False, soft_wrap=True)
        for k in e.progress:
            shown = "" if k.actual is None else f" 実績 {_number_text(k.actual, k.unit)}"
            out.print(f"  {k.name}:{shown} {k.status_ja}", markup=False, highlight=False, soft_wrap=True)
    if not rows:
        out.print("閲覧できる評価はありません。")


def _pairs(items: list[str] | None, option: str, *, number: bool) -> dict[int, str]:
    """INDEX=VALUE pairs: the committed KPI's number and its value (checked by the service)."""
    got: dict[int, str] = {}
    for item in items or []:
        index, sep, value = item.partition("=")
        if not sep or not index.strip().isdigit():
            example = "0=1050" if number else "0=窓口で案内"
            raise InvalidInput(f"{option} takes INDEX=VALUE, e.g. {example}, not {item!r}", field=option.lstrip("-"),
                               message_ja=f"{option} は「KPIの番号=値」の形で指定してください（例: {example}）")
        got[int(index)] = value.strip()
    return got


def _report_doc(path: Path) -> dict[str, Any]:
    """The body of PUT /api/v1/regions/{key}/evaluations/{fy}/{kind} from a JSON or YAML file."""
    import json

    import yaml
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InvalidInput(f"no file {path}", field="from", message_ja=f"ファイル「{path}」が見つかりません") from None
    except (OSError, UnicodeDecodeError):
        raise InvalidInput(f"cannot read {path}", field="from",
                           message_ja=f"ファイル「{path}」を UTF-8 のテキストとして読めません") from None
    try:
        doc = json.loads(text) if path.suffix.lower() == ".json" else yaml.safe_load(text)
    except (ValueError, yaml.YAMLError):
        raise InvalidInput(f"{path} is not JSON or YAML", field="from",
                           message_ja=f"ファイル「{path}」は JSON でも YAML でもありません") from None
    if not isinstance(doc, dict):
        raise InvalidInput(f"{path} is not an object of summary, rating and values", field="from",
                           message_ja=f"ファイル「{path}」には summary・rating・values を持つオブジェクトを"
                                      "書いてください")
    return doc


@evaluation_app.command("write")
def evaluation_write(
    ctx: typer.Context,
    key: RegionArg,
    fy: Annotated[int, typer.Argument(metavar="FY", help="The fiscal year reported on (年度, 西暦), e.g. 2026.")],
    kind: Annotated[str, typer.Argument(metavar="self|national",
                                        help="self (自己評価, the region's staff) or national (国の評価).")],
    summary: Annotated[str | None, typer.Option("--summary", help="The summary (評価の概要).")] = None,
    rating: Annotated[str | None, typer.Option(
        "--rating", help="A 計画を上回る, B おおむね計画どおり, C やや遅れている, D 遅れている.")] = None,
    actual: Annotated[list[str] | None, typer.Option(
        "--actual", metavar="INDEX=VALUE", help="A committed KPI's actual value (repeatable; INDEX as in region "
                                                "show).")] = None,
    note: Annotated[list[str] | None, typer.Option(
        "--note", metavar="INDEX=TEXT", help="A note on a committed KPI's value (repeatable).")] = None,
    from_file: Annotated[Path | None, typer.Option(
        "--from", help="A JSON or YAML file shaped as the API's body (summary, rating, values); options override it.")
    ] = None,
    submit: Annotated[bool, typer.Option("--submit", help="Submit it too (it then no longer changes).")] = False,
    version: Annotated[int | None, typer.Option(
        "--version", min=0, max=2**31 - 1,
        help="The report's version as you read it (0 for a new one): refused (exit 5) if saved since.")] = None,
    json_out: JsonOpt = False,
) -> None:
    """Write a region's self-assessment or national assessment for a fiscal year (a draft, or
    submitted with --submit, in one step: a report that cannot be submitted is not saved either).
    Acts as --as ACCOUNT: the region's staff write `self`, national administrators and the
    programme's ministry `national`. What you do not give is kept from the draft; with only
    --submit, the draft is submitted as it is. --from FILE reads a JSON or YAML file shaped as
    the API's body ({"summary", "rating", "values": [{"index", "actual", "note"}]}). Bad input is
    one line (exit 2), nothing written.

    --json prints the report as the API's PUT /api/v1/regions/{key}/evaluations/{fy}/{kind}.

    Examples:

    digiden --as demo-iide evaluation write \\
        digital-garden-city-grant:call1:app3 2026 self --rating B --summary 順調
    digiden --as demo-iide evaluation write \\
        digital-garden-city-grant:call1:app3 2026 self --summary 順調 --submit
    digiden evaluation write digital-garden-city-grant:call1:app3 2026 national \\
        --summary 計画どおり --rating B --json
    """
    from digiden.services.support import evaluations
    from digiden.shapes.support import EvaluationOut
    rt = runtime(ctx)
    actuals, notes = _pairs(actual, "--actual", number=True), _pairs(note, "--note", number=False)
    given = from_file is not None or summary is not None or rating is not None or actuals or notes
    if not given and not submit:
        raise InvalidInput("nothing to write: give --summary, --rating, --actual, --note, --from or --submit",
                           field="summary", message_ja="書く内容がありません。--summary・--rating・--actual・"
                                                       "--note・--from・--submit のどれかを指定してください")
    uow, p, now = rt.uow(), rt.principal(), rt.clock()
    if not given:
        e = evaluations.submit(uow, p, key, fy, kind, now=now, version=version)
    else:
        current = next((x for x in evaluations.get_region(uow, p, key).evaluations
                        if x.fiscal_year == fy and x.kind == kind.strip()), None)
        doc: dict[str, Any] = {"summary": current.summary if current else "",
                               "rating": current.rating if current else None,
                               "values": [{"index": k.index, "actual": k.actual, "note": k.note}
                                          for k in (current.progress if current else ())
                                          if k.actual is not None or k.note]}
        if from_file is not None:
            doc |= {k: v for k, v in _report_doc(from_file).items() if k in ("summary", "rating", "values")}
        if summary is not None:
            doc["summary"] = summary
        if rating is not None:
            doc["rating"] = rating
        if actuals or notes:
            values = doc.get("values")
            by_index: dict[Any, dict[str, Any]] = {
                v.get("index"): dict(v) for v in (values if isinstance(values, list) else []) if isinstance(v, dict)}
            for i, a in actuals.items():
                by_index.setdefault(i, {"index": i})["actual"] = a
            for i, n in notes.items():
                by_index.setdefault(i, {"index": i})["note"] = n
            doc["values"] = list(by_index.values())
        e = evaluations.save(uow, p, key, fy, kind, doc, now=now,
                             version=version if version is not None else (current.version if current else 0),
                             submit_too=submit)
    if json_out:
        emit_json(EvaluationOut.model_validate(e).model_dump(mode="json"))
        return
    out.print(f"{e.fiscal_year}年度の{e.kind_ja}を{'提出' if e.state == 'submitted' else '保存（下書き）'}"
              f"しました（版 {e.version}）", markup=False)
    _print_evaluation(e)
