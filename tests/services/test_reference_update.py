"""Re-running the reference loader on an existing database (what `make run` does on every start)
brings the reference observations in line with the packaged actuals file: changed rows updated,
removed rows withdrawn, new rows added, each change audited once; a person's value is never
touched. The session database holds the packaged (current) file; the first version of the file
is kept below so that a database loaded with it can be brought up to date."""

from __future__ import annotations

import csv
import json
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from digiden.domain.access import system
from digiden.domain.codes import NATION_CODE
from digiden.domain.errors import InvalidInput
from digiden.services.common import data_path
from digiden.services.data.exports import iter_table
from digiden.services.data.imports.batches import revert_batch
from digiden.services.national.kpis import get_kpi
from digiden.services.national.observations import ObservationInput, add_observation
from digiden.services.reference import ACTUALS_FILE, ReferenceLoadReport, init_reference_data, load_actuals
from digiden.services.uow import UnitOfWork
from digiden.store.models import AuditEvent, ImportBatch, Kpi, Observation, OrgUnit

T1 = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)      # the first version is loaded
T2 = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)     # `make run` after the update
TODAY = date(2026, 11, 30)

FIRST_VERSION_ROWS = [  # kpi_actuals_reported.csv as digiden first shipped it (21 rows, 12 KPIs)
    (
        '企業版ふるさと納税を活用したことのある地方公'
         '共団体',
        '2025-03-31',
        '1631',
        '団体',
        '',
        '',
        '企業版ふるさと納税 寄附実績（平成28年度〜令'
         '和6年度累計, 税務経理協会 報道）',
        'https://www.zeikei-news.co.jp/news/071003',
    ),
    (
        'デジタル技術も活用し相談援助等を行うこども家'
         '庭センター設置市区町村',
        '2024-05-01',
        '876',
        '市区町村',
        '',
        '',
        'こども家庭センター設置状況（福祉新聞 報道）',
        'https://fukushishimbun.com/series07/36051',
    ),
    (
        'デジタル技術も活用し相談援助等を行うこども家'
         '庭センター設置市区町村',
        '2025-05-01',
        '1240',
        '市区町村',
        '',
        '',
        'こども家庭センター設置状況（大分合同新聞 報'
         '道）',
        'https://www.oita-press.co.jp/1002000000/2025'
         '/08/01/NP2025080101001326',
    ),
    (
        '１人１台端末を授業でほぼ毎日活用している学校'
         'の割合',
        '2022-04-19',
        '55.4',
        '%',
        '小学校',
        '',
        '全国学力・学習状況調査 令和4年度 学校質問紙'
         '（朝日新聞 EduA 報道）',
        'https://terakoya.asahi.com/article/14861990',
    ),
    (
        '１人１台端末を授業でほぼ毎日活用している学校'
         'の割合',
        '2022-04-19',
        '53.6',
        '%',
        '中学校',
        '',
        '全国学力・学習状況調査 令和4年度 学校質問紙'
         '（朝日新聞 EduA 報道）',
        'https://terakoya.asahi.com/article/14861990',
    ),
    (
        '１人１台端末を授業でほぼ毎日活用している学校'
         'の割合',
        '2023-04-18',
        '65.3',
        '%',
        '小学校',
        '',
        '全国学力・学習状況調査 令和5年度 学校質問紙'
         '（教育新聞 報道）',
        'https://www.kyobun.co.jp/article/20230731-04',
    ),
    (
        '１人１台端末を授業でほぼ毎日活用している学校'
         'の割合',
        '2023-04-18',
        '62.8',
        '%',
        '中学校',
        '',
        '全国学力・学習状況調査 令和5年度 学校質問紙'
         '（教育新聞 報道）',
        'https://www.kyobun.co.jp/article/20230731-04',
    ),
    (
        '物流業務の自動化・機械化やデジタル化により、'
         '物流DXを実現している物流事業者の割合',
        '2022-03-31',
        '31',
        '%',
        '',
        '',
        '物流DX 実現割合 令和3年度（輸送経済新聞 報道'
         '）',
        'https://yuso-shinbun.com/backnumber/2022/091'
         '9.html',
    ),
    (
        '物流業務の自動化・機械化やデジタル化により、'
         '物流DXを実現している物流事業者の割合',
        '2025-01',
        '41',
        '%',
        '',
        '',
        '物流DX 実現割合（流通ニュース 報道）',
        'https://www.ryu-tsu.com/',
    ),
    (
        '3D都市モデルの整備都市',
        '2021-03-31',
        '56',
        '都市',
        '',
        '',
        'PLATEAU 整備都市数 令和2年度（建設通信 報道'
         '）',
        'https://sokusin.or.jp/2023/04/post-396.html',
    ),
    (
        '3D都市モデルの整備都市',
        '2023-03-31',
        '130',
        '都市',
        '',
        '程度',
        'PLATEAU 整備都市数 令和4年度末（報道）',
        'https://xrcloud.jp/blog/articles/business/12'
         '634',
    ),
    (
        'デジタル実装に取り組む地方公共団体',
        '2023-06',
        '1000',
        '団体',
        '',
        '超',
        '内閣官房 説明（時評 報道）',
        'https://jihyo.co.jp/topics/saizennsen-cs2023'
         '05ichikawa02.html',
    ),
    (
        '光ファイバの世帯カバー率',
        '2023-03-31',
        '99.84',
        '%',
        '',
        '',
        '総務省 ブロードバンド基盤の整備状況 令和4年'
         '度末（BUSINESS NETWORK 報道）',
        'https://businessnetwork.jp/article/18325/',
    ),
    (
        '５Gの人口カバー率',
        '2022-03-31',
        '93.2',
        '%',
        '',
        '',
        '総務省 5G人口カバー率 令和3年度末（BUSINESS '
         'NETWORK 報道）',
        'https://businessnetwork.jp/article/11361',
    ),
    (
        '５Gの人口カバー率',
        '2023-03-31',
        '96.6',
        '%',
        '',
        '',
        '総務省 5G人口カバー率 令和4年度末（報道）',
        'https://businessnetwork.jp/article/11361',
    ),
    (
        '５Gの人口カバー率',
        '2024-03-31',
        '98.1',
        '%',
        '',
        '',
        '総務省 5G人口カバー率 令和5年度末（オートメ'
         'ーション新聞 報道）',
        'https://www.automation-news.jp/2024/09/84816'
         '/',
    ),
    (
        'デジタル推進委員の取組',
        '2022-12',
        '20000',
        '人',
        '',
        '強',
        'デジタル推進委員 任命数（総合戦略本文「現在'
         '２万人強」と同旨）',
        'https://wic-net.com/material/document/14548/'
         '129',
    ),
    (
        '「デジ活」中山間地域の登録数',
        '2023-12-20',
        '51',
        '地域',
        '',
        '',
        '「デジ活」中山間地域 第1回登録（農村ニュース'
         ' 報道）',
        'https://www.nouson-n.com/media/2024/01/02/93'
         '40',
    ),
    (
        '脱炭素先行地域の選定及び実現',
        '2023-04',
        '62',
        'か所',
        '選定',
        '',
        '脱炭素先行地域 第3回選定まで（環境ビジネス '
         '報道）',
        'https://www.kankyo-business.jp/',
    ),
    (
        '脱炭素先行地域の選定及び実現',
        '2024-09-27',
        '82',
        'か所',
        '選定',
        '',
        '脱炭素先行地域 第5回選定まで（報道）',
        'https://www.pveye.jp/inside_news/view/6274',
    ),
    (
        '脱炭素先行地域の選定及び実現',
        '2025-05-09',
        '88',
        'か所',
        '選定',
        '',
        '脱炭素先行地域 第6回選定まで（PV eye 報道）',
        'https://www.pveye.jp/inside_news/view/6274',
    ),
]
FIRST_VERSION_HEADER = ('kpi', 'as_of', 'value', 'unit', 'breakdown', 'qualifier', 'source_title', 'source_url')


