"""Row parsing: cells in, rows to write and problems out, chunk by chunk. Pure: it touches no
database, so it can run in a forked child while the parent writes (imports/forked.py)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from digiden.domain.errors import DigidenError, InvalidInput
from digiden.domain.quantities import Qualifier, is_missing, parse_quantity, parse_value, value_problem
from digiden.domain.rules import limit_problem
from digiden.domain.text import CONTROL_CHARS, clean_text, url_problem
from digiden.services.data.imports.columns import Layout
from digiden.services.data.imports.readers import cell_text
from digiden.services.data.imports.report import MAX_ACTIONS, Problem
from digiden.services.data.imports.resolve import KpiInfo, Resolver
from digiden.store import bulk

CHUNK = 20_000
_PLAIN_NUMBER = re.compile(r"^\s*-?\d+(\.\d+)?\s*$")


class BulkRow(NamedTuple):
    """The fields of one value to write, in the order of ``store.bulk.COLUMNS``.
    ``source_title``, ``source_url`` and ``note`` are None when the file has no such column
    (the default applies and is not a change).

    The parser's hot loop builds each row as a plain tuple (a ``store.bulk.Row``) in this
    order, and code that reads a row names its fields through ``BulkRow(*row)``: building a
    NamedTuple per row (and, forked, unpickling one per row from the child's pipe) made a
    200,000-row import cost 1.3× the CPU in one process and 1.4× in the forked reader's parent."""

    kpi_id: int
    org_unit_id: int
    as_of: str
    precision: str
    breakdown: str
    value: float
    qualifier: str
    source_title: str | None
    source_url: str | None
    note: str | None
    source_row: int


def _value(raw: Any, kpi: KpiInfo | None) -> tuple[float, Qualifier] | None:
    """Parse a value cell; None for a missing value (empty, -, ―, …). Without a KPI (the
    row's KPI is unknown) only "is it one number" is checked."""
    if isinstance(raw, int | float) and not isinstance(raw, bool):
        return float(raw), Qualifier.EXACT
    text = str(raw) if raw is not None else ""
    if _PLAIN_NUMBER.match(text):
        return float(text), Qualifier.EXACT
    if is_missing(text):
        return None
    if kpi is None:
        q = parse_quantity(text, field="value")
        if q.value is None:
            raise InvalidInput(f"value must be a single number, got {text!r}",
                               message_ja=f"値は1つの数値で入力してください: {text}", field="value")
        return q.value, q.qualifier
    return parse_value(text, kpi.unit)


_CONTROL_PROBLEM = ("control characters (such as NUL) are not allowed in text",
                    "テキストに制御文字（NUL など）が含まれています")


def _check(value: float, kpi: KpiInfo, national: bool) -> tuple[str, str] | None:
    """Row-level checks: the unit's own (sign, %, whole counts), then the KPI's blocking
    range rules."""
    problem = value_problem(value, kpi.unit)
    if problem:
        return problem
    return limit_problem(value, kpi.lower, kpi.upper_national if national else kpi.upper_local)


@dataclass
class Chunk:
    """What parsing a stretch of the file produced: rows to write and problems found."""

    fast: list[bulk.Row] = field(default_factory=list)    # rows of new series (BulkRow fields)
    slow: list[bulk.Row] = field(default_factory=list)    # rows of series that hold values
    problems: list[Problem] = field(default_factory=list)
    actions: list[dict[str, Any]] = field(default_factory=list)
    # the fast rows summed up, here in the parser (the forked child) rather than in the writer:
    # per KPI how many, per local series (KPI, as-of, breakdown) [count, sum, positives]
    fast_counts: dict[int, int] = field(default_factory=dict)
    fast_deltas: dict[tuple[int, str, str], list[float]] = field(default_factory=dict)
    unchanged: int = 0
    rows: int = 0
    values: int = 0
    missing: int = 0
    share: float = 0.0


def make_parser(layout: Layout, res: Resolver, fixed_kpi: KpiInfo | None, headers: list[str],
                existing: set[tuple[int, str, str]], default_source: str, dry_run: bool
                ) -> Callable[[Iterator[tuple[int, list[Any]]], Callable[[], float]], Iterator[Chunk]]:
    """Build the row parser: a generator of chunks over (row number, cells). Pure: it touches
    no database, so it can run in a child process while the parent writes."""
    cols = layout.columns
    c_kpi, c_code, c_name = cols.get("kpi"), cols.get("org_code"), cols.get("org_name")
    c_pref, c_asof, c_bd = cols.get("prefecture"), cols.get("as_of"), cols.get("breakdown")
    c_val, c_q, c_src = cols.get("value"), cols.get("qualifier"), cols.get("source_title")
    c_url, c_note = cols.get("source_url"), cols.get("note")
    nation = res.nation_id

    def chunks(rows: Iterator[tuple[int, list[Any]]], share: Callable[[], float]) -> Iterator[Chunk]:
        fast: list[bulk.Row] = []
        slow: list[bulk.Row] = []
        fast_counts: dict[int, int] = {}
        fast_deltas: dict[tuple[int, str, str], list[float]] = {}
        chunk_keys: dict[tuple[int, int, str, str], tuple[int, float, str]] = {}
        cur = Chunk()

        def err(row: int, col: int | None, value: Any, e: DigidenError | tuple[str, str]) -> None:
            en, ja = (e.message, e.message_ja) if isinstance(e, DigidenError) else e
            cur.problems.append(Problem(row, headers[col] if col is not None and col < len(headers) else None,
                                        cell_text(value)[:200], en, ja))

        # The hot loop: per-string caches make every repeated cell a dict hit.
        dates: dict[str, tuple[str, str] | DigidenError] = {}
        texts: dict[str, str | None] = {}
        kpi_cache: dict[str, KpiInfo | None] = {}
        EXACT = Qualifier.EXACT.value

        def cleaned(v: Any) -> str | None:
            """Cleaned text, or None when it holds control characters (cached per text)."""
            t = v if isinstance(v, str) else cell_text(v)
            try:
                return texts[t]
            except KeyError:
                c = clean_text(t)
                ok = texts[t] = None if CONTROL_CHARS.search(c) else c
                return ok

        urls: dict[str, str | tuple[str, str]] = {}

        def url_of(v: Any) -> str | tuple[str, str]:
            """The URL, or the problem with it (cached per text)."""
            t = v if isinstance(v, str) else cell_text(v)
            u = urls.get(t)
            if u is None:
                u = urls[t] = url_problem(t.strip()) or t.strip()
            return u

        def date_of(v: Any) -> tuple[str, str]:
            t = v if isinstance(v, str) else cell_text(v)
            d = dates.get(t)
            if d is None:
                try:
                    a = res.as_of(t.strip())
                    d = (a.date.isoformat(), a.precision.value)
                except DigidenError as e:
                    d = e
                dates[t] = d
            if isinstance(d, DigidenError):
                raise d
            return d

        periods = [(i, (a.date.isoformat(), a.precision.value)) for i, a, _h in layout.periods]
        n_cells = len(headers)
        rows_seen = values_seen = missing = 0
        cur = Chunk()
        for rownum, cells in rows:
            if not any(cells):
                continue
            rows_seen += 1
            if len(cells) < n_cells:
                cells = list(cells) + [None] * (n_cells - len(cells))
            # Every column is checked even after a problem, so the report lists every problem
            # of the row; a row with any problem is not written.
            bad = False
            # --- KPI
            kpi: KpiInfo | None
            if c_kpi is None:
                kpi = fixed_kpi
                if kpi is None:  # no KPI column and no --kpi (refused earlier)
                    continue
            else:
                raw = cells[c_kpi]
                raw = raw.strip() if isinstance(raw, str) else cell_text(raw)
                if raw not in kpi_cache:
                    kpi_cache[raw] = res.kpi(raw) if raw else None
                kpi = kpi_cache[raw]
                if kpi is None:
                    kpi = fixed_kpi
                    if kpi is None or raw:
                        err(rownum, c_kpi, raw, ("unknown KPI" if raw else "KPI is empty",
                                                 f"不明なKPIです: {raw}" if raw else "KPIが空です"))
                        bad, kpi = True, None
                if kpi is not None and not kpi.writable:
                    err(rownum, c_kpi, raw, (f"you may not write KPI {kpi.code}",
                                             f"このKPI（{kpi.code}）の値を登録する権限がありません"))
                    bad = True
                elif kpi is not None and fixed_kpi is not None and kpi.id != fixed_kpi.id:
                    err(rownum, c_kpi, raw, (f"row is for KPI {kpi.code}, not {fixed_kpi.code}",
                                             f"指定したKPI（{fixed_kpi.code}）と異なるKPIの行です"))
                    bad = True
            # --- local government
            col_org = c_code if c_code is not None else c_name
            org: int | None = None
            try:
                code_cell = cells[c_code] if c_code is not None else None
                if code_cell not in (None, ""):
                    org = res.org_by_code(code_cell if isinstance(code_cell, str) else cell_text(code_cell))
                else:
                    col_org = c_name
                    nm = cell_text(cells[c_name]) if c_name is not None else ""
                    if not nm:
                        raise InvalidInput("local government is empty", message_ja="団体が空です",
                                           field="org_unit")
                    org = res.org_by_name(nm, cell_text(cells[c_pref]) if c_pref is not None else "")
            except DigidenError as e:
                err(rownum, col_org, cells[col_org] if col_org is not None else "", e)
                bad = True
            # --- breakdown, source, note (text: no control characters), URL (http/https only)
            bd = ""
            if c_bd is not None and cells[c_bd] not in (None, ""):
                bd_ = cleaned(cells[c_bd])
                if bd_ is None:
                    err(rownum, c_bd, cells[c_bd], _CONTROL_PROBLEM)
                    bad = True
                else:
                    bd = bd_
            if kpi is not None and (bd not in kpi.breakdowns if kpi.breakdowns else bd):
                if kpi.breakdowns:
                    err(rownum, c_bd, bd, (f"breakdown must be one of {', '.join(sorted(kpi.breakdowns))}",
                                           f"内訳は {'・'.join(sorted(kpi.breakdowns))} のいずれかです"))
                else:
                    err(rownum, c_bd, bd, ("this KPI has no breakdowns", "このKPIには内訳がありません"))
                bad = True
            # None: the file has no such column (the default applies and is not a change).
            src = note = url = None
            if c_src is not None:
                src = cleaned(cells[c_src])
                if src is None:
                    err(rownum, c_src, cells[c_src], _CONTROL_PROBLEM)
                    bad = True
                src = src or None
            if c_url is not None and cells[c_url] not in (None, ""):
                u = url_of(cells[c_url])
                if isinstance(u, tuple):
                    err(rownum, c_url, cells[c_url], u)
                    bad = True
                else:
                    url = u or None
            if c_note is not None:
                note = cleaned(cells[c_note])
                if note is None:
                    err(rownum, c_note, cells[c_note], _CONTROL_PROBLEM)
                    bad = True
            q_row: str | None = None
            if c_q is not None:
                qual_text = cell_text(cells[c_q])
                if qual_text:
                    try:
                        q_row = Qualifier.parse(qual_text).value
                    except DigidenError as e:
                        err(rownum, c_q, qual_text, e)
                        bad = True
            # --- one value (long) or one per period column (wide)
            items: list[tuple[int, tuple[str, str] | None, Any]]
            if c_val is not None and c_asof is not None:
                try:
                    when: tuple[str, str] | None = date_of(cells[c_asof])
                except DigidenError as e:
                    err(rownum, c_asof, cells[c_asof], e)
                    bad, when = True, None
                items = [(c_val, when, cells[c_val])]
            else:
                items = [(i, d, cells[i]) for i, d in periods]
            national = org == nation
            for col, when_, raw in items:
                q = EXACT
                if isinstance(raw, float | int) and not isinstance(raw, bool):
                    value = float(raw)
                else:
                    try:
                        value = float(raw)
                        if value != value or value in (float("inf"), float("-inf")):
                            raise ValueError
                    except (TypeError, ValueError):
                        try:
                            parsed = _value(raw, kpi)
                        except DigidenError as e:
                            err(rownum, col, raw, e)
                            bad = True
                            continue
                        if parsed is None:
                            missing += 1
                            continue
                        value, q = parsed[0], parsed[1].value
                if q_row is not None:
                    q = q_row
                if kpi is None:
                    continue
                upper = kpi.upper_national if national else kpi.upper_local
                if value < 0 or (upper is not None and value > upper) or (kpi.is_pct and value > 100) \
                        or (kpi.is_count and not value.is_integer()) or (kpi.lower is not None and value < kpi.lower):
                    problem = _check(value, kpi, national)
                    if problem:
                        err(rownum, col, raw, problem)
                        bad = True
                        continue
                if bad or when_ is None or org is None:
                    continue
                iso, precision = when_
                values_seen += 1
                key = (kpi.id, org, iso, bd)
                prev = chunk_keys.get(key)
                if prev is not None:
                    if prev[1] != value or prev[2] != q:
                        err(rownum, col, raw, (f"duplicate of row {prev[0]} with a different value ({prev[1]:g})",
                                               f"{prev[0]}行目と同じ項目で値が異なります（{prev[1]:g} と {value:g}）"))
                    else:
                        cur.unchanged += 1
                    continue
                chunk_keys[key] = (rownum, value, q)
                if (kpi.id, iso, bd) in existing:
                    # a BulkRow's fields, as a plain tuple (see BulkRow)
                    slow.append((kpi.id, org, iso, precision, bd, value, q, src, url, note, rownum))
                else:
                    fast.append((kpi.id, org, iso, precision, bd, value, q, src or default_source, url,
                                 note or "", rownum))
                    fast_counts[kpi.id] = fast_counts.get(kpi.id, 0) + 1
                    if not national:
                        d = fast_deltas.get((kpi.id, iso, bd))
                        if d is None:
                            fast_deltas[(kpi.id, iso, bd)] = [1, value, 1 if value > 0 else 0]
                        else:
                            d[0] += 1
                            d[1] += value
                            if value > 0:
                                d[2] += 1
                    if dry_run and len(cur.actions) < MAX_ACTIONS:
                        cur.actions.append(row_action(fast[-1], "create", res))
            if len(fast) + len(slow) >= CHUNK:
                cur.fast, cur.slow, cur.rows, cur.values, cur.missing = fast, slow, rows_seen, values_seen, missing
                cur.share = share()
                cur.fast_counts, cur.fast_deltas = fast_counts, fast_deltas
                yield cur
                cur = Chunk()
                fast, slow, chunk_keys, fast_counts, fast_deltas = [], [], {}, {}, {}
                rows_seen = values_seen = missing = 0
        cur.fast, cur.slow, cur.rows, cur.values, cur.missing = fast, slow, rows_seen, values_seen, missing
        cur.share = 1.0
        cur.fast_counts, cur.fast_deltas = fast_counts, fast_deltas
        yield cur

    return chunks


def row_action(row: bulk.Row, action: str, res: Resolver) -> dict[str, Any]:
    """A row as the report's list of actions shows it (what a dry run would do)."""
    r = BulkRow(*row)
    code = next((k.code for k in res.kpis.values() if k.id == r.kpi_id), "")
    return {"row": r.source_row, "kpi": code, "org_unit": res.code_of.get(r.org_unit_id, ""),
            "as_of": r.as_of, "breakdown": r.breakdown or None, "value": r.value,
            "qualifier": r.qualifier, "action": action}
