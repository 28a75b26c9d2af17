"""Password-hash kinds: the one place that knows which hash is which and how WorkOS takes it.

Each kind owns its exact pattern, the ``password_hash_type`` WorkOS accepts it as (the OpenAPI
enum of CreateUserlandUserDto / the SDK's ``PasswordHashType``: bcrypt, firebase-scrypt, ssha,
ssha256, scrypt, pbkdf2, argon2), how it is described without showing it, and its finding when it
cannot be imported. Adding an algorithm is one ``HashKind`` in ``KINDS`` plus its tests.

Decisions:
- bcrypt: ``$2a$``, ``$2b$``, ``$2y$`` with a cost of 04-31 and 53 characters of salt+digest
  (60 in all). ``$2y$`` is PHP's name for the same algorithm. ``$2x$`` (the buggy pre-2011 PHP
  crypt_blowfish) is never sent; nor is a cost outside 04-31 (no bcrypt implementation makes one).
- argon2 (``$argon2id$`` / ``$argon2i$`` / ``$argon2d$``), pbkdf2 (``$pbkdf2-sha1|sha256|sha512$``)
  and scrypt (``$scrypt$``) in the PHC string format, with their parameters and base64 salt and
  digest; ``{SSHA}`` / ``{SSHA256}`` LDAP hashes (base64 of digest + salt, at least one salt byte);
  firebase-scrypt as the PHC-style string WorkOS documents
  (``$firebase-scrypt$hash=..$salt=..$sk=..$ss=..$r=..$m=..``).
- Anything else is ``unsupported`` (or ``truncated`` when it is the start of a bcrypt hash) and is
  never sent: the user is imported without a password and resets it.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass

_B64 = r"[A-Za-z0-9+/]+={0,2}"  # standard base64; PHC strings omit the padding
BCRYPT_RE = re.compile(r"^\$2[abxy]\$(\d\d)\$[./A-Za-z0-9]{53}$")
# a proper prefix of something BCRYPT_RE would accept: the export cut the hash short
_BCRYPT_PREFIX_RE = re.compile(r"^\$(2([abxy](\$(\d(\d(\$[./A-Za-z0-9]{0,52})?)?)?)?)?)?$")
BCRYPT_COST_MIN, BCRYPT_COST_MAX = 4, 31

UNSUPPORTED_2X = (
    "$2x$ marks hashes from the buggy pre-2011 PHP crypt_blowfish; no current verifier (WorkOS "
    "included) reproduces it, so it is not sent: the user is imported without a password and "
    "resets it."
)


@dataclass(frozen=True, slots=True)
class HashCheck:
    """The verdict on one hash; never holds the hash itself."""

    ok: bool  # True only for a hash that will be sent
    kind: str  # a KINDS name, or "unsupported" | "truncated" | "empty"
    prefix: str | None  # "$2b$", "$argon2id$", "{SSHA}" ... (the algorithm marker, never more)
    cost: int | None  # bcrypt cost (None for other kinds)
    code: str  # "hash_ok" | "hash_unsupported" | "hash_truncated" | "hash_missing" | "hash_bcrypt_cost"
    message: str  # plain words; never the hash itself
    hash_type: str | None = None  # the password_hash_type sent to WorkOS when ok


@dataclass(frozen=True)
class HashKind:
    """One importable algorithm: its exact pattern and WorkOS's name for it."""

    name: str
    hash_type: str  # WorkOS password_hash_type
    pattern: re.Pattern
    marker: re.Pattern  # the algorithm's prefix (shown in reports; not secret)

    def prefix(self, h: str) -> str:
        m = self.marker.match(h)
        return m.group(0) if m else self.name


def _ldap(tag: str) -> re.Pattern:
    return re.compile(r"^\{" + tag + r"\}(" + _B64 + r")$")


KINDS: tuple[HashKind, ...] = (
    HashKind("bcrypt", "bcrypt", re.compile(r"^\$2[aby]\$(0[4-9]|[12]\d|3[01])\$[./A-Za-z0-9]{53}$"),
             re.compile(r"^\$2[aby]\$")),
    HashKind("argon2", "argon2",
             re.compile(r"^\$argon2(id|i|d)\$(v=(16|19)\$)?m=\d{1,10},t=\d{1,10},p=\d{1,3}"
                        r"\$[A-Za-z0-9+/]{11,}\$[A-Za-z0-9+/]{22,}$"),
             re.compile(r"^\$argon2(id|i|d)\$")),
    HashKind("pbkdf2", "pbkdf2",
             re.compile(r"^\$pbkdf2-(sha1|sha256|sha512)\$i=\d{1,10}(,l=\d{1,4})?"
                        r"\$[A-Za-z0-9+/]{11,}\$[A-Za-z0-9+/]{22,}$"),
             re.compile(r"^\$pbkdf2-(sha1|sha256|sha512)\$")),
    HashKind("scrypt", "scrypt",
             re.compile(r"^\$scrypt\$ln=\d{1,2},r=\d{1,3},p=\d{1,3}\$[A-Za-z0-9+/]{11,}\$[A-Za-z0-9+/]{22,}$"),
             re.compile(r"^\$scrypt\$")),
    HashKind("firebase-scrypt", "firebase-scrypt",
             re.compile(r"^\$firebase-scrypt\$hash=" + _B64 + r"\$salt=" + _B64 + r"\$sk=" + _B64
                        + r"\$ss=" + _B64 + r"\$r=\d{1,2}\$m=\d{1,2}$"),
             re.compile(r"^\$firebase-scrypt\$")),
    HashKind("ssha", "ssha", _ldap("SSHA"), re.compile(r"^\{SSHA\}")),
    HashKind("ssha256", "ssha256", _ldap("SSHA256"), re.compile(r"^\{SSHA256\}")),
)
BY_NAME = {k.name: k for k in KINDS}
# every kind a verdict can carry, in a fixed order (the plan stores the index in a bytearray)
KIND_NAMES: tuple[str, ...] = (*(k.name for k in KINDS), "unsupported", "truncated", "empty")
IMPORTABLE_KINDS = frozenset(k.name for k in KINDS)
WORKOS_HASH_TYPES = frozenset(k.hash_type for k in KINDS)
_LDAP_DIGEST = {"ssha": 20, "ssha256": 32}

