"""The verification checklist against the WorkOS emulator: a full run passes every check, and each
known breakage (missing user, wrong hash, missing membership, failing build) fails the right check
with the right hint. Users go in through the real import engine, organizations through core.orgs.
"""

from __future__ import annotations

import json
from pathlib import Path

import bcrypt
import pytest

from wizard.clients.workos import make_client, make_sync_client
from wizard.core import documents
from wizard.core import verify as v
from wizard.core.artifacts import write_import_artifacts
from wizard.core.gates import GateStatus
from wizard.core.importer import Importer
from wizard.core.journal import Journal
from wizard.core.mfa import MethodSummary, build_mfa_report, record_scan, save_mfa_report
from wizard.core.orgs import migrate_organizations
from wizard.core.pacing import Budget, shared_pacer
from wizard.core.records import Branch, PlannedUser

PASSWORDS = {"alice@example.com": "correct horse 1", "bob@example.com": "battery staple 2"}


def _request(aid: str, email: str, first: str, verified: bool = True) -> dict:
    return {"email": email, "first_name": first, "last_name": "Test", "email_verified": verified,
            "external_id": aid, "metadata": {"auth0_user_id": aid}}


async def build_world(tmp_path: Path, settings, *, wrong_hash_for: str | None = None,
                      with_orgs: bool = True, with_social: bool = True) -> Journal:
    """A small migrated run: 2 password users, 1 reset user, 1 social user merged from 2 Auth0 ids,
    1 blocked user; one organization with 2 members; MFA scanned (1 SMS, 1 TOTP)."""
    journal = Journal.open(tmp_path / "run")
    pw_file = tmp_path / "passwords.ndjson"
    offsets = {}
    with open(pw_file, "wb") as fh:
        for n, (email, pwd) in enumerate(PASSWORDS.items(), 1):
            real = "not the password" if email == wrong_hash_for else pwd
            h = bcrypt.hashpw(real.encode(), bcrypt.gensalt(4)).decode()
            offsets[email] = (fh.tell(), n)
            row = {"_id": {"$oid": f"oid{n}"}, "email": email, "passwordHash": h,
                   "connection": "Username-Password-Authentication"}
            fh.write(json.dumps(row).encode() + b"\n")
    journal.record_input("passwords", pw_file)
    planned = [
        PlannedUser("auth0|a1", "alice@example.com", "alice@example.com", Branch.PASSWORD,
                    _request("auth0|a1", "alice@example.com", "Alice"), ("auth0|a1",),
                    hash_ref=offsets["alice@example.com"][0], hash_line=1, email_verified=True),
        PlannedUser("auth0|b2", "bob@example.com", "bob@example.com", Branch.PASSWORD,
                    _request("auth0|b2", "bob@example.com", "Bob"), ("auth0|b2",),
                    hash_ref=offsets["bob@example.com"][0], hash_line=2, email_verified=True),
        PlannedUser("auth0|d4", "dave@example.com", "dave@example.com", Branch.RESET,
                    _request("auth0|d4", "dave@example.com", "Dave"), ("auth0|d4",), email_verified=True),
        PlannedUser("auth0|e5", "eve@example.com", "eve@example.com", Branch.BLOCKED,
                    _request("auth0|e5", "eve@example.com", "Eve"), ("auth0|e5",), reason="blocked in Auth0"),
    ]
    if with_social:
        planned.insert(2, PlannedUser(
            "google-oauth2|c3", "carol@example.com", "carol@example.com", Branch.SOCIAL,
            _request("google-oauth2|c3", "carol@example.com", "Carol"), ("google-oauth2|c3", "github|c3gh"),
            email_verified=True, reason="merged 2 Auth0 users with the same email"))
    journal.replace_plan(planned)
    summary = await Importer(journal, make_client(settings), concurrency=4).run()
    assert summary.failed == 0, summary.failures
    write_import_artifacts(journal, summary)
    if with_orgs:
        journal.upsert_org("org_acme", name="acme", display_name="Acme", member_count=3)
        journal.upsert_membership("org_acme", "auth0|a1")
        journal.upsert_membership("org_acme", "github|c3gh" if with_social else "auth0|b2")
        journal.upsert_membership("org_acme", "auth0|e5")  # blocked: not migrated, stated not failed
        migrate_organizations(journal, make_sync_client(settings))
    record_scan(journal, "auth0|b2", MethodSummary(("sms",), "sms", "+1•••••1234"), email="bob@example.com",
                name="Bob")
    record_scan(journal, "auth0|a1", MethodSummary(("totp",), None), email="alice@example.com", name="Alice")
    save_mfa_report(journal, build_mfa_report(journal))
    if with_social:
        v.confirm_social(journal, "google-oauth2")
        v.confirm_social(journal, "github")
    return journal


