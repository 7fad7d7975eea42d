"""How the hybrid embedding's retrieval depends on ``bag_weight``, against its baselines.

Fits ``archmotif.Encoder`` (default settings, those of another of ``archmotif eval``'s
encoder methods with ``--method``, or ``--use-labels false``) once on the
fitting part of a dataset under one protocol, takes the two halves of its embedding
(``Encoder.embed_halves``: the learnt rows and the TF-IDF motif bag) and fuses them at
each ``--weights`` value with ``archmotif.learn.encoder.fuse``, which is what an encoder
of that ``bag_weight`` embeds (a test checks it). Every row is evaluated with
``archmotif.evaluate`` on the same split, next to WL and the motif bag alone, and the
table prints MAP@20, NDCG@20 and the difference from the best baseline (WL) and from the
bag. ``bag_weight=0`` is the learnt half alone (``ours-dense``).

    python benches/fusion_sweep.py --dataset zoo --protocol inductive
    python benches/fusion_sweep.py --dataset builtin --weights 0,0.5,1,2,4 --json out.json
    python benches/fusion_sweep.py --dataset zoo --method ours-shapes --weights 0,1

This is an ablation, not a tuning loop: the default ``bag_weight=1`` was fixed before
these figures were measured, and choosing it on the evaluation set would overstate ours.
"""

from __future__ import annotations

import argparse
import json


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dataset", default="builtin", help="dataset name or corpus path")
    ap.add_argument("--protocol", default="inductive", choices=("transductive", "inductive"))
    ap.add_argument("--weights", default="0,0.5,1,1.5,2,3", help="comma-separated bag weights")
    ap.add_argument("--method", default="ours",
                    help="the encoder's settings: ours or another ours-* method of archmotif "
                         "eval (ours-rewrites, ours-shapes, ...; default ours)")  # fmt: skip
    ap.add_argument("--use-labels", default="true", choices=("true", "false"))
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", default=None, help="also write the rows to this file")
    args = ap.parse_args()

    import numpy as np

    import archmotif
    from archmotif.experiments.methods import METHODS
    from archmotif.learn.encoder import Encoder, fuse
    from archmotif.learn.motif_bag import MotifBag
    from archmotif.learn.wl import WLBaseline
    from archmotif.retrieval.evaluate import evaluate

    graphs = archmotif.datasets.load(args.dataset)
    fams = {g.labels["family"] for g in graphs}

    class _Fixed:
        """An embedder whose rows are already computed (so the split stays evaluate's)."""

        def __init__(self, name: str, z: np.ndarray) -> None:
            self.name, self._z = name, z

        def fit(self, graphs, *, seed=0):
            return self

        def embed(self, graphs):
            return self._z

    rows = []

    def score(name: str, method, seconds: float | None = None) -> dict:
        r = evaluate(method, graphs, protocol=args.protocol, seed=args.seed)
        row = {
            "method": name,
            "MAP@20": r.metrics["MAP@20"],
            "NDCG@20": r.metrics["NDCG@20"],
            "fit_s": r.fit_seconds if seconds is None else seconds,
            "fitted_on": r.num_train,
        }
        rows.append(row)
        print(
            f"  {name:28s} MAP@20 {row['MAP@20']:.4f}  NDCG@20 {row['NDCG@20']:.4f}  "
            f"(fitted on {r.num_train}, {r.num_queries} queries, seed {args.seed})",
            flush=True,
        )
        return row

    print(f"{args.dataset}: {len(graphs)} graphs, {len(fams)} families, {args.protocol}")
    wl = score("wl", WLBaseline())
    bag = score("motif-bag", MotifBag())
    # the hybrid encoders: the learnt half alone (bag_weight 0) has no bag half to fuse
    hybrids = [
        m for m, (_, c, kw) in METHODS.items() if c == "Encoder" and kw.get("bag_weight", 1) > 0
    ]
    if args.method not in hybrids:
        ap.error(f"--method must be a hybrid encoder method: {', '.join(hybrids)}")
    settings = METHODS[args.method][2]
    settings = {**settings, "use_labels": args.use_labels == "true"}
    enc = Encoder(progress=False, **settings)

    class _Halves:
        """The encoder as evaluate fits and embeds it (blinded graphs, its split), keeping
        the two halves of the embedding for the sweep."""

        name = args.method

        def fit(self, gs, *, seed=0):
            enc.fit(gs, seed=seed)
            return self

        def embed(self, gs):
            self.halves = enc.embed_halves(gs)
            return fuse(*self.halves, enc.spreads, enc.config["bag_weight"])

    halves = _Halves()
    ours = score(f"{args.method} bag_weight={enc.config['bag_weight']:g} (default)", halves)
    dense, bag_half = halves.halves
    sd, sb = enc.spreads
    print(f"  encoder fit {ours['fit_s']:.1f} s; spreads: learnt {sd:.3f}, bag {sb:.3f}")
    for w in (float(x) for x in args.weights.split(",")):
        z = fuse(dense, bag_half, (sd, sb), w) if w > 0 else dense
        score(f"{args.method} bag_weight={w:g}", _Fixed(f"{args.method}-{w:g}", z), ours["fit_s"])

    print()
    print("| method | MAP@20 | NDCG@20 | MAP@20 vs wl | MAP@20 vs motif-bag |")
    print("|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['method']} | {r['MAP@20']:.4f} | {r['NDCG@20']:.4f} | "
            f"{r['MAP@20'] - wl['MAP@20']:+.4f} | {r['MAP@20'] - bag['MAP@20']:+.4f} |"
        )
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump({"args": vars(args), "rows": rows}, f, indent=1)


if __name__ == "__main__":
    main()
