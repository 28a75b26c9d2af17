"""The Import/Export extension's default columns are read as they are, without a key-spelling note
(issue 10 §3). Its defaults (client/reducers/export.js of auth0-user-import-export-extension)."""

from __future__ import annotations

import json
import subprocess
import sys

DEFAULT_COLUMNS = ["Id", "Given Name", "Family Name", "Nickname", "Name", "Email", "Email Verified",
                   "Picture", "Connection", "Created At", "Updated At"]


def test_every_default_column_is_read_without_a_spelling_note(tmp_path):
    row = dict(zip(DEFAULT_COLUMNS, ["auth0|ext1", "Xena", "One", "xena", "Xena One", "x1@example.com",
                                     "true", "https://example.com/x.png", "Username-Password-Authentication",
                                     "2020-01-01T00:00:00.000Z", "2021-01-01T00:00:00.000Z"], strict=True))
    extra = {"Last Login": "2024-01-01T00:00:00.000Z", "Logins Count": 3, "Phone Number": "+15550100",
             "Blocked": "false"}  # columns a person adds are titled the same way
    p = tmp_path / "extension.ndjson"
    p.write_text(json.dumps({**row, **extra}) + "\n")
    proc = subprocess.run([sys.executable, "-m", "wizard", "check", "--users", str(p), "--json", "--samples", "1"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert [f["code"] for f in data["findings"]] == ["hash_not_found"] or not data["findings"], data["findings"]
    assert not [f for f in data["findings"] if f["code"] == "key_spelling"]
    (sample,) = data["samples"]
    assert sample["request"]["first_name"] == "Xena" and sample["request"]["email_verified"] is True
    assert sample["request"]["external_id"] == "auth0|ext1"