_OK_CACHE: dict[str, HashCheck] = {}  # "$2b$10$" -> verdict: a million bcrypt rows share a handful


def _ldap_ok(kind: str, h: str) -> bool:
    """`{SSHA}` holds base64(digest + salt): the digest length plus at least one byte of salt."""
    try:
        raw = base64.b64decode(h[h.index("}") + 1:], validate=True)
    except (binascii.Error, ValueError):
        return False
    return len(raw) > _LDAP_DIGEST[kind]


def classify_hash(h: object) -> HashCheck:
    """Say what a password hash is without ever echoing it (only its algorithm marker and cost)."""
    if type(h) is str and len(h) == 60:
        cached = _OK_CACHE.get(h[:7])
        if cached is not None and BCRYPT_RE.match(h):
            return cached
    if h is None or (isinstance(h, str) and not h.strip()):
        return HashCheck(False, "empty", None, None, "hash_missing",
                         "no password hash on this row; the user will reset their password")
    if not isinstance(h, str):
        return HashCheck(False, "unsupported", None, None, "hash_unsupported",
                         f"password hash is a JSON {type(h).__name__}, not a string; not sent")
    m = BCRYPT_RE.match(h)
    if m:
        prefix, cost = h[:4], int(m.group(1))
        if prefix == "$2x$":
            return HashCheck(False, "unsupported", prefix, cost, "hash_unsupported",
                             f"bcrypt variant {prefix} is unsupported: {UNSUPPORTED_2X}")
        if not BCRYPT_COST_MIN <= cost <= BCRYPT_COST_MAX:
            return HashCheck(False, "unsupported", prefix, cost, "hash_bcrypt_cost",
                             f"bcrypt {prefix} with cost {cost:02d}: bcrypt costs are 04-31, so this is not "
                             "a usable bcrypt hash (damaged or hand-made); it is not sent: the user "
                             "resets their password")
        ok = HashCheck(True, "bcrypt", prefix, cost, "hash_ok", f"bcrypt {prefix} cost {cost}", "bcrypt")
        _OK_CACHE[h[:7]] = ok
        return ok
    if len(h) < 60 and _BCRYPT_PREFIX_RE.match(h):
        return HashCheck(False, "truncated", h[:4] if len(h) >= 4 else None, None, "hash_truncated",
                         f"password hash is truncated ({len(h)} of 60 characters of a bcrypt hash); "
                         "it is not sent: ask Auth0 support for a complete export, or let the "
                         "user reset their password")
    for kind in KINDS[1:]:
        if kind.pattern.match(h) and (kind.name not in _LDAP_DIGEST or _ldap_ok(kind.name, h)):
            pfx = kind.prefix(h)
            return HashCheck(True, kind.name, pfx, None, "hash_ok", f"{kind.name} ({pfx})", kind.hash_type)
    shown = None
    for kind in KINDS[1:]:
        if kind.marker.match(h):
            shown = kind.prefix(h)
            return HashCheck(False, "unsupported", shown, None, "hash_unsupported",
                             f"password hash starts like {kind.name} ({shown}) but is not in the exact "
                             f"format WorkOS imports ({len(h)} characters); it is never sent: the user "
                             "will reset their password")
    shown = h[:4] if h.startswith("$") else None
    what = f"starts with {shown!r}" if shown else "is in no format WorkOS imports"
    return HashCheck(False, "unsupported", shown, None, "hash_unsupported",
                     f"password hash {what} ({len(h)} characters) and matches none of the kinds WorkOS "
                     "imports (bcrypt $2a$/$2b$/$2y$, PHC argon2 / pbkdf2 / scrypt, {SSHA}, {SSHA256}, "
                     "firebase-scrypt); it is never sent: the user will reset their password")


def importable(h: object) -> HashCheck | None:
    """The verdict when `h` can be sent as-is, else None (the importer's last check at send time)."""
    check = classify_hash(h)
    return check if check.ok else None


def describe(check: HashCheck, length: int | None = None) -> str:
    """How a hash appears in reports and redacted requests: its kind and marker, never the hash."""
    if check.kind == "bcrypt" and check.cost is not None:
        what = f"bcrypt {check.prefix}{check.cost:02d}$"
    elif check.ok:
        what = f"{check.kind} {check.prefix}"
    else:
        what = check.kind
    return f"{what}, {length} chars" if length is not None else what
