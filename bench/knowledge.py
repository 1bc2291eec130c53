"""Benchmarks of the knowledge side (run by bench/run.py): SYNTHETIC good practices for search,
and similarity over the real 1,741 municipalities.

Steps
  practices   a fresh SQLite database with the reference data, then 10,000 SYNTHETIC practices
              imported and published through the real importer (JSON, all or nothing)
  index       rebuilding the whole search index (10,000 practices + 33 measures + 1,788 local
              governments), vs tokenising the same text alone
  search      latency of the search service over the evaluation queries and random words, with
              and without facets, vs the bare FTS5 query it runs (same terms, same LIMIT)
  search_pg   the same on PostgreSQL (127.0.0.1:5432, database test, its own schema), if reachable,
              vs the bare GIN match it runs (digiden scores the matches with BM25 itself)
  similarity  one municipality against all 1,741 (warm and cold), vs the scoring alone
"""

from __future__ import annotations

import json
import random
import statistics
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "out"
DB = OUT / "knowledge.sqlite3"
NOW = datetime(2026, 11, 29, 9, 0, tzinfo=UTC)
N_PRACTICES = 10_000
SEED = 20261129
PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"

TECH = ["AI", "IoT", "ドローン", "センサー", "オンライン", "スマートフォンアプリ", "データ連携基盤", "GPS",
        "クラウド", "ロボット", "自動運転", "キャッシュレス決済", "3D都市モデル", "遠隔", "電子申請",
        "マイナンバーカード", "チャットボット"]
ISSUE = ["高齢者の見守り", "通院の足の確保", "子育て世帯の相談", "観光地の混雑", "除雪作業の担い手不足",
         "農作業の省力化", "空き家の増加", "買い物弱者の支援", "防災情報の伝達", "児童生徒の学びの機会",
         "商店街の活性化", "移住者の受け入れ", "公共交通の維持", "行政手続の負担", "鳥獣被害", "医師不足",
         "災害時の避難所運営", "脱炭素", "地域コミュニティの維持"]
RESULT = ["利用者が{n}人に増加", "作業時間を{p}％削減", "問い合わせが{p}％減少", "年間{n}件の利用", "満足度{p}％",
          "費用を年{n}万円削減", "移住者{n}人"]
FIELDS = ["P1.2", "P1.3", "P1.4", "P2.1", "P2.3", "P3.1", "P3.3", "P4.1", "P4.2", "P4.3", "P4.4", "P4.6", "P4.7",
          "F1.2", "F1.3", "F3.1"]
MEASURES = ["dden-grant-digital", "dden-grant-promotion", "transport-redesign", "telemedicine", "giga-school",
            "smart-agriculture", "tourism-dx", "disaster-dx", "kodomo-katei-center", "data-linkage-platform", ""]


def _uow(url: str | None = None):  # type: ignore[no-untyped-def]
    from digiden.services.uow import UnitOfWork
    from digiden.store.db import make_engine, make_session_factory
    return UnitOfWork(make_session_factory(make_engine(url or f"sqlite:///{DB}")))


def synthetic_practices(n: int, codes: list[str], seed: int = SEED) -> list[dict[str, Any]]:
    """Seeded SYNTHETIC practices: every title says 合成 and every record is flagged synthetic."""
    rnd = random.Random(seed)
    out = []
    for i in range(n):
        tech, issue = rnd.choice(TECH), rnd.choice(ISSUE)
        res = rnd.choice(RESULT).format(n=rnd.randint(10, 5000), p=rnd.randint(5, 80))
        out.append({
            "title": f"{tech}を活用した{issue}（合成{i + 1:05d}）",
            "org_units": [rnd.choice(codes)],
            "field": rnd.choice(FIELDS),
            "problem": f"{issue}が課題となっていた。{rnd.choice(ISSUE)}も重なり、職員だけでは対応しきれない。",
            "solution": f"{tech}と{rnd.choice(TECH)}を組み合わせ、{issue}に取り組む仕組みを住民・事業者と共に整えた。",
            "results": f"{res}（合成データ）",
            "fy_from": str(rnd.randint(2019, 2025)),
            "measures": [m for m in {rnd.choice(MEASURES)} if m],
        })
    return out


def step_practices() -> dict[str, object]:
    from digiden.services.reference import init_reference_data
    from digiden.store.db import make_engine
    from digiden.store.migrate import upgrade
    OUT.mkdir(exist_ok=True)
    for p in OUT.glob("knowledge.sqlite3*"):
        p.unlink()
    upgrade(make_engine(f"sqlite:///{DB}"))
    init_reference_data(_uow(), actor="bench", now=NOW)
    t = time.perf_counter()
    n = _load_practices(None)
    secs = time.perf_counter() - t
    return {"practices": n, "seconds": secs, "per_s": n / secs}


