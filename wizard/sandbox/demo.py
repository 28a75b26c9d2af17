"""A deterministic demo Auth0 tenant: the users, hashes, organizations and MFA a real tenant has.

One seed gives the same tenant every time (same ids, names, passwords and bcrypt salts), so tests
and the `auth0-workos sandbox` rehearsal can name exact users. Building it hashes ~24 passwords
with bcrypt cost 10 (about a second); the result is cached per process and copied on each call.
"""

from __future__ import annotations

import copy
import gzip
import json
import random
import unicodedata
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from functools import lru_cache
from pathlib import Path
from typing import Any

import bcrypt

from wizard.core.rundir import write_private
from wizard.sandbox.demo_sso import add_enterprise_connections

DB_CONNECTION = "Username-Password-Authentication"
TENANT_NAME = "sandbox"
_BCRYPT64 = "./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
_FOLD = str.maketrans({"ø": "o", "Ø": "O", "æ": "ae", "Æ": "AE", "ß": "ss", "đ": "d", "ł": "l"})
_EPOCH = datetime(2023, 1, 9, 8, 0, tzinfo=timezone.utc)

# Every field the wizard asks the export job for; the demo export carries the same set.
EXPORT_FIELDS = (
    "user_id", "email", "email_verified", "given_name", "family_name", "name", "nickname",
    "username", "phone_number", "phone_verified", "picture", "identities", "app_metadata",
    "user_metadata", "blocked", "created_at", "updated_at", "last_login", "last_ip",
    "logins_count", "multifactor",
)

FIRST_NAMES = ["Ada", "Grace", "Linus", "Margaret", "Alan", "Katherine", "Dennis", "Barbara",
               "Ken", "Frances", "Edsger", "Radia", "Tim", "Hedy", "John", "Annie", "Donald",
               "Mary", "Niklaus", "Sophie", "Guido", "Karen", "Bjarne", "Jean", "Whitfield",
               "Adele", "Leslie", "Shafi", "Yukihiro", "Joan"]
LAST_NAMES = ["Lovelace", "Hopper", "Torvalds", "Hamilton", "Turing", "Johnson", "Ritchie",
              "Liskov", "Thompson", "Allen", "Dijkstra", "Perlman", "Berners-Lee", "Lamarr",
              "Backus", "Easley", "Knuth", "Keller", "Wirth", "Wilson", "van Rossum", "Jones",
              "Stroustrup", "Sammet", "Diffie", "Goldberg", "Lamport", "Goldwasser", "Matsumoto",
              "Clarke"]
# Names that must survive the trip intact (accents, CJK, Cyrillic, apostrophes, right-to-left).
UNICODE_NAMES = [("Zoë", "Ångström"), ("José", "Álvarez-Núñez"), ("雷", "李"), ("Дмитрий", "Иванов"),
                 ("Siobhán", "O'Brien"), ("Søren", "Kierkegård"), ("سارا", "کریمی"),
                 ("Ngọc", "Trần")]
WORDS = ["Maple", "Harbor", "Quartz", "Falcon", "Cedar", "Nimbus", "Ember", "Lagoon", "Summit",
         "Willow", "Aurora", "Basalt", "Comet", "Delta", "Fjord", "Glacier", "Horizon", "Indigo",
         "Juniper", "Kestrel", "Lumen", "Meadow", "Nova", "Orchid"]


@dataclass
class ExportFiles:
    users_path: Path
    passwords_path: Path


@dataclass
class DemoTenant:
    """An Auth0 tenant as its Management API and its exports show it. Treat as read-only."""

    seed: int
    domain: str
    users: list[dict[str, Any]]  # Management API user objects
    password_rows: list[dict[str, Any]]  # rows of Auth0's password-hash export, in file order
    organizations: list[dict[str, Any]]
    members: dict[str, list[dict[str, Any]]]  # org id -> members
    connections: list[dict[str, Any]]
    org_connections: dict[str, list[dict[str, Any]]]  # org id -> enabled connections
    discovery_domains: dict[str, list[dict[str, Any]]]  # org id -> discovery domains
    auth_methods: dict[str, list[dict[str, Any]]]  # user id -> authentication methods
    guardian_factors: list[dict[str, Any]]
    roles: list[dict[str, Any]]
    credentials: list[tuple[str, str]]  # (email, password): sign in after import
    passwords: dict[str, str] = field(default_factory=dict)  # user id -> demo password (hashed users)
    notes: dict[str, str] = field(default_factory=dict)  # case name -> user id (or row id), for tests
    role_permissions: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # role id -> permissions
    user_roles: dict[str, list[str]] = field(default_factory=dict)  # user id -> tenant-level role ids

    def user(self, user_id: str) -> dict[str, Any]:
        return next(u for u in self.users if u["user_id"] == user_id)

    def users_by_email(self, email: str) -> list[dict[str, Any]]:
        e = email.strip().lower()
        return [u for u in self.users if (u.get("email") or "").lower() == e]


