"""What every ``archmotif`` command accepts as an input, and how it becomes graphs.

One spelling names an input everywhere (``info``, ``mine``, ``trace``, ``view``,
``plot``, ``search``, ``index build``), tried in this order:

1. an existing file: a corpus ``.npz``, an OpGraph ``.json`` or an ONNX ``.onnx``;
2. a dataset name: ``builtin``, ``zoo``, ``darts``, ``nasbench201``;
3. ``FILE.py:NAME`` or ``package.module:NAME``: your own model (traced);
4. a model name: ``resnet50``, ``timm:convnext_tiny``, ``transformers:bert@num_hidden_layers=4``.

A spec that looks like a file (``.json``, ``.npz``, ``.onnx``, ``.py``) but is not there
is a ``FileNotFoundError`` at once. :func:`check_input` runs every check that needs no
heavy import, so a typo fails before torch loads; :func:`read_graphs` then reads or
traces. Tracing options (``--input-shape``, ``--input-dtype``, ``--inputs``, ``--real``)
are added by :func:`add_model_options`; ``--detail {op,attrs}`` (the level of detail
graphs are taken at, :mod:`archmotif.attributes`) by :func:`add_detail_option`.
"""

from __future__ import annotations

import argparse
import os
from typing import Any

from archmotif.attributes import DEFAULT_DETAIL
from archmotif.errors import FormatError, InvalidArgument, TraceError
from archmotif.frontends.user_model import (
    check_user_model_path,
    is_user_model,
    parse_inputs,
    shapes_to_inputs,
)

__all__ = [
    "INPUT_HELP", "add_detail_option", "add_model_options", "check_input", "read_graphs",
    "trace_model",
]  # fmt: skip

DATASETS = ("builtin", "zoo", "darts", "nasbench201")  # archmotif.datasets.available()
_FILE_SUFFIXES = (".json", ".npz", ".onnx")
INPUT_HELP = (
    "a corpus .npz, graph .json or .onnx file, a dataset (builtin, zoo, darts, "
    "nasbench201), your model as FILE.py:NAME or module:NAME, or a model name "
    "(resnet50, timm:convnext_tiny)"
)


def _inputs_hint(model: Any = None) -> str:
    """How to pass a model's inputs, naming its own first argument when it is known."""
    from archmotif.frontends.user_model import forward_parameters

    takes = forward_parameters(model) if model is not None else None
    name = takes[0] if takes else "input_ids"
    return (
        "pass its inputs, e.g. --input-shape 1,16 --input-dtype long, or "
        f"--inputs '{name}=long[1,16]'"
    )


def add_detail_option(p: argparse.ArgumentParser, *, default: str | None = DEFAULT_DETAIL) -> None:
    """``--detail {op,attrs}``: plain operators, or operators with their attributes
    (default :data:`archmotif.attributes.DEFAULT_DETAIL`)."""
    from archmotif.attributes import DETAILS

    shown = "the index's" if default is None else default
    p.add_argument(
        "--detail",
        choices=DETAILS,
        default=default,
        help="op: plain operators; attrs: operators with their attributes, e.g. "
        f"convolution[k3,s2] (default: {shown})",
    )


def add_model_options(p: argparse.ArgumentParser) -> None:
    """``--input-shape``, ``--input-dtype``, ``--inputs`` and ``--real``: how a model
    (not a file or dataset) is built and traced."""
    g = p.add_argument_group("tracing a model (ignored for files and datasets)")
    g.add_argument(
        "--input-shape",
        action="append",
        default=[],
        metavar="1,3,224,224",
        help="shape of an input tensor; repeat for several positional inputs",
    )
    g.add_argument(
        "--input-dtype",
        action="append",
        default=[],
        metavar="DTYPE",
        help="float (default), long, int, bool, half, ...: one for all "
        "--input-shape values or one each",
    )
    g.add_argument(
        "--inputs",
        metavar="EXPR",
        dest="inputs_expr",
        help="inputs as [NAME=]DTYPE[SHAPE] ..., e.g. 'long[1,16]' or "
        "'input_ids=long[1,16] attention_mask=long[1,16]'",
    )
    g.add_argument(
        "--real",
        action="store_true",
        help="build with real (random) weights instead of on the meta device",
    )


