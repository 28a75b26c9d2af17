"""Export files as they arrive from the real world: damaged bytes, cut downloads, odd encodings of
booleans and identities, loosely spelt keys, a CSV instead of JSON, repeated hash rows. Each case
must give a finding a person can act on (file, line, field), drop nothing silently, and never leave
a half-written plan in the journal."""

from __future__ import annotations

import gzip
import json
import os
from pathlib import Path

import pytest

from wizard.cli import main
from wizard.core.exports import UsersScan, read_users
from wizard.core.findings import Finding, Severity
from wizard.core.journal import Journal, JournalError
from wizard.core.normalize import is_valid_email, normalize_email
from wizard.core.passwords import HashReader, password_set_date_key, read_password_rows
from wizard.core.plan import (
    ExportChangedError,
    FindingStore,
    PlanOptions,
    build_plan,
    export_gate,
    save_plan,
)
from wizard.core.records import Auth0User, Branch

RW = Path(__file__).parent / "fixtures" / "realworld"
H = "$2b$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy"
H_OLD = "$2a$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWz"


def _user(i, **kw) -> dict:
    d = {"user_id": f"auth0|u{i}", "email": f"u{i}@example.com", "email_verified": True,
         "identities": [{"connection": "Username-Password-Authentication", "provider": "auth0",
                         "user_id": f"u{i}", "isSocial": False}]}
    d.update(kw)
    return d


def _ndjson(objs) -> bytes:
    return ("\n".join(json.dumps(o) for o in objs) + "\n").encode()


def _split(path):
    items = list(read_users(path))
    return [i for i in items if isinstance(i, Auth0User)], [i for i in items if isinstance(i, Finding)]


# ----------------------------------------------------------------------------- damaged bytes
def test_invalid_utf8_is_a_finding_with_line_and_user_and_keeps_other_lines(tmp_path):
    lines = _ndjson(_user(i) for i in range(1, 6)).split(b"\n")
    lines[2] = lines[2].replace(b"u3@example", b"u3\xff\xfe@example")
    p = tmp_path / "users.ndjson"
    p.write_bytes(b"\n".join(lines))
    users, findings = _split(p)
    assert [u.user_id for u in users] == ["auth0|u1", "auth0|u2", "auth0|u4", "auth0|u5"]
    (f,) = findings
    assert (f.line, f.code, f.severity, f.auth0_user_id) == (3, "invalid_json", Severity.ERROR, "auth0|u3")
    assert "byte 37" in f.message and "not UTF-8" in f.message


def test_nul_byte_raw_or_escaped_never_reaches_a_request(tmp_path):
    raw = _ndjson([_user(1), _user(2), _user(3)]).split(b"\n")
    raw[1] = raw[1].replace(b"u2@", b"u2\x00@")  # a raw NUL: invalid JSON
    raw[2] = raw[2].replace(b"u3@", b"u3\\u0000@")  # an escaped NUL: valid JSON, invalid address
    p = tmp_path / "users.ndjson"
    p.write_bytes(b"\n".join(raw))
    r = build_plan(p)
    codes = {(f.line, f.code) for f in r.findings}
    assert (2, "invalid_json") in codes and (3, "email_invisible_character") in codes
    assert r.summary["branches"]["invalid"] == 1 and r.summary["planned"] == 1  # importable only
    assert not is_valid_email("a\x00@example.com") and not is_valid_email("a@exa\x7fmple.com")


def test_huge_single_line_is_read_and_its_metadata_cut_with_a_finding(tmp_path):
    big = _user(2, user_metadata={"blob": "a" * (10 << 20)})
    p = tmp_path / "users.ndjson"
    p.write_bytes(_ndjson([_user(1), big, _user(3)]))
    users, findings = _split(p)
    assert [u.line for u in users] == [1, 2, 3]
    (f,) = findings
    assert (f.line, f.code, f.field) == (2, "metadata_too_large", "metadata")
    assert "user_metadata.blob" in f.message and len(f.message) < 300  # the value is never echoed


