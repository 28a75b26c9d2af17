"""Bounded line reading for the export readers: no line is ever held past `LINE_MAX`, and runs of
blank lines are counted in bulk.

An export is read line by line (NDJSON). Iterating a file object builds each line whole, so one
1 GB line (inside a gzip) took 2.8 GB of memory, and a gigabyte of newlines took half an hour one
line at a time. Here a line longer than `LINE_MAX` is skipped as it streams by (the caller turns it
into a finding) and blank runs are skipped with one regular-expression match per run.

`LINE_MAX` is 16 MiB: a real Auth0 user record is a few KB (metadata is capped at 16 KB per
object by Auth0), so a line past it is never a user.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from typing import BinaryIO

import orjson

LINE_MAX = 16 << 20
_CHUNK = 1 << 20
_BLANK_RUN = re.compile(rb"(?:[ \t\r]*\n)+")


def parse_json(data: bytes, slow: Callable[[bytes], object] = json.loads) -> object:
    """Decode one line's JSON bytes with orjson (several times faster than `json`); a line orjson
    refuses goes to `slow` (the stdlib), so what is accepted and every error message stay the
    stdlib's: lone surrogate escapes, NaN, integers past 64 bits and invalid UTF-8 are the rare
    lines that take that path, and the caller's finding names the file, line and field as before."""
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        return slow(data)


def line_too_long(size: int) -> str:
    """The finding's words for a line past the cap."""
    return (f"this line is {size:,} bytes long, more than the {LINE_MAX >> 20} MiB a line may have (a real "
            "user record is a few KB); it is skipped without being read. Is this the right file?")


class BoundedLines:
    """Iterate `(line number, byte offset, line bytes or None, size)` over the non-blank lines of a
    binary stream; None marks a line longer than `limit` (skipped, never held). `lines` is the count
    of physical lines read so far (blank ones included) and `blank` of the blank ones."""

    def __init__(self, fh: BinaryIO, *, limit: int = LINE_MAX, chunk: int = _CHUNK) -> None:
        self._fh = fh
        self.limit = limit
        self.chunk = max(1, chunk)
        self.lines = 0
        self.blank = 0

    def __iter__(self) -> Iterator[tuple[int, int, bytes | None, int]]:
        # read1: at most one underlying read, so a gzip cut short still yields every line before the cut
        read, limit = getattr(self._fh, "read1", self._fh.read), self.limit
        buf, base, pos = b"", 0, 0  # base: the stream offset of buf[0]
        while True:
            blank = _BLANK_RUN.match(buf, pos)
            if blank is not None:
                self.blank += buf.count(b"\n", pos, blank.end())
                self.lines += buf.count(b"\n", pos, blank.end())
                pos = blank.end()
            nl = buf.find(b"\n", pos)
            if nl >= 0:
                if nl + 1 - pos > limit:
                    self.lines += 1
                    yield self.lines, base + pos, None, nl + 1 - pos
                else:
                    self.lines += 1
                    yield self.lines, base + pos, buf[pos:nl + 1], nl + 1 - pos
                pos = nl + 1
                continue
            if len(buf) - pos > limit:  # no newline yet and already too long: let it stream by
                start, size = base + pos, len(buf) - pos
                base, buf, pos = base + len(buf), b"", 0
                while True:
                    more = read(self.chunk)
                    if not more:
                        self.lines += 1
                        yield self.lines, start, None, size
                        return
                    i = more.find(b"\n")
                    if i < 0:
                        size += len(more)
                        base += len(more)
                        continue
                    size += i + 1
                    self.lines += 1
                    yield self.lines, start, None, size
                    base, buf = base + i + 1, more[i + 1:]
                    break
                continue
            more = read(self.chunk)
            if not more:
                rest = buf[pos:]
                if rest.strip():
                    self.lines += 1
                    yield self.lines, base + pos, rest, len(rest)
                elif rest:
                    self.lines += 1
                    self.blank += 1
                return
            base += pos
            buf = buf[pos:] + more
            pos = 0