def _verify(journal, settings, tmp_path, *, build_cmd="echo building && echo done", sample=True, output=None):
    sample_pw = ("alice@example.com", PASSWORDS["alice@example.com"]) if sample else None
    with make_sync_client(settings, max_retries=0) as client:
        return v.run_verification(journal, settings, password_sample=sample_pw,
                                  build=v.BuildOptions(command=build_cmd, cwd=tmp_path),
                                  on_output=output, client=client)


def _by_name(result):
    return {c.name: c for c in result.checks}


async def test_full_run_passes_every_check(tmp_path, sandbox_settings):
    journal = await build_world(tmp_path, sandbox_settings)
    lines: list[str] = []
    events = []
    with make_sync_client(sandbox_settings, max_retries=0) as client:
        result = v.run_verification(
            journal, sandbox_settings, password_sample=("alice@example.com", PASSWORDS["alice@example.com"]),
            build=v.BuildOptions(command="echo building && echo done", cwd=tmp_path), on_output=lines.append,
            on_progress=events.append, client=client)
    checks = _by_name(result)
    assert result.status is GateStatus.PASSED, result.reason
    assert list(checks) == list(v.CHECK_NAMES)
    assert "4 of 4 importable users found" in checks[v.USER_COUNT].evidence
    assert "1 Auth0 id(s) merged" in checks[v.USER_COUNT].evidence
    assert "alice@example.com signed in" in checks[v.PASSWORD_SIGN_IN].evidence
    assert "Google (1 users) confirmed" in checks[v.SOCIAL_SIGN_IN].evidence
    assert "GitHub" in checks[v.SOCIAL_SIGN_IN].evidence
    assert "Acme: 2/2 members" in checks[v.ORGANIZATIONS].evidence
    assert "1 member(s) whose user was not migrated" in checks[v.ORGANIZATIONS].evidence
    assert "1 SMS user(s)" in checks[v.MFA].evidence and "mfa-sms-users.csv" in checks[v.MFA].evidence
    assert "1 TOTP user(s)" in checks[v.MFA].evidence
    assert "exited 0" in checks[v.APP_BUILD].evidence
    assert lines == ["building", "done"]
    assert events and events[-1].done and events[-1].total == 4
    recorded = {r["name"]: r for r in journal.verifications()}
    assert set(recorded) == set(v.CHECK_NAMES) and all(r["ok"] for r in recorded.values())
    assert v.verification_gate(journal, sandbox_settings).passed
    assert journal.step("verify")["status"] == "passed"


async def test_list_strategy_matches_lookup(tmp_path, sandbox_settings):
    journal = await build_world(tmp_path, sandbox_settings, with_orgs=False)
    client = make_sync_client(sandbox_settings)
    by_list = v.reconcile_users(journal, client, strategy="list")
    by_lookup = v.reconcile_users(journal, client, strategy="lookup")
    assert by_list.ok and by_lookup.ok and by_list.found == by_lookup.found == 4


