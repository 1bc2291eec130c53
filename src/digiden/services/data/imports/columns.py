"""Which column is which: long files (one value per row) and wide files (one column per
period). Headers are matched by their usual Japanese and English names; a saved or given
mapping overrides the guess."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field

from digiden.domain.calendar import AsOf
from digiden.domain.errors import InvalidInput
from digiden.domain.periods import looks_like_period, parse_period

ROLES = ("kpi", "org_code", "org_name", "prefecture", "as_of", "breakdown", "value", "qualifier",
         "source_title", "source_url", "note", "unit")

ROLE_LABELS = {"kpi": "KPI", "org_code": "団体コード", "org_name": "団体名", "prefecture": "都道府県",
               "as_of": "時点", "breakdown": "内訳", "value": "値", "qualifier": "限定語",
               "source_title": "出典", "source_url": "出典URL", "note": "備考", "unit": "単位"}

SYNONYMS: dict[str, tuple[str, ...]] = {
    "kpi": ("kpi", "kpi_code", "kpiコード", "kpi名", "指標", "指標名", "指標コード", "kpi_name"),
    "org_code": ("code", "lg_code", "lgcode", "org_unit", "団体コード", "地方公共団体コード",
                 "全国地方公共団体コード", "市区町村コード", "自治体コード", "コード"),
    "org_name": ("団体名", "地方公共団体名", "市区町村名", "市区町村", "自治体名", "自治体",
                 "name", "city", "org_unit_name", "名称"),
    "prefecture": ("都道府県", "都道府県名", "prefecture", "pref"),
    "as_of": ("as_of", "時点", "年月日", "日付", "基準日", "期間", "年度", "period", "date"),
    "breakdown": ("breakdown", "内訳", "区分"),
    "value": ("value", "値", "実績値", "数値", "実績"),
    "qualifier": ("qualifier", "限定語", "注記"),
    "source_title": ("source", "source_title", "出典", "出典名"),
    "source_url": ("source_url", "出典url", "url"),
    "note": ("note", "備考", "メモ"),
    "unit": ("unit", "単位"),
}
_LOOKUP = {unicodedata.normalize("NFKC", s).lower(): role for role, names in SYNONYMS.items()
           for s in names}


def _key(header: str) -> str:
    return unicodedata.normalize("NFKC", header).strip().lower().replace(" ", "")


@dataclass
class Layout:
    """How to read the rows: column index per role, and for wide files the period columns."""

    shape: str                                   # long | wide
    columns: dict[str, int]
    periods: list[tuple[int, AsOf, str]] = field(default_factory=list)   # (index, as-of, header)
    ignored: list[str] = field(default_factory=list)


def recognise(headers: list[str]) -> bool:
    """Is this row a header we can read? (used to find the header row)."""
    roles = {_LOOKUP.get(_key(h)) for h in headers if h}
    has_org = bool(roles & {"org_code", "org_name"})
    long = "value" in roles and ("as_of" in roles or has_org or "kpi" in roles)
    wide = has_org and sum(1 for h in headers if h and looks_like_period(h)
                           and _LOOKUP.get(_key(h)) is None) >= 1
    return long or wide


def detect_layout(headers: list[str], mapping: dict[str, str] | None = None) -> Layout:
    """Work out the layout; ``mapping`` (role → header text) overrides the guesses."""
    columns: dict[str, int] = {}
    used: set[int] = set()
    if mapping:
        keys = [_key(h) for h in headers]
        for role, header in mapping.items():
            if role not in ROLES:
                raise InvalidInput(f"unknown column role {role!r} in the mapping",
                                   message_ja=f"対応付けに不明な項目があります: {role}", field="mapping")
            try:
                idx = keys.index(_key(header))
            except ValueError:
                raise InvalidInput(f"the mapping names column {header!r}, which the file does not have",
                                   message_ja=f"対応付けで指定した列「{header}」がファイルにありません",
                                   field="mapping") from None
            columns[role] = idx
            used.add(idx)
    for i, h in enumerate(headers):
        if i in used or not h:
            continue
        guess = _LOOKUP.get(_key(h))
        if guess and guess not in columns:
            columns[guess] = i
            used.add(i)
    periods = []
    ignored = []
    for i, h in enumerate(headers):
        if i in used or not h:
            continue
        if "value" not in columns and looks_like_period(h):
            periods.append((i, parse_period(h), h))
        else:
            ignored.append(h)
    seen: dict[object, str] = {}
    for _i, asof, h in periods:
        if asof.date in seen:
            raise InvalidInput(f"columns {seen[asof.date]!r} and {h!r} are the same date ({asof.date})",
                               message_ja=f"列「{seen[asof.date]}」と「{h}」は同じ時点（{asof.date}）です",
                               field=h)
        seen[asof.date] = h
    if "value" in columns:
        if "as_of" not in columns:
            raise InvalidInput("a long file needs a date column (時点 / as_of / 年度)",
                               message_ja="縦長形式のファイルには時点の列（「時点」「as_of」「年度」など）が必要です",
                               field="as_of")
        shape = "long"
    elif periods:
        shape = "wide"
    else:
        raise InvalidInput("no value column and no period columns (e.g. 値, value, 2024年度, R6)",
                           message_ja="値の列も期間の列（「値」「2024年度」「R6」など）も見つかりません",
                           field="value")
    if "org_code" not in columns and "org_name" not in columns:
        raise InvalidInput("no local-government column (団体コード / 団体名 / code)",
                           message_ja="団体の列（「団体コード」「団体名」など）が見つかりません", field="org_unit")
    counts: dict[str, int] = {}
    for h in headers:                 # linear: a dict, not headers.count per header
        if h:
            counts[h] = counts.get(h, 0) + 1
    for h in headers:
        if h and counts[h] > 1:
            raise InvalidInput(f"the header {h!r} appears twice", message_ja=f"見出し「{h}」が重複しています",
                               field=h)
    return Layout(shape, columns, periods, ignored)
