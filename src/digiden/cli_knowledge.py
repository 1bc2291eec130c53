"""CLI commands for the knowledge side: search, the measures catalogue and roadmap, the menu
book, good practices and their spread, similar municipalities, recommendations, partners and
collaboration groups. Registered on the `digiden` app (digiden.cli_common) when digiden.cli imports it."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import BaseModel
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn
from rich.table import Table

from digiden.cli_common import JsonOpt, LgArg, app, emit_json, out, runtime
from digiden.domain.errors import InvalidInput
from digiden.shapes import knowledge as shapes

PracticeArg = Annotated[str, typer.Argument(help="Practice code, e.g. sakai-autonomous-bus (digiden practice list).")]
practice_app = typer.Typer(pretty_exceptions_enable=False, no_args_is_help=True,
                           help="Good practices (優良事例): add, import, list, show, review, adopt (横展開).\n\n"
                                "Examples:\n\n"
                                "digiden practice list --field P4\n"
                                "digiden practice show sakai-autonomous-bus")
measure_app = typer.Typer(pretty_exceptions_enable=False, no_args_is_help=True,
                          help="The measures catalogue (施策) and the roadmap (工程表).\n\n"
                               "Examples:\n\n"
                               "digiden measure list --problem mobility\n"
                               "digiden measure roadmap --by ministry")
group_app = typer.Typer(pretty_exceptions_enable=False, no_args_is_help=True,
                        help="Collaboration groups (地域間連携): create, list.\n\n"
                             "Examples:\n\n"
                             "digiden group list\n"
                             "digiden group create --name \"会津地域の除雪DX\" --member 072028 --member 072087")
app.add_typer(practice_app, name="practice")
app.add_typer(measure_app, name="measure")
app.add_typer(group_app, name="group")


def shaped(model: type[BaseModel], view: object) -> Any:
    """A service's view as the JSON it is shown as (digiden.shapes)."""
    return model.model_validate(view).model_dump(mode="json")


# ------------------------------------------------------------------ search

@app.command()
def search(ctx: typer.Context, query: Annotated[str, typer.Argument(help="Words, in Japanese or not.")],
           kind: Annotated[str, typer.Option(help="measure, practice or local_government.")] = "",
           field: Annotated[str, typer.Option(help="A field (P4.2) or pillar (P4).")] = "",
           model_type: Annotated[str, typer.Option(help="A model type code, e.g. smart-city.")] = "",
           pref: Annotated[str, typer.Option(help="Two-digit prefecture code.")] = "",
           support: Annotated[str, typer.Option(help="grant, subsidy, tax, people, advice, data_system.")] = "",
           limit: Annotated[int, typer.Option(min=1, max=100)] = 10,
           json_out: JsonOpt = False) -> None:
    """Search measures, good practices and local governments (Japanese-aware, ranked).

    --json prints [{"kind", "id", "title", "score", "snippet"}].

    Examples:

    digiden search "子育て 相談"
    digiden search 観光 --kind practice --pref 26
    digiden search 遠隔医療 --support grant --limit 5 --json
    """
    from digiden.services.knowledge import search as svc
    rt = runtime(ctx)
    r = svc.search(rt.uow(), rt.principal(), query, limit=limit, kind=kind, field=field, model_type=model_type,
                   pref=pref, support=support, with_facets=not json_out)
    if json_out:
        emit_json([shaped(shapes.SearchHit, h) for h in r.hits])
        return
    if r.message:
        out.print(r.message)
    t = Table(title=f"「{query}」 {r.total}件 (terms: {' '.join(r.terms)})")
    for col in ("kind", "id", "title", "score", "snippet"):
        t.add_column(col)
    for h in r.hits:
        t.add_row(h.kind_label, h.id, h.title + (" (合成データ)" if h.synthetic else ""), f"{h.score:.2f}",
                  h.snippet)
    out.print(t)
    if r.synonyms and r.total and not r.message:
        out.print("同じ意味の語も探しました: " + "、".join(f"{w} → {'・'.join(ws)}" for w, ws in r.synonyms.items()))
    if r.related_hits:
        related = Table(title=f"関連する語（{'・'.join(r.searched_instead)}）で見つかった記録")
        for col in ("kind", "id", "title"):
            related.add_column(col)
        for h in r.related_hits[:5]:
            related.add_row(h.kind_label, h.id, h.title + (" (合成データ)" if h.synthetic else ""))
        out.print(related)
    if r.related:
        out.print("関連する語で探す: " + "、".join(f"{w.word} ({w.count}件)" for w in r.related))


