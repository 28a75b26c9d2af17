"""MFA: the SMS/voice users found exactly, the CSV for the e-mail, and the TOTP import into WorkOS."""

from __future__ import annotations

import base64
import csv
import json
import stat

from workos import WorkOSClient

from wizard.cli import main
from wizard.clients.auth0 import Auth0Client
from wizard.core.config import Settings
from wizard.core.inventory import iter_export_users
from wizard.core.journal import Journal
from wizard.core.mfa import (
    ScanTarget,
    build_mfa_report,
    import_totp_secrets,
    mask_phone,
    read_totp_secrets,
    save_mfa_report,
    scan_authentication_methods,
    summarize_methods,
)
from wizard.core.records import PlannedUser


def _auth0(handle) -> Auth0Client:
    s = Settings(auth0_domain=handle.domain, auth0_client_id=handle.client_id,
                 auth0_client_secret=handle.client_secret, auth0_base_url=handle.base_url)
    return Auth0Client.from_settings(s, max_per_second=1000)


def _phone_users(tenant) -> dict[str, tuple[str, str]]:
    """user id -> (factor, full phone) for every user enrolled with a phone."""
    out = {}
    for uid, methods in tenant.auth_methods.items():
        for m in methods:
            if m["type"] == "phone":
                out[uid] = (m["preferred_authentication_method"], m["phone_number"])
                break
    return out


def test_mask_phone_keeps_only_country_digit_and_last_four():
    assert mask_phone("+14155551234") == "+1•••••1234"
    assert mask_phone("0033 6 12 34 56 78") == "0•••••5678"
    assert mask_phone("") == "" and mask_phone(None) == ""


def test_summarize_methods_tells_sms_voice_totp_and_ignores_first_factors():
    s = summarize_methods([
        {"type": "phone", "preferred_authentication_method": "voice", "phone_number": "+15550001111"},
        {"type": "totp"}, {"type": "password"}, {"type": "email-verification"},
        {"type": "webauthn-roaming", "confirmed": False},
    ])
    assert s.types == ("voice", "totp") and s.phone_factor == "voice" and s.phone_masked == "+1•••••1111"
    assert summarize_methods([{"type": "phone", "phone_number": "+15550001111"}]).phone_factor == "sms"


def test_sms_and_voice_users_are_found_exactly_and_listed_masked(tmp_path, auth0_emu, demo_tenant, demo_exports):
    phones = _phone_users(demo_tenant)
    by_id = {u["user_id"]: u for u in demo_tenant.users}
    targets = [ScanTarget(u.user_id, u.email, u.name) for u in iter_export_users(demo_exports.users_path)]
    with Journal.open(tmp_path) as journal:
        stats = scan_authentication_methods(_auth0(auth0_emu), journal, targets)
        assert stats.complete and stats.scanned_now == len(demo_tenant.users)
        report = save_mfa_report(journal, build_mfa_report(journal, complete=stats.complete))
        doc = journal.get_document("mfa")
    assert report.sms_users == sum(1 for f, _ in phones.values() if f == "sms")
    assert report.voice_users == sum(1 for f, _ in phones.values() if f == "voice")
    assert report.totp_users == sum(1 for ms in demo_tenant.auth_methods.values()
                                    if any(m["type"] == "totp" for m in ms))
    assert report.other_factors == {"email": 1}
    assert doc["sms_users"] == report.sms_users and doc["must_reenroll"] == len(phones)
    path = tmp_path / "mfa-sms-users.csv"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    rows = list(csv.DictReader(path.open(encoding="utf-8")))
    assert {r["email"] for r in rows} == {by_id[u]["email"] for u in phones}
    for r in rows:
        uid = next(u for u in phones if by_id[u]["email"] == r["email"])
        factor, phone = phones[uid]
        assert r["factor"] == factor and r["phone"] == f"+1•••••{phone[-4:]}"
        assert r["name"] == by_id[uid].get("name")
    assert not any(p in path.read_text() for _, p in phones.values())
    assert any("Magic Auth" in n for n in report.notes)


# ---------------------------------------------------------------------- TOTP import
def _secret(n: int) -> str:
    return base64.b32encode(bytes([n]) * 20).decode().rstrip("=")


def _imported(journal: Journal, workos: WorkOSClient, emails: list[str]) -> dict[str, str]:
    planned = [PlannedUser(auth0_user_id=f"auth0|u{i}", group_key=e, email=e, branch="password", request={})
               for i, e in enumerate(emails)]
    journal.replace_plan(planned)
    ids = {}
    for p in planned:
        user = workos.user_management.create_user(email=p.email, external_id=p.auth0_user_id)
        journal.mark_result(p.auth0_user_id, "created", workos_user_id=user.id, write_kind="create_user")
        ids[p.email] = user.id
    return ids