def demo_tenant(seed: int = 7, users: int | None = None) -> DemoTenant:
    """The demo tenant for `seed` (built once per process; each call gets its own copy). `users`
    above the base tenant's size adds generated users up to that count (a rehearsal at scale)."""
    if users is not None and users > len(_build(seed).users):
        return copy.deepcopy(_scaled(seed, users))
    return copy.deepcopy(_build(seed))


# ----- scaling: many users in seconds -----
# bcrypt is the cost of a big tenant: a few real hashes of known passwords are computed once and
# shared by the generated users, so every generated password user still signs in for real.
SCALE_PASSWORDS = ("Rehearsal-maple-41!", "Rehearsal-cedar-52!", "Rehearsal-comet-63!", "Rehearsal-fjord-74!")
_SCALE_KINDS = ("password",) * 6 + ("reset", "google-oauth2", "google-oauth2", "github")  # 60% password users


@lru_cache(maxsize=2)
def _scale_hashes(seed: int) -> tuple[str, ...]:
    rng = random.Random(seed * 7919)
    salts = ["".join(rng.choice(_BCRYPT64) for _ in range(21)) + rng.choice(".Oeu") for _ in SCALE_PASSWORDS]
    with ThreadPoolExecutor(max_workers=4) as pool:
        return tuple(h for _, h in pool.map(_hash, [("", pw, salt, "$2b$") for pw, salt in
                                                    zip(SCALE_PASSWORDS, salts, strict=True)]))


@lru_cache(maxsize=2)
def _scaled(seed: int, users: int) -> DemoTenant:
    """The base tenant plus generated users (deterministic for seed and count): database users with
    one of SCALE_PASSWORDS, users without a hash (reset branch) and social users."""
    base = copy.deepcopy(_build(seed))
    hashes = _scale_hashes(seed)
    rng = random.Random(seed * 104729 + users)
    credentials = list(base.credentials)
    for i in range(users - len(base.users)):
        kind = _SCALE_KINDS[i % len(_SCALE_KINDS)]
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        email = f"{first}.{last}.{i:06d}@rehearsal.example".lower().replace(" ", "").replace("'", "")
        created = _EPOCH + timedelta(days=rng.randint(0, 700), seconds=rng.randint(0, 86399))
        local = f"{rng.getrandbits(96):024x}" if kind in ("password", "reset") else str(10**20 + i)
        provider = "auth0" if kind in ("password", "reset") else kind
        connection = DB_CONNECTION if provider == "auth0" else provider
        user = {"user_id": f"{provider}|{local}", "email": email, "email_verified": True,
                "given_name": first, "family_name": last, "name": f"{first} {last}",
                "nickname": email.split("@")[0],
                "identities": [{"connection": connection, "provider": provider, "user_id": local,
                                "isSocial": provider != "auth0"}],
                "app_metadata": {}, "user_metadata": {}, "created_at": _iso(created),
                "updated_at": _iso(created + timedelta(days=1)), "last_login": _iso(created + timedelta(days=2)),
                "logins_count": rng.randint(1, 300)}
        base.users.append(user)
        if kind == "password":
            k = i % len(SCALE_PASSWORDS)
            base.password_rows.append({
                "_id": {"$oid": local}, "email_verified": True, "email": email, "passwordHash": hashes[k],
                "password_set_date": {"$date": user["created_at"]}, "tenant": TENANT_NAME,
                "connection": DB_CONNECTION, "_tmp_is_unique": True,
                "identifiers": [{"type": "email", "value": email, "verified": True}]})
            base.passwords[user["user_id"]] = SCALE_PASSWORDS[k]
            if len(credentials) < len(base.credentials) + 3:
                credentials.append((email, SCALE_PASSWORDS[k]))
    base.credentials = credentials
    return base


