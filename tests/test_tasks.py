"""The task layer, job by job: the real SDKs over HTTP against the emulators, the real journal.

Each task builds and closes its own clients, writes its run-folder files and records its step's
state; these tests check what a front end relies on: the typed result, the files, the journal.
"""

from __future__ import annotations

import json
import threading
from dataclasses import replace

import pytest

from wizard.clients.auth0 import REQUIRED_SCOPES
from wizard.clients.errors import ApiError
from wizard.core import documents, steps, verify
from wizard.core.config import Settings
from wizard.core.gates import GateStatus
from wizard.core.journal import Journal
from wizard.tasks import check as check_task
from wizard.tasks import clients
from wizard.tasks import export_job as export_job_task
from wizard.tasks import import_ as import_task
from wizard.tasks import inventory as inventory_task
from wizard.tasks import mfa as mfa_task
from wizard.tasks import orgs as orgs_task
from wizard.tasks import prereqs as prereqs_task
from wizard.tasks import report as report_task
from wizard.tasks import rollback as rollback_task
from wizard.tasks import verify as verify_task

FAST = 1000.0  # Management API requests per second against the emulator


def _planned(run_dir, demo_exports) -> Journal:
    journal = Journal.open(run_dir)
    check_task.run_check(journal, demo_exports.users_path, demo_exports.passwords_path)
    return journal


def _imported(run_dir, settings, demo_exports) -> Journal:
    journal = _planned(run_dir, demo_exports)
    import_task.run_import(journal, settings, dry_run=True)
    import_task.run_import(journal, settings)
    return journal


# ------------------------------------------------------------------------------ clients
def test_auth0_session_refused_credentials_are_a_setup_error(auth0_emu):
    s = Settings(auth0_domain=auth0_emu.domain, auth0_client_id=auth0_emu.client_id, auth0_client_secret="nope",
                 auth0_base_url=auth0_emu.base_url)
    with pytest.raises(clients.ClientSetupError) as caught, clients.auth0_management(s, check_scopes=True):
        pass
    assert isinstance(caught.value.error, ApiError) and "nope" not in str(caught.value)


def test_missing_scopes_come_back_as_data_before_the_work(auth0_emu):
    auth0_emu.emulator.scopes = "read:users"
    s = Settings(auth0_domain=auth0_emu.domain, auth0_client_id=auth0_emu.client_id,
                 auth0_client_secret=auth0_emu.client_secret, auth0_base_url=auth0_emu.base_url)
    told = []
    with clients.auth0_management(s, check_scopes=True, on_scope_warning=told.append) as session:
        assert told == [session.scope_warning]
        assert "read:organizations" in session.missing_scopes and "read:organizations" in told[0]


def test_no_auth0_credentials_means_no_session():
    with clients.optional_auth0(Settings()) as session:
        assert session is None


# ------------------------------------------------------------------------------ check
def test_check_saves_the_plan_and_both_gates(tmp_path, demo_exports):
    with Journal.open(tmp_path / "run") as journal:
        result = check_task.run_check(journal, demo_exports.users_path, demo_exports.passwords_path)
        assert result.export_gate.passed and result.mapping_gate is not None and result.passed
        assert result.saved == len(result.plan.planned) == sum(journal.count_users().values())
        summary = documents.PLAN_SUMMARY.read(journal)
        importable = sum(n for status, n in journal.count_users().items() if status != "skipped")
        assert summary is not None and summary.passwords_file and summary.planned == importable  # planned: importable only


def test_check_without_a_journal_saves_nothing(tmp_path, demo_exports):
    result = check_task.run_check(None, demo_exports.users_path, None)
    assert result.saved is None and result.mapping_gate is None and set(result.gates) == {"export"}


def test_check_only_if_passed_leaves_a_failing_plan_unsaved(tmp_path):
    bad = tmp_path / "users.json"
    bad.write_text("this is not an export\n")
    with Journal.open(tmp_path / "run") as journal:
        result = check_task.run_check(journal, bad, None, save_only_if_passed=True)
        assert not result.export_gate.passed and result.saved is None and not journal.count_users()


