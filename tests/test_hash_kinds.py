"""Hash kinds as one concept (issue 12): each kind's exact pattern, its password_hash_type, the
bcrypt cost range (issue 11), and the non-bcrypt kinds WorkOS accepts imported end to end."""

from __future__ import annotations

import base64
import hashlib
import json
import os
from pathlib import Path

import pytest

from wizard.cli import main
from wizard.core.hashes import KINDS, WORKOS_HASH_TYPES, classify_hash, describe
from wizard.core.journal import Journal
from wizard.sandbox.workos_emulator import HASH_TYPES

TAIL = "N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy"
SALT = base64.b64encode(b"sixteen-byte-slt").decode().rstrip("=")
DIGEST = base64.b64encode(b"d" * 32).decode().rstrip("=")


def _ssha(password: str, salt: bytes, algo: str = "sha1") -> str:
    tag = "SSHA" if algo == "sha1" else "SSHA256"
    return "{" + tag + "}" + base64.b64encode(hashlib.new(algo, password.encode() + salt).digest() + salt).decode()


def _pbkdf2(password: str, salt: bytes, iterations: int = 1000) -> str:
    dk = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, iterations, 32)
    b64 = lambda b: base64.b64encode(b).decode().rstrip("=")  # noqa: E731 - PHC: unpadded base64
    return f"$pbkdf2-sha256$i={iterations},l=32${b64(salt)}${b64(dk)}"


VALID = {
    "bcrypt": f"$2b$10${TAIL}",
    "argon2": f"$argon2id$v=19$m=65536,t=3,p=4${SALT}${DIGEST}",
    "pbkdf2": _pbkdf2("pw", b"salt-salt-salt"),
    "scrypt": f"$scrypt$ln=16,r=8,p=1${SALT}${DIGEST}",
    "firebase-scrypt": "$firebase-scrypt$hash=lSrfV15cpx95/sZS2W9c9Kp6i/LVgQ==$salt=42xEC+ixf3L2lw==$sk=jxspr8Ki0RYycVU8zykbdLGjFQ3McFUH0uiiTvC8pVMXAn210wjLNmdZJzxUECKbm0QsEmYUSDzZvpjeJ9WmXA==$ss=Bw==$r=8$m=14",
    "ssha": _ssha("pw", b"salt"),
    "ssha256": _ssha("pw", b"salt", "sha256"),
}


def test_the_kinds_are_the_spec_enum_and_the_emulators():
    assert WORKOS_HASH_TYPES == HASH_TYPES == {k.hash_type for k in KINDS}
    assert set(VALID) == {k.name for k in KINDS}  # every kind has a test hash here


@pytest.mark.parametrize("kind", list(VALID))
def test_each_kind_is_recognised_and_described_without_the_hash(kind):
    h = VALID[kind]
    c = classify_hash(h)
    assert (c.ok, c.kind, c.hash_type, c.code) == (True, kind, kind, "hash_ok")
    shown = describe(c, len(h))
    assert h not in shown and h not in c.message and str(len(h)) in shown


@pytest.mark.parametrize("h", [
    "$argon2id$v=19$m=65536,t=3,p=4$c29tZXNhbHQ$short",  # digest too short
    "$argon2x$v=19$m=65536,t=3,p=4$" + SALT + "$" + DIGEST,  # no such variant
    "$pbkdf2-md5$i=1000,l=32$" + SALT + "$" + DIGEST,  # no such digest
    "$pbkdf2-sha256$1000$" + SALT + "$" + DIGEST,  # passlib's layout, not PHC
    "pbkdf2_sha256$260000$salt$hash",  # Django's layout
    "{SSHA}" + base64.b64encode(b"x" * 20).decode(),  # a SHA-1 digest without salt
    "{SSHA}not base64!",
    "{MD5}" + base64.b64encode(b"x" * 16).decode(),
    "$scrypt$ln=16,r=8$" + SALT + "$" + DIGEST,  # p missing
])
def test_near_misses_are_never_sent(h):
    c = classify_hash(h)
    assert not c.ok and c.code == "hash_unsupported" and c.hash_type is None
    assert h not in c.message


