"""Reading the users export: formats, key schemes, and one finding per bad input."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

from wizard.core.exports import UsersScan, read_users
from wizard.core.findings import Finding, Severity
from wizard.core.records import Auth0User

FIX = Path(__file__).parent / "fixtures"


def _split(path):
    items = list(read_users(path))
    return [i for i in items if isinstance(i, Auth0User)], [i for i in items if isinstance(i, Finding)]


def _codes(findings):
    return [(f.line, f.code) for f in findings]


def test_api_scheme_fields_and_identities():
    users, _ = _split(FIX / "users_api.ndjson")
    assert len(users) == 20
    ann = users[0]
    assert (ann.line, ann.user_id, ann.email, ann.email_verified) == (1, "auth0|5dea9f9c82dd7c0e76e4ec93",
                                                                    "ann@example.com", True)
    assert (ann.given_name, ann.family_name, ann.connection) == ("Ann", "Lee", "Username-Password-Authentication")
    assert ann.is_database_user and ann.user_metadata == {"locale": "en"}
    judy = next(u for u in users if u.user_id.startswith("samlp|"))
    assert judy.identities[0].provider == "samlp" and not judy.identities[0].is_social
    assert not judy.is_database_user
    noah_github = next(u for u in users if u.user_id == "github|15")
    assert noah_github.identities[0].user_id == "15"  # numeric ids become strings
    leo = next(u for u in users if u.email == "leo@example.com")
    assert leo.blocked is True


def test_extension_scheme_with_string_booleans():
    users, findings = _split(FIX / "users_extension.ndjson")
    assert not findings
    x1, x2, x3, x4 = users
    assert (x1.user_id, x1.email, x1.email_verified, x1.given_name, x1.family_name) == (
        "auth0|ext1", "x1@example.com", True, "Xena", "One")
    assert x1.is_database_user and x1.connection == "Username-Password-Authentication"
    assert x2.email_verified is False and x2.name == "Yuri Two"
    assert x2.identities[0].provider == "google-oauth2" and x2.identities[0].is_social
    assert x3.email_verified is True and x3.identities[0].provider == "samlp" and not x3.blocked
    assert x4.email_verified is None and x4.blocked is True


def test_mixed_schemes_bom_crlf_blank_lines():
    scan = UsersScan(FIX / "users_mixed_bom_crlf.ndjson")
    items = list(scan)
    users = [i for i in items if isinstance(i, Auth0User)]
    assert [i for i in items if isinstance(i, Finding)] == []  # blank lines are not findings
    assert [(u.line, u.user_id, u.email) for u in users] == [
        (1, "auth0|mix1", "m1@example.com"), (3, "auth0|mix2", "m2@example.com"), (5, "auth0|mix3", "m3@example.com")]
    assert users[1].email_verified is True
    assert (users[2].given_name, users[2].family_name) == ("Mixed", "Keys")  # keys of both schemes on one line
    assert scan.blank_lines == 2 and scan.lines_read == 5


def test_every_bad_input_is_a_finding_with_its_line():
    users, findings = _split(FIX / "users_bad.ndjson")
    got = _codes(findings)
    for expected in [(2, "invalid_json"), (3, "missing_user_id"), (4, "malformed_user_id"), (5, "malformed_user_id"),
                     (6, "missing_email"), (7, "invalid_email"), (8, "non_ascii_external_id"),
                     (9, "external_id_too_long"), (10, "duplicate_user_id"), (11, "metadata_too_large"),
                     (12, "invalid_json"), (14, "metadata_too_large")]:
        assert expected in got, expected
    assert len(findings) == 12  # nothing else, and the blank line 13 is not a finding
    by_line = {f.line: f for f in findings}
    assert by_line[2].severity is Severity.ERROR and "column" in by_line[2].message
    assert by_line[6].auth0_user_id == "auth0|noemail" and by_line[6].field == "email"
    assert "at most 128" in by_line[9].message
    meta = by_line[11].message
    assert "user_metadata.bio" in meta and "700 characters" in meta and "longer than 40" in meta
    assert "x" * 50 not in meta  # names keys, never values
    assert "at most 50 metadata keys; 6 not copied: app_metadata.key49" in by_line[14].message
    assert "JSON number" in by_line[5].message
    # users still yielded: lines with a user id (invalid ones are the plan's business)
    assert [u.line for u in users] == [1, 6, 7, 8, 9, 10, 11, 14]


def test_gzip_detected_by_magic_bytes_not_name(tmp_path):
    p = tmp_path / "users.json"  # misleading: gzip inside
    p.write_bytes(gzip.compress((FIX / "users_api.ndjson").read_bytes()))
    scan = UsersScan(p)
    users = [u for u in scan if isinstance(u, Auth0User)]
    assert scan.gzipped and scan.format == "ndjson" and len(users) == 20


def test_plain_file_named_gz_is_read_as_plain(tmp_path):
    p = tmp_path / "users.ndjson.gz"
    p.write_bytes((FIX / "users_extension.ndjson").read_bytes())
    users, findings = _split(p)
    assert len(users) == 4 and not findings


def test_json_array_streamed_with_element_numbers():
    scan = UsersScan(FIX / "users_array.json")
    items = list(scan)
    users = [i for i in items if isinstance(i, Auth0User)]
    findings = [i for i in items if isinstance(i, Finding)]
    assert scan.format == "json-array"
    assert [(u.line, u.user_id) for u in users] == [(1, "auth0|arr1"), (2, "google-oauth2|arr2"), (3, "auth0|arr3")]
    assert _codes(findings) == [(3, "missing_email")]
    assert findings[0].message.startswith("element 3 of the JSON array")


def test_gzipped_json_array_bigger_than_a_chunk(tmp_path):
    rows = [{"user_id": f"auth0|{i:06d}", "email": f"u{i}@example.com", "user_metadata": {"pad": "x" * 500}}
            for i in range(3000)]  # about 1.7 MB: spans several read chunks
    p = tmp_path / "export.bin"
    p.write_bytes(gzip.compress(("\ufeff[" + ",\n".join(json.dumps(r) for r in rows) + "]").encode()))
    users, findings = _split(p)
    assert not findings
    assert [u.user_id for u in users] == [r["user_id"] for r in rows]
    assert users[-1].line == 3000


def test_broken_json_array_stops_with_a_file_level_finding():
    scan = UsersScan(FIX / "users_array_broken.json")
    items = list(scan)
    users = [i for i in items if isinstance(i, Auth0User)]
    findings = [i for i in items if isinstance(i, Finding)]
    assert [u.line for u in users] == [1]
    assert _codes(findings) == [(2, "array_unreadable")]
    assert scan.file_error


def test_blank_file_has_no_users_finding():
    users, findings = _split(FIX / "users_blank.ndjson")
    assert users == [] and _codes(findings) == [(None, "no_users")]


def test_corrupt_gzip_is_unreadable(tmp_path):
    data = gzip.compress((FIX / "users_api.ndjson").read_bytes())
    p = tmp_path / "cut.gz"
    p.write_bytes(data[: len(data) // 2])
    items = list(read_users(p))
    assert any(isinstance(i, Finding) and i.code == "unreadable_file" for i in items)


def test_duplicate_emails_case_and_unicode_normalized():
    _, findings = _split(FIX / "users_api.ndjson")
    dup = [f for f in findings if f.code == "duplicate_email"]
    # ann@ / ANN@ (case): every line of the group listed; ｎｏａｈ@ / noah@ (fullwidth) only look alike
    assert sorted(f.line for f in dup) == [1, 13]
    assert sorted(f.line for f in findings if f.code == "lookalike_email") == [15, 16]
    assert all(f.severity is Severity.WARNING for f in dup)
    assert "lines 1, 13" in next(f for f in dup if f.line == 13).message


def test_non_utf8_line_is_invalid_json(tmp_path):
    p = tmp_path / "u.ndjson"
    p.write_bytes(b'{"user_id": "auth0|a", "email": "a@example.com"}\n{"user_id": "auth0|\xff"}\n')
    users, findings = _split(p)
    assert len(users) == 1 and _codes(findings) == [(2, "invalid_json")]
    assert "UTF-8" in findings[0].message


def test_data_after_json_array_is_reported(tmp_path):
    p = tmp_path / "u.json"
    p.write_text('[{"user_id": "auth0|a", "email": "a@example.com"}]\n  \n{"user_id": "auth0|b"}\n')
    users, findings = _split(p)
    assert [u.user_id for u in users] == ["auth0|a"]
    assert _codes(findings) == [(None, "array_trailing_data")]
    p.write_text('[{"user_id": "auth0|a", "email": "a@example.com"}]\n\n')
    assert _split(p)[1] == []
