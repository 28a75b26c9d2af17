"""Small, pure rules shared by the export reader and the plan: email keys, names, providers,
WorkOS field limits and metadata stringification. One place, so the check and the import agree."""

from __future__ import annotations

import json
import re
import unicodedata

# WorkOS create-user limits (OpenAPI CreateUserlandUserDto; api-facts 2)
EXTERNAL_ID_MAX = 128
METADATA_MAX_KEYS = 50
METADATA_KEY_MAX = 40
METADATA_VALUE_MAX = 600
# WorkOS publishes no length for first_name / last_name; names past this are not sent (a finding
# says so). 255 characters is far above any real name and within every common column size.
NAME_MAX = 255
RESERVED_METADATA_KEYS = ("auth0_user_id", "auth0_merged_ids")

SOCIAL_PROVIDERS = frozenset({
    "google-oauth2", "github", "facebook", "windowslive", "apple", "linkedin", "twitter",
    "amazon", "bitbucket", "box", "dropbox", "paypal", "paypal-sandbox", "shopify", "slack",
    "spotify", "yahoo", "yandex", "vkontakte", "line", "discord", "instagram", "oauth2",
    "oauth1", "salesforce", "salesforce-sandbox", "salesforce-community", "soundcloud",
    "thirtysevensignals", "twitch", "wordpress", "evernote", "evernote-sandbox", "exact",
    "baidu", "daccount", "dwolla", "fitbit", "miicard", "renren", "weibo", "planningcenter",
})
ENTERPRISE_PROVIDERS = frozenset({
    "samlp", "waad", "adfs", "ad", "auth0-adldap", "oidc", "okta", "google-apps", "pingfederate",
    "sharepoint", "ip", "custom",
})
PASSWORDLESS_PROVIDERS = frozenset({"email", "sms"})
DATABASE_PROVIDER = "auth0"
# what is certainly not a social login; an unknown provider in a user id is taken as social
NON_SOCIAL_PROVIDERS = ENTERPRISE_PROVIDERS | PASSWORDLESS_PROVIDERS | {DATABASE_PROVIDER}
# Auth0 social provider -> the WorkOS social connection a person configures
SOCIAL_LABELS = {
    "google-oauth2": "Google", "github": "GitHub", "windowslive": "Microsoft", "apple": "Apple",
    "gitlab": "GitLab", "linkedin": "LinkedIn", "bitbucket": "Bitbucket", "slack": "Slack",
    "facebook": "Facebook", "twitter": "X (Twitter)",
}


def provider_label(provider: str) -> str:
    return SOCIAL_LABELS.get(provider, provider)

_USER_ID_RE = re.compile(r"^[A-Za-z0-9][\w.-]*\|(?=\S)[^\x00-\x1f\x7f]*(?<=\S)$")


def normalize_email(email: str) -> str:
    """The address WorkOS compares (the duplicate and join key): trimmed and lower-cased (WorkOS
    lower-cases emails, api-facts 2), the domain in its IDNA (punycode) form, so `exämple.de` and
    `xn--exmple-cua.de` are one key. No Unicode normalization: `ａlice@example.com` (fullwidth a)
    is another address than `alice@example.com` (see `lookalike_key`). ASCII takes the fast path."""
    e = email.strip()
    if e.isascii():
        return e.lower()
    local, at, domain = e.rpartition("@")
    if not at:
        return e.lower()
    if domain.isascii():
        domain = domain.lower()
    else:
        try:  # the idna codec applies nameprep (case folding, NFKC) then punycode, as resolvers do
            domain = domain.encode("idna").decode("ascii")
        except UnicodeError:  # not a valid IDN label: the Unicode form stays the key
            domain = domain.lower()
    return f"{local.lower()}@{domain}"


def lookalike_key(email: str) -> str:
    """Unicode NFKC + case folding: two different addresses with one lookalike_key look the same
    to a person (`ａlice` and `alice`) and are reported, never merged."""
    e = email.strip()
    if e.isascii():
        return e.lower()
    return normalize_email(unicodedata.normalize("NFKC", e).casefold())


# a strict subset of what email-validator accepts: such ASCII addresses skip the (slower) validator
_FAST_EMAIL_RE = re.compile(
    r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}$")
_INVISIBLE_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})


def invisible_character(email: str) -> str | None:
    """The first invisible or control character of an address (zero-width space/joiner, bidi
    marks, NUL...), named for a person (`U+200B ZERO WIDTH SPACE`), or None."""
    if email.isascii() and email.isprintable():
        return None
    for c in email.strip():
        if unicodedata.category(c) in _INVISIBLE_CATEGORIES or (c.isspace() and c != " "):
            return f"U+{ord(c):04X} {unicodedata.name(c, 'control character')}"
    return None


def email_problem(email: str) -> str | None:
    """Why `email` is not an address WorkOS should be sent (email-validator's syntax rules, no
    DNS lookups), or None when it is fine."""
    e = email.strip()
    if len(e) <= 254 and e.isascii() and _FAST_EMAIL_RE.match(e) and len(e.rpartition("@")[0]) <= 64 \
            and e.rpartition(".")[2].lower() not in _SPECIAL_USE:
        return None
    import email_validator  # only the unusual addresses pay for the full validator

    try:
        email_validator.validate_email(e, check_deliverability=False)
    except email_validator.EmailNotValidError as exc:
        return str(exc)
    return None


