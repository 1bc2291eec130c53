"""Every limit an imported file must stay within, in one place (docs/imports.md lists them).

They are checked while the file streams, before the work they protect is done: a file over a
limit is refused in seconds with a Japanese message naming the limit (and the row, column or
part of the file), and nothing is written. The numbers leave room for the largest real files
(every local government × every KPI × 60 months is 5.4 million rows of six columns).
"""

from __future__ import annotations

MAX_COLUMNS = 2_000                      # cells in one row (wide files: one column per period)
MAX_CELLS = 100_000_000                  # cells in the whole file
MAX_XLSX_SHARED_STRINGS = 2_000_000      # distinct texts in an .xlsx (its shared-strings table)
MAX_XLSX_PART_BYTES = 512 * 1024 * 1024  # one XML part of an .xlsx, uncompressed
MAX_XLSX_TOTAL_BYTES = 1024 * 1024 * 1024  # all parts of an .xlsx together, uncompressed
MAX_XLSX_PARTS = 10_000                  # files inside the .xlsx (zip) container
MAX_XML_TOKEN_BYTES = 256 * 1024         # one XML tag, comment or text between tags
# a 出典URL: digiden.domain.text.MAX_URL_CHARS, the same rule on every path
                                         # (Excel holds at most 32,767 characters in a cell)

# How long an import waits for another import on the same database to finish (PostgreSQL: the
# advisory lock; SQLite: the database's busy timeout decides) before it gives up with 409.
IMPORT_LOCK_WAIT_SECONDS = 600.0


def fmt(n: int) -> str:
    """1234567 → '1,234,567' (limits are named in messages with their numbers)."""
    return f"{n:,}"


def mib(n: int) -> str:
    return f"{n // (1024 * 1024):,} MB" if n >= 1024 * 1024 else f"{n // 1024:,} KB"
