"""Plots of what was mined and learned (matplotlib, imported inside each function).

- :func:`plot_motif_levels`: per vocabulary level, how many motifs and how many
  instances (motif frequency by level);
- :func:`plot_reduction`: the reduction ratio (operators per macro node) of every
  architecture of a corpus, sorted, coloured by family;
- :func:`plot_embedding_map`: any ``[n, d]`` array of architecture embeddings projected
  to 2-D by PCA (numpy SVD, deterministic) and coloured by label;
- :func:`plot_similarity_cost`: similarity to a query against cost, families coloured,
  the front of architectures not dominated on (similarity, cost) highlighted.

Each takes ``path`` (the format from its suffix: ``.png``, ``.svg``, ``.pdf``), a size
in inches and ``dpi``; a PNG is exactly ``width * dpi`` by ``height * dpi`` pixels. The
file is written atomically; the function returns the matplotlib ``Figure`` (closed,
so that batch jobs do not accumulate figures).
"""

from __future__ import annotations

import io
import os
from collections import Counter
from collections.abc import Sequence
from typing import Any

import numpy as np

from archmotif.atomic import write_atomic
from archmotif.errors import VizError

__all__ = [
    "pca_2d",
    "plot_embedding_map",
    "plot_motif_levels",
    "plot_reduction",
    "plot_similarity_cost",
]

IMAGE_FORMATS = ("png", "svg", "pdf")
LEGEND_MAX = 40  # labels a bar plot's legend lists before it counts the rest


def _figure(width: float, height: float, dpi: int) -> tuple[Any, Any]:
    try:
        # a bare Figure draws with Agg and never touches pyplot's global backend
        from matplotlib.figure import Figure
    except ImportError as e:
        raise ImportError("plots need matplotlib: pip install 'archmotif[viz]'") from e
    if not (width > 0 and height > 0 and dpi > 0):
        raise VizError(f"size must be positive, got {width} x {height} in at {dpi} dpi")
    fig = Figure(figsize=(width, height), dpi=dpi)
    return fig, fig.add_subplot(1, 1, 1)


def _save(fig: Any, path: str | os.PathLike[str], dpi: int) -> Any:
    fmt = os.fspath(path).rsplit(".", 1)[-1].lower()
    if fmt not in IMAGE_FORMATS:
        raise VizError(f"{os.fspath(path)}: unknown image format (use .png, .svg or .pdf)")
    buf = io.BytesIO()
    # metadata without dates, so the same input gives the same bytes
    meta = {"png": {"Software": "archmotif"}, "svg": {"Date": None}, "pdf": {"CreationDate": None}}
    fig.savefig(buf, format=fmt, dpi=dpi, metadata=meta[fmt])
    write_atomic(path, lambda f: f.write(buf.getvalue()))
    return fig


_MARKERS = "os^Dv<>Ph*"


def _colours(labels: Sequence[str]) -> tuple[list[str], dict[str, Any]]:
    """A colour per distinct label, most frequent label first: tab10 for up to 10
    labels, else tab20, tab20b and tab20c (60 distinct colours). The bar plots use it."""
    order, styles = _styles(labels)
    return order, {lab: colour for lab, (colour, _) in styles.items()}