# ----------------------------------------------------------------------------- cut downloads
def test_truncated_gzip_reads_every_complete_line_then_a_file_level_error(tmp_path):
    data = _ndjson(_user(i) for i in range(1, 3001))
    packed = gzip.compress(data)
    p = tmp_path / "users.json.gz"
    p.write_bytes(packed[: len(packed) * 2 // 3])
    scan = UsersScan(p)
    items = list(scan)
    users = [i for i in items if isinstance(i, Auth0User)]
    errors = [i for i in items if isinstance(i, Finding)]
    assert users and [u.line for u in users] == list(range(1, len(users) + 1))
    assert all(u.user_id == f"auth0|u{u.line}" for u in users)  # no partial line became a user
    (f,) = errors
    assert f.code == "unreadable_file" and f.line is None and f.file == "users.json.gz"
    assert f"after line {len(users)}, the last complete one" in f.message
    r = build_plan(p)
    assert not export_gate(r).passed and r.summary["users_read"] == len(users)


def test_plain_file_cut_mid_line_fails_the_gate(tmp_path):
    data = _ndjson(_user(i) for i in range(1, 6))
    p = tmp_path / "users.ndjson"
    p.write_bytes(data + json.dumps(_user(6)).encode()[:30])
    r = build_plan(p)
    (f,) = [f for f in r.findings if f.severity is Severity.ERROR]
    assert (f.line, f.code) == (6, "unreadable_file") and "lines 1-5 were read" in f.message
    assert r.summary["users_read"] == 5 and not export_gate(r).passed
    # a last line that is simply bad (not cut) stays a per-line error
    p.write_bytes(data + b"{bad}")
    r = build_plan(p)
    assert [(f.line, f.code) for f in r.findings] == [(6, "invalid_json")] and export_gate(r).passed


def test_gzip_json_array_and_multi_member_gzip(tmp_path):
    arr = tmp_path / "users.bin"  # no telling name: detected from the bytes
    arr.write_bytes(gzip.compress(json.dumps([_user(i) for i in range(1, 4)]).encode()))
    scan = UsersScan(arr)
    assert [u.user_id for u in scan if isinstance(u, Auth0User)] == ["auth0|u1", "auth0|u2", "auth0|u3"]
    assert scan.format == "json-array" and scan.gzipped
    multi = tmp_path / "users.ndjson.gz"
    multi.write_bytes(gzip.compress(_ndjson([_user(1), _user(2)])) + gzip.compress(_ndjson([_user(3)])))
    users, findings = _split(multi)
    assert [u.line for u in users] == [1, 2, 3] and not findings


def test_pretty_printed_json_objects_are_read_with_a_note(tmp_path):
    p = tmp_path / "users.json"
    p.write_text("\n".join(json.dumps(_user(i), indent=2) for i in (1, 2)) + "\n")
    users, findings = _split(p)
    assert [u.user_id for u in users] == ["auth0|u1", "auth0|u2"]
    assert [f.code for f in findings] == ["pretty_printed_json"]


@pytest.mark.parametrize(("content", "says"), [(b"", "is empty"), (b"  \n\t\n   \r\n", "only blank lines")])
def test_empty_and_whitespace_files(tmp_path, content, says):
    p = tmp_path / "users.ndjson"
    p.write_bytes(content)
    r = build_plan(p)
    (f,) = list(r.findings)
    assert f.code == "no_users" and says in f.message and "users.ndjson" in f.message
    assert not export_gate(r).passed


# ----------------------------------------------------------------------------- field shapes
def test_email_verified_and_blocked_spellings(tmp_path):
    vals = [True, "true", " TRUE ", "1", 1, "yes", False, "false", "0", 0, None, "maybe", [1]]
    p = tmp_path / "users.ndjson"
    p.write_bytes(_ndjson(_user(i, email_verified=v) for i, v in enumerate(vals, 1)))
    users, findings = _split(p)
    assert [u.email_verified for u in users] == [True] * 6 + [False] * 4 + [None] * 3
    flagged = [(f.line, f.field, f.code, f.severity) for f in findings]
    assert flagged == [(12, "email_verified", "unreadable_flag", Severity.WARNING),
                       (13, "email_verified", "unreadable_flag", Severity.WARNING)]
    assert "'maybe'" in findings[0].message and "not verified" in findings[0].message
    r = build_plan(p)
    reqs = {x.auth0_user_id: x.request for x in r.planned}
    assert reqs["auth0|u12"]["email_verified"] is False and reqs["auth0|u3"]["email_verified"] is True
    # an unreadable `blocked` is treated as blocked (the safe side), with a finding
    p.write_bytes(_ndjson([_user(1, blocked="sometimes"), _user(2, blocked="false")]))
    r = build_plan(p)
    assert r.summary["branches"]["blocked"] == 1 and r.summary["branches"]["reset"] == 1
    assert [(f.line, f.field) for f in r.findings if f.code == "unreadable_flag"] == [(1, "blocked")]


def test_identities_as_text_without_is_social_and_user_id_only_in_identities():
    users, findings = _split(RW / "users_identities.ndjson")
    by = {u.user_id: u for u in users}
    assert len(users) == 7  # no line lost
    assert by["google-oauth2|100"].is_database_user  # the linked database identity inside the JSON text
    assert "auth0|only-in-identities" in by
    (note,) = [f for f in findings if f.code == "user_id_from_identities"]
    assert (note.line, note.severity, note.auth0_user_id) == (2, Severity.INFO, "auth0|only-in-identities")
    r = build_plan(RW / "users_identities.ndjson")
    branch = {p.auth0_user_id: p.branch for p in r.planned}
    assert branch == {"google-oauth2|100": "reset", "auth0|only-in-identities": "reset", "auth0|ns-db": "reset",
                      "email|ns-pl": "reset", "waad|ns-ent": "sso", "github|77": "social", "apple|ns-str": "social"}


@pytest.mark.parametrize(("provider", "kind"), [
    ("auth0", "database"), ("email", "passwordless"), ("sms", "passwordless"),
    *[(p, "enterprise") for p in ("samlp", "waad", "adfs", "oidc", "okta", "pingfederate", "ad", "google-apps")],
    *[(p, "social") for p in ("google-oauth2", "github", "windowslive", "facebook", "apple", "linkedin", "twitter")],
])
def test_is_social_inferred_from_provider(tmp_path, provider, kind):
    from wizard.core.exports import identity_kind

    p = tmp_path / "u.ndjson"
    p.write_bytes(_ndjson([{"user_id": f"{provider}|x", "email": "x@example.com",
                            "identities": [{"connection": "c", "provider": provider, "user_id": "x"}]}]))
    (u,), _ = _split(p)
    assert identity_kind(u.identities[0]) == kind


def test_loosely_spelt_keys_are_read_and_noted_once_per_key():
    users, findings = _split(RW / "users_key_spelling.ndjson")
    assert [(u.user_id, u.email, u.email_verified) for u in users] == [
        ("auth0|k1", "k1@example.com", True), ("auth0|k2", "k2@example.com", True),
        ("auth0|k3", "k3@example.com", False), ("auth0|k4", "k4@example.com", True)]
    assert users[0].given_name == "Kay" and users[1].family_name == "Two"
    notes = [f for f in findings if f.code == "key_spelling"]
    assert all(f.severity is Severity.INFO and f.line is None for f in notes)
    keys = [f.message.split("'")[1] for f in notes]
    assert len(keys) == len(set(keys))  # once per spelling, not once per line
    assert {"Email ", "Email Verified ", "id", " Id ", "EMAIL"} <= set(keys)
    assert len(findings) == len(notes)


def test_csv_is_one_clear_file_level_finding(tmp_path, capsys):
    csv = RW / "users_extension.csv"
    r = build_plan(csv)
    (f,) = list(r.findings)
    assert f.code == "not_json_export" and f.file == "users_extension.csv" and "CSV" in f.message
    assert not export_gate(r).passed
    assert main(["check", "--users", str(csv)]) == 1
    out = capsys.readouterr().out
    assert "users_extension.csv:1  error not_json_export" in out and "invalid_json" not in out


def test_password_export_given_as_users_says_so(tmp_path):
    p = tmp_path / "users.ndjson"
    p.write_bytes(_ndjson([{"_id": {"$oid": "abc"}, "email": "a@example.com", "passwordHash": H}]))
    f = next(f for f in build_plan(p).findings if f.code == "missing_user_id")
    assert "--passwords" in f.message and H not in f.message


def test_flood_of_one_problem_stays_usable_and_nothing_is_dropped(tmp_path, capsys):
    good = [json.dumps(_user(i)) for i in range(1, 11)]
    lines = good[:5] + [f"garbage {i}" for i in range(3000)] + good[5:] + [json.dumps(_user(99, email="bad"))]
    p = tmp_path / "users.ndjson"
    p.write_text("\n".join(lines) + "\n")
    run = tmp_path / "run"
    assert main(["check", "--users", str(p), "--run-dir", str(run), "--samples", "0"]) == 0
    out = capsys.readouterr().out
    assert "by code: invalid_json 3,000, invalid_email 1" in out
    assert out.count(" invalid_json: ") == 5 and "invalid_email: " in out
    assert "and 2,995 more invalid_json (all saved in the run journal)" in out
    with Journal.open(run) as j:
        assert j.finding_counts()[("error", "invalid_json")] == 3000


# ----------------------------------------------------------------------------- emails
def test_email_case_space_unicode_and_idn_duplicates(tmp_path):
    emails = ["  Ann@Example.COM ", "ann@example.com", "ÜSER@exämple.de", "üser@xn--exmple-cua.de",
              "bob+tag@example.com", "bob@example.com", "\uff43arl@example.com", "carl@example.com"]
    p = tmp_path / "users.ndjson"
    p.write_bytes(_ndjson(_user(i, email=e) for i, e in enumerate(emails, 1)))
    r = build_plan(p)
    groups = sorted(p.auth0_ids for p in r.planned if len(p.auth0_ids) > 1)
    assert groups == [("auth0|u1", "auth0|u2"), ("auth0|u3", "auth0|u4")]
    # plus-addressing is a different mailbox, fullwidth ｃarl only looks like carl: never merged
    assert r.summary["planned"] == 6
    assert [f.line for f in r.findings if f.code == "lookalike_email"] == [7, 8]
    primary = next(x for x in r.planned if x.auth0_user_id == "auth0|u1")
    assert primary.request["email"] == "Ann@Example.COM"  # trimmed; WorkOS lower-cases it
    assert normalize_email("X@BÜCHER.de") == "x@xn--bcher-kva.de"


# ----------------------------------------------------------------------------- password export
def test_password_export_crlf_bom_string_id_null_hash_and_newest_row_wins():
    r = build_plan(RW / "users_for_passwords.ndjson", RW / "passwords_crlf_bom.ndjson")
    by = {p.auth0_user_id: p for p in r.planned}
    assert by["auth0|5dea00000000000000000001"].hash_line == 1
    assert by["auth0|5dea00000000000000000002"].hash_line == 2  # "_id" as a plain string
    assert by["auth0|5dea00000000000000000003"].hash_line == 4  # newer row second
    assert by["auth0|5dea00000000000000000004"].hash_line == 5  # newer row first
    five = by["auth0|5dea00000000000000000005"]  # newest hash truncated: the older one is not sent
    assert five.branch == Branch.RESET and five.hash_ref is None and "truncated" in five.reason
    dup = {f.line: f.message for f in r.findings if f.code == "duplicate_hash_row"}
    assert sorted(dup) == [3, 6, 7]
    assert "newest password_set_date" in dup[3] and "older password" in dup[3]
    null = [f for f in r.findings if f.line == 9]
    assert [(f.code, f.severity) for f in null] == [("hash_missing", Severity.INFO)]  # not "unmatched"
    assert r.summary["hash_rows_unmatched"] == 0 and export_gate(r).passed
    with HashReader(RW / "passwords_crlf_bom.ndjson") as reader:
        assert reader.hash_at(by["auth0|5dea00000000000000000003"].hash_ref) == H
        assert reader.hash_at(by["auth0|5dea00000000000000000001"].hash_ref) == H


def test_gzipped_password_export_gives_the_same_plan(tmp_path):
    gz = tmp_path / "passwords.ndjson"  # gzip despite the name
    gz.write_bytes(gzip.compress((RW / "passwords_crlf_bom.ndjson").read_bytes()))
    plain = build_plan(RW / "users_for_passwords.ndjson", RW / "passwords_crlf_bom.ndjson")
    zipped = build_plan(RW / "users_for_passwords.ndjson", gz)
    a = [(p.auth0_user_id, p.branch, p.hash_ref, p.hash_line) for p in plain.planned]
    assert a == [(p.auth0_user_id, p.branch, p.hash_ref, p.hash_line) for p in zipped.planned]
    with HashReader(gz) as reader:
        assert reader.hash_at(next(p for p in zipped.planned if p.hash_line == 4).hash_ref) == H


def test_truncated_gzip_password_export_names_the_last_good_line(tmp_path):
    rows = [{"_id": {"$oid": f"{i:024x}"}, "email": f"u{i}@example.com", "passwordHash": H} for i in range(3000)]
    packed = gzip.compress(_ndjson(rows))
    gz = tmp_path / "passwords.ndjson.gz"
    gz.write_bytes(packed[: len(packed) // 2])
    users = tmp_path / "users.ndjson"
    users.write_bytes(_ndjson([_user(1)]))
    r = build_plan(users, gz)
    (f,) = [f for f in r.findings if f.code == "unreadable_file"]
    good = sum(1 for i in read_password_rows_safe(gz))
    assert f.file == "passwords.ndjson.gz" and f"after line {good}, the last complete one" in f.message
    assert not export_gate(r).passed


def read_password_rows_safe(path):
    it = read_password_rows(path)
    while True:
        try:
            yield next(it)
        except (StopIteration, EOFError, OSError):
            return


@pytest.mark.parametrize(("value", "key"), [
    ({"$date": "2019-12-06T18:36:12.412Z"}, 20191206183612),
    ({"$date": {"$numberLong": "1575657372412"}}, 20191206183612),
    ({"$date": 1575657372412}, 20191206183612),
    ("2019-12-06T18:36:12Z", 20191206183612),
    (1575657372412, 20191206183612),
    (1575657372, 20191206183612),
    (None, 0), ("soon", 0), (True, 0), ({"$date": None}, 0),
])
def test_password_set_date_variants(value, key):
    assert password_set_date_key({"password_set_date": value}) == key


def test_repeated_rows_without_dates_keep_the_first_valid(tmp_path):
    users = tmp_path / "u.ndjson"
    users.write_bytes(_ndjson([{"user_id": "auth0|abc", "email": "a@example.com"}]))
    pw = tmp_path / "p.ndjson"
    pw.write_bytes(_ndjson([{"_id": {"$oid": "abc"}, "passwordHash": h} for h in ("$2b$10$short", H_OLD, H)]))
    r = build_plan(users, pw)
    (p,) = list(r.planned)
    assert p.hash_line == 2
    assert all("no password_set_date" in f.message for f in r.findings if f.code == "duplicate_hash_row")


# ----------------------------------------------------------------------------- journal
def test_save_plan_is_all_or_nothing_when_the_export_changes(tmp_path):
    users = tmp_path / "users.ndjson"
    users.write_bytes(_ndjson(_user(i) for i in range(1, 6)))
    run = tmp_path / "run"
    with Journal.open(run) as j:
        assert save_plan(j, build_plan(users)) == 5
        before = (j.count_users("branch"), j.finding_counts(), j.inputs()["users"]["sha256"])
        result = build_plan(users)
        users.write_bytes(_ndjson(_user(i) for i in range(10, 14)))  # replaced after the check
        with pytest.raises(ExportChangedError) as exc:
            save_plan(j, result)
        assert isinstance(exc.value, JournalError) and "users" in str(exc.value)
        assert (j.count_users("branch"), j.finding_counts(), j.inputs()["users"]["sha256"]) == before


def test_pass_two_refuses_a_file_that_changed_under_the_same_size_and_time(tmp_path):
    users = tmp_path / "users.ndjson"
    users.write_bytes(_ndjson(_user(i) for i in (1, 2, 3)))
    st = users.stat()
    result = build_plan(users)
    users.write_bytes(_ndjson(_user(i) for i in (4, 5, 6)))  # same length
    os.utime(users, ns=(st.st_atime_ns, st.st_mtime_ns))
    run = tmp_path / "run"
    with Journal.open(run) as j:
        with pytest.raises(ExportChangedError):
            save_plan(j, result)
        assert j.count_users("branch") == {} and j.inputs() == {} and j.get_document("plan_summary") is None


def test_check_cli_reports_a_changed_export_and_writes_nothing(tmp_path, capsys, monkeypatch):
    import wizard.core.plan as plan_module  # the check task plans through it

    users = tmp_path / "users.ndjson"
    users.write_bytes(_ndjson(_user(i) for i in (1, 2)))
    real = plan_module.build_plan

    def build_then_change(*a, **kw):
        r = real(*a, **kw)
        users.write_bytes(_ndjson([_user(7)]))
        return r

    monkeypatch.setattr(plan_module, "build_plan", build_then_change)
    run = tmp_path / "run"
    assert main(["check", "--users", str(users), "--run-dir", str(run)]) == 2
    assert "changed" in capsys.readouterr().err
    with Journal.open(run) as j:
        assert j.count_users("branch") == {} and j.findings() == []


def test_finding_store_index_after_spill():
    store = FindingStore(limit=3)
    for i in range(7):
        store.add(Finding("f", i, None, Severity.ERROR, "invalid_json", "m"))
    assert store[0].line == 0 and store[6].line == 6 and len(store) == 7
    top = store.top(5, per_code=2)
    assert [f.line for f in top] == [0, 1]


def test_metadata_keys_option_still_applies_to_loose_keys(tmp_path):
    p = tmp_path / "users.ndjson"
    p.write_bytes(_ndjson([{"Id": "auth0|m1", "Email": "m1@example.com",
                            "User Metadata ": json.dumps({"plan": "pro", "x": 1})}]))
    r = build_plan(p, options=PlanOptions(metadata_keys=("plan",)))
    (x,) = list(r.planned)
    assert x.request["metadata"] == {"auth0_user_id": "auth0|m1", "plan": "pro"}


# ----------------------------------------------------------------------------- not JSON text at all
def _lines5() -> bytes:
    return _ndjson(_user(i) for i in range(1, 6))


@pytest.mark.parametrize(("make", "says"), [
    (lambda: _lines5().decode().encode("utf-16"), "UTF-16"),
    (lambda: _lines5().decode().encode("utf-16-be"), "UTF-16"),
    (lambda: gzip.compress(gzip.compress(_lines5())), "gzip-compressed twice"),
    (lambda: b"PK\x03\x04" + bytes(60), "ZIP archive"),
    (lambda: b"-----BEGIN PGP MESSAGE-----\n\nhQEMA\n-----END PGP MESSAGE-----\n", "PGP-encrypted"),
    (lambda: b"\x85\x01\x0c\x03" + bytes(range(100)), "PGP-encrypted"),
])
def test_wrong_kind_of_file_is_one_file_level_finding(tmp_path, make, says):
    p = tmp_path / "export.ndjson.pgp"
    p.write_bytes(make())
    r = build_plan(p)
    (f,) = list(r.findings)
    assert (f.code, f.line, f.file) == ("not_json_export", None, p.name) and says in f.message
    assert not export_gate(r).passed
    users = tmp_path / "users.ndjson"
    users.write_bytes(_lines5())
    r = build_plan(users, p)  # the same file given as the password export
    errors = [f for f in r.findings if f.severity is Severity.ERROR]
    assert [(f.code, f.file) for f in errors] == [("not_json_export", p.name)] and says in errors[0].message
    assert "Password export readable" in r.blocking
    if says == "PGP-encrypted":
        assert "gpg --output export.ndjson --decrypt export.ndjson.pgp" in f.message
