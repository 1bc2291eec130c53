"""One search over measures, good practices and local governments.

Text is tokenised by SudachiPy (services/knowledge/textja.py) into folded normalised words; the words are
indexed in SQLite FTS5 (ranked with its BM25, title words weighted 4:1) or, on PostgreSQL, in a
tsvector with a GIN index that finds the matches, which are then scored with the same BM25
(``_bm25``; PostgreSQL has none of its own). The first 60 candidates are then
re-ranked in Python with the same boosts on both backends: the kind of record, how many of
the query's words the record has, and an exact title match. Facets: kind, field, pillar,
model type, prefecture, kind of support. See docs/search.md."""

from __future__ import annotations

import functools
import heapq
import math
import re
import sys
import threading
import time
import unicodedata
import uuid
from array import array
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm import Session

from digiden.domain.access import Principal
from digiden.domain.errors import InvalidInput
from digiden.domain.events import (
    FaqPublished,
    FaqWithdrawn,
    PracticeChanged,
    PracticePublished,
    PracticeWithdrawn,
    StrategyAccepted,
    StrategyReopened,
)
from digiden.domain.search import (
    Span,
    clean_query,
    fts5_expression,
    snippet,
    tsquery_expression,
    unique_terms,
    wants_prefix,
)
from digiden.services.knowledge import textja
from digiden.services.knowledge.catalogue import SUPPORT_KINDS
from digiden.services.national.local_facts import latest_accepted
from digiden.services.registry.localgov import KINDS as ORG_KINDS
from digiden.services.uow import UnitOfWork
from digiden.store import fulltext
from digiden.store.consult_models import ConsultFaq, ConsultFaqMeasure
from digiden.store.db import engine_key
from digiden.store.models import (
    Area,
    Kpi,
    LocalIssue,
    LocalMeasure,
    LocalStrategyModelType,
    Measure,
    ModelType,
    OrgUnit,
    Practice,
    PracticeMeasure,
    PracticeModelType,
    PracticeOrgUnit,
    Problem,
    SearchDoc,
    SearchFacet,
    SearchMeta,
)

KINDS = {"measure": "施策", "practice": "優良事例", "kpi": "KPI", "local_government": "地方公共団体", "faq": "相談FAQ"}
FACETS = ("kind", "pillar", "field", "model_type", "pref", "support")
FACET_LABELS = {"kind": "種類", "pillar": "柱・基礎条件", "field": "分野", "model_type": "モデル地域・重点分野",
                "pref": "都道府県", "support": "支援の種類"}
# How much a record of each kind weighs before its text is compared: a planner's words are
# mostly about what to do, so measures and practices come before a place of the same score.
# A KPI (what is measured) comes after what to do about it: with 0.6 the planners' queries of
# tests/search_eval keep MRR 1.000 (nDCG@10 0.991 → 0.983, the set judges no KPI yet); at 1.0
# a KPI's exact title beat the measure for 7 of them (MRR 0.929).
# A published FAQ entry (an answered consultation, the asker removed) is another local
# government's question answered: after what to do (measures, practices), before a place.
KIND_BOOST = {"measure": 1.0, "practice": 1.1, "kpi": 0.6, "local_government": 0.6, "faq": 0.8}
CANDIDATES = 60
# Sudachi's synonym dictionary widens every query (textja.synonym_groups): each query word also
# finds the index's words that share a synonym group with it (利用 → 活用, 支援 → 援助 · 後押し,
# 計画 → 構想 · プラン), at a quarter of the weight of the word itself, matched whole (プラン
# does not find プラント): a record with the word itself comes first. tests/search_eval
# measured the weight: 0.1-0.25 nDCG@10 0.9834, 0.3 and 0.5 0.9824 (for 子育て支援 the
# こども家庭センター KPI passed a judged practice), none 0.9825 (docs/search.md).
SYNONYM_WEIGHT = 0.25
MAX_SYNONYMS = 6                  # per query word, those in the most records first
# Words a planner searches for that name a problem rather than a measure, none of them in the
# catalogue's text: when a query with one of them finds nothing (with synonyms), the words the
# measures and practices for that problem use are searched instead and their records returned
# beside the empty result (``related_hits``). Each entry is a judgement, written for the
# packaged catalogue (docs/search.md); they are not synonyms, so they never widen a query that
# finds something.
RELATED_WORDS: dict[str, tuple[str, ...]] = {
    "買い物弱者": ("移動手段", "配送", "物流"),
    "買い物難民": ("移動手段", "配送", "物流"),
    "交通弱者": ("移動手段", "地域交通"),
    "空き家": ("空き蔵", "改修", "移住"),
    "空き店舗": ("空き蔵", "改修", "サテライトオフィス"),
}
BATCH = 500          # records read and written per step while indexing
Progress = Callable[[str, int, int], None]


# ---------------------------------------------------------------- indexing

@dataclass(frozen=True)
class DocIn:
    kind: str
    ref_id: int
    ref_code: str
    title: str
    body: str
    boost: float
    synthetic: bool
    facets: tuple[tuple[str, str], ...]