def write_exports(tenant: DemoTenant, dest_dir: str | Path) -> ExportFiles:
    """Write the users export (gzipped NDJSON, Management API job format) and the password export."""
    dest = Path(dest_dir)
    dest.mkdir(parents=True, exist_ok=True)
    users_path = dest / f"{TENANT_NAME}-users.json.gz"
    passwords_path = dest / f"{TENANT_NAME}-passwords.json"
    lines = [json.dumps({k: user[k] for k in EXPORT_FIELDS if k in user}, ensure_ascii=False)
             for user in tenant.users]
    write_private(users_path, gzip.compress(("\n".join(lines) + "\n").encode("utf-8"), mtime=0))
    write_private(passwords_path, "".join(json.dumps(row, ensure_ascii=False) + "\n"
                                          for row in tenant.password_rows))
    return ExportFiles(users_path=users_path, passwords_path=passwords_path)


# ----- building -----
def _iso(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}Z"


class _Builder:
    def __init__(self, seed: int):
        self.rng = random.Random(seed)
        self.seed = seed
        self.users: list[dict[str, Any]] = []
        self.hash_jobs: list[tuple[str, str, str, str]] = []  # user id, password, salt, prefix
        self.passwords: dict[str, str] = {}
        self.notes: dict[str, str] = {}
        self.used_names: set[tuple[str, str]] = set()

    def hex(self, n: int) -> str:
        return "".join(self.rng.choice("0123456789abcdef") for _ in range(n))

    def digits(self, n: int) -> str:
        return str(self.rng.randint(1, 9)) + "".join(self.rng.choice("0123456789") for _ in range(n - 1))

    def alnum(self, n: int) -> str:
        return "".join(self.rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")
                       for _ in range(n))

    def when(self, max_days: int = 700) -> datetime:
        return _EPOCH + timedelta(days=self.rng.randint(0, max_days), seconds=self.rng.randint(0, 86399),
                                  milliseconds=self.rng.randint(0, 999))

    def name(self) -> tuple[str, str]:
        while True:
            pair = (self.rng.choice(FIRST_NAMES), self.rng.choice(LAST_NAMES))
            if pair not in self.used_names:
                self.used_names.add(pair)
                return pair

    def email_for(self, first: str, last: str, domain: str) -> str:
        name = f"{first}.{last}".translate(_FOLD)
        ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
        local = ascii_name.lower().replace(" ", "").replace("'", "")
        if not local.strip(".") or local.startswith(".") or local.endswith("."):
            local = f"user{self.digits(5)}"
        return f"{local}@{domain}"

    def add(self, *, kind: str, first: str | None, last: str | None, email: str | None,
            verified: bool = True, connection: str | None = None, blocked: bool = False,
            names: bool = True, email_case: str | None = None, mfa: bool = False) -> dict[str, Any]:
        created = self.when()
        updated = created + timedelta(days=self.rng.randint(0, 90))
        last_login = updated + timedelta(hours=self.rng.randint(1, 2000))
        if kind == "auth0":
            local_id = self.hex(24)
            ident = {"connection": DB_CONNECTION, "provider": "auth0", "user_id": local_id,
                     "isSocial": False}
        elif kind == "google-oauth2":
            local_id = self.digits(21)
            ident = {"connection": "google-oauth2", "provider": "google-oauth2", "user_id": local_id,
                     "isSocial": True}
        elif kind == "github":
            local_id = self.digits(8)
            ident = {"connection": "github", "provider": "github", "user_id": local_id, "isSocial": True}
        elif kind == "windowslive":
            local_id = self.hex(16)
            ident = {"connection": "windowslive", "provider": "windowslive", "user_id": local_id,
                     "isSocial": True}
        elif kind == "samlp":
            local_id = f"{connection}|{email}"
            ident = {"connection": connection, "provider": "samlp", "user_id": local_id,
                     "isSocial": False}
        else:  # pragma: no cover - programming error
            raise ValueError(kind)
        user: dict[str, Any] = {"user_id": f"{kind}|{local_id}"}
        if email is not None:
            user["email"] = email_case or email
            user["email_verified"] = verified
        if names and (first or last):
            if first:
                user["given_name"] = first
            if last:
                user["family_name"] = last
            user["name"] = " ".join(p for p in (first, last) if p)
        elif email is not None and kind == "auth0":
            user["name"] = user["email"]  # Auth0 fills name with the email when none is given
        user["nickname"] = (email or f"{first or 'user'}").split("@")[0]
        user["picture"] = f"https://s.gravatar.com/avatar/{self.hex(32)}?s=480&r=pg&d=identicon"
        user["identities"] = [ident]
        user["app_metadata"] = {}
        user["user_metadata"] = {}
        user["created_at"] = _iso(created)
        user["updated_at"] = _iso(updated)
        user["last_login"] = _iso(last_login)
        user["last_ip"] = f"203.0.113.{self.rng.randint(1, 254)}"
        user["logins_count"] = self.rng.randint(1, 300)
        if blocked:
            user["blocked"] = True
        if mfa:
            user["multifactor"] = ["guardian"]
        self.users.append(user)
        return user

    def with_password(self, user: dict[str, Any], prefix: str = "$2b$") -> str:
        password = f"{self.rng.choice(WORDS)}-{self.rng.choice(WORDS).lower()}-{self.rng.randint(10, 99)}!"
        salt = "".join(self.rng.choice(_BCRYPT64) for _ in range(21)) + self.rng.choice(".Oeu")
        self.hash_jobs.append((user["user_id"], password, salt, prefix))
        self.passwords[user["user_id"]] = password
        return password