def _load_practices(url: str | None) -> int:
    """The 10,000 practices through the real importer, in files of its maximum size (2,000)."""
    from sqlalchemy import select

    from digiden.domain.access import system
    from digiden.services.knowledge import practices
    from digiden.store.models import OrgUnit
    uow = _uow(url)
    with uow:
        codes = list(uow.session.scalars(select(OrgUnit.code).where(OrgUnit.kind.notin_(["nation", "prefecture"]))))
    rows = synthetic_practices(N_PRACTICES, codes)
    n = 0
    for i in range(0, len(rows), practices.MAX_IMPORT_ROWS):
        raw = json.dumps({"practices": rows[i:i + practices.MAX_IMPORT_ROWS]}, ensure_ascii=False).encode()
        n += len(practices.import_file(_uow(url), system("bench"), f"synthetic_{i}.json", raw, publish=True,
                                       now=NOW, synthetic=True).created)
    return n


def step_index() -> dict[str, object]:
    from sqlalchemy import text

    from digiden.services.knowledge import search, textja
    uow = _uow()
    with uow:
        texts = [r.title + "\n" + r.body for r in uow.session.execute(text("SELECT title, body FROM search_doc"))]
    t = time.perf_counter()
    for x in texts:
        textja.terms(x)
    tokenise = time.perf_counter() - t
    report = search.reindex(uow)
    chars = sum(len(x) for x in texts)
    return {"documents": report.documents, "seconds": report.seconds, "tokenise_seconds": tokenise,
            "chars": chars, "ratio_to_tokenising": report.seconds / tokenise}


def _queries() -> list[str]:
    import yaml
    doc = yaml.safe_load((ROOT / "tests" / "search_eval" / "queries.yaml").read_text(encoding="utf-8"))
    rnd = random.Random(SEED)
    words = [q["q"] for q in doc["queries"]]
    words += [f"{rnd.choice(TECH)} {rnd.choice(ISSUE)}" for _ in range(50)]
    return words


def _search_bench(url: str | None) -> dict[str, object]:
    from sqlalchemy import text

    from digiden.domain.access import PUBLIC
    from digiden.domain.search import fts5_expression, tsquery_expression, unique_terms
    from digiden.services.knowledge import search, textja
    uow = _uow(url)
    qs = _queries()
    search.search(uow, PUBLIC, "子育て")      # load the dictionary once
    pg = url is not None

    def timed(fn) -> list[float]:  # type: ignore[no-untyped-def]
        out = []
        for _ in range(3):
            for q in qs:
                t = time.perf_counter()
                fn(q)
                out.append((time.perf_counter() - t) * 1000)
        return sorted(out)

    def bare(q: str) -> None:
        terms = unique_terms(textja.terms(q))
        with uow:
            if pg:
                uow.session.execute(text("SELECT id FROM search_doc WHERE tsv @@ to_tsquery('simple', :q)"),
                                    {"q": tsquery_expression(terms)}).all()
            else:
                uow.session.execute(text("SELECT rowid FROM search_fts WHERE search_fts MATCH :q "
                                         "ORDER BY bm25(search_fts, 4.0, 1.0) LIMIT 20"),
                                    {"q": fts5_expression(terms)}).all()

    full = timed(lambda q: search.search(uow, PUBLIC, q, limit=20))
    lean = timed(lambda q: search.search(uow, PUBLIC, q, limit=20, with_facets=False))
    ref = timed(bare)
    with uow:
        docs = uow.session.execute(text("SELECT count(*) FROM search_doc")).scalar_one()

    def pct(xs: list[float], p: float) -> float:
        return xs[min(len(xs) - 1, int(len(xs) * p))]
    return {"documents": docs, "queries": len(qs) * 3,
            "p50_ms": statistics.median(full), "p95_ms": pct(full, 0.95),
            "no_facets_p50_ms": statistics.median(lean), "no_facets_p95_ms": pct(lean, 0.95),
            "bare_p50_ms": statistics.median(ref), "bare_p95_ms": pct(ref, 0.95),
            "ratio_to_bare": statistics.median(full) / statistics.median(ref)}


def step_search() -> dict[str, object]:
    return _search_bench(None)


def step_search_pg() -> dict[str, object]:
    from sqlalchemy import text

    from digiden.store.db import make_engine
    from digiden.store.migrate import upgrade
    try:
        admin = make_engine(PG_URL)
        with admin.connect() as c:
            c.execute(text("select 1"))
    except Exception as e:  # noqa: BLE001 - any failure means "not reachable"
        return {"skipped": f"PostgreSQL not reachable: {type(e).__name__}"}
    schema = f"digiden_bench_{uuid.uuid4().hex[:8]}"
    with admin.begin() as c:
        c.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = f"{PG_URL}?options=-csearch_path%3D{schema}"
    try:
        upgrade(make_engine(url))
        from digiden.services.reference import init_reference_data
        init_reference_data(_uow(url), actor="bench", now=NOW)
        t = time.perf_counter()
        _load_practices(url)
        load = time.perf_counter() - t
        out = _search_bench(url)
        out["import_seconds"] = load
        return out
    finally:
        with admin.begin() as c:
            c.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))


