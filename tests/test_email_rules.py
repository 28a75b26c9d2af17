"""Emails as WorkOS compares them (issue 10 §1): look-alikes never merge into a real account, an
unverified address never wins over a verified one, invisible characters and invalid addresses
(email-validator's rules, no DNS) are findings. Real files, the real CLI."""

from __future__ import annotations

import json
import subprocess
import sys

from wizard.core.normalize import email_problem, invisible_character, lookalike_key, normalize_email

TAIL = "N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy"


def _check(tmp_path, users: list[dict], rows: list[dict] | None = None) -> dict:
    up = tmp_path / "users.ndjson"
    up.write_text("".join(json.dumps(u, ensure_ascii=False) + "\n" for u in users), encoding="utf-8")
    args = [sys.executable, "-m", "wizard", "check", "--users", str(up), "--json", "--findings", "50",
            "--samples", "10"]
    if rows is not None:
        pp = tmp_path / "passwords.ndjson"
        pp.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
        args += ["--passwords", str(pp)]
    p = subprocess.run(args, capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    return json.loads(p.stdout)


def _db(uid: str, email: str, verified: bool, last_login: str | None = None) -> dict:
    u = {"user_id": f"auth0|{uid}", "email": email, "email_verified": verified,
         "identities": [{"provider": "auth0", "user_id": uid, "isSocial": False}]}
    if last_login:
        u["last_login"] = last_login
    return u


def test_a_fullwidth_lookalike_is_imported_as_itself_never_as_the_real_account(tmp_path):
    data = _check(tmp_path, [
        _db("real", "alice@example.com", True, "2020-01-01T00:00:00.000Z"),
        _db("fake", "\uff41lice@example.com", False, "2025-06-01T00:00:00.000Z"),  # fullwidth a, newer login
    ], [{"_id": {"$oid": "real"}, "passwordHash": f"$2b$10${TAIL}"},
        {"_id": {"$oid": "fake"}, "passwordHash": f"$2a$10${TAIL}"}])
    s = data["summary"]
    assert s["merged_groups"] == 0 and s["planned"] == 2
    look = [f for f in data["findings"] if f["code"] == "lookalike_email"]
    assert [f["line"] for f in look] == [1, 2] and {f["severity"] for f in look} == {"warning"}
    assert "line 2" in look[0]["message"] and "line 1" in look[1]["message"]
    sent = {x["auth0_ids"][0]: x["request"] for x in data["samples"]}
    assert sent["auth0|real"]["email"] == "alice@example.com" and sent["auth0|real"]["email_verified"] is True
    assert sent["auth0|fake"]["email"] == "\uff41lice@example.com" and sent["auth0|fake"]["email_verified"] is False


def test_an_unverified_address_never_wins_a_merge_over_a_verified_one(tmp_path):
    data = _check(tmp_path, [
        _db("verified", "bob@example.com", True, "2020-01-01T00:00:00.000Z"),
        _db("newer", "BOB@example.com", False, "2025-06-01T00:00:00.000Z"),
    ])
    (merged,) = [x for x in data["samples"] if len(x["auth0_ids"]) > 1]
    assert merged["auth0_ids"] == ["auth0|verified", "auth0|newer"]
    assert merged["request"]["email"] == "bob@example.com" and merged["request"]["email_verified"] is True


def test_invisible_characters_and_invalid_addresses_are_findings_not_sent(tmp_path):
    data = _check(tmp_path, [
        _db("zwsp", "carol\u200b@example.com", True),
        _db("bidi", "dave\u202e@example.com", True),
        _db("dots", "erin..x@example.com", True),
        _db("hyphen", "frank@-example.com", True),
        _db("ok", "gina@exämple.de", True),  # an internationalized domain is fine
    ])
    codes = {f["line"]: f["code"] for f in data["findings"] if f["field"] == "email"}
    assert codes == {1: "email_invisible_character", 2: "email_invisible_character",
                     3: "invalid_email", 4: "invalid_email"}
    msgs = {f["line"]: f["message"] for f in data["findings"] if f["field"] == "email"}
    assert "U+200B ZERO WIDTH SPACE" in msgs[1] and "U+202E" in msgs[2]
    assert data["summary"]["branches"]["invalid"] == 4 and data["summary"]["planned"] == 1


def test_the_keys():
    assert normalize_email(" Ann@Example.COM ") == "ann@example.com"
    assert normalize_email("ÜSER@Exämple.de") == "üser@xn--exmple-cua.de" == normalize_email("üser@xn--exmple-cua.de")
    assert normalize_email("\uff41lice@example.com") != normalize_email("alice@example.com")
    assert lookalike_key("\uff41lice@example.com") == lookalike_key("alice@example.com")
    assert invisible_character("a\u200d@example.com") == "U+200D ZERO WIDTH JOINER"
    assert email_problem("ann@example.com") is None and email_problem("a@b.test") is not None
