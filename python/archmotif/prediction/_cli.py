"""CLI: ``archmotif predict``.

- ``archmotif predict INPUT --fit LABEL -o predictor.npz [--labelled N] [--encoder ENC]``:
  fits a :class:`~archmotif.learn.predictor.Predictor` on the graphs of ``INPUT`` that
  carry the numeric label ``LABEL`` (all of them, or ``N`` drawn at random with
  ``--seed``); without ``--encoder`` the encoder is first built (mined) on every graph of
  ``INPUT``, labelled or not, and the heads are pretrained on the architecture
  surrogates of every graph of ``INPUT`` (no label read) either way;
- ``archmotif predict INPUT --predictor predictor.npz [-o predictions.csv]``: prints (or
  writes as CSV) ``name,prediction`` for every graph of ``INPUT``.

``INPUT`` is named as every command names its input (:mod:`archmotif.cli_inputs`).
"""

from __future__ import annotations

import argparse
import csv
import io
import time
from typing import Any

import numpy as np

from archmotif.attributes import DEFAULT_DETAIL, DETAILS
from archmotif.errors import InvalidArgument

__all__ = ["register"]


def _cmd_predict(args: argparse.Namespace) -> int:
    from archmotif.atomic import write_atomic
    from archmotif.cli_inputs import check_input, read_graphs

    if (args.fit is None) == (args.predictor is None):
        raise InvalidArgument("give either --fit LABEL (to fit) or --predictor FILE (to predict)")
    if args.fit is not None and not args.output:
        raise InvalidArgument("--fit needs -o/--output, the predictor file to write")
    # 0 is the default (an encoder not trained contrastively), so it is a valid value
    if args.encoder_epochs is not None and args.encoder_epochs < 0:
        raise InvalidArgument(f"--epochs must be at least 0, got {args.encoder_epochs}")
    check_input(args.input, args)
    from archmotif.learn.predictor import Predictor

    if args.predictor is not None:
        pred = Predictor.load(args.predictor)
        graphs = read_graphs(args.input, args)
        values = pred.predict(graphs)
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(["name", "prediction"])
        w.writerows([g.name, f"{v:.6g}"] for g, v in zip(graphs, values, strict=True))
        if args.output:
            text = buf.getvalue().encode()
            write_atomic(args.output, lambda f: f.write(text))
            print(f"predicted {len(graphs)} graphs; wrote {args.output}")
        else:
            print(buf.getvalue(), end="")
        return 0

    graphs = read_graphs(args.input, args)
    labelled = []
    for g in graphs:
        if args.fit in g.labels:
            try:
                labelled.append((g, float(g.labels[args.fit])))
            except ValueError:
                raise InvalidArgument(
                    f"{g.name}: label {args.fit}={g.labels[args.fit]!r} is not a number"
                ) from None
    if len(labelled) < 2:
        raise InvalidArgument(f"{args.input}: {len(labelled)} graphs carry the label {args.fit!r}")
    if args.labelled is not None:
        if not 2 <= args.labelled <= len(labelled):
            raise InvalidArgument(
                f"--labelled must be in [2, {len(labelled)}], got {args.labelled}"
            )
        pick = np.sort(np.random.default_rng(args.seed).permutation(len(labelled))[: args.labelled])
        labelled = [labelled[i] for i in pick]
    encoder: Any = args.encoder
    if encoder is None:
        epochs = args.encoder_epochs
        encoder_settings = {"stage2_epochs": epochs} if epochs is not None else {}
        pred = Predictor(encoder_settings=encoder_settings, detail=args.detail, head=args.head)
    else:
        pred = Predictor(encoder, detail=args.detail, head=args.head)
    t = time.perf_counter()
    pred.fit(
        [g for g, _ in labelled],
        [v for _, v in labelled],
        seed=args.seed,
        unlabelled=graphs,  # the space: the encoder (when built here) and the surrogates
    )
    pred.save(args.output)
    print(
        f"fitted on {len(labelled)} labelled graphs ({args.fit})"
        + f", heads pretrained on {len(graphs)} graphs"
        + f" in {time.perf_counter() - t:.1f} s"
        + (f"; tree head's share {pred.tree_share:g}" if args.head == "auto" else "")
        + f"; wrote {args.output}"
    )
    return 0


def register(sub: Any) -> None:
    """Adds ``predict`` to the ``archmotif`` command's subparsers."""
    from archmotif.cli_inputs import INPUT_HELP, add_model_options
    from archmotif.cli_parser import RawDescription, examples

    p = sub.add_parser(
        "predict",
        help="fit an accuracy predictor on labelled graphs, or predict with one",
        epilog=examples(
            "archmotif predict nasbench201 --fit cifar10_accuracy --labelled 156 -o pred.npz",
            "archmotif predict nasbench201 --predictor pred.npz -o predictions.csv",
            "archmotif predict mymodel.py:Net --predictor pred.npz",
        ),
        formatter_class=RawDescription,
    )
    p.add_argument("input", metavar="INPUT", help=INPUT_HELP)
    p.add_argument(
        "--fit",
        metavar="LABEL",
        help="fit on the graphs carrying this numeric label, e.g. cifar10_accuracy",
    )
    p.add_argument("--predictor", metavar="FILE", help="predictor file to predict with")
    p.add_argument("-o", "--output", help="predictor file to write (--fit), or CSV of predictions")
    p.add_argument(
        "--labelled",
        type=int,
        metavar="N",
        help="fit on N of the labelled graphs, drawn at random (default all)",
    )
    p.add_argument(
        "--encoder",
        metavar="FILE",
        help="a pretrained encoder file (default: build one on all graphs of INPUT)",
    )
    p.add_argument(
        "--epochs",
        # not `epochs`: the CLI's check of counts wants those >= 1, and 0 is this default
        dest="encoder_epochs",
        type=int,
        metavar="N",
        help="contrastive graph-level epochs of an encoder built here (default 0: the "
        "predictor's encoder is not trained contrastively, see archmotif.Predictor)",
    )
    p.add_argument(
        "--detail",
        default=None,
        choices=DETAILS,
        help="op, or op plus attributes: the level of detail of the graphs (default: the "
        f"encoder's; {DEFAULT_DETAIL} when pretraining here)",
    )
    p.add_argument(
        "--head",
        default="auto",
        choices=("auto", "mlp", "trees"),
        help="what predicts from the features: MLP heads, gradient-boosted trees, or "
        "(auto, the default) a blend of both weighted by cross-validation on the labels",
    )
    p.add_argument("--seed", type=int, default=0, help="seed of the draw and the fit (0)")
    add_model_options(p)
    p.set_defaults(func=_cmd_predict)
