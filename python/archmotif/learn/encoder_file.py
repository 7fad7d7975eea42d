"""The encoder file and the training checkpoint: one file each, versioned, and read
without unpickling anything.

Layout (versions 2 and 3, both kinds): an uncompressed ``.npz`` archive, checked member by
member by :class:`~archmotif.fileread.NpzReader` before anything is read, holding

- ``header``: uint8, UTF-8 JSON ``{"format", "version": 3, "tensors": [{"dtype",
  "shape"}], "tree"}``;
- ``t0``, ``t1``, ...: uint8, the raw bytes (C order, little-endian) of tensor ``i``.

``tree`` is the payload (state dicts, tensors, strings, numbers) as JSON with four
tagged forms: a tensor is ``{"$tensor": i}``, a dict ``{"$dict": [[key, value], ...]}``
(keys are strings or integers: optimiser states are keyed by parameter number), a tuple
``{"$tuple": [...]}``, a non-finite float ``{"$float": "nan" | "inf" | "-inf"}``; lists,
strings, integers, finite floats, booleans and null stand for themselves. Decoding
admits only these forms, dtypes from a fixed list, and shapes whose byte count is
exactly the member's, so a file can hold data and nothing else. The file is written
atomically (:mod:`archmotif.atomic`). A file that is corrupt, truncated, of another
format or of a newer version raises :class:`~archmotif.FormatError` naming it.

Version 3 has version 2's layout; its encoder payload carries the fitted ``Mined``
(``mined``: the bytes of :meth:`archmotif.Mined.to_bytes`, the core's checksummed
encoding) instead of the training graphs (``corpus``), so loading does not mine again.
An archmotif that reads version 2 only says a version-3 file is newer instead of
failing on the missing ``corpus``. Both versions are read.

Version 1 files were ``torch.save`` pickles. They are not read: even torch's
restricted unpickler is code driven by the file. :func:`upgrade` converts one you
trust (it unpickles with ``weights_only=True``), once, explicitly.
"""

from __future__ import annotations

import json
import math
import os
from typing import Any

import numpy as np
import torch

from archmotif.atomic import write_atomic
from archmotif.errors import FormatError, check_format
from archmotif.fileread import NpzReader, parse_json

__all__ = [
    "CHECKPOINT_FORMAT",
    "ENCODER_FORMAT",
    "FILE_VERSION",
    "load_module",
    "read",
    "upgrade",
    "write",
]

ENCODER_FORMAT = "archmotif.encoder"
CHECKPOINT_FORMAT = "archmotif.encoder-checkpoint"
FILE_VERSION = 3
MAX_DEPTH = 32  # nesting of the payload tree (state dicts need 4)
_DTYPES = {
    str(dt).removeprefix("torch."): dt
    for dt in (
        torch.float16, torch.bfloat16, torch.float32, torch.float64, torch.uint8,
        torch.int8, torch.int16, torch.int32, torch.int64, torch.bool,
    )
}  # fmt: skip


def _what(fmt: str) -> str:
    known = {ENCODER_FORMAT: "encoder", CHECKPOINT_FORMAT: "encoder checkpoint"}
    return known.get(fmt, fmt.removeprefix("archmotif.").replace("-", " "))  # gnn baseline


