"""Files people attach — to a consultation (相談窓口) or to an application (重点支援) — checked the
same way before anything is written: the name kept is its last part (after / or \\), NFC, with no
control or format characters (a right-to-left override makes 「report‮txt.pdf」 read as
「reportfdp.txt」), at most NAME_MAX characters; the file is not empty, within its limit, of a type
the caller accepts by its extension, and its content is what the extension says:

- PDF, PNG, JPEG: their signature;
- Office Open XML (.xlsx, .docx, .pptx): a ZIP archive with ``[Content_Types].xml`` and the main
  part of that kind (a .docx renamed .xlsx, or any other ZIP, is refused), of at most
  ZIP_ENTRIES_MAX entries, counted from the archive's end record before the archive is opened (an
  archive of 60,000 entries took 2.8 s of a worker to open);
- text (.txt, .csv): UTF-8.

Every refusal is an InvalidInput whose Japanese message names the file and says why.
"""

from __future__ import annotations

import io
import unicodedata
import zipfile
from collections.abc import Collection
from dataclasses import dataclass

from digiden.domain.errors import InvalidInput

NAME_MAX = 200
ZIP_ENTRIES_MAX = 10_000

MEDIA_TYPES: dict[str, str] = {
    ".pdf": "application/pdf", ".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg",
    ".txt": "text/plain", ".csv": "text/csv",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ".pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
}
KIND_JA = {".pdf": "PDF", ".png": "PNG画像", ".jpg": "JPEG画像", ".jpeg": "JPEG画像", ".txt": "テキスト",
           ".csv": "CSV", ".xlsx": "Excel（.xlsx）", ".docx": "Word（.docx）", ".pptx": "PowerPoint（.pptx）"}
_NAME_JA = {".pdf": "PDF", ".png": "PNG画像", ".jpg": "JPEG画像", ".jpeg": "JPEG画像", ".txt": "テキスト",
            ".csv": "CSV", ".xlsx": "Excel", ".docx": "Word", ".pptx": "PowerPoint"}
_SIGNATURES = {".pdf": b"%PDF-", ".png": b"\x89PNG\r\n\x1a\n", ".jpg": b"\xff\xd8\xff", ".jpeg": b"\xff\xd8\xff"}
_OOXML_PART = {".xlsx": "xl/workbook.xml", ".docx": "word/document.xml", ".pptx": "ppt/presentation.xml"}
_TEXT = {".txt", ".csv"}
_EOCD = b"PK\x05\x06"        # a ZIP archive's end-of-central-directory record


@dataclass(frozen=True)
class Accepted:
    name: str               # the name kept (its last part, NFC)
    media_type: str


def _unusable(ch: str) -> bool:
    """Control (Cc) and format (Cf: bidi overrides, zero-width) characters."""
    return unicodedata.category(ch) in ("Cc", "Cf")


def file_name(raw: str, *, field: str) -> str:
    """The name a file is kept under: its last part, NFC, trimmed; InvalidInput when nothing
    usable is left."""
    base = unicodedata.normalize("NFC", (raw or "").replace("\\", "/").rsplit("/", 1)[-1]).strip()
    if not base or base in (".", "..") or len(base) > NAME_MAX or any(_unusable(c) for c in base):
        raise InvalidInput("attachment without a usable file name", field=field,
                           message_ja=f"添付ファイルの名前が正しくありません（{NAME_MAX}文字以内、制御文字・書式制御文字なし）")
    return base


def _zip_entries(data: bytes) -> int | None:
    """How many entries a ZIP archive says it has, from its end record (None: no end record, or a
    ZIP64 archive that does not say)."""
    at = data.rfind(_EOCD, max(0, len(data) - 65_557))
    if at < 0 or at + 12 > len(data):
        return None
    n = int.from_bytes(data[at + 10:at + 12], "little")
    return None if n == 0xFFFF else n


def _is_ooxml(data: bytes, ext: str) -> bool:
    if not data.startswith(b"PK\x03\x04"):
        return False
    if _zip_entries(data) is None:
        return False
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            names = set(z.namelist())
    except (zipfile.BadZipFile, ValueError, OSError):
        return False
    return "[Content_Types].xml" in names and _OOXML_PART[ext] in names


def _content_matches(data: bytes, ext: str) -> bool:
    if ext in _SIGNATURES:
        return data.startswith(_SIGNATURES[ext])
    if ext in _OOXML_PART:
        return _is_ooxml(data, ext)
    if ext in _TEXT:
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            return False
        return True
    return False


def check_file(name: str, data: bytes, *, accept: Collection[str], max_bytes: int, field: str) -> Accepted:
    """The file as kept, or InvalidInput in Japanese naming it and why. ``accept``: the extensions
    the caller takes (keys of MEDIA_TYPES)."""
    base = file_name(name, field=field)
    if not data:
        raise InvalidInput(f"{base} is empty", field=field, message_ja=f"添付ファイル「{base}」は空です",
                           details={"file": base})
    if len(data) > max_bytes:
        raise InvalidInput(f"{base} is over {max_bytes} bytes", field=field,
                           message_ja=f"添付ファイル「{base}」は上限の{max_bytes // (1024 * 1024)}MBを超えています"
                                      f"（{len(data) / (1024 * 1024):.1f}MB）",
                           details={"file": base, "limit_bytes": max_bytes})
    ext = ("." + base.rsplit(".", 1)[-1].lower()) if "." in base else ""
    if ext not in accept or ext not in MEDIA_TYPES:
        kinds = [f"{_NAME_JA.get(e, e)}（{e}）" for e in accept]
        allowed = kinds[0] if len(kinds) == 1 else "、".join(kinds[:-1]) + "と " + kinds[-1]
        raise InvalidInput(f"attachment type {ext or '(none)'} of {base} is not accepted", field=field,
                           message_ja=f"添付ファイル「{base}」の種類は受け付けていません。{allowed}だけを添付できます",
                           details={"file": base})
    entries = _zip_entries(data) if ext in _OOXML_PART else None
    if entries is not None and entries > ZIP_ENTRIES_MAX:
        raise InvalidInput(f"{base}: {entries} entries in the archive (at most {ZIP_ENTRIES_MAX})", field=field,
                           message_ja=f"添付ファイル「{base}」は中に{entries:,}個のファイルを含んでいます"
                                      f"（{KIND_JA[ext]}として受け付けるのは{ZIP_ENTRIES_MAX:,}個まで）",
                           details={"file": base})
    if not _content_matches(data, ext):
        raise InvalidInput(f"{base}: the content is not a {ext} file", field=field,
                           message_ja=f"添付ファイル「{base}」の内容が拡張子（{ext}）と一致しません"
                                      f"（中身は{KIND_JA[ext]}ではありません）",
                           details={"file": base})
    return Accepted(base, MEDIA_TYPES[ext])
