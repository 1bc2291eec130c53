"""CLI commands of the consultation desk (相談窓口, issue 15) and of support plans (伴走型支援):
`digiden consult …` and `digiden plan …`. Each command is a few lines over one call of
services/consult; who may see or do what is decided there, so `--as USER` sees exactly what that
account sees in the app, and the server operator (no --as) acts as the national desk. Registered
on the `digiden` app when digiden.cli first needs the whole list of commands or one of these.
``--json`` prints the API's shapes (digiden.shapes.consult)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table
from rich.text import Text

from digiden.cli_common import JsonOpt, app, emit_json, out, runtime
from digiden.domain.errors import InvalidInput

if TYPE_CHECKING:
    from digiden.services.consult.cases import Attachment

consult_app = typer.Typer(pretty_exceptions_enable=False, no_args_is_help=True,
                          help="The consultation desk (相談窓口): consultations, replies, routing, the desk's "
                               "numbers, offices and FAQ.\n\n"
                               "Without --as the command acts as the server operator (the national desk); "
                               "with --as USER exactly as that account (an asker's staff, a responder of an "
                               "office). The examples act as the accounts `digiden demo` creates.\n\n"
                               "Examples:\n\n"
                               "digiden consult list --overdue\n"
                               "digiden --as demo-soumu consult list\n"
                               "digiden consult stats")
faq_app = typer.Typer(pretty_exceptions_enable=False, no_args_is_help=True,
                      help="FAQ entries made from answered consultations.\n\n"
                           "Examples:\n\n"
                           "digiden consult faq list\n"
                           "digiden consult faq show 1")
plan_app = typer.Typer(pretty_exceptions_enable=False, no_args_is_help=True,
                       help="Support plans (伴走型支援): staff, goals, meetings, action items, progress.\n\n"
                            "Examples:\n\n"
                            "digiden plan list\n"
                            "digiden plan show 1")
consult_app.add_typer(faq_app, name="faq")
app.add_typer(consult_app, name="consult")
app.add_typer(plan_app, name="plan")

CaseArg = Annotated[int, typer.Argument(metavar="ID", help="Consultation number (digiden consult list).", min=1,
                                        max=2**63 - 1)]
JST_LABEL = "（日本時間）"


def _jst(t: datetime | None) -> str:
    """A stored time as people in Japan read it (SQLite gives UTC back without an offset)."""
    if t is None:
        return "—"
    from digiden.domain.calendar import JST
    j = (t if t.tzinfo else t.replace(tzinfo=UTC)).astimezone(JST)
    return f"{j:%Y-%m-%d %H:%M}"


def _text(value: object) -> Text:
    """User-typed text in a table cell, never read as Rich markup."""
    return Text(str(value))


def _say(line: str) -> None:
    out.print(line, markup=False, highlight=False, soft_wrap=True)


def _read_text(path: Path, label_ja: str) -> str:
    """A text file (UTF-8) or `-` for standard input; a missing or unreadable one is one line."""
    if str(path) == "-":
        import sys
        return sys.stdin.read()
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InvalidInput(f"no file {path}", field=label_ja,
                           message_ja=f"ファイル「{path}」が見つかりません") from None
    except (OSError, UnicodeDecodeError) as e:
        raise InvalidInput(f"cannot read {path}: {type(e).__name__}", field=label_ja,
                           message_ja=f"ファイル「{path}」を UTF-8 のテキストとして読めません") from None


def _attachments(paths: list[Path] | None) -> list[Attachment]:
    """Files to attach, read whole only when within the size limit (the desk's own check, with
    its Japanese message naming the file, follows in the service)."""
    from digiden.domain.consult import ATTACHMENT_MAX_BYTES
    from digiden.services.consult.cases import Attachment
    files = []
    for path in paths or []:
        try:
            size = path.stat().st_size
            if size > ATTACHMENT_MAX_BYTES:
                raise InvalidInput(f"attachment {path.name} is over {ATTACHMENT_MAX_BYTES} bytes", field="attachment",
                                   message_ja=f"添付ファイル「{path.name}」は5MBを超えています"
                                              f"（{size / (1024 * 1024):.1f}MB）")
            files.append(Attachment(path.name, path.read_bytes()))
        except OSError:
            raise InvalidInput(f"cannot read {path}", field="attachment",
                               message_ja=f"添付ファイル「{path}」を読めません（存在しないか、ファイルではありません）"
                               ) from None
    return files


VersionOpt = Annotated[int | None, typer.Option(
    "--version", min=0, max=2**31 - 1,
    help="The consultation's version as you last read it (consult show --json): refused (exit 5) if someone "
         "changed it since.")]


def _print_case(d: Any) -> None:
    s = d.summary
    _say(f"相談 #{s.id} {s.subject}" + (" (合成データ)" if s.synthetic and "合成データ" not in s.subject else ""))
    _say(f"{s.org_unit_name}（{s.org_unit}）・{s.state_ja}・担当 {s.office}" +
         (f"・共有 {'、'.join(d.shared_with)}" if d.shared_with else ""))
    _say(f"受付 {_jst(s.received_at)}{JST_LABEL}・経過 {s.age_working_days} 開庁日・初回回答期限 "
         f"{s.first_response_due}・解決期限 {s.resolution_due}")
    if s.overdue:
        labels = {"first_response": "初回回答", "resolution": "解決"}
        _say("期限超過: " + "・".join(labels.get(o, o) for o in s.overdue))
    _say(f"振り分け: {d.routing_reason}")
    if d.merged_into:
        _say(f"統合先: 相談 #{d.merged_into}")
    if d.asker_name or d.asker_email or d.asker_phone:
        _say("相談者: " + "・".join(x for x in (d.asker_name, d.asker_email, d.asker_phone) if x))
    _say(f"版数 {d.version}" + ("・回答できます" if d.may_respond else "") + ("・返信できます" if d.may_reply else ""))
    _say("")
    _say(d.body)
    for m in d.messages:
        who = "内部メモ" if m.kind == "note" else ("回答" if m.side == "responder" else "相談者")
        _say("")
        _say(f"― {who} {m.author}{'（' + m.office + '）' if m.office else ''} {_jst(m.at)}")
        _say(m.body)
    if d.attachments:
        _say("")
        _say("添付ファイル: " + "、".join(f"{a.file_name}（{a.size:,}バイト, id {a.id}）" for a in d.attachments))
    if d.moves:
        t = Table(title="経過（日本時間）")
        for col in ("日時", "操作", "担当", "状態", "理由", "実施者"):
            t.add_column(col)
        for mv in d.moves:
            office = " → ".join(x for x in (mv.from_office, mv.to_office) if x)
            state = " → ".join(x for x in (mv.from_state, mv.to_state) if x)
            t.add_row(_jst(mv.at), mv.action, _text(office), state, _text(mv.reason), _text(mv.actor))
        out.print(t)


def _show_case(ctx: typer.Context, case_id: int, json_out: bool) -> None:
    from digiden.services.consult import cases
    from digiden.shapes.consult import CaseOut
    rt = runtime(ctx)
    d = cases.get(rt.uow(), rt.principal(), case_id, now=rt.clock())
    if json_out:
        emit_json(CaseOut.model_validate(d).json_data())
        return
    _print_case(d)


# ------------------------------------------------------------------ consultations


@consult_app.command("list")
def consult_list(
    ctx: typer.Context,
    overdue: Annotated[bool, typer.Option("--overdue", help="Only those past a service level (開庁日, Japan time).")]
    = False,
    office: Annotated[str | None, typer.Option("--office", help="Office code or name, e.g. 東北総合通信局.")] = None,
    state: Annotated[str | None, typer.Option(
        "--state", help="received, assigned, answered, resolved, closed or merged.")] = None,
    org_unit: Annotated[str | None, typer.Option("--org-unit", help="Local government code.")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=500, help="At most this many.")] = 100,
    offset: Annotated[int, typer.Option("--offset", min=0, max=1_000_000, help="Skip this many.")] = 0,
    json_out: JsonOpt = False,
) -> None:
    """The consultations you may see, newest first, with their state, office and due days.

    --json prints the API's /api/v1/consultations.

    Examples:

    digiden consult list --overdue
    digiden consult list --office 東北総合通信局 --state assigned
    digiden --as demo-aizuwakamatsu consult list --json
    """
    from digiden.services.consult import cases
    from digiden.shapes.consult import CaseSummaryOut
    rt = runtime(ctx)
    rows = cases.list_cases(rt.uow(), rt.principal(), now=rt.clock(), state=state or None, office=office or None,
                            only_overdue=overdue, org_code=org_unit or None, limit=limit, offset=offset)
    if json_out:
        emit_json([CaseSummaryOut.model_validate(c).json_data() for c in rows])
        return
    t = Table(title="相談" + ("（期限超過）" if overdue else "") + f" {len(rows)}件・受付は日本時間")
    for col in ("#", "団体", "件名", "状態", "担当", "受付", "期限（初回・解決）", "超過"):
        t.add_column(col)
    for c in rows:
        late = "・".join({"first_response": "初回", "resolution": "解決"}.get(o, o) for o in c.overdue)
        t.add_row(str(c.id), _text(c.org_unit_name), _text(c.subject + (" (合成データ)" if c.synthetic and
                                                                          "合成データ" not in c.subject else "")),
                  c.state_ja, _text(c.office), _jst(c.received_at)[:10],
                  f"{c.first_response_due:%m-%d}・{c.resolution_due:%m-%d}", late or "—")
    out.print(t)


@consult_app.command("show")
def consult_show(ctx: typer.Context, case_id: CaseArg, json_out: JsonOpt = False) -> None:
    """A consultation and its thread, times in Japan time.

    Replies, internal notes (responders only), attachments and every move. Someone who may not
    see it gets "not found" (exit 3), as for one that does not exist.

    --json prints the API's /api/v1/consultations/{id}.

    Examples:

    digiden consult show 3
    digiden --as demo-aizuwakamatsu consult show 1 --json
    """
    _show_case(ctx, case_id, json_out)


@consult_app.command("ask")
def consult_ask(
    ctx: typer.Context,
    subject: Annotated[str | None, typer.Option("--subject", help="件名 (up to 200 characters).")] = None,
    body: Annotated[str | None, typer.Option("--body", help="相談内容.")] = None,
    body_file: Annotated[Path | None, typer.Option("--body-file", help="Read 相談内容 from a UTF-8 file (- : stdin).")]
    = None,
    from_file: Annotated[Path | None, typer.Option(
        "--from", help="A JSON file shaped as the body of POST /api/v1/consultations; flags given override it.")]
    = None,
    kind: Annotated[str | None, typer.Option("--kind", help="general, programme, data, legal or support.")] = None,
    field: Annotated[str | None, typer.Option("--field", help="Field of the national strategy or social issue code.")]
    = None,
    measures: Annotated[list[str] | None, typer.Option("--measure", help="A national measure's code (repeatable).")]
    = None,
    org_unit: Annotated[str | None, typer.Option(
        "--org-unit", help="The local government asking (the national desk files one on its behalf).")] = None,
    attach: Annotated[list[Path] | None, typer.Option("--attach", help="A file to attach (repeatable; 5 at most, "
                                                                       "5MB each).")] = None,
    no_share: Annotated[bool, typer.Option("--no-share-with-prefecture",
                                           help="Keep it from the prefecture (shared by default).")] = False,
    json_out: JsonOpt = False,
) -> None:
    """Ask a question for your local government (the national desk: with --org-unit).

    It is routed at once by the desk's rules; the answer says where it went and why. Nothing is
    written when anything is refused (exit 2, one line).

    --from FILE reads the question from a JSON file with the keys of the API's
    POST /api/v1/consultations (subject, body, kind, field, measures, asker_name, asker_email,
    asker_phone, share_with_prefecture). --json prints the API's answer.

    Examples:

    digiden --as demo-kitakata consult ask --subject "除雪車の更新" \\
        --body "除雪車の更新に使える制度はありますか。" --kind programme
    digiden consult ask --org-unit 064033 --subject "相談" --body "内容です。"
    """
    from pydantic import ValidationError

    from digiden.services.consult import cases
    from digiden.shapes.consult import CaseIn, CaseOut
    doc: dict[str, Any] = {}
    if from_file is not None:
        try:
            doc = json.loads(_read_text(from_file, "from"))
        except json.JSONDecodeError as e:
            raise InvalidInput(f"{from_file} is not JSON: {e.msg} (line {e.lineno})", field="from",
                               message_ja=f"ファイル「{from_file}」は JSON ではありません（{e.lineno}行目）") from None
        if not isinstance(doc, dict):
            raise InvalidInput(f"{from_file} is not a JSON object", field="from",
                               message_ja=f"ファイル「{from_file}」は JSON のオブジェクトではありません")
    if body_file is not None:
        body = _read_text(body_file, "body")
    given = {"subject": subject, "body": body, "kind": kind, "field": field, "measures": measures or None}
    doc |= {k: v for k, v in given.items() if v is not None}
    if no_share:
        doc["share_with_prefecture"] = False
    doc.setdefault("subject", "")
    doc.setdefault("body", "")
    try:
        q = CaseIn.model_validate(doc)
    except ValidationError as e:
        first = e.errors()[0]
        where = ".".join(str(x) for x in first["loc"]) or "body"
        raise InvalidInput(f"{where}: {first['msg']}", field=where,
                           message_ja=f"{where} が正しくありません: {first['msg']}") from None
    files = _attachments(attach)
    rt = runtime(ctx)
    cid = cases.ask(rt.uow(), rt.principal(), subject=q.subject, body=q.body, kind=q.kind, field=q.field,
                    measures=q.measures, org_code=org_unit, asker_name=q.asker_name, asker_email=q.asker_email,
                    asker_phone=q.asker_phone, share_with_prefecture=q.share_with_prefecture,
                    answered_by_suggestion=q.answered_by_suggestion, attachments=files, now=rt.clock())
    d = cases.get(rt.uow(), rt.principal(), cid, now=rt.clock())
    if json_out:
        emit_json(CaseOut.model_validate(d).json_data())
        return
    _say(f"相談 #{cid} を受け付けました: {d.summary.state_ja}・担当 {d.summary.office}")
    _say(d.routing_reason)


@consult_app.command("reply")
def consult_reply(
    ctx: typer.Context, case_id: CaseArg,
    body: Annotated[str | None, typer.Option("--body", help="本文.")] = None,
    body_file: Annotated[Path | None, typer.Option("--body-file", help="Read the text from a UTF-8 file (- : stdin).")]
    = None,
    note: Annotated[bool, typer.Option("--note", help="An internal note, seen by responders only.")] = False,
    attach: Annotated[list[Path] | None, typer.Option("--attach", help="A file to attach (repeatable).")] = None,
    json_out: JsonOpt = False,
) -> None:
    """Reply to a consultation, or write an internal note (--note, responders only).

    A responder's reply answers it; the asker's reply reopens an answered one. A closed one takes
    no reply until reopened (exit 5).

    Examples:

    digiden --as demo-soumu consult reply 3 --body "確認のうえ回答します。"
    digiden --as demo-soumu consult reply 3 --note --body "課内で確認中"
    """
    from digiden.services.consult import cases
    if body_file is not None:
        body = _read_text(body_file, "body")
    files = _attachments(attach)
    rt = runtime(ctx)
    mid = cases.reply(rt.uow(), rt.principal(), case_id, body or "", note=note, attachments=files, now=rt.clock())
    if json_out:
        _show_case(ctx, case_id, True)
        return
    _say(f"相談 #{case_id} に{'内部メモ' if note else '返信'}を書きました（{mid}）")


def _step(ctx: typer.Context, what: str, case_id: int, comment: str, version: int | None, json_out: bool) -> None:
    from digiden.services.consult import cases
    rt = runtime(ctx)
    step = {"resolve": cases.resolve, "close": cases.close, "reopen": cases.reopen}[what]
    state = step(rt.uow(), rt.principal(), case_id, comment=comment, now=rt.clock(), expected_version=version)
    if json_out:
        _show_case(ctx, case_id, True)
        return
    from digiden.domain.consult import State
    _say(f"相談 #{case_id}: {State(state).label_ja}")


CommentOpt = Annotated[str, typer.Option("--comment", help="A comment for the other side.")]


@consult_app.command("resolve")
def consult_resolve(ctx: typer.Context, case_id: CaseArg, comment: CommentOpt = "", version: VersionOpt = None,
                    json_out: JsonOpt = False) -> None:
    """Mark a consultation resolved (解決): the asker's staff or a responder.

    Example:

    digiden --as demo-kitakata consult resolve 4 --comment "解決しました"
    """
    _step(ctx, "resolve", case_id, comment, version, json_out)


@consult_app.command("close")
def consult_close(ctx: typer.Context, case_id: CaseArg, comment: CommentOpt = "", version: VersionOpt = None,
                  json_out: JsonOpt = False) -> None:
    """Close a consultation (終了; withdrawn, or after 解決).

    A closed consultation takes no reply until it is reopened.

    Example:

    digiden --as demo-iide consult close 5 --comment "自己解決しました"
    """
    _step(ctx, "close", case_id, comment, version, json_out)


@consult_app.command("reopen")
def consult_reopen(ctx: typer.Context, case_id: CaseArg, comment: CommentOpt = "", version: VersionOpt = None,
                   json_out: JsonOpt = False) -> None:
    """Reopen a resolved or closed consultation (the office must act again).

    Example:

    digiden --as demo-aizuwakamatsu consult reopen 1 --comment "追加の質問"
    """
    _step(ctx, "reopen", case_id, comment, version, json_out)


ReasonOpt = Annotated[str, typer.Option("--reason", help="Why (kept in the consultation's history).")]
OfficeArg = Annotated[str, typer.Argument(metavar="OFFICE", help="Office code or name (digiden consult offices).")]


@consult_app.command("escalate")
def consult_escalate(
    ctx: typer.Context,
    case_id: Annotated[int | None, typer.Argument(metavar="[ID]", min=1, max=2**63 - 1,
                                                  help="One consultation; without it, the overdue check.")] = None,
    reason: ReasonOpt = "", version: VersionOpt = None, json_out: JsonOpt = False,
) -> None:
    """Bring the national desk in: one consultation, or every overdue one.

    With ID: that consultation (a responder, or the asker when it waits too long; --reason
    required). Without ID: the overdue check a scheduler runs (server operator or national
    administrator): every consultation that passed a service level since the last run is
    escalated once, its office and the desk notified.

    Examples:

    digiden consult escalate
    digiden --as demo-aizuwakamatsu consult escalate 3 --reason "急ぎです"
    """
    from digiden.services.consult import cases, desk
    rt = runtime(ctx)
    p = rt.principal()
    if case_id is None:
        done = desk.run_overdue_check(rt.uow(), p, now=rt.clock())
        if json_out:
            from digiden.shapes.consult import EscalatedOut
            emit_json([EscalatedOut.model_validate(e).json_data() for e in done])
            return
        labels = {"first_response": "初回回答", "resolution": "解決"}
        _say(f"期限超過でエスカレーションした相談: {len(done)}件")
        for e in done:
            _say(f"- 相談 #{e.case_id}: " + "・".join(labels.get(o, o) for o in e.overdue))
        return
    cases.escalate(rt.uow(), p, case_id, reason=reason, now=rt.clock(), expected_version=version)
    if json_out:
        _show_case(ctx, case_id, True)
        return
    _say(f"相談 #{case_id} を国の相談窓口にエスカレーションしました")


@consult_app.command("reassign")
def consult_reassign(ctx: typer.Context, case_id: CaseArg, office: OfficeArg, reason: ReasonOpt = "",
                     version: VersionOpt = None) -> None:
    """Hand a consultation to another office (responders).

    The old office no longer answers, nor sees, it.

    Example:

    digiden consult reassign 5 東北総合通信局 --reason "所管の確認"
    """
    from digiden.services.consult import cases
    rt = runtime(ctx)
    cases.reassign(rt.uow(), rt.principal(), case_id, office, reason=reason, now=rt.clock(),
                   expected_version=version)
    _say(f"相談 #{case_id} の担当を「{office}」にしました")


@consult_app.command("share")
def consult_share(ctx: typer.Context, case_id: CaseArg, office: OfficeArg, reason: ReasonOpt = "",
                  version: VersionOpt = None) -> None:
    """Share a consultation with a second office (responders): both answer it.

    Example:

    digiden consult share 3 東北経済産業局 --reason "補助制度の所管"
    """
    from digiden.services.consult import cases
    rt = runtime(ctx)
    cases.share(rt.uow(), rt.principal(), case_id, office, reason=reason, now=rt.clock(), expected_version=version)
    _say(f"相談 #{case_id} を「{office}」に共有しました")


@consult_app.command("merge")
def consult_merge(ctx: typer.Context, case_id: CaseArg,
                  into: Annotated[int, typer.Option("--into", min=1, max=2**63 - 1,
                                                    help="The consultation the thread continues in.")],
                  version: VersionOpt = None) -> None:
    """Merge a duplicate into another consultation of the same local government.

    Responders of both; the duplicate stays readable (統合済) and takes nothing more.

    Example:

    digiden consult merge 3 --into 1
    """
    from digiden.services.consult import cases
    rt = runtime(ctx)
    cases.merge(rt.uow(), rt.principal(), case_id, into, now=rt.clock(), expected_version=version)
    _say(f"相談 #{case_id} を #{into} に統合しました")


# ------------------------------------------------------------------ the desk


@consult_app.command("route-check")
def consult_route_check(ctx: typer.Context, json_out: JsonOpt = False) -> None:
    """Check the routing rules against the offices as they are (national desk).

    Lists the field or measure × prefecture pairs no office covers (the national desk receives
    them), and the pairs routed through a regional assignment not yet confirmed (INFERRED).

    Examples:

    digiden consult route-check
    digiden consult route-check --json
    """
    from digiden.services.consult import cases
    from digiden.shapes.consult import RouteCheckOut
    rt = runtime(ctx)
    r = cases.route_check(rt.uow(), rt.principal())
    if json_out:
        emit_json(RouteCheckOut.model_validate(r).json_data())
        return
    _say(f"振り分けルール {r.rules}件: 担当部局のない組み合わせがあるルール {len(r.without_office)}件、"
         f"未確認の管轄を通るルール {len(r.unconfirmed)}件")
    for title, gaps in (("担当部局のない組み合わせ（国の相談窓口が受け付けます）", r.without_office),
                        ("未確認（INFERRED）の管轄を通る組み合わせ", r.unconfirmed)):
        if not gaps:
            continue
        t = Table(title=title)
        for col in ("ルール", "府省", "施策・分野", "系統", "都道府県"):
            t.add_column(col)
        for g in gaps:
            t.add_row(str(g.rule_id), _text(g.ministry), _text(g.key), _text(g.family or "—"),
                      _text("、".join(g.prefecture_names)))
        out.print(t)


def _date(text: str | None, label: str) -> datetime | None:
    if not text:
        return None
    from digiden.domain.calendar import JST
    try:
        d = date.fromisoformat(text)
    except ValueError:
        raise InvalidInput(f"--{label} is a date (YYYY-MM-DD)", field=label,
                           message_ja=f"--{label} は YYYY-MM-DD の形で指定してください") from None
    return datetime(d.year, d.month, d.day, tzinfo=JST)


@consult_app.command("stats")
def consult_stats(
    ctx: typer.Context,
    since: Annotated[str | None, typer.Option("--since", help="Received on or after this day (Japan time).")] = None,
    until: Annotated[str | None, typer.Option("--until", help="Received before this day (Japan time).")] = None,
    json_out: JsonOpt = False,
) -> None:
    """The desk's dashboard: received, open, overdue, and response times in 開庁日.

    First-response and resolution times (median and 90th percentile) per office, field and
    month, the open ones by age and the number overdue. The national desk sees every office; a
    responder its own offices.

    --json prints the API's /api/v1/desk/dashboard.

    Examples:

    digiden consult stats
    digiden --as demo-soumu consult stats --json
    """
    from digiden.services.consult import desk
    from digiden.shapes.consult import DashboardOut
    rt = runtime(ctx)
    d = desk.dashboard(rt.uow(), rt.principal(), now=rt.clock(), since=_date(since, "since"),
                       until=_date(until, "until"))
    if json_out:
        emit_json(DashboardOut.model_validate(d).json_data())
        return
    ages = "、".join(f"{k} {v}件" for k, v in d.open_by_age.items()) or "なし"
    _say(f"期限超過 {d.overdue}件・未完了の経過（開庁日）: {ages}")

    def num(x: float | None) -> str:
        return "—" if x is None else f"{x:g}"
    for title, rows in (("担当部局別", d.by_office), ("分野別", d.by_field), ("受付月別（日本時間）", d.by_month)):
        t = Table(title=f"{title}（時間は開庁日）")
        for col in ("", "受付", "未完了", "初回回答 中央値", "初回回答 90%", "解決 中央値", "解決 90%"):
            t.add_column(col, justify="right" if col else "left")
        for r in rows:
            t.add_row(_text(r.group), str(r.received), str(r.open), num(r.first_response_median),
                      num(r.first_response_p90), num(r.resolution_median), num(r.resolution_p90))
        out.print(t)


@consult_app.command("offices")
def consult_offices(
    ctx: typer.Context,
    family: Annotated[str | None, typer.Option("--family", help="e.g. 総合通信局, 地方整備局.")] = None,
    unconfirmed: Annotated[bool, typer.Option("--unconfirmed", help="Only INFERRED assignments not yet confirmed.")]
    = False,
    json_out: JsonOpt = False,
) -> None:
    """Which regional office covers which prefecture, per family.

    Public reference data. Rows marked 未確認 are INFERRED in the reference data and wait for the
    national desk to confirm them against the organisation orders.

    --json prints the API's /api/v1/desk/areas.

    Examples:

    digiden consult offices --unconfirmed
    digiden consult offices --family 総合通信局 --json
    """
    from digiden.services.consult import offices
    from digiden.shapes.consult import AreaOut
    rows = offices.areas(runtime(ctx).uow(), family=family or None, unconfirmed_only=unconfirmed)
    if json_out:
        emit_json([AreaOut.model_validate(a).json_data() for a in rows])
        return
    t = Table(title=f"管轄 {len(rows)}件" + ("（未確認のみ）" if unconfirmed else ""))
    for col in ("系統", "都道府県", "部局", "確認", "注記"):
        t.add_column(col)
    for a in rows:
        t.add_row(_text(a.family), _text(a.prefecture), _text(a.office), "確認済み" if a.confirmed else "未確認",
                  _text(a.note))
    out.print(t)


@consult_app.command("notices")
def consult_notices(
    ctx: typer.Context,
    unread: Annotated[bool, typer.Option("--unread", help="Only the unread ones.")] = False,
    limit: Annotated[int, typer.Option("--limit", min=1, max=500, help="At most this many.")] = 50,
    json_out: JsonOpt = False,
) -> None:
    """Your notices of the desk (use --as USER), newest first.

    New consultations, replies, changes of state, escalations, overdue ones; the inbox shows
    them too.

    Example:

    digiden --as demo-soumu consult notices --unread
    """
    from digiden.services.consult import desk
    from digiden.shapes.consult import NoticeOut
    rt = runtime(ctx)
    rows = desk.notices(rt.uow(), rt.principal(), limit=limit, unread_only=unread)
    if json_out:
        emit_json([NoticeOut.model_validate(n).json_data() for n in rows])
        return
    _say(f"通知 {len(rows)}件（日本時間）")
    for n in rows:
        _say(f"- {'未読 ' if not n.read else ''}{_jst(n.at)} [{n.id}] {n.subject}")


@consult_app.command("read")
def consult_read(ctx: typer.Context,
                 ids: Annotated[list[int] | None, typer.Argument(metavar="[ID]...", min=1, max=2**63 - 1,
                                                                 help="Notice ids; none: all.")] = None) -> None:
    """Mark your notices of the desk read (all, or the given ones).

    Example:

    digiden --as demo-soumu consult read
    """
    from digiden.services.consult import desk
    rt = runtime(ctx)
    n = desk.mark_notices_read(rt.uow(), rt.principal(), now=rt.clock(), ids=ids or None)
    _say(f"{n}件を既読にしました")


# ------------------------------------------------------------------ FAQ


@faq_app.command("list")
def faq_list(ctx: typer.Context,
             measure: Annotated[str | None, typer.Option("--measure", help="Only entries about this measure.")] = None,
             json_out: JsonOpt = False) -> None:
    """The published FAQ entries, newest first (public).

    --json prints the API's /api/v1/faq.

    Examples:

    digiden consult faq list
    digiden consult faq list --json
    """
    from digiden.services.consult import faq
    from digiden.shapes.consult import FaqOut
    rows = faq.published(runtime(ctx).uow(), measure=measure or None)
    if json_out:
        emit_json([FaqOut.model_validate(f).json_data() for f in rows])
        return
    t = Table(title=f"FAQ {len(rows)}件")
    for col in ("id", "質問", "施策", "公開（日本時間）"):
        t.add_column(col)
    for f in rows:
        t.add_row(str(f.id), _text(f.question.split("\n", 1)[0] + (" (合成データ)" if f.synthetic and "合成データ"
                                                                 not in f.question else "")),
                  _text("、".join(f.measures) or "—"), _jst(f.published_at))
    out.print(t)


FaqArg = Annotated[int, typer.Argument(metavar="ID", help="FAQ entry id (digiden consult faq list).", min=1,
                                       max=2**63 - 1)]


@faq_app.command("show")
def faq_show(ctx: typer.Context, faq_id: FaqArg, json_out: JsonOpt = False) -> None:
    """An FAQ entry (a draft only to the desk and the consultation's responders).

    Example:

    digiden consult faq show 1
    """
    from digiden.services.consult import faq
    from digiden.shapes.consult import FaqOut
    rt = runtime(ctx)
    f = faq.get(rt.uow(), rt.principal(), faq_id)
    if json_out:
        emit_json(FaqOut.model_validate(f).json_data())
        return
    _say(f"FAQ {f.id}（{f.state_ja}）" + (" (合成データ)" if f.synthetic else ""))
    _say(f"Q. {f.question}")
    _say(f"A. {f.answer}")


@faq_app.command("draft")
def faq_draft(ctx: typer.Context, case_id: CaseArg) -> None:
    """Draft an FAQ entry from an answered consultation (responders).

    The asker's name, contact details and local government are replaced.

    Example:

    digiden --as demo-soumu consult faq draft 4
    """
    from digiden.services.consult import faq
    rt = runtime(ctx)
    fid = faq.draft_from_case(rt.uow(), rt.principal(), case_id, now=rt.clock())
    _say(f"相談 #{case_id} から FAQ の下書き {fid} を作りました")


@faq_app.command("act")
def faq_act(ctx: typer.Context, faq_id: FaqArg,
            action: Annotated[str, typer.Argument(metavar="ACTION", help="submit, publish, return or withdraw.")]
            ) -> None:
    """Move an FAQ entry on: submit, publish, return or withdraw.

    submit: draft → review; publish and return: the national desk, not the author (publishing
    refuses a text that still identifies the asker); withdraw: off the public FAQ.

    Example:

    digiden consult faq act 1 withdraw
    """
    from digiden.domain.consult import FaqState
    from digiden.services.consult import faq
    if action not in ("submit", "publish", "return", "withdraw"):
        raise InvalidInput(f"unknown action {action}", field="action",
                           message_ja="操作は submit、publish、return、withdraw のいずれかです")
    rt = runtime(ctx)
    state = faq.act(rt.uow(), rt.principal(), faq_id, action, now=rt.clock())
    _say(f"FAQ {faq_id}: {FaqState(state).label_ja}")


# ------------------------------------------------------------------ support plans


@plan_app.command("list")
def plan_list(ctx: typer.Context, json_out: JsonOpt = False) -> None:
    """The support plans you may see, with their progress.

    The local government, its prefecture, the assigned staff and the national desk see a plan.

    --json prints the API's /api/v1/plans.

    Examples:

    digiden plan list
    digiden --as demo-aizuwakamatsu plan list --json
    """
    from digiden.domain.access import require_signed_in
    from digiden.services.consult import plans
    from digiden.shapes.consult import PlanOut
    rt = runtime(ctx)
    p = rt.principal()
    require_signed_in(p, "支援計画の一覧を見るにはサインインしてください")
    rows = plans.list_plans(rt.uow(), p, now=rt.clock())
    if json_out:
        emit_json([PlanOut.model_validate(x).json_data() for x in rows])
        return
    t = Table(title=f"支援計画 {len(rows)}件")
    for col in ("id", "団体", "計画", "状態", "開始", "目標達成", "取組（完了/期限超過）"):
        t.add_column(col)
    for x in rows:
        g = x.progress
        t.add_row(str(x.id), _text(x.org_unit_name), _text(x.title + (" (合成データ)" if x.synthetic and "合成データ"
                                                                     not in x.title else "")),
                  x.state_ja, str(x.starts_on), f"{g.goals_achieved}/{g.goals}",
                  f"{g.actions_done}/{g.actions}（超過 {g.actions_overdue}）")
    out.print(t)


@plan_app.command("show")
def plan_show(ctx: typer.Context,
              plan_id: Annotated[int, typer.Argument(metavar="ID", help="Plan id (digiden plan list).", min=1,
                                                     max=2**63 - 1)],
              json_out: JsonOpt = False) -> None:
    """A support plan: staff, goals, meetings, action items and progress.

    --json prints the API's /api/v1/plans/{id}.

    Examples:

    digiden plan show 1
    digiden --as demo-aizuwakamatsu plan show 1 --json
    """
    from digiden.services.consult import plans
    from digiden.shapes.consult import PlanOut
    rt = runtime(ctx)
    x = plans.get(rt.uow(), rt.principal(), plan_id, now=rt.clock())
    if json_out:
        emit_json(PlanOut.model_validate(x).json_data())
        return
    _say(f"支援計画 {x.id} {x.title}" + (" (合成データ)" if x.synthetic and "合成データ" not in x.title else ""))
    _say(f"{x.org_unit_name}（{x.org_unit}）・{x.state_ja}・{x.starts_on} 〜 {x.ends_on or ''}"
         + (f"・相談 #{x.case_id}" if x.case_id else ""))
    g = x.progress
    _say(f"進捗: 目標 {g.goals_achieved}/{g.goals} 達成・取組 {g.actions_done}/{g.actions} 完了・期限超過 "
         f"{g.actions_overdue}")
    for s in x.staff:
        _say(f"担当: {s.display_name}（{s.username}、{s.office or s.side}）{s.role_note}")
    for goal in x.goals:
        _say(f"目標: {'[達成] ' if goal.achieved else ''}{goal.title}")
    for m in x.meetings:
        _say(f"会議: {m.held_on} {m.title}")
    for a in x.actions:
        _say(f"取組: {a.title}（{a.owner}、期限 {a.due_on}、{a.state_ja}{'、期限超過' if a.overdue else ''}）")


def _day(text: str | None, label: str) -> date | None:
    d = _date(text, label)
    return None if d is None else d.date()


PlanArg = Annotated[int, typer.Argument(metavar="ID", help="Plan id (digiden plan list).", min=1, max=2**63 - 1)]


@plan_app.command("start")
def plan_start(
    ctx: typer.Context,
    org_unit: Annotated[str, typer.Argument(metavar="CODE", help="The local government (団体コード).")],
    title: Annotated[str, typer.Option("--title", help="計画名.")],
    starts_on: Annotated[str, typer.Option("--starts-on", help="開始日 (YYYY-MM-DD).")],
    ends_on: Annotated[str | None, typer.Option("--ends-on", help="終了日 (YYYY-MM-DD, not before the start).")]
    = None,
    origin: Annotated[str, typer.Option("--origin", help="request (it asked) or selected (the nation chose it).")]
    = "request",
    case: Annotated[int | None, typer.Option("--case", help="The consultation it came from.", min=1)] = None,
) -> None:
    """Open a support plan for a local government (the national desk).

    Prints the new plan's id. Staff, goals, meetings and action items follow with the commands
    beside this one.

    Examples:

    digiden plan start 072087 --title "窓口DX伴走支援" --starts-on 2026-12-01
    digiden plan start 064033 --title "除雪DXの伴走支援" --starts-on 2026-12-01 \\
        --origin selected
    """
    from digiden.services.consult import plans
    rt = runtime(ctx)
    start = _day(starts_on, "starts-on")
    assert start is not None
    plan_id = plans.start(rt.uow(), rt.principal(), org_code=org_unit, title=title, origin=origin, starts_on=start,
                          ends_on=_day(ends_on, "ends-on"), case_id=case, now=rt.clock())
    _say(f"支援計画 {plan_id} を作成しました")


@plan_app.command("staff")
def plan_staff(
    ctx: typer.Context, plan_id: PlanArg,
    username: Annotated[str, typer.Argument(metavar="USER", help="The official's digiden account.")],
    side: Annotated[str, typer.Option("--side", help="national (国) or regional (地方支分部局).")] = "national",
    office: Annotated[str | None, typer.Option("--office", help="Their office (e.g. 東北総合通信局).")] = None,
    role_note: Annotated[str, typer.Option("--role", help="役割.")] = "",
) -> None:
    """Assign an official to a plan (the national desk).

    Examples:

    digiden plan staff 1 demo-soumu --side regional --office 東北総合通信局 \\
        --role 通信の相談
    """
    from digiden.services.consult import plans
    rt = runtime(ctx)
    plans.assign_staff(rt.uow(), rt.principal(), plan_id, username, side=side, office=office, role_note=role_note,
                       now=rt.clock())
    _say(f"{username} を支援計画 {plan_id} の担当にしました")


@plan_app.command("goal")
def plan_goal(
    ctx: typer.Context, plan_id: PlanArg,
    title: Annotated[str, typer.Option("--title", help="目標.")],
    measure: Annotated[str | None, typer.Option("--measure", help="A national measure's code.")] = None,
    kpi: Annotated[str | None, typer.Option("--kpi", help="A national KPI's code.")] = None,
    local_measure: Annotated[str, typer.Option("--local-measure", help="The local strategy's measure.")] = "",
    local_kpi: Annotated[str, typer.Option("--local-kpi", help="The local strategy's KPI.")] = "",
) -> None:
    """Add a goal to a plan, linked to national and local measures and KPIs.

    Examples:

    digiden plan goal 1 --title "地域交通の再編" --measure transport-redesign \\
        --kpi digital-implementation
    """
    from digiden.services.consult import plans
    rt = runtime(ctx)
    goal = plans.add_goal(rt.uow(), rt.principal(), plan_id, title=title, measure=measure, kpi=kpi,
                          local_measure=local_measure, local_kpi=local_kpi, now=rt.clock())
    _say(f"支援計画 {plan_id} に目標 {goal} を加えました")


@plan_app.command("meeting")
def plan_meeting(
    ctx: typer.Context, plan_id: PlanArg,
    held_on: Annotated[str, typer.Option("--on", help="開催日 (YYYY-MM-DD, on or after the plan's start).")],
    title: Annotated[str, typer.Option("--title", help="会議名.")],
    minutes: Annotated[str, typer.Option("--minutes", help="議事録.")] = "",
) -> None:
    """Record a meeting of a plan with its minutes.

    Examples:

    digiden --as demo-aizuwakamatsu plan meeting 1 --on 2026-12-10 \\
        --title 第2回打合せ --minutes "要件を確認"
    """
    from digiden.services.consult import plans
    rt = runtime(ctx)
    day = _day(held_on, "on")
    assert day is not None
    meeting = plans.add_meeting(rt.uow(), rt.principal(), plan_id, held_on=day, title=title, minutes=minutes,
                                now=rt.clock())
    _say(f"支援計画 {plan_id} に会議 {meeting} を記録しました")


@plan_app.command("action")
def plan_action(
    ctx: typer.Context, plan_id: PlanArg,
    title: Annotated[str, typer.Option("--title", help="取組.")],
    owner: Annotated[str, typer.Option("--owner", help="担当.")],
    due_on: Annotated[str, typer.Option("--due", help="期限 (YYYY-MM-DD, on or after the plan's start).")],
) -> None:
    """Add an action item with its owner and due date.

    Examples:

    digiden --as demo-aizuwakamatsu plan action 1 --title 要件整理 \\
        --owner 企画課 --due 2026-12-20
    """
    from digiden.services.consult import plans
    rt = runtime(ctx)
    due = _day(due_on, "due")
    assert due is not None
    action = plans.add_action(rt.uow(), rt.principal(), plan_id, title=title, owner=owner, due_on=due,
                              now=rt.clock())
    _say(f"支援計画 {plan_id} に取組 {action} を加えました")