def _styles(labels: Sequence[str]) -> tuple[list[str], dict[str, tuple[Any, str]]]:
    """A distinct (colour, marker) per label: colours as :func:`_colours`, and past 60
    labels the next marker shape, so no two labels ever look alike."""
    from matplotlib import colormaps

    order = [lab for lab, _ in sorted(Counter(labels).items(), key=lambda t: (-t[1], t[0]))]
    maps = ["tab10"] if len(order) <= 10 else ["tab20", "tab20b", "tab20c"]
    palette = [colormaps[m](i) for m in maps for i in range(colormaps[m].N)]
    return order, {
        lab: (palette[i % len(palette)], _MARKERS[(i // len(palette)) % len(_MARKERS)])
        for i, lab in enumerate(order)
    }


def plot_motif_levels(
    mined: Any, path: str | os.PathLike[str], *, width: float = 8, height: float = 4.5,
    dpi: int = 100,
) -> Any:  # fmt: skip
    """Bars per vocabulary level: distinct motifs and total instances (log scale)."""
    vocab = mined.vocabulary
    levels = np.arange(vocab.num_levels)
    motifs = np.array([sum(m.level == lv for m in vocab) for lv in levels])
    counts = np.array([sum(m.count for m in vocab if m.level == lv) for lv in levels])
    fig, ax = _figure(width, height, dpi)
    w = 0.4
    ax.bar(levels - w / 2, motifs, w, label="distinct motifs", color="#4c72b0")
    ax.bar(levels + w / 2, counts, w, label="instances (count)", color="#dd8452")
    ax.set_yscale("log")
    ax.set_xticks(levels)
    ax.set_xlabel("vocabulary level (0: single operators)")
    ax.set_ylabel("number (log scale)")
    n = len(mined.graphs)
    ax.set_title(f"Motif frequency by level ({len(vocab)} motifs, {n} graphs, {mined.strategy})")
    ax.legend()
    fig.tight_layout()
    return _save(fig, path, dpi)


def plot_reduction(
    mined: Any, path: str | os.PathLike[str], *, label: str = "family", width: float = 10,
    height: float = 4.5, dpi: int = 100,
) -> Any:  # fmt: skip
    """The reduction ratio of each architecture (operators per macro node), sorted,
    one bar per graph coloured by ``labels[label]`` ("?" where missing)."""
    mgs = mined.macro_graphs
    if not mgs:
        raise VizError("no graphs to plot: the Mined result is empty")
    red = np.array([mg.reduction for mg in mgs])
    labs = [mg.graph.labels.get(label, "?") for mg in mgs]
    order = np.argsort(-red, kind="stable")
    fig, ax = _figure(width, height, dpi)
    names, colours = _colours(labs)
    ax.bar(np.arange(len(mgs)), red[order], color=[colours[labs[i]] for i in order], width=0.9)
    if len(mgs) <= 40:
        ax.set_xticks(np.arange(len(mgs)))
        ax.set_xticklabels([mgs[i].graph.name for i in order], rotation=90, fontsize=7)
    else:
        ax.set_xticks([])
        ax.set_xlabel(f"{len(mgs)} architectures, sorted by reduction")
    ax.set_ylabel("operators per macro node")
    ax.set_title(f"Reduction per architecture (median {np.median(red):.1f}x, {mined.strategy})")
    fig.tight_layout()
    # every label up to LEGEND_MAX, then a count of the rest
    handles = [_patch(colours[n], n) for n in names[:LEGEND_MAX]]
    if len(names) > LEGEND_MAX:
        handles.append(_patch("none", f"+{len(names) - LEGEND_MAX} more"))
    _legend_beside(fig, handles, title=label)
    return _save(fig, path, dpi)


def _legend_beside(fig: Any, handles: Sequence[Any], **kw: Any) -> None:
    """The figure's legend right of the axes, never over what they draw: 20 entries a
    column, and the axes give up the legend's width."""
    legend = fig.legend(handles=handles, fontsize="small", loc="upper right", frameon=False,
                        ncol=1 + (len(handles) - 1) // 20, **kw)  # fmt: skip
    fig.canvas.draw()
    share = legend.get_window_extent().width / fig.bbox.width
    fig.subplots_adjust(right=max(0.3, 0.98 - share))


def _patch(colour: Any, name: str) -> Any:
    from matplotlib.patches import Patch

    return Patch(color=colour, label=name)


def pca_2d(embeddings: np.ndarray) -> np.ndarray:
    """The first two principal components of ``embeddings`` (``[n, d]``), by SVD of the
    centred data; each axis's sign is fixed (largest loading positive), so the map is
    deterministic. ``d == 1`` gives a zero second coordinate."""
    x = np.asarray(embeddings, dtype=np.float64)
    x = x - x.mean(axis=0, keepdims=True)
    _, _, vt = np.linalg.svd(x, full_matrices=False)
    comps = vt[:2]
    signs = np.sign(comps[np.arange(comps.shape[0]), np.abs(comps).argmax(axis=1)])
    out = x @ (comps * signs[:, None]).T
    if out.shape[1] < 2:
        out = np.concatenate([out, np.zeros((out.shape[0], 2 - out.shape[1]))], axis=1)
    return out


def plot_embedding_map(
    embeddings: Any, labels: Sequence[str] | None, path: str | os.PathLike[str], *,
    title: str = "Architecture embeddings (PCA)", width: float = 7, height: float = 6,
    dpi: int = 100,
) -> Any:  # fmt: skip
    """A 2-D map (PCA) of ``embeddings`` (any ``[n, d]`` numeric array, n >= 2),
    one point per architecture coloured by ``labels`` (one str per row, or None)."""
    try:
        x = np.asarray(embeddings, dtype=np.float64)
    except (TypeError, ValueError) as e:
        raise VizError(f"embeddings must be a numeric [n, d] array: {e}") from None
    if x.ndim != 2 or x.shape[0] < 2 or x.shape[1] < 1:
        raise VizError(f"embeddings must be an [n, d] array with n >= 2, got shape {x.shape}")
    if not np.isfinite(x).all():
        row = int(np.argwhere(~np.isfinite(x))[0, 0])
        raise VizError(f"embeddings row {row} holds a NaN or infinite value")
    labs = ["" for _ in range(x.shape[0])] if labels is None else [str(v) for v in labels]
    if len(labs) != x.shape[0]:
        raise VizError(f"{len(labs)} labels for {x.shape[0]} embeddings")
    xy = pca_2d(x)
    fig, ax = _figure(width, height, dpi)
    names, styles = _styles(labs)
    for name in names:
        sel = np.array([lab == name for lab in labs])
        colour, marker = styles[name]
        ax.scatter(xy[sel, 0], xy[sel, 1], s=18, color=colour, marker=marker,
                   label=name or None, alpha=0.85, edgecolors="none")  # fmt: skip
    ax.set_xlabel("PC 1")
    ax.set_ylabel("PC 2")
    ax.set_title(f"{title}: {x.shape[0]} × {x.shape[1]}")
    fig.tight_layout()
    if labels is not None:
        _legend_beside(fig, ax.get_legend_handles_labels()[0], markerscale=1.2)
    return _save(fig, path, dpi)


def plot_similarity_cost(
    scores: Any, costs: Any, labels: Sequence[str], names: Sequence[str], front: Sequence[int],
    path: str | os.PathLike[str], *, cost_name: str = "params", query: str = "query",
    top_families: int = 9, width: float = 10, height: float = 5.5, dpi: int = 100,
) -> Any:  # fmt: skip
    """Cosine similarity to ``query`` against cost (log scale), one point per architecture
    coloured by ``labels`` (the ``top_families`` most frequent; the rest grey), the
    architectures on the (similarity, cost) front ringed, joined and named (positions
    ``front`` into the arrays)."""
    s = np.asarray(scores, dtype=np.float64)
    c = np.asarray(costs, dtype=np.float64)
    if s.ndim != 1 or s.shape != c.shape or len(labels) != len(s) or len(names) != len(s):
        raise VizError(f"scores, costs, labels and names must be one per architecture, got "
                       f"{s.shape}, {c.shape}, {len(labels)}, {len(names)}")  # fmt: skip
    if len(s) == 0:
        raise VizError("no architecture to plot: the index holds none with this cost")
    if not (np.isfinite(c).all() and np.isfinite(s).all()):
        raise VizError(f"scores and {cost_name} must be finite")
    from matplotlib import colormaps

    fig, ax = _figure(width, height, dpi)
    order, _ = _colours(list(labels))
    # tab10's distinct hues but its grey (kept for "other"); tab20's pairs read as one family
    palette = [colormaps["tab10"](i) for i in (0, 1, 2, 3, 4, 5, 6, 8, 9)]
    shown = order[: min(top_families, len(palette))]
    colours = dict(zip(shown, palette, strict=False))
    labs = np.array([lab if lab in colours else "other" for lab in labels], dtype=object)
    for name in [*shown, "other"]:
        sel = labs == name
        if sel.any():
            colour = "#c8c8c8" if name == "other" else colours[name]
            ax.scatter(c[sel], s[sel], s=16, color=colour, label=f"{name} ({sel.sum()})",
                       alpha=0.8, edgecolors="none")  # fmt: skip
    f = np.asarray(front, dtype=np.int64)
    ax.plot(c[f], s[f], color="black", linewidth=1, drawstyle="steps-post", zorder=3)
    ax.scatter(c[f], s[f], s=60, facecolors="none", edgecolors="black", linewidths=1.4,
               label="front (not dominated)", zorder=4)  # fmt: skip
    # the most similar end of the front is where a reader looks first; neighbours on the
    # front are often close, so their names are staggered up and down
    for n, i in enumerate(f[-12:]):
        ax.annotate(names[i], (c[i], s[i]), xytext=(6, (5, -11, 15)[n % 3]),
                    textcoords="offset points", fontsize=7)  # fmt: skip
    if (c > 0).all():
        ax.set_xscale("log")
    ax.set_xlabel(f"{cost_name}" + (" (log scale)" if (c > 0).all() else ""))
    ax.set_ylabel(f"cosine similarity to {query}")
    ax.set_title(f"Architectures like {query}, by {cost_name}: {len(f)} on the front of "
                 f"{len(s)}")  # fmt: skip
    ax.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0)
    ax.grid(True, alpha=0.3)
    fig.tight_layout()
    return _save(fig, path, dpi)
