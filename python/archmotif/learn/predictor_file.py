"""What a saved :class:`~archmotif.learn.predictor.Predictor` is: its settings schema
(:data:`CONFIG_SCHEMA`, checked by :func:`check_config`) and its one checked file
(:mod:`archmotif.learn.encoder_file`'s format, kind :data:`PREDICTOR_FORMAT`): settings,
the encoder's payload, the selected bag columns, the standardisation, the target scale
(with ``"log"`` when the targets were fitted as their logarithm; a file without it is in
plain units) and the heads' weights; with a tree head, its trees as arrays
(:class:`~archmotif.learn.trees.TreeEnsemble`) and the share of its prediction; with a
tree head or the ``walks`` feature, the walk columns (surrogates and operator walks,
:class:`~archmotif.learn.surrogate.Surrogates`) they read. Not the surrogates of the
space: a loaded predictor predicts; fitting it again pretrains again. A file written
before head pretraining loads with both of its settings at 0, one written before the
tree head with ``head="mlp"``. Reading never runs code from the file; anything malformed is a
:class:`~archmotif.FormatError` naming the file.
"""

from __future__ import annotations

import itertools
import json
import os
from typing import Any

import numpy as np
import torch

from archmotif.attributes import DETAILS
from archmotif.errors import FormatError, InvalidArgument, LearnError
from archmotif.fileread import parse_json
from archmotif.learn import encoder_file
from archmotif.learn.encoder import Encoder, check_bounded
from archmotif.learn.rank_head import MLPHead
from archmotif.learn.surrogate import Surrogates
from archmotif.learn.trees import TreeEnsemble

__all__ = ["CONFIG_SCHEMA", "PREDICTOR_FORMAT", "check_config", "read", "write"]

PREDICTOR_FORMAT = "archmotif.predictor"
CONFIG_SCHEMA: dict[str, Any] = {
    "detail": DETAILS,
    # what the MLP heads read: any of these, "+"-joined in this order
    "features": tuple(
        "+".join(f for f, on in zip(("motifs", "graph", "bag", "walks"), bits, strict=True) if on)
        for bits in itertools.product((1, 0), repeat=4)
        if any(bits) and bits != (0, 0, 1, 0)  # the bag alone may have no columns
    ),
    "head": ("mlp", "trees", "auto"),
    "hidden": (int, 1, 4096),
    "members": (int, 1, 64),
    "steps": (int, 1, 10**6),
    "lr": (float, 1e-9, 10.0),
    "weight_decay": (float, 0.0, 10.0),
    "dropout": (float, 0.0, 0.95),
    "rank_weight": (float, 0.0, 1e3),
    "min_df": (float, 0.0, 1.0),
    "pretrain_steps": (int, 0, 10**6),
    "surrogate_weight": (float, 0.0, 1e3),
}


def check_config(config: dict[str, Any]) -> dict[str, Any]:
    """``config`` checked against :data:`CONFIG_SCHEMA` (exactly its keys); raises
    :class:`~archmotif.InvalidArgument` naming the field."""
    unknown, missing = (
        sorted(set(config) - set(CONFIG_SCHEMA)),
        sorted(set(CONFIG_SCHEMA) - set(config)),
    )
    if unknown or missing:
        raise InvalidArgument(f"predictor settings: unknown {unknown}, missing {missing}")
    out: dict[str, Any] = {}
    for key, rule in CONFIG_SCHEMA.items():
        v = config[key]
        if isinstance(rule[0], str):
            if v not in rule:
                raise InvalidArgument(f"{key} must be one of {rule}, got {v!r}")
        else:
            v = check_bounded(key, v, rule)
        out[key] = v
    return out


def write(pred: Any, path: str | os.PathLike[str]) -> None:
    """Writes the fitted ``pred`` (a :class:`~archmotif.learn.predictor.Predictor`), its
    encoder included, to ``path`` (atomic)."""
    if (not pred._heads and pred._trees is None) or pred._scale is None or pred._columns is None:
        raise LearnError("Predictor.save called before fit")
    encoder_file.write(
        path,
        PREDICTOR_FORMAT,
        {
            "config": json.dumps(pred.config),
            "encoder": pred.encoder.to_payload(),
            "columns": json.dumps(pred._columns.tolist()),
            "mean": torch.from_numpy(pred._scale[0]),
            "std": torch.from_numpy(pred._scale[1]),
            # [mean, std] in plain units; a third entry "log" when fitted as the logarithm
            "target": json.dumps([*pred._y, "log"] if pred._log else list(pred._y)),
            "heads": [h.state_dict() for h in pred._heads],
            "mix": pred._mix,
            "trees": None if pred._trees is None else pred._trees.to_payload(),
            "surrogates": None if pred._walks is None else pred._walks.to_payload(),
        },
    )