def first_version(tmp_path: Path) -> Path:
    p = tmp_path / ACTUALS_FILE
    with p.open("w", encoding="utf-8", newline="") as f:
        csv.writer(f, lineterminator="\n").writerows([FIRST_VERSION_HEADER, *FIRST_VERSION_ROWS])
    return p


def load_first_version(uow: UnitOfWork, tmp_path: Path) -> ReferenceLoadReport:
    report = ReferenceLoadReport()
    with uow:
        load_actuals(uow.session, report, actor="reference-v1", now=T1, path=first_version(tmp_path))
        uow.commit()
    return report


@dataclass(frozen=True)
class Stored:
    id: int
    value: float
    source_title: str
    source_url: str | None
    batch_id: int | None
    updated_at: datetime | None


def national(uow: UnitOfWork) -> dict[tuple[str, str, str], Stored]:
    """The national observations by (KPI code, as-of, breakdown)."""
    with uow:
        rows = uow.session.execute(
            select(Observation, Kpi.code).join(Kpi, Kpi.id == Observation.kpi_id)
            .join(OrgUnit, OrgUnit.id == Observation.org_unit_id)
            .where(OrgUnit.code == NATION_CODE)).all()
        return {(code, o.as_of.isoformat(), o.breakdown):
                Stored(o.id, o.value, o.source_title, o.source_url, o.batch_id, o.updated_at)
                for o, code in rows}


