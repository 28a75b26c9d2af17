"""Small, pure rules shared by the export reader and the plan: email keys, names, providers,
WorkOS field limits and metadata stringification. One place, so the check and the import agree."""

from __future__ import annotations

import contextlib
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

# no spaces and no control characters (NUL, DEL...) anywhere: `\u0000` is valid JSON, not a valid address
_EMAIL_RE = re.compile(r"^[^@\s\x00-\x1f\x7f]+@[^@\s.\x00-\x1f\x7f][^@\s\x00-\x1f\x7f]*\.[^@\s.\x00-\x1f\x7f]+$")
_USER_ID_RE = re.compile(r"^[A-Za-z0-9][\w.-]*\|(?=\S)[^\x00-\x1f\x7f]*(?<=\S)$")


def normalize_email(email: str) -> str:
    """The duplicate/join key: trimmed, Unicode NFKC-normalized, lower-cased (WorkOS lower-cases
    and trims emails, so two Auth0 users with these equal keys would collide there). An
    internationalized domain is keyed by its ASCII (punycode) form, so `exämple.de` and
    `xn--exmple-cua.de` (the same mailbox domain) are one key. ASCII addresses take the fast path."""
    e = email.strip()
    if e.isascii():
        return e.lower()
    e = unicodedata.normalize("NFKC", e).lower()
    local, at, domain = e.rpartition("@")
    if at and not domain.isascii():
        with contextlib.suppress(UnicodeError):  # not a valid IDN label: the Unicode form stays the key
            domain = domain.encode("idna").decode("ascii")
        e = f"{local}@{domain}"
    return e


def is_valid_email(email: str) -> bool:
    return len(email) <= 254 and _EMAIL_RE.match(email.strip()) is not None


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
