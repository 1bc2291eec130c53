"""The menu book as a printable HTML page and as a PDF with IPAexGothic embedded (subset), so it
prints the same on any machine, with no internet and no fonts installed.

The PDF states its language (ja), shows its title as the window title, has bookmarks for
every chapter and section and a linked 目次, and its text can be copied and read aloud (the
font carries a ToUnicode map). It is not a tagged PDF: fpdf2 (2.8.9) builds a structure tree
only for images with alt text and for links — its ``structure_tree`` module is internal, and
the maintainers say there is no public API for tagging text (py-pdf/fpdf2 issues 355 and 792,
the latter open). Tagging would need another PDF library."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from jinja2 import Environment, FileSystemLoader, select_autoescape

from digiden.domain.calendar import format_fiscal_year
from digiden.services.knowledge.menubook import MenuBook

if TYPE_CHECKING:
    from fpdf import FPDF
    from fpdf.enums import WrapMode, XPos, YPos

# The same file the web app serves as /static/fonts/ipaexg.ttf (the HTML page preloads it), so
# the package carries one copy; it is read from disk here, not through the web package.
FONT = Path(__file__).resolve().parent.parent / "web" / "static" / "fonts" / "ipaexg.ttf"
FONT_NAME = "IPAexGothic"
TEMPLATES = Path(__file__).resolve().parent / "templates"


@lru_cache(maxsize=1)
def _env() -> Environment:
    # the options Starlette's Jinja2Templates uses, so the page is the same byte for byte
    env = Environment(loader=FileSystemLoader(str(TEMPLATES)), autoescape=select_autoescape())
    env.filters["with_place"] = with_place
    env.filters["period"] = period
    return env


def with_place(title: str, place: str | None) -> str:
    """「事例名（実施団体）」, or the title alone where no place is recorded: never 「（）」."""
    return f"{title}（{place}）" if place and place.strip() else title


def period(fy_from: int | None, fy_to: int | None) -> str:
    """「2021〜2023年度」, 「2021年度〜」 while it runs, or nothing without a start year."""
    if not fy_from:
        return ""
    return f"{fy_from}〜{fy_to}年度" if fy_to else f"{fy_from}年度〜"


def implementer(place: str | None, fy_from: int | None, fy_to: int | None) -> str:
    """The 実施団体 line of a practice: 「記載なし」 rather than an empty or bracketed place."""
    when = period(fy_from, fy_to)
    return f"実施団体: {place or '記載なし'}" + (f"　期間: {when}" if when else "")


def render_html(book: MenuBook) -> str:
    return _env().get_template("menubook.html").render(book=book, standalone=True)


class _Fpdf(NamedTuple):
    book: type[FPDF]
    wrap: type[WrapMode]
    x: type[XPos]
    y: type[YPos]


@lru_cache(maxsize=1)
def _fpdf() -> _Fpdf:
    """fpdf2, imported at the first PDF rather than with this module: the HTML menu book, the web
    app and the CLI do not need its imports (0.3-0.9 s on the 2-core bench machine)."""
    from fpdf import FPDF
    from fpdf.enums import WrapMode, XPos, YPos
    from fpdf.prefs import ViewerPreferences

    class Book(FPDF):
        def __init__(self, title: str) -> None:
            super().__init__(format="A4")
            self.book_title = title
            self.add_font(FONT_NAME, "", str(FONT))
            self.set_font(FONT_NAME, size=10)
            self.set_auto_page_break(True, margin=18)
            self.set_title(title)
            self.set_creator("digiden")
            self.set_lang("ja")
            # what a reader's title bar shows: the book's title, not the file name
            self.viewer_preferences = ViewerPreferences(display_doc_title=True)

        def footer(self) -> None:
            self.set_y(-12)
            self.set_font(FONT_NAME, size=8)
            self.cell(0, 6, f"{self.book_title}　{self.page_no()}", align="C")

    return _Fpdf(Book, WrapMode, XPos, YPos)


TOC_HEADING_H = 12.0
TOC_LINE_H = (6.5, 5.5)          # a chapter's line, a section's line (mm)


def _toc(pdf: FPDF, outline: list) -> None:  # type: ignore[type-arg]
    _, WrapMode, XPos, YPos = _fpdf()  # noqa: N806 - the library's names
    # fpdf2 draws the contents last, with x wherever the last page's footer left it (at the
    # right margin, which put 「目次」 off the page): start at the left margin
    pdf.set_x(pdf.l_margin)
    pdf.set_font(FONT_NAME, size=16)
    pdf.cell(0, TOC_HEADING_H, "目次", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    for s in outline:
        pdf.set_font(FONT_NAME, size=11 if s.level == 0 else 9.5)
        indent = 4 + 6 * s.level
        link = pdf.add_link(page=s.page_number)
        pdf.set_x(pdf.l_margin + indent)
        width = pdf.epw - indent - 14
        pdf.cell(width, TOC_LINE_H[min(s.level, 1)], s.name, link=link)
        pdf.cell(14, TOC_LINE_H[min(s.level, 1)], str(s.page_number), align="R",
                 new_x=XPos.LMARGIN, new_y=YPos.NEXT, link=link)


def _toc_pages(pdf: FPDF, book: MenuBook) -> int:
    """How many pages the contents take: the heading and one line per chapter and section,
    broken where fpdf2's automatic page break will break them. fpdf2 needs the exact number
    before the chapters are drawn, and a guess too high leaves a blank page."""
    pages, y = 1, pdf.t_margin + TOC_HEADING_H
    for ch in book.chapters:
        for h in (TOC_LINE_H[0], *(TOC_LINE_H[1] for _ in ch.sections)):
            if y + h > pdf.page_break_trigger:
                pages, y = pages + 1, pdf.t_margin
            y += h
    return pages


def _para(pdf: FPDF, text: str, size: float = 9.5, h: float = 5.2) -> None:
    _, WrapMode, XPos, YPos = _fpdf()  # noqa: N806 - the library's names
    pdf.set_font(FONT_NAME, size=size)
    pdf.multi_cell(0, h, text, wrapmode=WrapMode.CHAR, new_x=XPos.LMARGIN, new_y=YPos.NEXT)


def render_pdf(book: MenuBook) -> bytes:
    Book, WrapMode, XPos, YPos = _fpdf()  # noqa: N806 - the library's names
    pdf = Book(book.title)
    pdf.add_page()
    pdf.set_font(FONT_NAME, size=22)
    pdf.ln(40)
    # the subtitle in brackets on a line of its own rather than broken wherever the line is full
    pdf.multi_cell(0, 12, book.title.replace("（", "\n（", 1), align="C", wrapmode=WrapMode.CHAR,
                   new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(8)
    _para(pdf, f"{book.edition.year}年{book.edition.month}月{book.edition.day}日版　施策 {book.measure_count}件・"
               f"優良事例 {book.practice_count}件", size=12, h=7)
    pdf.ln(6)
    _para(pdf, "関係府省庁の施策を取りまとめ、地方にわかりやすい形で提示するとともに、他地域のモデルとなる優良事例を"
               "周知・共有するための冊子です（デジタル田園都市国家構想総合戦略「施策間連携・地域間連携の例」）。"
               "施策の概要・分類は digiden による整理で、申請の際は各府省の公募要領を確認してください。")
    if book.synthetic_practices:
        _para(pdf, f"※ 合成データ（デモ・試験用）の事例が {book.synthetic_practices} 件含まれています。")
    if not book.chapters:
        _para(pdf, "該当する施策・優良事例はありません。", size=12, h=7)
        return bytes(pdf.output())
    pdf.add_page()
    # the placeholder breaks the page after the contents itself: that new page is the first
    # chapter's (a page added here too was the blank page 3)
    pdf.insert_toc_placeholder(_toc, pages=_toc_pages(pdf, book))
    for n, ch in enumerate(book.chapters):
        if n:
            pdf.add_page()
        pdf.start_section(f"{ch.code} {ch.name}", level=0)
        pdf.set_font(FONT_NAME, size=18)
        pdf.multi_cell(0, 10, f"{ch.code}　{ch.name}", wrapmode=WrapMode.CHAR, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        for sec in ch.sections:
            pdf.ln(3)
            pdf.start_section(f"{sec.code} {sec.name}", level=1)
            pdf.set_font(FONT_NAME, size=13)
            pdf.multi_cell(0, 8, f"{sec.code}　{sec.name}", wrapmode=WrapMode.CHAR, new_x=XPos.LMARGIN,
                           new_y=YPos.NEXT)
            for m in sec.measures:
                pdf.ln(1.5)
                _para(pdf, f"【施策】{m.title}", size=11, h=6)
                _para(pdf, f"所管: {m.ministry}　支援: {m.support_label}　対象: {m.eligible}", size=8.5, h=4.6)
                _para(pdf, m.summary)
                if m.kpis:
                    _para(pdf, "関連KPI: " + "、".join(n for _, n in m.kpis), size=8.5, h=4.6)
                marks = [f"{format_fiscal_year(r.fiscal_year)}◆" for r in m.roadmap if r.milestone]
                if marks:
                    _para(pdf, "工程表の節目: " + "、".join(marks) + "（目標期限のある年度）", size=8.5, h=4.6)
                if m.practices:
                    _para(pdf, "活用事例: " + "、".join(with_place(p.title, p.place) for p in m.practices),
                          size=8.5, h=4.6)
            for p in sec.practices:
                pdf.ln(1.5)
                label = "【優良事例・合成データ】" if p.synthetic else "【優良事例】"
                _para(pdf, f"{label}{p.title}", size=11, h=6)
                _para(pdf, implementer(p.place, p.fy_from, p.fy_to), size=8.5, h=4.6)
                if p.problem:
                    _para(pdf, f"課題: {p.problem}")
                if p.solution:
                    _para(pdf, f"取組: {p.solution}")
                if p.results:
                    _para(pdf, f"成果: {p.results}")
                if p.figures:
                    _para(pdf, "成果の数値: " + "、".join(f.display for f in p.figures), size=8.5, h=4.6)
                if p.measures:
                    _para(pdf, "活用した国の施策: " + "、".join(t for _, t in p.measures), size=8.5, h=4.6)
                if p.adoptions:
                    _para(pdf, "横展開: " + "、".join(a.name for a in p.adoptions), size=8.5, h=4.6)
    return bytes(pdf.output())