async def test_verification_reads_draw_on_the_runs_one_read_window_and_it_is_kept(
        tmp_path, sandbox_settings, workos_emu):
    """The user and organization checks share the run's budget: each read they send to
    /user_management is counted in the run's pacer (an hour-long read window here, so nothing
    leaves it mid-test), and the verification keeps the window in the journal for the run's next
    process."""
    journal = await build_world(tmp_path, sandbox_settings)
    emu = workos_emu.emulator
    pacer = shared_pacer(sandbox_settings.workos_base_url, journal, read=Budget(10_000, 3600.0))
    counted, before = pacer.reads.count(pacer._clock()), len(emu.requests)
    with make_sync_client(sandbox_settings) as client:
        assert v.check_user_count(journal, client, strategy="lookup").ok
        assert v.check_organizations(journal, client).ok
    reads = [r for r in emu.requests[before:] if r[0] == "GET" and r[1].startswith("/user_management")]
    assert len(reads) >= 5  # four users looked up one by one, the organization's members
    assert pacer.reads.count(pacer._clock()) - counted == len(reads)
    assert _verify(journal, sandbox_settings, tmp_path).passed
    assert len(documents.PACER_WINDOW.read(journal)["reads"]) == pacer.reads.count(pacer._clock()) > len(reads)


async def test_list_strategy_names_each_difference_as_the_lookups_do(tmp_path, sandbox_settings):
    """The listing keeps only keys of each WorkOS user: a user whose email or id differs is read
    again by itself, so both strategies name the same differences with the same details."""
    journal = await build_world(tmp_path, sandbox_settings, with_orgs=False)
    client = make_sync_client(sandbox_settings)
    alice, bob = journal.user("auth0|a1"), journal.user("auth0|b2")
    client.user_management.update_user(alice.workos_user_id, email="alice.renamed@example.com")
    client.user_management.delete_user(bob.workos_user_id)
    with journal.transaction() as db:  # the journal maps a user to another WorkOS user's id
        db.execute("UPDATE users SET workos_user_id='user_elsewhere' WHERE auth0_user_id='google-oauth2|c3'")
    by_list = v.reconcile_users(journal, client, strategy="list")
    by_lookup = v.reconcile_users(journal, client, strategy="lookup")
    assert sorted(by_list.differences, key=str) == sorted(by_lookup.differences, key=str)
    assert {d.problem for d in by_list.differences} == {"wrong_email", "journal_says_created", "other_workos_id"}
    assert by_list.found == by_lookup.found == 3 and by_list.expected == 4


async def test_missing_user_fails_user_count(tmp_path, sandbox_settings, workos_emu):
    journal = await build_world(tmp_path, sandbox_settings)
    bob = journal.user("auth0|b2")
    make_sync_client(sandbox_settings).user_management.delete_user(bob.workos_user_id)
    result = _verify(journal, sandbox_settings, tmp_path)
    checks = _by_name(result)
    c = checks[v.USER_COUNT]
    assert not c.ok and "3 of 4" in c.evidence
    assert "auth0|b2 <bob@example.com>" in c.evidence and "WorkOS has no user with this external id" in c.evidence
    assert "resume the import" in c.fix_hint
    assert result.status is GateStatus.FAILED and result.reason.startswith(v.USER_COUNT)
    assert all(checks[n].ok for n in v.CHECK_NAMES if n != v.USER_COUNT)
    assert not v.verification_gate(journal).passed


async def test_wrong_hash_fails_password_sign_in(tmp_path, sandbox_settings):
    journal = await build_world(tmp_path, sandbox_settings, wrong_hash_for="alice@example.com")
    checks = _by_name(_verify(journal, sandbox_settings, tmp_path))
    c = checks[v.PASSWORD_SIGN_IN]
    assert not c.ok and "invalid_credentials" in c.evidence
    assert "bcrypt hash (export line 1)" in c.evidence
    assert "re-send corrected hash" in c.fix_hint
    assert checks[v.USER_COUNT].ok  # the user exists; only the password is wrong