def _hash(job: tuple[str, str, str, str]) -> tuple[str, str]:
    user_id, password, salt, prefix = job
    hashed = bcrypt.hashpw(password.encode(), f"$2b$10${salt}".encode()).decode()
    return user_id, prefix + hashed[4:]  # $2a$/$2y$ are the same algorithm with another label


@lru_cache(maxsize=4)
def _build(seed: int) -> DemoTenant:  # noqa: C901 - one linear script of cases reads best
    b = _Builder(seed)
    orgs_spec = [  # name, display name, primary domain, metadata
        ("acme", "Acme Corp", "acme.example", {"domains": "acme.example, acme-corp.example"}),
        ("globex", "Globex Corporation", "globex.example", {"domain": "globex.example"}),
        ("initech", "Initech", "initech.example", {"tier": "gold"}),
        ("umbrella", "Umbrella Health", "umbrella.example",
         {"domains": "umbrella.example;umbrella-health.example", "region": "eu"}),
    ]
    personal = ["example.com", "example.org", "example.net"]
    org_domains = [spec[2] for spec in orgs_spec]

    # --- database users with real bcrypt hashes (the password branch) ---
    db_hashed: list[dict[str, Any]] = []
    for i in range(20):
        first, last = UNICODE_NAMES[i] if i < len(UNICODE_NAMES) else b.name()
        domain = org_domains[i % 4] if i % 3 != 2 else personal[i % 3]
        email = b.email_for(first, last, domain)
        mfa = i in (1, 4, 6, 9, 11, 13, 15)
        user = b.add(kind="auth0", first=first, last=last, email=email, mfa=mfa)
        prefix = "$2a$" if i in (3, 8) else "$2y$" if i in (5,) else "$2b$"
        b.with_password(user, prefix)
        db_hashed.append(user)
    b.notes["bcrypt_2a"] = db_hashed[3]["user_id"]
    b.notes["bcrypt_2y"] = db_hashed[5]["user_id"]
    b.notes["unicode_name"] = db_hashed[2]["user_id"]
    # one with no names at all and one whose name is just the email
    noname = b.add(kind="auth0", first=None, last=None, email=f"no.name.{b.digits(3)}@example.com",
                   names=False)
    b.with_password(noname)
    b.notes["missing_names"] = noname["user_id"]
    # blocked database user with a hash
    first, last = b.name()
    blocked_db = b.add(kind="auth0", first=first, last=last, email=b.email_for(first, last, "example.org"),
                       blocked=True)
    b.with_password(blocked_db)
    b.notes["blocked_database"] = blocked_db["user_id"]
    # unverified database user with a hash
    first, last = b.name()
    unverified_db = b.add(kind="auth0", first=first, last=last,
                          email=b.email_for(first, last, "example.net"), verified=False)
    b.with_password(unverified_db)
    b.notes["unverified_database"] = unverified_db["user_id"]
    # the same person through the database and Google (email differs in case only)
    first, last = b.name()
    shared_email = b.email_for(first, last, "example.com")
    dup_db = b.add(kind="auth0", first=first, last=last, email=shared_email)
    b.with_password(dup_db)
    # Auth0 lower-cases database emails; social providers hand over whatever case they have
    dup_google = b.add(kind="google-oauth2", first=first, last=last, email=shared_email,
                       email_case=shared_email.split("@")[0].title() + "@Example.com")
    b.notes["duplicate_email_database"] = dup_db["user_id"]
    b.notes["duplicate_email_google"] = dup_google["user_id"]

    # --- database users without a usable hash (the reset branch) ---
    first, last = b.name()
    no_hash = b.add(kind="auth0", first=first, last=last, email=b.email_for(first, last, "initech.example"))
    b.notes["no_hash"] = no_hash["user_id"]
    first, last = b.name()
    no_hash2 = b.add(kind="auth0", first=first, last=last, email=b.email_for(first, last, "example.org"))
    b.notes["no_hash_2"] = no_hash2["user_id"]
    first, last = b.name()
    truncated = b.add(kind="auth0", first=first, last=last, email=b.email_for(first, last, "example.net"))
    b.notes["truncated_hash"] = truncated["user_id"]
    # a legacy database user whose Auth0 id comes from alt_id
    first, last = b.name()
    alt_user = b.add(kind="auth0", first=first, last=last, email=b.email_for(first, last, "globex.example"))
    alt_id = f"legacy-{b.digits(5)}"
    alt_user["user_id"] = f"auth0|{alt_id}"
    alt_user["identities"][0]["user_id"] = alt_id
    b.with_password(alt_user)
    b.notes["alt_id"] = alt_user["user_id"]

    # --- social users ---
    socials: list[dict[str, Any]] = []
    for i in range(9):
        first, last = b.name()
        socials.append(b.add(kind="google-oauth2", first=first, last=last,
                             email=b.email_for(first, last, "example.com" if i % 2 else "example.net"),
                             mfa=i == 2))
    first, last = b.name()
    blocked_google = b.add(kind="google-oauth2", first=first, last=last,
                           email=b.email_for(first, last, "example.org"), blocked=True)
    b.notes["blocked_social"] = blocked_google["user_id"]
    for i in range(5):
        first, last = b.name()
        gh = b.add(kind="github", first=first, last=last, email=b.email_for(first, last, "example.org"),
                   verified=i != 1)
        if i == 1:
            b.notes["unverified_social"] = gh["user_id"]
    no_email = b.add(kind="github", first="Octo", last="Cat", email=None)
    b.notes["no_email"] = no_email["user_id"]
    for _ in range(5):
        first, last = b.name()
        b.add(kind="windowslive", first=first, last=last, email=b.email_for(first, last, "example.net"))

    # --- enterprise (SAML) users ---
    saml: dict[str, list[dict[str, Any]]] = {"acme-saml": [], "globex-saml": []}
    for conn, domain, count in (("acme-saml", "acme.example", 6), ("globex-saml", "globex.example", 3)):
        for _ in range(count):
            first, last = b.name()
            saml[conn].append(b.add(kind="samlp", first=first, last=last,
                                    email=b.email_for(first, last, domain), connection=conn))
    b.notes["saml"] = saml["acme-saml"][0]["user_id"]

    # --- hashes (in parallel: bcrypt releases the GIL) ---
    with ThreadPoolExecutor(max_workers=4) as pool:
        hashes = dict(pool.map(_hash, b.hash_jobs))

    # --- the password export ---
    rows: list[dict[str, Any]] = []
    by_id = {u["user_id"]: u for u in b.users}

    def row_for(user: dict[str, Any], password_hash: str, **variant: Any) -> dict[str, Any]:
        local = user["user_id"].split("|", 1)[1]
        oid = local if not variant.get("alt_id") else b.hex(24)
        email = user["email"].lower()
        verified = bool(user.get("email_verified"))
        row: dict[str, Any] = {variant.get("id_key", "_id"): {"$oid": oid}}
        if not variant.get("identifiers_only"):
            row["email_verified"] = verified
            row["email"] = email
        row["passwordHash"] = password_hash
        row["password_set_date"] = {"$date": user["created_at"]}
        row["tenant"] = TENANT_NAME
        row["connection"] = DB_CONNECTION
        row["_tmp_is_unique"] = True
        row["identifiers"] = [{"type": "email", "value": email, "verified": verified}]
        if variant.get("alt_id"):
            row["alt_id"] = variant["alt_id"]
        return row

    id_key_user = db_hashed[7]["user_id"]
    identifiers_only_user = db_hashed[10]["user_id"]
    b.notes["row_uses__ID"] = id_key_user
    b.notes["row_email_only_in_identifiers"] = identifiers_only_user
    for user in b.users:
        uid = user["user_id"]
        if uid in hashes:
            variant: dict[str, Any] = {}
            if uid == id_key_user:
                variant["id_key"] = "_ID"
            if uid == identifiers_only_user:
                variant["identifiers_only"] = True
            if uid == alt_user["user_id"]:
                variant["alt_id"] = alt_id
            rows.append(row_for(user, hashes[uid], **variant))
        elif uid == truncated["user_id"]:
            full = _hash((uid, "never-used", "".join(b.rng.choice(_BCRYPT64) for _ in range(21)) + ".",
                          "$2b$"))[1]
            rows.append(row_for(user, full[:41]))  # cut short: must never be sent as bcrypt
    orphan_email = f"departed.{b.digits(4)}@example.com"
    orphan = {"_id": {"$oid": b.hex(24)}, "email_verified": True, "email": orphan_email,
              "passwordHash": hashes[db_hashed[0]["user_id"]][:7] + "".join(
                  b.rng.choice(_BCRYPT64) for _ in range(53)),
              "password_set_date": {"$date": _iso(b.when())}, "tenant": TENANT_NAME,
              "connection": DB_CONNECTION, "_tmp_is_unique": True,
              "identifiers": [{"type": "email", "value": orphan_email, "verified": True}]}
    rows.insert(len(rows) // 2, orphan)
    b.notes["orphan_row_email"] = orphan_email

    # --- connections ---
    def conn_id() -> str:
        return f"con_{b.alnum(16)}"

    connections = [
        {"id": conn_id(), "name": DB_CONNECTION, "display_name": DB_CONNECTION, "strategy": "auth0",
         "realms": [DB_CONNECTION], "is_domain_connection": False,
         "options": {"brute_force_protection": True, "passwordPolicy": "good",
                     "requires_username": False, "mfa": {"active": True}}},
        {"id": conn_id(), "name": "google-oauth2", "display_name": "Google", "strategy": "google-oauth2",
         "realms": ["google-oauth2"], "is_domain_connection": False, "options": {"email": True, "profile": True}},
        {"id": conn_id(), "name": "github", "display_name": "GitHub", "strategy": "github",
         "realms": ["github"], "is_domain_connection": False, "options": {"email": True}},
        {"id": conn_id(), "name": "windowslive", "display_name": "Microsoft Account",
         "strategy": "windowslive", "realms": ["windowslive"], "is_domain_connection": False,
         "options": {"signin": True}},
        {"id": conn_id(), "name": "acme-saml", "display_name": "Acme Okta", "strategy": "samlp",
         "realms": ["acme-saml"], "is_domain_connection": False,
         "options": {"domain_aliases": ["acme.example", "acme-corp.example"],
                     "signInEndpoint": "https://idp.acme.example/sso/saml"}},
        {"id": conn_id(), "name": "globex-saml", "display_name": "Globex ADFS", "strategy": "samlp",
         "realms": ["globex-saml"], "is_domain_connection": False,
         "options": {"domain_aliases": ["globex.example"],
                     "signInEndpoint": "https://adfs.globex.example/adfs/ls"}},
    ]
    conn_by_name = {c["name"]: c for c in connections}

    # --- roles and organizations ---
    roles = [{"id": f"rol_{b.alnum(16)}", "name": "admin", "description": "Organization administrator"},
             {"id": f"rol_{b.alnum(16)}", "name": "member", "description": "Organization member"}]
    organizations: list[dict[str, Any]] = []
    members: dict[str, list[dict[str, Any]]] = {}
    org_connections: dict[str, list[dict[str, Any]]] = {}
    discovery: dict[str, list[dict[str, Any]]] = {}
    for name, display, primary, metadata in orgs_spec:
        oid = f"org_{b.alnum(16)}"
        organizations.append({"id": oid, "name": name, "display_name": display,
                              "metadata": metadata,
                              "branding": {"colors": {"primary": "#3b5bdb",
                                                      "page_background": "#ffffff"}}})
        mem_users = [u for u in b.users if (u.get("email") or "").lower().endswith("@" + primary)
                     and not u.get("blocked")]
        members[oid] = []
        for k, u in enumerate(mem_users):
            member = {"user_id": u["user_id"], "email": u["email"], "picture": u["picture"],
                      "name": u.get("name") or u["email"]}
            member["roles"] = [{"id": roles[0]["id"], "name": "admin"}] if k == 0 else \
                [{"id": roles[1]["id"], "name": "member"}]
            member["roles"] += _extra_member_roles(k)
            members[oid].append(member)
        enabled = [conn_by_name[DB_CONNECTION]]
        if name == "acme":
            enabled.append(conn_by_name["acme-saml"])
        if name == "globex":
            enabled.append(conn_by_name["globex-saml"])
        if name == "umbrella":
            enabled.append(conn_by_name["google-oauth2"])
        org_connections[oid] = [
            {"connection_id": c["id"], "assign_membership_on_login": c["strategy"] == "samlp",
             "show_as_button": True, "is_signup_enabled": False,
             "connection": {"name": c["name"], "strategy": c["strategy"]}} for c in enabled]
        doms: list[tuple[str, str]] = []
        if name == "acme":
            doms = [("acme.example", "verified")]
        elif name == "globex":
            doms = [("globex.example", "verified"), ("globex-labs.example", "pending")]
        elif name == "initech":
            doms = [("initech.example", "pending")]
        discovery[oid] = [{"id": f"dd_{b.alnum(16)}", "domain": d, "status": s,
                           "use_for_organization_discovery": s == "verified",
                           "verification_txt": f"auth0-domain-verification={b.alnum(24)}",
                           "verification_host": f"_auth0-challenge.{d}"} for d, s in doms]
    # a consultant who belongs to two organizations
    consultant = db_hashed[0]
    umbrella_id = organizations[3]["id"]
    if not any(m["user_id"] == consultant["user_id"] for m in members[umbrella_id]):
        members[umbrella_id].append({"user_id": consultant["user_id"], "email": consultant["email"],
                                     "picture": consultant["picture"], "name": consultant["name"],
                                     "roles": [{"id": roles[1]["id"], "name": "member"}]})
    b.notes["two_orgs_member"] = consultant["user_id"]
    for case, conn_name in add_enterprise_connections(seed, connections, org_connections, organizations).items():
        b.notes[f"sso_{case}"] = conn_name  # enterprise SSO (issue 13)

    # --- MFA enrollments ---
    auth_methods: dict[str, list[dict[str, Any]]] = {}
    mfa_users = [u for u in b.users if u.get("multifactor")]
    kinds = ["sms", "totp", "sms+totp", "voice", "totp", "email", "sms", "totp"]
    for u, kind in zip(mfa_users, kinds, strict=False):
        methods = []
        at = _iso(datetime.fromisoformat(u["created_at"].replace("Z", "+00:00")) + timedelta(days=3))
        for part in kind.split("+"):
            dev = b.alnum(16)
            if part in ("sms", "voice"):
                phone = f"+1555{b.digits(7)}"
                methods.append({"id": f"phone|dev_{dev}", "type": "phone", "confirmed": True,
                                "name": f"XXXXXXXX{phone[-4:]}", "phone_number": phone,
                                "preferred_authentication_method": part,
                                "authentication_methods": [{"id": f"{part}|dev_{dev}", "type": part}],
                                "created_at": at, "last_auth_at": u["last_login"]})
            elif part == "totp":
                methods.append({"id": f"totp|dev_{dev}", "type": "totp", "confirmed": True,
                                "created_at": at, "last_auth_at": u["last_login"]})
            elif part == "email":
                methods.append({"id": f"email|dev_{dev}", "type": "email", "confirmed": True,
                                "name": u["email"], "email": u["email"], "created_at": at})
        auth_methods[u["user_id"]] = methods
        b.notes.setdefault(f"mfa_{kind}", u["user_id"])
    guardian_factors = [
        {"name": "sms", "enabled": True, "trial_expired": False},
        {"name": "otp", "enabled": True, "trial_expired": False},
        {"name": "email", "enabled": True, "trial_expired": False},
        {"name": "push-notification", "enabled": False, "trial_expired": False},
        {"name": "webauthn-roaming", "enabled": False, "trial_expired": False},
        {"name": "webauthn-platform", "enabled": False, "trial_expired": False},
        {"name": "recovery-code", "enabled": False, "trial_expired": False},
        {"name": "duo", "enabled": False, "trial_expired": False},
    ]

    # --- credentials that must work after import: unambiguous, verified, unblocked hashed users ---
    tricky = {b.notes["duplicate_email_database"], b.notes["blocked_database"],
              b.notes["unverified_database"]}
    credentials = []
    for uid in (b.notes["bcrypt_2a"], b.notes["bcrypt_2y"], db_hashed[0]["user_id"],
                db_hashed[1]["user_id"], b.notes["alt_id"], b.notes["row_uses__ID"],
                b.notes["row_email_only_in_identifiers"]):
        if uid not in tricky:
            credentials.append((by_id[uid]["email"].lower(), b.passwords[uid]))

    role_permissions, user_roles = _rbac(roles, b.users, members, b.notes)
    return DemoTenant(seed=seed, domain=f"{TENANT_NAME}.auth0.local", users=b.users, password_rows=rows,
                      organizations=organizations, members=members, connections=connections,
                      org_connections=org_connections, discovery_domains=discovery,
                      auth_methods=auth_methods, guardian_factors=guardian_factors, roles=roles,
                      credentials=credentials, passwords=dict(b.passwords), notes=b.notes,
                      role_permissions=role_permissions, user_roles=user_roles)


# ----------------------------------------------------------------------------- RBAC (roles feature)
# Roles beyond `admin` / `member`: names that need slugging, two that collide once slugged
# ("Read Only" / "read-only"), permissions of two APIs sharing a name (`read:reports`), a permission
# name longer than WorkOS's 48-character slug limit. Ids are derived from the name (no RNG draw, so
# the rest of the tenant is unchanged).
REPORTS_API = ("https://api.reports.example", "Reports API")
BILLING_API = ("https://api.billing.example", "Billing API")
LONG_PERMISSION = "export:reports:quarterly-financial-summaries-for-all-regions"
EXTRA_ROLES = (
    ("Billing Manager", "Manages invoices and payment methods"),
    ("Support Agent (Tier 1)", "First-line support"),
    ("Read Only", "Read-only access to reports"),
    ("read-only", "Read-only access to invoices"),
)
_ROLE_PERMISSIONS = {
    "admin": [(REPORTS_API, "read:reports"), (REPORTS_API, "write:reports"), (REPORTS_API, LONG_PERMISSION),
              (BILLING_API, "read:reports"), (BILLING_API, "read:invoices"), (BILLING_API, "manage:invoices")],
    "member": [(REPORTS_API, "read:reports")],
    "Billing Manager": [(BILLING_API, "read:invoices"), (BILLING_API, "manage:invoices"),
                        (BILLING_API, "read:reports")],
    "Support Agent (Tier 1)": [(REPORTS_API, "read:reports")],
    "Read Only": [(REPORTS_API, "read:reports"), (BILLING_API, "read:reports")],
    "read-only": [(BILLING_API, "read:invoices")],
}


def _role_id(name: str) -> str:
    import hashlib

    return "rol_" + hashlib.sha256(name.encode()).hexdigest()[:16]


def _extra_member_roles(k: int) -> list[dict[str, str]]:
    """Several roles per member: the first member of each org is also Billing Manager, the second
    also a Tier-1 agent, the third holds the two colliding roles."""
    names = {0: ["Billing Manager"], 1: ["Support Agent (Tier 1)"], 2: ["Read Only", "read-only"]}.get(k, [])
    return [{"id": _role_id(n), "name": n} for n in names]


def _rbac(roles: list[dict[str, Any]], users: list[dict[str, Any]], members: dict[str, list[dict[str, Any]]],
          notes: dict[str, str]) -> tuple[dict[str, list[dict[str, Any]]], dict[str, list[str]]]:
    roles += [{"id": _role_id(n), "name": n, "description": d} for n, d in EXTRA_ROLES]
    by_name = {r["name"]: r for r in roles}
    role_permissions = {
        by_name[name]["id"]: [{"resource_server_identifier": rs, "resource_server_name": rs_name,
                               "permission_name": perm, "description": f"{perm} on {rs_name}"}
                              for (rs, rs_name), perm in perms]
        for name, perms in _ROLE_PERMISSIONS.items()}
    in_org = {m["user_id"] for ms in members.values() for m in ms}
    outside = [u for u in users if u["user_id"] not in in_org and not u.get("blocked") and u.get("email")]
    user_roles: dict[str, list[str]] = {}
    for u, names in zip(outside, (["Read Only"], ["admin", "Billing Manager"]), strict=False):
        user_roles[u["user_id"]] = [by_name[n]["id"] for n in names]
    if outside:
        notes["tenant_role_no_org"] = outside[0]["user_id"]
    return role_permissions, user_roles
