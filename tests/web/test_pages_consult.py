"""相談窓口 pages (issue 15) on both databases, as the asking municipality, its prefecture, the
responding office, an unrelated office, another municipality and the public: asking through the
form (routed, audited, attachments kept), suggestions while typing and 「これで解決しました」, the
thread with internal notes only for responders, steps refused in Japanese when the page is stale
or the consultation closed (nothing written), 404 exactly as an unknown id for whom may not open
it, and the public FAQ without the asker's identity."""

from __future__ import annotations

import re
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from digiden.services.consult import cases, faq, offices
from digiden.services.local import accounts as acc
from digiden.services.uow import UnitOfWork
from digiden.store.consult_models import ConsultCase, ConsultMessage, ConsultNotice
from digiden.store.models import AuditEvent
from tests.conftest import FIXED_NOW as NOW
from tests.conftest import PASSWORD
from tests.web.helpers import Clients, count

QUESTION = {"subject": "光ファイバ整備の補助について", "body": "補助の対象になりますか。", "kind": "programme",
            "asker_name": "山田太郎", "asker_email": "yamada@example.lg.jp"}


def ask(session_factory: sessionmaker[Session], accounts: dict[str, Any], measure: str, **kw: Any) -> int:
    args = {k: v for k, v in QUESTION.items()} | {"measures": [measure]} | kw
    return cases.ask(UnitOfWork(session_factory), accounts["aizu"], now=NOW, **args)


def version_of(html: str) -> str:
    m = re.search(r'name="version" value="(\d+)"', html)
    assert m, "the page has no step form"
    return m[1]


def audit_actions(session_factory: sessionmaker[Session], cid: int) -> list[str]:
    with UnitOfWork(session_factory).for_reading() as u:
        return list(u.session.scalars(select(AuditEvent.action).where(
            AuditEvent.entity == "consult_case", AuditEvent.entity_key == str(cid)).order_by(AuditEvent.id)))


@pytest.fixture
def mlit(session_factory: sessionmaker[Session], accounts: dict[str, Any]) -> str:
    """A responder of an office that has nothing to do with 会津若松市's consultations."""
    uow = UnitOfWork(session_factory)
    acc.create_user(uow, accounts["admin"], username="mlit", password=PASSWORD, role="ministry_editor",
                    ministry="国土交通省", now=NOW)
    offices.add_responder(uow, accounts["admin"], "北海道開発局", "mlit", now=NOW)
    return "mlit"


def test_asking_through_the_form_lands_a_routed_consultation_with_its_audit_event(  # type: ignore[no-untyped-def]
        as_: Clients, soumu: str, session_factory) -> None:
    aizu = as_("aizu")
    form = aizu.get("/consultations/new")
    assert form.status_code == 200
    assert "関連する施策・事例を探す" in form.text and 'enctype="multipart/form-data"' in form.text
    r = aizu.post("/consultations", data=QUESTION | {"measures": soumu, "share_with_prefecture": "1"},
                  files=[("attachments", ("資料.pdf", b"%PDF-1.7 plan", "application/pdf"))], follow_redirects=False)
    assert r.status_code == 303, r.text[:800]
    cid = int(re.search(r"/consultations/(\d+)\?done=asked", r.headers["location"])[1])  # type: ignore[index]
    page = aizu.get(r.headers["location"]).text
    assert "相談を受け付けました" in page and "担当決定" in page and "東北総合通信局" in page
    assert "開庁日" in page and "期限" in page and "日本時間" in page
    assert "2026年11月29日 18:00" in page          # received 09:00 UTC, shown in Japan time
    assert "山田太郎" in page                        # the asker sees its own contact details
    link = re.search(rf'href="(/consultations/{cid}/attachments/\d+)"', page)
    assert link and aizu.get(link[1]).content == b"%PDF-1.7 plan"
    assert audit_actions(session_factory, cid) == ["consult.ask"]
    # the responding office finds it in its list, with the state in Japanese
    listing = as_("ministry").get("/consultations?state=assigned").text
    assert f'href="/consultations/{cid}"' in listing and "担当決定" in listing and "会津若松市" in listing
    assert f'href="/consultations/{cid}"' in aizu.get("/consultations").text
    assert f'href="/consultations/{cid}"' not in as_("kitakata").get("/consultations").text
    assert f'href="/consultations/{cid}"' not in as_("ministry").get("/consultations?field=P4.3").text
    assert f'href="/consultations/{cid}"' in as_("ministry").get("/consultations?office=東北総合通信局").text
    # a filter it cannot apply is said in Japanese, beside the filters
    bad = aizu.get("/consultations?state=bogus")
    assert bad.status_code == 422 and "状態が正しくありません" in bad.text and 'aria-invalid="true"' in bad.text
    bad = aizu.get("/consultations?office=存在しない局")
    assert bad.status_code == 422 and "部局「存在しない局」は登録されていません" in bad.text


