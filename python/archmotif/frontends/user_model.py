"""A user's own model, named on the command line, and the inputs to trace it with.

Two spellings name a model that is not in timm, torchvision or transformers:

- ``FILE.py:NAME``: the Python file is run as a fresh module (its directory is put
  first on ``sys.path`` while it runs, so it can import its neighbours) and ``NAME``
  is looked up in it;
- ``package.module:NAME``: the module is imported the ordinary way.

``NAME`` is an ``nn.Module`` instance, an ``nn.Module`` subclass or a factory
(anything callable without arguments that returns an ``nn.Module``); a dotted
``NAME`` (``Outer.build``) follows attributes. Like :func:`archmotif.trace` on a
module object, this *runs the user's code*: it is what the user asked for by naming
the file, never something a data file can trigger (see SECURITY.md).

The module is built on the meta device first (no weights allocated); a constructor
that reads tensor values there is built again on the CPU.

Inputs (:func:`parse_inputs`) are written ``[NAME=]DTYPE[SHAPE]``, several separated
by spaces or ``;``: ``"float[1,3,224,224]"``, ``"input_ids=long[1,16]"``,
``"long[1,16] bool[1,16]"``. Positional inputs come first in the order written,
``NAME=`` ones are keyword arguments of ``forward``. No expression is evaluated.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import re
import sys
import warnings
from typing import Any

from archmotif.errors import InvalidArgument, TraceError

__all__ = ["DTYPES", "is_user_model", "load_user_model", "parse_inputs", "parse_shape"]

# dtype names a user may write -> torch attribute
DTYPES = {
    "float": "float32",
    "float32": "float32",
    "float16": "float16",
    "half": "float16",
    "bfloat16": "bfloat16",
    "float64": "float64",
    "double": "float64",
    "long": "int64",
    "int64": "int64",
    "int": "int32",
    "int32": "int32",
    "bool": "bool",
    "uint8": "uint8",
}
_SOURCES = ("torchvision", "timm", "transformers")
_ONE_INPUT = re.compile(r"^(?:([A-Za-z_]\w*)=)?([A-Za-z]\w*)?\[([0-9,\s]*)\]$")
_MODULE_PATH = re.compile(r"^[A-Za-z_]\w*(\.[A-Za-z_]\w*)*$")


def is_user_model(spec: str) -> bool:
    """True when ``spec`` is ``FILE.py:NAME`` or ``package.module:NAME`` (not a
    ``timm:``/``torchvision:``/``transformers:`` name)."""
    target, sep, name = spec.rpartition(":")
    if not sep or not target or not name or "@" in name:
        return False
    if target.endswith(".py"):
        return True
    return target not in _SOURCES and bool(_MODULE_PATH.match(target))


def check_user_model_path(spec: str) -> None:
    """Raises ``FileNotFoundError`` when ``spec`` names a ``.py`` file that is not there:
    a check that imports nothing, for the CLI to run before torch loads."""
    target = spec.rpartition(":")[0]
    if target.endswith(".py") and not os.path.isfile(target):
        raise FileNotFoundError(f"{target}: no such Python file (from {spec!r})")


def _import_target(spec: str, target: str) -> Any:
    if target.endswith(".py"):
        check_user_model_path(spec)
        path = os.path.abspath(target)
        mod_name = "archmotif_user_" + re.sub(r"\W", "_", os.path.basename(path)[:-3])
        loader_spec = importlib.util.spec_from_file_location(mod_name, path)
        if loader_spec is None or loader_spec.loader is None:
            raise TraceError(f"could not load {target}: not an importable Python file")
        module = importlib.util.module_from_spec(loader_spec)
        sys.path.insert(0, os.path.dirname(path))
        try:
            loader_spec.loader.exec_module(module)
        finally:
            sys.path.remove(os.path.dirname(path))
        return module
    try:
        return importlib.import_module(target)
    except ModuleNotFoundError as e:
        raise TraceError(f"could not import {target!r} (from {spec!r}): {e}") from e


def _build(spec: str, obj: Any, meta: bool) -> Any:
    import torch

    if isinstance(obj, torch.nn.Module):
        return obj
    if not callable(obj):
        raise TraceError(f"{spec}: {type(obj).__name__} is neither an nn.Module nor callable")
    devices = [torch.device("meta"), None] if meta else [None]
    for device in devices:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                if device is None:
                    model = obj()
                else:
                    with device:
                        model = obj()
            break
        except NotImplementedError as e:  # reads tensor values while building: use the CPU
            if device is None or "meta" not in str(e):
                raise TraceError(f"could not build {spec}: {type(e).__name__}: {e}") from e
        except TypeError as e:
            raise TraceError(
                f"could not build {spec}: {e} (NAME must be an nn.Module, a class or a "
                "factory callable without arguments)"
            ) from e
    if not isinstance(model, torch.nn.Module):
        raise TraceError(f"{spec}: calling it gave a {type(model).__name__}, not an nn.Module")
    return model


def load_user_model(spec: str, *, meta: bool = True) -> tuple[Any, str]:
    """``(module, name)`` for ``FILE.py:NAME`` or ``package.module:NAME`` (see the module
    docstring). Raises :class:`~archmotif.TraceError` naming ``spec`` on failure."""
    target, _, attr_path = spec.rpartition(":")
    try:
        obj = _import_target(spec, target)
    except (TraceError, FileNotFoundError):
        raise
    except Exception as e:
        raise TraceError(f"could not load {target}: {type(e).__name__}: {e}") from e
    for part in attr_path.split("."):
        if not hasattr(obj, part):
            names = [n for n in dir(obj) if not n.startswith("_")][:12]
            raise TraceError(f"{target} has no {attr_path!r} (it has: {', '.join(names)})")
        obj = getattr(obj, part)
    return _build(spec, obj, meta), attr_path.rsplit(".", 1)[-1]


def parse_shape(text: str) -> tuple[int, ...]:
    """``"1,3,224,224"`` -> ``(1, 3, 224, 224)``; raises :class:`~archmotif.InvalidArgument`."""
    parts = [p.strip() for p in re.split(r"[,x]", text.strip())]  # 1,3,224,224 or 1x3x224x224
    if not all(p.isdigit() for p in parts):  # an empty part too: "1,3,,224", "1,3,x,224"
        raise InvalidArgument(f"input shape {text!r} is not comma-separated sizes like 1,3,224,224")
    shape = tuple(int(p) for p in parts)
    if 0 in shape:
        raise InvalidArgument(f"input shape {text!r} has a size of 0; every size must be >= 1")
    if len(shape) > 8 or any(s > 2**20 for s in shape):
        raise InvalidArgument(f"input shape {text!r} has over 8 dimensions or a size over 2**20")
    return shape


def _check_dtype(name: str) -> str:
    if name not in DTYPES:
        raise InvalidArgument(f"unknown input dtype {name!r}; use one of {', '.join(DTYPES)}")
    return DTYPES[name]


def parse_inputs(text: str) -> list[tuple[str | None, str, tuple[int, ...]]]:
    """``[(keyword or None, torch dtype name, shape)]`` from an inputs expression (see
    the module docstring); imports nothing, so the CLI checks it before torch loads."""
    items = re.findall(r"[^\s;\[]*\[[^\]]*\]|[^\s;]+", text)
    if not items:
        raise InvalidArgument("--inputs is empty; write e.g. 'float[1,3,224,224]'")
    out = []
    for item in items:
        m = _ONE_INPUT.match(item)
        if m is None:
            raise InvalidArgument(
                f"input {item!r} is not [NAME=]DTYPE[SHAPE], e.g. float[1,3,224,224] or "
                "input_ids=long[1,16]"
            )
        out.append((m.group(1), _check_dtype(m.group(2) or "float"), parse_shape(m.group(3))))
    return out


def shapes_to_inputs(
    shapes: list[str], dtypes: list[str]
) -> list[tuple[str | None, str, tuple[int, ...]]]:
    """The inputs of ``--input-shape S [--input-shape S2 ...] --input-dtype D ...``: one
    dtype for all shapes, or one per shape (default float)."""
    if len(dtypes) > 1 and len(dtypes) != len(shapes):
        raise InvalidArgument(
            f"{len(dtypes)} --input-dtype values for {len(shapes)} --input-shape values; "
            "give one dtype for all or one per shape"
        )
    names = dtypes * len(shapes) if len(dtypes) == 1 else (dtypes or ["float"] * len(shapes))
    return [(None, _check_dtype(d), parse_shape(s)) for s, d in zip(shapes, names, strict=True)]


def make_inputs(parsed: list[tuple[str | None, str, tuple[int, ...]]], model: Any) -> Any:
    """Zero tensors (valid token ids too) on ``model``'s device: a tuple of positional
    inputs, or a dict when any input is named (positional ones then go first, which
    ``trace`` accepts as a tuple only: mixing is refused)."""
    import torch

    device = next((p.device for p in model.parameters()), torch.device("cpu"))
    tensors = [(k, torch.zeros(s, dtype=getattr(torch, d), device=device)) for k, d, s in parsed]
    named = {k: t for k, t in tensors if k is not None}
    if named and len(named) != len(tensors):
        raise InvalidArgument("inputs are either all positional or all NAME=DTYPE[SHAPE]")
    takes = forward_parameters(model)
    unknown = [k for k in named if takes is not None and k not in takes]
    if unknown:
        raise InvalidArgument(
            f"--inputs names {', '.join(map(repr, unknown))}, but "
            f"{type(model).__name__}.forward takes ({', '.join(takes or [])})"
        )
    return named if named else tuple(t for _, t in tensors)


def forward_parameters(model: Any) -> list[str] | None:
    """The names ``model.forward`` takes, in order; ``None`` when it takes ``**kwargs``
    or cannot be inspected (then any name may be right)."""
    import inspect

    try:
        params = inspect.signature(model.forward).parameters.values()
    except (TypeError, ValueError, AttributeError):
        return None
    if any(p.kind is p.VAR_KEYWORD for p in params):
        return None
    return [p.name for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