def events_at(uow: UnitOfWork, at: datetime) -> list[AuditEvent]:
    with uow:
        events = list(uow.session.scalars(select(AuditEvent).where(
            AuditEvent.at == at, AuditEvent.entity == "observation").order_by(AuditEvent.id)))
        uow.session.expunge_all()
        return events


def count(uow: UnitOfWork, model: type) -> int:
    with uow:
        return int(uow.session.scalar(select(func.count()).select_from(model)) or 0)


REMOVED = {("digital-promotion-commissioners", "2022-12-31", ""),
           ("dejikatsu-chusankan-registrations", "2023-12-20", ""),
           ("decarbonization-leading-areas", "2023-04-30", "選定")}
CORRECTED = {  # the five rows that cited a page stating a different number, and their new source
    ("5g-population-coverage", "2023-03-31", ""): "https://businessnetwork.jp/?p=15638",
    ("plateau-3d-city-models", "2021-03-31", ""):
        "https://project.nikkeibp.co.jp/atclppp/PPP/news/033001936/",
    ("plateau-3d-city-models", "2023-03-31", ""): "https://sokusin.or.jp/2023/04/post-396.html",
    ("decarbonization-leading-areas", "2024-09-27", "選定"):
        "https://tenbou.nies.go.jp/news-sp/jnews/detail.php?i=36964",
    ("logistics-dx", "2025-01-31", ""): "https://www.ryu-tsu.com/headline/"
        "%E3%80%8C%E7%89%A9%E6%B5%81%EF%BD%84%EF%BD%98%E5%AE%9F%E7%8F%BE%E3%80%8D41%EF%BC%85"
        "%E3%80%81%E3%80%80%E7%8F%BE%E8%A1%8C%E7%89%A9%E6%B5%81%E5%A4%A7%E7%B6%B1%EF%BD%8B"
        "%EF%BD%90%EF%BD%89%E9%81%94%E6%88%90",
}


def test_an_old_database_is_brought_up_to_date(uow: UnitOfWork, tmp_path: Path) -> None:
    load_first_version(uow, tmp_path)
    old = national(uow)
    assert len(old) == 21 and REMOVED <= set(old)
    old_values = {k: (o.id, o.value, o.source_url) for k, o in old.items()}
    batches = count(uow, ImportBatch)

    report = init_reference_data(uow, actor="cli", now=T2)   # what `make run` runs
    assert isinstance(report, ReferenceLoadReport)
    assert (report.created["observation"], report.updated["observation"],
            report.unchanged["observation"], report.withdrawn["observation"],
            report.kept["observation"]) == (12, 18, 0, 3, 0)
    assert report.as_dict()["withdrawn"] == {"observation": 3}

    now = national(uow)
    assert len(now) == 30 and not REMOVED & set(now)
    assert count(uow, ImportBatch) == batches + 1
    for key, url in CORRECTED.items():
        assert now[key].source_url == url and now[key].id == old_values[key][0]   # updated in place
    assert now[("plateau-3d-city-models", "2024-03-31", "")].value == 200
    assert now[("5g-population-coverage", "2025-03-31", "")].value == 98.4

    events = events_at(uow, T2)
    assert Counter(e.action for e in events) == {"observation.create": 12, "observation.update": 18,
                                                 "observation.withdraw": 3}
    assert len({e.batch_id for e in events}) == 1 and all(e.actor == "cli" for e in events)
    by_key = {e.entity_key: e for e in events}
    for key, url in CORRECTED.items():
        e = by_key[str(now[key].id)]
        assert e.action == "observation.update"
        assert e.before is not None and e.after is not None
        assert e.before["source_url"] == old_values[key][2] and e.after["source_url"] == url
        assert e.before["value"] == e.after["value"] == now[key].value
    for key in REMOVED:
        e = by_key[str(old_values[key][0])]
        assert e.action == "observation.withdraw" and e.after is None
        assert e.before is not None and e.before["value"] == old_values[key][1]


