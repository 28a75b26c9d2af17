"""The password export: hash classification, row normalization, and re-reading a hash by offset."""

from __future__ import annotations

import gzip
import json
import shutil
from pathlib import Path

import bcrypt
import pytest

from wizard.core.findings import Finding
from wizard.core.passwords import HashReader, HashReadError, classify_hash, read_password_rows
from wizard.core.records import PasswordRow

FIX = Path(__file__).parent / "fixtures"
TAIL = "N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy"


@pytest.mark.parametrize("prefix", ["$2a$", "$2b$", "$2y$"])
def test_bcrypt_prefixes_sent_as_bcrypt(prefix):
    c = classify_hash(f"{prefix}10${TAIL}")
    assert (c.ok, c.kind, c.prefix, c.cost, c.code) == (True, "bcrypt", prefix, 10, "hash_ok")


def test_2x_is_unsupported_and_says_why():
    c = classify_hash(f"$2x$10${TAIL}")
    assert not c.ok and c.kind == "unsupported" and c.prefix == "$2x$"
    assert "crypt_blowfish" in c.message


def test_real_bcrypt_hash_is_recognised():
    h = bcrypt.hashpw(b"correct horse", bcrypt.gensalt(rounds=4)).decode()
    c = classify_hash(h)
    assert c.ok and c.cost == 4


@pytest.mark.parametrize("h", ["$2b$10$" + TAIL[:40], "$2b$10$", "$2b$1", "$2"])
def test_truncated_hash(h):
    c = classify_hash(h)
    assert (c.ok, c.kind, c.code) == (False, "truncated", "hash_truncated")
    assert f"{len(h)} of 60" in c.message


@pytest.mark.parametrize("h", [
    "$2b$10$" + TAIL + "x",  # too long
    "$2b$10$" + TAIL[:52] + "!",  # bad character
    "$argon2id$v=19$m=65536,t=3,p=4$c29tZXNhbHQ$RdescudvJCsgt3ub",
    "pbkdf2_sha256$260000$salt$hash",
    "$2c$10$" + TAIL,  # not a bcrypt variant
])
def test_unsupported_never_labelled_bcrypt(h):
    c = classify_hash(h)
    assert not c.ok and c.kind == "unsupported" and c.code == "hash_unsupported"
    assert h not in c.message and TAIL not in c.message  # never echo the hash


@pytest.mark.parametrize("h", [None, "", "   "])
def test_empty_hash(h):
    c = classify_hash(h)
    assert (c.ok, c.kind, c.code) == (False, "empty", "hash_missing")


def test_non_string_hash_is_unsupported():
    assert classify_hash(12345).kind == "unsupported"


def _rows(path) -> tuple[list[PasswordRow], list[Finding]]:
    items = list(read_password_rows(path))
    return [i for i in items if isinstance(i, PasswordRow)], [i for i in items if isinstance(i, Finding)]


def test_fixture_rows_keys_and_offsets():
    rows, findings = _rows(FIX / "passwords.ndjson")
    by_line = {r.line: r for r in rows}
    assert by_line[1].oid == "5dea9f9c82dd7c0e76e4ec93" and by_line[1].joined_user_id == "auth0|5dea9f9c82dd7c0e76e4ec93"
    assert by_line[2].alt_id == "euclid" and by_line[2].joined_user_id == "auth0|euclid"  # alt_id wins
    assert by_line[4].oid == "64db00000000000000000004"  # `_ID` spelling
    assert by_line[5].email == "erin@example.com" and by_line[5].email_verified is True  # from identifiers[]
    assert 8 not in by_line  # the blank line is skipped without a finding
    assert [(f.line, f.code) for f in findings] == [(10, "invalid_json")]
    raw = (FIX / "passwords.ndjson").read_bytes()
    for r in rows:  # offsets point at the start of each row's line
        assert raw[r.offset:].split(b"\n", 1)[0] == raw.split(b"\n")[r.line - 1]


def test_row_without_any_key_is_a_finding(tmp_path):
    p = tmp_path / "p.ndjson"
    p.write_text(json.dumps({"passwordHash": f"$2b$10${TAIL}"}) + "\n")
    rows, findings = _rows(p)
    assert rows == [] and findings[0].code == "missing_user_id" and findings[0].line == 1


def test_hash_reader_plain_and_gzip_with_misleading_name(tmp_path):
    src = FIX / "passwords.ndjson"
    gz = tmp_path / "passwords.ndjson"  # gzip inside, plain name
    gz.write_bytes(gzip.compress(src.read_bytes()))
    rows, _ = _rows(src)
    expected = {r.offset: r.password_hash for r in rows if isinstance(r.password_hash, str) and r.password_hash}
    for path in (src, gz):
        with HashReader(path) as reader:
            for off, h in sorted(expected.items()):  # sequential
                assert reader.hash_at(off) == h
            for off, h in sorted(expected.items(), reverse=True):  # backwards works too
                assert reader.hash_at(off) == h
    gz_rows, _ = _rows(gz)
    assert [r.offset for r in gz_rows] == [r.offset for r in rows]


