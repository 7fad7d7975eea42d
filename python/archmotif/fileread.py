"""The one place archmotif opens, parses and reads a file that someone else may have made.

Every reader (corpus, OpGraph JSON, index, WL baseline, encoder, ONNX) goes through
here, so the rules below hold for all of them (SECURITY.md states them as the threat
model):

- **Regular files only.** A path is opened without blocking and checked with ``fstat``
  before a byte is read: a FIFO, socket, device or directory is a
  :class:`~archmotif.FormatError` naming it (a FIFO would otherwise hang the reader), as
  is a symlink loop. A missing file stays a ``FileNotFoundError`` and an unreadable one a
  ``PermissionError``: those builtins already say what is wrong.
- **JSON is data.** Decoded as strict UTF-8 and parsed by :func:`parse_json`: bad bytes,
  nesting too deep for the parser, numbers too long to convert and plain syntax errors
  are all a ``FormatError`` naming the file and the part.
- **Archives are checked before anything is allocated.** :class:`NpzReader` reads the
  zip directory, refuses duplicate member names, encrypted members and compressed
  members (archmotif writes its ``.npz`` files uncompressed, so a compressed member is
  foreign, and inflating it is how a small file claims gigabytes), checks that every
  member lies inside the file and that its ``.npy`` header (dtype, shape, computed in
  Python integers, so a shape of 2**64 cannot overflow) accounts for exactly its bytes,
  refuses object dtypes (pickles), and checks every member's CRC-32 in one streaming
  pass of bounded memory. Arrays are then read with positioned reads of just the range
  asked for.
"""

from __future__ import annotations

import json
import math
import os
import stat
import threading
import zipfile
import zlib
from dataclasses import dataclass
from typing import IO, Any

import numpy as np

from archmotif.errors import FormatError

__all__ = ["Member", "NpzReader", "open_regular", "parse_json", "read_regular"]

_BLOCK = 1 << 24  # bytes per read when streaming a whole member (CRC pass)
_NPY_HEADERS = {
    (1, 0): np.lib.format.read_array_header_1_0,
    (2, 0): np.lib.format.read_array_header_2_0,
}
_KINDS = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
)


def open_regular(path: str | os.PathLike[str], what: str) -> IO[bytes]:
    """``path`` opened for unbuffered binary reading, once it is known to be a regular
    file; anything else is a :class:`~archmotif.FormatError` naming it and ``what`` was
    expected, with its article (e.g. ``"an archmotif corpus"``)."""
    p = os.fspath(path)
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(p, flags)  # O_NONBLOCK: opening a FIFO must not wait for a writer
    except (FileNotFoundError, PermissionError):
        raise
    except IsADirectoryError:
        raise FormatError(f"{p}: is a directory, not {what}") from None
    except OSError as e:  # a symlink loop (ELOOP), a socket (ENXIO), a name too long ...
        raise FormatError(f"{p}: cannot be opened as {what} ({e.strerror or e})") from None
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            kind = next((name for test, name in _KINDS if test(mode)), "not a regular file")
            raise FormatError(f"{p}: is {kind}, not {what}")
        return os.fdopen(fd, "rb", buffering=0)
    except BaseException:
        os.close(fd)
        raise


def read_regular(path: str | os.PathLike[str], what: str) -> bytes:
    """The whole content of the regular file ``path`` (see :func:`open_regular`)."""
    with open_regular(path, what) as f:
        chunks = []
        while block := f.read(_BLOCK):
            chunks.append(block)
        return b"".join(chunks)


def parse_json(data: bytes | bytearray | memoryview | str, source: str, what: str) -> Any:
    """``data`` (UTF-8 bytes or text) parsed as JSON; any failure is a
    :class:`~archmotif.FormatError` naming ``source`` and ``what`` (e.g. "index header")."""
    if not isinstance(data, (str, bytes, bytearray, memoryview)):
        raise FormatError(f"{source}: {what} is not text (got {type(data).__name__})")
    try:
        text = data if isinstance(data, str) else bytes(data).decode("utf-8")
    except UnicodeDecodeError as e:
        raise FormatError(f"{source}: {what} is not UTF-8 ({e.reason} at byte {e.start})") from None
    try:
        return json.loads(text)
    except RecursionError:
        raise FormatError(f"{source}: {what} is nested too deeply to be archmotif's") from None
    except ValueError as e:  # JSONDecodeError, or an integer of too many digits
        raise FormatError(f"{source}: {what} is not valid JSON: {e}") from None


@dataclass(frozen=True)
class Member:
    """A stored ``.npy`` member: where its data starts in the file, its dtype and shape."""

    offset: int
    dtype: np.dtype[Any]
    shape: tuple[int, ...]

    @property
    def size(self) -> int:
        return math.prod(self.shape)