def test_loading_the_same_file_again_changes_nothing(uow: UnitOfWork, tmp_path: Path) -> None:
    load_first_version(uow, tmp_path)
    init_reference_data(uow, actor="cli", now=T2)
    audits, batches, before = count(uow, AuditEvent), count(uow, ImportBatch), national(uow)
    snapshot = {k: (o.id, o.value, o.source_title, o.source_url, o.batch_id, o.updated_at)
                for k, o in before.items()}
    for _ in range(2):
        report = init_reference_data(uow, actor="someone-else", now=T2.replace(hour=10))
        assert report.as_dict()["observation" and "created"]["observation"] == 0
        assert (report.updated["observation"], report.unchanged["observation"],
                report.withdrawn["observation"], report.kept["observation"]) == (0, 30, 0, 0)
    assert count(uow, AuditEvent) == audits and count(uow, ImportBatch) == batches
    after = national(uow)
    assert {k: (o.id, o.value, o.source_title, o.source_url, o.batch_id, o.updated_at)
            for k, o in after.items()} == snapshot


def test_values_entered_by_people_are_never_touched(uow: UnitOfWork, tmp_path: Path) -> None:
    load_first_version(uow, tmp_path)
    admin = system("planner@example")

    def enter(kpi: str, as_of: str, value: str, breakdown: str = "") -> None:
        add_observation(uow, ObservationInput(kpi=kpi, as_of=as_of, value=value, breakdown=breakdown,
                                              source_title="担当課の集計"),
                        actor=admin, now=T1.replace(hour=12), today=TODAY)

    enter("5g-population-coverage", "2025-03-31", "98.0")       # a key the new file adds
    enter("5g-population-coverage", "2023-03-31", "96.5")       # a reference value, corrected by hand
    enter("dejikatsu-chusankan-registrations", "2023-12-20", "52")   # a key the new file drops
    entered = {k: (o.id, o.value) for k, o in national(uow).items()
               if o.source_title == "担当課の集計"}
    assert len(entered) == 3

    report = init_reference_data(uow, actor="cli", now=T2)
    assert report.kept["observation"] == 2          # two file rows met a person's value
    assert report.withdrawn["observation"] == 2     # the dropped keys nobody edited
    assert report.created["observation"] == 11
    now = national(uow)
    for key, (oid, value) in entered.items():
        assert (now[key].id, now[key].value, now[key].source_title) == (oid, value, "担当課の集計")
    assert not any(e.entity_key in {str(i) for i, _ in entered.values()} for e in events_at(uow, T2))


def test_statuses_and_exports_count_only_the_file(uow: UnitOfWork, tmp_path: Path) -> None:
    load_first_version(uow, tmp_path)
    five_g = get_kpi(uow, "5g-population-coverage", today=TODAY)
    assert [o.value for o in five_g.kpi.latest] == [98.1]
    dejikatsu = get_kpi(uow, "dejikatsu-chusankan-registrations", today=TODAY)
    assert [o.value for o in dejikatsu.observations] == [51]

    init_reference_data(uow, actor="cli", now=T2)
    five_g = get_kpi(uow, "5g-population-coverage", today=TODAY)
    assert [(o.value, o.as_of.iso()) for o in five_g.kpi.latest] == [(98.4, "2025-03-31")]
    assert [o.value for o in five_g.observations] == [93.2, 96.6, 98.1, 98.4]
    assert get_kpi(uow, "dejikatsu-chusankan-registrations", today=TODAY).observations == ()
    decarb = get_kpi(uow, "decarbonization-leading-areas", today=TODAY)
    assert [(o.as_of.iso(), o.value) for o in decarb.observations] == [
        ("2022-04-26", 26), ("2022-11-01", 46), ("2023-04-28", 62), ("2023-11-07", 74),
        ("2024-09-27", 82), ("2025-05-09", 88)]
    exported = [r for r in iter_table(uow, "observations", today=TODAY) if r["org_unit"] == NATION_CODE]
    assert len(exported) == 30
    assert not any(r["kpi"] == "dejikatsu-chusankan-registrations" for r in exported)
    statuses = {r["kpi"]: r for r in iter_table(uow, "statuses", today=TODAY)}
    assert statuses["5g-population-coverage"]["key"] == five_g.kpi.status.status.value