def read(
    cls: Any,
    path: str | os.PathLike[str],
    *,
    device: str | torch.device | None,
    threads: int | None,
) -> Any:
    """A ``cls`` (:class:`~archmotif.learn.predictor.Predictor`, which imports this
    module) read from a file :func:`write` wrote; a corrupt, foreign or newer file
    raises :class:`~archmotif.FormatError` naming it."""
    p = os.fspath(path)
    d = encoder_file.read(p, PREDICTOR_FORMAT)
    try:
        config = parse_json(d["config"], p, "predictor settings")
        if not isinstance(config, dict):
            raise FormatError(f"{p}: predictor settings are not an object")
        config.setdefault("pretrain_steps", 0)  # files from before head pretraining
        config.setdefault("surrogate_weight", 0.0)
        config.setdefault("head", "mlp")  # files from before the tree head
        try:
            config = check_config(config)
        except InvalidArgument as e:
            raise FormatError(f"{p}: bad predictor settings ({e})") from None
        if not isinstance(d["encoder"], dict):
            raise ValueError("the encoder is not an object")
        enc = Encoder.from_payload(d["encoder"], p, device=device, progress=False,
                                   threads=threads)  # fmt: skip
        pred = cls(enc, **config, device=device, threads=threads)
        cols, mean, std = parse_json(d["columns"], p, "bag columns"), d["mean"], d["std"]
        n_bag = len(enc._require().vocab_ids) if enc.config["bag_weight"] > 0 else 0
        ok = isinstance(cols, list) and len(cols) <= n_bag
        ok = ok and all(type(c) is int and 0 <= c < n_bag for c in cols)
        if not ok:
            raise ValueError("bad bag columns")
        pred._columns = np.array(cols, dtype=np.int64)
        if pred._uses_walks():
            pred._walks = Surrogates.from_payload(d.get("surrogates"))
            if pred._walks.detail != config["detail"] or not pred._walks.walks:
                raise ValueError("the surrogate columns are not the walks of this detail")
        dim = pred._dim()
        for t in (mean, std):
            if not isinstance(t, torch.Tensor) or t.dtype != torch.float32 or t.shape != (dim,):
                raise ValueError("the standardisation does not match the features")
        if not bool((std > 0).all()):
            raise ValueError("a feature's scale is not positive")
        pred._scale = (mean.numpy(), std.numpy())
        target = parse_json(d["target"], p, "target scale")
        log = isinstance(target, list) and len(target) == 3 and target[2] == "log"
        if log:
            target = target[:2]
        ok = isinstance(target, list) and len(target) == 2
        if not ok or not all(
            isinstance(v, (int, float)) and not isinstance(v, bool) and np.isfinite(v)
            for v in target
        ):
            raise ValueError(f"bad target scale {target!r}")
        if not target[1] > 0:
            raise ValueError(f"bad target scale {target!r}")
        pred._y = (float(target[0]), float(target[1]))
        pred._log = log
        heads = d["heads"]
        mix = d.get("mix", 0.0)
        if isinstance(mix, bool) or not isinstance(mix, (int, float)) or not 0 <= mix <= 1:
            raise ValueError(f"bad tree share {mix!r}")
        pred._mix = float(mix)
        fixed = {"mlp": 0.0, "trees": 1.0}.get(config["head"])
        if fixed is not None and pred._mix != fixed:
            raise ValueError(f"tree share {mix!r} with head={config['head']!r}")
        want = 0 if pred._mix == 1 else 1
        if not isinstance(heads, list) or not want <= len(heads) <= CONFIG_SCHEMA["members"][2]:
            raise ValueError("no heads")
        c = pred.config
        pred._heads = [
            encoder_file.load_module(
                p, "prediction head", lambda: MLPHead(dim, c["hidden"], c["dropout"]), s
            )
            .to(pred.device)
            .eval()
            for s in heads
        ]
        if pred._mix > 0:
            if pred._walks is None:
                raise ValueError("a tree share without the walk columns the trees read")
            pred._trees = TreeEnsemble.from_payload(d.get("trees"), pred._walks.width)
    except FormatError:
        raise
    except (KeyError, TypeError, ValueError, RuntimeError) as e:
        raise FormatError(f"{p}: malformed predictor file ({type(e).__name__}: {e})") from None
    return pred