def test_totp_import_enrolls_counts_existing_and_reports_the_rest(tmp_path, workos_emu):
    emu = workos_emu.emulator
    workos = WorkOSClient(api_key=workos_emu.api_key, client_id=workos_emu.client_id,
                          base_url=workos_emu.base_url, max_retries=0)
    secrets_file = tmp_path / "totp.csv"
    secrets_file.write_text("email,totp_secret\n"
                            f"a@example.com,{_secret(1)}\n"
                            f"B@Example.com,{_secret(2).lower()}\n"
                            f"c@example.com,{_secret(3)}\n"
                            f"ghost@example.com,{_secret(4)}\n"
                            "d@example.com,not-base32!\n")
    with Journal.open(tmp_path / "run") as journal:
        ids = _imported(journal, workos, ["a@example.com", "b@example.com", "c@example.com", "d@example.com"])
        workos.multi_factor_auth.create_user_auth_factor(ids["c@example.com"], type="totp")  # already enrolled
        result = import_totp_secrets(journal, workos, secrets_file, issuer="Acme")
        assert (result.enrolled, result.already_enrolled, result.user_not_imported, result.invalid) == (2, 1, 1, 1)
        assert not result.ok  # the invalid line is listed
        assert len(journal.writes("create_auth_factor")) == 2
        for email, n in (("a@example.com", 1), ("b@example.com", 2)):
            fid = next(f for f, v in emu.auth_factors.items() if v["user_id"] == ids[email])
            assert emu.totp_secret(fid) == _secret(n)
        doc = json.dumps(journal.get_document("totp_import"))
        assert _secret(1) not in doc and _secret(4) not in doc

        posts = emu.request_count("POST")
        again = import_totp_secrets(journal, workos, secrets_file)
        assert again.already_enrolled == 3 and again.enrolled == 0
        assert emu.request_count("POST") == posts


def test_totp_secrets_as_ndjson(tmp_path):
    path = tmp_path / "totp.ndjson"
    path.write_text(json.dumps({"email": "x@example.com", "secret": _secret(9)}) + "\n\n"
                    + json.dumps({"email": "y@example.com"}) + "\n")
    good, problems = read_totp_secrets(path)
    assert [(g.email, g.line) for g in good] == [("x@example.com", 1)]
    assert problems[0]["line"] == 3 and "Base32" in problems[0]["message"]
    assert _secret(9) not in repr(good)


