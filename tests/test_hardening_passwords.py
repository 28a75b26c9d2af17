"""The password export is re-read at send time: its fingerprint (size, modified time, inode, then
the content hash when the stamp moved) is checked before each hash is read, and a file changed since
`check` stops the import with a clear message before any hash of the new file is sent."""

from __future__ import annotations

import json
import os

import bcrypt
from test_importer import FAST, SALT, assert_exactly_planned, make_plan, password_of, settings_for

from wizard.clients.workos import make_client
from wizard.core.importer import Importer
from wizard.core.passwords import HashReader
from wizard.core.records import UserStatus

CHANGED = "Changed-pw"


def _swapped(original: bytes) -> bytes:
    """The same export with every hash replaced by another valid one of the same length (the file
    keeps its size)."""
    lines = []
    for line in original.decode().splitlines(keepends=True):
        row = json.loads(line)
        row["passwordHash"] = bcrypt.hashpw(CHANGED.encode(), SALT).decode()
        lines.append(json.dumps(row) + "\n")
    out = "".join(lines).encode()
    assert len(out) == len(original)
    return out


def _edited(path, content: bytes) -> None:
    """Write in place as an editor would; the modified time moves on (set explicitly, so a coarse
    file-system clock cannot hide the edit)."""
    before = path.stat()
    path.write_bytes(content)
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns + 1_000_000_000))


async def _import(journal, emu, hash_reader=None):
    client = make_client(settings_for(emu))
    try:
        return await Importer(journal, client, hash_reader=hash_reader, **FAST).run()
    finally:
        await client.close()


async def test_a_password_file_changed_during_the_import_stops_it_before_a_new_hash_is_sent(workos_emu, tmp_path):
    journal = make_plan(tmp_path / "run", 40)
    pw = journal.input_path("passwords")
    original = pw.read_bytes()
    swapped = _swapped(original)
    edits = []

    class EditAfterThree(HashReader):  # the real reader; the file is edited in place after 3 reads
        def hash_at(self, offset):
            value = super().hash_at(offset)
            if len(edits) < 3:
                edits.append(offset)
                if len(edits) == 3:
                    _edited(pw, swapped)
            return value

    reader = EditAfterThree(pw)
    try:
        summary = await _import(journal, workos_emu, hash_reader=reader)
    finally:
        reader.close()
    assert len(edits) == 3, "the file was edited mid-import"
    assert summary.stopped and str(pw) in summary.stop_reason and "changed since it was planned" in summary.stop_reason
    assert "Nothing more was sent" in summary.stop_reason
    assert summary.failed == 0, "nobody is failed for it: the run stops"
    assert summary.remaining > 0
    emu = workos_emu.emulator
    assert not any(emu.password_matches(u["id"], CHANGED) for u in emu.users.values()), "no hash of the new file"
    # the checked file put back (a copy: new modified time, same bytes): the resume finishes
    _edited(pw, original)
    summary = await _import(journal, workos_emu)
    assert summary.ok, summary.stop_reason
    assert_exactly_planned(workos_emu, journal)


async def test_a_password_file_changed_before_the_import_sends_nothing(workos_emu, tmp_path):
    journal = make_plan(tmp_path / "run", 6)
    pw = journal.input_path("passwords")
    _edited(pw, _swapped(pw.read_bytes()))
    summary = await _import(journal, workos_emu)
    assert summary.stopped and "changed since it was planned" in summary.stop_reason
    emu = workos_emu.emulator
    assert not any(emu.has_password(u["id"]) for u in emu.users.values())
    assert not journal.users(status=UserStatus.FAILED)


async def test_a_touched_but_unchanged_password_file_imports_normally(workos_emu, tmp_path):
    journal = make_plan(tmp_path / "run", 8)
    pw = journal.input_path("passwords")
    _edited(pw, pw.read_bytes())  # same bytes, new modified time
    summary = await _import(journal, workos_emu)
    assert summary.ok and summary.created == 8
    assert all(workos_emu.emulator.password_matches(u.workos_user_id, password_of(int(u.auth0_user_id[-5:])))
               for u in journal.users() if u.hash_ref is not None)
