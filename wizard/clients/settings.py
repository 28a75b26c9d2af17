"""Settings from the environment and `.env.local` (the environment wins); secrets are masked for display."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from dotenv import dotenv_values

DEFAULT_WORKOS_BASE_URL = "https://api.workos.com"
KEYS = (
    "WORKOS_API_KEY",
    "WORKOS_CLIENT_ID",
    "WORKOS_BASE_URL",
    "AUTH0_DOMAIN",
    "AUTH0_CLIENT_ID",
    "AUTH0_CLIENT_SECRET",
    "AUTH0_BASE_URL",
)


def mask(secret: str | None) -> str:
    """`sk_test_abc...xyz` -> `sk_te…xyz` : enough to recognise a key, never enough to use it."""
    if not secret:
        return "(not set)"
    if len(secret) <= 8:
        return "•" * len(secret)
    return f"{secret[:5]}…{secret[-3:]}"


def workos_key_problem(key: str | None) -> str | None:
    """The one rule for WORKOS_API_KEY, shared by the wizard's prerequisites and every headless
    command: None when it is a secret key (sk_…), else what is wrong with it."""
    if not key:
        return "WORKOS_API_KEY is not set (environment or .env.local)"
    if key != key.strip() or any(c.isspace() for c in key):
        return f"WORKOS_API_KEY {mask(key)} contains spaces or a line break: re-paste it without quotes or spaces"
    if key.startswith("sk_"):
        return None
    what = ("a publishable key (pk_…), which cannot manage users" if key.startswith("pk_") else
            "a client ID: put it in WORKOS_CLIENT_ID" if key.startswith("client_") else "not a secret key")
    return (f"WORKOS_API_KEY {mask(key)} is {what}; WorkOS secret keys start with sk_ (sk_test_ or "
            "sk_live_: WorkOS Dashboard → API Keys → copy the secret key)")


def env_file_exposure(path: Path | None) -> str | None:
    """The file holding the API keys can be read by group or others: say so, with the fix."""
    if path is None or os.name != "posix":
        return None
    try:
        mode = path.stat().st_mode & 0o777
    except OSError:
        return None
    if mode & 0o077:
        return (f"{path} holds API keys and can be read by group or others (mode {mode:04o}): "
                f"run `chmod 600 {path}`")
    return None


@dataclass(frozen=True)
class Settings:
    workos_api_key: str | None = None
    workos_client_id: str | None = None
    workos_base_url: str = DEFAULT_WORKOS_BASE_URL
    auth0_domain: str | None = None
    auth0_client_id: str | None = None
    auth0_client_secret: str | None = None
    auth0_base_url: str | None = None  # e.g. http://127.0.0.1:PORT (sandbox); API at /api/v2
    env_file: Path | None = None  # the .env.local that was read, if any
    env_file_values: Mapping[str, str] | None = None  # raw values from that file (for the prereq checks)

    @classmethod
    def load(cls, env_file: str | Path | None = ".env.local", environ: Mapping[str, str] | None = None) -> Settings:
        environ = os.environ if environ is None else environ
        file_values: dict[str, str] = {}
        path = Path(env_file) if env_file else None
        if path is not None and path.is_file():
            file_values = {k: v for k, v in dotenv_values(path).items() if v is not None}
        merged = {k: (environ.get(k) or file_values.get(k) or None) for k in KEYS}
        return cls(
            workos_api_key=merged["WORKOS_API_KEY"],
            workos_client_id=merged["WORKOS_CLIENT_ID"],
            workos_base_url=(merged["WORKOS_BASE_URL"] or DEFAULT_WORKOS_BASE_URL).rstrip("/"),
            auth0_domain=merged["AUTH0_DOMAIN"],
            auth0_client_id=merged["AUTH0_CLIENT_ID"],
            auth0_client_secret=merged["AUTH0_CLIENT_SECRET"],
            auth0_base_url=(merged["AUTH0_BASE_URL"] or "").rstrip("/") or None,
            env_file=path if path is not None and path.is_file() else None,
            env_file_values=file_values,
        )

    @property
    def has_auth0_credentials(self) -> bool:
        return bool((self.auth0_domain or self.auth0_base_url) and self.auth0_client_id and self.auth0_client_secret)

    def __repr__(self) -> str:  # never print a secret by accident
        return (
            f"Settings(workos_api_key={mask(self.workos_api_key)!r}, workos_client_id={self.workos_client_id!r}, "
            f"workos_base_url={self.workos_base_url!r}, auth0_domain={self.auth0_domain!r}, "
            f"auth0_client_id={self.auth0_client_id!r}, auth0_client_secret={mask(self.auth0_client_secret)!r}, "
            f"auth0_base_url={self.auth0_base_url!r})"
        )

    __str__ = __repr__
