"""Synthetic Auth0 exports for benchmarks: realistic line shapes, fast to write (no real bcrypt).

Hashes only need to match the bcrypt pattern, so a few precomputed 53-character tails are varied
with the row number instead of running bcrypt a million times.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

_TAILS = (
    "N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy",
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0",
    "x./Kk2Qw9Rt1Yu8Io7Pa6Sd5Fg4Hj3Kl2Zx1Cv0Bn9Mm8Qq7Ww6Ee",
)


def fake_hash(i: int) -> str:
    tail = _TAILS[i % len(_TAILS)]
    s = f"{i:x}"
    return "$2b$10$" + s + tail[len(s):]


def user_line(i: int) -> str:
    """One users-export line; the mix: 80% database (1 in 8 without a hash), 14% social,
    5% SAML, 1% blocked, and 1 in 500 emails repeated by a social user."""
    kind = i % 100
    oid = f"{i:024x}"
    email = f"user{i}@example.com"
    if kind < 80 or kind == 99:
        uid, ident = f"auth0|{oid}", {"connection": "Username-Password-Authentication", "provider": "auth0",
                                      "user_id": oid, "isSocial": False}
    elif kind < 94:
        uid, ident = f"google-oauth2|{10**20 + i}", {"connection": "google-oauth2", "provider": "google-oauth2",
                                                      "user_id": str(10**20 + i), "isSocial": True}
        if i % 500 == 80:
            email = f"user{i - 1}@example.com"  # same person, second connection
    else:
        uid, ident = f"samlp|acme|{email}", {"connection": "acme", "provider": "samlp",
                                              "user_id": f"acme|{email}", "isSocial": False}
    d = {
        "user_id": uid, "email": email, "email_verified": i % 3 != 0, "given_name": f"Given{i}",
        "family_name": "Family", "name": f"Given{i} Family", "nickname": f"user{i}",
        "created_at": "2021-03-04T05:06:07.000Z", "updated_at": "2024-03-04T05:06:07.000Z",
        "last_login": f"2024-{1 + i % 12:02d}-{1 + i % 28:02d}T10:00:00.000Z", "logins_count": i % 50,
        "identities": [ident], "app_metadata": {"plan": "pro", "roles": ["admin"]} if i % 4 == 0 else {},
        "user_metadata": {"locale": "en"},
    }
    if kind == 99:
        d["blocked"] = True
    return json.dumps(d, separators=(",", ":"))


def hash_line(i: int, *, orphan: bool = False) -> str | None:
    """The hash row of user `i` (None for users without one: not database, or 1 in 8 database
    users); `orphan` writes a row for a user that is not in the users export."""
    kind = i % 100
    if not orphan and (not (kind < 80 or kind == 99) or i % 8 == 7):
        return None
    return json.dumps({
        "_id": {"$oid": f"{i:024x}"}, "email_verified": i % 3 != 0, "email": f"user{i}@example.com",
        "passwordHash": fake_hash(i), "password_set_date": {"$date": "2019-12-06T18:36:12.412Z"},
        "tenant": "bench", "connection": "Username-Password-Authentication", "_tmp_is_unique": True,
    }, separators=(",", ":"))


def _open_users(path: Path, gz: bool):
    if gz:
        return gzip.open(path, "wt", encoding="utf-8", compresslevel=1)
    return open(path, "w", encoding="utf-8")  # noqa: SIM115 - returned to a with statement


def write_exports(dest: Path, n: int, *, gzip_users: bool = True, hashes: int | None = None) -> tuple[Path, Path]:
    """Write `n` users (gzipped NDJSON, like the Auth0 job) and their hash rows; returns both paths.
    `hashes` (default: none extra) pads the password export with rows of users that are not in the
    users export (deleted users: each becomes a `hash_unmatched` warning) up to that many rows."""
    dest.mkdir(parents=True, exist_ok=True)
    users = dest / ("users.ndjson.gz" if gzip_users else "users.ndjson")
    pw = dest / "passwords.ndjson"
    written = 0
    with _open_users(users, gzip_users) as fu, open(pw, "w", encoding="utf-8") as fp:
        batch_u: list[str] = []
        batch_p: list[str] = []
        for i in range(n):
            batch_u.append(user_line(i))
            h = hash_line(i)
            if h:
                batch_p.append(h)
                written += 1
            if len(batch_u) >= 10000:
                fu.write("\n".join(batch_u) + "\n")
                if batch_p:
                    fp.write("\n".join(batch_p) + "\n")
                batch_u, batch_p = [], []
        if batch_u:
            fu.write("\n".join(batch_u) + "\n")
        if batch_p:
            fp.write("\n".join(batch_p) + "\n")
        i = n
        while hashes is not None and written < hashes:
            batch_p = []
            while written < hashes and len(batch_p) < 10000:
                batch_p.append(hash_line(i, orphan=True))
                written += 1
                i += 1
            fp.write("\n".join(batch_p) + "\n")
    return users, pw
