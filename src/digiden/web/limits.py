"""Which routes take uploads. Uploads may be as large as the configured ``max_upload_mb``; every
other route takes at most :data:`digiden.web.edge.BODY_LIMIT`. The limits are enforced by the
edge middleware (web/edge.py) before a body is read or spooled (a 2 GB file must not fill the
disk, and a 300 MB JSON body must not fill the memory)."""

from __future__ import annotations

import re

UPLOAD_PATHS = ("/imports", "/api/v1/imports", "/api/v1/practices/import")
# Routes that take files attached to a consultation or an application: at most
# ATTACHMENT_BODY_LIMIT a request (the desk's 5 files of 5 MB fit, as do six of an application's
# 10 MiB files), each file then held to its own limit by the service (domain/consult.py
# ATTACHMENT_MAX_BYTES, services/support/attachments.py MAX_BYTES), refused in Japanese naming the
# file; like every upload only from someone signed in. Exact paths, so that the routes beside them
# (the ask form's suggestions, a consultation's steps) keep the ordinary body limit.
ATTACHMENT_BODY_LIMIT = 64 * 1024 * 1024
ATTACHMENT_PATHS = re.compile(
    r"/consultations|/consultations/\d+/replies"
    r"|/api/v1/consultations(/files)?|/api/v1/consultations/\d+/replies(/files)?"
    r"|/applications/\d+/attachments|/api/v1/applications/\d+/attachments")
