"""Decoding a shard's bytes into windows of raw JSON lines, incrementally.

A shard is decompressed a piece at a time, so memory holds the compressed bytes plus about one
window of lines, however large the shard. Lines are ``str`` (decoded a chunk at a
time); only records that are actually yielded are parsed.
"""

from __future__ import annotations

import zlib
from typing import List, Optional

_IN = 256 << 10  # compressed bytes fed per step
_OUT = 1 << 20  # at most this much decompressed output per step (small: stays in CPU cache)


class ShardFormatError(ValueError):
    """A shard's content does not agree with its index entry (record count, gzip framing)."""


class WindowReader:
    """Hands out a shard's lines window by window, in non-decreasing window order."""

    def __init__(self, data: bytes, codec: str, records: int, window: int, name: str) -> None:
        self._data = memoryview(data)
        self._codec = codec
        self._records = records
        self._window = window
        self._name = name
        self._pos = 0  # next input byte
        self._inflate = zlib.decompressobj(wbits=31) if codec == "gzip" else None
        self._lines: List[str] = []  # decoded lines not handed out yet
        self._first = 0  # line index of self._lines[0]
        self._tail = b""  # an incomplete last line
        self._done = False
        self._last: Optional[tuple] = None  # (window index, lines): asked again for the same window

    def window(self, w: int) -> List[str]:
        """The lines of window ``w`` in file order."""
        if self._last is not None and self._last[0] == w:
            return self._last[1]
        start = w * self._window
        stop = min(start + self._window, self._records)
        if start < self._first:
            raise ValueError(f"{self._name}: window {w} was already passed")
        while len(self._lines) < stop - self._first and not self._done:
            self._fill()
        if len(self._lines) < stop - self._first:
            raise ShardFormatError(f"{self._name}: the index says {self._records} records, the shard has {self._first + len(self._lines)}")
        lines = self._lines[start - self._first:stop - self._first]
        del self._lines[:stop - self._first]
        self._first = stop
        if stop == self._records:
            self._check_no_more()
        self._last = (w, lines)
        return lines

    def _fill(self) -> None:
        chunk = self._next_chunk()
        if chunk is None:
            self._done = True
            if self._tail:
                last, self._tail = self._tail, b""
                try:
                    self._lines.append(last.decode("utf-8"))  # a last line without its newline
                except UnicodeDecodeError as err:
                    raise ShardFormatError(f"{self._name}: not UTF-8 text: {err}") from err
            return
        data = self._tail + chunk if self._tail else chunk
        cut = data.rfind(b"\n")
        if cut < 0:
            self._tail = data
            return
        self._tail = data[cut + 1:]
        try:
            # One decode per chunk: str lines spare json.loads its per-record encoding sniffing.
            self._lines.extend(data[:cut].decode("utf-8").split("\n"))
        except UnicodeDecodeError as err:
            raise ShardFormatError(f"{self._name}: not UTF-8 text: {err}") from err

    def _next_chunk(self) -> Optional[bytes]:
        d = self._inflate
        if d is None:  # codec "none"
            if self._pos >= len(self._data):
                return None
            out = self._data[self._pos:self._pos + _OUT].tobytes()
            self._pos += len(out)
            return out
        try:
            if d.unconsumed_tail:
                return d.decompress(d.unconsumed_tail, _OUT)
            if d.eof:
                rest = d.unused_data
                if not rest and self._pos >= len(self._data):
                    return None
                self._inflate = d = zlib.decompressobj(wbits=31)  # a further gzip member
                if rest:
                    return d.decompress(rest, _OUT)
            if self._pos >= len(self._data):
                raise ShardFormatError(f"{self._name}: truncated gzip stream")
            piece = self._data[self._pos:self._pos + _IN]
            self._pos += len(piece)
            return d.decompress(piece, _OUT)
        except zlib.error as err:
            raise ShardFormatError(f"{self._name}: not valid gzip: {err}") from err

    def _check_no_more(self) -> None:
        if self._lines or self._tail:
            raise ShardFormatError(f"{self._name}: the shard has more lines than the index's {self._records} records")
        while not self._done:
            self._fill()
            if self._lines or self._tail.strip():
                raise ShardFormatError(f"{self._name}: the shard has more lines than the index's {self._records} records")
