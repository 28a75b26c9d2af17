"""End to end, headless, against the sandbox: the run folder is private and holds no hash and no secret.

Every command writes into the same run folder; afterwards every byte of every file in it (the SQLite
journal included) is searched for each password hash of the export and for the API key and the Auth0
client secret."""

from __future__ import annotations

import json
import stat
from pathlib import Path

from wizard.cli import main


def _env(monkeypatch, workos_emu, auth0_emu) -> None:
    for key, value in {
        "WORKOS_API_KEY": workos_emu.api_key, "WORKOS_CLIENT_ID": workos_emu.client_id,
        "WORKOS_BASE_URL": workos_emu.base_url, "AUTH0_DOMAIN": auth0_emu.domain,
        "AUTH0_CLIENT_ID": auth0_emu.client_id, "AUTH0_CLIENT_SECRET": auth0_emu.client_secret,
        "AUTH0_BASE_URL": auth0_emu.base_url,
    }.items():
        monkeypatch.setenv(key, value)


def test_full_headless_run_leaves_no_hash_or_secret_and_stays_private(tmp_path, monkeypatch, workos_emu,
                                                                        auth0_emu, demo_exports, capsys):
    _env(monkeypatch, workos_emu, auth0_emu)
    monkeypatch.chdir(tmp_path)  # no stray .env.local is read
    run = tmp_path / "run"
    users, passwords = str(demo_exports.users_path), str(demo_exports.passwords_path)
    assert main(["check", "--users", users, "--passwords", passwords, "--run-dir", str(run)]) == 0
    assert main(["import", "--run-dir", str(run), "--dry-run"]) == 0
    assert main(["import", "--run-dir", str(run), "--yes"]) == 0
    assert main(["inventory", "--run-dir", str(run), "--users", users]) == 0
    assert main(["orgs", "--run-dir", str(run), "--yes"]) == 0
    assert main(["mfa", "--run-dir", str(run)]) == 0
    assert main(["verify", "--run-dir", str(run), "--demo", "--no-build", "headless rehearsal in CI",
                 "--confirm-social", "google-oauth2", "github", "windowslive"]) == 0
    assert main(["report", "--run-dir", str(run)]) == 0
    printed = capsys.readouterr()

    hashes = [json.loads(line)["passwordHash"] for line in Path(passwords).read_text().splitlines()
              if line.strip() and json.loads(line).get("passwordHash")]
    assert len(hashes) > 20
    secrets = [workos_emu.api_key, auth0_emu.client_secret]
    # every hash's salt+digest part, so a hash cut or re-prefixed is caught too
    needles = [h[7:] for h in hashes if len(h) > 40] + secrets
    files = [p for p in run.rglob("*") if p.is_file()]
    assert {"journal.sqlite", "id-map.csv", "summary.json", "errors.jsonl", "report.md", "report.json",
            "inventory.json", "mfa-sms-users.csv"} <= {p.name for p in files}
    for path in files:
        data = path.read_bytes()
        for needle in needles:
            assert needle.encode() not in data, f"{path.name} holds a password hash or secret"
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, f"{path.name} is not 0600"
    for folder in [run, *[p for p in run.rglob("*") if p.is_dir()]]:
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700, f"{folder} is not 0700"
    for needle in needles:
        assert needle not in printed.out and needle not in printed.err