@app.command()
def reindex(ctx: typer.Context, json_out: JsonOpt = False) -> None:
    """Rebuild the search index from the measures, published practices and local governments.

    `digiden db init` does it when the reference data changed.

    Examples:

    digiden reindex
    digiden reindex --json
    """
    from digiden.services.knowledge.search import reindex as svc
    rt = runtime(ctx)
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), console=out,
                  disable=json_out) as bar:
        tasks: dict[str, TaskID] = {}

        def progress(what: str, done: int, total: int) -> None:
            if what not in tasks:
                tasks[what] = bar.add_task(what, total=total)
            bar.update(tasks[what], completed=done)
        report = svc(rt.uow(), progress)
    if json_out:
        emit_json(shaped(shapes.IndexReport, report))
        return
    out.print(f"indexed {sum(report.documents.values())} documents in {report.seconds:.1f} s: {report.documents}")


# ------------------------------------------------------------------ measures, roadmap, menu book

@measure_app.command("list")
def measure_list(ctx: typer.Context,
                 problem: Annotated[str, typer.Option(help="A social issue code (digiden measure problems).")] = "",
                 field: Annotated[str, typer.Option(help="A field (P4.2) or pillar (P4).")] = "",
                 support: Annotated[str, typer.Option(help="grant, subsidy, tax, people, advice, data_system.")] = "",
                 ministry: Annotated[str, typer.Option(help="Part of a ministry's name.")] = "",
                 json_out: JsonOpt = False) -> None:
    """Measures, found by the problem a locality has rather than by ministry.

    Examples:

    digiden measure list --problem mobility
    digiden measure list --field P4.3 --support grant
    digiden measure list --ministry 総務省 --json
    """
    from digiden.services.knowledge.catalogue import list_measures
    rt = runtime(ctx)
    rows = list_measures(rt.uow(), problem=problem or None, field=field or None, support=support or None,
                         ministry=ministry or None)
    if json_out:
        emit_json([shaped(shapes.Measure, m) for m in rows])
        return
    t = Table(title=f"measures ({len(rows)})")
    for col in ("code", "title", "ministry", "support", "practices"):
        t.add_column(col)
    for m in rows:
        t.add_row(m.code, m.title, m.ministry, m.support_label, str(len(m.practices)))
    out.print(t)


@measure_app.command("problems")
def measure_problems(ctx: typer.Context, json_out: JsonOpt = False) -> None:
    """The social issues (社会課題) measures are filed under, with the fields they map to.

    Examples:

    digiden measure problems
    digiden measure problems --json
    """
    from digiden.services.knowledge.catalogue import problems
    rows = problems(runtime(ctx).uow())
    if json_out:
        emit_json([shaped(shapes.Problem, p) for p in rows])
        return
    for p in rows:
        out.print(f"{p.code}: {p.name} ({', '.join(p.fields)})")


@measure_app.command("show")
def measure_show(ctx: typer.Context,
                 code: Annotated[str, typer.Argument(help="Measure code, e.g. transport-redesign.")],
                 json_out: JsonOpt = False) -> None:
    """One measure with its roadmap and the practices that used it.

    Examples:

    digiden measure show transport-redesign
    digiden measure show telemedicine --json
    """
    from digiden.services.knowledge.catalogue import get_measure
    m = get_measure(runtime(ctx).uow(), code)
    if json_out:
        emit_json(shaped(shapes.Measure, m))
        return
    out.print(f"[bold]{m.title}[/bold] — {m.ministry}, {m.support_label}; for {m.eligible}")
    out.print(m.summary)
    for r in m.roadmap:
        out.print(f"  FY{r.fiscal_year}{' ◆' if r.milestone else ''}: {r.text}")
    for p in m.practices:
        out.print(f"  practice {p.code}: {p.title} ({p.place})")