class NpzReader:
    """A checked ``.npz`` archive (see the module docstring for every check made on
    opening). ``kind`` names the file in messages: ``"corpus"`` gives "not a readable
    archmotif corpus (...)". ``members`` maps the ``.npy`` members, named without
    ``.npy``, to where they are; ``others`` lists the names of any other members.
    """

    def __init__(self, path: str | os.PathLike[str], kind: str, *, verify: bool = True):
        self.path = os.fspath(path)
        self.kind = kind
        self._file: IO[bytes] | None = open_regular(self.path, f"an archmotif {kind}")
        self._lock = threading.Lock()
        try:
            self.members = self._open(verify)
        except BaseException:
            self.close()
            raise

    def unreadable(self, why: object) -> FormatError:
        """The error for a file that is not a readable archive of this kind."""
        return FormatError(f"{self.path}: not a readable archmotif {self.kind} ({why})")

    def _open(self, verify: bool) -> dict[str, Member]:
        assert self._file is not None
        size = os.fstat(self._file.fileno()).st_size
        if self.bytes(2, 0) != b"PK":
            raise FormatError(f"{self.path}: not an archmotif {self.kind} (not a zip/.npz archive)")
        try:
            self._file.seek(0)
            infos = zipfile.ZipFile(self._file).infolist()
        # zipfile raises RuntimeError for a member flagged as encrypted and
        # NotImplementedError (a RuntimeError) for an unknown compression method
        except (OSError, ValueError, EOFError, zipfile.BadZipFile, KeyError, RuntimeError) as e:
            raise self.unreadable(e) from None
        seen: set[str] = set()
        for info in infos:
            if info.filename in seen:  # zipfile would silently read the last one
                raise self.unreadable(f"member {info.filename!r} appears twice")
            seen.add(info.filename)
        self.others = sorted(seen - {i.filename for i in infos if i.filename.endswith(".npy")})
        members = {}
        for info in infos:
            if info.filename.endswith(".npy"):
                members[info.filename[:-4]] = self._member(info, size, verify)
        return members

    def _member(self, info: zipfile.ZipInfo, size: int, verify: bool) -> Member:
        name = info.filename
        if info.flag_bits & 0x1:
            raise self.unreadable(f"File {name!r} is encrypted, password required")
        if info.compress_type != zipfile.ZIP_STORED:
            raise self.unreadable(
                f"member {name!r} is compressed; archmotif files are stored uncompressed"
            )
        if not 0 <= info.header_offset <= size - 30:  # zipfile can compute a negative one
            raise self.unreadable(f"bad local header offset for {name!r}")
        local = self.bytes(30, info.header_offset)
        if len(local) < 30 or local[:4] != b"PK\x03\x04":
            raise self.unreadable(f"bad local header for {name!r}")
        start = (
            info.header_offset
            + 30
            + int.from_bytes(local[26:28], "little")
            + int.from_bytes(local[28:30], "little")
        )
        if info.compress_size != info.file_size or start + info.file_size > size:
            raise self.unreadable(f"{name!r} is truncated or mis-sized")
        if verify:
            crc, at, left = 0, start, info.file_size
            while left:
                block = self.bytes(min(left, _BLOCK), at)
                if not block:
                    raise self.unreadable(f"{name!r} is truncated")
                crc = zlib.crc32(block, crc)
                at, left = at + len(block), left - len(block)
            if crc != info.CRC:
                raise self.unreadable(f"Bad CRC-32 for file {name!r}")
        assert self._file is not None
        with self._lock:
            self._file.seek(start)
            try:
                version = np.lib.format.read_magic(self._file)
                header = _NPY_HEADERS.get(version)
                if header is None:
                    raise ValueError(f".npy version {version}")
                shape, fortran, dtype = header(self._file)  # header text at most 10 kB
            except (ValueError, EOFError, SyntaxError, TypeError) as e:
                raise self.unreadable(f"{name!r} has a bad .npy header ({e})") from None
            data = self._file.tell()
        if dtype.hasobject:
            raise self.unreadable(f"{name!r} holds Python objects (pickles are refused)")
        if fortran and len(shape) > 1:
            raise self.unreadable(f"{name!r} is in Fortran order")
        if any(not isinstance(s, int) or s < 0 for s in shape):
            raise self.unreadable(f"{name!r} has a bad shape {shape}")
        nbytes = math.prod(shape) * dtype.itemsize  # Python ints: no overflow
        if data - start + nbytes != info.file_size:
            raise self.unreadable(f"{name!r} is truncated or mis-sized")
        return Member(data, dtype, tuple(shape))

    # -- positioned reads ------------------------------------------------------------

    def pread(self, buf: bytearray | memoryview, offset: int) -> int:
        """Reads into ``buf`` from ``offset``; returns how many bytes came."""
        if self._file is None:
            raise ValueError(f"{self.path}: this {self.kind} reader is closed")
        with self._lock:
            self._file.seek(offset)
            view, got = memoryview(buf), 0
            while got < len(view):
                n = self._file.readinto(view[got:])
                if not n:
                    break
                got += n
            return got

    def bytes(self, n: int, offset: int) -> bytes:
        buf = bytearray(n)
        return bytes(buf[: self.pread(buf, offset)])

    def read(self, name: str, start: int = 0, count: int | None = None, row: int | None = None):
        """Elements ``start:start+count`` (default: to the end) of the flattened member
        ``name``, or of its row ``row`` for a 2-D member, as a 1-D array."""
        m = self.members[name]
        width = m.shape[-1] if m.shape else 1
        if count is None:
            count = (width if row is not None else m.size) - start
        first = start + (row * width if row is not None else 0)
        size = m.dtype.itemsize
        buf = bytearray(count * size)
        got = self.pread(buf, m.offset + first * size) if count else 0
        if got != len(buf):
            raise self.unreadable(f"{name}.npy is truncated")
        return np.frombuffer(buf, dtype=m.dtype)

    def array(self, name: str) -> np.ndarray:
        """The whole member ``name``, in its shape (read-only view of fresh memory)."""
        return self.read(name).reshape(self.members[name].shape)

    def close(self) -> None:
        f, self._file = getattr(self, "_file", None), None
        if f is not None:
            f.close()

    def __enter__(self) -> NpzReader:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
