"""Atomic file writes: nothing archmotif writes is ever left half-written.

The data goes to a temporary file in the destination's directory, is flushed
and fsynced, then renamed over the destination (atomic on POSIX and Windows).
If writing fails or is interrupted, the temporary file is removed and the
destination keeps its old content.

A process killed outright (``kill -9``, a power cut) cannot remove its temporary
file, so temporaries carry the host and process that made them
(``.tmp-archmotif-HOST-PID-...-NAME``), and every write to ``NAME`` first removes those
of its own host whose process is gone: a crash leaves litter only until the next save
to the same path. Temporaries of live processes and of other hosts are never touched.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import socket
import tempfile
from collections.abc import Callable
from typing import IO

__all__ = ["clean_stale", "temp_affixes", "write_atomic"]


def _umask() -> int:
    """The process umask, read without changing it (``os.umask`` can only be read by
    setting it, which races with other threads creating files)."""
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    return 0o022


def _host() -> str:
    return re.sub(r"[^A-Za-z0-9_.]", "_", socket.gethostname()) or "host"


def temp_affixes(dest: str) -> tuple[str, str]:
    """(prefix, suffix) of this process's temporary files for ``dest``."""
    return f".tmp-archmotif-{_host()}-{os.getpid()}-", "-" + os.path.basename(dest)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # exists, but is someone else's (EPERM)
        return True
    return True


def clean_stale(dest: str) -> None:
    """Removes the temporary files and folders that killed processes of this host left
    while writing ``dest`` (see the module docstring)."""
    directory = os.path.dirname(os.path.abspath(dest))
    pattern = re.compile(
        rf"\.tmp-archmotif-{re.escape(_host())}-(\d+)-.*-{re.escape(os.path.basename(dest))}"
        r"(\.d)?"
    )
    try:
        names = os.listdir(directory)
    except OSError:
        return
    for name in names:
        m = pattern.fullmatch(name)
        if m is None or _alive(int(m.group(1))):
            continue
        stale = os.path.join(directory, name)
        with contextlib.suppress(OSError):
            if m.group(2):
                shutil.rmtree(stale)
            else:
                os.unlink(stale)


def write_atomic(path: str | os.PathLike[str], write: Callable[[IO[bytes]], object]) -> None:
    """Calls ``write(f)`` on a temporary binary file, then renames it to ``path``."""
    dest = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(dest))
    clean_stale(dest)
    prefix, suffix = temp_affixes(dest)
    try:
        fd, tmp = tempfile.mkstemp(prefix=prefix, suffix=suffix, dir=directory)
    except OSError as e:  # name the file the caller asked for, not our temporary
        raise type(e)(e.errno, f"cannot write {dest} ({e.strerror})") from None
    try:
        with os.fdopen(fd, "wb") as f:
            # mkstemp makes the file private (0600); give it the mode a plain open()
            # would have (0666 less the umask), as users expect of their outputs.
            os.fchmod(f.fileno(), 0o666 & ~_umask())
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, dest)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    try:  # make the rename itself durable
        dfd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dfd)
    except OSError:
        pass
    finally:
        os.close(dfd)
