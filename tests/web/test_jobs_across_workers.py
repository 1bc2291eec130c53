"""An import started on one worker of the app is followed, and its dry run applied, on another
(``digiden serve --workers N``: a browser's requests land on any worker). Two apps on one
database stand for two workers; each holds only its own jobs in memory."""

from __future__ import annotations

import re
from pathlib import Path

from digiden.domain.access import system
from digiden.services.data.imports.report import ImportOptions
from digiden.web.jobs import Job, JobRunner, new_id
from tests.conftest import make_client, sign_in_directly

FIX = Path(__file__).resolve().parents[1] / "fixtures"


def worker(session_factory, username: str = "admin"):  # type: ignore[no-untyped-def]
    c = make_client(session_factory)
    c.__enter__()
    sign_in_directly(c, session_factory, username)
    return c


def test_progress_report_and_apply_of_a_dry_run_on_another_worker(session_factory) -> None:  # type: ignore[no-untyped-def]
    one, two = worker(session_factory), worker(session_factory)
    try:
        with open(FIX / "long_cp932.csv", "rb") as f:
            r = one.post("/imports", files={"file": ("long_cp932.csv", f.read())}, data={"dry_run": "1"},
                         follow_redirects=False)
        assert r.status_code == 303
        job_url = r.headers["location"]
        job_id = job_url.rsplit("/", 1)[1]
        # the other worker never saw this job in memory
        assert two.app.state.jobs.jobs == {}
        api = two.get(f"/api/v1/imports/jobs/{job_id}")
        assert api.status_code == 200, api.text
        body = api.json()
        assert body["state"] == "done" and body["dry_run"] is True and body["progress"] == 1.0
        assert body["report"]["created"] == 5 and body["report"]["encoding"] == "cp932"
        assert body == one.get(f"/api/v1/imports/jobs/{job_id}").json()     # the same answer on both
        page = two.get(job_url)
        assert page.status_code == 200 and "確認が終わりました" in page.text and "新規 5件" in page.text
        apply = re.search(r'action="(/imports/jobs/[0-9a-f]+/apply)"', page.text).group(1)   # type: ignore[union-attr]
        r = two.post(apply, follow_redirects=True)
        assert "取り込みました" in r.text
        assert one.get("/api/v1/batches").json()[0]["kind"] == "file"
    finally:
        one.__exit__(None, None, None)
        two.__exit__(None, None, None)


def test_a_failed_job_reads_the_same_on_another_worker(session_factory) -> None:  # type: ignore[no-untyped-def]
    one, two = worker(session_factory), worker(session_factory)
    try:
        with open(FIX / "unknown_lg.csv", "rb") as f:
            r = one.post("/imports", files={"file": ("unknown_lg.csv", f.read())}, follow_redirects=False)
        job_id = r.headers["location"].rsplit("/", 1)[1]
        mine, theirs = one.get(f"/api/v1/imports/jobs/{job_id}"), two.get(f"/api/v1/imports/jobs/{job_id}")
        assert theirs.json() == mine.json() and theirs.json()["state"] == "failed"
        assert theirs.json()["error"]["code"] == "ImportFailed"
        page = two.get(f"/imports/jobs/{job_id}")
        assert page.status_code == 422 and "999997" in page.text and "検査数字" in page.text
    finally:
        one.__exit__(None, None, None)
        two.__exit__(None, None, None)


def test_only_its_starter_and_the_administrator_follow_a_job_on_any_worker(session_factory) -> None:  # type: ignore[no-untyped-def]
    one = worker(session_factory)
    aizu = worker(session_factory, "aizu")
    try:
        with open(FIX / "long_cp932.csv", "rb") as f:
            r = one.post("/imports", files={"file": ("long_cp932.csv", f.read())}, data={"dry_run": "1"},
                         follow_redirects=False)
        job_id = r.headers["location"].rsplit("/", 1)[1]
        assert aizu.get(f"/api/v1/imports/jobs/{job_id}").status_code == 404
        assert aizu.get(f"/imports/jobs/{job_id}").status_code == 404
        assert aizu.get("/api/v1/imports/jobs/" + "f" * 200).status_code == 404
    finally:
        one.__exit__(None, None, None)
        aizu.__exit__(None, None, None)


def test_a_running_job_shows_as_running_with_its_progress_elsewhere(session_factory, tmp_path) -> None:  # type: ignore[no-untyped-def]
    runner = JobRunner(inline=True, session_factory=session_factory)
    elsewhere = JobRunner(session_factory=session_factory)
    seen = []

    def fn(job: Job) -> None:
        job.state = "running"
        runner.save(job)
        job.progress = 0.25
        runner.save(job, progress_only=True)     # within PROGRESS_EVERY of the last write: skipped
        seen.append((elsewhere.get(job.id).state, elsewhere.get(job.id).progress))  # type: ignore[union-attr]
        runner._saved_at.clear()                  # as if half a second had passed
        runner.save(job, progress_only=True)
        seen.append((elsewhere.get(job.id).state, elsewhere.get(job.id).progress))  # type: ignore[union-attr]
        job.state = "done"

    job = runner.submit(fn, Job(new_id(), "x.csv", tmp_path / "x.csv", ImportOptions(dry_run=True), system("t")))
    assert seen == [("running", 0.0), ("running", 0.25)]
    assert elsewhere.get(job.id).state == "done"    # type: ignore[union-attr]


def test_finished_jobs_are_forgotten_after_a_week_with_their_files(session_factory, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from datetime import timedelta

    from tests.conftest import FIXED_NOW
    upload = tmp_path / "dry.csv"
    upload.write_text("x")
    then = JobRunner(inline=True, session_factory=session_factory, clock=lambda: FIXED_NOW - timedelta(days=8))
    job = then.submit(lambda j: setattr(j, "state", "done"),
                      Job(new_id(), "dry.csv", upload, ImportOptions(dry_run=True), system("t")))
    elsewhere = JobRunner(session_factory=session_factory, clock=lambda: FIXED_NOW)
    assert elsewhere.get(job.id) is not None
    now = JobRunner(inline=True, session_factory=session_factory, clock=lambda: FIXED_NOW)
    fresh = now.submit(lambda j: setattr(j, "state", "done"),      # a submission tidies up
                       Job(new_id(), "new.csv", tmp_path / "new.csv", ImportOptions(dry_run=True), system("t")))
    assert elsewhere.get(job.id) is None and not upload.exists()
    assert elsewhere.get(fresh.id) is not None


def test_a_jobs_progress_leaves_the_data_version_alone(session_factory, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Polling an import's progress must not make every worker recompute the dashboard; the
    import's own commit does change the data version (tests/services/test_kpi_cache.py)."""
    from digiden.services.uow import UnitOfWork
    from digiden.store import dataversion
    with UnitOfWork(session_factory) as uow:          # a version to compare with
        dataversion.bump(uow.session)
        uow.commit()

    def version() -> str | None:
        with UnitOfWork(session_factory).for_reading() as r:
            return dataversion.current(r.session)
    before = version()
    runner = JobRunner(inline=True, session_factory=session_factory)

    def fn(job: Job) -> None:
        job.state, job.progress = "running", 0.5
        runner.save(job)
        job.state = "done"

    runner.submit(fn, Job(new_id(), "x.csv", tmp_path / "x.csv", ImportOptions(dry_run=True), system("t")))
    assert version() == before