def _parsed_inputs(args: argparse.Namespace | None) -> list[Any] | None:
    if args is None:
        return None
    shapes, dtypes, expr = (
        getattr(args, k, None) for k in ("input_shape", "input_dtype", "inputs_expr")
    )
    if expr and shapes:
        raise InvalidArgument("give either --inputs or --input-shape, not both")
    if expr:
        return parse_inputs(expr)
    if shapes:
        return shapes_to_inputs(shapes, dtypes or [])
    if dtypes:
        raise InvalidArgument("--input-dtype needs --input-shape")
    return None


def _kind(spec: str) -> str:
    if os.path.exists(spec):
        return "file"
    if spec in DATASETS:
        return "dataset"
    if spec.endswith(_FILE_SUFFIXES) or spec.endswith(".py"):
        raise FileNotFoundError(f"{spec}: no such file")
    if is_user_model(spec):
        return "user"
    return "name"


def check_input(spec: str, args: argparse.Namespace | None = None) -> str:
    """The kind of ``spec`` (``file``, ``dataset``, ``user``, ``name``), after every
    check that needs no heavy import: a missing file, a bad ``--inputs``."""
    kind = _kind(spec)
    if kind == "user":
        check_user_model_path(spec)
    if kind == "file" and not os.path.isfile(spec):
        raise FormatError(f"{spec}: not a regular file")
    if kind == "file" and spec.endswith(".py"):
        raise InvalidArgument(f"{spec} is Python: name the model in it as {spec}:NAME")
    _parsed_inputs(args)
    return kind


def _read_file(path: str) -> list[Any]:
    from archmotif.corpus import load_corpus
    from archmotif.graph import OpGraph

    if path.endswith(".npz"):
        return load_corpus(path)
    if path.endswith(".onnx"):
        from archmotif.frontends.onnx import from_onnx

        return [from_onnx(path)]
    if path.endswith(".mined"):  # what `archmotif mine -o FILE.mined` wrote
        from archmotif.errors import FormatError

        raise FormatError(
            f"{path} is a mined result, not graphs: archmotif info {path} summarises it, "
            "and archmotif.load_mined reads it in Python (its graphs: .graphs)"
        )
    return [OpGraph.load(path)]


def trace_model(spec: str, args: argparse.Namespace | None = None) -> Any:
    """Traces a model name or ``FILE.py:NAME``; when its default inputs fail, the error
    says how to pass them."""
    from archmotif.frontends.torch_export import trace

    parsed = _parsed_inputs(args)
    meta = not getattr(args, "real", False)
    model = None
    try:
        if is_user_model(spec):
            from archmotif.frontends.user_model import load_user_model, make_inputs

            model, name = load_user_model(spec, meta=meta)
            inputs = make_inputs(parsed, model) if parsed else None
            return trace(model, inputs, name=name, meta=meta)
        if parsed:
            from archmotif.frontends.builders import build
            from archmotif.frontends.user_model import make_inputs

            built = build(spec, meta=meta)
            return trace(
                built.module,
                make_inputs(parsed, built.module),
                name=built.name,
                labels=built.labels,
                meta=meta,
            )
        return trace(spec, meta=meta)
    except TraceError as e:
        if parsed is None and str(e).startswith("could not trace"):
            raise TraceError(f"{e}; {_inputs_hint(model)}") from e
        specs = getattr(args, "inputs", None)  # `mine A B ...`: several inputs at once
        models = [s for s in specs or [] if not os.path.exists(s) and s not in DATASETS]
        if parsed is not None and len(models) > 1:
            raise TraceError(
                f"{e}; the example inputs given go to every model named "
                f"({', '.join(models)}): trace each with its own (archmotif trace NAME "
                "--input-shape ... -o NAME.json) and mine the .json files together"
            ) from e
        raise


def read_graphs(spec: str, args: argparse.Namespace | None = None) -> list[Any]:
    """The graphs ``spec`` names (see the module docstring)."""
    kind = check_input(spec, args)
    if kind == "file":
        return _read_file(spec)
    if kind == "dataset":
        from archmotif import datasets

        return datasets.load(spec)
    return [trace_model(spec, args)]
