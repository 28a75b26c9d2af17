"""WorkOS prerequisites (guide step 1): keys present and well-formed, SDKs installed, the key accepted.

Pure: everything comes from a Settings object, so tests point it at the emulator. Keys only ever
appear masked.
"""

from __future__ import annotations

from importlib import metadata

from wizard.core.config import Settings, env_file_exposure, mask, workos_key_problem
from wizard.core.gates import Check, GateResult

ENV_KEYS = ("WORKOS_API_KEY", "WORKOS_CLIENT_ID")
MIN_WORKOS_MAJOR = 10


def _source(settings: Settings, key: str, value: str | None) -> str:
    """Where a value came from: the environment wins over the file."""
    if value is None:
        return "not set"
    file_value = (settings.env_file_values or {}).get(key)
    if file_value is None:
        return "from the environment"
    if file_value == value:
        return f"from {settings.env_file.name if settings.env_file else '.env.local'}"
    return "from the environment (overrides .env.local)"


def env_file_check(settings: Settings) -> Check:
    name = ".env.local file"
    if settings.env_file is not None:
        exposure = env_file_exposure(settings.env_file)
        if exposure:
            return Check(name, False, exposure, f"Run `chmod 600 {settings.env_file}`, then re-check.")
        keys = [k for k in ENV_KEYS if (settings.env_file_values or {}).get(k)]
        return Check(name, True,
                     f"found {settings.env_file} ({', '.join(keys) or 'no WorkOS keys'} in it); "
                     "the environment wins over the file")
    if settings.workos_api_key and settings.workos_client_id:
        return Check(name, True, "no .env.local found; the WorkOS keys come from the environment")
    return Check(name, False, "no .env.local found and the WorkOS keys are not in the environment",
                 "Create .env.local in this folder with WORKOS_API_KEY=sk_... and WORKOS_CLIENT_ID=client_... "
                 "(WorkOS Dashboard → API Keys), or export them in the shell.")


def api_key_present_check(settings: Settings) -> Check:
    key = settings.workos_api_key
    if key:
        return Check("WORKOS_API_KEY present", True, f"{mask(key)} ({_source(settings, 'WORKOS_API_KEY', key)})")
    return Check("WORKOS_API_KEY present", False, "WORKOS_API_KEY is not set",
                 "Add WORKOS_API_KEY=sk_... to .env.local (WorkOS Dashboard → API Keys → copy the secret key).")


def api_key_format_check(settings: Settings) -> Check:
    name = "WORKOS_API_KEY format"
    key = settings.workos_api_key
    if not key:
        return Check(name, False, "no key to check", "Set WORKOS_API_KEY first.")
    if key != key.strip() or any(c.isspace() for c in key):
        return Check(name, False, f"{mask(key)} contains spaces or a line break",
                     "Re-paste the key without quotes, spaces or a trailing newline.")
    if key.startswith("sk_test_"):
        return Check(name, True, f"{mask(key)}: a test (staging) environment key")
    if key.startswith("sk_live_"):
        return Check(name, True, f"{mask(key)}: a LIVE (production) environment key — expected for the real "
                                 "migration; use a test key for rehearsals")
    if key.startswith("sk_"):
        return Check(name, True, f"{mask(key)}: starts with sk_ (environment not recognisable from the prefix)")
    return Check(name, False, f"{mask(key)} does not start with sk_", workos_key_problem(key) or "")


def client_id_check(settings: Settings) -> Check:
    name = "WORKOS_CLIENT_ID present"
    cid = settings.workos_client_id
    if not cid:
        return Check(name, False, "WORKOS_CLIENT_ID is not set",
                     "Add WORKOS_CLIENT_ID=client_... to .env.local (WorkOS Dashboard → API Keys → Client ID); "
                     "password sign-in checks need it.")
    if not cid.startswith("client_"):
        return Check(name, False, f"{cid!r} does not start with client_",
                     "The client ID starts with client_; copy it from WorkOS Dashboard → API Keys.")
    return Check(name, True, f"{cid} ({_source(settings, 'WORKOS_CLIENT_ID', cid)})")


def _version(dist: str) -> str | None:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def sdk_check() -> Check:
    name = "SDKs installed"
    workos_v, auth0_v = _version("workos"), _version("auth0-python")
    evidence = f"workos {workos_v or 'missing'}, auth0-python {auth0_v or 'missing'}"
    if workos_v is None or auth0_v is None:
        missing = " ".join(d for d, v in (("workos", workos_v), ("auth0-python", auth0_v)) if v is None)
        return Check(name, False, evidence, f"Install the missing SDK: pip install {missing}")
    try:
        major = int(workos_v.split(".")[0])
    except ValueError:
        major = MIN_WORKOS_MAJOR
    if major < MIN_WORKOS_MAJOR:
        return Check(name, False, evidence + f" (the wizard needs workos >= {MIN_WORKOS_MAJOR})",
                     f"pip install 'workos>={MIN_WORKOS_MAJOR}'")
    return Check(name, True, evidence)


