"""CLI: ``archmotif view`` (the HTML viewer) and
``archmotif plot levels|reduction|embedding|search``.

Inputs are what ``archmotif mine`` reads (graph ``.json``, corpus ``.npz``, ``.onnx``),
a dataset name (``builtin``, ``darts``, ...) or, for ``view``, a model name that
``archmotif trace`` accepts (``resnet50``, ``timm:convnext_tiny``).
"""

from __future__ import annotations

import argparse
import os
import warnings
import zipfile
from typing import Any

from archmotif.attributes import DEFAULT_DETAIL
from archmotif.retrieval._cli import add_filter_options, add_query_and_index

__all__ = ["register"]


def _read_inputs(specs: list[str], args: argparse.Namespace | None = None) -> list[Any]:
    from archmotif.cli_inputs import read_graphs

    graphs = []
    for spec in specs:
        graphs += read_graphs(spec, args)
    return graphs


def _mine(graphs: list[Any], args: argparse.Namespace) -> Any:
    from archmotif.mining import mine

    return mine(graphs, strategy=args.strategy, max_motif_nodes=args.max_motif_nodes,
                progress=False, detail=getattr(args, "detail", DEFAULT_DETAIL))  # fmt: skip


def _pick(graphs: list[Any], args: argparse.Namespace) -> int:
    from archmotif.errors import VizError

    names = [g.name for g in graphs]
    number = args.graph is not None and args.graph.lstrip("-").isdigit() and args.graph not in names
    if args.graph is not None and not number:
        if args.graph not in names:
            near = ", ".join(n for n in names if args.graph.lower() in n.lower())[:300]
            hint = f" (similar: {near})" if near else ""
            raise VizError(f"no graph named {args.graph!r} among {len(graphs)} graphs{hint}")
        return names.index(args.graph)
    i = int(args.graph) if number else 0
    if not -len(graphs) <= i < len(graphs):
        n = len(graphs)
        which = "there is 1 graph, numbered 0" if n == 1 else f"{n} graphs, numbered 0..{n - 1}"
        raise VizError(f"graph number {i} out of range ({which})")
    return i % len(graphs)


def _cmd_view(args: argparse.Namespace) -> int:
    from archmotif.errors import VizError
    from archmotif.viz import view

    spec = args.model_or_file
    graphs = _read_inputs([spec], args)
    if not graphs:
        raise VizError(f"{spec}: holds no graphs")
    i = _pick(graphs, args)
    mined = _mine(graphs, args)
    out = args.output or f"{_stem(graphs[i].name)}.html"
    with warnings.catch_warnings(record=True) as said:  # view() warns when no browser opens
        warnings.simplefilter("always")
        view(mined, out, index=i, open_browser=args.open)
    from archmotif.mining.cli import counted

    mg = mined.macro_graphs[i]
    size = os.path.getsize(out)
    which = ""
    if len(graphs) > 1:  # a corpus: say which graph, and how to see another
        picked = "" if args.graph is not None else "; --graph NAME or NUMBER picks another"
        which = f" (graph {i} of {len(graphs)}, mined with the others{picked})"
    print(f"{graphs[i].name}{which}: {counted(mg.graph.num_nodes, 'operator')} -> "
          f"{counted(mg.num_nodes, 'macro node')}; wrote {out} ({size / 1e6:.2f} MB)")  # fmt: skip
    if any("no web browser" in str(w.message) for w in said):
        print(f"no web browser could be opened here: open {out} in one yourself")
    return 0


def _stem(name: str) -> str:
    keep = "".join(c if c.isalnum() or c in "-_." else "_" for c in name).strip("._")
    return keep[:80] or "graph"


def _size(args: argparse.Namespace) -> dict[str, Any]:
    out: dict[str, Any] = {"dpi": args.dpi}
    if args.width is not None:
        out["width"] = args.width
    if args.height is not None:
        out["height"] = args.height
    return out


def _cmd_plot_levels(args: argparse.Namespace) -> int:
    from archmotif.viz.plots import plot_motif_levels

    mined = _mine(_read_inputs(args.files, args), args)
    plot_motif_levels(mined, args.output, **_size(args))
    print(f"wrote {args.output}")
    return 0


def _cmd_plot_reduction(args: argparse.Namespace) -> int:
    from archmotif.viz.plots import plot_reduction

    mined = _mine(_read_inputs(args.files, args), args)
    plot_reduction(mined, args.output, label=args.label, **_size(args))
    print(f"wrote {args.output}")
    return 0


def _load_embeddings(path: str) -> tuple[Any, list[str] | None]:
    import numpy as np

    from archmotif.errors import FormatError

    try:
        data = np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as e:
        if isinstance(e, FileNotFoundError):
            raise
        # numpy takes any other file for a pickle and suggests loading it unsafely
        why = "" if "pickle" in str(e) else f" ({e})"
        raise FormatError(f"{path}: not a .npy or .npz array file{why}") from None
    if isinstance(data, np.ndarray):
        return data, None
    with data:
        if "header" in data.files:  # an archmotif index: colour by each model's family
            from archmotif.retrieval.index import Index

            index = Index.load(path)
            return index.embeddings, [m.get("family", "?") for m in index.metadata]
        if "embeddings" not in data.files:
            raise FormatError(f"{path}: an .npz of embeddings must hold an 'embeddings' array")
        labels = data["labels"].astype(str).tolist() if "labels" in data.files else None
        return data["embeddings"], labels


def _cmd_plot_embedding(args: argparse.Namespace) -> int:
    from archmotif.viz.plots import plot_embedding_map

    emb, labels = _load_embeddings(args.embeddings)
    if args.labels:
        with open(args.labels, encoding="utf-8") as f:
            labels = [line.rstrip("\n") for line in f if line.strip()]
    plot_embedding_map(emb, labels, args.output, **_size(args))
    print(f"wrote {args.output}")
    return 0