@measure_app.command("roadmap")
def measure_roadmap(ctx: typer.Context, by: Annotated[str, typer.Option(help="field or ministry.")] = "field",
                    json_out: JsonOpt = False) -> None:
    """The roadmap (工程表) FY2023–2027: ◆ a year with a dated KPI target, ● a year with recorded
    activity (a published national figure of its KPI, a practice that used it, that practice's
    spread), · a year with neither.

    Examples:

    digiden measure roadmap
    digiden measure roadmap --by ministry
    """
    from digiden.services.knowledge.catalogue import ROADMAP_YEARS, roadmap
    groups = roadmap(runtime(ctx).uow(), by=by)
    if json_out:
        emit_json([shaped(shapes.CliRoadmapGroup, g) for g in groups])
        return
    for g in groups:
        t = Table(title=g.label)
        t.add_column("measure")
        for y in ROADMAP_YEARS:
            t.add_column(f"FY{y}")
        for m in g.measures:
            t.add_row(m.title, *[("◆" if r.milestone else "") + ("●" if r.activities else "") or "·"
                                 for r in m.roadmap])
        out.print(t)


@app.command()
def menubook(ctx: typer.Context, output: Annotated[Path, typer.Option("-o", "--output",
                                                                      help="File to write (.html or .pdf).")],
             pillar: Annotated[str, typer.Option(help="Only this pillar/foundation area (e.g. P4).")] = "") -> None:
    """Write the menu book: measures and published good practices by field, with a table of contents.

    Printable HTML, or PDF with the Japanese font embedded.

    Examples:

    digiden menubook -o menubook.pdf
    digiden menubook -o menubook-P4.html --pillar P4
    """
    from digiden.render.menubook import render_html, render_pdf
    from digiden.services.knowledge.menubook import build
    rt = runtime(ctx)
    book = build(rt.uow(), today=rt.today, pillar=pillar or None)
    suffix = output.suffix.lower()
    if suffix == ".pdf":
        output.write_bytes(render_pdf(book))
    elif suffix in (".html", ".htm"):
        output.write_text(render_html(book), encoding="utf-8")
    else:
        raise InvalidInput("--output must end in .html or .pdf", field="output",
                           message_ja="出力ファイルは .html か .pdf にしてください")
    out.print(f"wrote {output} ({book.measure_count} measures, {book.practice_count} practices, "
              f"{len(book.chapters)} chapters)")


# ------------------------------------------------------------------ practices

@practice_app.command("add")
def practice_add(ctx: typer.Context,
                 title: Annotated[str, typer.Option(help="事例の名称.")],
                 org: Annotated[list[str], typer.Option(help="Local government code (repeat for several).")],
                 problem: Annotated[str, typer.Option(help="課題.")],
                 solution: Annotated[str, typer.Option(help="デジタルによる解決策.")],
                 field: Annotated[str, typer.Option(help="Field code, e.g. P4.2.")] = "",
                 model_type: Annotated[list[str] | None, typer.Option(help="Model type code (repeatable).")] = None,
                 results: Annotated[str, typer.Option(help="成果, in words.")] = "",
                 figure: Annotated[list[str] | None, typer.Option(
                     help="A result figure LABEL=VALUE[@YEAR], e.g. 利用者数=1,200人@2024 (repeatable).")] = None,
                 fy_from: Annotated[str, typer.Option(help="Start: 2022, 2022年度, 令和4年度, R4.")] = "",
                 fy_to: Annotated[str, typer.Option(help="End (fiscal year).")] = "",
                 measure: Annotated[list[str] | None, typer.Option(help="Catalogue measure used (repeatable).")] = None,
                 support: Annotated[str, typer.Option(help="Other national support, in words.")] = "",
                 source: Annotated[list[str] | None, typer.Option(help="Source title or URL (repeatable).")] = None,
                 draft: Annotated[bool, typer.Option(help="Keep as a draft instead of submitting.")] = False,
                 json_out: JsonOpt = False) -> None:
    """Propose a good practice; it is published after review (`digiden practice review`).

    Examples:

    digiden practice add --title "AIオンデマンド交通" --org 072087 \\
        --field P4.3 --problem "路線バスの廃止" \\
        --solution "AIで配車する乗合タクシー" --measure transport-redesign
    digiden practice add --title "除雪車のGPS管理" --org 072028 --draft \\
        --problem "除雪の問い合わせ" --solution "除雪車の位置を公開"
    """
    from digiden.services.knowledge.practices import add
    rt = runtime(ctx)
    doc = {"title": title, "org_units": org, "problem": problem, "solution": solution, "field": field,
           "model_types": model_type or [], "results": results, "fy_from": fy_from, "fy_to": fy_to,
           "figures": ";".join(figure or []),
           "measures": measure or [], "support": support, "sources": source or []}
    p = add(rt.uow(), rt.principal(), doc, submit=not draft, now=rt.clock())
    if json_out:
        emit_json(shaped(shapes.Practice, p))
        return
    out.print(f"{p.code}: {p.title} ({p.status_label})")


