"""One check for every file people attach (domain.files), as an audit probed it: a name with a
right-to-left override, a Windows path, a .docx or a bare ZIP renamed .xlsx (the consultation desk
took any ZIP then), an archive of many thousands of entries, and the ordinary files that pass."""

from __future__ import annotations

import io
import zipfile

import pytest

from digiden.domain.consult import check_attachment
from digiden.domain.errors import InvalidInput
from digiden.domain.files import ZIP_ENTRIES_MAX, check_file, file_name

XLSX_ONLY = {".xlsx"}


def ooxml(*parts: str, extra: int = 0) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for p in ("[Content_Types].xml", *parts):
            z.writestr(p, "<x/>")
        for i in range(extra):
            z.writestr(f"junk/{i}", "")
    return buf.getvalue()


def refused(name: str, data: bytes, **kw: object) -> str:
    with pytest.raises(InvalidInput) as e:
        check_file(name, data, **({"accept": XLSX_ONLY | {".pdf"}, "max_bytes": 1024 * 1024, "field": "files"} | kw))  # type: ignore[arg-type]
    return e.value.message_ja


def test_names_are_kept_as_their_last_part_and_format_characters_are_refused() -> None:
    assert file_name("..\\..\\windows\\計画.pdf", field="f") == "計画.pdf"
    assert file_name("../../etc/passwd.pdf", field="f") == "passwd.pdf"
    assert "書式制御文字" in refused("report\u202etxt.pdf", b"%PDF-1.7")
    assert "書式制御文字" in refused("zero\u200bwidth.pdf", b"%PDF-1.7")
    assert "名前が正しくありません" in refused("..", b"%PDF-1.7")


def test_an_office_file_must_be_the_kind_its_name_says() -> None:
    assert check_file("表.xlsx", ooxml("xl/workbook.xml"), accept=XLSX_ONLY, max_bytes=10**6,
                      field="f").media_type.endswith("spreadsheetml.sheet")
    assert "中身はExcel（.xlsx）ではありません" in refused("文書.xlsx", ooxml("word/document.xml"))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("xl/workbook.xml", "<x/>")                # no [Content_Types].xml
    assert "内容が拡張子（.xlsx）と一致しません" in refused("zip.xlsx", buf.getvalue())
    # the desk took any ZIP named .docx or .xlsx before; now its main part is required
    with pytest.raises(InvalidInput) as e:
        check_attachment("爆弾.xlsx", ooxml("a.txt"))
    assert "中身はExcel（.xlsx）ではありません" in e.value.message_ja
    assert check_attachment("議事録.docx", ooxml("word/document.xml")).endswith("wordprocessingml.document")


def test_an_archive_of_too_many_entries_is_refused_before_it_is_opened() -> None:
    many = ooxml("xl/workbook.xml", extra=ZIP_ENTRIES_MAX + 1)
    message = refused("多い.xlsx", many, max_bytes=50 * 1024 * 1024)
    assert f"{ZIP_ENTRIES_MAX + 3:,}個のファイルを含んでいます" in message   # counted from the end record


def test_size_type_and_emptiness_are_said_with_the_name() -> None:
    assert "「空.pdf」は空です" in refused("空.pdf", b"")
    assert "上限の1MBを超えています" in refused("大.pdf", b"%PDF-" + b"0" * 1024 * 1024)
    assert "「実行.exe」の種類は受け付けていません。Excel（.xlsx）と PDF（.pdf）だけを添付できます" in refused(
        "実行.exe", b"MZ", accept=[".xlsx", ".pdf"])
    assert "中身はPDFではありません" in refused("偽.pdf", b"MZ\x90\x00")


def test_a_subject_is_one_line_and_not_only_invisible_characters() -> None:
    """An audit asked with 「改行テスト\\r\\nBcc: …」 as the subject, and with a subject of one
    zero-width space: both were accepted."""
    from digiden.domain.consult import text_field
    with pytest.raises(InvalidInput) as e:
        text_field("改行テスト\r\nBcc: evil@example.com", max_len=200, field="subject", label_ja="件名", one_line=True)
    assert e.value.message_ja == "件名は改行を含めず1行で入力してください"
    with pytest.raises(InvalidInput) as e:
        text_field("\u200b", max_len=200, field="subject", label_ja="件名")
    assert e.value.message_ja == "件名を入力してください"
    assert text_field("本文の\n2行目", max_len=200, field="body", label_ja="本文") == "本文の\n2行目"
