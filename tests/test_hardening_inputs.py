"""Hostile inputs end in findings, never a traceback: JSON nested 100,000 levels deep, lone
surrogates in any string field (the journal is written), a line past the cap, a gigabyte-class run
of blank lines counted cheaply, names past the limit, a gzip of zero bytes. Real files, the real
CLI in a subprocess, the WorkOS emulator over HTTP."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
from pathlib import Path

from wizard.core.exports import UsersScan
from wizard.core.findings import Finding
from wizard.core.journal import Journal
from wizard.core.lines import LINE_MAX
from wizard.core.passwords import read_password_rows
from wizard.core.records import Auth0User

GOOD = {"user_id": "auth0|good1", "email": "good1@example.com", "email_verified": True,
        "identities": [{"provider": "auth0", "connection": "Username-Password-Authentication", "isSocial": False}]}


def cli(args: list[str], cwd: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("WORKOS_", "AUTH0_"))}
    return subprocess.run([sys.executable, "-m", "wizard", "--env-file", str(cwd / "absent.env"), *args],
                          cwd=cwd, capture_output=True, text=True, timeout=300, env={**base, **(env or {})},
                          stdin=subprocess.DEVNULL)


def scan(path: Path) -> tuple[list[Auth0User], list[Finding], UsersScan]:
    s = UsersScan(path)
    items = list(s)
    return ([i for i in items if isinstance(i, Auth0User)], [i for i in items if isinstance(i, Finding)], s)


def test_json_nested_100000_levels_is_a_finding_in_users_and_password_files(tmp_path):
    deep = "[" * 100_000 + "]" * 100_000
    users = tmp_path / "users.ndjson"
    users.write_text(json.dumps(GOOD) + "\n" + '{"user_id": "auth0|x", "app_metadata": ' + deep + "}\n")
    array = tmp_path / "users.json"
    array.write_text("[" + json.dumps(GOOD) + ", {\"a\": " + deep + "}]")
    passwords = tmp_path / "passwords.ndjson"
    passwords.write_text('{"_id": {"$oid": "good1"}, "x": ' + deep + "}\n")
    res = cli(["check", "--users", str(users), "--passwords", str(passwords)], tmp_path)
    assert res.returncode in (0, 1) and "Traceback" not in res.stderr, res.stderr
    assert "nested too deeply" in res.stdout and "users.ndjson" in res.stdout and "passwords.ndjson" in res.stdout
    res = cli(["check", "--users", str(array)], tmp_path)
    assert res.returncode == 1 and "Traceback" not in res.stderr, res.stderr
    assert "nested too deeply" in res.stdout


def test_lone_surrogates_in_any_field_reach_the_journal_and_the_import(workos_emu, tmp_path):
    rec = dict(GOOD, given_name="Ann\\ud800", user_metadata={"nick\\udfff": "x\\ud800y"})
    line = json.dumps(rec).replace("\\\\u", "\\u")  # the escapes as JSON spells them
    bad_email = dict(GOOD, user_id="auth0|bad2", email="b\\udc00@example.com")
    users = tmp_path / "users.ndjson"
    users.write_text(line + "\n" + json.dumps(bad_email).replace("\\\\u", "\\u") + "\n")
    assert "\\ud800" in users.read_text()
    env = {"WORKOS_API_KEY": workos_emu.api_key, "WORKOS_CLIENT_ID": workos_emu.client_id,
           "WORKOS_BASE_URL": workos_emu.base_url}
    run_dir = tmp_path / "run"
    res = cli(["import", "--users", str(users), "--run-dir", str(run_dir), "--yes"], tmp_path, env)
    assert "Traceback" not in res.stderr, res.stderr
    assert res.returncode == 0, res.stdout + res.stderr
    with Journal.open(run_dir) as journal:
        codes = {f.code for f in journal.findings()}
        row = journal.user("auth0|good1")
    assert "invalid_unicode" in codes
    assert row.request["first_name"] == "Ann\ufffd"
    remote = {u["external_id"]: u for u in workos_emu.emulator.users.values()}
    assert remote["auth0|good1"]["first_name"] == "Ann\ufffd"
    assert remote["auth0|good1"]["metadata"].get("nick\ufffd") in (None, "x\ufffdy")


def test_a_line_past_the_cap_is_skipped_unread_and_the_next_ones_are_read(tmp_path):
    path = tmp_path / "users.ndjson.gz"
    with gzip.open(path, "wb", compresslevel=1) as gz:
        gz.write(json.dumps(GOOD).encode() + b"\n")
        gz.write(b'{"user_id": "auth0|huge", "name": "' + b"x" * (LINE_MAX + 10) + b'"}\n')
        gz.write(json.dumps(dict(GOOD, user_id="auth0|after", email="after@example.com")).encode() + b"\n")
    users, findings, _ = scan(path)
    assert [u.user_id for u in users] == ["auth0|good1", "auth0|after"] and [u.line for u in users] == [1, 3]
    (too_long,) = [f for f in findings if f.code == "line_too_long"]
    assert too_long.line == 2 and "16 MiB" in too_long.message
    pw = tmp_path / "pw.ndjson"
    pw.write_bytes(b'{"_id": {"$oid": "a"}, "p": "' + b"y" * (LINE_MAX + 1) + b'"}\n{"_id": {"$oid": "b"}}\n')
    rows = list(read_password_rows(pw))
    assert [getattr(r, "code", None) for r in rows][0] == "line_too_long" and rows[1].line == 2


def test_millions_of_blank_lines_are_counted_in_bulk(tmp_path):
    path = tmp_path / "users.ndjson.gz"
    blank = 20_000_000
    with gzip.open(path, "wb", compresslevel=1) as gz:
        gz.write(b"\n" * blank)
        gz.write(json.dumps(GOOD).encode() + b"\n\r\n  \n")
    users, findings, s = scan(path)
    assert [u.line for u in users] == [blank + 1]
    assert s.lines_read == blank + 3 and s.blank_lines == blank + 2
    only_blank = tmp_path / "blank.gz"
    only_blank.write_bytes(gzip.compress(b"\n" * 1000))
    _, findings, _ = scan(only_blank)
    assert any("only blank lines (1000)" in f.message for f in findings)


def test_a_name_past_the_limit_is_not_sent(tmp_path):
    path = tmp_path / "users.ndjson"
    path.write_text(json.dumps(dict(GOOD, given_name="n" * 5_000_000, family_name="Ok")) + "\n")
    users, findings, _ = scan(path)
    assert users[0].given_name is None and users[0].family_name == "Ok"
    assert any(f.code == "name_too_long" and f.field == "given_name" for f in findings)


def test_a_gzip_of_zero_bytes_is_named_for_what_it_is(tmp_path):
    path = tmp_path / "users.json.gz"
    path.write_bytes(gzip.compress(b"\x00" * 4096))
    res = cli(["check", "--users", str(path)], tmp_path)
    assert res.returncode == 1
    assert "only zero bytes" in res.stdout and "UTF-16" not in res.stdout
    utf16 = tmp_path / "utf16.json"
    utf16.write_bytes(json.dumps(GOOD).encode("utf-16-le"))
    res = cli(["check", "--users", str(utf16)], tmp_path)
    assert "UTF-16" in res.stdout  # real UTF-16 is still recognised
