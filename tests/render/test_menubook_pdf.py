"""The menu book PDF as a reader gets it, read back with pypdf: every page carries text (no
blank page), the 目次 heading sits inside the page margins, the contents' page numbers point
at the pages where the chapters start, and no 「（）」 stands where a place is missing."""

from __future__ import annotations

import io
from datetime import date

import pytest
from pypdf import PdfReader
from pypdf.generic import DictionaryObject

from digiden.render.menubook import period, render_html, render_pdf, with_place
from digiden.services.knowledge.menubook import Chapter, MenuBook, Section, build
from digiden.services.uow import UnitOfWork

TODAY = date(2026, 11, 30)
MM = 72 / 25.4                      # points per millimetre
MARGIN = 10 * MM                    # fpdf2's default page margin (1 cm); the bottom one is larger


def read(data: bytes) -> PdfReader:
    assert data.startswith(b"%PDF")
    return PdfReader(io.BytesIO(data))


def body_text(reader: PdfReader, book: MenuBook) -> list[str]:
    """Each page's text without its running footer (「title　N」), which every page has."""
    out = []
    for n, page in enumerate(reader.pages, 1):
        text = page.extract_text() or ""
        out.append(text.replace(f"{book.title}\u3000{n}", "").strip())
    return out


def positions(page, word: str) -> list[tuple[float, float]]:  # type: ignore[no-untyped-def]
    """Where ``word`` is drawn on ``page`` (x, y of its text origin, in points from bottom left)."""
    found: list[tuple[float, float]] = []

    def visit(text: str, cm: list[float], tm: list[float], font: object, size: float) -> None:
        if word in text:
            found.append((tm[4] * cm[0] + cm[4], tm[5] * cm[3] + cm[5]))

    page.extract_text(visitor_text=visit)
    return found


@pytest.fixture
def book(uow: UnitOfWork) -> MenuBook:
    return build(uow, today=TODAY)


def assert_whole(pages: list[str], book: MenuBook) -> int:
    """No blank page; the contents start on page 2 and run up to the first chapter, and each
    chapter starts on the page the contents give. Returns how many pages the contents take."""
    blank = [n for n, t in enumerate(pages, 1) if not t]
    assert not blank, f"blank pages: {blank} of {len(pages)}"
    assert pages[1].startswith("目次")
    first = next(n for n, t in enumerate(pages, 1) if t.startswith(f"{book.chapters[0].code}\u3000"))
    contents = "\n".join(pages[1:first - 1]).splitlines()
    for ch in book.chapters:
        line = next(ln for ln in contents if ln.startswith(f"{ch.code} {ch.name} "))
        number = int(line.rsplit(" ", 1)[1])
        assert pages[number - 1].startswith(f"{ch.code}\u3000{ch.name}"), (ch.code, number)
    return first - 2


def test_no_blank_page_and_the_contents_point_at_the_chapters(book: MenuBook) -> None:
    assert assert_whole(body_text(read(render_pdf(book)), book), book) == 1


def test_the_contents_heading_is_inside_the_margins(book: MenuBook) -> None:
    reader = read(render_pdf(book))
    page = reader.pages[1]
    width, height = float(page.mediabox.width), float(page.mediabox.height)
    [(x, y)] = positions(page, "目次")
    assert MARGIN <= x <= width / 2, f"目次 at x = {x:.1f} pt on a page {width:.1f} pt wide"
    assert 18 * MM <= y <= height - MARGIN, f"目次 at y = {y:.1f} pt"


def test_no_empty_brackets_where_a_place_is_missing(book: MenuBook) -> None:
    placeless = [p for c in book.chapters for s in c.sections for p in s.practices if not p.place]
    assert placeless, "the reference data has a good practice with no place (自動草刈機); keep one to test"
    text = "\n".join(body_text(read(render_pdf(book)), book))
    html = render_html(book)
    for out in (text, html):
        assert "（）" not in out
        assert "実施団体: 記載なし" in out
    assert with_place("事例", "") == "事例" and with_place("事例", "高知県") == "事例（高知県）"
    assert period(2021, None) == "2021年度〜" and period(2021, 2023) == "2021〜2023年度" and period(None, 2023) == ""


def test_a_long_contents_takes_the_pages_it_needs_and_no_more() -> None:
    chapters = tuple(Chapter(f"P{c}", f"第{c}章の柱", tuple(
        Section(f"P{c}.{s}", f"第{c}章第{s}節の分野", (), ()) for s in range(1, 12))) for c in range(1, 9))
    book = MenuBook("試験用メニューブック（施策と優良事例）", TODAY, chapters, 0, 0, 0)
    pages = body_text(read(render_pdf(book)), book)
    # 8 chapter lines and 88 section lines take three pages of contents, then P1 on page 5
    assert assert_whole(pages, book) == 3
    assert pages[4].startswith("P1\u3000") and pages[3].startswith("P8.")


def test_an_empty_selection_is_one_page_that_says_so() -> None:
    book = MenuBook("試験用メニューブック", TODAY, (), 0, 0, 0)
    pages = body_text(read(render_pdf(book)), book)
    assert len(pages) == 1 and "該当する施策・優良事例はありません" in pages[0]


def test_the_document_says_its_language_and_title(book: MenuBook) -> None:
    """What fpdf2 offers for accessibility: the language, the title shown as the window's
    title, bookmarks for the chapters. It has no public API to tag text (render/menubook.py
    says why), so no structure tree is asserted here."""
    reader = read(render_pdf(book))
    root = reader.root_object
    assert str(root["/Lang"]) == "ja"
    prefs = root["/ViewerPreferences"].get_object()
    assert isinstance(prefs, DictionaryObject) and bool(prefs["/DisplayDocTitle"])
    assert reader.metadata is not None and reader.metadata.title == book.title
    assert [o.title for o in reader.outline if not isinstance(o, list)][:1] == [
        f"{book.chapters[0].code} {book.chapters[0].name}"]