def _bump(s: Session) -> None:
    """A new index version in the same transaction as the change (rolled back with it)."""
    s.merge(SearchMeta(key="version", value=uuid.uuid4().hex))


def _write(s: Session, docs: list[DocIn]) -> None:
    if not docs:
        return
    keys = [(d.kind, d.ref_id) for d in docs]
    existing = {(d.kind, d.ref_id): d for d in s.scalars(select(SearchDoc).where(
        SearchDoc.ref_id.in_([k[1] for k in keys])))}
    rows = []
    for d in docs:
        body = textja.tokens(d.body)
        row = existing.get((d.kind, d.ref_id))
        if row is None:
            row = SearchDoc(kind=d.kind, ref_id=d.ref_id)
            s.add(row)
        row.ref_code, row.title, row.body = d.ref_code, d.title, d.body
        row.title_terms = textja.term_string(d.title)
        row.body_terms = " ".join(t.term for t in body)
        row.body_spans = " ".join(f"{t.start},{t.end}" for t in body)
        row.boost, row.synthetic = d.boost, d.synthetic
        rows.append((row, d))
    s.flush()
    ids = [r.id for r, _ in rows]
    s.execute(delete(SearchFacet).where(SearchFacet.doc_id.in_(ids)))
    facets = {(r.id, f, v) for r, d in rows for f, v in d.facets}
    if facets:
        s.execute(insert(SearchFacet), [{"doc_id": i, "facet": f, "value": v} for i, f, v in facets])
    fulltext.write(s, [{"id": r.id, "t": r.title_terms, "b": r.body_terms} for r, _ in rows])
    _bump(s)


def remove(s: Session, kind: str, ref_id: int) -> None:
    row = s.scalars(select(SearchDoc).where(SearchDoc.kind == kind, SearchDoc.ref_id == ref_id)).one_or_none()
    if row is None:
        return
    fulltext.remove(s, row.id)
    s.execute(delete(SearchFacet).where(SearchFacet.doc_id == row.id))
    s.delete(row)
    _bump(s)
    s.flush()


def _area_maps(s: Session) -> tuple[dict[int, Area], dict[str, Area]]:
    areas = list(s.scalars(select(Area)))
    return {a.id: a for a in areas}, {a.code: a for a in areas}


def _pillar(code: str) -> str:
    return code.split(".")[0]


def _join(parts: list[str]) -> str:
    """Sentences joined with 。, each written once (no 。。)."""
    return "。".join(p.strip().rstrip("。") for p in parts if p and p.strip()) + "。"


def practice_docs(s: Session, practices: list[Practice]) -> list[DocIn]:
    by_id, _ = _area_maps(s)
    ids = [p.id for p in practices]
    units: dict[int, list[OrgUnit]] = {}
    for pid, u in s.execute(select(PracticeOrgUnit.practice_id, OrgUnit)
                            .join(OrgUnit, OrgUnit.id == PracticeOrgUnit.org_unit_id)
                            .where(PracticeOrgUnit.practice_id.in_(ids))):
        units.setdefault(pid, []).append(u)
    types: dict[int, list[ModelType]] = {}
    for pid, mt in s.execute(select(PracticeModelType.practice_id, ModelType)
                             .join(ModelType, ModelType.id == PracticeModelType.model_type_id)
                             .where(PracticeModelType.practice_id.in_(ids))):
        types.setdefault(pid, []).append(mt)
    measures: dict[int, list[Measure]] = {}
    for pid, m in s.execute(select(PracticeMeasure.practice_id, Measure)
                            .join(Measure, Measure.id == PracticeMeasure.measure_id)
                            .where(PracticeMeasure.practice_id.in_(ids))):
        measures.setdefault(pid, []).append(m)
    out = []
    for p in practices:
        area = by_id.get(p.area_id or 0)
        us, ts, ms = units.get(p.id, []), types.get(p.id, []), measures.get(p.id, [])
        body = _join([
            p.problem, p.solution, p.results, p.support_text,
            "・".join(u.full_name for u in us) or (p.place or ""), "・".join(t.name for t in ts),
            area.name if area else "", "・".join(m.title for m in ms), "・".join(str(x) for x in p.partners)])
        facets = [("kind", "practice")] + [("model_type", t.code) for t in ts] + [
            ("pref", u.prefecture_code) for u in us] + [("support", m.support) for m in ms]
        if area:
            facets += [("field", area.code), ("pillar", _pillar(area.code))]
        out.append(DocIn("practice", p.id, p.code, p.title, body, 1.2 if p.origin == "seed" else 1.0,
                         p.synthetic, tuple(facets)))
    return out


def measure_docs(s: Session, measures: list[Measure]) -> list[DocIn]:
    _, by_code = _area_maps(s)
    probs = {p.code: p.name for p in s.scalars(select(Problem))}
    out = []
    for m in measures:
        fields = [by_code[c] for c in m.field_codes if c in by_code]
        body = _join([
            m.summary, f"対象: {m.eligible}", f"所管: {m.ministry}", SUPPORT_KINDS.get(m.support, ""),
            "・".join(f.name for f in fields), "・".join(probs.get(c, "") for c in m.problem_codes)])
        facets = [("kind", "measure"), ("support", m.support)] + [("field", f.code) for f in fields] + [
            ("pillar", _pillar(f.code)) for f in fields]
        out.append(DocIn("measure", m.id, m.code, m.title, body, 1.0, False, tuple(facets)))
    return out


