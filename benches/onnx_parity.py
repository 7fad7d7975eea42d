"""ONNX export vs torch.export trace of 14 torchvision models, with and without the
normalisation pass: equal op counts, equal canonical hash of the operator graph and of
the macro graph (mined together with the built-in corpus), equal top-10 search results
against a motif-bag index of the built-in data. The TorchScript exporter
(``dynamo=False``, weights included, in memory) is the one that works offline here.

Usage: ``python -m benches.onnx_parity norm|collapse|raw [MODEL ...]``
(docs/normalisation.md; ``collapse`` keeps layout chains as one ``layout`` node).
Prints one JSON line per model, then a summary line.
"""

from __future__ import annotations

import io
import json
import sys
import warnings
from typing import Any

import archmotif

MODELS = [
    "resnet18", "mobilenet_v2", "vgg11", "densenet121", "efficientnet_b0", "squeezenet1_0",
    "shufflenet_v2_x1_0", "convnext_tiny", "vit_b_16", "mnasnet0_5", "mobilenet_v3_small",
    "regnet_x_400mf", "alexnet", "resnext50_32x4d",
]  # fmt: skip


def onnx_graph(name: str, normalize: bool) -> archmotif.OpGraph:
    import onnx
    import torch
    import torchvision

    m = torchvision.models.get_model(name, weights=None).eval()
    buf = io.BytesIO()
    torch.onnx.export(m, (torch.zeros(1, 3, 224, 224),), buf, dynamo=False)
    model = onnx.load_model_from_string(buf.getvalue())
    return archmotif.from_onnx(model, name=f"{name}.onnx", normalize=normalize)


def macro_hash(mg: Any) -> int:
    ops = [str(i) for i in mg.motif_ids]
    return archmotif.canonical_hash(archmotif.OpGraph(ops, mg.edges))


def main() -> None:
    from archmotif.experiments.retrieval_report import make_method
    from archmotif.normalize import normalize_many
    from archmotif.retrieval.index import Index, search

    warnings.simplefilter("ignore")
    mode = sys.argv[1]
    models = sys.argv[2:] or MODELS

    def norm(graphs: list[archmotif.OpGraph]) -> list[archmotif.OpGraph]:
        return graphs if mode == "raw" else normalize_many(graphs, layout=layout)

    layout = "collapse" if mode == "collapse" else "drop"
    builtin = norm(archmotif.datasets.load("builtin", normalize=False))
    index = Index.build(builtin, make_method("motif-bag"), fit=True, seed=0)
    pairs = [
        (n, *norm([onnx_graph(n, False), archmotif.trace(n, normalize=False)])) for n in models
    ]
    mined = archmotif.mine([*builtin, *[g for _, o, t in pairs for g in (o, t)]])
    mg = mined.macro_graphs[len(builtin) :]
    rows = []
    for i, (name, og, tg) in enumerate(pairs):
        ho = [h.name for h in search(og, index, k=10)]
        ht = [h.name for h in search(tg, index, k=10)]
        row = {
            "model": name,
            "nodes_onnx": og.num_nodes,
            "nodes_trace": tg.num_nodes,
            "ops_equal": og.op_counts() == tg.op_counts(),
            "graph_equal": archmotif.canonical_hash(og) == archmotif.canonical_hash(tg),
            "macro_equal": macro_hash(mg[2 * i]) == macro_hash(mg[2 * i + 1]),
            "macro_nodes": [mg[2 * i].num_nodes, mg[2 * i + 1].num_nodes],
            "top10_equal": ho == ht,
            "top1_onnx": ho[0],
            "top1_trace": ht[0],
        }
        rows.append(row)
        print(json.dumps(row), flush=True)
    keys = ("ops_equal", "graph_equal", "macro_equal", "top10_equal")
    summary = {k: sum(r[k] for r in rows) for k in keys}
    print("SUMMARY", mode, summary, "of", len(rows))


if __name__ == "__main__":
    main()
