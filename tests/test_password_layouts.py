"""Every password-file layout is read whole, streamed, with the right line per row, or refused once
(issue 10 §2); the HashReader re-reads each row's hash by offset in every layout."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
from pathlib import Path

import pytest

from wizard.core import passwords
from wizard.core.findings import Finding
from wizard.core.passwords import HashReader, read_password_rows
from wizard.core.plan import build_plan, export_gate
from wizard.core.records import PasswordRow

TAIL = "N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy"
ROWS = [{"_id": {"$oid": f"64db0000000000000000000{i}"}, "connection": "Username-Password-Authentication",
         "email": f"user{i}@exämple.com" if i == 2 else f"user{i}@example.com",
         "passwordHash": f"$2b$1{i}${TAIL}"} for i in range(1, 4)]


def _users(tmp_path: Path) -> Path:
    p = tmp_path / "users.ndjson"
    p.write_text("".join(json.dumps({
        "user_id": f"auth0|{r['_id']['$oid']}", "email": r["email"],
        "identities": [{"provider": "auth0", "user_id": r["_id"]["$oid"], "isSocial": False,
                        "connection": "Username-Password-Authentication"}]}) + "\n" for r in ROWS))
    return p


def _pretty(obj) -> str:
    return json.dumps(obj, indent=2, ensure_ascii=False)


LAYOUTS = {
    # name: (text, line of each row's object)
    "ndjson": ("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in ROWS), [1, 2, 3]),
    "compact-array": (json.dumps(ROWS, ensure_ascii=False), [1, 1, 1]),
    "pretty-array": (_pretty(ROWS) + "\n", [2, 10, 18]),
    "one-pretty-object": (_pretty(ROWS[0]) + "\n", [1]),
    "pretty-objects": ("".join(_pretty(r) + "\n" for r in ROWS), [1, 9, 17]),
    "bom-crlf-pretty-array": ("\ufeff" + _pretty(ROWS).replace("\n", "\r\n"), [2, 10, 18]),
}


@pytest.mark.parametrize("gz", [False, True], ids=["plain", "gzip"])
@pytest.mark.parametrize("layout", list(LAYOUTS))
def test_every_layout_reads_every_row_with_its_line_and_offset(tmp_path, layout, gz):
    text, lines = LAYOUTS[layout]
    data = text.encode("utf-8")
    path = tmp_path / "passwords.json"
    path.write_bytes(gzip.compress(data) if gz else data)
    items = list(read_password_rows(path))
    assert not [i for i in items if isinstance(i, Finding)]
    rows = [i for i in items if isinstance(i, PasswordRow)]
    assert [r.line for r in rows] == lines
    want = ROWS[:len(lines)]
    assert [r.email for r in rows] == [w["email"] for w in want]
    with HashReader(path) as reader:  # re-read at send time, in another order than the file's
        for r, w in reversed(list(zip(rows, want, strict=True))):
            assert reader.hash_at(r.offset) == w["passwordHash"]
            assert data.lstrip(b"\xef\xbb\xbf")[r.offset - (3 if data.startswith(b"\xef\xbb\xbf") else 0):][:1] == b"{"


def test_the_check_cli_plans_a_pretty_array_as_it_plans_ndjson(tmp_path):
    users = _users(tmp_path)
    out = {}
    for layout in ("ndjson", "pretty-array", "compact-array"):
        p = tmp_path / f"{layout}.json"
        p.write_text(LAYOUTS[layout][0])
        proc = subprocess.run([sys.executable, "-m", "wizard", "check", "--users", str(users), "--passwords",
                               str(p), "--json"], capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, proc.stderr
        data = json.loads(proc.stdout)
        out[layout] = (data["summary"]["branches"]["password"], data["summary"]["hash_rows_matched"],
                       [f["code"] for f in data["findings"]])
    assert out["ndjson"] == out["pretty-array"] == out["compact-array"] == (3, 3, [])


@pytest.mark.parametrize("broken, what", [
    (json.dumps(ROWS)[:-40], "cut short"),  # a compact array cut in its last row
    (_pretty(ROWS)[:-2], "not closed"),  # the closing bracket missing
    (json.dumps(ROWS).replace("}, {", "} {", 1), "expected ','"),  # a missing comma
    (_pretty(ROWS[0]) + "\n{ this is not json }\n", "not valid JSON"),
])
def test_an_unreadable_layout_is_one_file_finding_and_fails_the_gate(tmp_path, broken, what):
    users = _users(tmp_path)
    p = tmp_path / "passwords.json"
    p.write_text(broken)
    r = build_plan(users, p)
    files = [f for f in r.findings if f.code == "unreadable_file"]
    assert len(files) == 1 and files[0].line is None and what in files[0].message
    assert "jq -c" in files[0].message  # how to convert it
    assert not [f for f in r.findings if f.code == "invalid_json"]  # not one error per line
    gate = export_gate(r)
    assert not gate.passed and "Password export readable" in r.blocking  # never a partial read passing


def test_a_large_array_is_streamed_not_loaded(tmp_path, monkeypatch):
    """Rows come out while the array is still being read: the reader never holds the whole file."""
    monkeypatch.setattr(passwords, "_STREAM_CHUNK", 4096)
    n = 3000
    p = tmp_path / "big.json.gz"
    with gzip.open(p, "wt") as fh:
        fh.write("[\n" + ",\n".join(json.dumps({"_id": {"$oid": f"{i:024d}"}, "passwordHash": f"$2b$10${TAIL}"})
                                    for i in range(n)) + "\n]\n")
    reads = []
    real = gzip.GzipFile.read

    def counting_read(self, size=-1):
        reads.append(size)
        return real(self, size)

    monkeypatch.setattr(gzip.GzipFile, "read", counting_read)
    it = read_password_rows(p)
    first = next(it)
    assert isinstance(first, PasswordRow) and first.line == 2
    assert all(s != -1 for s in reads) and len(reads) < 10  # bounded reads so far, not the whole file
    rest = list(it)
    assert len(rest) == n - 1 and rest[-1].line == n + 1