def kpi_docs(s: Session, kpis: list[Kpi]) -> list[DocIn]:
    """A KPI of the national strategy: its name, its lead and outlook, and its field, so that
    「自動運転」 finds the KPI of level-4 driverless services. Not its code nor its target
    wording (「95%（2023年度）」): FTS5's tokenizer splits hyphens, 「%」 and decimals apart
    where textja keeps them, and the two backends' BM25 would part; the words are in the name."""
    by_id, _ = _area_maps(s)
    out = []
    for k in kpis:
        area = by_id.get(k.area_id or 0)
        body = _join([k.lead, k.outlook_text or "", area.name if area else "", "KPI（重要業績評価指標）"])
        facets = [("kind", "kpi")] + ([("field", area.code), ("pillar", _pillar(area.code))] if area else [])
        out.append(DocIn("kpi", k.id, k.code, k.name, body, 1.0, bool(k.synthetic), tuple(facets)))
    return out


def faq_docs(s: Session, faqs: list[ConsultFaq]) -> list[DocIn]:
    """A published FAQ entry: its question (the first line is the title) and answer, the measures it
    concerns and its field. The text is the reviewed, anonymised one the public page shows."""
    _, by_code = _area_maps(s)
    ids = [f.id for f in faqs]
    measures: dict[int, list[Measure]] = {}
    for fid, m in s.execute(select(ConsultFaqMeasure.faq_id, Measure)
                            .join(Measure, Measure.id == ConsultFaqMeasure.measure_id)
                            .where(ConsultFaqMeasure.faq_id.in_(ids))):
        measures.setdefault(fid, []).append(m)
    out = []
    for f in faqs:
        area = by_code.get(f.field_code or "")
        ms = measures.get(f.id, [])
        title = (f.question.strip().splitlines() or [""])[0][:200]
        body = _join([f.question, f.answer, area.name if area else "", "・".join(m.title for m in ms)])
        facets = [("kind", "faq")] + ([("field", area.code), ("pillar", _pillar(area.code))] if area else []) + [
            ("support", m.support) for m in ms]
        out.append(DocIn("faq", f.id, str(f.id), title, body, 1.0, f.synthetic, tuple(facets)))
    return out


def org_docs(s: Session, units: list[OrgUnit]) -> list[DocIn]:
    """A local government: its name, kind, prefecture and catchphrase, and what its latest
    accepted (public) strategy says — vision, social issues, measures — with the fields and
    model types of that strategy as facets, so 「除雪」 also finds the towns that plan for it."""
    by_id, _ = _area_maps(s)
    prefs = {o.prefecture_code: o.name for o in s.scalars(select(OrgUnit).where(OrgUnit.kind == "prefecture"))}
    ids = {u.id for u in units}
    accepted = {org: ls for org, ls in latest_accepted(s).items() if org in ids}
    strategy_text: dict[int, list[str]] = {}
    strategy_facets: dict[int, set[tuple[str, str]]] = {}
    if accepted:
        owner = {ls.id: org for org, ls in accepted.items()}
        for org, ls in accepted.items():
            strategy_text[org] = [ls.title, ls.vision]
            strategy_facets[org] = set()
        for i in s.scalars(select(LocalIssue).where(LocalIssue.strategy_id.in_(owner))):
            area = by_id.get(i.area_id or 0)
            strategy_text[owner[i.strategy_id]] += [area.name if area else "", i.text]
            if area:
                strategy_facets[owner[i.strategy_id]] |= {("field", area.code), ("pillar", _pillar(area.code))}
        for m in s.scalars(select(LocalMeasure).where(LocalMeasure.strategy_id.in_(owner))):
            strategy_text[owner[m.strategy_id]] += [m.title, m.description]
        for sid, code in s.execute(select(LocalStrategyModelType.strategy_id, ModelType.code)
                                   .join(ModelType, ModelType.id == LocalStrategyModelType.model_type_id)
                                   .where(LocalStrategyModelType.strategy_id.in_(owner))):
            strategy_facets[owner[sid]].add(("model_type", code))
    out = []
    for u in units:
        if u.kind == "nation":
            continue
        body = _join([ORG_KINDS.get(u.kind, ""), prefs.get(u.prefecture_code, ""), u.catchphrase or ""]
                     + strategy_text.get(u.id, []))
        facets = {("kind", "local_government"), ("pref", u.prefecture_code)} | strategy_facets.get(u.id, set())
        synthetic = bool(accepted[u.id].synthetic) if u.id in accepted else False
        out.append(DocIn("local_government", u.id, u.code, u.full_name, body, 1.0, synthetic, tuple(sorted(facets))))
    return out


# The handlers of ``services/handlers.py``: write paths emit events, never call these. Each
# reads the records' state at commit, so the order and number of events do not matter.