def test_hash_reader_with_bom_and_crlf(tmp_path):
    p = tmp_path / "p.ndjson"
    h1, h2 = f"$2b$10${TAIL}", f"$2a$10${TAIL}"
    p.write_bytes(b"\xef\xbb\xbf" + (json.dumps({"_id": {"$oid": "a"}, "passwordHash": h1}) + "\r\n\r\n"
                                     + json.dumps({"_id": {"$oid": "b"}, "passwordHash": h2}) + "\r\n").encode())
    rows, findings = _rows(p)
    assert not findings and [r.line for r in rows] == [1, 3]
    with HashReader(p) as reader:
        assert [reader.hash_at(r.offset) for r in rows] == [h1, h2]


def test_hash_reader_errors(tmp_path):
    p = tmp_path / "p.ndjson"
    shutil.copy(FIX / "passwords.ndjson", p)
    rows, _ = _rows(p)
    no_hash = next(r for r in rows if r.line == 15)
    with HashReader(p) as reader:
        with pytest.raises(HashReadError):
            reader.hash_at(rows[0].offset + 3)  # not the start of a row
        with pytest.raises(HashReadError) as exc:
            reader.hash_at(no_hash.offset)
        assert "$2" not in str(exc.value)


def _big_password_file(n: int) -> tuple[bytes, list[tuple[int, str]]]:
    """n rows; returns the bytes and (offset, hash) of each row."""
    out, expected, offset = [], [], 0
    for i in range(n):
        h = f"$2b$10${i:08d}{TAIL[8:]}"
        line = (json.dumps({"_id": {"$oid": f"{i:024x}"}, "email": f"u{i}@example.com", "passwordHash": h,
                            "password_set_date": {"$date": "2019-12-06T18:36:12.412Z"}}) + "\n").encode()
        expected.append((offset, h))
        out.append(line)
        offset += len(line)
    return b"".join(out), expected


def test_hash_reader_gzip_random_order_uses_checkpoints(tmp_path, monkeypatch):
    import random

    from wizard.core import passwords

    monkeypatch.setattr(passwords._GzipLines, "CHUNK", 1024)  # small reads: many checkpoints

    data, expected = _big_password_file(3000)  # about 500 KB decompressed
    p = tmp_path / "pw.gz"
    p.write_bytes(gzip.compress(data, compresslevel=1))
    order = expected[:]
    random.Random(7).shuffle(order)
    with HashReader(p, checkpoint_every=16 * 1024) as reader:
        for off, h in order:
            assert reader.hash_at(off) == h
        assert len(reader._src._points) > 10  # checkpoints were taken and used
        with pytest.raises(HashReadError):
            reader.hash_at(expected[5][0] + 1)  # not the start of a row
        with pytest.raises(HashReadError):
            reader.hash_at(len(data) + 10)  # past the end


def test_hash_reader_multi_member_gzip(tmp_path):
    data, expected = _big_password_file(400)
    half = expected[200][0]
    p = tmp_path / "pw.ndjson"
    p.write_bytes(gzip.compress(data[:half]) + gzip.compress(data[half:]))
    rows = [r for r in read_password_rows(p) if isinstance(r, PasswordRow)]
    assert [(r.offset, r.password_hash) for r in rows] == expected
    with HashReader(p, checkpoint_every=4096) as reader:
        for off, h in reversed(expected):
            assert reader.hash_at(off) == h


def test_hash_reader_gzip_index_answers_as_the_reader_does_in_any_order(tmp_path):
    import random

    data, expected = _big_password_file(2000)
    odd = (json.dumps({"_id": {"$oid": "f" * 24}, "email": "nohash@example.com"}) + "\n").encode()
    p = tmp_path / "pw.gz"
    p.write_bytes(gzip.compress(b"\xef\xbb\xbf" + data + odd, compresslevel=1))
    order = [(off + (3 if off else 0), h) for off, h in expected]  # the BOM shifts every row but the first
    random.Random(11).shuffle(order)
    with HashReader(p, index_gzip=True) as reader:
        for off, h in order:
            assert reader.hash_at(off) == h
        assert len(reader._index) == 2000  # one pass indexed every row with a hash
        assert reader._src is None  # no lookup needed the decompressing reader
        with pytest.raises(HashReadError) as exc:  # not indexed: the reader's own words
            reader.hash_at(len(data) + 3)
        assert "no password hash" in str(exc.value)
        with pytest.raises(HashReadError):
            reader.hash_at(order[0][0] + 1)  # not the start of a row