def _scrub(text: str, settings: Settings) -> str:
    for secret in (settings.workos_api_key, settings.auth0_client_secret):
        if secret:
            text = text.replace(secret, mask(secret))
    return text


def live_key_check(settings: Settings, client=None) -> Check:
    """One cheap read (list_users limit=1) through the SDK proves URL, key and environment.
    `client`: the synchronous WorkOS client the task layer opened (`wizard.tasks.gates`); the core
    never builds one, so without it the check says it was not made."""
    if not settings.workos_api_key:
        return Check("WorkOS accepts the key", False, "not checked: no API key", "Set WORKOS_API_KEY first.")
    if client is None:
        return Check("WorkOS accepts the key", False, "not checked: no WorkOS client was opened for the check",
                     "Run the prerequisites check again (r in the wizard; `auth0-workos` commands run it).")
    return _live_key_check(settings, client)


def _live_key_check(settings: Settings, client) -> Check:
    name = "WorkOS accepts the key"
    from workos import _errors as werr
    from workos.common.models.user import User

    url = settings.workos_base_url
    try:
        # the SDK's list_users turns a 2xx page that is not JSON (a website, a redirect) into an empty
        # list: read the raw answer, check it is a WorkOS list, then parse its users as the SDK does
        raw = client.request("GET", ("user_management", "users"), params={"limit": 1})
        if not (isinstance(raw, dict) and isinstance(raw.get("data"), list)):
            return Check(name, False, f"{url} answered, but not with the WorkOS API's list of users",
                         "Check WORKOS_BASE_URL: it must be the API (default https://api.workos.com), "
                         "not a dashboard or website address.")
        for item in raw["data"]:
            User.from_dict(item)
    except werr.AuthenticationError:
        return Check(name, False, f"the key was refused by {url} (HTTP 401) for {mask(settings.workos_api_key)}",
                     "Copy the secret key again from WorkOS Dashboard → API Keys (for the environment you "
                     "migrate into); a revoked or mistyped key answers 401.")
    except werr.AuthorizationError:
        return Check(name, False, f"{url} answered 403: the key may not manage users",
                     "Use an environment's secret key with full access (WorkOS Dashboard → API Keys).")
    except (werr.WorkOSConnectionError, werr.WorkOSTimeoutError) as exc:
        return Check(name, False, f"cannot reach WORKOS_BASE_URL {url}: {_scrub(str(exc), settings)}",
                     "Check the network and WORKOS_BASE_URL (default https://api.workos.com; the sandbox "
                     "prints its own URL).")
    except werr.WorkOSError as exc:
        from wizard.clients.workos import describe_error

        text = _scrub(describe_error(exc), settings)
        if str(exc).startswith("Unexpected API response"):  # a 2xx answer: the key was accepted
            return Check(name, False, f"{url} accepted {mask(settings.workos_api_key)}, but its answer lacks "
                                      f"a field the workos SDK requires ({text})",
                         "WORKOS_BASE_URL must serve the documented WorkOS API: the import could not "
                         "read the users it creates. Check the URL (default https://api.workos.com).")
        return Check(name, False, f"{url} answered: {text}",
                     "Check WORKOS_BASE_URL and the key; retry in a minute if WorkOS is having trouble.")
    return Check(name, True, f"{url} accepted {mask(settings.workos_api_key)} (listed users)")


def prerequisite_checks(settings: Settings, *, live: bool = True, client=None) -> GateResult:
    """The prerequisites gate; `live=False` skips the network call (offline preview). The live read
    goes through `client`, opened by the task layer (`wizard.tasks.gates`)."""
    checks = [
        env_file_check(settings),
        api_key_present_check(settings),
        api_key_format_check(settings),
        client_id_check(settings),
        sdk_check(),
    ]
    if live:
        checks.append(live_key_check(settings, client))
    env = "live" if (settings.workos_api_key or "").startswith("sk_live_") else (
        "test" if (settings.workos_api_key or "").startswith("sk_test_") else "unknown")
    details = {
        "env_file": str(settings.env_file) if settings.env_file else None,
        "workos_base_url": settings.workos_base_url,
        "api_key": mask(settings.workos_api_key),
        "environment": env,
        "live_checked": live,
    }
    return GateResult.from_checks(checks, details)
