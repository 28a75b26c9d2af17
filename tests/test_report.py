"""The final report (files, sections, no secrets) and error recovery (diagnose + one-key fixes)."""

from __future__ import annotations

import json
import re
import stat

from test_verify import PASSWORDS, _request, build_world

from wizard.clients.workos import make_client, make_sync_client
from wizard.core import recovery
from wizard.core import verify as v
from wizard.core.findings import Finding, Severity
from wizard.core.guide import DIFFERENCES, GUIDE_URL, acknowledge_guide, guide_check
from wizard.core.importer import Importer
from wizard.core.journal import Journal
from wizard.core.records import Branch, PlannedUser, UserStatus
from wizard.core.report import POST_MIGRATION_TASKS, build_report, tick_post_migration, write_report

HASH_RE = re.compile(r"\$2[abxy]\$\d\d\$")
PLANTED_HASH = "$2b$10$" + "a" * 53
SECTIONS = ("## Migration guide", "## Inventory", "## Findings", "## Plan", "## Import", "## Organizations",
            "## MFA", "## Verification", "## Wizard steps", "## Error recovery", "## Post-migration tasks")


async def test_report_files_sections_and_no_secrets(tmp_path, sandbox_settings):
    journal = await build_world(tmp_path, sandbox_settings)
    acknowledge_guide(journal)
    # things that must never reach the report, planted where a careless module might put them
    journal.put_document("inventory", {"users": {"total": 6}, "note": f"key {sandbox_settings.workos_api_key}",
                                       "passwordHash": PLANTED_HASH, "sample": f"hash {PLANTED_HASH}"})
    journal.put_document("plan_summary", {"merge_rule": "oldest verified account wins", "branches": {"password": 2}})
    journal.add_findings([Finding("passwords.ndjson", 7, "passwordHash", Severity.ERROR, "hash_truncated",
                                  f"hash {PLANTED_HASH[:40]} is truncated", "auth0|x")])
    journal.set_step("orgs", "passed", "")
    journal.set_step("social", "not_applicable", "no social connections in this tenant")
    with make_sync_client(sandbox_settings, max_retries=0) as client:
        v.run_verification(journal, sandbox_settings, password_sample=("alice@example.com", PASSWORDS["alice@example.com"]),
                           build=v.BuildOptions(not_applicable_reason="API-only service"),
                           client=client)
    tick_post_migration(journal, "reenable_webhooks")

    md_path, json_path = write_report(journal)
    assert md_path == journal.run_dir / "report.md" and json_path == journal.run_dir / "report.json"
    for p in (md_path, json_path):
        assert stat.S_IMODE(p.stat().st_mode) == 0o600
    md, js = md_path.read_text(), json_path.read_text()
    for section in SECTIONS:
        assert section in md, section
    for text in (md, js):
        assert not HASH_RE.search(text), "a bcrypt hash leaked"
        assert sandbox_settings.workos_api_key not in text
        assert "a" * 30 not in text
    data = json.loads(js)
    assert data["verification_passed"] is True
    assert {x["name"] for x in data["verification"]} == set(v.CHECK_NAMES)
    assert all(x["at"] and x["evidence"] for x in data["verification"])
    assert data["plan"]["users_by_branch"] == {"password": 2, "reset": 1, "social": 1, "blocked": 1}
    assert data["plan"]["merge_rule"] == "oldest verified account wins"
    assert data["import"]["summary"]["created"] == 4
    assert data["findings"]["by_severity"] == {"error": 1}
    assert data["findings"]["first"][0]["where"] == "passwords.ndjson:7 passwordHash"
    assert data["organizations"]["organizations"] == 1
    assert data["mfa"]["sms_users"] == 1
    assert "| Application builds | PASS |" in md and "not applicable: API-only service" in md
    assert "Social providers: not_applicable — not applicable: no social connections in this tenant" in md
    assert "oldest verified account wins" in md
    assert GUIDE_URL in md and DIFFERENCES[0].topic in md
    assert "- [x] Re-enable the WorkOS webhook endpoints disabled for the import" in md
    assert "- [ ] Watch the authentication logs for failures for the first 48 hours" in md
    assert len([t for t in POST_MIGRATION_TASKS]) == md.count("- [ ] ") + md.count("- [x] ")
    assert "passwords.ndjson:7 passwordHash" in md


def test_report_on_an_empty_run_says_not_run(tmp_path):
    journal = Journal.open(tmp_path / "run")
    r = build_report(journal)
    assert r["inventory"] == "not run" and r["import"]["summary"] == "not run" and r["mfa"] == "not run"
    assert r["verification"] == [] and r["verification_passed"] is False
    assert not guide_check(journal).ok
    acknowledge_guide(journal)
    assert guide_check(journal).ok


def test_report_command(tmp_path, capsys):
    from wizard.cli import main

    Journal.open(tmp_path / "run").close()
    assert main(["report", "--run-dir", str(tmp_path / "run")]) == 0
    out = capsys.readouterr().out
    assert "report.md" in out and (tmp_path / "run" / "report.json").is_file()
    assert main(["report", "--run-dir", str(tmp_path / "missing")]) == 2


# ------------------------------------------------------------------------------------ recovery
def _planned(n: int, branch: str = Branch.PASSWORD) -> list[PlannedUser]:
    return [PlannedUser(f"auth0|u{i}", f"u{i}@example.com", f"u{i}@example.com", branch,
                        _request(f"auth0|u{i}", f"u{i}@example.com", f"U{i}")) for i in range(n)]