@pytest.mark.parametrize("cost, ok", [("00", False), ("03", False), ("04", True), ("31", True),
                                      ("32", False), ("99", False)])
def test_bcrypt_cost_must_be_04_to_31(cost, ok):
    c = classify_hash(f"$2b${cost}${TAIL}")
    assert c.ok is ok
    if not ok:
        assert c.code == "hash_bcrypt_cost" and "04-31" in c.message


def test_out_of_range_bcrypt_cost_is_a_finding_and_a_reset_in_the_cli(tmp_path, capsys):
    users = tmp_path / "users.ndjson"
    rows = tmp_path / "passwords.ndjson"
    users.write_text("".join(json.dumps({"user_id": f"auth0|u{i}", "email": f"u{i}@example.com",
                                         "identities": [{"provider": "auth0", "user_id": f"u{i}",
                                                         "isSocial": False}]}) + "\n" for i in range(3)))
    rows.write_text("".join(json.dumps({"_id": {"$oid": f"u{i}"}, "passwordHash": f"$2b${c}${TAIL}"}) + "\n"
                            for i, c in enumerate(("00", "03", "10"))))
    assert main(["check", "--users", str(users), "--passwords", str(rows), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["summary"]["branches"]["password"] == 1 and data["summary"]["branches"]["reset"] == 2
    assert [f["line"] for f in data["findings"] if f["code"] == "hash_bcrypt_cost"] == [1, 2]


def test_non_bcrypt_hashes_are_imported_as_their_type_and_sign_in(workos_emu, monkeypatch, tmp_path, capsys):
    """PHC pbkdf2 and LDAP {SSHA}/{SSHA256} from a custom-database history reach WorkOS as the
    types the spec names; the emulator verifies them with the old passwords."""
    hashes = {"pbkdf2": _pbkdf2("pw-0", os.urandom(12)), "ssha": _ssha("pw-1", os.urandom(8)),
              "ssha256": _ssha("pw-2", os.urandom(8), "sha256"), "argon2": VALID["argon2"],
              "unknown": "$md5$" + "x" * 30}
    users, rows = tmp_path / "users.ndjson", tmp_path / "passwords.ndjson"
    users.write_text("".join(json.dumps({"user_id": f"auth0|{k}", "email": f"{k}@example.com",
                                         "identities": [{"provider": "auth0", "user_id": k, "isSocial": False}]})
                             + "\n" for k in hashes))
    rows.write_text("".join(json.dumps({"_id": {"$oid": k}, "passwordHash": h}) + "\n" for k, h in hashes.items()))
    for var, value in (("WORKOS_API_KEY", workos_emu.api_key), ("WORKOS_CLIENT_ID", workos_emu.client_id),
                       ("WORKOS_BASE_URL", workos_emu.base_url)):
        monkeypatch.setenv(var, value)
    monkeypatch.chdir(tmp_path)
    run = tmp_path / "run"
    assert main(["import", "--users", str(users), "--passwords", str(rows), "--run-dir", str(run), "--yes"]) == 0
    emu = workos_emu.emulator
    sent = {k: emu.password_kind(emu.user_by_email(f"{k}@example.com")["id"]) for k in hashes}
    assert {f"{k}@example.com": v for k, v in sent.items()} == {"pbkdf2@example.com": "pbkdf2", "ssha@example.com": "ssha", "ssha256@example.com": "ssha256",
                    "argon2@example.com": "argon2", "unknown@example.com": None}
    for i, k in enumerate(("pbkdf2", "ssha", "ssha256")):
        assert emu.password_matches(emu.user_by_email(f"{k}@example.com")["id"], f"pw-{i}"), k
    assert not emu.has_password(emu.user_by_email("unknown@example.com")["id"])  # unrecognised: reset
    with Journal.open(run) as journal:
        assert journal.user("auth0|unknown").branch == "reset"
        assert journal.user("auth0|pbkdf2").request["password_hash_type"] == "pbkdf2"
    for path in Path(run).rglob("*"):  # never a hash in the run folder
        if path.is_file() and path.suffix != ".sqlite":
            assert not any(h in path.read_text(errors="ignore") for h in hashes.values()), path
