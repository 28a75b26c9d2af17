"""Fix hints in the full-screen app's own words: the button to press, not a command-line flag.

The core writes one hint per check for every front end; most name the headless command. Here each
command is replaced by the button that does the same in this app, and flag-only phrases by what to
do on screen. Anything left over that still looks like a command line is dropped, so a hint on this
screen never asks for a flag.
"""

from __future__ import annotations

import re

# `auth0-workos <command>` -> what does the same in the full-screen app
COMMAND_BUTTONS = {
    "inventory": "press Build inventory (step Auth0 inventory)",
    "check": "press Verify files (step Export files)",
    "export": "press Run export job (step Export files)",
    "import": "press Start import (step Import users)",
    "orgs": "press Migrate to WorkOS (step Organizations)",
    "mfa": "press Build MFA report (step MFA)",
    "verify": "press Run verification",
    "report": "press Write report",
    "rollback": "press Roll back… (step Import users)",
}

# phrases made of flags -> the screen's way to do it
FLAG_PHRASES = (
    (re.compile(r"Run `auth0-workos orgs --run-dir DIR` with Auth0 credentials"),
     "Press Export from Auth0 (it needs Auth0 credentials)"),
    (re.compile(r"then use `auth0-workos mfa --totp-secrets FILE`"),
     "then give the file in the TOTP secrets field and press Import TOTP"),
    (re.compile(r"\(wizard: ([^;)]*);\s*headless:[^)]*\)"), r"(press \1)"),
    (re.compile(r"(?i)run (?:the [\w ]+? |'[^']*' )\((auth0-workos \w+)[^)]*\)"), r"\1"),
    (re.compile(r"give --email and --password-stdin \(or --demo in the sandbox\)"),
     "type the email and password above (or press Use demo credentials in the sandbox) and press Try sign-in"),
    (re.compile(r"\(--confirm-social [^)]*\)"), "(tick each provider in step Social providers)"),
    (re.compile(r"point --passwords at it"), "give its path in the Password hashes field"),
    (re.compile(r"point --users at that file"), "give its path in the Users export field"),
    (re.compile(r"give the right --build-cmd"), "type the right build command"),
    (re.compile(r"\(or `--mfa-scan none` to go on without knowing who uses SMS\)"), ""),
    (re.compile(r"pass it with --passwords, and the users export with --users"),
     "give it in the Password hashes field, and the users export in the Users export field"),
    (re.compile(r"then give the file with --users"), "then give the file in the Users export field"),
)

_HEADLESS = re.compile(r"\s*[(;,]?\s*headless:\s*`[^`]*`[^)]*\)?")
_WIZARD_PREFIX = re.compile(r"\(wizard: ([^;)]*)\)")
_COMMAND = re.compile(r"`?auth0-workos (\w+)(?:\s+(?:--?[\w-]+|DIR|FILE|\.\.\.|…))*`?")
_LEFTOVER_FLAG = re.compile(r"\s*\(?`?--[\w-]+(?:\s+[A-Z]+)?`?\)?")


def _command_to_button(match: re.Match[str]) -> str:
    return COMMAND_BUTTONS.get(match.group(1), "use the matching step's button")


def for_screen(hint: str) -> str:
    """The hint with every command and flag replaced by what to press in this app."""
    if not hint:
        return hint
    out = hint
    for pattern, replacement in FLAG_PHRASES:
        out = pattern.sub(replacement, out)
    out = _HEADLESS.sub("", out)
    out = _WIZARD_PREFIX.sub(lambda m: f"({m.group(1).strip()})", out)
    out = re.sub(r"(?i)\brun (the \w+(?: \w+)? step )?\(?`?(auth0-workos \w+[^)`]*)`?\)?",
                 lambda m: _COMMAND.sub(_command_to_button, m.group(2)), out)
    out = _COMMAND.sub(_command_to_button, out)
    out = _LEFTOVER_FLAG.sub("", out)
    out = re.sub(r"\s{2,}", " ", out).replace(" .", ".").replace("()", "").strip()
    return out[:1].upper() + out[1:]