async def test_missing_membership_fails_organizations(tmp_path, sandbox_settings, workos_emu):
    journal = await build_world(tmp_path, sandbox_settings)
    client = make_sync_client(sandbox_settings)
    alice = journal.user("auth0|a1").workos_user_id
    m = next(m for m in workos_emu.emulator.memberships.values() if m["user_id"] == alice)
    client.organization_membership.delete_organization_membership(m["id"])
    checks = _by_name(_verify(journal, sandbox_settings, tmp_path))
    c = checks[v.ORGANIZATIONS]
    assert not c.ok and "Acme: 1 membership(s) missing in WorkOS (auth0|a1)" in c.evidence
    assert "add missing memberships" in c.fix_hint
    assert checks[v.USER_COUNT].ok

    # the one-key fix: queue it again, re-run the organizations step, verify again
    from wizard.core import recovery

    remedies = {r.id: r for r in recovery.diagnose(journal)}
    assert remedies["missing_memberships"].action == recovery.ADD_MISSING_MEMBERSHIPS
    out = recovery.apply(journal, recovery.ADD_MISSING_MEMBERSHIPS)
    assert out.changed == 1 and "auth0-workos orgs" in out.next_command
    migrate_organizations(journal, client)
    assert v.check_organizations(journal, client).ok


async def test_failing_build_fails_app_build(tmp_path, sandbox_settings):
    journal = await build_world(tmp_path, sandbox_settings, with_orgs=False, with_social=False)
    checks = _by_name(_verify(journal, sandbox_settings, tmp_path, build_cmd="echo compiling; false"))
    c = checks[v.APP_BUILD]
    assert not c.ok and "exited 1" in c.evidence and "compiling" in c.evidence
    assert "Fix the build errors" in c.fix_hint
    missing = v.check_build(v.BuildOptions(command="no-such-tool-xyz build", cwd=tmp_path))
    assert not missing.ok and "not found" in missing.fix_hint
    skipped = v.check_build(v.BuildOptions(not_applicable_reason="backend-only service, no frontend"))
    assert skipped.ok and skipped.evidence == "not applicable: backend-only service, no frontend"


async def test_not_applicable_and_unconfirmed(tmp_path, sandbox_settings):
    journal = await build_world(tmp_path, sandbox_settings, with_orgs=False, with_social=False)
    checks = _by_name(_verify(journal, sandbox_settings, tmp_path, sample=False))
    assert checks[v.SOCIAL_SIGN_IN].ok and checks[v.SOCIAL_SIGN_IN].evidence.startswith("not applicable")
    assert checks[v.ORGANIZATIONS].ok and checks[v.ORGANIZATIONS].evidence.startswith("not applicable")
    pw = checks[v.PASSWORD_SIGN_IN]
    assert not pw.ok and "--password-stdin" in pw.fix_hint


async def test_unconfirmed_social_provider_fails(tmp_path, sandbox_settings):
    journal = await build_world(tmp_path, sandbox_settings, with_orgs=False)
    v.confirm_social(journal, "github", confirmed=False)
    c = v.check_social_sign_in(journal)
    assert not c.ok and "GitHub (1 users) not confirmed" in c.evidence
    assert "https://api.workos.com/sso/oauth/callback" in c.fix_hint and "--confirm-social github" in c.fix_hint


@pytest.mark.parametrize("code,ok,words", [
    ("email_verification_required", True, "verify their email"),
    ("mfa_enrollment", True, "enroll an authenticator"),
    ("organization_selection_required", True, "several organizations"),
])
def test_auth_flow_answers_are_explained(code, ok, words, workos_emu, sandbox_settings):
    """The emulator answers these 403s when told to; the SDK maps them to flow errors we explain."""
    from starlette.responses import JSONResponse

    emu = workos_emu.emulator

    async def flow(request):
        return JSONResponse({"code": code, "message": code, "pending_authentication_token": "tok"}, 403)

    emu.app.router.routes.insert(0, type(emu.app.router.routes[0])(
        "/user_management/authenticate", flow, methods=["POST"]))
    c = v.check_password_sign_in(make_sync_client(sandbox_settings), "x@example.com", "pw")
    assert c.ok is ok and code in c.evidence and words in c.evidence


def test_wrong_client_id_is_explained(workos_emu, sandbox_settings):
    from dataclasses import replace

    client = make_sync_client(replace(sandbox_settings, workos_client_id="client_other"))
    c = v.check_password_sign_in(client, "x@example.com", "pw")
    assert not c.ok and "invalid_client" in c.evidence and "WORKOS_CLIENT_ID" in c.fix_hint