def _cmd_plot_search(args: argparse.Namespace) -> int:
    from archmotif.retrieval._cli import query_and_index, where_from_args
    from archmotif.retrieval.cost_search import pareto_front, scored_costs
    from archmotif.viz.plots import plot_similarity_cost

    where = where_from_args(args)
    index, query = query_and_index(args)
    ids, scores, costs = scored_costs(index, query, args.cost, where=where)
    front = pareto_front(index, query, args.cost, where=where)
    at = {int(i): j for j, i in enumerate(ids)}
    meta = [index.metadata[int(i)] for i in ids]
    plot_similarity_cost(
        scores, costs, [m.get(args.label, "?") for m in meta], [m.get("name", "") for m in meta],
        [at[h.index] for h in front], args.output, cost_name=args.cost, query=args.model,
        **_size(args),
    )  # fmt: skip
    names = ", ".join(h.name for h in front[-3:])
    print(f"{len(ids)} architectures, {len(front)} on the front (most similar: {names}); "
          f"wrote {args.output}")  # fmt: skip
    return 0


def _mining_options(p: argparse.ArgumentParser) -> None:
    from archmotif.cli_parser import add_mining_options

    add_mining_options(p)


def _image_path(text: str) -> str:
    """-o of a plot: its suffix is checked before anything is mined or fitted."""
    from archmotif.viz.plots import IMAGE_FORMATS

    if text.rsplit(".", 1)[-1].lower() not in IMAGE_FORMATS or "." not in text:
        raise argparse.ArgumentTypeError(f"{text}: unknown image format (use .png, .svg or .pdf)")
    return text


def _image_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("-o", "--output", required=True, type=_image_path,
                   help="image file: .png, .svg or .pdf")  # fmt: skip
    p.add_argument("--width", type=float, help="inches")
    p.add_argument("--height", type=float, help="inches")
    p.add_argument("--dpi", type=int, default=100, help="pixels per inch (100)")


def register(sub: Any) -> None:
    """Adds ``view`` and ``plot`` to the ``archmotif`` command's subparsers."""
    from archmotif.cli_inputs import INPUT_HELP, add_detail_option, add_model_options
    from archmotif.cli_parser import RawDescription, examples

    v = sub.add_parser(
        "view",
        help="write a self-contained HTML viewer of a model's macro graph",
        description="Mines the graph (with the rest of its corpus, for a corpus file or "
        "dataset) and writes one HTML page that needs no network: the macro graph top to "
        "bottom, click a macro node to expand it into its motifs and operators.",
        epilog=examples(
            "archmotif view resnet50",
            "archmotif view builtin --graph vit_b_16 --open",
            "archmotif view mymodel.py:TinyUNet --input-shape 1,3,64,64 -o unet.html",
        ),
        formatter_class=RawDescription,
    )
    v.add_argument("model_or_file", metavar="INPUT", help=INPUT_HELP)
    v.add_argument("-o", "--output", help="HTML file (default: NAME.html)")
    v.add_argument("--graph", metavar="NAME_OR_NUMBER",
                   help="which graph of a corpus or dataset: its name or its number "
                        "(0 = first, -1 = last; default 0)")  # fmt: skip
    v.add_argument("--open", action="store_true", help="open the page in the web browser")
    _mining_options(v)
    add_detail_option(v)
    add_model_options(v)
    v.set_defaults(func=_cmd_view)

    p = sub.add_parser("plot", help="plot motif levels, reductions or an embedding map")
    psub = p.add_subparsers(dest="plot_command", required=True)
    lv = psub.add_parser(
        "levels",
        help="motif frequency by vocabulary level",
        epilog=examples("archmotif plot levels builtin -o levels.png"),
        formatter_class=RawDescription,
    )
    lv.add_argument("files", nargs="+", metavar="INPUT", help=INPUT_HELP)
    _mining_options(lv)
    _image_options(lv)
    lv.set_defaults(func=_cmd_plot_levels)
    rd = psub.add_parser(
        "reduction",
        help="reduction ratio per architecture of a corpus",
        epilog=examples("archmotif plot reduction builtin -o reduction.svg"),
        formatter_class=RawDescription,
    )
    rd.add_argument("files", nargs="+", metavar="INPUT", help=INPUT_HELP)
    rd.add_argument("--label", default="family", help="colour by this label (family)")
    _mining_options(rd)
    _image_options(rd)
    rd.set_defaults(func=_cmd_plot_reduction)
    em = psub.add_parser(
        "embedding",
        help="2-D PCA map of architecture embeddings",
        epilog=examples("archmotif plot embedding index.npz -o map.png"),
        formatter_class=RawDescription,
    )
    em.add_argument(
        "embeddings",
        help=".npy [n, d], .npz with 'embeddings' (+ 'labels'), or an index file "
        "(archmotif index build; coloured by family)",
    )
    em.add_argument("--labels", help="text file, one label per line (one per row)")
    _image_options(em)
    em.set_defaults(func=_cmd_plot_embedding)
    se = psub.add_parser(
        "search",
        help="similarity to a model against cost, the front ringed",
        epilog=examples(
            "archmotif plot search resnet50 --index index.npz -o front.png",
            "archmotif plot search mymodel.py:Net --index zoo-index.npz --cost flops "
            "--max-params 50M -o front.png",
        ),
        formatter_class=RawDescription,
    )
    add_query_and_index(se, "archmotif plot search")
    se.add_argument("--cost", default="params", help="numeric metadata field (params)")
    se.add_argument("--label", default="family", help="colour by this label (family)")
    add_filter_options(se)
    add_model_options(se)
    _image_options(se)
    se.set_defaults(func=_cmd_plot_search)
