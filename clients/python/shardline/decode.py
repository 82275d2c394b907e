"""Decoding a shard's bytes into windows of raw JSON lines, incrementally.

A shard is decompressed a piece at a time, so memory holds the compressed bytes plus about one
window of lines, however large the shard. Lines are ``str`` (decoded a chunk at a
time); only records that are actually yielded are parsed.

Codecs: ``gzip`` (zlib), ``none``, and ``zstd`` through the ``zstandard`` module when it is
importable, else by streaming through the ``zstd`` command-line tool (``zstd -dc``) when it is on
PATH; with neither, :func:`zstd_backend` is None and loading an index with zstd shards fails
saying so. A shard may hold several gzip members or zstd frames (the agents write one per block).
"""

from __future__ import annotations

import shutil
import subprocess
import threading
import weakref
import zlib
from typing import List, Optional

_IN = 256 << 10  # compressed bytes fed per step
_ZSTD_IN = 64 << 10  # zstd's decompressobj has no output limit: smaller steps bound its output
_OUT = 1 << 20  # at most this much decompressed output per step (small: stays in CPU cache)


class ShardFormatError(ValueError):
    """A shard's content does not agree with its index entry (record count, gzip/zstd framing)."""


def _zstandard():
    try:
        import zstandard
    except ImportError:
        return None
    return zstandard


def zstd_backend() -> Optional[str]:
    """How zstd shards are decoded here: ``"module"`` (zstandard), ``"cli"`` (zstd on PATH), or None."""
    if _zstandard() is not None:
        return "module"
    if shutil.which("zstd"):
        return "cli"
    return None


#: What to do when zstd cannot be decoded here.
ZSTD_HELP = "needs the zstandard module (pip install zstandard, or Debian's python3-zstandard) or the zstd command-line tool on PATH; neither is available"


class WindowReader:
    """Hands out a shard's lines window by window, in non-decreasing window order."""

    def __init__(self, data: bytes, codec: str, records: int, window: int, name: str) -> None:
        self._data = memoryview(data)
        self._codec = codec
        self._records = records
        self._window = window
        self._name = name
        self._source = _source(self._data, codec, name)
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
        chunk = self._source.next()
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

    def _check_no_more(self) -> None:
        if self._lines or self._tail:
            raise ShardFormatError(f"{self._name}: the shard has more lines than the index's {self._records} records")
        while not self._done:
            self._fill()
            if self._lines or self._tail.strip():
                raise ShardFormatError(f"{self._name}: the shard has more lines than the index's {self._records} records")


def _source(data: memoryview, codec: str, name: str):
    if codec == "gzip":
        return _GzipSource(data, name)
    if codec == "none":
        return _PlainSource(data)
    if codec == "zstd":
        backend = zstd_backend()
        if backend == "module":
            return _ZstdModuleSource(data, name)
        if backend == "cli":
            return _ZstdCliSource(data, name)
        raise ShardFormatError(f"{name}: a zstd shard {ZSTD_HELP}")
    raise ShardFormatError(f"{name}: unknown codec {codec!r}")


class _PlainSource:
    def __init__(self, data: memoryview) -> None:
        self._data = data
        self._pos = 0

    def next(self) -> Optional[bytes]:
        """The next piece of decoded bytes; None at the end."""
        if self._pos >= len(self._data):
            return None
        out = self._data[self._pos:self._pos + _OUT].tobytes()
        self._pos += len(out)
        return out


class _GzipSource:
    def __init__(self, data: memoryview, name: str) -> None:
        self._data = data
        self._name = name
        self._pos = 0  # next input byte
        self._inflate = zlib.decompressobj(wbits=31)

    def next(self) -> Optional[bytes]:
        d = self._inflate
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


class _ZstdModuleSource:
    """zstd through the zstandard module, frame after frame."""

    def __init__(self, data: memoryview, name: str) -> None:
        self._zstd = _zstandard()
        self._data = data
        self._name = name
        self._pos = 0
        self._rest = b""  # input past the end of the last frame
        self._d = self._zstd.ZstdDecompressor().decompressobj()

    def next(self) -> Optional[bytes]:
        try:
            if self._d.eof:
                self._rest = self._d.unused_data + self._rest
                if not self._rest and self._pos >= len(self._data):
                    return None
                self._d = self._zstd.ZstdDecompressor().decompressobj()  # a further zstd frame
            if self._rest:
                piece, self._rest = self._rest[:_ZSTD_IN], self._rest[_ZSTD_IN:]
            elif self._pos < len(self._data):
                piece = self._data[self._pos:self._pos + _ZSTD_IN].tobytes()
                self._pos += len(piece)
            else:
                raise ShardFormatError(f"{self._name}: truncated zstd stream")
            return self._d.decompress(piece)
        except self._zstd.ZstdError as err:
            raise ShardFormatError(f"{self._name}: not valid zstd: {err}") from err


class _ZstdCliSource:
    """zstd streamed through ``zstd -dc``: a thread feeds its input, its output is read a piece at a time."""

    def __init__(self, data: memoryview, name: str) -> None:
        self._name = name
        self._proc = subprocess.Popen(["zstd", "-dcq"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self._feeder = threading.Thread(target=_feed, args=(self._proc.stdin, data), daemon=True)
        self._feeder.start()
        # A reader dropped halfway (the epoch moved on) must not leave a process behind.
        self._finalizer = weakref.finalize(self, _stop, self._proc)

    def next(self) -> Optional[bytes]:
        out = self._proc.stdout.read1(_OUT)
        if out:
            return out
        self._feeder.join()
        err = self._proc.stderr.read().decode("utf-8", "replace").strip()
        code = self._proc.wait()
        self._finalizer()
        if code != 0:
            raise ShardFormatError(f"{self._name}: not valid zstd (zstd -dc exited {code}: {err})")
        return None


def _feed(stdin, data: memoryview) -> None:
    try:
        for at in range(0, len(data), _IN):
            stdin.write(data[at:at + _IN])
        stdin.close()
    except (BrokenPipeError, ValueError, OSError):
        pass  # the process ended first (bad input, or the reader was dropped): its exit code tells


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.kill()
    proc.wait()
    for stream in (proc.stdin, proc.stdout, proc.stderr):
        try:
            stream.close()
        except (OSError, ValueError):
            pass