def on_strategy_events(s: Session, events: Sequence[StrategyAccepted | StrategyReopened]) -> None:
    """A local strategy was accepted or re-opened: what the public sees of its local government
    changed, so that government's entry is written again."""
    ids = sorted({e.org_unit_id for e in events})
    for i in range(0, len(ids), BATCH):
        _write(s, org_docs(s, list(s.scalars(select(OrgUnit).where(OrgUnit.id.in_(ids[i:i + BATCH]))
                                             .order_by(OrgUnit.id)))))


def on_practice_events(s: Session,
                       events: Sequence[PracticePublished | PracticeChanged | PracticeWithdrawn]) -> None:
    """A practice was published, changed or withdrawn: a published practice is (re)indexed,
    any other one leaves the index."""
    ids = sorted({e.practice_id for e in events})
    for i in range(0, len(ids), BATCH):
        ps = list(s.scalars(select(Practice).where(Practice.id.in_(ids[i:i + BATCH])).order_by(Practice.id)))
        _write(s, practice_docs(s, [p for p in ps if p.status == "published"]))
        for p in ps:
            if p.status != "published":
                remove(s, "practice", p.id)


def on_faq_events(s: Session, events: Sequence[FaqPublished | FaqWithdrawn]) -> None:
    """An FAQ entry was published or withdrawn: a published entry is (re)indexed, any other leaves."""
    ids = sorted({e.faq_id for e in events})
    fs = list(s.scalars(select(ConsultFaq).where(ConsultFaq.id.in_(ids)).order_by(ConsultFaq.id)))
    _write(s, faq_docs(s, [f for f in fs if f.state == "published"]))
    for f in fs:
        if f.state != "published":
            remove(s, "faq", f.id)


@dataclass(frozen=True)
class IndexReport:
    documents: dict[str, int]
    seconds: float


def rebuild(s: Session, progress: Progress | None = None, *, batch: int = BATCH) -> IndexReport:
    """Drop and rebuild the whole index inside the caller's transaction."""
    t0 = time.perf_counter()
    fulltext.clear(s)
    s.execute(delete(SearchFacet))
    s.execute(delete(SearchDoc))
    s.flush()
    counts: dict[str, int] = {}
    jobs: list[tuple[str, Any, Callable[[Session, list[Any]], list[DocIn]]]] = [
        ("measure", select(Measure).order_by(Measure.id), measure_docs),
        ("practice", select(Practice).where(Practice.status == "published").order_by(Practice.id), practice_docs),
        ("kpi", select(Kpi).order_by(Kpi.position, Kpi.id), kpi_docs),
        ("local_government", select(OrgUnit).where(OrgUnit.kind != "nation").order_by(OrgUnit.id), org_docs),
        ("faq", select(ConsultFaq).where(ConsultFaq.state == "published").order_by(ConsultFaq.id), faq_docs),
    ]
    for kind, q, make in jobs:
        items = list(s.scalars(q))
        for i in range(0, len(items), batch):
            _write(s, make(s, items[i:i + batch]))
            if progress:
                progress(f"search index: {KINDS[kind]}", min(i + batch, len(items)), len(items))
        counts[kind] = len(items)
    _bump(s)
    s.flush()
    return IndexReport(counts, time.perf_counter() - t0)


def reindex(uow: UnitOfWork, progress: Progress | None = None) -> IndexReport:
    with uow:
        report = rebuild(uow.session, progress)
        uow.commit()
        return report


# ---------------------------------------------------------------- querying

@dataclass(frozen=True)
class Hit:
    kind: str
    id: str
    title: str
    score: float
    snippet: str
    snippet_html: str
    synthetic: bool

    @property
    def kind_label(self) -> str:
        return KINDS[self.kind]

    @property
    def url(self) -> str:
        return {"measure": f"/measures/{self.id}", "practice": f"/practices/{self.id}", "kpi": f"/kpis/{self.id}",
                "local_government": f"/local-governments/{self.id}", "faq": f"/faq/{self.id}"}[self.kind]


@dataclass(frozen=True)
class FacetValue:
    value: str
    label: str
    count: int


@dataclass(frozen=True)
class RelatedWord:
    word: str
    count: int          # records a search for the word alone finds


@dataclass
class SearchResult:
    query: str
    terms: list[str]
    total: int
    hits: list[Hit]
    facets: dict[str, list[FacetValue]] = field(default_factory=dict)
    filters: dict[str, str] = field(default_factory=dict)
    message: str = ""
    # when nothing was found: fields of the strategy to look in instead (facet, value, label,
    # records), and whether they are near the query's words or simply every top-level field
    nearest: list[tuple[str, FacetValue]] = field(default_factory=list)
    nearest_by_words: bool = False
    # query word → the synonyms (Sudachi) that were searched with it, where any
    synonyms: dict[str, list[str]] = field(default_factory=dict)
    # when the query's own words found nothing: words to try instead (RELATED_WORDS, then the
    # synonyms), each with how many records a search for it alone finds, if any
    related: list[RelatedWord] = field(default_factory=list)
    # when the query and its synonyms found nothing: the related words (RELATED_WORDS) that
    # were searched instead, and the records they found, kept apart from ``hits`` (which stay
    # empty, as ``total`` stays 0: nothing matched the query itself)
    searched_instead: list[str] = field(default_factory=list)
    related_hits: list[Hit] = field(default_factory=list)