def step_similarity() -> dict[str, object]:
    from digiden.domain.access import PUBLIC
    from digiden.domain.similarity import DEFAULT_WEIGHTS, rank
    from digiden.services.knowledge import similarity
    uow = _uow()
    rnd = random.Random(SEED)
    t = time.perf_counter()
    similarity.similar(uow, PUBLIC, "064033")
    cold = (time.perf_counter() - t) * 1000
    with uow:
        profiles = similarity.profiles(uow.session)
    codes = rnd.sample(sorted(p.code for p in profiles.values()), 60)
    warm, pure = [], []
    by_code = {p.code: p for p in profiles.values()}
    for c in codes:
        t = time.perf_counter()
        similarity.similar(uow, PUBLIC, c, limit=20)
        warm.append((time.perf_counter() - t) * 1000)
        t = time.perf_counter()
        rank(by_code[c], profiles.values(), DEFAULT_WEIGHTS, limit=20)
        pure.append((time.perf_counter() - t) * 1000)
    warm.sort()
    return {"municipalities": len(profiles), "cold_ms": cold, "p50_ms": statistics.median(warm),
            "p95_ms": warm[int(len(warm) * 0.95) - 1], "scoring_only_p50_ms": statistics.median(pure),
            "ratio_to_scoring": statistics.median(warm) / statistics.median(pure)}


STEPS = ["practices", "index", "search", "search_pg", "similarity"]


def report(results: dict[str, dict[str, Any]]) -> list[str]:
    p, i, s, sim = results["practices"], results["index"], results["search"], results["similarity"]
    pg = results["search_pg"]
    lines = [
        "",
        "| knowledge step | figure | reference in the same run | ratio | peak RSS |",
        "| --- | --- | --- | --- | --- |",
        f"| import + publish 10,000 SYNTHETIC practices (JSON, real importer, indexed as published) | "
        f"{p['seconds']:.1f} s = **{p['per_s']:,.0f} practices/s** | — | — | {p['peak_rss_mb']:.0f} MB |",
        f"| search index rebuild ({sum(i['documents'].values()):,} documents, {i['chars']:,} characters) | "
        f"**{i['seconds']:.1f} s** | tokenising the same text alone: {i['tokenise_seconds']:.1f} s | "
        f"**{i['ratio_to_tokenising']:.2f}×** | {i['peak_rss_mb']:.0f} MB |",
        f"| search, SQLite FTS5, {s['documents']:,} documents, {s['queries']} queries (eval set + random) | "
        f"p50 **{s['p50_ms']:.1f} ms**, p95 {s['p95_ms']:.1f} ms (without facets: p50 {s['no_facets_p50_ms']:.1f}, "
        f"p95 {s['no_facets_p95_ms']:.1f}) | bare FTS5 MATCH + bm25 LIMIT 20: p50 {s['bare_p50_ms']:.2f} ms | "
        f"**{s['ratio_to_bare']:.1f}×** | {s['peak_rss_mb']:.0f} MB |",
    ]
    if "skipped" in pg:
        lines.append(f"| search, PostgreSQL | {pg['skipped']} | — | — | — |")
    else:
        lines.append(
            f"| search, PostgreSQL tsvector/GIN, {pg['documents']:,} documents | p50 **{pg['p50_ms']:.1f} ms**, "
            f"p95 {pg['p95_ms']:.1f} ms (without facets: p50 {pg['no_facets_p50_ms']:.1f}) | bare GIN match "
            f"(tsv @@ tsquery, all ids): p50 {pg['bare_p50_ms']:.2f} ms | **{pg['ratio_to_bare']:.1f}×** | "
            f"{pg['peak_rss_mb']:.0f} MB |")
    lines.append(
        f"| 類似団体: one municipality against all {sim['municipalities'] - 1:,} | p50 **{sim['p50_ms']:.1f} ms**, "
        f"p95 {sim['p95_ms']:.1f} ms (first call, loading profiles: {sim['cold_ms']:.0f} ms) | the scoring alone "
        f"(domain.similarity.rank): p50 {sim['scoring_only_p50_ms']:.1f} ms | **{sim['ratio_to_scoring']:.2f}×** | "
        f"{sim['peak_rss_mb']:.0f} MB |")
    return lines