# ------------------------------------------------------------------------------ import
@pytest.mark.parametrize(("typed", "ok"), [
    ("import", True), (" Import ", True), ("12", True), ("1,2", True), ("11", False), ("y", False), ("", False),
])
def test_the_typed_confirmation_is_normalised_once(typed, ok):
    assert import_task.confirmation_accepted(typed, 12) is ok


def test_dry_run_then_import_writes_the_run_folder_files(tmp_path, sandbox_settings, demo_exports, workos_emu):
    with _planned(tmp_path / "run", demo_exports) as journal:
        to_send = import_task.users_to_send(journal)
        assert to_send > 0
        dry = import_task.run_import(journal, sandbox_settings, dry_run=True)
        assert dry.summary.dry_run and dry.dry_run_path.is_file() and dry.paths is None
        assert not workos_emu.emulator.users and steps.dry_run_gate(journal).passed
        events = []
        real = import_task.run_import(journal, sandbox_settings, on_progress=events.append)
        s = real.summary
        assert not real.interrupted and s.remaining == 0 == import_task.users_to_send(journal)
        assert s.created + s.updated + s.failed == to_send and len(workos_emu.emulator.users) == s.created
        assert all(p.is_file() for p in (real.paths.summary, real.paths.id_map, real.paths.errors, real.paths.retry))
        assert events and events[-1].done
        recorded = documents.IMPORT_SUMMARY.read(journal)
        assert recorded.created == s.created and recorded.remaining == 0


def test_a_cancelled_import_ends_with_the_importers_summary_and_resumes(tmp_path, sandbox_settings, demo_exports,
                                                                        workos_emu, hold_creates):
    hold = hold_creates(after=3).install()  # three creates answer, the rest wait in the air
    with _planned(tmp_path / "run", demo_exports) as journal:
        total = import_task.users_to_send(journal)
        run = import_task.ImportRun(journal, sandbox_settings)
        worker = threading.Thread(target=lambda: holder.update(result=run.run()))
        holder: dict = {}
        worker.start()
        for _ in range(600):  # until the three answered creates are recorded
            if journal.count_users().get("created", 0) >= 3:
                break
            worker.join(timeout=0.05)
        assert run.cancel()
        hold.remove()
        worker.join(timeout=60)
        result = holder["result"]
        assert result.interrupted
        assert result.summary.stopped and result.summary.stop_reason == "interrupted"
        assert result.summary.remaining == import_task.users_to_send(journal) > 0
        assert result.paths.summary.is_file()  # the files are written for an interrupted run too
        assert json.loads(result.paths.summary.read_text())["stopped"] is True
        again = import_task.run_import(journal, sandbox_settings)  # held creates landed: looked up first
        assert again.summary.remaining == 0 and not again.interrupted and again.summary.reconciled > 0
        done = again.summary.created + again.summary.updated + again.summary.failed
        assert done == total and len(workos_emu.emulator.users) == again.summary.created


def test_cancel_before_the_run_starts_sends_nothing(tmp_path, sandbox_settings, demo_exports, workos_emu):
    with _planned(tmp_path / "run", demo_exports) as journal:
        run = import_task.ImportRun(journal, sandbox_settings)
        assert run.cancel() is False  # nothing running yet: remembered
        result = run.run()
        assert result.interrupted and not workos_emu.emulator.users
        assert result.summary.remaining == import_task.users_to_send(journal)


def test_stop_finishes_in_flight_users_and_leaves_the_rest_planned(tmp_path, sandbox_settings, demo_exports,
                                                                   workos_emu):
    with _planned(tmp_path / "run", demo_exports) as journal:
        run = import_task.ImportRun(journal, sandbox_settings)
        run.stop()  # before it starts: no user is sent
        result = run.run()
        assert result.summary.stopped and result.summary.stop_reason == "stopped on request"
        assert not result.interrupted and not workos_emu.emulator.users