def _filters(raw: dict[str, str | None]) -> dict[str, str]:
    out = {}
    for k, v in raw.items():
        v = (v or "").strip()
        if not v:
            continue
        if k not in FACETS:
            raise InvalidInput(f"unknown facet {k!r}", message_ja=f"不明な絞り込み条件です: {k}", field=k)
        if len(v) > 64:
            raise InvalidInput(f"{k}: too long", message_ja="絞り込み条件が長すぎます", field=k)
        if k == "field" and "." not in v:
            k = "pillar"
        out[k] = v
    return out


def _facet_labels(s: Session) -> dict[str, dict[str, str]]:
    areas = {a.code: a.name for a in s.scalars(select(Area))}
    return {"kind": dict(KINDS), "pillar": areas, "field": areas,
            "model_type": {m.code: m.name for m in s.scalars(select(ModelType))},
            "pref": {o.prefecture_code: o.name for o in s.scalars(select(OrgUnit).where(OrgUnit.kind == "prefecture"))},
            "support": dict(SUPPORT_KINDS)}


@dataclass(frozen=True)
class _Doc:
    kind: str
    ref_code: str
    title: str
    body: str
    title_terms: frozenset[str]
    terms: frozenset[str]                      # every word of title and body
    length: int                                # words in title and body (BM25's document length)
    body_terms: tuple[str, ...]                # interned: the same word is one object in every document
    spans: array[int]                          # start, end of each body term, flat
    boost: float                               # the record's own boost × its kind's
    synthetic: bool
    facets: tuple[tuple[str, str], ...]