def test_mfa_not_run(tmp_path):
    journal = Journal.open(tmp_path / "run")
    c = v.check_mfa(journal)
    assert not c.ok and "has not run" in c.evidence and "auth0-workos mfa" in c.fix_hint
    journal.set_step("mfa", "not_applicable", "the tenant never enabled MFA")
    assert v.check_mfa(journal).evidence == "not applicable: the tenant never enabled MFA"


async def test_verify_command_end_to_end(tmp_path, sandbox_settings, monkeypatch, capsys):
    import io

    from wizard.cli import main

    journal = await build_world(tmp_path, sandbox_settings, with_orgs=False, with_social=False)
    journal.close()
    for k, val in (("WORKOS_API_KEY", sandbox_settings.workos_api_key),
                   ("WORKOS_CLIENT_ID", sandbox_settings.workos_client_id),
                   ("WORKOS_BASE_URL", sandbox_settings.workos_base_url)):
        monkeypatch.setenv(k, val)
    run = str(tmp_path / "run")
    monkeypatch.setattr("sys.stdin", io.StringIO(PASSWORDS["bob@example.com"] + "\n"))
    code = main(["--env-file", str(tmp_path / "none.env"), "verify", "--run-dir", run,
                 "--email", "bob@example.com", "--password-stdin", "--build-cmd", "true",
                 "--build-dir", str(tmp_path)])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "PASS  Password sign-in: bob@example.com signed in" in out
    code = main(["--env-file", str(tmp_path / "none.env"), "verify", "--run-dir", run, "--no-build",
                 "no app in this repo", "--build-cmd", "x"])
    assert code == 2  # mutually exclusive options
    code = main(["--env-file", str(tmp_path / "none.env"), "verify", "--run-dir", run, "--build-cmd", "false",
                 "--build-dir", str(tmp_path)])
    out = capsys.readouterr().out
    assert code == 1
    assert "FAIL  Application builds" in out and "fix:" in out
    assert main(["verify", "--run-dir", str(tmp_path / "nowhere")]) == 2


async def test_demo_tenant_full_run_passes(tmp_path, sandbox_settings, auth0_emu, demo_exports, demo_tenant):
    """The sandbox's demo tenant end to end: plan, import, organizations, MFA scan, then --demo verify."""
    from wizard.clients.auth0 import Auth0Client
    from wizard.core.mfa import ScanTarget, scan_authentication_methods
    from wizard.core.orgs import export_organizations
    from wizard.core.plan import build_plan, save_plan

    journal = Journal.open(tmp_path / "run")
    save_plan(journal, build_plan(demo_exports.users_path, demo_exports.passwords_path))
    summary = await Importer(journal, make_client(sandbox_settings)).run()
    write_import_artifacts(journal, summary)
    auth0 = Auth0Client.from_settings(sandbox_settings, max_per_second=1000)
    export_organizations(auth0, journal)
    migrate_organizations(journal, make_sync_client(sandbox_settings))
    targets = [ScanTarget(a, u.email) for u in journal.iter_users() for a in u.auth0_ids]
    scan_authentication_methods(auth0, journal, targets)
    save_mfa_report(journal, build_mfa_report(journal, complete=True))
    for provider in v.social_providers(journal):
        v.confirm_social(journal, provider)
    samples = v.password_samples(journal, demo_tenant.credentials)
    assert samples
    with make_sync_client(sandbox_settings, max_retries=0) as client:
        result = v.run_verification(journal, sandbox_settings, password_sample=samples,
                                    build=v.BuildOptions(command="true", cwd=tmp_path),
                                    client=client)
    assert result.status is GateStatus.PASSED, [c for c in result.checks if not c.ok]

    from wizard.core.report import write_report

    md, js = write_report(journal)
    rows = [json.loads(line) for line in Path(demo_exports.passwords_path).read_text().splitlines() if line.strip()]
    hashes = [row["passwordHash"] for row in rows if "passwordHash" in row]
    assert hashes
    for text in (md.read_text(), js.read_text()):
        assert sandbox_settings.workos_api_key not in text
        assert not any(h[7:30] in text for h in hashes if len(h) > 30)
        assert "$2b$10$" not in text