def test_resume_check_and_retry_failed(tmp_path, sandbox_settings, demo_exports):
    with Journal.open(tmp_path / "empty") as journal:
        assert not import_task.check_resumable(journal).ok
    with _imported(tmp_path / "run", sandbox_settings, demo_exports) as journal:
        assert import_task.check_resumable(journal).ok
        failed = journal.count_users().get("failed", 0)
        assert import_task.retry_failed(journal) == failed
        assert journal.count_users().get("failed", 0) == 0
    demo_exports.users_path.write_bytes(demo_exports.users_path.read_bytes() + b"\n")
    with Journal.open(tmp_path / "run") as journal:
        assert import_task.check_resumable(journal).problems


# ------------------------------------------------------------------------------ Auth0-side jobs
def test_inventory_from_the_api_records_the_step(tmp_path, sandbox_settings, auth0_emu):
    auth0_emu.emulator.scopes = " ".join(REQUIRED_SCOPES)  # every scope the wizard asks for: no warning
    with Journal.open(tmp_path / "run") as journal:
        done = inventory_task.run_inventory(journal, sandbox_settings, max_per_second=FAST, check_scopes=True)
        assert done.used_api and done.scope_warning is None and done.path.is_file()
        assert done.gate.passed and steps.recorded_status(journal, "inventory")[0] == GateStatus.PASSED.value
        doc = documents.INVENTORY.read(journal)
        assert doc.source == "api" and doc.has_organizations


def test_inventory_from_the_export_only(tmp_path, demo_exports):
    with Journal.open(tmp_path / "run") as journal:
        done = inventory_task.run_inventory(journal, Settings(), users_path=demo_exports.users_path)
        assert not done.used_api and documents.INVENTORY.read(journal).source == "export"


def test_export_job_downloads_and_records_the_document(tmp_path, sandbox_settings, demo_tenant):
    with Journal.open(tmp_path / "run") as journal:
        done = export_job_task.run_export_job(journal, sandbox_settings, poll_interval=0.01, max_per_second=FAST)
        assert done.path.parent == tmp_path / "run" / "exports" and done.users == len(demo_tenant.users)
        doc = documents.EXPORT_JOB.read(journal)
        assert doc.job_id == done.job_id and doc.users == done.users and doc.path == str(done.path)


def test_orgs_export_then_migration_records_the_gate_and_orgs_json(tmp_path, sandbox_settings, demo_exports,
                                                                   workos_emu):
    with _imported(tmp_path / "run", sandbox_settings, demo_exports) as journal:
        exported = orgs_task.run_org_export(journal, sandbox_settings, max_per_second=FAST)
        assert exported.export.organizations == len(journal.orgs()) > 0
        assert orgs_task.org_work(journal)[0] == len(journal.orgs())
        dry = orgs_task.run_org_migration(journal, sandbox_settings, dry_run=True)
        assert dry.gate is None and not workos_emu.emulator.organizations
        done = orgs_task.run_org_migration(journal, sandbox_settings, count_members=True)
        assert done.migration.ok and done.gate.passed and done.path.is_file()
        assert steps.recorded_status(journal, "orgs")[0] == GateStatus.PASSED.value
        assert len(done.counts) == len(journal.orgs()) and orgs_task.org_work(journal) == (0, 0)


def test_no_organizations_marks_the_step_not_applicable(tmp_path):
    with Journal.open(tmp_path / "run") as journal:
        assert orgs_task.mark_no_orgs(journal).status is GateStatus.NOT_APPLICABLE
        assert steps.recorded_status(journal, "orgs") == (GateStatus.NOT_APPLICABLE.value, orgs_task.NO_ORGS_REASON)


def test_mfa_scan_report_and_totp_import(tmp_path, sandbox_settings, demo_exports, workos_emu):
    with _imported(tmp_path / "run", sandbox_settings, demo_exports) as journal:
        offline = mfa_task.run_mfa_report(journal, sandbox_settings)
        assert not offline.scanned_now and offline.report.scanned == 0
        scanned = mfa_task.run_mfa_report(journal, sandbox_settings, scan=True, max_per_second=FAST,
                                          users_path=demo_exports.users_path)
        assert scanned.scanned_now and scanned.report.complete and scanned.report.scanned > 0
        assert documents.MFA_REPORT.read(journal).sms_users == scanned.report.sms_users
        email = next(u.email for u in journal.users(status=("created", "updated")))
        secrets = tmp_path / "totp.csv"
        secrets.write_text(f"email,totp_secret\n{email},JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP\n")
        dry = mfa_task.run_totp_import(journal, sandbox_settings, secrets, dry_run=True)
        assert dry.would_enroll == 1 and dry.enrolled == 0
        real = mfa_task.run_totp_import(journal, sandbox_settings, secrets)
        assert real.enrolled == 1 and documents.TOTP_IMPORT.read(journal).enrolled == 1