def test_reverting_the_update_batch_restores_the_corrected_rows(uow: UnitOfWork, tmp_path: Path) -> None:
    load_first_version(uow, tmp_path)
    old = {k: (o.value, o.source_url) for k, o in national(uow).items()}
    init_reference_data(uow, actor="cli", now=T2)
    batch_id = next(e.batch_id for e in events_at(uow, T2))
    assert batch_id is not None
    revert_batch(uow, batch_id, actor=system("admin"), now=T2.replace(hour=11))
    back = national(uow)
    for key in CORRECTED:                   # what the update overwrote is put back
        assert (back[key].value, back[key].source_url) == old[key]
    assert ("5g-population-coverage", "2025-03-31", "") not in back    # what it added is gone


def test_the_actuals_file_on_disk_is_the_packaged_one(uow: UnitOfWork) -> None:
    rows = data_path(ACTUALS_FILE).read_text(encoding="utf-8-sig").splitlines()
    assert len(rows) == 31 and len(national(uow)) == 30


@pytest.mark.sqlite_only
def test_a_key_twice_in_the_file_is_refused(uow: UnitOfWork, tmp_path: Path) -> None:
    lines = data_path(ACTUALS_FILE).read_text(encoding="utf-8-sig").splitlines()
    p = tmp_path / ACTUALS_FILE
    p.write_text("\n".join([*lines, lines[-1].replace(",1,", ",2,")]) + "\n", encoding="utf-8")
    with uow:
        with pytest.raises(InvalidInput) as e:
            load_actuals(uow.session, ReferenceLoadReport(), actor="t", now=T2, path=p)
    assert "row 32" in e.value.message and "row 31" in e.value.message and "31行目" in e.value.message_ja


def test_db_init_on_an_existing_database_reports_what_it_withdrew(live_db, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """`make run` on a database committed with the first version: `digiden db init` (in its own
    connections, as in production) brings it up to date and says so; running it again is silent."""
    from typer.testing import CliRunner

    from digiden.cli import Runtime, app
    db = UnitOfWork(live_db.session_factory)
    load_first_version(db, tmp_path)
    rt = Runtime(live_db.session_factory, live_db.engine, lambda: T2, "cli")
    first = CliRunner().invoke(app, ["db", "init", "--json"], obj=rt)
    assert first.exit_code == 0, first.output
    report = json.loads(first.stdout)
    assert report["withdrawn"] == {"observation": 3} and report["created"]["observation"] == 12
    assert report["updated"]["observation"] == 18 and report["kept"] == {"observation": 0}
    audits = count(db, AuditEvent)
    again = CliRunner().invoke(app, ["db", "init", "--json"], obj=rt)
    assert again.exit_code == 0, again.output
    assert json.loads(again.stdout)["unchanged"]["observation"] == 30
    assert json.loads(again.stdout)["withdrawn"] == {"observation": 0}
    assert count(db, AuditEvent) == audits and len(national(db)) == 30
    # the words a person running `make run` reads
    load_first_version(db, tmp_path)
    plain = CliRunner().invoke(app, ["db", "init"], obj=rt)
    assert plain.exit_code == 0, plain.output
    said = " ".join(plain.stdout.split())      # as wide as the terminal: lines may wrap
    assert "observation: 12 created, 18 updated, " in said
    assert "3 withdrawn (no longer in the packaged file)" in said
