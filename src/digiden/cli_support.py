"""CLI commands of 重点支援 (issue 14): the support programmes with digiden's count of their
selections, a call with its rubric, and the selection proposal (optimal beside greedy, every
application's outcome explained). Registered on the `digiden` app (digiden.cli_common) when
digiden.cli first needs the whole list of commands or one of these, so `digiden serve` never
imports the selection solver. ``--json`` prints the API's shapes (digiden.shapes.support)."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table

from digiden.cli_common import JsonOpt, app, emit_json, out, runtime

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
app.add_typer(programme_app, name="programme")
app.add_typer(call_app, name="call")


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
