"""Seeing what was mined: the collapsible macro-graph viewer and plots.

- :func:`view` / :func:`write_html`: one self-contained HTML page per graph that draws
  the macro graph top to bottom; clicking a macro node unfolds it into its child motifs
  and operators; a side table lists the motifs and highlights their instances
  (:mod:`archmotif.viz.html`, layout in :mod:`.layout`, unfolding in :mod:`.hierarchy`);
- :mod:`archmotif.viz.plots`: motif frequency by level, reduction per architecture,
  a 2-D map of embeddings (matplotlib, imported only there).

Nothing here imports torch or matplotlib at import time.
"""

from __future__ import annotations

import os
import tempfile
import warnings
from pathlib import Path
from typing import Any

from archmotif.atomic import write_atomic
from archmotif.errors import VizError
from archmotif.graph import OpGraph
from archmotif.mining.motifs import MacroGraph

__all__ = ["view", "write_html"]


def _macro_of(obj: Any, index: int, mine_options: dict[str, Any]) -> tuple[MacroGraph, str]:
    from archmotif.mining import Mined, mine

    if isinstance(obj, OpGraph):
        m = mine(obj, progress=False, **mine_options)
        return m.macro_graphs[0], m.strategy
    if mine_options:
        raise VizError(f"mining options {sorted(mine_options)} apply only to an OpGraph")
    if isinstance(obj, MacroGraph):
        return obj, ""
    if isinstance(obj, Mined):
        n = len(obj.macro_graphs)
        if isinstance(index, bool) or not isinstance(index, int) or not -n <= index < n:
            raise VizError(f"graph index {index!r} out of range ({n} graphs mined)")
        return obj.macro_graphs[index], obj.strategy
    raise VizError(f"cannot view a {type(obj).__name__}: pass an OpGraph, a Mined or a MacroGraph")


def write_html(
    obj: OpGraph | MacroGraph | Any,
    path: str | os.PathLike[str],
    *,
    index: int = 0,
    title: str | None = None,
    **mine_options: Any,
) -> Path:
    """Writes the viewer page of ``obj`` to ``path`` (atomically) and returns the path.

    ``obj`` is an :class:`~archmotif.OpGraph` (mined on its own, with ``mine_options``
    passed to :func:`~archmotif.mine`), a :class:`~archmotif.Mined` (graph ``index``
    of it, drawn with the corpus vocabulary) or a :class:`~archmotif.MacroGraph`.
    """
    from archmotif.viz.html import viewer_html

    mg, strategy = _macro_of(obj, index, mine_options)
    page = viewer_html(mg, strategy=strategy, title=title).encode("utf-8")
    write_atomic(path, lambda f: f.write(page))
    return Path(path)


def view(
    obj: OpGraph | MacroGraph | Any,
    path: str | os.PathLike[str] | None = None,
    *,
    index: int = 0,
    open_browser: bool | None = None,
    **mine_options: Any,
) -> Path:
    """Writes the viewer page (see :func:`write_html`) and opens it in the web browser.

    Without ``path`` the page goes to a new temporary file. ``open_browser`` defaults
    to True without ``path`` and False with one. Returns the page's path.
    """
    temporary = path is None
    if path is None:
        fd, tmp = tempfile.mkstemp(prefix="archmotif-view-", suffix=".html")
        os.close(fd)
        path = tmp
    out = write_html(obj, path, index=index, **mine_options)
    if temporary if open_browser is None else open_browser:
        import webbrowser

        if not webbrowser.open(out.resolve().as_uri()):
            warnings.warn(f"no web browser found: the page is at {out}", stacklevel=2)
    return out
