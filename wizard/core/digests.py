"""Per-user password-hash digests: how a later sync tells a changed password from an unchanged one
without keeping the hash.

At plan time every planned user with a hash reference gets a 64-bit keyed BLAKE2b digest of its
hash string (the key is random per run, kept in the journal's meta). The digest reveals nothing
about the hash beyond equality, and no hash is stored anywhere. A delta sync digests the new
password export the same way and compares.
"""

from __future__ import annotations

import contextlib
import hashlib
import secrets
from array import array
from bisect import bisect_left
from pathlib import Path

from wizard.core.findings import Finding
from wizard.core.journal import Journal
from wizard.core.passwords import read_password_rows

DIGEST_KEY_META = "hash_digest_key"


def digest_key(journal: Journal) -> bytes:
    """The run's digest key (created on first use)."""
    key = journal.get_meta(DIGEST_KEY_META)
    if key is None:
        key = secrets.token_hex(32)
        journal.set_meta(DIGEST_KEY_META, key)
    return bytes.fromhex(key)


def hash_digest(password_hash: str | None, key: bytes) -> int:
    """A signed 64-bit digest of one hash string; 0 means "no hash"."""
    if not password_hash:
        return 0
    d = int.from_bytes(hashlib.blake2b(password_hash.encode(), digest_size=8, key=key).digest(),
                       "big", signed=True)
    return d or 1


class FileDigests:
    """Digest of every row of a password export, by the row's byte offset (file order, so sorted):
    16 bytes a row, the hashes themselves are dropped as soon as they are digested."""

    def __init__(self, path: str | Path, key: bytes) -> None:
        self.offsets = array("q")
        self.digests = array("q")
        last = -1
        for item in read_password_rows(path, as_tuples=True):
            if type(item) is Finding:
                continue
            _line, offset, fields = item
            if offset <= last:  # never expected (offsets grow), but keep the bisect valid
                continue
            last = offset
            self.offsets.append(offset)
            self.digests.append(hash_digest(fields[5], key))

    @classmethod
    def from_rows(cls, offsets: array, digests: array) -> FileDigests:
        """The digests the export check took while it read the file (rows in file order): the
        save and the sync then need not read the password export a second time."""
        self = cls.__new__(cls)
        self.offsets, self.digests = offsets, digests
        return self

    def at(self, offset: int | None) -> int:
        if offset is None:
            return 0
        i = bisect_left(self.offsets, offset)
        if i < len(self.offsets) and self.offsets[i] == offset:
            return self.digests[i]
        return 0


def record_hash_digests(journal: Journal, passwords_path: str | Path | None,
                        digests: FileDigests | None = None) -> int:
    """Store the digest of each planned user's hash (called as a plan is saved). `digests`, when
    given, were taken under this run's key as the plan was checked; else the password export is
    read again. Without a password export, or when it cannot be read any more, the digests are
    cleared: a later sync then treats any hash it sees as new (re-sending a hash is idempotent)."""
    if passwords_path is None:
        journal.replace_hash_digests(())
        return 0
    if digests is None:
        try:
            digests = FileDigests(passwords_path, digest_key(journal))
        except OSError:
            journal.replace_hash_digests(())
            return 0
    pairs = ((aid, digests.at(ref)) for aid, ref in journal.iter_hash_refs())
    return journal.replace_hash_digests(p for p in pairs if p[1])


def file_digests_or_none(path: str | Path | None, key: bytes) -> FileDigests | None:
    if path is None:
        return None
    with contextlib.suppress(OSError):
        return FileDigests(path, key)
    return None