def test_diagnose_recognises_known_failures(tmp_path):
    journal = Journal.open(tmp_path / "run")
    journal.replace_plan(_planned(8))
    codes = ["email_not_available", "external_id_already_used", "invalid_password_hash", "rate_limited",
             "auth", "weird_thing"]
    for i, code in enumerate(codes):
        journal.mark_result(f"auth0|u{i}", UserStatus.FAILED, error_code=code, error_message="x")
    journal.put_document("import_summary", {"planned": 5000, "rate_per_second": 12.0, "budget": "500/10s",
                                            "rate_limited": 40})
    remedies = {r.id: r for r in recovery.diagnose(journal)}
    assert remedies["exists"].affected == 2 and remedies["exists"].action == recovery.RETRY_FAILED_USERS
    assert remedies["invalid_password_hash"].action == recovery.RESEND_CORRECTED_HASH
    assert "bcrypt" in remedies["invalid_password_hash"].cause
    assert remedies["rate_limited"].affected == 1 and "40 time(s)" in remedies["rate_limited"].cause
    assert remedies["slow_import"].action is None and "12.0 users/s" in remedies["slow_import"].cause
    assert remedies["auth"].title == "WorkOS refused the API key"
    assert remedies["other_failures"].affected == 1 and "weird_thing" in remedies["other_failures"].cause

    out = recovery.apply(journal, recovery.RETRY_FAILED_USERS, codes=recovery.EXISTS_CODES)
    assert out.changed == 2 and "auth0-workos import" in out.next_command
    assert journal.user("auth0|u0").status == UserStatus.PLANNED
    assert journal.user("auth0|u2").status == UserStatus.FAILED


def test_resend_corrected_hash_needs_a_changed_export(tmp_path):
    journal = Journal.open(tmp_path / "run")
    pw = tmp_path / "passwords.ndjson"
    pw.write_text('{"_id":{"$oid":"u0"},"email":"u0@example.com","passwordHash":"$2b$10$short"}\n')
    journal.record_input("passwords", pw)
    journal.replace_plan(_planned(1))
    journal.mark_result("auth0|u0", UserStatus.FAILED, error_code="invalid_password_hash")
    out = recovery.apply(journal, recovery.RESEND_CORRECTED_HASH)
    assert out.changed == 0 and "has not changed" in out.message and out.next_command is None
    pw.write_text('{"_id":{"$oid":"u0"},"email":"u0@example.com","passwordHash":"' + "$2b$10$" + "b" * 53 + '"}\n')
    out = recovery.apply(journal, recovery.RESEND_CORRECTED_HASH)
    assert out.changed == 1 and "re-plan" in out.message


def test_social_users_needing_verification_are_flagged(tmp_path):
    journal = Journal.open(tmp_path / "run")
    users = _planned(2, Branch.SOCIAL)
    users[0].email_verified = False
    journal.replace_plan(users)
    for u in users:
        journal.mark_result(u.auth0_user_id, UserStatus.CREATED, workos_user_id=f"user_{u.auth0_user_id[-2:]}")
    r = {x.id: x for x in recovery.diagnose(journal)}["social_not_linking"]
    assert r.affected == 1 and "verification" in r.cause and r.action is None


async def test_deleted_user_is_found_fixed_and_verified(tmp_path, sandbox_settings):
    journal = await build_world(tmp_path, sandbox_settings, with_orgs=False, with_social=False)
    client = make_sync_client(sandbox_settings)
    client.user_management.delete_user(journal.user("auth0|b2").workos_user_id)
    assert not v.check_user_count(journal, client).ok
    remedy = {r.id: r for r in recovery.diagnose(journal)}["missing_in_workos"]
    assert remedy.affected == 1 and remedy.examples == ("auth0|b2",)
    out = recovery.apply(journal, remedy.action)
    assert out.changed == 1 and journal.user("auth0|b2").status == UserStatus.PLANNED
    await Importer(journal, make_client(sandbox_settings)).run()
    assert v.check_user_count(journal, client).ok
    assert v.check_password_sign_in(client, "bob@example.com", PASSWORDS["bob@example.com"]).ok
    assert "missing_in_workos" not in {r.id for r in recovery.diagnose(journal)}


def test_fix_command_applies_a_one_key_fix(tmp_path, capsys):
    from wizard.cli import main

    journal = Journal.open(tmp_path / "run")
    journal.replace_plan(_planned(2))
    journal.mark_result("auth0|u0", UserStatus.FAILED, error_code="email_not_available")
    journal.close()
    run = str(tmp_path / "run")
    assert main(["verify", "--run-dir", run, "--fix", "retry_failed_users"]) == 0
    out = capsys.readouterr().out
    assert "1 failed user(s) put back to planned." in out and f"auth0-workos import --run-dir {run}" in out
    with Journal.open(run) as j:
        assert j.user("auth0|u0").status == UserStatus.PLANNED
    assert main(["verify", "--run-dir", run, "--fix", "make_it_work"]) == 2


def test_decisions_and_their_reasons_are_in_the_report(tmp_path):
    """A skipped step, a missing password export and accepted failures each carry their reason."""
    journal = Journal.open(tmp_path / "run")
    journal.replace_plan(_planned(2))
    journal.mark_result("auth0|u0", UserStatus.FAILED, error_code="invalid_email", error_message="bad")
    journal.set_step("orgs", "not_applicable", "we never used Auth0 Organizations")
    journal.put_document("password_hashes_not_applicable", {"reason": "social sign-in only tenant", "at": 1.0})
    journal.put_document("import_failures_accepted", {"count": 1, "reason": "test account, deleted", "at": 2.0})
    md_path, json_path = write_report(journal)
    md = md_path.read_text()
    section = md.split("## Decisions and their reasons", 1)[1].split("\n## ", 1)[0]
    for reason in ("we never used Auth0 Organizations", "social sign-in only tenant", "test account, deleted"):
        assert reason in section
    assert len(json.loads(json_path.read_text())["decisions"]) == 3
