"""Japanese text normalisation shared by the loaders and search."""

from __future__ import annotations

import hmac
import re
import unicodedata

from digiden.domain.errors import InvalidInput

# Kangxi radicals and CJK compatibility ideographs that PDF extraction leaves behind (⽥ → 田).
_COMPAT = re.compile(r"[\u2e80-\u2fdf\uf900-\ufaff]")


def clean_text(text: str) -> str:
    """Normalise only what a reader would call an error (⽥ → 田), keeping the document's
    full-width punctuation and digits (（）、１人１台) as written."""
    return _COMPAT.sub(lambda m: unicodedata.normalize("NFKC", m.group(0)), text).strip()


def same_secret(sent: str, expected: str) -> bool:
    """Whether a value someone sent (a CSRF token, a cursor's check digits) equals the expected
    one, in constant time. ``hmac.compare_digest`` refuses str with non-ASCII characters with a
    TypeError — a 500 for anyone who sends 「é」 — so both are compared as UTF-8 bytes."""
    return hmac.compare_digest(sent.encode("utf-8", "surrogatepass"), expected.encode("utf-8", "surrogatepass"))


def match_key(text: str) -> str:
    """A key for matching names typed in files against stored names: NFKC, no spaces."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text))


def to_hiragana(text: str) -> str:
    """カタカナ → ひらがな (after NFKC, so half-width ｶﾀｶﾅ is covered too)."""
    s = unicodedata.normalize("NFKC", text)
    return "".join(chr(ord(c) - 0x60) if "ァ" <= c <= "ヶ" else c for c in s)


def search_key(text: str) -> str:
    """Normalise a name or kana for search: NFKC, hiragana, lower case, no spaces."""
    return re.sub(r"\s+", "", to_hiragana(text)).lower()


#: ASCII control characters other than tab and line ends: refused in every text a person enters
#: or a file brings (forms, API, imports), so what is stored always exports and imports back.
CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")

#: The longest 出典URL accepted.
MAX_URL_CHARS = 2_000
_URL = re.compile(r"https?://[^/?#\x00-\x20\x7f][^\x00-\x20\x7f]*\Z", re.IGNORECASE)


def url_problem(url: str) -> tuple[str, str] | None:
    """What is wrong with a source URL (English, Japanese): only http(s), no spaces or control
    characters, at most MAX_URL_CHARS. One rule for the form, the API, imports and reference data."""
    if not _URL.match(url):
        return ("source URL must be an http:// or https:// address (no spaces or control characters)",
                "出典URLは http:// または https:// で始まるアドレスにしてください（空白や制御文字は使えません）")
    if len(url) > MAX_URL_CHARS:
        return (f"source URL is longer than {MAX_URL_CHARS:,} characters",
                f"出典URLが長すぎます（{MAX_URL_CHARS:,}文字まで）")
    return None


def bounded(text: object, max_len: int, *, field: str, label_ja: str, required: bool = False) -> str:
    """Free text as a person typed it, cleaned, control characters refused, length checked.
    HTML is kept as text: every page escapes it when it shows it."""
    s = clean_text("" if text is None else str(text)).replace("\r\n", "\n")
    if CONTROL_CHARS.search(s):
        raise InvalidInput(f"{field}: control characters are not allowed",
                           message_ja=f"{label_ja}に制御文字が含まれています", field=field)
    if required and not s:
        raise InvalidInput(f"{field} is required", message_ja=f"{label_ja}を入力してください", field=field)
    if len(s) > max_len:
        raise InvalidInput(f"{field}: at most {max_len} characters ({len(s)} given)",
                           message_ja=f"{label_ja}は{max_len}文字以内にしてください（{len(s)}文字）", field=field)
    return s


def http_url(text: object) -> str | None:
    """``text`` if it is an absolute http(s) URL, else None: what may become a link. Anything
    else (``javascript:``, ``data:``, ``//host``, a relative path, control characters) is shown
    as text, never as a link, even when it is already stored."""
    from urllib.parse import urlsplit
    s = "" if text is None else str(text).strip()
    if not s or CONTROL_CHARS.search(s) or any(c.isspace() for c in s):
        return None
    try:
        parts = urlsplit(s)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    return s
