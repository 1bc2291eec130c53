"""While a question is typed: what already answers it. The measures and good practices the search
finds for its words, published FAQ entries that share them, and the local governments most like
the asker's (the similarity feature), so some questions are answered before they are sent; the
asker then says so with ``cases.ask(..., answered_by_suggestion=True)``."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import or_, select

from digiden.domain.access import Principal
from digiden.domain.consult import FaqState
from digiden.domain.errors import DigidenError
from digiden.domain.search import MAX_QUERY_CHARS
from digiden.services.consult import faq as faqs
from digiden.services.knowledge import search, similarity, textja
from digiden.services.knowledge.search import Hit
from digiden.services.knowledge.similarity import SimilarItem
from digiden.services.uow import UnitOfWork
from digiden.store.consult_models import ConsultFaq
from digiden.store.models import OrgUnit

#: the words of a question that are searched (the start of the text: the subject and its first lines)
QUERY_CHARS = min(MAX_QUERY_CHARS, 200)


@dataclass(frozen=True)
class Suggestions:
    query: str
    measures: tuple[Hit, ...]
    practices: tuple[Hit, ...]
    faq: tuple[faqs.FaqView, ...]
    similar: tuple[SimilarItem, ...]


def suggest(uow: UnitOfWork, p: Principal, text: str, *, limit: int = 5) -> Suggestions:
    """Suggestions for a question being typed (``text``: subject and body as typed so far). Only
    published records are suggested; the similar local governments are those like the principal's
    own municipality (none for others)."""
    query = " ".join((text or "").split())[:QUERY_CHARS]
    limit = max(1, min(int(limit), 20))
    if not query:
        return Suggestions("", (), (), (), ())
    hits = search.search(uow, p, query, limit=limit * 4, with_facets=False).hits
    measures = tuple(h for h in hits if h.kind == "measure")[:limit]
    practices = tuple(h for h in hits if h.kind == "practice")[:limit]
    words = [t for t in dict.fromkeys(textja.terms(query)) if len(t) >= 2][:8]
    found: tuple[faqs.FaqView, ...] = ()
    if words:
        with uow:
            s = uow.session
            q = (select(ConsultFaq.id).where(ConsultFaq.state == FaqState.PUBLISHED.value,
                                             or_(*[ConsultFaq.question.contains(w, autoescape=True) for w in words],
                                                 *[ConsultFaq.answer.contains(w, autoescape=True) for w in words]))
                 .order_by(ConsultFaq.published_at.desc()).limit(limit))
            ids = list(s.scalars(q))
        found = tuple(faqs.get(uow, p, i) for i in ids)
    alike: tuple[SimilarItem, ...] = ()
    if p.org_unit_id is not None:
        with uow:
            o = uow.session.get(OrgUnit, p.org_unit_id)
            code = o.code if o is not None and o.kind not in ("prefecture", "nation") else None
        if code is not None:
            try:
                alike = similarity.similar(uow, p, code, limit=limit).items
            except DigidenError:
                alike = ()
    return Suggestions(query, measures, practices, found, alike)
