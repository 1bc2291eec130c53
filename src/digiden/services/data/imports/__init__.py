"""File imports: the path local governments and ministries use to send their numbers.

``run_import`` reads a CSV or .xlsx file (long or wide), resolves every row to a KPI, a local
government, a date and a value, checks the KPI's validation rules, and writes everything in
one transaction — or nothing. A dry run does all of that and rolls back, so its report is
exactly what a real run would do. Each real run is an import batch that can be reverted.

The parts: ``report`` (options, problems, the report), ``resolve`` (cell text to ids),
``parse`` (rows, chunk by chunk), ``forked`` (the parser in a child process for large files),
``run`` (the import lock, the transaction, the writer), ``batches`` (listing, changes,
revert), ``mappings`` (saved column mappings); ``readers``, ``columns``, ``limits`` and
``tempfiles`` read files, recognise columns, bound sizes and keep uploads. This module only
re-exports the names other packages use.
"""

from digiden.services.data.imports.batches import (
    BatchView,
    ChangeView,
    batch_changes,
    get_batch,
    list_batches,
    revert_batch,
)
from digiden.services.data.imports.mappings import list_mappings
from digiden.services.data.imports.report import ImportFailed, ImportOptions, ImportReport
from digiden.services.data.imports.run import require_importer, run_import
from digiden.store.batches import PG_IMPORT_LOCK

__all__ = [
    "PG_IMPORT_LOCK",
    "BatchView",
    "ChangeView",
    "ImportFailed",
    "ImportOptions",
    "ImportReport",
    "batch_changes",
    "get_batch",
    "list_batches",
    "list_mappings",
    "require_importer",
    "revert_batch",
    "run_import",
]