_SPECIAL_USE = frozenset({"arpa", "invalid", "local", "localhost", "onion", "test"})


def is_valid_email(email: str) -> bool:
    return email_problem(email) is None


def external_id_problem(user_id: str) -> str | None:
    """Why an Auth0 id cannot be a WorkOS external_id ("non_ascii_external_id" or
    "external_id_too_long"), or None. Such users are still imported, without external_id; their
    Auth0 id is in metadata.auth0_user_id and the id map."""
    if not user_id.isascii():
        return "non_ascii_external_id"
    if len(user_id) > EXTERNAL_ID_MAX:
        return "external_id_too_long"
    return None


def is_valid_user_id(user_id: str) -> bool:
    """`provider|id` (samlp ids may hold more pipes); no control characters, no outer spaces."""
    return _USER_ID_RE.match(user_id) is not None


def provider_of(user_id: str) -> str:
    return user_id.split("|", 1)[0] if "|" in user_id else ""


def is_social_provider(provider: str) -> bool:
    return provider in SOCIAL_PROVIDERS


def split_name(name: str | None) -> tuple[str | None, str | None]:
    """Fallback first/last name from a full name, never from an email address (Auth0 copies the
    email into `name` for database users)."""
    if not name or not isinstance(name, str):
        return None, None
    n = " ".join(name.split())
    if not n or "@" in n:
        return None, None
    first, _, last = n.partition(" ")
    return first, (last or None)


def stringify(value: object) -> str:
    """Metadata values must be strings in WorkOS: strings stay, everything else becomes compact
    JSON (sorted keys, so the same input always yields the same request)."""
    if isinstance(value, str):
        return value
    return json.dumps(value, separators=(",", ":"), sort_keys=True, ensure_ascii=False, default=str)


_SCALARS = (int, float, bool, type(None))


def metadata_fits(sources: list[tuple[str, dict | None]]) -> bool:
    """Fast yes for the common case (few flat keys, short values): then `workos_metadata` would
    cut nothing. False means "check properly", not necessarily "too large"."""
    n = 1
    seen: set[str] = set()
    for _, data in sources:
        if not data:
            continue
        n += len(data)
        if n > METADATA_MAX_KEYS - 1:
            return False
        for k, v in data.items():
            if len(k) > METADATA_KEY_MAX or k in seen or k in RESERVED_METADATA_KEYS:
                return False
            seen.add(k)
            t = type(v)
            if t is str:
                if len(v) > METADATA_VALUE_MAX:
                    return False
            elif t not in _SCALARS:
                return False
    return True


def workos_metadata(auth0_user_id: str, sources: list[tuple[str, dict | None]],
                    keys: tuple[str, ...] | None = None,
                    merged_ids: tuple[str, ...] = ()) -> tuple[dict[str, str], list[str]]:
    """Build the WorkOS metadata object and the list of things cut to fit its limits.

    `sources` is e.g. [("user_metadata", {...}), ("app_metadata", {...})]: top-level keys are
    copied (first source wins on a clash), values stringified. `keys` selects which top-level keys
    to copy (None = all, () = none). Limits: at most 50 keys, keys at most 40 characters, values at
    most 600 characters. A value too long is dropped whole (a cut JSON value would be garbage).
    The reserved keys `auth0_user_id` (always) and `auth0_merged_ids` (merged duplicates) come
    first. Returned problems are plain sentences naming keys, never values.
    """
    meta: dict[str, str] = {"auth0_user_id": auth0_user_id}
    cut: list[str] = []
    if merged_ids:
        joined = ",".join(merged_ids)
        if len(joined) <= METADATA_VALUE_MAX:
            meta["auth0_merged_ids"] = joined
        else:
            cut.append(f"auth0_merged_ids ({len(merged_ids)} ids, {len(joined)} characters > "
                       f"{METADATA_VALUE_MAX}) not stored; the id map still lists every merged id")
    if keys == ():
        return meta, cut
    wanted = None if keys is None else set(keys)
    over: list[str] = []
    for source, data in sources:
        if not data:
            continue
        for k, v in data.items():
            if wanted is not None and k not in wanted:
                continue
            if k in meta:
                if k in RESERVED_METADATA_KEYS:
                    cut.append(f"{source}.{k}: key is reserved by the wizard; not copied")
                else:
                    cut.append(f"{source}.{k}: same key already copied from another source; not copied")
                continue
            if len(k) > METADATA_KEY_MAX:
                cut.append(f"{source}.{k[:40]}...: key longer than {METADATA_KEY_MAX} characters; not copied")
                continue
            s = stringify(v)
            if len(s) > METADATA_VALUE_MAX:
                cut.append(f"{source}.{k}: value is {len(s)} characters (> {METADATA_VALUE_MAX}); not copied")
                continue
            if len(meta) >= METADATA_MAX_KEYS:
                over.append(f"{source}.{k}")
                continue
            meta[k] = s
    if over:
        shown = ", ".join(over[:10]) + (f" and {len(over) - 10} more" if len(over) > 10 else "")
        cut.append(f"WorkOS allows at most {METADATA_MAX_KEYS} metadata keys; {len(over)} not copied: {shown}")
    return meta, cut
