"""Which routes take uploads. Uploads may be as large as the configured ``max_upload_mb``; every
other route takes at most :data:`digiden.web.edge.BODY_LIMIT`. The limits are enforced by the
edge middleware (web/edge.py) before a body is read or spooled (a 2 GB file must not fill the
disk, and a 300 MB JSON body must not fill the memory)."""

from __future__ import annotations

UPLOAD_PATHS = ("/imports", "/api/v1/imports", "/api/v1/practices/import")
