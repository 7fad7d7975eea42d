"""The encoder file and the training checkpoint: one file each, versioned and checksummed.

Layout (both kinds): a ``torch.save`` dict ``{"format", "version", "sha256", "payload"}``
whose ``payload`` is a uint8 tensor holding a second ``torch.save`` dict (state dicts,
tensors, and JSON strings for everything else), and ``sha256`` its digest. Both levels
are read with ``torch.load(weights_only=True)``: loading a stranger's file never runs
code. The file is written atomically (:mod:`archmotif.atomic`). A file that is corrupt,
truncated, of another format or of a newer version raises
:class:`~archmotif.FormatError` naming it.
"""

from __future__ import annotations

import hashlib
import io
import os
from typing import Any

import torch

from archmotif.atomic import write_atomic
from archmotif.errors import FormatError

__all__ = ["CHECKPOINT_FORMAT", "ENCODER_FORMAT", "FILE_VERSION", "read", "write"]

ENCODER_FORMAT = "archmotif.encoder"
CHECKPOINT_FORMAT = "archmotif.encoder-checkpoint"
FILE_VERSION = 1


def _cpu(obj: Any) -> Any:
    """Tensors moved to the CPU, recursively (files never depend on the device)."""
    if isinstance(obj, torch.Tensor):
        return obj.detach().cpu()
    if isinstance(obj, dict):
        return {k: _cpu(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(_cpu(v) for v in obj)
    return obj


def write(path: str | os.PathLike[str], fmt: str, payload: dict[str, Any]) -> None:
    """Writes ``payload`` (tensors, state dicts, str/int/float) as a ``fmt`` file at ``path``."""
    buf = io.BytesIO()
    torch.save(_cpu(payload), buf)
    data = buf.getvalue()
    outer = {
        "format": fmt,
        "version": FILE_VERSION,
        "sha256": hashlib.sha256(data).hexdigest(),
        "payload": torch.frombuffer(bytearray(data), dtype=torch.uint8),
    }
    write_atomic(path, lambda f: torch.save(outer, f))


def read(path: str | os.PathLike[str], fmt: str) -> dict[str, Any]:
    """Reads a file written by :func:`write` with the same ``fmt``."""
    p = os.fspath(path)
    what = "encoder" if fmt == ENCODER_FORMAT else "encoder checkpoint"
    try:
        outer = torch.load(p, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise
    except Exception as e:  # torch.load raises many kinds (zip, pickle, EOF, runtime)
        raise FormatError(
            f"{p}: not a readable archmotif {what} file ({type(e).__name__})"
        ) from None
    if not isinstance(outer, dict) or outer.get("format") != fmt:
        found = outer.get("format") if isinstance(outer, dict) else type(outer).__name__
        raise FormatError(f"{p}: not an archmotif {what} file (format {found!r}, expected {fmt!r})")
    version = outer.get("version")
    if not isinstance(version, int) or version < 1:
        raise FormatError(f"{p}: bad {what} file version {version!r}")
    if version > FILE_VERSION:
        raise FormatError(
            f"{p}: {what} file version {version} is newer than this archmotif reads "
            f"({FILE_VERSION}); upgrade archmotif"
        )
    data = outer.get("payload")
    if not isinstance(data, torch.Tensor) or data.dtype != torch.uint8:
        raise FormatError(f"{p}: {what} file has no payload")
    raw = data.numpy().tobytes()
    if hashlib.sha256(raw).hexdigest() != outer.get("sha256"):
        raise FormatError(f"{p}: {what} file is corrupt (checksum mismatch)")
    try:
        inner = torch.load(io.BytesIO(raw), map_location="cpu", weights_only=True)
    except Exception as e:
        raise FormatError(f"{p}: corrupt {what} payload ({type(e).__name__})") from None
    if not isinstance(inner, dict):
        raise FormatError(f"{p}: {what} payload is not a dict")
    return inner