# ------------------------------------------------------------------------------ prerequisites, verify, report
def test_live_key_check_accepted_and_refused(tmp_path, workos_emu):
    good = Settings(workos_api_key=workos_emu.api_key, workos_base_url=workos_emu.base_url)
    assert prereqs_task.live_key_check(good).ok
    refused = prereqs_task.live_key_check(replace(good, workos_api_key="sk_test_wrong_key_123"))
    assert not refused.ok and "401" in refused.evidence and "wrong_key" not in refused.evidence
    with Journal.open(tmp_path / "run") as journal:
        gate = prereqs_task.run_prerequisites(journal, replace(good, workos_client_id="client_x"))
        assert steps.recorded_status(journal, "prereqs")[0] == gate.status.value


def test_verification_sign_in_fix_and_report(tmp_path, sandbox_settings, demo_exports, demo_tenant):
    with _imported(tmp_path / "run", sandbox_settings, demo_exports) as journal:
        samples = verify_task.password_samples(journal, demo_tenant.credentials)
        assert samples and verify_task.password_samples(journal, [("nobody@example.com", "x")]) == []
        assert verify_task.try_sign_in(journal, sandbox_settings, *samples[0]).ok
        assert not verify_task.try_sign_in(journal, sandbox_settings, samples[0][0], "wrong password").ok
        result = verify_task.run_verification(journal, sandbox_settings, samples=samples,
                                              build=verify_task.BuildOptions(not_applicable_reason="no app here"))
        names = {c.name for c in result.gate.checks}
        assert names == set(verify.CHECK_NAMES) and steps.recorded_status(journal, "verify")[0] == result.gate.status.value
        assert isinstance(result.remedies, list)
        outcome = verify_task.apply_fix(journal, "retry_failed_users")
        assert outcome.action == "retry_failed_users"
        with pytest.raises(ValueError):
            verify_task.apply_fix(journal, "no_such_fix")
        written = report_task.run_report(journal)
        assert written.markdown.is_file() and written.json.is_file()
        assert documents.REPORT.read(journal).files == [written.markdown.name, written.json.name]
        text = written.markdown.read_text()
        assert all(p not in text for _, p in demo_tenant.credentials)


# ------------------------------------------------------------------------------ rollback
def test_rollback_deletes_what_the_run_created(tmp_path, sandbox_settings, demo_exports, workos_emu):
    with _imported(tmp_path / "run", sandbox_settings, demo_exports) as journal:
        planned = rollback_task.rollback_plan(journal)
        created = len(workos_emu.emulator.users)
        assert len(planned.targets) == created > 0 and planned.kept == 0
        assert rollback_task.confirmation_accepted(f" {created:,} ", created)
        assert rollback_task.confirmation_accepted("Rollback", created)
        assert not rollback_task.confirmation_accepted("yes", created)
        done = rollback_task.run_rollback(journal, sandbox_settings)
        assert done.summary.deleted == created and not workos_emu.emulator.users
        assert done.id_map.is_file() and not rollback_task.rollback_plan(journal).targets


def test_tasks_run_from_a_worker_thread(tmp_path, sandbox_settings, demo_exports, workos_emu):
    """The TUI runs tasks in thread workers: the import's own event loop works off the main thread."""
    with _planned(tmp_path / "run", demo_exports) as journal:
        out = {}
        worker = threading.Thread(target=lambda: out.update(r=import_task.run_import(journal, sandbox_settings,
                                                                                    dry_run=True)))
        worker.start()
        worker.join(timeout=120)
        assert out["r"].summary.dry_run and not out["r"].interrupted
