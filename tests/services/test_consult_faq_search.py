"""A published FAQ entry is searchable with everything else (issue 15, item 6), leaves the index
when withdrawn, survives a rebuild of the index, and two editors of one entry cannot overwrite each
other: a stale edit or step is refused with the Japanese message and writes nothing. On SQLite and
PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from digiden.domain.access import PUBLIC, Principal
from digiden.domain.errors import Conflict
from digiden.services.common import LoadReport
from digiden.services.consult import cases, faq, offices
from digiden.services.knowledge import search
from digiden.services.uow import UnitOfWork
from digiden.store.consult_models import ConsultFaq, ConsultRule
from digiden.store.models import AuditEvent

NOW = datetime(2026, 11, 30, 1, 0, tzinfo=UTC)
QUESTION = "ため池の水位センサーを遠隔で監視する費用の補助はありますか"


@pytest.fixture
def draft(uow: UnitOfWork, accounts: dict[str, Principal]) -> int:
    """A draft FAQ entry from a consultation 会津若松市 asked and 総務省 answered."""
    with uow:
        offices.load_reference_offices(uow.session, LoadReport(), actor="reference-data", now=NOW)
        uow.commit()
    offices.add_responder(uow, accounts["admin"], "東北総合通信局", "ministry", now=NOW)
    with uow:
        rule = uow.session.scalars(select(ConsultRule).where(ConsultRule.ministry == "総務省")).first()
        assert rule is not None and rule.measure_code
        measure = rule.measure_code
    cid = cases.ask(uow, accounts["aizu"], subject="水位センサーの補助", body=QUESTION, measures=[measure],
                    field="P4.3", now=NOW)
    cases.reply(uow, accounts["ministry"], cid, "遠隔監視の機器は補助の対象です。申請の手引をご覧ください。", now=NOW)
    fid = faq.draft_from_case(uow, accounts["ministry"], cid, now=NOW)
    faq.edit(uow, accounts["ministry"], fid, question=QUESTION, answer="遠隔監視の機器は補助の対象です。", now=NOW)
    return fid


def _faq_hits(uow: UnitOfWork, q: str) -> list[search.Hit]:
    return [h for h in search.search(uow, PUBLIC, q).hits if h.kind == "faq"]


def test_a_published_faq_is_found_by_search_and_leaves_when_withdrawn(
        uow: UnitOfWork, accounts: dict[str, Principal], draft: int) -> None:
    admin, ministry = accounts["admin"], accounts["ministry"]
    assert _faq_hits(uow, "水位センサー") == []              # a draft is not public, so not searchable
    faq.act(uow, ministry, draft, "submit", now=NOW)
    faq.act(uow, admin, draft, "publish", now=NOW)
    hits = _faq_hits(uow, "水位センサー")
    assert [(h.id, h.url, h.kind_label) for h in hits] == [(str(draft), f"/faq/{draft}", "相談FAQ")]
    assert hits[0].title == QUESTION
    assert any(h.kind == "faq" for h in search.search(uow, PUBLIC, "水位センサー", kind="faq").hits)
    with uow:                                       # a rebuilt index has it too
        search.rebuild(uow.session)
        uow.commit()
    assert [h.id for h in _faq_hits(uow, "水位センサー")] == [str(draft)]
    faq.act(uow, admin, draft, "withdraw", now=NOW)
    assert _faq_hits(uow, "水位センサー") == []


def test_a_stale_faq_edit_or_step_is_refused_and_writes_nothing(
        uow: UnitOfWork, accounts: dict[str, Principal], draft: int) -> None:
    ministry = accounts["ministry"]
    read = faq.get(uow, ministry, draft)
    faq.edit(uow, ministry, draft, question=QUESTION, answer="一人目の回答案です。", now=NOW,
             expected_version=read.version)
    with uow:
        audits = uow.session.scalar(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.entity == "consult_faq", AuditEvent.entity_key == str(draft)))
    with pytest.raises(Conflict) as e:               # the second editor read the same version
        faq.edit(uow, ministry, draft, question=QUESTION, answer="二人目の回答案です。", now=NOW,
                 expected_version=read.version)
    assert "他の人が変更しました" in e.value.message_ja and e.value.field == "version"
    with pytest.raises(Conflict):
        faq.act(uow, ministry, draft, "submit", now=NOW, expected_version=read.version)
    now = faq.get(uow, ministry, draft)
    assert now.answer == "一人目の回答案です。" and now.state == "draft" and now.version == read.version + 1
    with uow:
        assert uow.session.scalar(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.entity == "consult_faq", AuditEvent.entity_key == str(draft))) == audits
        assert uow.session.get(ConsultFaq, draft).version == now.version  # type: ignore[union-attr]
    assert faq.act(uow, ministry, draft, "submit", now=NOW, expected_version=now.version) == "in_review"


def test_the_public_faq_is_filtered_by_words_and_field_in_the_database(
        uow: UnitOfWork, accounts: dict[str, Principal], draft: int) -> None:
    faq.act(uow, accounts["ministry"], draft, "submit", now=NOW)
    faq.act(uow, accounts["admin"], draft, "publish", now=NOW)
    field = faq.get(uow, PUBLIC, draft).field
    ids = lambda **kw: [f.id for f in faq.published(uow, **kw)]  # noqa: E731
    assert ids(q="水位センサー　遠隔") == [draft]          # every word, full-width space too
    assert ids(q="水位センサー 台風") == []
    assert ids(q="%") == [] and ids(q="_") == []           # LIKE's wildcards are plain characters
    assert field == "P4.3"
    assert ids(field="P4.3") == [draft] and ids(field="P4") == [draft] and ids(field="P4.1") == []
    assert ids(field="no-such-field") == []


def test_a_consultation_makes_one_live_faq_entry(uow: UnitOfWork, accounts: dict[str, Principal], draft: int) -> None:
    """A second draft from the same consultation is refused, naming the first (an audit found the
    same question published twice); once the first is withdrawn, a new one may be made."""
    case = uow_case(uow, draft)
    with pytest.raises(Conflict) as e:
        faq.draft_from_case(uow, accounts["ministry"], case, now=NOW)
    assert f"FAQ {draft} を作成済み" in e.value.message_ja and e.value.details == {"faq": draft}
    faq.act(uow, accounts["ministry"], draft, "submit", now=NOW)
    faq.act(uow, accounts["admin"], draft, "publish", now=NOW)
    faq.act(uow, accounts["admin"], draft, "withdraw", now=NOW)
    again = faq.draft_from_case(uow, accounts["ministry"], case, now=NOW)
    assert again != draft


def uow_case(uow: UnitOfWork, faq_id: int) -> int:
    with uow.for_reading() as u:
        f = u.session.get(ConsultFaq, faq_id)
        assert f is not None and f.case_id is not None
        return f.case_id