def test_hung_build_times_out(tmp_path):
    import time

    started = time.monotonic()
    c = v.check_build(v.BuildOptions(command="echo start; sleep 30", cwd=tmp_path, timeout_seconds=0.5))
    assert not c.ok and "timed out" in c.evidence
    assert time.monotonic() - started < 10


async def test_wrong_email_and_accepted_failures(tmp_path, sandbox_settings):
    journal = await build_world(tmp_path, sandbox_settings, with_orgs=False, with_social=False)
    client = make_sync_client(sandbox_settings)
    client.user_management.update_user(journal.user("auth0|d4").workos_user_id, email="someone@else.example")
    c = v.check_user_count(journal, client)
    assert not c.ok and "auth0|d4 <dave@example.com>: WorkOS user" in c.evidence
    assert "someone@else.example" in c.evidence and "changed them" in c.fix_hint

    client.user_management.update_user(journal.user("auth0|d4").workos_user_id, email="dave@example.com")
    client.user_management.delete_user(journal.user("auth0|b2").workos_user_id)
    journal.mark_result("auth0|b2", "failed", error_code="invalid_password_hash", error_message="refused")
    c = v.check_user_count(journal, client)
    assert not c.ok and "import failed: invalid_password_hash" in c.evidence and "retry failed users" in c.fix_hint
    journal.put_document("import_failures_accepted", {"count": 1, "reason": "Bob left the company last week"})
    c = v.check_user_count(journal, client)
    assert c.ok and "1 failed user(s) accepted" in c.evidence and "Bob left the company" in c.evidence


# ------------------------------------------------- organizations: extra members, unknown (issue 10)
async def test_a_workos_member_not_in_auth0_is_a_warning_listed_in_the_report(tmp_path, sandbox_settings):
    from wizard.core.report import build_report, render_markdown

    journal = await build_world(tmp_path, sandbox_settings)
    wc = make_sync_client(sandbox_settings)
    org_id = journal.orgs()[0]["workos_org_id"]
    stranger = wc.user_management.create_user(email="stranger@example.com")
    dave = journal.user("auth0|d4") or next(u for u in journal.iter_users() if u.workos_user_id
                                            and u.auth0_user_id not in ("auth0|a1", "auth0|b2", "github|c3gh"))
    for uid in (stranger.id, dave.workos_user_id):
        wc.organization_membership.create_organization_membership(user_id=uid, organization_id=org_id)
    c = v.check_organizations(journal, wc)
    assert c.ok, c.evidence  # a warning, not a failure: the wizard never removes it
    assert "warning: 2 WorkOS member(s) not in the Auth0 export" in c.evidence
    found = journal.findings(code="org_member_not_in_auth0")
    assert {f.severity.value for f in found} == {"warning"} and len(found) == 2
    assert any(stranger.id in f.message and "no Auth0 user in this run" in f.message for f in found)
    assert any(dave.auth0_user_id in f.message and "not a member of this organization" in f.message for f in found)
    markdown = render_markdown(build_report(journal))
    assert "WorkOS organization members not in the Auth0 export, 2" in markdown and stranger.id in markdown
    v.check_organizations(journal, wc)  # a re-run replaces, never duplicates
    assert len(journal.findings(code="org_member_not_in_auth0")) == 2


async def test_an_organization_workos_cannot_read_is_unknown_not_missing(tmp_path, sandbox_settings, workos_emu):
    from starlette.responses import JSONResponse

    journal = await build_world(tmp_path, sandbox_settings)
    emu = workos_emu.emulator

    async def broken(request):
        return JSONResponse({"message": "internal error"}, 500)

    emu.app.router.routes.insert(0, type(emu.app.router.routes[0])(
        "/user_management/organization_memberships", broken, methods=["GET"]))
    c = v.check_organizations(journal, make_sync_client(sandbox_settings))
    assert not c.ok
    assert "Acme: unknown:" in c.evidence and "could not be read in WorkOS" in c.evidence
    assert "no longer exists" not in c.evidence and "0 of 1" in c.evidence