class _Encoder:
    """Payload -> (JSON tree, tensor byte arrays)."""

    def __init__(self) -> None:
        self.tensors: list[dict[str, Any]] = []
        self.arrays: dict[str, np.ndarray] = {}

    def __call__(self, obj: Any) -> Any:
        if isinstance(obj, torch.Tensor):
            t = obj.detach().cpu().contiguous()
            name = str(t.dtype).removeprefix("torch.")
            if name not in _DTYPES:
                raise TypeError(f"tensors of dtype {t.dtype} cannot be stored")
            i = len(self.tensors)
            self.tensors.append({"dtype": name, "shape": list(t.shape)})
            self.arrays[f"t{i}"] = t.reshape(-1).view(torch.uint8).numpy().copy()
            return {"$tensor": i}
        if isinstance(obj, dict):
            for k in obj:
                if isinstance(k, bool) or not isinstance(k, (str, int)):
                    raise TypeError(f"dict keys must be str or int, got {k!r}")
            return {"$dict": [[k, self(v)] for k, v in obj.items()]}
        if isinstance(obj, tuple):
            return {"$tuple": [self(v) for v in obj]}
        if isinstance(obj, list):
            return [self(v) for v in obj]
        if isinstance(obj, float) and not math.isfinite(obj):
            return {"$float": str(obj)}
        if obj is None or isinstance(obj, (str, int, float, bool)):
            return obj
        raise TypeError(f"{type(obj).__name__} cannot be stored in an encoder file")


def write(path: str | os.PathLike[str], fmt: str, payload: dict[str, Any]) -> None:
    """Writes ``payload`` (tensors, state dicts, str/int/float) as a ``fmt`` file at ``path``."""
    enc = _Encoder()
    tree = enc(payload)
    header = {"format": fmt, "version": FILE_VERSION, "tensors": enc.tensors, "tree": tree}
    blob = np.frombuffer(json.dumps(header).encode(), dtype=np.uint8)
    arrays = {"header": blob, **enc.arrays}
    write_atomic(path, lambda f: np.savez(f, **arrays))


class _Decoder:
    """(JSON tree, archive) -> payload, admitting only the documented forms."""

    def __init__(self, p: str, what: str, z: NpzReader, tensors: Any) -> None:
        self.p, self.what, self.z = p, what, z
        if not isinstance(tensors, list):
            raise self.bad("its tensor table is not a list")
        self.specs = tensors

    def bad(self, why: str) -> FormatError:
        return FormatError(f"{self.p}: malformed {self.what} file ({why})")

    def tensor(self, i: Any) -> torch.Tensor:
        if isinstance(i, bool) or not isinstance(i, int) or not 0 <= i < len(self.specs):
            raise self.bad(f"tensor reference {i!r} out of range")
        spec, member = self.specs[i], self.z.members.get(f"t{i}")
        dtype = _DTYPES.get(spec.get("dtype")) if isinstance(spec, dict) else None
        shape = spec.get("shape") if isinstance(spec, dict) else None
        ok = dtype is not None and isinstance(shape, list) and len(shape) <= 8
        ok = ok and all(isinstance(s, int) and not isinstance(s, bool) and s >= 0 for s in shape)
        if not ok or member is None or member.dtype != np.uint8 or len(member.shape) != 1:
            raise self.bad(f"tensor {i} has a bad description or no data")
        numel = math.prod(shape)
        if numel * torch.empty((), dtype=dtype).element_size() != member.size:
            raise self.bad(f"tensor {i}'s {spec['dtype']} {shape} is not its {member.size} bytes")
        if numel == 0:
            return torch.empty(shape, dtype=dtype)
        raw = bytearray(self.z.read(f"t{i}").tobytes())
        return torch.frombuffer(raw, dtype=dtype).reshape(shape)

    def __call__(self, node: Any, depth: int = 0) -> Any:
        if depth > MAX_DEPTH:
            raise self.bad(f"payload nested deeper than {MAX_DEPTH}")
        if isinstance(node, list):
            return [self(v, depth + 1) for v in node]
        if not isinstance(node, dict):
            return node  # str, int, float, bool, None: JSON gives nothing else
        if len(node) != 1:
            raise self.bad(f"untagged object with keys {sorted(node)[:4]}")
        ((tag, value),) = node.items()
        if tag == "$tensor":
            return self.tensor(value)
        if tag == "$float" and value in ("nan", "inf", "-inf"):
            return float(value)
        if tag == "$tuple" and isinstance(value, list):
            return tuple(self(v, depth + 1) for v in value)
        if tag == "$dict" and isinstance(value, list):
            out = {}
            for item in value:
                ok = isinstance(item, list) and len(item) == 2
                if not ok or isinstance(item[0], bool) or not isinstance(item[0], (str, int)):
                    raise self.bad("a dict entry is not a [str or int key, value] pair")
                out[item[0]] = self(item[1], depth + 1)
            return out
        raise self.bad(f"unknown tag {tag!r}")


