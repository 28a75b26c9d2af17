"""`auth0-workos check`: output, exit codes, --json and --run-dir."""

from __future__ import annotations

import json
import stat
import subprocess
import sys
from pathlib import Path

from wizard.cli import main
from wizard.core.journal import Journal

FIX = Path(__file__).parent / "fixtures"
USERS, PASSWORDS = str(FIX / "users_api.ndjson"), str(FIX / "passwords.ndjson")
HASH_TAIL = "N9qo8uLOickgx2ZMRZoMye"  # part of every fixture bcrypt hash


def test_text_output_and_exit_0(capsys):
    code = main(["check", "--users", USERS, "--passwords", PASSWORDS])
    out = capsys.readouterr().out
    assert code == 0
    assert "Plan             18 WorkOS users: password 6, reset 8, social 2, sso 2, blocked 1, invalid 0" in out
    assert "user_id 9, alt_id 1, email 0" in out
    assert "passwords.ndjson:6 passwordHash  error hash_truncated" in out
    assert "[redacted: bcrypt $2" in out and HASH_TAIL not in out
    assert "Merge rule" in out and "Export gate: PASSED" in out


def test_json_output(capsys):
    code = main(["check", "--users", USERS, "--passwords", PASSWORDS, "--json", "--findings", "5", "--samples", "6"])
    data = json.loads(capsys.readouterr().out)
    assert code == 0 and data["exit_code"] == 0
    assert data["summary"]["branches"]["password"] == 6
    assert data["gates"]["export"]["status"] == "passed"
    assert len(data["findings"]) == 5 and data["findings_total"] == 16
    assert [f["severity"] for f in data["findings"]] == ["error", "error", "warning", "warning", "warning"]
    assert {s["branch"] for s in data["samples"]} == {"password", "reset", "social", "sso", "blocked"}
    pw = next(s for s in data["samples"] if s["branch"] == "password")
    assert pw["request"]["password_hash"].startswith("[redacted: bcrypt")
    assert HASH_TAIL not in json.dumps(data)


def test_blocking_gate_exits_1(capsys):
    code = main(["check", "--users", USERS, "--passwords", str(FIX / "passwords_unrelated.ndjson")])
    out = capsys.readouterr().out
    assert code == 1
    assert "Export gate: FAILED" in out and "[FAIL] Hashes join to users" in out and "fix:" in out


def test_no_users_exits_1(capsys):
    assert main(["check", "--users", str(FIX / "users_blank.ndjson")]) == 1
    assert "no_users" in capsys.readouterr().out


def test_usage_errors_exit_2(capsys, tmp_path):
    assert main(["check", "--users", str(tmp_path / "missing.ndjson")]) == 2
    assert "--users file not found" in capsys.readouterr().err
    assert main(["check", "--users", USERS, "--passwords", str(tmp_path)]) == 2
    assert "--passwords is not a file" in capsys.readouterr().err
    assert main(["check"]) == 2  # --users is required


def test_run_dir_saves_private_journal(capsys, tmp_path):
    run = tmp_path / "runs" / "one"
    code = main(["check", "--users", USERS, "--passwords", PASSWORDS, "--run-dir", str(run)])
    out = capsys.readouterr().out
    assert code == 0 and "Mapping gate: PASSED" in out and "Saved the plan of 18 WorkOS users" in out and "1 blocked or invalid" in out
    assert stat.S_IMODE(run.stat().st_mode) == 0o700
    assert stat.S_IMODE((run / "journal.sqlite").stat().st_mode) == 0o600
    with Journal.open(run) as j:
        assert j.count_users("branch")["password"] == 6
        assert j.input_path("passwords") == Path(PASSWORDS).resolve()


def test_console_entry_point_subprocess(tmp_path):
    p = subprocess.run([sys.executable, "-m", "wizard", "check", "--users", str(FIX / "users_array.json"), "--json"],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    data = json.loads(p.stdout)
    assert data["summary"]["format"] == "json-array" and data["summary"]["branches"]["invalid"] == 1