class _SynonymMap:
    """Synonym group → the index's words in it, built at the first query that needs it (one
    dictionary look-up per word of the index, cached per word for the process: ~0.3 s for the
    4,000 words of the packaged catalogue)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._groups: dict[int, tuple[str, ...]] | None = None

    def groups(self, words: Iterable[str]) -> dict[int, tuple[str, ...]]:
        if self._groups is None:
            with self._lock:
                if self._groups is None:
                    out: dict[int, list[str]] = {}
                    for w in words:
                        for g in textja.synonym_groups(w):
                            out.setdefault(g, []).append(w)
                    self._groups = {g: tuple(ws) for g, ws in out.items() if len(ws) > 1}
        return self._groups


@dataclass(frozen=True)
class _Index:
    """The indexed documents of one index version, as this process keeps them."""

    docs: dict[int, _Doc]
    position: dict[int, int]                          # doc id → bit position
    boost: dict[int, float]                           # doc id → its boost (for the first cut)
    masks: dict[tuple[str, str], int]                 # facet value → bit set of its documents
    members: dict[tuple[str, str], frozenset[int]]    # facet value → its document ids
    labels: dict[str, dict[str, str]]
    all_mask: int
    avg_len: float = 1.0                      # mean document length in terms (BM25)
    postings: dict[str, tuple[array[int], array[float]]] = field(default_factory=dict)
    lengths: dict[int, int] = field(default_factory=dict)
    synonym_map: _SynonymMap = field(default_factory=_SynonymMap)

    def synonyms(self, term: str) -> tuple[str, ...]:
        """The index's words that share a synonym group with ``term`` (not ``term`` itself)."""
        groups = textja.synonym_groups(term)
        if not groups:
            return ()
        by_group = self.synonym_map.groups(self.postings)
        words = {w for g in groups for w in by_group.get(g, ()) if w != term}
        return tuple(sorted(words, key=lambda w: (-len(self.postings[w][0]), w))[:MAX_SYNONYMS])

    def ids_of(self, term: str, *, exact: bool = False) -> set[int]:
        """The documents a search for ``term`` matches (by prefix where the search would)."""
        if exact or not wants_prefix(term):
            return set(self.postings[term][0]) if term in self.postings else set()
        return {i for w, (ids, _) in self.postings.items() if w.startswith(term) for i in ids}

    def count(self, matched: list[tuple[int, float]]) -> dict[tuple[str, str], int]:
        """Facet counts over the matched documents: one bit set, one AND per facet value."""
        bits = bytearray((len(self.position) + 8) // 8)
        pos = self.position
        for i, _ in matched:
            p = pos[i]
            bits[p >> 3] |= 1 << (p & 7)
        m = int.from_bytes(bits, "little")
        if m == self.all_mask:
            return {fv: mask.bit_count() for fv, mask in self.masks.items()}
        return {fv: n for fv, mask in self.masks.items() if (n := (m & mask).bit_count())}


_cache: dict[tuple[int, str], _Index] = {}
_cache_lock = threading.Lock()


def _documents(s: Session) -> _Index:
    """Every indexed document, read once per index version and kept in this process: the
    database finds and scores the matches; filtering, facet counts, re-ranking and snippets
    need no further round trip."""
    key = (engine_key(s), fulltext.version(s))
    hit = _cache.get(key)
    if hit is not None:
        return hit
    facets: dict[int, list[tuple[str, str]]] = {}
    for doc_id, f, v in s.execute(select(SearchFacet.doc_id, SearchFacet.facet, SearchFacet.value)):
        facets.setdefault(doc_id, []).append((f, v))
    docs: dict[int, _Doc] = {}
    postings: dict[str, tuple[array[int], array[float]]] = {}    # word → (doc ids, weighted frequencies)
    for r in s.execute(select(SearchDoc.id, SearchDoc.kind, SearchDoc.ref_code, SearchDoc.title, SearchDoc.body,
                              SearchDoc.title_terms, SearchDoc.body_terms, SearchDoc.body_spans, SearchDoc.boost,
                              SearchDoc.synthetic).order_by(SearchDoc.id)):
        spans = array("I", (int(n) for x in r.body_spans.split() for n in x.split(",")))
        body_terms = tuple(sys.intern(t) for t in r.body_terms.split())
        title_list = [sys.intern(t) for t in r.title_terms.split()]
        weighted: dict[str, float] = {}
        for t in title_list:
            weighted[t] = weighted.get(t, 0.0) + TITLE_WEIGHT
        for t in body_terms:
            weighted[t] = weighted.get(t, 0.0) + BODY_WEIGHT
        for t, tf in weighted.items():
            ids_tfs = postings.get(t)
            if ids_tfs is None:
                ids_tfs = postings[t] = (array("I"), array("f"))
            ids_tfs[0].append(r.id)
            ids_tfs[1].append(tf)
        docs[r.id] = _Doc(r.kind, r.ref_code, r.title, r.body, frozenset(title_list), frozenset(weighted),
                          len(title_list) + len(body_terms), body_terms, spans, r.boost * KIND_BOOST[r.kind],
                          r.synthetic, tuple(facets.get(r.id, ())))
    position = {doc_id: n for n, doc_id in enumerate(docs)}
    members: dict[tuple[str, str], set[int]] = {}
    for doc_id, d in docs.items():
        for fv in d.facets:
            members.setdefault(fv, set()).add(doc_id)
    masks = {}
    for fv, ids in members.items():
        bits = bytearray((len(position) + 8) // 8)
        for i in ids:
            p = position[i]
            bits[p >> 3] |= 1 << (p & 7)
        masks[fv] = int.from_bytes(bits, "little")
    avg_len = sum(d.length for d in docs.values()) / max(1, len(docs))
    entry = _Index(docs, position, {i: d.boost for i, d in docs.items()}, masks,
                   {k: frozenset(v) for k, v in members.items()}, _facet_labels(s), (1 << len(position)) - 1,
                   max(avg_len, 1.0), postings, {i: d.length for i, d in docs.items()})
    with _cache_lock:
        if len(_cache) > 4:
            _cache.clear()
        _cache[key] = entry
    return entry


@dataclass(frozen=True)
class _Query:
    """The query terms, split once into those matched whole and those matched by prefix
    (``domain.search.matches``, in a form fast enough for thousands of documents)."""

    terms: tuple[str, ...]
    prefixes: tuple[str, ...]

    @classmethod
    def of(cls, terms: list[str]) -> _Query:
        return cls(tuple(terms), tuple(t for t in terms if wants_prefix(t)))

    def matches(self, term: str) -> bool:
        return term in self.terms or (bool(self.prefixes) and term.startswith(self.prefixes))

    def has(self, doc_terms: Collection[str], q: str) -> bool:
        return q in doc_terms or (q in self.prefixes and any(t.startswith(q) for t in doc_terms))


def _spans(d: _Doc, query: _Query) -> list[Span]:
    hits = {t for t in set(d.body_terms) if query.matches(t)}
    sp = d.spans
    return [Span(sp[2 * n], sp[2 * n + 1]) for n, t in enumerate(d.body_terms) if t in hits and 2 * n + 1 < len(sp)]


K1, B = 1.2, 0.75                 # BM25 parameters, FTS5's defaults
TITLE_WEIGHT, BODY_WEIGHT = 4.0, 1.0


def _bm25(index: _Index, ids: list[int], terms: list[str], *, exact: bool = False) -> list[tuple[int, float]]:
    """BM25 as SQLite FTS5 computes it (``bm25(search_fts, 4.0, 1.0)``: per term, the
    column-weighted term frequency over the whole document length, times IDF), for the
    PostgreSQL backend, which finds the matches but has no BM25 of its own. Every document
    containing a query term matches the OR query, so a term's document frequency is counted
    among the matches themselves. ``exact``: no term matches by prefix (synonyms)."""
    n_docs, avg, lengths, postings = len(index.docs), index.avg_len, index.lengths, index.postings
    base, per_len = K1 * (1 - B), K1 * B / avg
    scores: dict[int, float] = {}
    for t in terms:
        # a prefix term stands for every indexed word that starts with it (コミュニティ → コミュニティバス …)
        words = ([w for w in postings if w.startswith(t)] if wants_prefix(t) and not exact
                 else [t] if t in postings else [])
        if len(words) == 1:
            doc_ids, tfs = postings[words[0]]
            pairs: Iterable[tuple[int, float]] = zip(doc_ids, tfs, strict=True)
            df = len(doc_ids)
        else:
            merged: dict[int, float] = {}
            for w in words:
                for i, tf in zip(*postings[w], strict=True):
                    merged[i] = merged.get(i, 0.0) + tf
            pairs, df = merged.items(), len(merged)
        if not df:
            continue
        idf = max(1e-6, math.log((n_docs - df + 0.5) / (df + 0.5))) * (K1 + 1)
        get = scores.get
        for i, tf in pairs:
            scores[i] = get(i, 0.0) + idf * tf / (tf + base + per_len * lengths[i])
    return [(i, scores.get(i, 0.0)) for i in ids]


def _matches(s: Session, index: _Index, terms: list[str]) -> list[tuple[int, float]]:
    """(doc id, BM25 score) of every document matching any term. SQLite: FTS5's own bm25();
    PostgreSQL: the GIN index finds the matches and _bm25 scores them the same way."""
    if fulltext.is_postgres(s):
        ids = [i for i in fulltext.match_ids(s, tsquery_expression(terms)) if i in index.docs]
        return _bm25(index, ids, terms)
    return fulltext.match_bm25(s, fts5_expression(terms))


def _with_synonyms(index: _Index, matched: list[tuple[int, float]],
                   words: list[str]) -> list[tuple[int, float]]:
    """The matches widened by the query's synonyms: each document's score plus SYNONYM_WEIGHT
    times the BM25 of the synonyms it has, computed from the postings kept in memory, the same
    on both backends (no second round trip)."""
    ids: set[int] = set()
    for w in words:
        ids |= index.ids_of(w, exact=True)
    if not ids:
        return matched
    extra = dict(_bm25(index, sorted(ids), words, exact=True))
    out = [(i, r + SYNONYM_WEIGHT * extra.pop(i, 0.0)) for i, r in matched]
    return out + [(i, SYNONYM_WEIGHT * r) for i, r in sorted(extra.items())]


def _related_words(terms: list[str]) -> list[str]:
    """The RELATED_WORDS of every entry whose words are all among the query's."""
    have = set(terms)
    out: list[str] = []
    for key, words in RELATED_WORDS.items():
        if set(_terms_of(key)) <= have:
            out += [w for w in words if w not in out]
    return out


@functools.lru_cache(maxsize=256)
def _terms_of(text: str) -> tuple[str, ...]:
    return tuple(unique_terms(textja.terms(text)))


def _count(index: _Index, text: str) -> int:
    """How many documents a search for ``text`` alone finds: its words OR-ed with their
    synonyms, as ``search`` does (without filters)."""
    ids: set[int] = set()
    for t in _terms_of(text):
        ids |= index.ids_of(t)
        for w in index.synonyms(t):
            ids |= index.ids_of(w, exact=True)
    return len(ids)


def search(uow: UnitOfWork, principal: Principal, q: str | None, *, limit: int = 20,
           with_facets: bool = True, **filters: str | None) -> SearchResult:
    """Only published records are indexed, so every principal may search everything indexed."""
    del principal  # the index holds published records only
    query = clean_query(q)
    flt = _filters(filters)
    limit = max(1, min(int(limit), 100))
    terms = unique_terms(textja.terms(query)) if query else []
    result = SearchResult(query, terms, 0, [], filters=flt)
    if query and not terms:
        result.message = "検索できる語がありません（記号・助詞だけの検索語です）。別の言葉でお試しください。"
        return result
    if not query and not flt:
        result.message = "検索語を入力するか、分野などで絞り込んでください。"
        return result
    with uow:
        s = uow.session
        index = _documents(s)
        docs = index.docs
        allowed = (frozenset.intersection(*(index.members.get(fv, frozenset()) for fv in flt.items()))
                   if flt else None)

        def narrowed(m: list[tuple[int, float]]) -> list[tuple[int, float]]:
            return m if allowed is None else [x for x in m if x[0] in allowed]

        synonyms = {t: [w for w in index.synonyms(t) if w not in terms] for t in terms}
        result.synonyms = {t: ws for t, ws in synonyms.items() if ws}
        extra = unique_terms(w for ws in synonyms.values() for w in ws)
        own = narrowed(_matches(s, index, terms) if terms else [(i, 1.0) for i in docs])
        matched = narrowed(_with_synonyms(index, own, extra)) if extra else own
        related = _related_words(terms)
        if terms and not own:       # words to offer when the query's own words found nothing
            result.related = [RelatedWord(w, n) for w in related + extra if (n := _count(index, w))][:8]
        result.total = len(matched)
        if terms and not own and matched:
            result.message = _said_plainly(query, result)
        result.hits = _rank(index, matched, query, terms, synonyms, limit)
        if terms and not matched and related:
            # nothing has the query's words or their synonyms: the records the related words
            # find, apart from the hits (the query itself found nothing, and says so)
            instead = unique_terms(t for w in related for t in _terms_of(w))
            found = narrowed(_matches(s, index, instead))
            if found:
                result.searched_instead = [w for w in related if _count(index, w)]
                result.related_hits = _rank(index, found, query, instead, {t: [] for t in instead}, limit)
        if not matched and query:
            result.nearest, result.nearest_by_words = _nearest(index, query)
        if with_facets:
            counts = index.count(matched)
            for facet in FACETS:
                vals = sorted(((v, n) for (f, v), n in counts.items() if f == facet), key=lambda x: (-x[1], x[0]))
                if vals:
                    result.facets[facet] = [FacetValue(v, index.labels[facet].get(v, v), n) for v, n in vals[:60]]
        return result


def _rank(index: _Index, matched: list[tuple[int, float]], query: str, terms: list[str],
          synonyms: dict[str, list[str]], limit: int) -> list[Hit]:
    """The first ``limit`` matches, re-ranked the same way on both backends: engine score ×
    record boost × (1 + the share of query words the record has, a synonym counting
    SYNONYM_WEIGHT) × (1 + half the share in its title), × 2 for the whole query in the title."""
    docs, boost = index.docs, index.boost
    top = heapq.nlargest(CANDIDATES, matched, key=lambda m: m[1] * boost[m[0]])
    scored = []
    bare = query.replace(" ", "")
    qt = _Query.of(terms)
    shown = _Query(tuple(terms) + tuple(w for ws in synonyms.values() for w in ws), qt.prefixes)
    for doc_id, r in top:
        d = docs[doc_id]
        if terms:
            covered = sum(_credit(qt, d.terms, t, synonyms[t]) for t in terms) / len(terms)
            in_title = sum(_credit(qt, d.title_terms, t, synonyms[t]) for t in terms) / len(terms)
        else:
            covered, in_title = 1.0, 0.0
        score = r * d.boost * (1 + covered) * (1 + 0.5 * in_title)
        if bare and bare in d.title.replace(" ", ""):
            score *= 2
        scored.append((score, doc_id, d))
    scored.sort(key=lambda x: (-x[0], x[1]))
    hits = []
    for score, _, d in scored[:limit]:
        plain, marked = snippet(d.body, _spans(d, shown) if terms else [])
        hits.append(Hit(d.kind, d.ref_code, d.title, score, plain, marked, d.synthetic))
    return hits


def _credit(qt: _Query, doc_terms: Collection[str], term: str, synonyms: list[str]) -> float:
    """How far a document answers one query word: 1 with the word, SYNONYM_WEIGHT with only a
    synonym of it, else 0."""
    if qt.has(doc_terms, term):
        return 1.0
    return SYNONYM_WEIGHT if any(w in doc_terms for w in synonyms) else 0.0


def _said_plainly(query: str, r: SearchResult) -> str:
    """The status line when the query's own words found nothing but their synonyms did."""
    where = "絞り込んだ範囲に" if r.filters else ""
    words = "・".join(w for ws in r.synonyms.values() for w in ws)
    return f"{where}「{query}」を含む記録は見つかりませんでした。同じ意味の語（{words}）を含む記録を表示しています。"


_KANA = re.compile(r"^[\u3040-\u30ffー]+$")


def _bigrams(text: str) -> set[str]:
    """Two characters in a row, NFKC and lower case, except pairs of kana alone: ータ or ンピ
    are syllables that unrelated katakana words share (量子コンピュータ and データ連携基盤)."""
    t = "".join(ch for ch in unicodedata.normalize("NFKC", text).lower() if ch.isalnum())
    grams = {t[i:i + 2] for i in range(len(t) - 1)} | ({t} if len(t) == 1 else set())
    return {g for g in grams if not _KANA.match(g)}


def _nearest(index: _Index, query: str) -> tuple[list[tuple[str, FacetValue]], bool]:
    """Where to look when nothing matched: the fields of the strategy whose names share two
    characters in a row with the query (most shared first), or else every top-level field —
    each with how many records it holds, so the offer is never a dead end."""
    grams = _bigrams(query)
    scored = []
    for (facet, value), ids in index.members.items():
        if facet not in ("field", "pillar"):
            continue
        label = index.labels[facet].get(value, value)
        if n := len(grams & _bigrams(label)):
            scored.append((-n, -len(ids), facet, value, label, len(ids)))
    if scored:
        scored.sort()
        return [(f, FacetValue(v, lab, c)) for _, _, f, v, lab, c in scored[:6]], True
    tops = sorted(((v, len(ids)) for (f, v), ids in index.members.items() if f == "pillar"),
                  key=lambda x: _pillar_order(x[0]))
    return [("pillar", FacetValue(v, index.labels["pillar"].get(v, v), c)) for v, c in tops], False


def _pillar_order(code: str) -> tuple[int, str]:
    return (0 if code.startswith("P") else 1, code)


def document_count(uow: UnitOfWork) -> dict[str, int]:
    with uow:
        return dict(uow.session.execute(select(SearchDoc.kind, func.count()).group_by(SearchDoc.kind)).all())