def read(path: str | os.PathLike[str], fmt: str) -> dict[str, Any]:
    """Reads a file written by :func:`write` with the same ``fmt``."""
    p, what = os.fspath(path), _what(fmt)
    with NpzReader(p, f"{what} file") as z:
        if "header" not in z.members:
            if any(name.endswith("data.pkl") for name in z.others):
                raise FormatError(
                    f"{p}: a pickled torch file, not an archmotif {what} file of this version "
                    "(version-1 files were pickles and are no longer read, since unpickling "
                    "a stranger's file can run code; if you trust it, convert it once with "
                    "archmotif.learn.encoder_file.upgrade(path))"
                )
            raise FormatError(f"{p}: not an archmotif {what} file (no header)")
        m = z.members["header"]
        if m.dtype != np.uint8 or len(m.shape) != 1:
            raise FormatError(f"{p}: corrupt {what} header")
        h = parse_json(z.array("header").tobytes(), p, f"{what} header")
        check_format(p, h, fmt=fmt, newest=FILE_VERSION, kind=f"{what} file", versioned=what)
        if h["version"] < 2:  # version 1 was a pickle; its JSON header cannot exist
            raise FormatError(f"{p}: bad {what} file version {h['version']!r}")
        payload = _Decoder(p, what, z, h.get("tensors"))(h.get("tree"))
    if not isinstance(payload, dict):
        raise FormatError(f"{p}: {what} payload is not a dict")
    return payload


def load_module(source: str, what: str, make: Any, state: Any) -> Any:
    """The module ``make()`` builds, with the weights ``state`` read from a file.

    Sizes a file declares (op counts, widths) decide what ``make`` allocates, so the
    module is first built on the meta device (nothing allocated) and its parameter
    names, shapes and dtypes compared with ``state``; only a match is materialised, from
    the file's own tensors (``assign=True``): a file can make archmotif allocate no
    more than it holds. A mismatch raises :class:`~archmotif.FormatError`."""
    with torch.device("meta"):
        module = make()
    want = {k: (tuple(v.shape), v.dtype) for k, v in module.state_dict().items()}
    ok = isinstance(state, dict) and all(isinstance(v, torch.Tensor) for v in state.values())
    got = {k: (tuple(v.shape), v.dtype) for k, v in state.items()} if ok else None
    if got != want:
        raise FormatError(f"{source}: the {what}'s weights do not match its settings")
    module.load_state_dict(state, assign=True)
    return module


def upgrade(path: str | os.PathLike[str], out: str | os.PathLike[str] | None = None) -> None:
    """Converts a version-1 encoder or checkpoint file (a ``torch.save`` pickle) to the
    current format, at ``out`` (default: in place). **Only for files you trust**: it
    unpickles with ``torch.load(weights_only=True)``, which archmotif's readers never do."""
    import hashlib
    import io

    p = os.fspath(path)
    outer = torch.load(p, map_location="cpu", weights_only=True)
    fmt = outer.get("format") if isinstance(outer, dict) else None
    if fmt not in (ENCODER_FORMAT, CHECKPOINT_FORMAT) or outer.get("version") != 1:
        raise FormatError(f"{p}: not a version-1 archmotif encoder or checkpoint file")
    raw = outer["payload"].numpy().tobytes()
    if hashlib.sha256(raw).hexdigest() != outer.get("sha256"):
        raise FormatError(f"{p}: {_what(fmt)} file is corrupt (checksum mismatch)")
    inner = torch.load(io.BytesIO(raw), map_location="cpu", weights_only=True)
    write(p if out is None else out, fmt, inner)