def test_mfa_command_scans_reports_and_never_prints_a_phone(tmp_path, auth0_emu, demo_tenant, demo_exports,
                                                            monkeypatch, capsys):
    for k, v in {"AUTH0_DOMAIN": auth0_emu.domain, "AUTH0_CLIENT_ID": auth0_emu.client_id,
                 "AUTH0_CLIENT_SECRET": auth0_emu.client_secret, "AUTH0_BASE_URL": auth0_emu.base_url}.items():
        monkeypatch.setenv(k, v)
    run_dir = tmp_path / "run"
    code = main(["--env-file", str(tmp_path / "none.env"), "mfa", "--run-dir", str(run_dir),
                 "--users", str(demo_exports.users_path), "--auth0-rate", "500"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    phones = _phone_users(demo_tenant)
    assert f"{len(phones)} user(s) to contact" in captured.out
    assert not any(p in captured.out + captured.err for _, p in phones.values())
    assert (run_dir / "mfa-sms-users.csv").is_file()


def test_totp_create_that_lands_but_answers_500_is_not_enrolled_twice(tmp_path, workos_emu):
    from wizard.sandbox.faults import Faults

    emu = workos_emu.emulator
    workos = WorkOSClient(api_key=workos_emu.api_key, client_id=workos_emu.client_id,
                          base_url=workos_emu.base_url, max_retries=0)
    secrets_file = tmp_path / "totp.csv"
    secrets_file.write_text(f"email,totp_secret\na@example.com,{_secret(7)}\n")
    with Journal.open(tmp_path / "run") as journal:
        ids = _imported(journal, workos, ["a@example.com"])
        emu.set_faults(Faults(commit_then_fail_rate=1.0))  # every write lands, then answers 500
        result = import_totp_secrets(journal, workos, secrets_file)
        emu.set_faults(Faults())
        factors = [f for f, v in emu.auth_factors.items() if v["user_id"] == ids["a@example.com"]]
        assert result.enrolled == 1 and len(factors) == 1
        assert journal.writes("create_auth_factor")[0]["target_id"] == factors[0]
        assert emu.totp_secret(factors[0]) == _secret(7)


def test_mfa_command_totp_import_never_prints_a_secret(tmp_path, workos_emu, monkeypatch, capsys):
    for k, v in {"WORKOS_API_KEY": workos_emu.api_key, "WORKOS_CLIENT_ID": workos_emu.client_id,
                 "WORKOS_BASE_URL": workos_emu.base_url}.items():
        monkeypatch.setenv(k, v)
    workos = WorkOSClient(api_key=workos_emu.api_key, client_id=workos_emu.client_id,
                          base_url=workos_emu.base_url, max_retries=0)
    run_dir = tmp_path / "run"
    with Journal.open(run_dir) as journal:
        _imported(journal, workos, ["a@example.com"])
    secrets_file = tmp_path / "totp.csv"
    secrets_file.write_text(f"email,totp_secret\na@example.com,{_secret(3)}\nb@example.com,{_secret(4)}\n")
    base = ["--env-file", str(tmp_path / "none.env"), "mfa", "--run-dir", str(run_dir), "--no-api",
            "--totp-secrets", str(secrets_file)]
    assert main(base) == 2  # not confirmed without a terminal
    assert not workos_emu.emulator.auth_factors
    assert main(base + ["--yes"]) == 0
    captured = capsys.readouterr()
    assert "enrolled 1" in captured.out and "user not imported 1" in captured.out
    assert _secret(3) not in captured.out + captured.err and _secret(4) not in captured.out + captured.err
    assert len(workos_emu.emulator.auth_factors) == 1


def test_scan_targets_only_the_users_the_export_marks_enrolled_when_it_carries_the_field(tmp_path):
    import json as _json

    from wizard.core.inventory import iter_export_users
    from wizard.core.mfa import enrolled_targets

    rows = [{"user_id": "auth0|a", "email": "a@example.com", "multifactor": ["guardian"]},
            {"user_id": "auth0|b", "email": "b@example.com"}]
    with_field = tmp_path / "with.ndjson"
    with_field.write_text("".join(_json.dumps(r) + "\n" for r in rows))
    targets, narrowed = enrolled_targets(iter_export_users(with_field))
    assert narrowed and [t.user_id for t in targets] == ["auth0|a"]
    without = tmp_path / "without.ndjson"
    without.write_text(_json.dumps(rows[1]) + "\n")
    targets, narrowed = enrolled_targets(iter_export_users(without))
    assert not narrowed and [t.user_id for t in targets] == ["auth0|b"]


# ---------------------------------------------------------------- unknown is not "no MFA" (issue 10)
def test_without_a_scan_mfa_is_unknown_not_scanned_never_not_applicable(tmp_path, capsys):
    from wizard.core import steps
    from wizard.core import verify as v

    run_dir = tmp_path / "run"
    code = main(["--env-file", str(tmp_path / "none.env"), "mfa", "--run-dir", str(run_dir), "--no-api"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "MFA unknown: not scanned" in out
    with Journal.open(run_dir) as journal:
        check = v.check_mfa(journal)
        assert not check.ok and "unknown: not scanned" in check.evidence
        assert "not applicable" not in check.evidence
        gate = steps.mfa_gate(journal, Settings())
        assert not gate.passed and any("unknown: not scanned" in c.evidence for c in gate.checks)


def test_targets_the_scan_did_not_read_are_unknown_not_counted_as_no_mfa(tmp_path):
    from wizard.core import verify as v
    from wizard.core.mfa import MethodSummary, record_scan

    with Journal.open(tmp_path / "run") as journal:
        record_scan(journal, "auth0|a1", MethodSummary((), None), email="a@example.com", name="A")
        report = save_mfa_report(journal, build_mfa_report(journal, complete=False, scan_targets=3))
        assert (report.no_mfa_users, report.not_scanned) == (1, 2)
        check = v.check_mfa(journal)
        assert not check.ok and "unknown: not scanned for 2 of 3 user(s)" in check.evidence
        # once every target is read and none has SMS/TOTP, "not applicable" is what the scan showed
        record_scan(journal, "auth0|b2", MethodSummary((), None), email="b@example.com", name="B")
        record_scan(journal, "auth0|c3", MethodSummary((), None), email="c@example.com", name="C")
        save_mfa_report(journal, build_mfa_report(journal, complete=True, scan_targets=3))
        check = v.check_mfa(journal)
        assert check.ok and check.evidence == "not applicable: no user had SMS or TOTP MFA in Auth0"


def test_the_report_says_mfa_unknown_without_a_scan_and_no_python_literal(tmp_path):
    from wizard.core.report import build_report, render_markdown

    with Journal.open(tmp_path / "run") as journal:
        save_mfa_report(journal, build_mfa_report(journal))
        text = render_markdown(build_report(journal))
    mfa = text[text.index("## MFA"):text.index("## Verification")]
    assert "MFA unknown: not scanned" in mfa
    assert "None" not in mfa and "[]" not in mfa
    assert "{}" not in mfa and "False" not in mfa and "True" not in mfa