@practice_app.command("import")
def practice_import(ctx: typer.Context,
                    file: Annotated[Path, typer.Argument(help="A .csv, .json, .yaml or .yml file.")],
                    publish: Annotated[bool, typer.Option(help="Publish at once (national administrators).")] = False,
                    json_out: JsonOpt = False) -> None:
    """Import practices from CSV, JSON or YAML: all or nothing.

    CSV (UTF-8 or CP932) columns:
    title, org_units, field, model_types, problem, solution, results, figures,
    fy_from, fy_to, support, measures, sources.

    An error names the row and column, and nothing is written.

    Examples:

    digiden practice import practices.csv
    digiden practice import 優良事例.yaml --publish --json
    """
    from digiden.services.knowledge.practices import import_file
    rt = runtime(ctx)
    try:
        raw = file.read_bytes()
    except OSError as e:
        raise InvalidInput(f"cannot read {file}: {e}", message_ja=f"{file} を読めません", field="file") from None
    res = import_file(rt.uow(), rt.principal(), file.name, raw, publish=publish, now=rt.clock())
    if json_out:
        emit_json(shaped(shapes.PracticeImport, res))
        return
    out.print(f"imported {len(res.created)} practices ({res.status}): {', '.join(res.created[:10])}"
              + (" …" if len(res.created) > 10 else ""))


@practice_app.command("list")
def practice_list(ctx: typer.Context, field: Annotated[str, typer.Option(help="Field or pillar.")] = "",
                  status: Annotated[str, typer.Option(help="published, submitted, draft, returned.")] = "",
                  json_out: JsonOpt = False) -> None:
    """Practices you may see (published, and unpublished ones of your own or for review).

    Examples:

    digiden practice list --field P4
    digiden practice list --status submitted --json
    """
    from digiden.services.knowledge.practices import list_practices
    rt = runtime(ctx)
    rows = list_practices(rt.uow(), rt.principal(), field=field or None, status=status or None)
    if json_out:
        emit_json([shaped(shapes.PracticeRow, r) for r in rows])
        return
    t = Table(title=f"practices ({len(rows)})")
    for col in ("code", "title", "place", "status", "adoptions"):
        t.add_column(col)
    for r in rows:
        t.add_row(r.code, r.title + (" (合成データ)" if r.synthetic else ""), r.place, r.status_label, str(r.adoptions))
    out.print(t)


