"""The plan: join rules, branches, duplicate merging, mapped requests, journal and gates."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from wizard.core.gates import GateStatus
from wizard.core.journal import Journal
from wizard.core.passwords import BCRYPT_RE, HashReader
from wizard.core.plan import (
    PlanOptions,
    build_plan,
    export_gate,
    mapping_gate,
    redacted_request,
    save_plan,
)
from wizard.core.records import Branch

FIX = Path(__file__).parent / "fixtures"
USERS, PASSWORDS = FIX / "users_api.ndjson", FIX / "passwords.ndjson"


@pytest.fixture(scope="module")
def result():
    return build_plan(USERS, PASSWORDS)


@pytest.fixture(scope="module")
def planned(result):
    return {p.auth0_user_id: p for p in result.planned}


def test_branch_counts_and_join_rules(result):
    s = result.summary
    # rows 3 and 5 name ids of nobody: bound by id only, carol and erin reset (no --join-by-email)
    assert s["branches"] == {"password": 6, "reset": 8, "social": 2, "sso": 2, "blocked": 1, "invalid": 0}
    # `planned` counts importable users; the plan holds the blocked one too (never sent)
    assert s["planned"] == 18 == len(result.planned) - 1 and s["users_read"] == 20
    assert s["join"] == {"user_id": 9, "alt_id": 1, "email": 0} and s["join_by_email"] is False
    assert s["hash_rows_matched"] == 10 and s["hash_rows_unmatched"] == 3 and s["hash_rows_repeated"] == 1
    assert s["database_users_without_hash"] == 4  # carol, erin, heidi, noah
    # unmatched both ways: hash rows with no user (warning), database users with no hash (info)
    assert [f.line for f in result.findings if f.code == "hash_unmatched"] == [3, 5, 9]
    assert [f.line for f in result.findings if f.code == "hash_not_found"] == [3, 5, 8, 16]
    assert not [f for f in result.findings if f.code == "hash_joined_by_email"]
    h = s["hashes"]
    assert h["kinds"] == {"bcrypt": 10, "truncated": 1, "unsupported": 1, "argon2": 1, "empty": 1}
    assert h["prefixes"]["$2b$"] == 8 and h["prefixes"]["$2y$"] == 1 and h["prefixes"]["$2x$"] == 1
    assert h["costs"] == {"10": 8, "12": 2}
    # ｎｏａｈ (fullwidth) only looks like noah: reported, not merged
    assert s["merged_groups"] == 1 and s["merged_users"] == 1 and s["duplicate_email_groups"] == 1
    assert [f.line for f in result.findings if f.code == "lookalike_email"] == [15, 16]
    assert s["social_providers"]["github"] == 1 and s["enterprise_connections"] == {"acme-saml": 1, "contoso-azure": 1}
    assert result.blocking == [] and "primary" in s["merge_rule"].lower()


@pytest.mark.parametrize("uid, branch, rule", [
    ("auth0|5dea9f9c82dd7c0e76e4ec93", Branch.PASSWORD, "user_id"),  # _id.$oid
    ("auth0|euclid", Branch.PASSWORD, "alt_id"),  # alt_id ($2y$ accepted)
    ("auth0|64db00000000000000000003", Branch.RESET, "no row"),  # only an email matches: not bound
    ("auth0|64db00000000000000000004", Branch.PASSWORD, "user_id"),  # `_ID` spelling
    ("auth0|64db00000000000000000005", Branch.RESET, "no row"),  # only identifiers[] email matches
    ("auth0|64db00000000000000000006", Branch.RESET, "truncated"),
    ("auth0|64db00000000000000000007", Branch.RESET, "unsupported"),  # $2x$
    ("auth0|64db00000000000000000008", Branch.RESET, "no row"),
    ("google-oauth2|1000000009", Branch.SOCIAL, "google-oauth2"),
    ("samlp|acme|judy@acme.com", Branch.SSO, "acme-saml"),
    ("waad|contoso|ken", Branch.SSO, "contoso-azure"),
    ("auth0|64db00000000000000000012", Branch.BLOCKED, "not imported"),
    ("email|64db00000000000000000014", Branch.RESET, "Magic Auth"),
    ("auth0|64db00000000000000000017", Branch.PASSWORD, "user_id"),  # database + linked social
    ("google-oauth2|1000000018", Branch.PASSWORD, "user_id"),  # secondary database identity
    ("auth0|64db00000000000000000019", Branch.PASSWORD, "argon2"),  # PHC argon2id: WorkOS imports it
    ("auth0|64db00000000000000000020", Branch.RESET, "empty"),
])
def test_each_user_branch_and_reason(planned, uid, branch, rule):
    p = planned[uid]
    assert p.branch == branch
    assert rule in p.reason


def test_password_request_and_hash_reference(planned):
    p = planned["auth0|euclid"]
    assert p.request == {"email": "bob@example.com", "email_verified": True, "external_id": "auth0|euclid",
                         "metadata": {"auth0_user_id": "auth0|euclid"}, "password_hash_type": "bcrypt"}
    assert "password_hash" not in p.request and p.hash_line == 2
    with HashReader(PASSWORDS) as reader:
        h = reader.hash_at(p.hash_ref)
    assert BCRYPT_RE.match(h) and h.startswith("$2y$10$")
    # non-password users carry no hash reference and no hash type
    frank = planned["auth0|64db00000000000000000006"]
    assert frank.hash_ref is None and "password_hash_type" not in frank.request


def test_redacted_request_never_shows_the_hash(planned):
    p = planned["auth0|5dea9f9c82dd7c0e76e4ec93"]
    with HashReader(PASSWORDS) as reader:
        red = redacted_request(p, reader)
        h = reader.hash_at(p.hash_ref)
    assert red["password_hash"] == "[redacted: bcrypt $2b$10$, 60 chars, line 1]"
    assert h not in json.dumps(red) and red["password_hash_type"] == "bcrypt"
    assert redacted_request(p)["password_hash"] == "[redacted: bcrypt, line 1]"
    assert "password_hash" not in p.request  # the plan itself is untouched


def test_duplicate_group_merge_with_hash_primary(planned):
    ann = planned["auth0|5dea9f9c82dd7c0e76e4ec93"]  # database user with a hash wins over a later login
    assert ann.auth0_ids == ("auth0|5dea9f9c82dd7c0e76e4ec93", "google-oauth2|1000000013")
    assert "google-oauth2|1000000013" not in planned
    assert ann.request["first_name"] == "Ann" and ann.request["last_name"] == "Lee"  # primary's names first
    assert ann.request["email_verified"] is True
    assert ann.request["metadata"] == {"auth0_user_id": "auth0|5dea9f9c82dd7c0e76e4ec93",
                                       "auth0_merged_ids": "google-oauth2|1000000013",
                                       "locale": "en", "plan": "pro", "seats": "3"}


def test_lookalike_emails_are_not_merged(planned):
    noah = planned["auth0|64db00000000000000000016"]  # ｎｏａｈ@ (fullwidth) only looks like noah@
    assert noah.auth0_ids == ("auth0|64db00000000000000000016",)
    assert noah.branch == Branch.RESET and noah.email == "noah@example.com"
    assert noah.request["email_verified"] is False  # its own flag, never the look-alike's
    fullwidth = planned["github|15"]  # imported as itself, with its own address and flag
    assert fullwidth.auth0_ids == ("github|15",) and fullwidth.email == "ｎｏａｈ@example.com"


def test_name_fallbacks(planned):
    ken = planned["waad|contoso|ken"]
    assert (ken.request["first_name"], ken.request["last_name"]) == ("Ken", "Adams")
    bob = planned["auth0|euclid"]  # name is an email: not split
    assert "first_name" not in bob.request


def test_include_blocked_imports_without_credentials():
    r = build_plan(USERS, PASSWORDS, PlanOptions(include_blocked=True))
    leo = next(p for p in r.planned if p.auth0_user_id == "auth0|64db00000000000000000012")
    assert leo.branch == Branch.RESET and leo.hash_ref is None and "blocked" in leo.reason
    assert "password_hash_type" not in leo.request
    assert r.summary["branches"]["blocked"] == 0
    assert r.summary["hash_rows_unmatched"] == 3  # leo's row is joined (not reported), just not sent


def test_metadata_selection():
    r = build_plan(USERS, PASSWORDS, PlanOptions(metadata_keys=("plan",)))
    ann = next(p for p in r.planned if p.auth0_user_id == "auth0|5dea9f9c82dd7c0e76e4ec93")
    assert ann.request["metadata"] == {"auth0_user_id": "auth0|5dea9f9c82dd7c0e76e4ec93",
                                       "auth0_merged_ids": "google-oauth2|1000000013", "plan": "pro"}
    r = build_plan(USERS, None, PlanOptions(metadata_keys=()))
    assert all(set(p.request["metadata"]) <= {"auth0_user_id", "auth0_merged_ids"} for p in r.planned)


def test_without_password_export_database_users_reset():
    r = build_plan(USERS)
    assert r.summary["branches"]["password"] == 0 and r.summary["branches"]["reset"] == 14
    # without a hash, the verified address still beats the unverified Google user's later login
    ann = next(p for p in r.planned if "auth0|5dea9f9c82dd7c0e76e4ec93" in p.auth0_ids)
    assert ann.auth0_user_id == "auth0|5dea9f9c82dd7c0e76e4ec93" and ann.branch == Branch.RESET
    assert ann.auth0_ids == ("auth0|5dea9f9c82dd7c0e76e4ec93", "google-oauth2|1000000013")
    assert ann.request["email"] == "ann@example.com" and ann.request["email_verified"] is True
    assert "Password export readable" not in [c.name for c in export_gate(r).checks]


def test_bad_lines_invalid_and_rejected():
    r = build_plan(FIX / "users_bad.ndjson")
    s = r.summary
    # invalid: no email, bad email; rejected: bad JSON x2, no id, malformed x2, repeat
    assert s["branches"]["invalid"] == 2 and s["rejected_lines"] == 6
    by_id = {p.auth0_user_id: p for p in r.planned}
    assert "auth0|ok1" in by_id and by_id["auth0|ok1"].email == "ok1@example.com"  # first line kept
    assert "no email" in by_id["auth0|noemail"].reason
    assert by_id["auth0|meta"].branch == Branch.RESET
    assert by_id["auth0|meta"].request["metadata"] == {"auth0_user_id": "auth0|meta", "plan": "pro",
                                                       "flags": '{"beta":true}'}
    assert len(by_id["auth0|manykeys"].request["metadata"]) == 50
    # ids WorkOS cannot take as external_id are still imported, found again by metadata and email
    long_id = next(u for u in by_id if len(u) > 128)
    for uid, code in (("auth0|josé", "non_ascii_external_id"), (long_id, "external_id_too_long")):
        p = by_id[uid]
        assert p.branch == Branch.RESET and "external_id" not in p.request
        assert p.request["metadata"]["auth0_user_id"] == uid and "without external_id" in p.reason
        assert [f.code for f in r.findings if f.auth0_user_id == uid and f.field == "user_id"] == [code]
    assert export_gate(r).passed  # per-user errors do not block the gate


def test_repeated_hash_rows_first_valid_wins(tmp_path):
    tail = "N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy"
    users = tmp_path / "u.ndjson"
    users.write_text(json.dumps({"user_id": "auth0|abc", "email": "a@example.com"}) + "\n")
    pw = tmp_path / "p.ndjson"
    pw.write_text("\n".join(json.dumps({"_id": {"$oid": "abc"}, "passwordHash": h}) for h in
                             ["$2b$10$N9qo", f"$2a$10${tail}", f"$2b$10${tail}"]) + "\n")
    r = build_plan(users, pw)
    (p,) = list(r.planned)
    assert p.branch == Branch.PASSWORD and p.hash_line == 2
    dup = [(f.line, f.code) for f in r.findings if f.code == "duplicate_hash_row"]
    assert dup == [(1, "duplicate_hash_row"), (3, "duplicate_hash_row")]
    assert r.summary["hash_rows_unmatched"] == 0


def test_email_join_is_opt_in_and_stays_in_its_connection():
    users, rows = FIX / "users_two_connections.ndjson", FIX / "passwords_two_connections.ndjson"
    plain = build_plan(users, rows)  # the rows' ids (aaaa...) name nobody: bound by id only
    assert plain.summary["join"]["email"] == 0 and plain.summary["branches"]["password"] == 0
    assert [f.line for f in plain.findings if f.code == "hash_unmatched"] == [1, 2]
    r = build_plan(users, rows, PlanOptions(join_by_email=True))
    assert r.summary["join"]["email"] == 2 and r.summary["join_by_email"] is True
    bound = [f for f in r.findings if f.code == "hash_joined_by_email"]
    assert [f.line for f in bound] == [1, 2] and all(f.severity.value == "warning" for f in bound)
    assert "auth0|sam-one" in bound[0].message and "'db-one'" in bound[0].message  # both sides named
    assert "auth0|aaaa00000000000000000001" in bound[0].message
    (sam,) = list(r.planned)  # same email: one WorkOS user; most recent login is the primary
    assert sam.auth0_ids == ("auth0|sam-two", "auth0|sam-one") and sam.hash_line == 2


def test_gate_fails_when_no_hash_row_joins():
    r = build_plan(USERS, FIX / "passwords_unrelated.ndjson")
    gate = export_gate(r)
    assert gate.status is GateStatus.FAILED and r.blocking == ["Hashes join to users"]
    assert "0 of 1" in gate.reason
    assert r.summary["database_users_without_hash"] == 13


def test_gate_fails_without_users():
    r = build_plan(FIX / "users_blank.ndjson")
    assert not export_gate(r).passed and "Users found" in r.blocking and len(r.planned) == 0


def test_gate_fails_on_broken_array():
    r = build_plan(FIX / "users_array_broken.json")
    assert "Users export readable" in r.blocking


def test_findings_spill_to_disk_keep_order_and_counts():
    small = build_plan(FIX / "users_bad.ndjson", PASSWORDS, PlanOptions(findings_in_memory=3))
    big = build_plan(FIX / "users_bad.ndjson", PASSWORDS)
    assert [f.as_dict() for f in small.findings] == [f.as_dict() for f in big.findings]
    assert len(small.findings) == len(big.findings) > 3
    assert small.findings.first(2) == big.findings.first(2)
    spill = Path(small.findings._spill_path)
    assert stat.S_IMODE(spill.stat().st_mode) == 0o600
    del small
    import gc

    gc.collect()
    assert not spill.exists()  # removed with the plan


def test_save_plan_journal_and_mapping_gate(tmp_path, result):
    run = tmp_path / "run"
    with Journal.open(run) as j:
        n = save_plan(j, result, USERS, PASSWORDS)
        assert n == 19
        assert stat.S_IMODE((run / "journal.sqlite").stat().st_mode) == 0o600
        inputs = j.inputs()
        assert inputs["users"]["lines"] == 20 and inputs["passwords"]["lines"] == 16
        assert len(inputs["users"]["sha256"]) == 64
        assert j.count_users("branch") == {"password": 6, "reset": 8, "social": 2, "sso": 2, "blocked": 1}
        assert j.user("google-oauth2|1000000013").auth0_user_id == "auth0|5dea9f9c82dd7c0e76e4ec93"
        row = j.user("auth0|euclid")
        assert row.hash_line == 2 and row.request["password_hash_type"] == "bcrypt"
        assert j.get_document("plan_summary")["planned"] == 18
        assert len(j.findings()) == len(result.findings)
        assert export_gate(j).passed
        gate = mapping_gate(j)
        assert gate.passed, gate.reason
        raw = (run / "journal.sqlite").read_bytes()
        assert b"N9qo8uLOickgx2ZMRZoMye" not in raw  # no hash in the journal
        save_plan(j, result, USERS, PASSWORDS)  # re-planning replaces, does not duplicate
        assert len(j.findings()) == len(result.findings)


def test_mapping_gate_fails_when_input_changes(tmp_path):
    users = tmp_path / "users.ndjson"
    users.write_bytes(USERS.read_bytes())
    r = build_plan(users)
    with Journal.open(tmp_path / "run") as j:
        save_plan(j, r)
        assert mapping_gate(j).passed
        users.write_bytes(USERS.read_bytes() + b"\n")
        gate = mapping_gate(j)
        assert not gate.passed and "changed" in gate.reason
        assert not export_gate(j).passed


def test_export_gate_from_empty_journal(tmp_path):
    with Journal.open(tmp_path / "run") as j:
        assert export_gate(j).status is GateStatus.FAILED
        assert not mapping_gate(j).passed


def test_demo_tenant_exports(demo_exports):
    r = build_plan(demo_exports.users_path, demo_exports.passwords_path)
    s = r.summary
    assert r.blocking == [], r.blocking
    assert s["users_read"] > 0 and s["planned"] > 0
    assert s["branches"]["password"] > 0
    assert s["hash_rows_matched"] > 0
    with HashReader(demo_exports.passwords_path) as reader:
        for p in r.planned:
            if p.branch == Branch.PASSWORD:
                assert BCRYPT_RE.match(reader.hash_at(p.hash_ref))
    emails = [p.group_key for p in r.planned if p.branch in Branch.IMPORTABLE]
    assert len(emails) == len(set(emails))  # one WorkOS user per email


def test_progress_events(tmp_path):
    events = []
    build_plan(USERS, PASSWORDS, on_progress=events.append)
    assert events and events[-1].done and events[-1].counts["read"] == 20
    assert all(e.operation.startswith("check-") for e in events)


def test_unreadable_password_export_blocks(tmp_path):
    import gzip as _gzip

    data = _gzip.compress(PASSWORDS.read_bytes())
    cut = tmp_path / "passwords.ndjson.gz"
    cut.write_bytes(data[: len(data) // 2])
    r = build_plan(USERS, cut)
    assert "Password export readable" in r.blocking
    assert any(f.code == "unreadable_file" and f.file == cut.name for f in r.findings)


def test_swapped_files_fail_clearly():
    r = build_plan(PASSWORDS, USERS)  # the hash export given as users, and the other way round
    assert "Users found" in r.blocking
    assert r.summary["rejected_lines"] > 0


def test_many_merged_ids_that_do_not_fit_metadata_are_a_finding(tmp_path):
    users = tmp_path / "u.ndjson"
    rows = [{"user_id": f"samlp|conn{i:02d}|{'x' * 40}", "email": "same@example.com",
             "identities": [{"connection": f"conn{i:02d}", "provider": "samlp", "user_id": "x", "isSocial": False}]}
            for i in range(20)]
    users.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    r = build_plan(users)
    (p,) = list(r.planned)
    assert len(p.auth0_ids) == 20 and "auth0_merged_ids" not in p.request["metadata"]
    cut = [f for f in r.findings if f.code == "metadata_too_large"]
    assert len(cut) == 1 and cut[0].line == 1 and "19 merged ids" in cut[0].message