def test_the_public_is_sent_to_sign_in_for_the_list_and_the_form(as_: Clients) -> None:
    for path in ("/consultations", "/consultations/new"):
        r = as_("public").get(path, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"].startswith("/login?next=")


def test_a_bad_question_is_told_beside_its_field_with_nothing_written_and_the_input_kept(  # type: ignore[no-untyped-def]
        as_: Clients, soumu: str, session_factory) -> None:
    aizu = as_("aizu")
    before = count(session_factory, ConsultCase), count(session_factory, AuditEvent)
    r = aizu.post("/consultations", data=QUESTION | {"body": "   "})
    assert r.status_code == 422
    assert 'class="field-error" id="body-error">相談内容を入力してください' in r.text
    assert 'value="光ファイバ整備の補助について"' in r.text and 'value="yamada@example.lg.jp"' in r.text
    assert "何も保存されていません" in r.text and r.text.count("<title>エラー: ") == 1
    r = aizu.post("/consultations", data=QUESTION,
                  files=[("attachments", ("setup.exe", b"MZ\x90\x00", "application/octet-stream"))])
    assert r.status_code == 422
    assert 'id="attachment-error">添付ファイル「setup.exe」の種類は受け付けていません' in r.text
    assert "添付ファイルはもう一度選んでください" in r.text and "補助の対象になりますか。</textarea>" in r.text
    r = aizu.post("/consultations", data=QUESTION,
                  files=[("attachments", ("計画.pdf", b"not a pdf", "application/pdf"))])
    assert r.status_code == 422 and "内容が拡張子（.pdf）と一致しません" in r.text
    assert (count(session_factory, ConsultCase), count(session_factory, AuditEvent)) == before
    # the ministry's staff do not ask (they answer)
    assert as_("ministry").get("/consultations/new").status_code == 403


def test_suggestions_show_a_catalogue_measure_for_the_question_being_typed(  # type: ignore[no-untyped-def]
        as_: Clients, soumu: str, session_factory) -> None:
    aizu = as_("aizu")
    typed = {"subject": "地域おこし協力隊の受け入れ", "body": "地域おこし協力隊を募集したい"}
    r = aizu.post("/consultations/suggestions", data=typed, headers={"HX-Request": "true"})
    assert r.status_code == 200 and "<html" not in r.text
    assert 'href="/measures/community-cooperation-volunteers"' in r.text and "地域おこし協力隊" in r.text
    assert "これで解決しました" in r.text
    # without JavaScript: the button posts the whole form, which comes back as typed with the suggestions
    before = count(session_factory, ConsultCase)
    r = aizu.post("/consultations", data=typed | {"action": "suggest"})
    assert r.status_code == 200 and 'href="/measures/community-cooperation-volunteers"' in r.text
    assert 'value="地域おこし協力隊の受け入れ"' in r.text and count(session_factory, ConsultCase) == before
    # 「これで解決しました」: kept, closed, nobody notified
    notices = count(session_factory, ConsultNotice)
    r = aizu.post("/consultations", data=typed | {"action": "solved"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].endswith("done=solved")
    page = aizu.get(r.headers["location"]).text
    assert "終了" in page and "担当部局には通知していません" in page
    assert count(session_factory, ConsultNotice) == notices
    # nothing typed: nothing suggested, a hint instead
    empty = aizu.post("/consultations/suggestions", data={"subject": "", "body": ""})
    assert "件名と相談内容を入力すると" in empty.text


def test_an_internal_note_is_never_on_the_askers_page(  # type: ignore[no-untyped-def]
        as_: Clients, soumu: str, session_factory, accounts) -> None:
    cid = ask(session_factory, accounts, soumu)
    ministry = as_("ministry")
    page = ministry.get(f"/consultations/{cid}").text
    assert "内部メモを書く" in page and "担当部局を変更する" in page and "山田太郎" in page
    r = ministry.post(f"/consultations/{cid}/replies", data={"body": "県の補助との併用を要確認", "note": "1",
                                                             "version": version_of(page)},
                      files=[("attachments", ("内部資料.txt", "内部".encode(), "text/plain"))], follow_redirects=False)
    assert r.status_code == 303
    page = ministry.get(r.headers["location"]).text
    r = ministry.post(f"/consultations/{cid}/replies", data={"body": "対象になります。", "version": version_of(page)},
                      follow_redirects=False)
    assert r.status_code == 303
    assert "県の補助との併用を要確認" in ministry.get(f"/consultations/{cid}").text
    for who in ("aizu", "fukushima"):
        seen = as_(who).get(f"/consultations/{cid}").text
        assert "対象になります。" in seen and "回答済" in seen
        assert "県の補助との併用を要確認" not in seen and "内部資料.txt" not in seen and "内部メモ" not in seen
    fukushima = as_("fukushima").get(f"/consultations/{cid}").text
    assert "山田太郎" not in fukushima and "yamada@" not in fukushima       # the prefecture: no personal details
    assert 'action="/consultations/' not in fukushima                      # and it follows, read only
    aizu = as_("aizu").get(f"/consultations/{cid}").text
    assert "返信すると相談は再開され" in aizu and "内部メモを書く" not in aizu
    assert audit_actions(session_factory, cid) == ["consult.ask", "consult.note", "consult.reply"]


def test_a_stale_step_is_refused_in_japanese_with_the_current_state_and_nothing_written(  # type: ignore[no-untyped-def]
        as_: Clients, soumu: str, session_factory, accounts) -> None:
    cid = ask(session_factory, accounts, soumu)
    aizu, ministry = as_("aizu"), as_("ministry")
    read = version_of(aizu.get(f"/consultations/{cid}").text)            # the asker reads the page …
    r = ministry.post(f"/consultations/{cid}/replies", data={"body": "対象になります。",
                                                             "version": version_of(ministry.get(
                                                                 f"/consultations/{cid}").text)})
    assert r.status_code == 200                                          # … the office answers meanwhile
    events = audit_actions(session_factory, cid)
    for data in ({"action": "close", "comment": "取り下げます", "version": read},
                 {"action": "escalate", "comment": "急ぎです", "version": read}):
        r = aizu.post(f"/consultations/{cid}/actions", data=data)
        assert r.status_code == 409
        assert "読み込んだ後に他の人が変更しました" in r.text and "何も変更されていません" in r.text
        assert "回答済" in r.text and "対象になります。" in r.text              # the consultation as it is now
    messages = count(session_factory, ConsultMessage)
    r = aizu.post(f"/consultations/{cid}/replies", data={"body": "やはり確認したい点が", "version": read})
    assert r.status_code == 409 and "読み込み直してから操作してください" in r.text
    assert "やはり確認したい点が</textarea>" in r.text                       # the reply as typed, kept
    assert audit_actions(session_factory, cid) == events and count(session_factory, ConsultMessage) == messages
    # with the version of the page as it is now, the step goes through
    current = version_of(r.text)
    r = aizu.post(f"/consultations/{cid}/actions", data={"action": "resolve", "version": current},
                  follow_redirects=False)
    assert r.status_code == 303 and "解決にしました" in aizu.get(r.headers["location"]).text


def test_a_reply_to_a_closed_consultation_says_to_reopen_first(  # type: ignore[no-untyped-def]
        as_: Clients, soumu: str, session_factory, accounts) -> None:
    cid = ask(session_factory, accounts, soumu)
    cases.close(UnitOfWork(session_factory), accounts["ministry"], cid, comment="対応終了", now=NOW)
    aizu = as_("aizu")
    page = aizu.get(f"/consultations/{cid}").text
    assert "この相談は終了しています。返信するには、先に「再開する」を押してください" in page
    assert "返信を送る" not in page and "再開する" in page
    messages = count(session_factory, ConsultMessage)
    r = aizu.post(f"/consultations/{cid}/replies", data={"body": "まだあります", "version": version_of(page)})
    assert r.status_code == 409 and "終了した相談には返信できません。再開してから返信してください" in r.text
    assert count(session_factory, ConsultMessage) == messages
    r = aizu.post(f"/consultations/{cid}/actions", data={"action": "reopen", "version": version_of(page)},
                  follow_redirects=False)
    assert r.status_code == 303 and "返信を送る" in aizu.get(f"/consultations/{cid}").text


def test_responders_move_a_consultation_through_the_page(  # type: ignore[no-untyped-def]
        as_: Clients, soumu: str, session_factory, accounts) -> None:
    cid = ask(session_factory, accounts, soumu)
    ministry = as_("ministry")
    page = ministry.get(f"/consultations/{cid}").text
    r = ministry.post(f"/consultations/{cid}/actions", data={"action": "share", "office": "東北経済産業局",
                                                             "comment": "補助制度の併用", "version": version_of(page)},
                      follow_redirects=False)
    assert r.status_code == 303
    page = ministry.get(r.headers["location"]).text
    assert "共有しました" in page and "共有: 東北経済産業局" in page and "補助制度の併用" in page
    r = ministry.post(f"/consultations/{cid}/actions", data={"action": "share", "office": "存在しない局",
                                                             "comment": "x", "version": version_of(page)})
    assert r.status_code == 404 and "部局「存在しない局」は登録されていません" in r.text and "相談 #" in r.text
    r = ministry.post(f"/consultations/{cid}/actions", data={"action": "reassign", "office": "関東総合通信局",
                                                             "comment": "所管の確認", "version": version_of(page)},
                      follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == f"/consultations?moved={cid}"
    assert "あなたの部局の担当ではなくなった" in ministry.get(r.headers["location"]).text
    assert ministry.get(f"/consultations/{cid}").status_code == 404
    history = as_("admin").get(f"/consultations/{cid}").text
    assert "担当の変更" in history and "東北総合通信局 → 関東総合通信局" in history and "共有" in history
    dup = ask(session_factory, accounts, soumu, subject="同じ質問（重複）")
    admin = as_("admin")
    read = version_of(admin.get(f"/consultations/{dup}").text)
    r = admin.post(f"/consultations/{dup}/actions", data={"action": "merge", "into": f"#{cid}", "version": read},
                   follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == f"/consultations/{cid}?done=merged"
    assert f'<a href="/consultations/{cid}">相談 #{cid}</a> に統合されました' in as_("aizu").get(
        f"/consultations/{dup}").text
    assert audit_actions(session_factory, dup)[-1] == "consult.merge"


@pytest.mark.parametrize("who", ["kitakata", "sapporo", "public", "mlit"])
def test_a_consultation_one_may_not_open_is_404_like_an_unknown_id(  # type: ignore[no-untyped-def]
        as_: Clients, soumu: str, session_factory, accounts, mlit, who: str) -> None:
    cid = ask(session_factory, accounts, soumu,
              attachments=[cases.Attachment("資料.pdf", b"%PDF-1.7 test")])
    file_id = cases.get(UnitOfWork(session_factory), accounts["aizu"], cid, now=NOW).attachments[0].id
    c = as_(who)
    unknown = 999_999_999
    for hidden, absent in ((f"/consultations/{cid}", f"/consultations/{unknown}"),
                           (f"/consultations/{cid}/attachments/{file_id}",
                            f"/consultations/{unknown}/attachments/{file_id}")):
        h, a = c.get(hidden), c.get(absent)
        assert h.status_code == a.status_code == 404
        assert "補助" not in h.text and "山田" not in h.text
        assert re.sub(r"\d+", "N", h.text) == re.sub(r"\d+", "N", a.text)
    if who != "public":         # a step from someone who may not open it: the same 404, nothing written
        messages = count(session_factory, ConsultMessage)
        h = c.post(f"/consultations/{cid}/replies", data={"body": "横から"})
        a = c.post(f"/consultations/{unknown}/replies", data={"body": "横から"})
        assert h.status_code == a.status_code == 404
        h = c.post(f"/consultations/{cid}/actions", data={"action": "close"})
        assert h.status_code == 404 and count(session_factory, ConsultMessage) == messages
        assert f'href="/consultations/{cid}"' not in c.get("/consultations").text


def test_the_public_faq_shows_no_asker_identity(  # type: ignore[no-untyped-def]
        as_: Clients, soumu: str, session_factory, accounts) -> None:
    uow = UnitOfWork(session_factory)
    cid = ask(session_factory, accounts, soumu, subject="会津若松市の光ファイバ整備",
              body="会津若松市の山田太郎です。光ファイバ整備の補助対象になりますか。", field="F1.1")
    cases.reply(uow, accounts["ministry"], cid, "山田太郎様、高度無線環境整備推進事業の対象になります。", now=NOW)
    draft = faq.draft_from_case(uow, accounts["ministry"], cid, now=NOW)
    public = as_("public")
    assert public.get(f"/faq/{draft}").status_code == 404                 # a draft is not public
    faq.act(uow, accounts["ministry"], draft, "submit", now=NOW)
    faq.act(uow, accounts["admin"], draft, "publish", now=NOW)
    listing = public.get("/faq")
    assert listing.status_code == 200 and f'href="/faq/{draft}"' in listing.text
    entry = public.get(f"/faq/{draft}")
    assert entry.status_code == 200
    assert "高度無線環境整備推進事業の対象になります" in entry.text and "光ファイバ整備" in entry.text
    for identity in ("山田", "会津若松", "yamada@", "aizu", f"/consultations/{cid}"):
        assert identity not in listing.text and identity not in entry.text, identity
    # searched by words and field, answered as a fragment for htmx
    assert f'href="/faq/{draft}"' in public.get("/faq", params={"q": "光ファイバ 補助"}).text
    assert f'href="/faq/{draft}"' not in public.get("/faq", params={"q": "除雪"}).text
    assert f'href="/faq/{draft}"' in public.get("/faq", params={"field": "F1.1"}).text
    assert f'href="/faq/{draft}"' not in public.get("/faq", params={"field": "P4.3"}).text
    fragment = public.get("/faq", params={"q": "光ファイバ"}, headers={"HX-Request": "true"})
    assert fragment.status_code == 200 and "<html" not in fragment.text and f'href="/faq/{draft}"' in fragment.text
    assert public.get("/faq/999999").status_code == 404


def test_the_menu_leads_staff_to_their_consultations_and_the_public_to_the_faq(as_: Clients) -> None:
    public = as_("public").get("/faq").text
    assert '<a href="/faq" aria-current="page">相談窓口</a>' in public
    home = as_("aizu").get("/").text
    assert '<a href="/consultations" >相談窓口</a>' in home
    assert '<a href="/consultations" aria-current="page">相談窓口</a>' in as_("aizu").get("/consultations").text


def test_the_list_filters_by_field_in_the_database_sub_fields_included(  # type: ignore[no-untyped-def]
        as_: Clients, soumu: str, session_factory, accounts) -> None:
    sub = ask(session_factory, accounts, soumu, field="P4.3")
    top = ask(session_factory, accounts, soumu, field="P4")
    other = ask(session_factory, accounts, soumu, field="P1")
    aizu = as_("aizu")
    page = aizu.get("/consultations?field=P4")
    assert page.status_code == 200
    listed = [int(x) for x in re.findall(r'<a href="/consultations/(\d+)">', page.text)]
    assert listed == [top, sub] and other not in listed
    assert "件の中から行っています" not in page.text          # no scan of the newest rows any more
    assert [int(x) for x in re.findall(r'<a href="/consultations/(\d+)">',
                                       aizu.get("/consultations?field=P4.3").text)] == [sub]