@practice_app.command("show")
def practice_show(ctx: typer.Context, code: PracticeArg, json_out: JsonOpt = False) -> None:
    """One practice with where it has spread.

    Examples:

    digiden practice show sakai-autonomous-bus
    digiden practice show aict-aizuwakamatsu --json
    """
    from digiden.services.knowledge.practices import get
    rt = runtime(ctx)
    p = get(rt.uow(), rt.principal(), code)
    if json_out:
        emit_json(shaped(shapes.Practice, p))
        return
    out.print(f"[bold]{p.title}[/bold] — {p.place} ({p.status_label})")
    for label, text in (("課題", p.problem), ("解決策", p.solution), ("成果", p.results)):
        if text:
            out.print(f"{label}: {text}")
    for a in p.adoptions:
        out.print(f"  横展開: {a.name} FY{a.fiscal_year} {a.adaptation}")


@practice_app.command("review")
def practice_review(ctx: typer.Context, code: PracticeArg,
                    action: Annotated[str, typer.Argument(help="publish, return or unpublish.")],
                    comment: Annotated[str, typer.Option(help="Required to return or unpublish.")] = "") -> None:
    """Publish a submitted practice, return it with a comment, or unpublish (national administrators).

    Examples:

    digiden practice review p00013 publish
    digiden practice review p00013 return --comment "成果の数値を追記してください"
    """
    from digiden.services.knowledge.practices import review
    rt = runtime(ctx)
    p = review(rt.uow(), rt.principal(), code, action, comment, now=rt.clock())
    out.print(f"{p.code}: {p.status_label}")


@practice_app.command("adopt")
def practice_adopt(ctx: typer.Context, code: PracticeArg,
                   org: Annotated[str, typer.Argument(help="Adopting local government.")],
                   year: Annotated[str, typer.Option(help="Fiscal year adopted: 2024, 令和6年度, R6.")],
                   adaptation: Annotated[str, typer.Option(help="How it was adapted.")] = "",
                   result: Annotated[str, typer.Option(help="What it achieved.")] = "") -> None:
    """Record that a local government adopted a practice (横展開).

    Example:

    digiden practice adopt sakai-autonomous-bus 064033 --year R6 \\
        --adaptation "冬季は除雪ルートを優先" --result "利用者 月300人"
    """
    from digiden.services.knowledge.practices import record_adoption
    rt = runtime(ctx)
    p = record_adoption(rt.uow(), rt.principal(), code, org_code=org, fiscal_year=year, adaptation=adaptation,
                        result=result, now=rt.clock())
    out.print(f"{p.code}: adopted by {len(p.adoptions)} local governments")


# ------------------------------------------------------------------ similarity, partners, groups

@app.command()
def similar(ctx: typer.Context, code: LgArg,
            weight: Annotated[list[str] | None, typer.Option(
                "--weight", "-w", help="NAME=VALUE (0–10) for kind, population, aging, fiscal, geography, "
                                       "strategy; repeatable.")] = None,
            limit: Annotated[int, typer.Option(min=1, max=200)] = 10,
            same_prefecture: Annotated[bool, typer.Option(help="Only within the same prefecture.")] = False,
            json_out: JsonOpt = False) -> None:
    """類似団体: the most similar municipalities, with reasons.

    --json prints [{"code", "name", "score", "reasons"}].

    Examples:

    digiden similar 064033
    digiden similar 064033 -w geography=3 -w fiscal=0 --same-prefecture
    digiden similar 072028 --limit 5 --json
    """
    from digiden.services.knowledge.similarity import similar as svc
    rt = runtime(ctx)
    weights = {}
    for w in weight or []:
        k, sep, v = w.partition("=")
        if not sep:
            raise InvalidInput(f"--weight {w!r}: use NAME=VALUE", field="weight",
                               message_ja=f"重みは 名前=値 の形で指定してください: {w}")
        weights[k.strip()] = v.strip()
    r = svc(rt.uow(), rt.principal(), code, weights=weights, limit=limit, same_prefecture=same_prefecture)
    if json_out:
        emit_json([shaped(shapes.SimilarItem, i) for i in r.items])
        return
    out.print(f"{r.name}: compared with {r.compared}; weights {r.weights}")
    t = Table()
    for col in ("code", "name", "score", "reasons"):
        t.add_column(col)
    for i in r.items:
        t.add_row(i.code, i.name, f"{i.score:.3f}", "、".join(i.reasons))
    out.print(t)


@app.command()
def recommend(ctx: typer.Context, code: LgArg,
              field: Annotated[list[str] | None,
                               typer.Option(help="Use these fields instead of the strategy's.")] = None,
              limit: Annotated[int, typer.Option(min=1, max=100)] = 10, json_out: JsonOpt = False) -> None:
    """Good practices for a local government's declared issues, ranked by how similar the adopters are to it.

    Examples:

    digiden recommend 072028
    digiden recommend 072028 --field P4.3 --field P4.6 --json
    """
    from digiden.services.knowledge.similarity import recommendations
    rt = runtime(ctx)
    r = recommendations(rt.uow(), rt.principal(), code, fields=field, limit=limit)
    if json_out:
        emit_json(shaped(shapes.Recommendations, r))
        return
    if r.message:
        out.print(r.message)
    for i in r.items:
        out.print(f"{i.score:.3f} {i.code}: {i.title} ({i.place}) — {'／'.join(i.why)}")


@app.command()
def partners(ctx: typer.Context, issue: Annotated[str, typer.Argument(help="Social issue, field or model type code.")],
             within_km: Annotated[float, typer.Option(help="Join city halls this close (km).")] = 30.0,
             anchor: Annotated[str, typer.Option(help="Only groups containing this local government.")] = "",
             pref: Annotated[str, typer.Option(help="Two-digit prefecture code.")] = "",
             json_out: JsonOpt = False) -> None:
    """Local governments sharing a social issue, in geographically sensible candidate groups.

    Examples:

    digiden partners mobility --within-km 40
    digiden partners disaster --anchor 072028 --json
    """
    from digiden.services.knowledge.similarity import partners as svc
    rt = runtime(ctx)
    r = svc(rt.uow(), rt.principal(), issue, within_km=within_km, anchor=anchor or None, prefecture=pref or None)
    if json_out:
        emit_json(shaped(shapes.Partners, r))
        return
    out.print(f"{r.issue[1]}: {len(r.sharing)} local governments share it; {len(r.groups)} candidate groups")
    for g in r.groups:
        out.print(" ・ ".join(m.name + ("(導入済)" if m.experience else "") for m in g.members))
        for c in g.complementary:
            out.print(f"    {c}")


@group_app.command("create")
def group_create(ctx: typer.Context, name: Annotated[str, typer.Option(help="連携の名称.")],
                 member: Annotated[list[str], typer.Option(help="Member code (at least two).")],
                 issue: Annotated[str, typer.Option(help="Social issue or field code.")] = "",
                 initiative: Annotated[list[str] | None, typer.Option(help="Joint initiative (repeatable).")] = None,
                 description: str = "", json_out: JsonOpt = False) -> None:
    """Save a collaboration group (地域間連携) with its members and joint initiatives.

    Example:

    digiden group create --name "会津地域の除雪DX" \\
        --member 072028 --member 072087 --issue disaster \\
        --initiative "除雪車の位置情報の共有"
    """
    from digiden.services.knowledge.similarity import save_group
    rt = runtime(ctx)
    g = save_group(rt.uow(), rt.principal(), {"name": name, "members": member, "issue": issue,
                                              "initiatives": initiative or [], "description": description},
                   now=rt.clock())
    if json_out:
        emit_json(shaped(shapes.Group, g))
        return
    out.print(f"group {g.id}: {g.name} ({len(g.members)} members)")


@group_app.command("list")
def group_list(ctx: typer.Context, member: Annotated[str, typer.Option(help="Only groups with this member.")] = "",
               json_out: JsonOpt = False) -> None:
    """Saved collaboration groups.

    Examples:

    digiden group list
    digiden group list --member 072028 --json
    """
    from digiden.services.knowledge.similarity import list_groups
    rows = list_groups(runtime(ctx).uow(), org_code=member or None)
    if json_out:
        emit_json([shaped(shapes.Group, g) for g in rows])
        return
    for g in rows:
        out.print(f"{g.id}: {g.name} — {'・'.join(n for _, n, _ in g.members)}")
